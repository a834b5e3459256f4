"""Claim edits inside a batch scope (a scrub batch) share one edit environment: the findings
are those each claim gets alone, the release-gap warnings worked out once per date."""

from __future__ import annotations

from datetime import date

import pytest

from medbill_core.codesets import CodeSets
from medbill_core.codesets.ncci import Ncci
from medbill_core.config import MedbillConfig
from medbill_core.default_plugins.core_edits import EditEnv, environment, run_core_edits
from medbill_core.domain import BillableClaim, Claim
from medbill_core.pluginctx import batch_memo, batch_scope
from medbill_core.plugins import PluginHooks
from medbill_core.testing import factories

DOS = date(2026, 5, 14)
TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def codesets(tmp_path_factory: pytest.TempPathFactory) -> CodeSets:
    return CodeSets(tmp_path_factory.mktemp("no-user-data"),
                    cache_dir=tmp_path_factory.getbasetemp() / "medbill-cache")


def claim(number: str, day: date = DOS) -> BillableClaim:
    values = factories.make_claim(service_date=day, lines=2).model_dump()
    values["claim_number"] = number
    return factories.make_billable_claim(claim=Claim(**values))


def test_release_gaps_from_a_shared_environment_are_each_claims_own(codesets: CodeSets) -> None:
    shared = EditEnv(today=TODAY, codesets=codesets, ncci=Ncci(use_user_data=False))
    claims = [claim("C-1"), claim("C-2"), claim("C-3", date(2026, 5, 20)), claim("C-1")]
    for billable in claims:
        alone = run_core_edits(billable, EditEnv(today=TODAY, codesets=codesets,
                                                 ncci=Ncci(use_user_data=False)))
        together = run_core_edits(billable, shared)
        assert together == alone
        assert [f.model_fields_set for f in together] == [f.model_fields_set for f in alone]
        gaps = [f for f in together if f.code.endswith(".release_gap")]
        assert gaps  # the packaged NCCI tables (2024 Q3) do not cover 2026
        assert {f.claim_number for f in gaps} == {billable.claim.claim_number}
    # one worked-out answer per (code, code set, date, field): the two dates give two each
    assert sorted({(memo[1], memo[2]) for memo, found in shared.gaps.items() if found}) == [
        ("ncci-mue", DOS), ("ncci-mue", date(2026, 5, 20)),
        ("ncci-ptp", DOS), ("ncci-ptp", date(2026, 5, 20))]


def test_a_finding_handed_out_does_not_change_the_next_claims() -> None:
    shared = EditEnv(today=TODAY, codesets=CodeSets(None), ncci=Ncci(use_user_data=False))
    first = run_core_edits(claim("C-1"), shared)
    for finding in first:
        finding.message = "changed by its reader"
    second = run_core_edits(claim("C-2"), shared)
    assert all(f.message != "changed by its reader" for f in second)


def test_environment_is_shared_inside_a_batch_scope_only() -> None:
    hooks = PluginHooks.start(MedbillConfig(plugins=[], practice=factories.make_practice()),
                              load_installed=False)
    billable = claim("C-1")
    assert batch_memo() is None
    assert environment(billable, hooks.context) is not environment(billable, hooks.context)
    with batch_scope() as memo:
        assert batch_memo() is memo
        env = environment(billable, hooks.context)
        assert environment(claim("C-2"), hooks.context) is env
        with batch_scope():
            assert environment(billable, hooks.context) is not env
        assert environment(billable, hooks.context) is env
    assert batch_memo() is None

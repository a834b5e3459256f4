"""Underpayments flagged while an 835 is posted are stored and listed by ``ar followup``
with the expected, allowed and paid amounts, until resolved or answered again (both
databases; the CLI on a SQLite file)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error
from sqlalchemy import select
from test_receivables import ago, claim_number, new_claim, remit

from medbill_core.adapters import PayerAdapter
from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    Claim,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Payer,
    Remittance,
    Severity,
)
from medbill_core.domain.findings import PaymentFinding
from medbill_core.hookspecs import hookimpl
from medbill_core.services.receivables import FollowUpAction, followup
from medbill_core.services.remittance import post_remittance
from medbill_core.services.remittance_findings import open_findings, resolve_finding
from medbill_core.services.work_queue_sources import underpayments
from medbill_core.storage.schema import AuditEventRow, RemittanceFindingRow

D = Decimal
TODAY = date.today()


class FeeScheduleAdapter(PayerAdapter):
    """Flags line 1 of answers paying 64.00 or 50.00 (as the Medicare adapter flags lines
    allowed below the MPFS): expected 100.00, allowed = paid + 20.00."""

    identifier = "fee_schedule"
    verbose_name = "Fee schedule check (tests)"

    def remittance_findings(self, payment: ClaimPayment, payer: Payer,
                            claim: Claim | None) -> list[PaymentFinding]:
        if payment.paid not in (D("64.00"), D("50.00")):
            return []
        allowed = payment.paid + D("20.00")
        return [PaymentFinding(
            severity=Severity.WARNING, code="test.underpaid", line_number=1,
            message=f"line 1: allowed {allowed} is below the fee schedule 100.00",
            claim_number=payment.claim_number, expected_amount=D("100.00"),
            allowed_amount=allowed, paid_amount=payment.paid, source="test")]


def result_remittance(result: Any, number: str) -> Remittance:
    """The 835 :func:`remit` posted for ``result`` (same trace: the same remittance)."""
    return Remittance(trace_number=result.trace_number, payment_amount=D("64.00"),
                      payer_name="Payer", payer_id="PAYER1", payee_name="Clinic",
                      payment_date=ago(10), claims=[ClaimPayment(
                          claim_number=number, status=ClaimStatusCode.PRIMARY,
                          charge=D("100.00"), paid=D("64.00"), adjustments=[Adjustment(
                              group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                              amount=D("36.00"))])])


def fee_schedule_plugin() -> SimpleNamespace:
    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [FeeScheduleAdapter()]

    return SimpleNamespace(medbill_register_payer_adapters=medbill_register_payer_adapters)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("fee_schedule", fee_schedule_plugin())]


@pytest.fixture
def medbill_config(medbill_config: Any) -> Any:
    payers = dict(medbill_config.payers)
    payers["acme"] = payers["acme"].model_copy(update={"adapter": "fee_schedule"})
    return medbill_config.model_copy(update={"payers": payers})


def test_a_flagged_underpayment_is_on_the_work_list(medbill_app: Medbill) -> None:
    app = medbill_app
    claim = new_claim(app, service=ago(40), submitted=ago(35))
    number = claim_number(app, claim)
    # paid in full as far as the ledger goes (the rest adjusted): the claim is closed, and
    # before this change it appeared on no work list
    result = remit(app, number, paid="64.00", co="36.00", on=ago(10))
    assert [f.code for f in result.findings] == ["test.underpaid"]
    with app.unit_of_work() as work:
        assert work.claims.get(claim).state is ClaimState.CLOSED
        [item] = followup(work)
    assert (item.claim_id, item.action, item.state) == (
        claim, FollowUpAction.UNDERPAYMENT, ClaimState.CLOSED)
    assert (item.expected_amount, item.allowed_amount, item.paid_amount) == (
        D("100.00"), D("84.00"), D("64.00"))
    data = item.as_json()
    assert (data["expected"], data["allowed"], data["paid"]) == ("100.00", "84.00", "64.00")
    [finding] = data["findings"]
    assert (finding["code"], finding["line_number"], finding["found_on"]) == (
        "test.underpaid", 1, ago(10).isoformat())
    # the underpayments queue counts what was allowed short of the schedule (16.00), not the
    # 20.00 the payer allowed and left to the patient (a deductible is no underpayment)
    with app.unit_of_work() as work:
        [queued] = underpayments(work, TODAY)
    assert (queued.claim_id, queued.amount) == (claim, D("16.00"))
    assert queued.reason.startswith("allowed 84.00 where the fee schedule expects 100.00 "
                                    "(paid 64.00)")
    # posting the same 835 again flags nothing anew
    with app.unit_of_work() as work:
        again = post_remittance(work, result_remittance(result, number))
        rows = work.session.scalars(select(RemittanceFindingRow)).all()
    assert again.duplicates == [number] and again.findings == [] and len(rows) == 1
    # resolved by a biller: off the list, audited; resolving again changes nothing
    with app.unit_of_work() as work:
        assert resolve_finding(work, rows[0].id, "MAC reprocessing requested") is True
    with app.unit_of_work() as work:
        assert followup(work) == []
        assert resolve_finding(work, rows[0].id, "again") is False
        audit = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "finding.resolve")).all()
        assert [(a.entity_id, a.actor) for a in audit] == [(str(rows[0].id), "tester")]


def test_a_later_answer_supersedes_the_finding(medbill_app: Medbill) -> None:
    app = medbill_app
    claim = new_claim(app, service=ago(40), submitted=ago(35))
    number = claim_number(app, claim)
    # the payer answered 60.00 of the charge (it balances: 60 - 50 = 10); 40.00 is still owed
    remit(app, number, paid="50.00", co="10.00", on=ago(10), charge="60.00")
    with app.unit_of_work() as work:
        [item] = followup(work)
        assert (item.state, item.insurance_balance, item.paid_amount) == (
            ClaimState.PARTIALLY_PAID, D("40.00"), D("50.00"))
    # the payer reprocesses and pays the rest: the flagged answer is no longer the standing one
    remit(app, number, paid="40.00", on=ago(2), charge="40.00")
    with app.unit_of_work() as work:
        assert open_findings(work) == {}
        assert followup(work) == []
        assert work.claims.get(claim).state is ClaimState.CLOSED


def test_resolve_errors(medbill_app: Medbill) -> None:
    from medbill_core.errors import NotFound, ValidationFailed

    with medbill_app.unit_of_work() as work, pytest.raises(NotFound):
        resolve_finding(work, 999, "note")
    claim = new_claim(medbill_app, service=ago(40), submitted=ago(35))
    remit(medbill_app, claim_number(medbill_app, claim), paid="64.00", co="36.00", on=ago(10))
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed, match="note"):
        finding_id = work.session.scalar(select(RemittanceFindingRow.id))
        resolve_finding(work, finding_id, "  ")


# -- the command line ------------------------------------------------------------------------

@pytest.fixture
def flagged_config(cli_isolation: None, tmp_path: Path) -> tuple[Path, str]:
    """A SQLite instance with one closed acme claim whose 835 was flagged as underpaid."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    config = load_config(path)
    payers = dict(config.payers)
    payers["acme"] = payers["acme"].model_copy(update={"adapter": "fee_schedule"})
    app = Medbill.open(config.model_copy(update={"payers": payers}), load_installed=False,
                       extra_plugins=[("fee_schedule", fee_schedule_plugin())])
    try:
        claim = new_claim(app, service=ago(40), submitted=ago(35))
        number = claim_number(app, claim)
        remit(app, number, paid="64.00", co="36.00", on=ago(10))
    finally:
        app.close()
    return path, number


def test_cli_followup_lists_the_underpayment_and_resolves_it(
        flagged_config: tuple[Path, str]) -> None:
    path, number = flagged_config
    [item] = json.loads(ok(path, "ar", "followup", "--json").stdout)
    assert (item["claim_number"], item["state"], item["action"], item["expected"],
            item["allowed"], item["paid"]) == (number, "closed", "review underpayment",
                                               "100.00", "84.00", "64.00")
    finding_id = item["findings"][0]["id"]
    assert "1 claims to follow up" in ok(path, "ar", "followup").stdout  # the table prints
    assert one_line_error(cli(path, "ar", "resolve-finding", "999", "--note", "x")) == \
        "error: remittance finding 999 not found"
    assert f"finding {finding_id} resolved" in ok(
        path, "ar", "resolve-finding", str(finding_id), "--note", "accepted").stdout
    assert json.loads(ok(path, "ar", "followup", "--json").stdout) == []
    assert "already resolved" in ok(path, "ar", "resolve-finding", str(finding_id),
                                    "--note", "accepted").stdout

"""Submission batches validated claims a chunk at a time (memory flat in the claims waiting):
each chunk is its own outbox file and, through :func:`submit`, its own transaction."""

from __future__ import annotations

from typing import Any

import pytest
from inproc_plugins import line_practice_config, make_line_plugin
from sqlalchemy import select

from medbill_core.config import MedbillConfig
from medbill_core.domain import ClaimState
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.services import submission
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import (
    group_control_number,
    prepare_batches,
    prepare_in_chunks,
    submit,
)
from medbill_core.storage.schema import ClaimRow, SubmissionRow
from medbill_core.testing import factories
from medbill_core.x12_envelope import envelope_numbers

S = ClaimState


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def line_plugin() -> Any:
    return make_line_plugin()


@pytest.fixture
def medbill_extra_plugins(line_plugin: Any) -> list[tuple[str, Any]]:
    return [("lineplug", line_plugin)]


def validated_claims(app: Any, count: int, *, self_pay: int = 0) -> list[int]:
    """``count`` validated claims of linepay and ``self_pay`` without a payer, by id."""
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id,
                                              factories.make_coverage(payer_key="linepay"))
        claims = [factories.make_claim(patient.id, coverage_id=coverage.id, payer_key="linepay",
                                       number=f"C{n}") for n in range(count)]
        claims += [factories.make_claim(patient.id, coverage_id=None, number=f"P{n}")
                   for n in range(self_pay)]
        ids = [c.id for c in work.claims.create_many(claims)]
        scrub_claims(work, ids)
    return ids


def files(app: Any) -> list[list[str]]:
    with app.unit_of_work() as work:
        return [list(row.claim_numbers) for row in
                work.session.scalars(select(SubmissionRow).order_by(SubmissionRow.id))]


def states(app: Any, ids: list[int]) -> dict[str, ClaimState]:
    with app.unit_of_work() as work:
        return {number: ClaimState(state) for number, state in work.session.execute(
            select(ClaimRow.claim_number, ClaimRow.state).where(ClaimRow.id.in_(ids)))}


def test_submit_sends_a_file_per_chunk_each_claim_once(medbill_app, line_plugin,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 4)
    ids = validated_claims(medbill_app, 10, self_pay=2)
    outcomes = submit(medbill_app)
    # the self-pay claims first: they share the first transaction with two claims
    assert [o.claims for o in outcomes] == [2, 4, 4]
    assert files(medbill_app) == [["C0", "C1"], ["C2", "C3", "C4", "C5"],
                                  ["C6", "C7", "C8", "C9"]]
    assert len(line_plugin.channel.submitted) == 3
    assert states(medbill_app, ids) == {
        **{f"C{n}": S.SUBMITTED for n in range(10)},
        "P0": S.PATIENT_BALANCE, "P1": S.PATIENT_BALANCE}
    assert submit(medbill_app) == []  # nothing left validated, nothing pending


def test_one_transaction_batches_every_chunk(medbill_app, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 3)
    ids = validated_claims(medbill_app, 7)
    with medbill_app.unit_of_work() as work:
        created = prepare_batches(work)
    assert len(created) == 3
    assert files(medbill_app) == [["C0", "C1", "C2"], ["C3", "C4", "C5"], ["C6"]]
    assert set(states(medbill_app, ids).values()) == {S.QUEUED}


def test_claims_asked_for_are_checked_before_any_chunk_is_written(
        medbill_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 2)
    ids = validated_claims(medbill_app, 5)
    with medbill_app.unit_of_work() as work:
        work.claims.transition(ids[4], S.DRAFT, reason="fixing it")
    with pytest.raises(ValidationFailed, match="claim C4: state: draft"):
        prepare_in_chunks(medbill_app, claim_ids=ids)
    with pytest.raises(NotFound):
        prepare_in_chunks(medbill_app, claim_ids=[ids[0], 999_999])
    assert files(medbill_app) == []  # nothing written
    assert prepare_in_chunks(medbill_app, claim_ids=ids[1:4]) != []
    assert files(medbill_app) == [["C1", "C2"], ["C3"]]
    assert states(medbill_app, ids) == {"C0": S.VALIDATED, "C1": S.QUEUED, "C2": S.QUEUED,
                                        "C3": S.QUEUED, "C4": S.DRAFT}


@pytest.mark.parametrize("content", [
    "GS*HC*S*R*20260101*1200*77*X*005010X222A1~ST*837*0001~SE*2*0001~GE*1*77~IEA*1*1~",
    "\nGS*HC*S*R*20260101*1200* 0123456789012345678901 *X*005010X222A1~",
    "ST*837*1~",
    "GS*HC~GS*HC*S*R*1*2*9*X~",
    "GS*HC*S*R*1*2**X~",
])
def test_group_control_number_reads_as_the_envelope_does(content: str) -> None:
    isa = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200"
           "*^*00501*000000001*0*T*:~")
    text = isa + content
    groups = envelope_numbers(text).group_control_numbers
    assert group_control_number(text) == (groups[0][:20] if groups else None)
    assert group_control_number("\ufeff " + text) == group_control_number(text)
    assert group_control_number("not X12") is None

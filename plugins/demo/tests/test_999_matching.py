"""A 999 answers the batch whose functional group it names (AK102 = the 837's GS06) and the
transaction sets it lists (AK202 = ST02): a rejected group or transaction set rejects its
claims, with the 999's codes in words; an accepted one acknowledges them. A 999 arriving
after the payer answered further changes no state (it is recorded).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_payer_generic_x12.transactions.acknowledgments import decode_999
from sqlalchemy import select

from medbill_core import audit
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
)
from medbill_core.services.remittance import post_remittance
from medbill_core.services.responses import apply_decoded
from medbill_core.services.submission import group_control_number
from medbill_core.storage.schema import SubmissionRow, SubmissionStatus
from medbill_core.testing import factories

S = ClaimState
D = Decimal
#: a rejecting 999 written by someone else (imsweb/x12-parser's test resources): group 28,
#: transaction set 0028, IK3 NM at 17 code 1, IK5 R 5, AK9 R
FOREIGN_999 = (Path(__file__).resolve().parents[2] / "payer_generic_x12" / "tests" / "fixtures"
               / "999" / "imsweb__x12_999_rejected.txt")


def isa(control: str) -> str:
    """An ISA segment of the fixed X12 width (106 characters with its terminator)."""
    segment = ("ISA*00*" + " " * 10 + "*00*" + " " * 10 + "*ZZ*" + "SUBMITTER".ljust(15)
               + "*ZZ*" + "RECEIVER".ljust(15) + f"*261205*1200*^*00501*{control}*0*P*:~")
    assert len(segment) == 106
    return segment


def an_837(interchange: str, group: str, sets: dict[str, list[str]]) -> str:
    """The envelope of an 837 batch with each transaction set's claims (CLM only: the core
    keeps the file as written; only its numbers matter here)."""
    text = isa(interchange) + f"GS*HC*SUBMITTER*RECEIVER*20261205*1200*{group}*X*005010X222A1~"
    for st, claims in sets.items():
        body = [f"ST*837*{st}*005010X222A1~",
                *(f"CLM*{number}*143.5***11:B:1*Y*A*Y*Y~" for number in claims)]
        text += "".join(body) + f"SE*{len(body) + 1}*{st}~"
    return text + f"GE*{len(sets)}*{group}~IEA*1*{interchange}~"


def a_999(group: str, status: str, sets: list[tuple[str, str, str]]) -> str:
    """A 999 for ``group``: ``sets`` = (ST02, IK501, IK502 or '') per transaction set."""
    body = [f"AK1*HC*{group}*005010X222A1~"]
    for st, ik5, code in sets:
        body.append(f"AK2*837*{st}*005010X222A1~")
        if code == "5":
            body.append("IK3*CLM*4*2300*8~IK4*5*1028*7~")
        body.append(f"IK5*{ik5}" + (f"*{code}" if code else "") + "~")
    accepted = sum(ik5 != "R" for _, ik5, _ in sets)
    body.append(f"AK9*{status}*{len(sets)}*{len(sets)}*{accepted}~")
    segments = "ST*999*0001*005010X231A1~" + "".join(body)
    return (isa("000000777") + "GS*FA*RECEIVER*SUBMITTER*20261205*1201*777*X*005010X231A1~"
            + segments + f"SE*{segments.count('~') + 1}*0001~GE*1*777~IEA*1*000000777~")


@pytest.fixture
def batch(medbill_app):
    """Send claims: returns a function recording a batch of them (submitted) in the outbox."""
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
            payer_key="acme"))

    def record(interchange: str, group: str, sets: dict[str, list[str]]) -> int:
        content = an_837(interchange, group, sets)
        with medbill_app.unit_of_work() as work:
            numbers = [number for claims in sets.values() for number in claims]
            for number in numbers:
                claim = work.claims.create(factories.make_claim(
                    patient.id, coverage_id=coverage.id, payer_key="acme", number=number))
                for target in (S.VALIDATED, S.QUEUED, S.SUBMITTED):
                    work.claims.transition(claim.id, target)
            row = SubmissionRow(
                idempotency_key=f"acme-{interchange}-{numbers[0]}", payer_key="acme",
                channel="loopback", kind="837P", control_number=interchange,
                group_control_number=group_control_number(content), filename="b.x12",
                content=content, claim_numbers=numbers, status="sent", attempts=1)
            work.session.add(row)
            work.session.flush()
            return row.id
    return record


def apply(app, text: str) -> str:
    with app.unit_of_work() as work:
        return apply_decoded(work, decode_999(text))


def claim_states(app, *numbers: str) -> list[ClaimState]:
    with app.unit_of_work() as work:
        return [work.claims.by_number(number).state for number in numbers]


def last_reason(app, number: str) -> str:
    with app.unit_of_work() as work:
        return work.claims.history(work.claims.by_number(number).id)[-1].reason or ""


def test_a_999_written_by_someone_else_rejects_the_batch_its_group_names(medbill_app, batch):
    # the group is numbered apart from the interchange (GS06 28, ISA13 917), as other
    # senders do: the 999 names the group only
    batch_id = batch("000000917", "28", {"0028": ["REJ1", "REJ2"]})
    detail = apply(medbill_app, FOREIGN_999.read_text())
    assert detail == f"999 rejected (batch {batch_id}): 2 claims rejected"
    assert claim_states(medbill_app, "REJ1", "REJ2") == [S.REJECTED, S.REJECTED]
    reason = last_reason(medbill_app, "REJ1")
    assert reason == (f"999 rejected batch {batch_id} transaction set 0028: "
                      "IK5 5 One or more segments in error. (see the segment errors (IK3) "
                      "beside it); segment NM at position 17: IK3 1 Unrecognized segment ID.")
    with medbill_app.unit_of_work() as work:
        assert work.session.get(SubmissionRow, batch_id).status == SubmissionStatus.REJECTED
        # a rejected claim is fixed and sent again: reopen moves it
        work.claims.transition(work.claims.by_number("REJ1").id, S.DRAFT, reason="reopen")


def test_a_partially_accepted_999_rejects_only_the_rejected_transaction_set(medbill_app, batch):
    batch_id = batch("000000041", "41", {"0001": ["PA1", "PA2"], "0002": ["PA3"]})
    detail = apply(medbill_app, a_999("41", "P", [("0001", "A", ""), ("0002", "R", "5")]))
    assert detail == (f"999 partially accepted (batch {batch_id}): 2 claims acknowledged, "
                      "1 claims rejected")
    assert claim_states(medbill_app, "PA1", "PA2", "PA3") == [
        S.ACKNOWLEDGED, S.ACKNOWLEDGED, S.REJECTED]
    assert last_reason(medbill_app, "PA3") == (
        f"999 rejected batch {batch_id} transaction set 0002: IK5 5 One or more segments in "
        "error. (see the segment errors (IK3) beside it); segment CLM at position 4: IK3 8 "
        "Segment has data element errors. (see the element errors (IK4)), element 5: IK4 7 "
        "Invalid code value.")
    with medbill_app.unit_of_work() as work:
        assert work.session.get(SubmissionRow, batch_id).status == \
            SubmissionStatus.PARTIALLY_ACCEPTED


def test_a_group_number_used_twice_finds_the_batch_holding_the_named_transaction_set(
        medbill_app, batch):
    # a control number counter that was not kept across runs numbered two batches alike
    first = batch("000000005", "5", {"0001": ["TW1"]})
    batch("000000005", "5", {"0003": ["TW2"]})
    detail = apply(medbill_app, a_999("5", "R", [("0001", "R", "5")]))
    assert detail == f"999 rejected (batch {first}): 1 claims rejected"
    assert claim_states(medbill_app, "TW1", "TW2") == [S.REJECTED, S.SUBMITTED]


def test_an_accepting_999_acknowledges_and_records_its_group_number(medbill_app, batch):
    batch_id = batch("000000063", "63", {"0001": ["AC1"]})
    with medbill_app.unit_of_work() as work:
        assert work.session.scalar(select(SubmissionRow.group_control_number).where(
            SubmissionRow.id == batch_id)) == "63"
    assert apply(medbill_app, a_999("63", "A", [("0001", "A", "")])) == \
        f"999 accepted (batch {batch_id}): 1 claims acknowledged"
    assert claim_states(medbill_app, "AC1") == [S.ACKNOWLEDGED]


def test_a_999_after_the_835_is_recorded_and_moves_nothing(medbill_app, batch):
    batch("000000077", "77", {"0001": ["LATE1"]})
    # the claim bills 125.00: paid 100.00, CO-45 5.00, PR-2 20.00 (an 835 that balances)
    payment = ClaimPayment(claim_number="LATE1", status=ClaimStatusCode.PRIMARY,
                           charge=D("125.00"), paid=D("100.00"), adjustments=[
                               Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                                          amount=D("5.00")),
                               Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                          reason_code="2", amount=D("20.00"))])
    with medbill_app.unit_of_work() as work:
        post_remittance(work, Remittance(
            trace_number="T77", payment_amount=D("100.00"), payer_name="Acme",
            payee_name="Clinic", payment_date=date(2026, 12, 1), claims=[payment]))
    assert claim_states(medbill_app, "LATE1") == [S.PATIENT_BALANCE]  # the patient owes 20
    apply(medbill_app, a_999("77", "A", [("0001", "A", "")]))
    apply(medbill_app, a_999("77", "R", [("0001", "R", "5")]))  # redelivered, wrong or not
    assert claim_states(medbill_app, "LATE1") == [S.PATIENT_BALANCE]
    with medbill_app.unit_of_work() as work:
        claim_id = work.claims.by_number("LATE1").id
        kept = audit.query(work.session, action="claim.acknowledgment_kept", limit=10)
        assert [(event.entity_id, event.details["would_move_to"]) for event in kept] == [
            (str(claim_id), "rejected"), (str(claim_id), "acknowledged")]  # newest first

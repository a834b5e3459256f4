"""Answers an 835 must not post, found by exploratory testing. A payer's answer sent again
under another trace (a re-sent ERA, a payer's duplicate) is an exception for a person, not a
second posting: exploratory testing posted the same CLP loop
from a second 835 and the patient's share was billed twice (111.80 for a 55.90 share). A
second answer with other figures still posts as the payer said; a reversal and its
correction in one 835 post in either order. A payment from another payer we bill, for a visit
not billed to it, is an exception too (it was booked to the claim's own payer). On SQLite and
PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from test_receivables import ago, claim_number, new_claim, remit

from medbill_core.app import Medbill
from medbill_core.domain import ClaimStatusCode
from medbill_core.storage.schema import RemittanceExceptionRow

D = Decimal


def balances(app: Medbill, claim_id: int) -> tuple[Decimal, Decimal]:
    """(what the payer owes, what the patient owes) on the claim's account."""
    with app.unit_of_work(read_only=True) as work:
        balance = work.ledger.claim_balance(work.claims.account_id(work.claims.get(claim_id)))
    return balance.insurance, balance.patient


def exceptions(app: Medbill) -> list[tuple[str, str, Decimal]]:
    with app.unit_of_work(read_only=True) as work:
        return [(row.claim_number, row.reason, row.paid) for row in work.session.scalars(
            select(RemittanceExceptionRow).order_by(RemittanceExceptionRow.id))]


def test_an_answer_repeated_from_another_835_is_an_exception(medbill_app: Medbill) -> None:
    claim = new_claim(medbill_app, charges=("182.00",), service=ago(40), submitted=ago(35))
    number = claim_number(medbill_app, claim)
    first = _post(medbill_app, _remittance(number, "65.00", ("61.10", "55.90"), ago(10)))
    assert first.posted == [number]
    assert balances(medbill_app, claim) == (D("0.00"), D("55.90"))
    repeated = _remittance(number, "65.00", ("61.10", "55.90"), ago(2))
    again = _post(medbill_app, repeated)
    assert (again.posted, again.unbalanced) == ([], [number])
    assert balances(medbill_app, claim) == (D("0.00"), D("55.90"))  # billed once
    [(claim_no, reason, paid)] = exceptions(medbill_app)
    assert (claim_no, paid) == (number, D("65.00"))
    assert reason == (f"repeats the answer posted on {ago(10).isoformat()} (paid 65.00, the "
                      "same adjustments) with no reversal since: a duplicate, not posted twice")
    # it was a correction after all: the payer's reversal comes, the 835 is posted again
    reversal = _post(medbill_app, _remittance(number, "-65.00", ("-61.10", "-55.90"), ago(1),
                                              ClaimStatusCode.REVERSAL))
    assert reversal.posted == [number]
    assert _post(medbill_app, repeated).posted == [number]
    assert balances(medbill_app, claim) == (D("0.00"), D("55.90"))


def _remittance(number: str, paid: str, adjusted: tuple[str, str], on: object,
                status: ClaimStatusCode = ClaimStatusCode.PRIMARY) -> object:
    """One claim payment: ``adjusted`` its CO-45 and PR-1 amounts."""
    from test_receivables import _traces

    from medbill_core.domain import Adjustment, AdjustmentGroup, ClaimPayment, Remittance

    co, pr = (D(amount) for amount in adjusted)
    return Remittance(
        trace_number=f"TRN{next(_traces):05d}", payment_amount=D(paid), payer_name="Payer",
        payer_id="PAYER1", payee_name="Clinic", payment_date=on,
        claims=[ClaimPayment(claim_number=number, status=status, charge=D(paid) + co + pr,
                             paid=D(paid), adjustments=[
                                 Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                            reason_code="45", amount=co),
                                 Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                            reason_code="1", amount=pr)])])


def _post(app: Medbill, remittance: object) -> Any:
    from medbill_core.services.remittance import post_remittance

    with app.unit_of_work() as work:
        return post_remittance(work, remittance)  # type: ignore[arg-type]


def test_a_second_answer_with_other_figures_posts_as_the_payer_said(
        medbill_app: Medbill) -> None:
    claim = new_claim(medbill_app, charges=("100.00",), service=ago(40), submitted=ago(35))
    number = claim_number(medbill_app, claim)
    remit(medbill_app, number, paid="100.00", on=ago(3))
    more = remit(medbill_app, number, paid="10.00", on=ago(2))  # the payer overpays
    assert more.posted == [number] and exceptions(medbill_app) == []
    assert balances(medbill_app, claim) == (D("-10.00"), D("0.00"))  # a credit to refund


def test_a_correction_posts_after_its_reversal_in_either_order(medbill_app: Medbill) -> None:
    """The payer takes its answer back (CLP02 22) and answers again, the same figures as
    before (a reprocessing that changed nothing the 835 shows): both in one 835, the
    correction before or after the reversal."""
    from test_receivables import _traces

    from medbill_core.domain import Adjustment, AdjustmentGroup, ClaimPayment, Remittance
    from medbill_core.services.remittance import post_remittance

    for correction_first in (False, True):
        claim = new_claim(medbill_app, charges=("120.00",), service=ago(40), submitted=ago(35))
        number = claim_number(medbill_app, claim)
        remit(medbill_app, number, paid="80.00", co="40.00", on=ago(10))

        def answer(sign: int, status: ClaimStatusCode, claim_number: str = number
                   ) -> ClaimPayment:
            return ClaimPayment(claim_number=claim_number, status=status,
                                charge=D("120.00") * sign, paid=D("80.00") * sign,
                                adjustments=[Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                                        reason_code="45",
                                                        amount=D("40.00") * sign)])

        reversal = answer(-1, ClaimStatusCode.REVERSAL)
        correction = answer(1, ClaimStatusCode.PRIMARY)
        claims = [correction, reversal] if correction_first else [reversal, correction]
        with medbill_app.unit_of_work() as work:
            result = post_remittance(work, Remittance(
                trace_number=f"TRN{next(_traces):05d}", payment_amount=D("0.00"),
                payer_name="Payer", payer_id="PAYER1", payee_name="Clinic",
                payment_date=ago(1), claims=claims))
        assert (result.unbalanced, sorted(result.posted + result.held)) == (
            [], [number, number]), correction_first
        assert balances(medbill_app, claim) == (D("0.00"), D("0.00"))
    assert exceptions(medbill_app) == []


def _from_payer(app: Medbill, number: str, payer_id: str) -> object:
    from test_receivables import _traces

    from medbill_core.domain import Adjustment, AdjustmentGroup, ClaimPayment, Remittance
    from medbill_core.services.remittance import post_remittance

    with app.unit_of_work() as work:
        return post_remittance(work, Remittance(
            trace_number=f"TRN{next(_traces):05d}", payment_amount=D("10.00"),
            payer_name="Some Payer", payer_id=payer_id, payee_name="Clinic",
            payment_date=ago(1), claims=[ClaimPayment(
                claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D("125.00"),
                paid=D("10.00"), adjustments=[Adjustment(
                    group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                    amount=D("115.00"))])]))


def test_a_payment_from_another_payer_we_bill_is_not_booked_to_the_claims_payer(
        medbill_app: Medbill) -> None:
    """An acme claim paid by Blue Cross (BCBS1, configured), which was billed nothing for the
    visit: an exception (it was posted to acme, a CO-45 from a payer without a contract)."""
    claim = new_claim(medbill_app, charges=("125.00",), service=ago(40), submitted=ago(35))
    number = claim_number(medbill_app, claim)
    result = _from_payer(medbill_app, number, "BCBS1")
    assert (result.posted, result.unmatched) == ([], [number])  # type: ignore[attr-defined]
    assert balances(medbill_app, claim) == (D("125.00"), D("0.00"))
    assert exceptions(medbill_app) == [(number, "paid by bluecross (payer ID BCBS1), but the "
                                        "claim was billed to acme and no claim of the visit "
                                        "to it", D("10.00"))]
    # an ID no configured payer has is the billed payer's own (clearinghouse IDs differ)
    unknown = _from_payer(medbill_app, number, "ZZZ99")
    assert unknown.posted == [number]  # type: ignore[attr-defined]
    assert balances(medbill_app, claim) == (D("0.00"), D("0.00"))

"""An 835 claim payment that does not balance, or whose amounts cannot be believed, is an
exception, never a posting (issue 11, item 7): on both databases through the services, and
through ``medbill remit post`` of a real 835 file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    PaymentMethod,
    Remittance,
    ServicePayment,
)
from medbill_core.services.remittance import post_remittance
from medbill_core.services.remittance_register import list_remittances, remittance_detail
from medbill_core.storage.schema import LedgerEntryRow, PostingRow
from medbill_core.testing import factories

D = Decimal
TWELVE_TRILLION = D("12345678901234.56")


def cas(group: AdjustmentGroup, code: str, amount: str) -> Adjustment:
    return Adjustment(group=group, reason_code=code, amount=D(amount))


CO = AdjustmentGroup.CONTRACTUAL
PR = AdjustmentGroup.PATIENT_RESPONSIBILITY


def payment(number: str, *, charge: str = "143.50", paid: str = "100.00",
            adjustments: tuple[Adjustment, ...] = (cas(CO, "45", "23.50"),
                                                   cas(PR, "2", "20.00")),
            services: tuple[ServicePayment, ...] = ()) -> ClaimPayment:
    return ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D(charge),
                        paid=D(paid), adjustments=list(adjustments), services=list(services))


def service(code: str, charge: str, paid: str, *adjustments: Adjustment) -> ServicePayment:
    return ServicePayment(procedure_code=code, charge=D(charge), paid=D(paid),
                          adjustments=list(adjustments))


def remittance(trace: str, *payments: ClaimPayment) -> Remittance:
    return Remittance(trace_number=trace, payment_amount=sum((p.paid for p in payments), D(0)),
                      payment_method=PaymentMethod.ACH, payment_date=date(2026, 3, 2),
                      payer_name="Acme Health Plan", payer_id="ACME1", payee_name="Clinic",
                      claims=list(payments))


def make_claims(app: Medbill, *numbers: str) -> None:
    """Accepted two-line claims (125.00 + 18.50 = 143.50) of one patient, billed to acme."""
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        for number in numbers:
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=coverage.id, number=number, lines=2))
            for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
                work.claims.transition(claim.id, target)


def ledger_rows(app: Medbill) -> int:
    """Ledger entries posted from 835s."""
    with app.unit_of_work(read_only=True) as work:
        return len(list(work.session.scalars(
            select(LedgerEntryRow.id)
            .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
            .where(PostingRow.posting_key.like("835:%")))))


UNBELIEVABLE = {
    # the reported case: a PR adjustment of twelve trillion dollars on a 143.50 claim
    "twelve trillion patient share": (
        payment("BAD", adjustments=(cas(CO, "45", "23.50"), cas(PR, "1", str(TWELVE_TRILLION)))),
        "an amount of 10,000,000.00 or more: not believable, not posted"),
    "claim does not balance": (
        payment("BAD", paid="100.00", adjustments=(cas(CO, "45", "23.50"),)),
        "does not balance: charge 143.50 - paid 100.00 = 43.50, adjustments 23.50"),
    "a line does not balance": (
        payment("BAD", adjustments=(), services=(
            service("99213", "125.00", "90.00", cas(CO, "45", "15.00"), cas(PR, "2", "20.00")),
            service("36415", "18.50", "10.00", cas(CO, "45", "1.00")))),
        "does not balance: charge 143.50 - paid 100.00 = 43.50, adjustments 36.00"),
    "a line does not balance though the claim does": (
        payment("BAD", adjustments=(cas(CO, "45", "7.50"),), services=(
            service("99213", "125.00", "90.00", cas(CO, "45", "15.00"), cas(PR, "2", "20.00")),
            service("36415", "18.50", "10.00", cas(CO, "45", "1.00")))),
        "service line 2 does not balance: charge 18.50 - paid 10.00 = 8.50, adjustments 1.00"),
    "balanced, but a charge the claim never billed": (
        payment("BAD", charge="900000.00", paid="100.00",
                adjustments=(cas(PR, "1", "899900.00"),)),
        "charge 900000.00 is more than the 143.50 billed"),
    "balanced, but paid more than billed": (
        payment("BAD", charge="143.50", paid="5000.00", adjustments=(cas(CO, "45", "-4856.50"),)),
        "paid 5000.00 is more than the 143.50 billed"),
    "balanced, but an adjustment larger than the claim": (
        payment("BAD", charge="143.50", paid="0.00",
                adjustments=(cas(PR, "1", "5000.00"), cas(CO, "45", "-4856.50"))),
        "an adjustment of 5000.00 is more than the 143.50 billed"),
}


@pytest.mark.parametrize("case", list(UNBELIEVABLE))
def test_an_unbelievable_claim_payment_is_an_exception_not_a_posting(medbill_app: Medbill,
                                                                     case: str) -> None:
    bad, reason = UNBELIEVABLE[case]
    make_claims(medbill_app, "BAD", "GOOD")
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, remittance("EFT-7", bad, payment("GOOD")))
    assert (result.posted, result.unbalanced, result.status) == (["GOOD"], ["BAD"],
                                                                 "exceptions")
    with medbill_app.unit_of_work() as work:
        bad_claim = work.claims.by_number("BAD")
        good_claim = work.claims.by_number("GOOD")
        # nothing of it reached the account: the charge is still owed by the payer
        assert bad_claim.state is ClaimState.ACCEPTED
        balance = work.ledger.claim_balance(bad_claim.id)
        assert (balance.insurance, balance.patient) == (D("143.50"), D("0.00"))
        assert work.ledger.claim_balance(good_claim.id).patient == D("20.00")
        detail = remittance_detail(work, "EFT-7")
        [item] = list_remittances(work)
    assert [(e["claim_number"], e["paid"], e["reason"], e["resolved"])
            for e in detail.exceptions] == [("BAD", str(bad.paid), reason, False)]
    assert [c.claim_number for c in detail.claims] == ["GOOD"]
    assert item.status.value == "exceptions"  # never "balanced" while it is unresolved
    assert ledger_rows(medbill_app) == 3  # GOOD's payment, CO-45 and PR-2 only


def test_a_balanced_claim_payment_with_lines_posts(medbill_app: Medbill) -> None:
    make_claims(medbill_app, "LINES")
    good = payment("LINES", adjustments=(), services=(
        service("99213", "125.00", "90.00", cas(CO, "45", "15.00"), cas(PR, "2", "20.00")),
        service("36415", "18.50", "10.00", cas(CO, "45", "8.50"))))
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, remittance("EFT-OK", good))
    assert (result.posted, result.unbalanced, result.status) == (["LINES"], [], "balanced")


def test_a_claim_payment_listed_twice_in_one_835_is_posted_once(medbill_app: Medbill) -> None:
    make_claims(medbill_app, "TWICE")
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, remittance("EFT-2X", payment("TWICE"), payment("TWICE")))
    assert (result.posted, result.unbalanced, result.status) == (["TWICE"], ["TWICE"],
                                                                 "exceptions")
    with medbill_app.unit_of_work() as work:
        claim = work.claims.by_number("TWICE")
        balance = work.ledger.claim_balance(claim.id)
        # paid 100.00 and PR 20.00 once: nothing left with the payer, 20.00 with the patient
        assert (balance.insurance, balance.patient) == (D("0.00"), D("20.00"))
        [exception] = remittance_detail(work, "EFT-2X").exceptions
    assert exception["reason"].startswith("the same claim payment appears earlier")
    assert ledger_rows(medbill_app) == 3

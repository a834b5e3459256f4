"""Refunds, write-offs, collections (issue 18) on SQLite and PostgreSQL: patient credits and the
check register, payer refund requests and recoupments, write-offs with approval, collection
agencies with the ledger's agency bucket."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inproc_plugins import make_line_plugin
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.domain import Guarantor, GuarantorRelationship, Payment, PaymentMethodKind
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import LedgerError, PermissionDenied, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import ZERO
from medbill_core.services import collections, patient_credits, payer_refunds, write_offs
from medbill_core.services.accounting_chart import AccountRole
from medbill_core.services.accounting_export import export_batch
from medbill_core.services.accounting_formats import ExportFormat
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.payments import (
    Overpayment,
    PlanStatus,
    cancel_plan,
    list_payments,
    list_plans,
    new_plan,
    record_payment,
    reverse_payment,
)
from medbill_core.services.receivables import aging
from medbill_core.services.statements import collections_worklist
from medbill_core.storage.schema import (
    AuditEventRow,
    LedgerEntryRow,
    PaymentRow,
    ProviderAdjustmentRow,
    WriteOffRequestRow,
)
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()
_numbers = itertools.count(1)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, object]]:
    return [("lineplug", make_line_plugin())]  # renders statements as text


def principal(role: Role, name: str) -> Principal:
    return Principal(kind=PrincipalKind.USER, id=7, name=name, practice_id=1, role=role)


BILLER = principal(Role.BILLER, "bill")
MANAGER = principal(Role.BILLING_MANAGER, "meg")
OTHER_MANAGER = principal(Role.BILLING_MANAGER, "max")


def self_pay(app: Medbill, charges: list[str], *, guarantor_id: int | None = None
             ) -> tuple[int, list[int]]:
    """(patient id, claim ids) of a new self-pay patient, one claim per charge, the first
    the oldest."""
    n = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(n))
        ids = []
        for i, charge in enumerate(charges):
            day = TODAY - timedelta(days=90 - i)
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"RC{n}-{i}",
                                         service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            ids.append(work.claims.create(claim).id)
        if guarantor_id is not None:
            GuarantorService(work.session, actor=work.actor).assign(
                patient.id, guarantor_id, GuarantorRelationship.PARENT)
        return patient.id, ids


def pay(app: Medbill, patient_id: int, amount: str, *, days_ago: int = 10) -> int:
    with app.unit_of_work() as work:
        return record_payment(work, Payment(
            patient_id=patient_id, amount=D(amount), method=PaymentMethodKind.CHECK,
            received_on=TODAY - timedelta(days=days_ago)),
            overpayment=Overpayment.CREDIT).payment_id


def balanced(app: Medbill, patient_id: int) -> None:
    with app.unit_of_work() as work:
        totals = work.ledger.totals(patient_id=patient_id)
        assert totals.is_balanced()


# -- patient credits ------------------------------------------------------------------------

def test_credit_work_view_and_refund_by_check_then_void_puts_it_back(medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["100.00"])
    payment = pay(medbill_app, patient, "130.00", days_ago=20)
    with medbill_app.unit_of_work() as work:
        [item] = patient_credits.credit_balances(work)
        assert (item.patient_id, item.credit, item.from_payments, item.days_old) == \
            (patient, D("30.00"), D("30.00"), 20)
        with pytest.raises(ValidationFailed, match="payment gateway plugin"):
            patient_credits.refund_patient_credit(
                work, patient, D("30.00"), "asked for it", check_number="5001",
                method=patient_credits.RefundMethod.GATEWAY)
        with pytest.raises(ValidationFailed, match="exceeds the credit 30.00"):
            patient_credits.refund_patient_credit(work, patient, D("30.01"), "asked",
                                                  check_number="5001")
        check = patient_credits.refund_patient_credit(work, patient, D("25.00"),
                                                      "patient asked", check_number="5001")
    assert (check.status, check.amount, check.check_number) == (
        patient_credits.CheckStatus.ISSUED, D("25.00"), "5001")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).patient == D("-5.00")
        assert work.session.get(PaymentRow, payment).unapplied == D("5.00")
        with pytest.raises(ValidationFailed, match="already in the register"):
            patient_credits.refund_patient_credit(work, patient, D("1.00"), "again",
                                                  check_number="5001")
    with medbill_app.unit_of_work() as work:
        voided = patient_credits.void_check(work, "5001", "lost in the mail")
        assert voided.status is patient_credits.CheckStatus.VOID
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).patient == D("-30.00")
        row = work.session.get(PaymentRow, payment)
        assert (row.unapplied, row.refunded) == (D("30.00"), ZERO)
        with pytest.raises(ValidationFailed, match="only an issued check"):
            patient_credits.void_check(work, "5001", "again")
        assert [c.status for c in patient_credits.list_checks(work)] == [
            patient_credits.CheckStatus.VOID]
        actions = set(work.session.scalars(select(AuditEventRow.action)))
        assert {"refund_check.issue", "refund_check.void", "payment.refund"} <= actions
    balanced(medbill_app, patient)


def test_a_voided_refund_check_of_a_reversed_payment_makes_no_credit(medbill_app) -> None:
    """Refunded by check, then the payment's own check returned (reversed), then the refund
    check voided: the patient owes nothing for the refund, and the reversed payment shows no
    credit (it showed its former credit again, while the ledger had none)."""
    patient, _ = self_pay(medbill_app, ["100.00"])
    payment = pay(medbill_app, patient, "130.00", days_ago=20)
    with medbill_app.unit_of_work() as work:
        patient_credits.refund_patient_credit(work, patient, D("25.00"), "asked",
                                              check_number="6001")
        reverse_payment(work, payment, "returned check")
        assert work.ledger.patient_balance(patient).patient == D("125.00")
    with medbill_app.unit_of_work() as work:
        patient_credits.void_check(work, "6001", "never cashed")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).patient == D("100.00")
        [shown] = list_payments(work, patient_id=patient)
        assert (shown.status.value, shown.applied, shown.credit, shown.refunded) == (
            "reversed", ZERO, ZERO, ZERO)
        assert work.session.get(PaymentRow, payment).unapplied == ZERO
    balanced(medbill_app, patient)


def test_a_refund_check_dated_ahead_or_over_a_year_back_needs_confirming(medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["100.00"])
    pay(medbill_app, patient, "130.00", days_ago=20)
    long_ago = date(1901, 1, 1)
    for on, distance in ((TODAY + timedelta(days=1), "1 day in the future"),
                         (long_ago, f"{(TODAY - long_ago).days} days in the past"),
                         (TODAY - timedelta(days=366), "366 days in the past")):
        with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
            patient_credits.refund_patient_credit(work, patient, D("1.00"), "asked",
                                                  check_number="5004", on=on)
        assert refused.value.message == (
            f"patient {patient}: issued_on: {distance}: check it, or confirm the date if it "
            "is right")
    with medbill_app.unit_of_work() as work:  # nothing written
        assert patient_credits.list_checks(work) == []
        assert work.ledger.patient_balance(patient).patient == D("-30.00")
    with medbill_app.unit_of_work() as work:
        days_ago = patient_credits.refund_patient_credit(
            work, patient, D("1.00"), "asked", check_number="5004",
            on=TODAY - timedelta(days=3))
        confirmed = patient_credits.refund_patient_credit(
            work, patient, D("1.00"), "post-dated", check_number="5005",
            on=TODAY + timedelta(days=1), confirmed_date=True)
    assert (days_ago.issued_on, confirmed.issued_on) == (TODAY - timedelta(days=3),
                                                         TODAY + timedelta(days=1))


def test_cleared_check_cannot_be_voided_and_a_held_credit_is_not_refunded(medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["50.00"])
    pay(medbill_app, patient, "80.00")
    with medbill_app.unit_of_work() as work:
        patient_credits.hold_credit(work, patient, "appeal pending")
    with medbill_app.unit_of_work() as work:
        [item] = patient_credits.credit_balances(work)
        assert item.hold_reason == "appeal pending"
        with pytest.raises(ValidationFailed, match="on hold"):
            patient_credits.refund_patient_credit(work, patient, D("10.00"), "x",
                                                  check_number="77")
        patient_credits.release_hold(work, patient)
    with medbill_app.unit_of_work() as work:
        patient_credits.refund_patient_credit(work, patient, D("30.00"), "refund",
                                              check_number="77")
        cleared = patient_credits.clear_check(work, "77")
        assert cleared.status is patient_credits.CheckStatus.CLEARED
        with pytest.raises(ValidationFailed, match="is cleared"):
            patient_credits.void_check(work, "77", "too late")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).total == ZERO
        assert patient_credits.credit_balances(work) == []


def test_a_held_credit_is_neither_refunded_nor_moved_by_any_path(medbill_app) -> None:
    """A held credit is not refunded or moved until the hold is released: refunding one
    payment's credit, a claim's credit, applying it to the patient's own balances or to a
    family member's, refunding a check, all refuse in the same words and change nothing."""
    from medbill_core.services.payments import (
        apply_credit,
        refund_claim_credit,
        refund_credit,
    )

    with medbill_app.unit_of_work() as work:
        guarantor_id = GuarantorService(work.session, actor=work.actor).add(
            Guarantor(last_name="Held", first_name="Hal")).id
    assert guarantor_id is not None
    held, [first, second] = self_pay(medbill_app, ["50.00", "30.00"],
                                     guarantor_id=guarantor_id)
    sibling, _ = self_pay(medbill_app, ["25.00"], guarantor_id=guarantor_id)
    # the first claim paid whole, then 20.00 of it stopped being the patient's: a claim credit
    with medbill_app.unit_of_work() as work:
        record_payment(work, Payment(patient_id=held, amount=D("50.00"),
                                     method=PaymentMethodKind.CHECK, received_on=TODAY,
                                     claim_id=first))
        work.ledger.post(f"test:reprocessed:{first}", "test", [LedgerLine(
            EntryKind.WRITE_OFF, D("20.00"), patient_id=held, claim_id=first,
            bucket=Bucket.PATIENT)], effective_date=TODAY, allow_credit=True)
    payment = pay(medbill_app, held, "70.00")  # 30.00 on the second claim, 40.00 credit
    with medbill_app.unit_of_work() as work:
        patient_credits.hold_credit(work, held, "appeal pending")
    refused = f"patient {held}: credit: is on hold; release the hold first"
    attempts = [
        lambda work: refund_credit(work, payment, D("10.00"), "x"),
        lambda work: refund_claim_credit(work, first, D("10.00"), "x"),
        lambda work: apply_credit(work, held),
        lambda work: apply_credit(work, held, claim_id=second),
        lambda work: patient_credits.apply_credit_to_family(work, held, sibling),
        lambda work: patient_credits.refund_patient_credit(work, held, D("10.00"), "x",
                                                           check_number="H1"),
    ]
    for attempt in attempts:
        with medbill_app.unit_of_work() as work:
            with pytest.raises(ValidationFailed) as caught:
                attempt(work)
            assert str(caught.value) == refused
    with medbill_app.unit_of_work() as work:
        row = work.session.get(PaymentRow, payment)
        assert (row.unapplied, row.refunded) == (D("40.00"), ZERO)
        assert work.ledger.claim_balance(first).patient == D("-20.00")
        assert work.ledger.patient_balance(held).patient == D("-60.00")
        assert work.ledger.patient_balance(sibling).patient == D("25.00")
        assert patient_credits.list_checks(work) == []
        patient_credits.release_hold(work, held)
    with medbill_app.unit_of_work() as work:  # released: the same refund goes through
        assert refund_credit(work, payment, D("10.00"), "x").credit_left == D("30.00")
        assert refund_claim_credit(work, first, D("10.00"), "x").credit_left == D("10.00")
    balanced(medbill_app, held)


def test_a_family_statement_does_not_net_a_held_credit_against_another_member(
        medbill_app) -> None:
    """One member's held credit is not moved, so the family statement shows it as held and
    asks the other member's whole balance; released, it is netted again."""
    from medbill_core.services.card_payments import balance_owed
    from medbill_core.services.statements import build_statement

    with medbill_app.unit_of_work() as work:
        guarantor_id = GuarantorService(work.session, actor=work.actor).add(
            Guarantor(last_name="Fam", first_name="Flo")).id
    assert guarantor_id is not None
    holder, _ = self_pay(medbill_app, ["50.00"], guarantor_id=guarantor_id)
    owes, _ = self_pay(medbill_app, ["91.80"], guarantor_id=guarantor_id)
    pay(medbill_app, holder, "79.10")  # 29.10 credit
    with medbill_app.unit_of_work() as work:
        patient_credits.hold_credit(work, holder, "appeal pending")

    def statement() -> tuple[Decimal, list[Decimal], list[tuple[str, Decimal]], Decimal]:
        with medbill_app.unit_of_work() as work:
            made = build_statement(work, holder, statement_date=TODAY, cycle="2026-12",
                                   family=[holder, owes])
            # what the family may pay by card (the pay page) is what the statement asks
            assert balance_owed(work, guarantor_id=guarantor_id) == made.balance_due
        credits = [(line.description, line.balance) for section in made.sections
                   for line in section.lines if "credit" in line.description.lower()]
        return (made.balance_due, [section.balance_due for section in made.sections],
                credits, made.aging.current)

    due, sections, credits, current = statement()
    assert (due, sections, current) == (D("91.80"), [D("0.00"), D("91.80")], D("0.00"))
    assert credits == [("Payments not yet applied (credit) - on hold: 29.10 credit not "
                        "applied now", D("0.00"))]
    with medbill_app.unit_of_work() as work:
        patient_credits.release_hold(work, holder)
    due, sections, credits, current = statement()
    assert (due, sections, current) == (D("62.70"), [D("-29.10"), D("91.80")], D("-29.10"))
    assert credits == [("Payments not yet applied (credit)", D("-29.10"))]


def test_credit_applied_to_a_family_members_balance(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        guarantor = GuarantorService(work.session, actor=work.actor).add(
            Guarantor(last_name="Parent", first_name="Pat"))
    guarantor_id = guarantor.id
    assert guarantor_id is not None
    first, _ = self_pay(medbill_app, ["40.00"], guarantor_id=guarantor_id)
    second, [claim] = self_pay(medbill_app, ["25.00"], guarantor_id=guarantor_id)
    outsider, _ = self_pay(medbill_app, ["10.00"])
    payment = pay(medbill_app, first, "70.00")
    with medbill_app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="not in the same family"):
            patient_credits.apply_credit_to_family(work, first, outsider)
        result = patient_credits.apply_credit_to_family(work, first, second)
    assert result.applied == {claim: D("25.00")}
    assert result.credit_left == D("5.00")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(second).patient == ZERO
        assert work.ledger.patient_balance(first).patient == D("-5.00")
        assert work.session.get(PaymentRow, payment).unapplied == D("5.00")
    for pid in (first, second):
        balanced(medbill_app, pid)


# -- payer overpayments ---------------------------------------------------------------------

def insured_overpaid(app: Medbill) -> tuple[int, int]:
    """(patient id, claim id) of an insured claim of 100.00 that acme paid 130.00 on."""
    n = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(n))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        claim = factories.make_claim(patient.id, coverage_id=coverage.id, number=f"OP{n}")
        claim = claim.model_copy(update={"lines": [factories.make_line(1, charge=D("100.00"))]})
        claim_id = work.claims.create(claim).id
        work.ledger.post(f"835:OVER:{n}", "test", [LedgerLine(
            EntryKind.PAYER_PAYMENT, D("130.00"), patient_id=patient.id, claim_id=claim_id,
            payer_key="acme")], effective_date=TODAY, allow_credit=True)
        return patient.id, claim_id


def test_payer_refund_request_then_refunded_by_check(medbill_app) -> None:
    patient, claim = insured_overpaid(medbill_app)
    with medbill_app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="exceeds the 30.00"):
            payer_refunds.request_payer_refund(work, claim, D("30.01"), "paid twice")
        request = payer_refunds.request_payer_refund(work, claim, D("30.00"), "paid twice")
        with pytest.raises(ValidationFailed, match="exceeds the 0.00"):
            payer_refunds.request_payer_refund(work, claim, D("1.00"), "again")
    with medbill_app.unit_of_work() as work:
        done = payer_refunds.mark_refunded(work, request.id, "CHK-9")
        assert (done.status, done.closing_reference) == (payer_refunds.RefundStatus.REFUNDED,
                                                         "CHK-9")
        assert work.ledger.claim_balance(claim).insurance == ZERO
    balanced(medbill_app, patient)


def test_plb_recoupment_closes_the_request_once(medbill_app) -> None:
    patient, claim = insured_overpaid(medbill_app)
    with medbill_app.unit_of_work() as work:
        number = work.claims.get(claim).claim_number
        request = payer_refunds.request_payer_refund(work, claim, D("30.00"), "overpaid")
        work.session.add(ProviderAdjustmentRow(
            posting_key="835:TRN77:acme:PLB:1", trace_number="TRN77", payer_id="12345",
            provider_id="1234567893", reason_code="WO", reference=number,
            amount=D("30.00")))
    with medbill_app.unit_of_work() as work:
        [match] = payer_refunds.match_recoupments(work)
        assert (match.request_id, match.how, match.amount) == (request.id, "plb", D("30.00"))
    with medbill_app.unit_of_work() as work:
        assert payer_refunds.match_recoupments(work) == []
        assert work.ledger.claim_balance(claim).insurance == ZERO
        [row] = payer_refunds.list_payer_refunds(work)
        assert row.status is payer_refunds.RefundStatus.RECOUPED
        refunds = work.session.scalars(select(LedgerEntryRow.amount).where(
            LedgerEntryRow.claim_id == claim, LedgerEntryRow.kind == "refund")).all()
        assert refunds == [D("30.00")]
    balanced(medbill_app, patient)


def test_reversal_recoupment_closes_the_request_without_posting(medbill_app) -> None:
    patient, claim = insured_overpaid(medbill_app)
    with medbill_app.unit_of_work() as work:
        payer_refunds.request_payer_refund(work, claim, D("30.00"), "overpaid")
        # the payer reverses its payment (CLP02 22) and pays 100.00 again
        work.ledger.post("835:REV:1", "test", [
            LedgerLine(EntryKind.PAYER_PAYMENT, D("-130.00"), patient_id=patient,
                       claim_id=claim, payer_key="acme"),
            LedgerLine(EntryKind.PAYER_PAYMENT, D("100.00"), patient_id=patient,
                       claim_id=claim, payer_key="acme")], effective_date=TODAY)
    with medbill_app.unit_of_work() as work:
        [match] = payer_refunds.match_recoupments(work)
        assert (match.how, match.reference) == ("reversal", "835:REV:1")
        assert work.ledger.claim_balance(claim).insurance == ZERO
        assert not work.session.scalars(select(LedgerEntryRow.id).where(
            LedgerEntryRow.claim_id == claim, LedgerEntryRow.kind == "refund")).all()
    balanced(medbill_app, patient)


# -- write-offs -----------------------------------------------------------------------------

def test_small_balance_is_written_off_by_the_policy_and_bulk_has_a_dry_run(medbill_app) -> None:
    small, _ = self_pay(medbill_app, ["4.99"])
    edge, _ = self_pay(medbill_app, ["5.00"])
    with medbill_app.unit_of_work(principal=BILLER) as work:
        found = write_offs.write_off_small_balances(work, "under $5", dry_run=True)
        assert [(i.patient_id, i.balance) for i in found] == [(small, D("4.99"))]
        assert work.ledger.patient_balance(small).patient == D("4.99")  # dry run: nothing
        with pytest.raises(ValidationFailed, match="not a small balance"):
            write_offs.request_write_off(work, edge, write_offs.WriteOffKind.SMALL_BALANCE,
                                         None, "small")
    with medbill_app.unit_of_work(principal=BILLER) as work:
        write_offs.write_off_small_balances(work, "under $5")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(small).total == ZERO
        [done] = write_offs.list_write_offs(work)
        assert (done.status, done.decided_by, done.amount) == (
            write_offs.WriteOffStatus.APPROVED, write_offs.POLICY_ACTOR, D("4.99"))
        codes = work.session.scalars(select(LedgerEntryRow.reason_code).where(
            LedgerEntryRow.patient_id == small, LedgerEntryRow.kind == "write_off")).all()
        assert codes == ["SMALLBAL"]
        assert write_offs.small_balance_candidates(work) == []
    balanced(medbill_app, small)


def test_bad_debt_waits_for_another_manager_and_posts_on_approval_only(medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["300.00"])
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        request = write_offs.request_write_off(work, patient, write_offs.WriteOffKind.BAD_DEBT,
                                               None, "skipped town")
        assert request.status is write_offs.WriteOffStatus.REQUESTED
        assert work.ledger.patient_balance(patient).patient == D("300.00")
    with medbill_app.unit_of_work(principal=BILLER) as work, \
            pytest.raises(PermissionDenied):
        write_offs.approve_write_off(work, request.id)
    with medbill_app.unit_of_work(principal=MANAGER) as work, \
            pytest.raises(ValidationFailed, match="cannot approve it"):
        write_offs.approve_write_off(work, request.id)
    with medbill_app.unit_of_work(principal=OTHER_MANAGER) as work:
        approved = write_offs.approve_write_off(work, request.id, note="agreed")
        assert (approved.status, approved.decided_by) == (write_offs.WriteOffStatus.APPROVED,
                                                          "user:max")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).total == ZERO
        with pytest.raises(ValidationFailed, match="is approved"):
            write_offs.deny_write_off(work, request.id, "late")
    balanced(medbill_app, patient)


def test_write_off_above_the_threshold_needs_approval_and_a_denial_posts_nothing(
        medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["3.00"])
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        write_offs.set_policy(work, small_balance_limit=D("10.00"), approval_above=D("2.00"))
    with medbill_app.unit_of_work(principal=BILLER) as work:
        request = write_offs.request_write_off(
            work, patient, write_offs.WriteOffKind.SMALL_BALANCE, None, "small")
        assert request.status is write_offs.WriteOffStatus.REQUESTED
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        denied = write_offs.deny_write_off(work, request.id, "call the patient first")
        assert denied.status is write_offs.WriteOffStatus.DENIED
        assert work.ledger.patient_balance(patient).patient == D("3.00")


def write_off_rows(app: Medbill, patient_id: int) -> tuple[int, list[Decimal]]:
    """(write-off requests recorded, ``write_off`` ledger amounts) of a patient."""
    with app.unit_of_work(read_only=True) as work:
        requests = work.session.scalar(select(func.count()).select_from(WriteOffRequestRow)
                                       .where(WriteOffRequestRow.patient_id == patient_id))
        amounts = work.session.scalars(select(LedgerEntryRow.amount).where(
            LedgerEntryRow.patient_id == patient_id, LedgerEntryRow.kind == "write_off")).all()
    return requests or 0, list(amounts)


def _small_balance_refused(app: Medbill, patient: int, amount: str) -> str:
    """Why the biller's small-balance write-off of ``amount`` is refused (it must be)."""
    with app.unit_of_work(principal=BILLER) as work, \
            pytest.raises(ValidationFailed) as refused:
        write_offs.request_write_off(work, patient, write_offs.WriteOffKind.SMALL_BALANCE,
                                     D(amount), "x")
    return str(refused.value)


def test_small_balance_pieces_of_a_large_balance_are_refused(medbill_app) -> None:
    """A biller cannot write off a 103.50 balance 4.99 at a time without a manager: a small
    balance is the account's whole balance, under the limit, whatever the amount asked."""
    patient, _ = self_pay(medbill_app, ["103.50"])
    for _ in range(3):
        assert _small_balance_refused(medbill_app, patient, "4.99") == (
            f"patient {patient}: balance: 103.50 is not a small balance (under 5.00): "
            "request another kind")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).patient == D("103.50")
    assert write_off_rows(medbill_app, patient) == (0, [])
    # a higher limit does not make part of a balance a small balance either
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        write_offs.set_policy(work, small_balance_limit=D("200.00"))
    assert _small_balance_refused(medbill_app, patient, "4.99") == (
        f"patient {patient}: amount: 4.99 is not the account's whole balance 103.50: a "
        "small-balance write-off takes all of it")
    # the same amount as bad debt waits for a manager, as before
    with medbill_app.unit_of_work(principal=BILLER) as work:
        waiting = write_offs.request_write_off(work, patient, write_offs.WriteOffKind.BAD_DEBT,
                                               D("4.99"), "x")
    assert (waiting.status, waiting.decided_by) == (write_offs.WriteOffStatus.REQUESTED, None)
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).patient == D("103.50")
    assert write_off_rows(medbill_app, patient) == (1, [])


def test_a_small_balance_write_off_takes_the_whole_account_balance(medbill_app) -> None:
    patient, [older, newer] = self_pay(medbill_app, ["3.00", "1.50"])
    for amount, claim in ((D("3.00"), None), (None, older), (D("1.00"), newer)):
        with medbill_app.unit_of_work(principal=BILLER) as work, \
                pytest.raises(ValidationFailed) as refused:
            write_offs.request_write_off(work, patient, write_offs.WriteOffKind.SMALL_BALANCE,
                                         amount, "small", claim_id=claim)
        part = amount or D("3.00")
        assert str(refused.value) == (
            f"patient {patient}: amount: {part} is not the account's whole balance 4.50: a "
            "small-balance write-off takes all of it")
    assert write_off_rows(medbill_app, patient) == (0, [])
    with medbill_app.unit_of_work(principal=BILLER) as work:
        done = write_offs.request_write_off(work, patient,
                                            write_offs.WriteOffKind.SMALL_BALANCE, None, "small")
    assert (done.status, done.decided_by, done.amount) == (
        write_offs.WriteOffStatus.APPROVED, write_offs.POLICY_ACTOR, D("4.50"))
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).patient == ZERO
        assert (work.ledger.claim_balance(older).patient,
                work.ledger.claim_balance(newer).patient) == (ZERO, ZERO)
    assert write_off_rows(medbill_app, patient) == (1, [D("3.00"), D("1.50")])
    balanced(medbill_app, patient)


def test_a_small_balance_counts_the_accounts_credit(medbill_app) -> None:
    """A credit the account holds lowers its balance: what is written off is the balance the
    statement shows, not the claims' before the credit."""
    patient, _ = self_pay(medbill_app, ["4.00"])
    pay(medbill_app, patient, "6.00")  # 4.00 on the claim, 2.00 kept as a credit
    with medbill_app.unit_of_work() as work:
        claim = factories.make_claim(patient, coverage_id=None, number=f"RCX{patient}",
                                     service_date=TODAY - timedelta(days=5))
        work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=TODAY - timedelta(days=5), charge=D("4.50"))]}))
        assert work.ledger.patient_balance(patient).patient == D("2.50")
    with medbill_app.unit_of_work(principal=BILLER) as work, \
            pytest.raises(ValidationFailed) as refused:
        write_offs.request_write_off(work, patient, write_offs.WriteOffKind.SMALL_BALANCE,
                                     None, "small")
    assert str(refused.value) == (
        f"patient {patient}: amount: 4.50 is not the account's whole balance 2.50: a "
        "small-balance write-off takes all of it")
    pay(medbill_app, patient, "3.00")  # the credit is now 5.00, the claims owe 4.50
    with medbill_app.unit_of_work(principal=BILLER) as work, \
            pytest.raises(ValidationFailed) as refused:
        write_offs.request_write_off(work, patient, write_offs.WriteOffKind.SMALL_BALANCE,
                                     None, "small")
    assert str(refused.value) == (
        f"patient {patient}: balance: nothing is owed once the account's credit is counted: "
        "apply the credit")
    assert write_off_rows(medbill_app, patient) == (0, [])


def _small_balance_race(app: Medbill, patient: int) -> list[str]:
    """Two billers' small-balance requests of the account's 4.99, let go at the same moment:
    what each got (a status, a refusal, or the error)."""
    import threading

    start = threading.Barrier(2)
    outcomes: list[str] = []

    def request() -> None:
        start.wait()
        try:
            with app.unit_of_work(principal=BILLER) as work:
                outcomes.append(write_offs.request_write_off(
                    work, patient, write_offs.WriteOffKind.SMALL_BALANCE, D("4.99"),
                    "small").status.value)
        except Exception as exc:  # whatever it is, the caller's assertion shows it
            outcomes.append(str(exc) if isinstance(exc, ValidationFailed) else repr(exc))

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_small_balance_requests_at_once_write_off_once(medbill_app,
                                                          medbill_backend: str) -> None:
    """The account's row lock: the second request reads the balance the first left and is
    refused in words (without it, the ledger's check on the claim's balance stops the second
    posting with a LedgerError instead)."""
    if medbill_backend != "postgres":
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's row locks")
    for _ in range(3):
        patient, _ = self_pay(medbill_app, ["4.99"])
        assert sorted(_small_balance_race(medbill_app, patient)) == [
            "approved", f"patient {patient}: balance: nothing is owed"]
        with medbill_app.unit_of_work() as work:
            assert work.ledger.patient_balance(patient).patient == ZERO
        assert write_off_rows(medbill_app, patient) == (1, [D("4.99")])


# -- collections ----------------------------------------------------------------------------

def test_placement_moves_the_balance_to_the_agency_and_out_of_patient_ar(medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["120.00", "80.00"])
    pay(medbill_app, patient, "20.00", days_ago=40)
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        collections.add_agency(work, "ACB", "Acme Collections", "30")
        with pytest.raises(ValidationFailed, match="0 to 100"):
            collections.add_agency(work, "BAD", "Bad", "130")
        placement = collections.place_account(work, patient, "acb")
    assert (placement.placed, placement.balance) == (D("180.00"), D("180.00"))
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        balance = work.ledger.patient_balance(patient)
        assert (balance.patient, balance.agency) == (ZERO, D("180.00"))
        assert collections.agency_receivables(work) == {"ACB": D("180.00")}
        report = aging(work)
        assert (report.agency.total, report.patient.total) == (D("180.00"), ZERO)
        assert report.agency.buckets["0-30"] == D("180.00")
        assert report.total.total == work.ledger.totals().balance.total
        assert patient not in {item.patient_id for item in collections_worklist(work)}
        assert patient in collections.placed_patients(work)
        export = collections.agency_export(work, "ACB")
        again = collections.agency_export(work, "ACB")
    rows = list(csv.DictReader(io.StringIO(export.content)))
    assert export.placements == 1 and again.placements == 0
    assert rows[0]["balance"] == "180.00"
    assert rows[0]["last_payment_date"] == (TODAY - timedelta(days=40)).isoformat()
    assert rows[0]["first_service_date"] == (TODAY - timedelta(days=90)).isoformat()
    # the agency collects 100.00 and keeps 30%
    with medbill_app.unit_of_work(principal=BILLER) as work:
        paid = collections.record_agency_payment(work, placement.id, D("100.00"),
                                                 reference="REMIT-1")
    assert (paid.fee, paid.net, paid.balance) == (D("30.00"), D("70.00"), D("80.00"))
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(patient_id=patient)
        assert totals[EntryKind.AGENCY_PAYMENT] == D("70.00")
        assert totals[EntryKind.AGENCY_FEE] == D("30.00")
        fees = work.session.scalars(select(LedgerEntryRow.reason_code).where(
            LedgerEntryRow.kind == "agency_fee")).all()
        assert set(fees) == {"AGYFEE"}
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        recalled = collections.recall_account(work, placement.id, "patient disputes")
        assert recalled.status is collections.PlacementStatus.RECALLED
        balance = work.ledger.patient_balance(patient)
        assert (balance.patient, balance.agency) == (D("80.00"), ZERO)
        assert patient not in collections.placed_patients(work)
    balanced(medbill_app, patient)
    # the books: the placement moved patient A/R to agency A/R, the agency's remittance is a
    # deposit, its fee an expense, the recall moved what was left back; debits = credits
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        books = export_batch(work, ExportFormat.CSV)
    assert books is not None
    roles = books.totals.by_role
    assert books.totals.debits == books.totals.credits
    assert roles.get(AccountRole.AR_AGENCY, ZERO) == ZERO  # 180 placed, 100 paid, 80 back
    assert roles[AccountRole.COLLECTION_FEES] == D("30.00")
    assert roles[AccountRole.PATIENT_DEPOSITS] == D("20.00") + D("70.00")


def test_agency_collecting_everything_closes_the_placement_and_claims(medbill_app) -> None:
    patient, [claim] = self_pay(medbill_app, ["33.33"])
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        collections.add_agency(work, "ZED", "Zed Recovery", "33.33")
        placement = collections.place_account(work, patient, "ZED")
        with pytest.raises(ValidationFailed, match="already with an agency"):
            collections.place_account(work, patient, "ZED")
    with medbill_app.unit_of_work(principal=BILLER) as work:
        with pytest.raises(ValidationFailed, match="exceeds the 33.33"):
            collections.record_agency_payment(work, placement.id, D("33.34"))
        paid = collections.record_agency_payment(work, placement.id, D("33.33"))
    # 33.33 x 33.33% = 11.108889: 11.11, half-up, to the cent
    assert (paid.fee, paid.net, paid.status) == (D("11.11"), D("22.22"),
                                                 collections.PlacementStatus.PAID)
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).total == ZERO
        assert work.ledger.claim_balance(claim).total == ZERO
        [closed] = collections.list_placements(work)
        assert (closed.status, closed.collected, closed.fees, closed.balance) == (
            collections.PlacementStatus.PAID, D("33.33"), D("11.11"), ZERO)
    balanced(medbill_app, patient)


def test_placing_needs_a_manager_and_a_balance(medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["10.00"])
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        collections.add_agency(work, "ACB", "Acme Collections", "25")
    with medbill_app.unit_of_work(principal=BILLER) as work, pytest.raises(PermissionDenied):
        collections.place_account(work, patient, "ACB")
    pay(medbill_app, patient, "10.00")
    with medbill_app.unit_of_work(principal=MANAGER) as work, \
            pytest.raises(ValidationFailed, match="nothing is owed"):
        collections.place_account(work, patient, "ACB")


def test_an_account_on_an_active_payment_plan_is_not_placed(medbill_app) -> None:
    patient, _ = self_pay(medbill_app, ["300.00"])
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        collections.add_agency(work, "ACB", "Acme Collections", "25")
        plan = new_plan(work, patient, D("300.00"), 3, TODAY)
    with medbill_app.unit_of_work(principal=MANAGER) as work, \
            pytest.raises(ValidationFailed) as refused:
        collections.place_account(work, patient, "ACB")
    assert str(refused.value) == (
        f"patient {patient}: payment_plan: has active payment plan {plan.id}: cancel it first")
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.patient_balance(patient)
        assert (balance.patient, balance.agency) == (D("300.00"), ZERO)
        assert collections.list_placements(work) == []
        assert patient not in collections.placed_patients(work)
        [still] = list_plans(work, patient_id=patient)
        assert (still.id, still.status) == (plan.id, PlanStatus.ACTIVE)
    # the plan cancelled (the patient stopped paying), the account can go to the agency
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        cancel_plan(work, plan.id, "stopped paying")
        placement = collections.place_account(work, patient, "ACB")
    assert (placement.placed, placement.status) == (D("300.00"),
                                                    collections.PlacementStatus.PLACED)
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.patient_balance(patient)
        assert (balance.patient, balance.agency) == (ZERO, D("300.00"))
    balanced(medbill_app, patient)


def test_the_agency_bucket_cannot_go_negative(medbill_app) -> None:
    patient, [claim] = self_pay(medbill_app, ["10.00"])
    with medbill_app.unit_of_work() as work, pytest.raises(LedgerError, match="agency"):
        work.ledger.post("agency-neg", "test", [LedgerLine(
            EntryKind.AGENCY_PAYMENT, D("1.00"), patient_id=patient, claim_id=claim)],
            effective_date=TODAY)


# -- property: the invariant holds with the agency bucket -----------------------------------

agency_operation = st.tuples(
    st.sampled_from([EntryKind.TRANSFER_TO_AGENCY, EntryKind.RECALL_FROM_AGENCY,
                     EntryKind.AGENCY_PAYMENT, EntryKind.AGENCY_FEE,
                     EntryKind.PATIENT_PAYMENT]),
    st.decimals(min_value=D("0.01"), max_value=D("90.00"), places=2))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(agency_operation, min_size=1, max_size=10))
def test_invariant_holds_with_agency_moves(medbill_app, operations) -> None:
    patient, [claim] = self_pay(medbill_app, ["150.00"])
    model = {"patient": D("150.00"), "agency": ZERO}
    for index, (kind, amount) in enumerate(operations):
        line = LedgerLine(kind, amount, patient_id=patient, claim_id=claim)
        patient_delta, agency_delta = line.deltas()[1], line.agency_delta()
        refused = model["patient"] + patient_delta < 0 or model["agency"] + agency_delta < 0
        try:
            with medbill_app.unit_of_work() as work:
                work.ledger.post(f"agprop:{claim}:{index}", "test", [line],
                                 effective_date=TODAY)
        except LedgerError:
            assert refused
            continue
        assert not refused
        model["patient"] += patient_delta
        model["agency"] += agency_delta
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(claim_id=claim)
        balance = work.ledger.claim_balance(claim)
    assert totals.is_balanced()
    assert (balance.patient, balance.agency, balance.insurance) == (
        model["patient"], model["agency"], ZERO)


def test_statement_runs_skip_a_placed_account(medbill_app, tmp_path) -> None:
    from medbill_core.services.statements import run_statements

    placed, _ = self_pay(medbill_app, ["60.00"])
    other, _ = self_pay(medbill_app, ["70.00"])
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        collections.add_agency(work, "ACB", "Acme Collections", "25")
        collections.place_account(work, placed, "ACB")
        # a new charge after the placement: owed in the patient bucket, still not billed
        work.ledger.post("late-fee", "test", [LedgerLine(
            EntryKind.CHARGE, D("15.00"), patient_id=placed, bucket=Bucket.PATIENT)],
            effective_date=TODAY)
    result = run_statements(medbill_app, cycle="C18", out_dir=tmp_path / "out",
                            renderer="text")
    assert result.skipped["on hold"] == [str(placed)]
    assert len(result.produced) == 1
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(other).patient == D("70.00")


def test_a_posted_835_plb_recoupment_is_matched_once(medbill_app) -> None:
    """Through the remittance posting itself: the PLB it records is what matching reads; the
    same 835 posted again records nothing new, and matching again posts nothing."""
    from medbill_core.domain import ProviderAdjustment, Remittance
    from medbill_core.services.remittance import post_remittance

    patient, claim = insured_overpaid(medbill_app)
    with medbill_app.unit_of_work() as work:
        number = work.claims.get(claim).claim_number
        payer_refunds.request_payer_refund(work, claim, D("30.00"), "overpaid")
    offset = Remittance(
        trace_number="RECOUP-1", payment_amount=D("0.00"), payer_name="Acme Health Plan",
        payer_id="ACME1", payee_name="Lakeside Family Practice", payment_date=TODAY,
        provider_adjustments=[ProviderAdjustment(
            provider_id="1234567893", reason_code="WO", reference=f"{number} X9",
            amount=D("30.00"), fiscal_period_date=TODAY)])
    for _ in range(2):
        with medbill_app.unit_of_work() as work:
            post_remittance(work, offset)
        with medbill_app.unit_of_work() as work:
            payer_refunds.match_recoupments(work)
    with medbill_app.unit_of_work() as work:
        [request] = payer_refunds.list_payer_refunds(work)
        assert (request.status, request.closing_reference) == (
            payer_refunds.RefundStatus.RECOUPED, "835:ACME1:RECOUP-1:PLB:1")
        refunds = work.session.scalars(select(LedgerEntryRow.amount).where(
            LedgerEntryRow.claim_id == claim, LedgerEntryRow.kind == "refund")).all()
        assert refunds == [D("30.00")]
        assert work.ledger.claim_balance(claim).insurance == ZERO
    balanced(medbill_app, patient)

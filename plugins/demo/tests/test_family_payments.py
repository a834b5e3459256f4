"""The guarantor's money (issue 10, family scope): one payment for a whole family, the family
statement's coupon number that takes it, statements after returned payments and voids, the
collections work list per guarantor, refunds and the plan.

Service tests run on both databases; CLI tests on a SQLite file through typer's CliRunner.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import medbill_statements_pdf.plugin as statements_pdf
import pytest
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    ClaimFrequency,
    GuarantorRelationship,
    Payment,
    PaymentMethodKind,
)
from medbill_core.errors import LedgerError, NotFound, ValidationFailed
from medbill_core.services.guarantors import (
    GuarantorService,
    guarantor_number,
    resolve_guarantor,
)
from medbill_core.services.payments import (
    Overpayment,
    list_payments,
    new_plan,
    record_guarantor_payment,
    record_payment,
    refund_credit,
    reverse_payment,
)
from medbill_core.services.statements import (
    CREDIT,
    ON_HOLD_VOIDED,
    OWED_BACK,
    RETURNED_FEE,
    build_statement,
    collections_worklist,
)
from medbill_core.storage.schema import AuditEventRow, PaymentPlanRow, PaymentRow
from medbill_core.testing import factories
from medbill_core.testing.cli import cli, config_text, ok, one_line_error

D = Decimal
TODAY = date.today()


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("statements_pdf", statements_pdf)]


def self_pay_claim(work: Any, patient_id: int, number: str, charge: str, age: int) -> int:
    day = TODAY - timedelta(days=age)
    claim = factories.make_claim(patient_id, coverage_id=None, number=number, service_date=day)
    return work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
        1, service_date=day, charge=D(charge))]})).id


def make_family(app: Medbill, base: int = 1) -> tuple[int, list[int], dict[str, int]]:
    """(guarantor id, [parent, older child, younger child], claim ids by name): the parent
    owes 30.00 (service 20 days ago), the first child 50.00 (60 days ago) and 40.00 (10
    days ago), the second child 70.00 (40 days ago)."""
    with app.unit_of_work() as work:
        people = [work.patients.register(factories.make_patient(base + i)).id
                  for i in range(3)]
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(people[0])
        for child in people[1:]:
            service.assign(child, guarantor.id, GuarantorRelationship.PARENT)
        claims = {"parent": self_pay_claim(work, people[0], f"F{base}-P", "30.00", 20),
                  "older": self_pay_claim(work, people[1], f"F{base}-A", "50.00", 60),
                  "newer": self_pay_claim(work, people[1], f"F{base}-B", "40.00", 10),
                  "second": self_pay_claim(work, people[2], f"F{base}-C", "70.00", 40)}
    return guarantor.id, people, claims


def family_payment(app: Medbill, guarantor_id: int, amount: str,
                   overpayment: Overpayment | None = None) -> Any:
    with app.unit_of_work() as work:
        return record_guarantor_payment(work, guarantor_id, Payment(
            patient_id=1, amount=D(amount), method=PaymentMethodKind.CHECK, reference="2210",
            received_on=TODAY), overpayment=overpayment)


def claim_balances(app: Medbill, claims: dict[str, int]) -> dict[str, Decimal]:
    with app.unit_of_work() as work:
        return {name: work.ledger.claim_balance(cid).patient for name, cid in claims.items()}


# -- one payment for the family ------------------------------------------------------------------

def test_a_family_payment_pays_oldest_service_first_across_the_patients(
        medbill_app: Medbill) -> None:
    guarantor_id, (parent, first, second), claims = make_family(medbill_app)
    result = family_payment(medbill_app, guarantor_id, "140.00")
    # oldest service first whoever the patient: 60 days (first child), 40 (second), 20 (parent)
    assert result.applied == {claims["older"]: D("50.00"), claims["second"]: D("70.00"),
                              claims["parent"]: D("20.00")}
    assert (result.credit, result.refunded) == (D("0.00"), D("0.00"))
    assert claim_balances(medbill_app, claims) == {
        "parent": D("10.00"), "older": D("0.00"), "newer": D("40.00"), "second": D("0.00")}
    with medbill_app.unit_of_work() as work:
        row = work.session.get(PaymentRow, result.payment_id)
        assert (row.guarantor_id, row.patient_id) == (guarantor_id, parent)
        applications = [(int(e.entity_id), e.details["patient_id"], e.details["amount"])
                        for e in work.session.scalars(select(AuditEventRow).where(
                            AuditEventRow.action == "payment.apply")
                            .order_by(AuditEventRow.id))]
        for pid in (parent, first, second):
            assert work.ledger.totals(patient_id=pid).is_balanced()
    assert applications == [(claims["older"], first, "50.00"), (claims["second"], second, "70.00"),
                            (claims["parent"], parent, "20.00")]


def test_a_family_payment_beyond_the_familys_balance_needs_a_decision(
        medbill_app: Medbill) -> None:
    guarantor_id, (parent, _, _), claims = make_family(medbill_app, 11)
    with pytest.raises(LedgerError, match="exceeds the 190.00 owed by guarantor"):
        family_payment(medbill_app, guarantor_id, "200.00")
    result = family_payment(medbill_app, guarantor_id, "200.00", Overpayment.CREDIT)
    assert result.credit == D("10.00")
    assert set(claim_balances(medbill_app, claims).values()) == {D("0.00")}
    with medbill_app.unit_of_work() as work:  # the credit sits on the family's first patient
        assert work.ledger.patient_balance(parent).patient == D("-10.00")
        with pytest.raises(NotFound, match="guarantor 999 not found"):
            record_guarantor_payment(work, 999, Payment(
                patient_id=parent, amount=D("1.00"), method=PaymentMethodKind.CASH,
                received_on=TODAY))


def test_a_returned_family_payment_reopens_each_patients_claims(medbill_app: Medbill) -> None:
    guarantor_id, people, claims = make_family(medbill_app, 21)
    before = claim_balances(medbill_app, claims)
    result = family_payment(medbill_app, guarantor_id, "195.00", Overpayment.CREDIT)
    with medbill_app.unit_of_work() as work:
        reversal = reverse_payment(work, result.payment_id, "NSF", fee=D("25.00"))
    assert reversal.reopened == result.applied
    assert reversal.credit_taken_back == D("5.00")
    assert claim_balances(medbill_app, claims) == before
    with medbill_app.unit_of_work() as work:
        for pid in people:
            assert work.ledger.totals(patient_id=pid).is_balanced()
        # the parent's account owes the fee; nobody keeps a credit
        assert [work.ledger.patient_balance(pid).patient for pid in people] == [
            D("55.00"), D("90.00"), D("70.00")]


def test_payments_list_of_a_guarantor_shows_the_familys_payments(medbill_app: Medbill) -> None:
    guarantor_id, (_, first, _), _ = make_family(medbill_app, 31)
    other_guarantor, _, _ = make_family(medbill_app, 41)
    family = family_payment(medbill_app, guarantor_id, "20.00")
    family_payment(medbill_app, other_guarantor, "20.00")
    with medbill_app.unit_of_work() as work:
        own = record_payment(work, Payment(patient_id=first, amount=D("5.00"),
                                           method=PaymentMethodKind.CASH, received_on=TODAY))
        items = list_payments(work, guarantor_id=guarantor_id)
    assert [(i.id, i.guarantor) for i in items] == [
        (family.payment_id, guarantor_number(guarantor_id)), (own.payment_id, None)]


def test_a_guarantor_is_named_by_number_id_or_statement_number(medbill_app: Medbill) -> None:
    guarantor_id, _, _ = make_family(medbill_app, 51)
    with medbill_app.unit_of_work() as work:
        number = guarantor_number(guarantor_id)
        for text in (number, str(guarantor_id), number.lower()):
            assert resolve_guarantor(work.session, text) == guarantor_id
        with pytest.raises(ValidationFailed, match="guarantor: reference"):
            resolve_guarantor(work.session, "Rivera")
        with pytest.raises(NotFound, match="guarantor 4321 not found"):
            resolve_guarantor(work.session, "G0004321")
        with pytest.raises(NotFound, match="guarantor 99999999999 not found"):
            resolve_guarantor(work.session, "G99999999999")


# -- what a statement says ---------------------------------------------------------------------

def statement_lines(app: Medbill, patient_id: int, family: list[int] | None = None
                    ) -> list[tuple[str, Decimal]]:
    with app.unit_of_work() as work:
        statement = build_statement(work, patient_id, statement_date=TODAY, cycle="T",
                                    family=family)
    return [(line.description, line.balance) for line in statement.lines]


def test_the_family_statement_carries_the_guarantors_number(medbill_app: Medbill) -> None:
    guarantor_id, people, _ = make_family(medbill_app, 61)
    with medbill_app.unit_of_work() as work:
        statement = build_statement(work, people[0], statement_date=TODAY, cycle="T",
                                    family=people)
        alone = build_statement(work, people[1], statement_date=TODAY, cycle="T")
    assert statement.account_number == guarantor_number(guarantor_id) == \
        f"G{guarantor_id:07d}"
    assert [s.account_number for s in statement.sections] == [
        f"A{n:05d}" for n in (61, 62, 63)]
    assert alone.account_number == "A00062"  # one patient's statement: their own number
    text = medbill_app.hooks.render_statement(statement=statement,
                                              renderer="text").content.decode()
    assert f"Write family account number G{guarantor_id:07d} on your check." in text


def test_a_returned_payments_fee_and_refund_are_owed_not_credit(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        patient_id = work.patients.register(factories.make_patient(71)).id
        self_pay_claim(work, patient_id, "N71", "80.00", 10)
        payment = record_payment(work, Payment(patient_id=patient_id, amount=D("100.00"),
                                               method=PaymentMethodKind.CHECK,
                                               received_on=TODAY),
                                 overpayment=Overpayment.CREDIT)
    assert statement_lines(medbill_app, patient_id) == [(CREDIT, D("-20.00"))]
    with medbill_app.unit_of_work() as work:
        refund_credit(work, payment.payment_id, D("20.00"), "asked")
        reverse_payment(work, payment.payment_id, "NSF", fee=D("25.00"))
    lines = statement_lines(medbill_app, patient_id)
    assert sorted(lines) == sorted([("Medical service, code 99213", D("80.00")),
                                    (RETURNED_FEE, D("25.00")), (OWED_BACK, D("20.00"))])
    assert all(description != CREDIT for description, _ in lines)
    # a later payment pays the fee first; only money beyond it is a credit again
    with medbill_app.unit_of_work() as work:
        record_payment(work, Payment(patient_id=patient_id, amount=D("160.00"),
                                     method=PaymentMethodKind.CASH, received_on=TODAY),
                       overpayment=Overpayment.CREDIT)
    assert statement_lines(medbill_app, patient_id) == [(CREDIT, D("-35.00"))]


def void_request(work: Any, claim_id: int) -> int:
    """A void (frequency 8) of the claim, sent and waiting for the payer's reversal."""
    original = work.claims.get(claim_id)
    return work.claims.create(original.model_copy(update={
        "id": None, "claim_number": f"{original.claim_number}-V1",
        "frequency": ClaimFrequency.VOID, "original_claim_reference": "P-1",
        "replaces_claim_id": claim_id, "account_claim_id": claim_id})).id


def test_a_claim_waiting_for_its_void_is_held_off_statements(
        medbill_app: Medbill, tmp_path: Path) -> None:
    from medbill_core.services.statements import run_statements

    guarantor_id, people, claims = make_family(medbill_app, 81)
    with medbill_app.unit_of_work() as work:
        void_request(work, claims["second"])
    lines = statement_lines(medbill_app, people[0], people)
    assert (f"{ON_HOLD_VOIDED} (70.00 not billed now)", D("0.00")) in lines
    assert sum((balance for _, balance in lines), D("0.00")) == D("120.00")
    # the family's other balances are still billed; paying oldest first skips the held claim
    run = run_statements(medbill_app, cycle="V", out_dir=tmp_path, renderer="text")
    assert run.produced == [f"V-G{guarantor_id:07d}"]
    result = family_payment(medbill_app, guarantor_id, "60.00")
    assert claims["second"] not in result.applied
    with medbill_app.unit_of_work() as work:
        (item,) = collections_worklist(work)
    assert item.balance == D("60.00")


def test_collections_work_list_has_one_row_per_guarantor(medbill_app: Medbill) -> None:
    guarantor_id, people, _ = make_family(medbill_app, 91)
    with medbill_app.unit_of_work() as work:
        alone = work.patients.register(factories.make_patient(95)).id
        self_pay_claim(work, alone, "S95", "500.00", 3)
        items = collections_worklist(work)
    assert [(i.account_number, i.guarantor_id, i.balance, i.stage, i.patients)
            for i in items] == [
        # the oldest balance is 60 days old: still 31-60 (services/aging.py), stage 1
        (guarantor_number(guarantor_id), guarantor_id, D("190.00"), 1,
         (("A00091", D("30.00")), ("A00092", D("90.00")), ("A00093", D("70.00")))),
        ("A00095", None, D("500.00"), 0, (("A00095", D("500.00")),))]
    assert items[0].patient_id == people[0]


# -- refunds and the plan ---------------------------------------------------------------------

def test_refunding_a_credit_owes_the_installments_again(medbill_app: Medbill) -> None:
    from medbill_core.ledger import Bucket, EntryKind, LedgerLine

    with medbill_app.unit_of_work() as work:
        patient_id = work.patients.register(factories.make_patient(101)).id
        claim_id = self_pay_claim(work, patient_id, "R101", "90.00", 10)
        plan = new_plan(work, patient_id, D("90.00"), 3, TODAY)
        # the balance shrinks after the plan was made (a courtesy adjustment of 50.00) ...
        work.ledger.post("test:courtesy", "test", [LedgerLine(
            EntryKind.WRITE_OFF, D("50.00"), patient_id=patient_id, claim_id=claim_id,
            bucket=Bucket.PATIENT)], effective_date=TODAY)
        # ... so 40.00 of a 90.00 check pays the claim and 50.00 is a credit: all 90.00
        # counted towards the plan
        payment = record_payment(work, Payment(patient_id=patient_id, amount=D("90.00"),
                                               method=PaymentMethodKind.CHECK,
                                               received_on=TODAY),
                                 overpayment=Overpayment.CREDIT)
        assert payment.credit == D("50.00")
        assert work.session.get(PaymentPlanRow, plan.id).status == "completed"
    with medbill_app.unit_of_work() as work:  # the 50.00 given back no longer pays the plan
        refund_credit(work, payment.payment_id, D("50.00"), "asked")
        row = work.session.get(PaymentPlanRow, plan.id)
        assert (row.status, [i.paid_amount for i in row.installments]) == (
            "active", [D("30.00"), D("10.00"), D("0.00")])
        assert work.session.get(PaymentRow, payment.payment_id).plan_counted == D("40.00")
    # money beyond what the plan asked was never counted: refunding it changes no installment
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(102)).id
        self_pay_claim(work, patient, "R103", "90.00", 10)
        plan = new_plan(work, patient, D("90.00"), 3, TODAY)
        result = record_payment(work, Payment(patient_id=patient, amount=D("100.00"),
                                              method=PaymentMethodKind.CHECK,
                                              received_on=TODAY),
                                overpayment=Overpayment.CREDIT)
        assert result.credit == D("10.00")
    with medbill_app.unit_of_work() as work:
        refund_credit(work, result.payment_id, D("10.00"), "asked")
        row = work.session.get(PaymentPlanRow, plan.id)
        assert (row.status, [i.paid_amount for i in row.installments]) == (
            "completed", [D("30.00")] * 3)


# -- on the command line ------------------------------------------------------------------------

@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                plugins=["statements_pdf"]), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


def as_json(config: Path, *args: str) -> Any:
    return json.loads(ok(config, *args, "--json").stdout)


def test_cli_pays_a_family_statement_by_its_coupon_number(config: Path, tmp_path: Path) -> None:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        guarantor_id, people, claims = make_family(app, 111)
    finally:
        app.close()
    run = as_json(config, "statements", "run", "--cycle", "2026-12", "--renderer", "text",
                  "--out", str(tmp_path / "out"))
    number = f"2026-12-G{guarantor_id:07d}"
    assert run["produced"] == [number]
    text = (tmp_path / "out").glob("*.txt").__next__().read_text()
    assert f"G{guarantor_id:07d}" in text
    before = [json.dumps(x) for x in as_json(config, "payments", "list")]
    assert one_line_error(cli(config, "payments", "record", "--amount", "10.00"), 2) == \
        "error: give --patient or --guarantor (one of them)"
    assert one_line_error(cli(config, "payments", "record", "--amount", "10.00", "--guarantor",
                              number, "--patient", "A00111"), 2) == \
        "error: give --patient or --guarantor (one of them)"
    assert one_line_error(cli(config, "payments", "record", "--amount", "10.00", "--guarantor",
                              "2026-12-G9999999")) == "error: statement 2026-12-G9999999 not found"
    assert one_line_error(cli(config, "payments", "record", "--amount", "500.00",
                              "--guarantor", number)).startswith(
        "error: payment of 500.00 exceeds the 190.00 owed by guarantor")
    for blank in ("", "Rivera"):
        assert one_line_error(cli(config, "payments", "record", "--amount", "10.00",
                                  "--guarantor", blank)) == (
            "error: guarantor: reference: give the guarantor's number (G0000012), id, or the "
            "statement number from the payment coupon")
    assert [json.dumps(x) for x in as_json(config, "payments", "list")] == before
    paid = as_json(config, "payments", "record", "--amount", "120.00", "--method", "check",
                   "--reference", "2210", "--guarantor", number)
    assert paid["applied"] == {str(claims["older"]): "50.00", str(claims["second"]): "70.00"}
    for reference in (f"G{guarantor_id:07d}", str(guarantor_id)):
        listed = as_json(config, "payments", "list", "--guarantor", reference)
        assert [(p["id"], p["guarantor"], p["applied"]) for p in listed] == [
            (paid["payment_id"], f"G{guarantor_id:07d}", "120.00")]
    worklist = as_json(config, "collections", "worklist")
    assert [(w["account_number"], w["balance"], [p["account_number"] for p in w["patients"]])
            for w in worklist] == [(f"G{guarantor_id:07d}", "70.00", ["A00111", "A00112"])]
    assert people


# -- a credit sitting on one claim -------------------------------------------------------------

def claim_with_credit(work: Any, number: int) -> tuple[int, int, int]:
    """(patient, claim with a 30.00 patient credit, claim owing 50.00): the patient paid the
    first claim's 80.00, then 30.00 of it stopped being theirs (the payer reprocessed it)."""
    from medbill_core.ledger import Bucket, EntryKind, LedgerLine

    patient_id = work.patients.register(factories.make_patient(number)).id
    credited = self_pay_claim(work, patient_id, f"K{number}-1", "80.00", 30)
    owing = self_pay_claim(work, patient_id, f"K{number}-2", "50.00", 5)
    record_payment(work, Payment(patient_id=patient_id, amount=D("80.00"),
                                 method=PaymentMethodKind.CARD, received_on=TODAY,
                                 claim_id=credited))
    work.ledger.post(f"test:reprocessed:{credited}", "test", [LedgerLine(
        EntryKind.WRITE_OFF, D("30.00"), patient_id=patient_id, claim_id=credited,
        bucket=Bucket.PATIENT)], effective_date=TODAY, allow_credit=True)
    return patient_id, credited, owing


def test_a_claims_own_credit_can_be_applied_and_refunded(medbill_app: Medbill) -> None:
    from medbill_core.services.payments import apply_credit, refund_claim_credit

    with medbill_app.unit_of_work() as work:
        patient_id, credited, owing = claim_with_credit(work, 121)
        assert work.ledger.claim_balance(credited).patient == D("-30.00")
    with medbill_app.unit_of_work() as work:
        result = apply_credit(work, patient_id)
    assert (result.applied, result.claims_used, result.credit_left) == (
        {owing: D("30.00")}, {credited: D("30.00")}, D("0.00"))
    with medbill_app.unit_of_work() as work:
        assert [work.ledger.claim_balance(c).patient for c in (credited, owing)] == [
            D("0.00"), D("20.00")]
        assert work.ledger.totals(patient_id=patient_id).is_balanced()
        patient_id, credited, _ = claim_with_credit(work, 122)
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="exceeds the patient credit"):
        refund_claim_credit(work, credited, D("30.01"), "asked")
    with medbill_app.unit_of_work() as work:
        refund = refund_claim_credit(work, credited, D("30.00"), "payer reprocessed")
        assert (refund.amount, refund.credit_left) == (D("30.00"), D("0.00"))
        assert work.ledger.claim_balance(credited).patient == D("0.00")
        assert work.ledger.totals(patient_id=patient_id).is_balanced()
        (event,) = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "claim.refund_credit"))
        assert event.details == {"amount": "30.00", "reason": "payer reprocessed"}


def test_cli_refunds_a_claims_credit(config: Path) -> None:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            _, credited, _ = claim_with_credit(work, 131)
    finally:
        app.close()
    assert one_line_error(cli(config, "payments", "refund-claim-credit", "K131-1",
                              "--amount", "31.00", "--reason", "asked")) == \
        f"error: claim {credited}: amount: exceeds the patient credit 30.00 on this claim"
    assert as_json(config, "payments", "refund-claim-credit", "K131-1", "--amount", "12.50",
                   "--reason", "asked") == {"claim_id": credited, "amount": "12.50",
                                            "credit_left": "17.50"}


# -- a denial decided, and the payer pays after all ------------------------------------------

def denied_claim(app: Medbill, n: int) -> tuple[int, int, str]:
    """(patient id, claim id, number) of an accepted claim of 100.00 (acme)."""
    from medbill_core.domain import ClaimState, CoverageOrder

    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(n))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
            order=CoverageOrder.PRIMARY, member_id=f"MBR{n:05d}"))
        day = TODAY - timedelta(days=100)
        claim = factories.make_claim(patient.id, coverage_id=coverage.id, number=f"DL{n:05d}",
                                     service_date=day)
        created = work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=day, charge=D("100.00"))]}))
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
            work.claims.transition(created.id, target)
    return patient.id, created.id, created.claim_number


def payer_answer(app: Medbill, trace: str, number: str, paid: str,
                 adjustments: list[tuple[str, str, str]], *, denied: bool = False) -> None:
    from medbill_core.domain import (
        Adjustment,
        AdjustmentGroup,
        ClaimPayment,
        ClaimStatusCode,
        Remittance,
    )
    from medbill_core.services.remittance import post_remittance

    payment = ClaimPayment(
        claim_number=number, charge=D("100.00"), paid=D(paid), payer_claim_number="PCN-7",
        status=ClaimStatusCode.DENIED if denied else ClaimStatusCode.PRIMARY,
        adjustments=[Adjustment(group=AdjustmentGroup(g), reason_code=c, amount=D(a))
                     for g, c, a in adjustments])
    with app.unit_of_work() as work:
        post_remittance(work, Remittance(
            trace_number=trace, payment_amount=D(paid), payer_name="Payer", payer_id="ACME1",
            payee_name="Clinic", payment_date=TODAY - timedelta(days=20), claims=[payment]))


def test_a_payment_after_a_write_off_takes_the_write_off_back(medbill_app: Medbill) -> None:
    from medbill_core.services import denials

    _, claim_id, number = denied_claim(medbill_app, 141)
    payer_answer(medbill_app, "TRN-WO1", number, "0.00", [("CO", "29", "100.00")], denied=True)
    with medbill_app.unit_of_work() as work:
        [item] = denials.list_denials(work)
        denials.write_off(work, item.id, "filed late")
    payer_answer(medbill_app, "TRN-WO2", number, "80.00", [("CO", "45", "20.00")])
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.claim_balance(claim_id)
        totals = work.ledger.totals(claim_id=claim_id)
        (event,) = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "denial.paid_later"))
    # no credit of the payer's 80.00: the write-off is taken back instead
    assert (balance.insurance, balance.patient) == (D("0.00"), D("0.00"))
    assert totals.is_balanced()
    assert (event.details["amount"], event.details["decision"]) == ("100.00", "written_off")


def test_a_payment_after_a_move_to_the_patient_gives_the_patient_a_claim_credit(
        medbill_app: Medbill) -> None:
    from medbill_core.services import denials
    from medbill_core.services.payments import refund_claim_credit

    patient_id, claim_id, number = denied_claim(medbill_app, 151)
    payer_answer(medbill_app, "TRN-TP1", number, "0.00",
                 [("CO", "96", "40.00"), ("PR", "204", "60.00")], denied=True)
    with medbill_app.unit_of_work() as work:
        co, pr = sorted(denials.list_denials(work), key=lambda d: d.code)
        denials.transfer_to_patient(work, pr.id)
        denials.write_off(work, co.id, "not covered")
        record_payment(work, Payment(patient_id=patient_id, amount=D("60.00"),
                                     method=PaymentMethodKind.CARD, received_on=TODAY))
    payer_answer(medbill_app, "TRN-TP2", number, "100.00", [])
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.claim_balance(claim_id)
        assert (balance.insurance, balance.patient) == (D("0.00"), D("-60.00"))
        # what the patient paid on the amount moved to them is theirs again: refund it
        refund_claim_credit(work, claim_id, D("60.00"), "the payer paid")
        assert work.ledger.claim_balance(claim_id).patient == D("0.00")
        assert work.ledger.totals(claim_id=claim_id).is_balanced()

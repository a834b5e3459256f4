"""A/R reports: aging, the insurance follow-up work list and remittance exceptions.

Service-level tests run on both databases (``medbill_app``); the CLI tests drive
``medbill ar`` through typer's CliRunner on a SQLite file.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import BLUECROSS, cli, config_text, narrow_terminal, ok, one_line_error
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from medbill_core.app import Medbill
from medbill_core.cli import common
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Payment,
    PaymentMethodKind,
    Remittance,
)
from medbill_core.errors import LedgerError, UnknownPayer, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import ZERO
from medbill_core.services.payments import (
    Overpayment,
    apply_credit,
    record_payment,
    refund_credit,
    reverse_payment,
)
from medbill_core.services.receivables import (
    BUCKETS,
    NO_PAYER,
    AgingReport,
    FollowUpAction,
    age_bucket,
    aging,
    followup,
    patient_aging,
    remittance_exceptions,
)
from medbill_core.services.remittance import post_remittance
from medbill_core.storage.schema import (
    ClaimTransitionRow,
    LedgerEntryRow,
    PaymentRow,
    RemittanceExceptionRow,
)
from medbill_core.testing import factories
from medbill_core.testing.submission_dates import date_submissions

D = Decimal
S = ClaimState
TODAY = date.today()
_numbers = itertools.count(1)
_traces = itertools.count(1)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


# -- helpers: data posted through the real services --------------------------------------------

def new_patient(work: Any, *coverages: tuple[str, CoverageOrder]) -> tuple[int, list[int]]:
    """(patient id, coverage ids) of a new patient covered by ``(payer key, order)``."""
    n = next(_numbers)
    patient = work.patients.register(factories.make_patient(n))
    ids = [work.patients.add_coverage(patient.id, factories.make_coverage(
        payer_key=payer, order=order, member_id=f"MEMBER{n:05d}{order.value}")).id
        for payer, order in coverages]
    return patient.id, ids


def new_claim(app: Medbill, *, payer: str | None = "acme", charges: tuple[str, ...] = ("100.00",),
              service: date, submitted: date | None = None, accepted: bool = True,
              secondary: str | None = None, patient_id: int | None = None) -> int:
    """A claim (self-pay when ``payer`` is None) for a new patient, sent on ``submitted``."""
    with app.unit_of_work() as work:
        coverage_id = None
        if payer is not None:
            wanted = [(payer, CoverageOrder.PRIMARY)]
            if secondary:
                wanted.append((secondary, CoverageOrder.SECONDARY))
            patient_id, ids = new_patient(work, *wanted)
            coverage_id = ids[0]
        elif patient_id is None:
            patient_id, _ = new_patient(work)
        number = f"R{next(_numbers):06d}"
        claim = factories.make_claim(patient_id, coverage_id=coverage_id, payer_key=payer,
                                     number=number, service_date=service)
        claim = claim.model_copy(update={"lines": [
            factories.make_line(i, service_date=service, charge=D(charge),
                                procedure_code="99213" if i == 1 else "36415")
            for i, charge in enumerate(charges, start=1)]})
        claim_id = work.claims.create(claim).id
    if submitted is not None:
        submit(app, claim_id, submitted, accepted=accepted)
    return claim_id


def submit(app: Medbill, claim_id: int, on: date, *, accepted: bool = True) -> None:
    """Send a claim and date its latest transition to ``submitted`` on ``on``."""
    with app.unit_of_work() as work:
        if work.claims.get(claim_id).state is S.DRAFT:
            work.claims.transition(claim_id, S.VALIDATED)
        work.claims.transition(claim_id, S.SUBMITTED)
        if accepted:
            work.claims.transition(claim_id, S.ACCEPTED)
        date_submissions(work.session, claim_id, datetime(on.year, on.month, on.day, 12,
                                                          tzinfo=UTC), latest_only=True)


def claim_number(app: Medbill, claim_id: int) -> str:
    with app.unit_of_work() as work:
        return work.claims.get(claim_id).claim_number


def remit(app: Medbill, number: str, *, paid: str, co: str = "0", pr: str = "0",
          on: date, status: ClaimStatusCode = ClaimStatusCode.PRIMARY,
          co_code: str = "45", charge: str | None = None) -> Any:
    """An 835 answering ``number``; its CLP03 is what it accounts for (paid + co + pr: an
    835 claim payment balances) unless ``charge``: the rest of the claim's charge stays
    owed by the payer."""
    if charge is None:
        charge = str(D(paid) + D(co) + D(pr))
    adjustments = []
    if D(co):
        adjustments.append(Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code=co_code,
                                      amount=D(co)))
    if D(pr):
        adjustments.append(Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                      reason_code="2", amount=D(pr)))
    trace = f"TRN{next(_traces):05d}"
    remittance = Remittance(trace_number=trace, payment_amount=D(paid), payer_name="Payer",
                            payer_id="PAYER1", payee_name="Clinic", payment_date=on,
                            claims=[ClaimPayment(claim_number=number, status=status,
                                                 charge=D(charge), paid=D(paid),
                                                 adjustments=adjustments)])
    with app.unit_of_work() as work:
        return post_remittance(work, remittance)


def pay(app: Medbill, patient_id: int, amount: str, on: date,
        overpayment: Overpayment | None = None) -> None:
    with app.unit_of_work() as work:
        record_payment(work, Payment(patient_id=patient_id, amount=D(amount),
                                     method=PaymentMethodKind.CHECK, reference="501",
                                     received_on=on), overpayment=overpayment,
                       confirmed_date=True)  # the generated days span years around today


def patient_of(app: Medbill, claim_id: int) -> int:
    with app.unit_of_work() as work:
        return work.claims.get(claim_id).patient_id


def buckets(*amounts: str) -> dict[str, Decimal]:
    return dict(zip(BUCKETS, (D(a) for a in amounts), strict=True))


def assert_matches_ledger(app: Medbill, as_of: date) -> AgingReport:
    """The report's totals are the balances of the ledger as of ``as_of`` (entries effective
    on or before it), to the cent."""
    with app.unit_of_work() as work:
        report = aging(work, as_of=as_of)
        per_patient = patient_aging(work, as_of=as_of)
        totals = work.ledger.totals(as_of=as_of)
        by_payer = {k: v for k, v in
                    work.ledger.insurance_balance_by_payer(as_of=as_of).items() if v}
        patient_ids = sorted(set(work.session.scalars(select(LedgerEntryRow.patient_id))))
        by_patient = {work.patients.get(i).account_number:
                      work.ledger.patient_balance(i, as_of=as_of).patient for i in patient_ids}
        # the same, summed here from the raw entries (independent of the ledger's queries)
        dated = [(e.insurance_delta, e.patient_delta)
                 for e in work.session.scalars(select(LedgerEntryRow))
                 if e.effective_date <= as_of]
    assert (totals.balance.insurance, totals.balance.patient) == (
        sum((i for i, _ in dated), ZERO), sum((p for _, p in dated), ZERO))
    assert report.insurance_total.total == totals.balance.insurance
    assert report.patient.total == totals.balance.patient
    assert report.total.total == totals.balance.total
    # entries without a payer key (not in insurance_balance_by_payer) have their own line
    assert {line.label: line.total for line in report.insurance
            if line.total and line.label != NO_PAYER} == by_payer
    assert {line.label: line.total for line in per_patient.patients if line.total} == \
        {number: amount for number, amount in by_patient.items() if amount}
    assert per_patient.total.total == report.patient.total
    for line in [*report.insurance, report.patient, *per_patient.patients]:
        assert line.credit <= ZERO and all(a >= ZERO for a in line.buckets.values())
        assert isinstance(line.total, Decimal)
        assert line.total == sum(line.buckets.values(), ZERO) + line.credit
    return report


# -- buckets -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("days", "bucket"), [
    (-3, "0-30"), (0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
    (90, "61-90"), (91, "91-120"), (120, "91-120"), (121, "121+"), (4000, "121+")])
def test_age_buckets(days: int, bucket: str) -> None:
    assert age_bucket(days) == bucket


# -- aging -------------------------------------------------------------------------------------

@pytest.fixture
def book(medbill_app: Medbill) -> dict[str, int]:
    """Seven accounts covering every bucket and both kinds of credit."""
    app = medbill_app
    claims = {
        # acme, sent 130 days ago: 121+
        "old": new_claim(app, service=ago(200), submitted=ago(130)),
        # acme, sent 30 days ago: 0-30 today, 31-60 tomorrow
        "edge": new_claim(app, charges=("125.00", "75.00"), service=ago(40), submitted=ago(30)),
        # bluecross, never sent: aged from its service date (70 days)
        "unsent": new_claim(app, payer="bluecross", charges=("125.00", "18.50"),
                            service=ago(70)),
        # acme paid 60, adjusted 20, 20 to the patient on a remittance 50 days ago
        "split": new_claim(app, service=ago(100), submitted=ago(95)),
        # self-pay, 91 days ago
        "selfpay": new_claim(app, payer=None, charges=("80.00",), service=ago(91)),
        # self-pay 50.00 paid with 70.00: a 20.00 credit on the patient's account
        "overpaid": new_claim(app, payer=None, charges=("50.00",), service=ago(10)),
        # acme paid the 100.00 claim, then 10.00 more on a second remittance: a 10.00
        # insurance credit (one claim payment larger than the charge is an exception)
        "payer_over": new_claim(app, service=ago(20), submitted=ago(18)),
    }
    remit(app, claim_number(app, claims["split"]), paid="60.00", co="20.00", pr="20.00",
          on=ago(50))
    pay(app, patient_of(app, claims["overpaid"]), "70.00", ago(5), Overpayment.CREDIT)
    remit(app, claim_number(app, claims["payer_over"]), paid="100.00", on=ago(3))
    remit(app, claim_number(app, claims["payer_over"]), paid="10.00", on=ago(3))
    return claims


def test_aging_by_payer_and_patient_with_concrete_buckets(medbill_app: Medbill,
                                                          book: dict[str, int]) -> None:
    with medbill_app.unit_of_work() as work:
        report = aging(work)
    assert report.as_of == TODAY
    acme, bluecross = report.insurance
    assert (acme.label, acme.buckets, acme.credit, acme.total) == (
        "acme", buckets("200.00", "0", "0", "0", "100.00"), D("-10.00"), D("290.00"))
    assert (bluecross.label, bluecross.buckets, bluecross.credit, bluecross.total) == (
        "bluecross", buckets("0", "0", "143.50", "0", "0"), ZERO, D("143.50"))
    assert report.patient.buckets == buckets("0", "20.00", "0", "80.00", "0")
    assert (report.patient.credit, report.patient.total) == (D("-20.00"), D("80.00"))
    assert report.insurance_total.buckets == buckets("200.00", "0", "143.50", "0", "100.00")
    assert (report.insurance_total.credit, report.insurance_total.total) == (
        D("-10.00"), D("433.50"))
    assert (report.total.credit, report.total.total) == (D("-30.00"), D("513.50"))
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.totals().balance
    assert (balance.insurance, balance.patient) == (D("433.50"), D("80.00"))
    assert_matches_ledger(medbill_app, TODAY)


def test_aging_as_of_boundaries(medbill_app: Medbill, book: dict[str, int]) -> None:
    with medbill_app.unit_of_work() as work:
        tomorrow = aging(work, as_of=TODAY + timedelta(days=1))
        yesterday = aging(work, as_of=TODAY - timedelta(days=1))
        ten_days_ago = aging(work, as_of=TODAY - timedelta(days=10))
    # sent 30 days ago: 0-30 today (test above), 31 days tomorrow
    assert tomorrow.insurance[0].buckets == buckets("0", "200.00", "0", "0", "100.00")
    # the self-pay claim: 91 days today, 90 yesterday; the patient's 20.00: 51 / 49 days
    assert tomorrow.patient.buckets == buckets("0", "20.00", "0", "80.00", "0")
    assert yesterday.patient.buckets == buckets("0", "20.00", "80.00", "0", "0")
    # with nothing posted since yesterday, the as-of date only moves amounts between buckets
    for report in (tomorrow, yesterday):
        assert (report.insurance_total.total, report.patient.total) == (D("433.50"),
                                                                       D("80.00"))
        assert report.total.credit == D("-30.00")
    # ten days ago is the ledger of ten days ago: sent 130 days ago was 120 days old
    # (91-120), sent 30 days ago was 20; acme had not yet paid (3 days ago) "payer_over",
    # sent 8 days before, so no acme credit; the 70.00 payment (5 days ago) was not there
    # either: no patient credit, the 50.00 of "overpaid" (served that day) was owed
    [acme, bluecross] = ten_days_ago.insurance
    assert (acme.buckets, acme.credit) == (buckets("300.00", "0", "0", "100.00", "0"), ZERO)
    assert bluecross.buckets == buckets("0", "143.50", "0", "0", "0")
    assert (ten_days_ago.patient.buckets, ten_days_ago.patient.credit) == (
        buckets("50.00", "20.00", "80.00", "0", "0"), ZERO)
    assert_matches_ledger(medbill_app, TODAY - timedelta(days=10))


def test_an_aging_is_as_of_a_date_medbill_takes(medbill_app: Medbill) -> None:
    """9999-12-31's end of day, or 0001-01-01's in local time, overflowed (OverflowError)."""
    for as_of in (date(9999, 12, 31), date(1, 1, 1), date(1899, 12, 31), date(3000, 1, 1)):
        for report in (aging, patient_aging):
            with pytest.raises(ValidationFailed) as refused, \
                    medbill_app.unit_of_work(read_only=True) as work:
                report(work, as_of=as_of)
            assert refused.value.message == (
                "aging: as_of: must be a date from 1900-01-01 to 2999-12-31")
    with medbill_app.unit_of_work(read_only=True) as work:
        assert aging(work, as_of=date(2999, 12, 31)).as_of == date(2999, 12, 31)


def test_patient_aging_per_account_number(medbill_app: Medbill, book: dict[str, int]) -> None:
    with medbill_app.unit_of_work() as work:
        report = patient_aging(work)
        numbers = {name: work.patients.get(work.claims.get(claim).patient_id).account_number
                   for name, claim in book.items()}
    assert [(line.label, line.buckets, line.credit) for line in report.patients] == sorted([
        (numbers["split"], buckets("0", "20.00", "0", "0", "0"), ZERO),
        (numbers["selfpay"], buckets("0", "0", "0", "80.00", "0"), ZERO),
        (numbers["overpaid"], buckets("0", "0", "0", "0", "0"), D("-20.00")),
    ])
    assert report.total.total == D("80.00")
    data = json.dumps(report.as_json())
    assert "Testpatient" not in data and "Jordan" not in data and "1980-" not in data


def test_secondary_claims_age_on_the_primarys_account(medbill_app: Medbill) -> None:
    app = medbill_app
    primary = new_claim(app, charges=("125.00", "18.50"), service=ago(80), submitted=ago(75),
                        secondary="medicare")
    number = claim_number(app, primary)
    remit(app, number, paid="100.00", co="23.50", pr="20.00", on=ago(40), charge="143.50")
    with app.unit_of_work() as work:
        secondary = work.claims.by_number(f"{number}-S2")
        assert secondary.account_claim_id == primary and secondary.state is S.DRAFT
        report = aging(work)
    # the 20.00 moved to medicare, whose claim was never sent: aged from the service date
    assert [(line.label, line.buckets) for line in report.insurance] == [
        ("medicare", buckets("0", "0", "20.00", "0", "0"))]
    submit(app, secondary.id, ago(35))
    with app.unit_of_work() as work:
        report = aging(work)
    assert [(line.label, line.buckets) for line in report.insurance] == [
        ("medicare", buckets("0", "20.00", "0", "0", "0"))]
    remit(app, f"{number}-S2", paid="15.00", pr="5.00", on=ago(12),
          status=ClaimStatusCode.SECONDARY)
    with app.unit_of_work() as work:
        report = aging(work)
        assert work.ledger.claim_balance(secondary.id).total == ZERO  # nothing on its own id
    assert report.insurance == []
    # the patient's 5.00 dates from the secondary's transfer 12 days ago
    assert report.patient.buckets == buckets("5.00", "0", "0", "0", "0")
    assert_matches_ledger(app, TODAY)


def test_an_empty_ledger_reports_zero(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        report = aging(work, as_of=date(2026, 1, 31))
    assert report.insurance == [] and report.total.total == ZERO
    assert report.as_json() == {
        "as_of": "2026-01-31", "buckets": list(BUCKETS), "insurance": [],
        "insurance_total": {"buckets": dict.fromkeys(BUCKETS, "0.00"), "credit": "0.00",
                            "total": "0.00"},
        "patient": {"buckets": dict.fromkeys(BUCKETS, "0.00"), "credit": "0.00",
                    "total": "0.00"},
        "agency": {"buckets": dict.fromkeys(BUCKETS, "0.00"), "credit": "0.00",
                   "total": "0.00"},
        "total": {"buckets": dict.fromkeys(BUCKETS, "0.00"), "credit": "0.00",
                  "total": "0.00"}}


# -- property: whatever the real services post, the report is the ledger -----------------------

money = st.decimals(min_value=D("0.00"), max_value=D("150.00"), places=2)
remittance_op = st.tuples(st.just("remit"), st.integers(0, 3), money,
                          st.decimals(min_value=D("-20.00"), max_value=D("80.00"), places=2),
                          st.decimals(min_value=D("0.00"), max_value=D("60.00"), places=2),
                          st.integers(0, 200), st.booleans())
payment_op = st.tuples(st.just("pay"), st.integers(0, 3),
                       st.decimals(min_value=D("0.01"), max_value=D("120.00"), places=2),
                       st.sampled_from([None, Overpayment.CREDIT, Overpayment.REFUND]),
                       st.integers(0, 200))
write_off_op = st.tuples(st.just("write_off"), st.integers(0, 3),
                         st.decimals(min_value=D("0.01"), max_value=D("60.00"), places=2),
                         st.sampled_from(list(Bucket)), st.booleans())
refund_op = st.tuples(st.just("refund"), st.integers(0, 7),
                      st.decimals(min_value=D("0.01"), max_value=D("40.00"), places=2),
                      st.integers(0, 200))
reverse_op = st.tuples(st.just("reverse"), st.integers(0, 7),
                       st.one_of(st.none(), st.just(D("25.00"))), st.integers(0, 200))
apply_credit_op = st.tuples(st.just("apply_credit"), st.integers(0, 3), st.integers(0, 200))
payment_actions = (refund_op, reverse_op, apply_credit_op)
claim_spec = st.tuples(st.sampled_from(["acme", "bluecross", None, "acme+medicare"]),
                       st.lists(st.decimals(min_value=D("0.01"), max_value=D("150.00"),
                                            places=2), min_size=1, max_size=2),
                       st.integers(0, 300), st.one_of(st.none(), st.integers(0, 300)))


def make_claims(app: Medbill, specs: list[Any],
                day: Callable[[int], date]) -> tuple[list[int], list[int]]:
    """(claims, insured claims) of ``claim_spec``s, ages counted back by ``day``."""
    claims, insured = [], []
    for payer, charges, service_age, sent_age in specs:
        primary, _, secondary = (payer or "").partition("+")
        claims.append(new_claim(
            app, payer=primary or None, charges=tuple(str(c) for c in charges),
            service=day(service_age), secondary=secondary or None,
            submitted=day(min(sent_age, service_age)) if primary and sent_age is not None
            else None))
        if primary:
            insured.append(claims[-1])
    return claims, insured


def apply_operations(app: Medbill, claims: list[int], insured: list[int],
                     operations: list[Any], day: Callable[[int], date]) -> None:
    """Post the operations through the real services, dated ``day(age)`` (write-offs:
    ``day(0)``)."""
    for op in operations:
        claim_id = claims[op[1] % len(claims)]
        if op[0] == "remit":
            if not insured:
                continue
            claim_id = insured[op[1] % len(insured)]  # payers answer for their own claims
            _, _, paid, co, pr, age, to_secondary = op
            number = claim_number(app, claim_id)
            if to_secondary:  # the secondary's claim when there is one
                with app.unit_of_work() as work:
                    follow = work.claims.ids(patient_id=work.claims.get(claim_id).patient_id)
                    numbers = [work.claims.get(i).claim_number for i in follow]
                number = next((n for n in numbers if n.endswith("-S2")), number)
            remit(app, number, paid=str(paid), co=str(co), pr=str(pr), on=day(age))
        elif op[0] == "pay":
            _, _, amount, overpayment, age = op
            with suppress(LedgerError):  # more than owed and no decision: nothing written
                pay(app, patient_of(app, claim_id), str(amount), day(age), overpayment)
        elif op[0] in ("refund", "reverse"):  # of one of the payments recorded so far
            _, index, amount, age = op
            with app.unit_of_work() as work:
                ids = list(work.session.scalars(select(PaymentRow.id).order_by(PaymentRow.id)))
            if not ids:
                continue
            payment_id = ids[index % len(ids)]
            with suppress(ValidationFailed), app.unit_of_work() as work:  # beyond the credit
                if op[0] == "refund":
                    refund_credit(work, payment_id, amount, "asked", on=day(age))
                else:
                    reverse_payment(work, payment_id, "NSF", fee=amount, on=day(age))
        elif op[0] == "apply_credit":
            _, _, age = op
            with suppress(LedgerError), app.unit_of_work() as work:  # no credit, nothing owed
                apply_credit(work, patient_of(app, claim_id), on=day(age))
        else:
            _, _, amount, bucket, allow_credit = op
            # refused when it would leave a bucket negative without allow_credit; on a
            # self-pay claim an insurance write-off is an insurance entry without a payer
            with suppress(LedgerError), app.unit_of_work() as work:
                claim = work.claims.get(claim_id)
                work.ledger.post(f"wo:{claim_id}:{next(_traces)}", "test", [LedgerLine(
                    EntryKind.WRITE_OFF, amount, patient_id=claim.patient_id,
                    claim_id=claim_id, payer_key=claim.payer_key, bucket=bucket)],
                    effective_date=day(0), allow_credit=allow_credit)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(claim_spec, min_size=1, max_size=4),
       operations=st.lists(st.one_of(remittance_op, payment_op, write_off_op, *payment_actions),
                           max_size=10),
       shift=st.integers(-150, 150))
def test_report_totals_always_equal_the_ledger(medbill_app: Medbill, specs: list[Any],
                                               operations: list[Any], shift: int) -> None:
    """Random charges, remittances (payments, adjustments, transfers to the patient or the
    secondary payer, payer over-payments), patient payments (credits, refunds), refunds of
    credits, returned payments (with fees), credits applied and write-offs,
    posted through the real services; the fixture's database carries over between examples,
    which only makes the ledger the report must match bigger."""
    claims, insured = make_claims(medbill_app, specs, ago)
    apply_operations(medbill_app, claims, insured, operations, ago)
    report = assert_matches_ledger(medbill_app, TODAY + timedelta(days=shift))
    for seen, name in ((report.insurance_total.credit, "an insurance credit"),
                       (report.patient.credit, "a patient credit"),
                       (any(line.label == NO_PAYER for line in report.insurance),
                        "insurance without a payer"),
                       (any(line.label == "medicare" for line in report.insurance),
                        "a secondary payer's balance"),
                       (sum(1 for amount in report.total.buckets.values() if amount) > 2,
                        "three or more buckets")):
        if seen:
            event(name)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(claim_spec, min_size=1, max_size=3),
       operations=st.lists(st.one_of(remittance_op, payment_op, write_off_op, *payment_actions),
                           max_size=6),
       later_specs=st.lists(claim_spec, max_size=2),
       later=st.lists(st.one_of(remittance_op, payment_op, write_off_op, *payment_actions),
                      min_size=1, max_size=6),
       back=st.integers(0, 200))
def test_aging_as_of_a_day_ignores_what_is_dated_after_it(
        medbill_app: Medbill, specs: list[Any], operations: list[Any], later_specs: list[Any],
        later: list[Any], back: int) -> None:
    """A month-end report re-run later matches: the aging as of D is the ledger filtered to
    entries effective on or before D, and charges, remittances, payments, write-offs and
    submissions dated after D change nothing in it (neither amounts nor ages)."""
    app = medbill_app
    as_of = TODAY - timedelta(days=back)

    def before(age: int) -> date:  # on or before D
        return as_of - timedelta(days=age)

    def after(age: int) -> date:  # after D (ages 0-300 map to D+1 ... D+301)
        return as_of + timedelta(days=301 - age)

    claims, insured = make_claims(app, specs, before)
    apply_operations(app, claims, insured, operations, before)
    first = assert_matches_ledger(app, as_of).as_json()
    with app.unit_of_work() as work:
        first_patients = patient_aging(work, as_of=as_of).as_json()
    unsent = [claim for claim in insured if not _was_submitted(app, claim)]
    for claim in unsent:  # sent after D: still aged from the service date as of D
        submit(app, claim, after(300))
    new_claims, new_insured = make_claims(app, later_specs, after)
    apply_operations(app, claims + new_claims, insured + new_insured, later, after)
    assert assert_matches_ledger(app, as_of).as_json() == first
    with app.unit_of_work() as work:
        assert patient_aging(work, as_of=as_of).as_json() == first_patients


def _was_submitted(app: Medbill, claim_id: int) -> bool:
    with app.unit_of_work() as work:
        return work.session.scalar(select(ClaimTransitionRow.id).where(
            ClaimTransitionRow.claim_id == claim_id,
            ClaimTransitionRow.target == "submitted").limit(1)) is not None


# -- the follow-up work list -------------------------------------------------------------------

@pytest.fixture
def worklist(medbill_app: Medbill) -> dict[str, int]:
    app = medbill_app
    claims = {
        # acme (365 days): pending 290 days, deadline in 65 days
        "pending_old": new_claim(app, service=ago(300), submitted=ago(290)),
        # bluecross (180 days): pending 140 days, deadline in 30 days
        "pending_blue": new_claim(app, payer="bluecross", service=ago(150),
                                  submitted=ago(140), accepted=False),
        # acme: pending 15 days only
        "pending_new": new_claim(app, service=ago(20), submitted=ago(15)),
        # acme: denied; deadline in 265 days, sent 90 days ago
        "denied": new_claim(app, service=ago(100), submitted=ago(90)),
        # acme: pending, same deadline as the denial but sent 95 days ago
        "pending_tie": new_claim(app, service=ago(100), submitted=ago(95)),
        # medicare (365): paid 40 of 100, 50 still owed; deadline in 305 days
        "partial": new_claim(app, payer="medicare", service=ago(60), submitted=ago(55)),
        # bluecross: rejected; deadline in 10 days
        "rejected": new_claim(app, payer="bluecross", service=ago(170), submitted=ago(160),
                              accepted=False),
        # acme: paid in full, nothing to do
        "paid": new_claim(app, service=ago(50), submitted=ago(45)),
        # acme: rejected 200 days ago, fixed and sent again 5 days ago
        "resent": new_claim(app, service=ago(210), submitted=ago(200), accepted=False),
    }
    remit(app, claim_number(app, claims["denied"]), paid="0.00", co="100.00", co_code="50",
          status=ClaimStatusCode.DENIED, on=ago(60))
    remit(app, claim_number(app, claims["partial"]), paid="40.00", co="10.00", on=ago(20))
    remit(app, claim_number(app, claims["paid"]), paid="80.00", co="20.00", on=ago(10))
    with app.unit_of_work() as work:
        work.claims.transition(claims["rejected"], S.REJECTED, reason="277CA A7")
        work.claims.transition(claims["resent"], S.REJECTED, reason="999 R")
        work.claims.transition(claims["resent"], S.DRAFT, reason="reopened")
    submit(app, claims["resent"], ago(5))
    return claims


def test_followup_actions_fields_and_urgency(medbill_app: Medbill,
                                             worklist: dict[str, int]) -> None:
    with medbill_app.unit_of_work() as work:
        items = followup(work)
        states = {name: work.claims.get(claim).state for name, claim in worklist.items()}
    assert states["denied"] is S.DENIED and states["partial"] is S.PARTIALLY_PAID
    assert states["paid"] is S.CLOSED
    names = {claim: name for name, claim in worklist.items()}
    assert [(names[i.claim_id], i.action, i.days_left, i.days_since_submission)
            for i in items] == [
        ("rejected", FollowUpAction.RESUBMIT, 10, 160),
        ("pending_blue", FollowUpAction.STATUS_INQUIRY, 30, 140),
        ("pending_old", FollowUpAction.STATUS_INQUIRY, 65, 290),
        # a denial's deadline is its appeal deadline (answered 60 days ago + 180 appeal days),
        # the one rule `appeals open` uses too (issue 10 item 13)
        ("denied", FollowUpAction.APPEAL, 120, 90),
        ("pending_tie", FollowUpAction.STATUS_INQUIRY, 265, 95),
        ("partial", FollowUpAction.UNDERPAYMENT, 305, 55),
    ]
    denied = items[3]
    assert denied.carc_codes == ("CO-50",)
    # the denied 100.00 stays open insurance A/R until someone works it (issue 10 item 3)
    assert (denied.payer_key, denied.state, denied.charge, denied.insurance_balance) == (
        "acme", S.DENIED, D("100.00"), D("100.00"))
    assert (denied.service_date, denied.submitted_on, denied.filing_deadline) == (
        ago(100), ago(90), ago(60) + timedelta(days=180))
    partial = items[5]
    assert (partial.payer_key, partial.charge, partial.insurance_balance, partial.carc_codes) \
        == ("medicare", D("100.00"), D("50.00"), ())
    blue = items[1]
    assert blue.as_json() == {
        "claim_id": worklist["pending_blue"],
        "claim_number": claim_number(medbill_app, worklist["pending_blue"]),
        "payer": "bluecross", "state": "submitted", "service_date": ago(150).isoformat(),
        "charge": "100.00", "insurance_balance": "100.00",
        "submitted_on": ago(140).isoformat(), "days_since_submission": 140,
        "filing_deadline": (ago(150) + timedelta(days=180)).isoformat(), "days_left": 30,
        "deadline_kind": "timely filing", "action": "status inquiry (276)", "carc_codes": [],
        "meanings": []}


def test_followup_threshold_as_of_and_payer(medbill_app: Medbill,
                                            worklist: dict[str, int]) -> None:
    names = {claim: name for name, claim in worklist.items()}
    with medbill_app.unit_of_work() as work:
        # the threshold is "more than": 15 days is not more than 15, 5 days is more than 4
        at_15 = {names[i.claim_id] for i in followup(work, older_than=15)}
        at_14 = {names[i.claim_id]: i.days_since_submission
                 for i in followup(work, older_than=14)}
        at_4 = {names[i.claim_id]: i.days_since_submission
                for i in followup(work, older_than=4)}
        blue = followup(work, payer_key="bluecross")
        later = followup(work, as_of=TODAY + timedelta(days=20), payer_key="bluecross")
        with pytest.raises(UnknownPayer, match="payer 'nope' is not configured"):
            followup(work, payer_key="nope")
    assert "pending_new" not in at_15 and at_14["pending_new"] == 15
    assert at_4["resent"] == 5  # days since the latest submission, not the first
    assert [names[i.claim_id] for i in blue] == ["rejected", "pending_blue"]
    assert [(names[i.claim_id], i.days_left, i.days_since_submission) for i in later] == [
        ("rejected", -10, 180), ("pending_blue", 10, 160)]


# -- remittance exceptions ---------------------------------------------------------------------

def test_remittance_exceptions_list_what_matched_no_claim(medbill_app: Medbill) -> None:
    first = remit(medbill_app, "PAYER-SAYS-77", paid="45.10", on=ago(2))
    second = remit(medbill_app, "UNKNOWN-2", paid="0.00", on=ago(1))
    assert first.unmatched == ["PAYER-SAYS-77"] and second.unmatched == ["UNKNOWN-2"]
    with medbill_app.unit_of_work() as work:
        items = remittance_exceptions(work)
    assert [(i.trace_number, i.claim_number, i.paid, i.reason, i.resolved) for i in items] == [
        (first.trace_number, "PAYER-SAYS-77", D("45.10"), "claim number not found", False),
        (second.trace_number, "UNKNOWN-2", D("0.00"), "claim number not found", False)]
    assert items[0].received_on == TODAY
    with medbill_app.unit_of_work() as work:
        work.session.execute(update(RemittanceExceptionRow).where(
            RemittanceExceptionRow.id == items[0].id).values(resolved=True))
    with medbill_app.unit_of_work() as work:
        open_items = remittance_exceptions(work)
        every = remittance_exceptions(work, include_resolved=True)
        ledger = work.ledger.totals().balance
    assert [i.claim_number for i in open_items] == ["UNKNOWN-2"]
    assert [(i.claim_number, i.resolved) for i in every] == [("PAYER-SAYS-77", True),
                                                              ("UNKNOWN-2", False)]
    assert (ledger.insurance, ledger.patient) == (ZERO, ZERO)  # nothing was posted


# -- the command line --------------------------------------------------------------------------


def table_rows(text: str, border: str = "│") -> list[list[str]]:
    """The cells of each body row (or, with border "┃", the header) of a rich table."""
    return [[cell.strip() for cell in line.strip().strip(border).split(border)]
            for line in text.splitlines() if line.strip().startswith(border)]


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a 160-column terminal shows them (CliRunner's output is no terminal: 80)."""
    monkeypatch.setattr(common.console, "_width", 160)


@pytest.fixture
def ar_config(cli_isolation: None, tmp_path: Path) -> Path:
    """A SQLite instance with an acme claim sent 45 days ago (60.00 left at acme), a denied
    bluecross claim, 15.00 for the patient, a self-pay claim and an unmatched remittance."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", extra=BLUECROSS),
                    encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        sent = new_claim(app, charges=("125.00", "18.50"), service=ago(50), submitted=ago(45))
        # the 835 answers 83.50 of the 143.50 charged (it balances): 60.00 stays at acme
        remit(app, claim_number(app, sent), paid="50.00", co="18.50", pr="15.00", on=ago(20))
        denied = new_claim(app, payer="bluecross", service=ago(100), submitted=ago(92))
        remit(app, claim_number(app, denied), paid="0.00", co="100.00", co_code="97",
              status=ClaimStatusCode.DENIED, on=ago(70))
        new_claim(app, payer=None, charges=("40.00",), service=ago(65))
        remit(app, "NOT-OURS-1", paid="12.00", on=ago(1))
    finally:
        app.close()
    return path


def test_cli_aging_json_and_table(ar_config: Path, wide: None) -> None:
    data = json.loads(ok(ar_config, "ar", "aging", "--json").stdout)
    assert data["as_of"] == TODAY.isoformat() and data["buckets"] == list(BUCKETS)
    # the denied bluecross claim (CO-97, held for review) stays open A/R, aged from its
    # submission 92 days ago (issue 10 item 3)
    assert [(row["payer"], row["buckets"], row["credit"], row["total"])
            for row in data["insurance"]] == [
        ("acme", {"0-30": "0.00", "31-60": "60.00", "61-90": "0.00", "91-120": "0.00",
                  "121+": "0.00"}, "0.00", "60.00"),
        ("bluecross", {"0-30": "0.00", "31-60": "0.00", "61-90": "0.00", "91-120": "100.00",
                       "121+": "0.00"}, "0.00", "100.00")]
    assert data["patient"]["buckets"] == {"0-30": "15.00", "31-60": "0.00",
                                          "61-90": "40.00", "91-120": "0.00", "121+": "0.00"}
    assert (data["insurance_total"]["total"], data["patient"]["total"],
            data["total"]["total"]) == ("160.00", "55.00", "215.00")
    later = json.loads(ok(ar_config, "ar", "aging", "--as-of",
                          (TODAY + timedelta(days=16)).isoformat(), "--json").stdout)
    assert later["insurance"][0]["buckets"]["61-90"] == "60.00"  # 61 days since sent
    assert later["patient"]["buckets"]["31-60"] == "15.00"  # 36 days since transferred
    table = ok(ar_config, "ar", "aging").stdout
    assert f"A/R aging as of {TODAY}" in table
    assert table_rows(table, "┃") == [["", "0-30", "31-60", "61-90", "91-120", "121+",
                                       "credit", "total"]]
    assert table_rows(table) == [
        ["acme", "0.00", "60.00", "0.00", "0.00", "0.00", "0.00", "60.00"],
        ["bluecross", "0.00", "0.00", "0.00", "100.00", "0.00", "0.00", "100.00"],
        ["insurance", "0.00", "60.00", "0.00", "100.00", "0.00", "0.00", "160.00"],
        ["patient", "15.00", "0.00", "40.00", "0.00", "0.00", "0.00", "55.00"],
        ["total", "15.00", "60.00", "40.00", "100.00", "0.00", "0.00", "215.00"]]


def test_cli_aging_by_patient_names_accounts_only(ar_config: Path, wide: None) -> None:
    data = json.loads(ok(ar_config, "ar", "aging", "--by", "patient", "--json").stdout)
    rows = [(row["account_number"], row["buckets"]["0-30"], row["buckets"]["61-90"],
             row["total"]) for row in data["patients"]]
    assert len(rows) == 2
    assert sorted(row[1:] for row in rows) == [("0.00", "40.00", "40.00"),
                                               ("15.00", "0.00", "15.00")]
    assert all(row[0].startswith("A") for row in rows)
    assert data["total"]["total"] == "55.00"
    table = ok(ar_config, "ar", "aging", "--by", "patient").stdout
    for output in (json.dumps(data), table):
        assert "Testpatient" not in output and "Jordan" not in output
        assert "1980-" not in output and "MEMBER" not in output  # no DOB, no member ID
    assert sorted(table_rows(table)) == sorted([
        [rows[0][0], rows[0][1], "0.00", rows[0][2], "0.00", "0.00", "0.00", rows[0][3]],
        [rows[1][0], rows[1][1], "0.00", rows[1][2], "0.00", "0.00", "0.00", rows[1][3]],
        ["total", "15.00", "0.00", "40.00", "0.00", "0.00", "0.00", "55.00"]])


def test_cli_followup(ar_config: Path, wide: None) -> None:
    items = json.loads(ok(ar_config, "ar", "followup", "--json").stdout)
    assert [(i["payer"], i["state"], i["action"], i["carc_codes"], i["days_left"],
             i["insurance_balance"]) for i in items] == [
        # the appeal deadline (answered 70 days ago + 180) and the denial still owed
        ("bluecross", "denied", "appeal or correct", ["CO-97"], 110, "100.00"),
        ("acme", "partially_paid", "review underpayment", [], 315, "60.00")]
    assert items[0]["days_since_submission"] == 92 and items[1]["charge"] == "143.50"
    only_acme = json.loads(ok(ar_config, "ar", "followup", "--payer", "acme", "--json").stdout)
    assert [i["payer"] for i in only_acme] == ["acme"]
    as_of = json.loads(ok(ar_config, "ar", "followup", "--as-of",
                          (TODAY + timedelta(days=100)).isoformat(), "--json").stdout)
    assert [i["days_left"] for i in as_of] == [10, 215]
    table = ok(ar_config, "ar", "followup", "--older-than", "60").stdout
    assert f"2 claims to follow up as of {TODAY}" in table
    assert table_rows(table) == [
        [items[0]["claim_number"], "bluecross", "denied", "100.00", "100.00", "92",
         (ago(70) + timedelta(days=180)).isoformat(), "110",
         "appeal or correct (CO-97 The benefit for this service is included in the "
         "payment/allowance for another service/procedure that has already been adjudicated)"],
        [items[1]["claim_number"], "acme", "partially_paid", "143.50", "60.00", "45",
         (ago(50) + timedelta(days=365)).isoformat(), "315", "review underpayment"]]
    assert items[0]["claim_id"] != items[1]["claim_id"]
    # --limit: the most urgent only (JSON as the table), the title counts them all
    assert json.loads(ok(ar_config, "ar", "followup", "--limit", "1", "--json").stdout) \
        == items[:1]
    first = ok(ar_config, "ar", "followup", "--limit", "1").stdout
    assert f"1 of 2 claims to follow up as of {TODAY}" in first
    assert [row[0] for row in table_rows(first)] == [items[0]["claim_number"]]
    assert "--limit" in one_line_error(cli(ar_config, "ar", "followup", "--limit", "0"), 2)


def test_cli_exceptions(ar_config: Path, wide: None) -> None:
    items = json.loads(ok(ar_config, "ar", "exceptions", "--json").stdout)
    assert [(i["claim_number"], i["paid"], i["reason"], i["resolved"]) for i in items] == [
        ("NOT-OURS-1", "12.00", "claim number not found", False)]
    assert items[0]["trace_number"].startswith("TRN")
    table = ok(ar_config, "ar", "exceptions").stdout
    assert "1 remittance exceptions" in table
    assert table_rows(table) == [[str(items[0]["id"]), TODAY.isoformat(),
                                  items[0]["trace_number"], "NOT-OURS-1", "12.00",
                                  "claim number not found"]]


def test_cli_tables_on_a_narrow_terminal_lose_nothing(ar_config: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """At 80 columns cells wrap or fold but no value is cut off with an ellipsis."""
    narrow_terminal(monkeypatch, 80)
    for args in (("aging",), ("aging", "--by", "patient"), ("followup",), ("exceptions",)):
        table = ok(ar_config, "ar", *args).stdout
        assert "…" not in table
        assert max(len(line) for line in table.splitlines()) <= 80


@pytest.mark.parametrize(("args", "message"), [
    (("aging", "--as-of", "2026-13-01"),
     "error: --as-of must be a date as YYYY-MM-DD"),
    (("aging", "--by", "patient", "--as-of", "yesterday"),
     "error: --as-of must be a date as YYYY-MM-DD"),
    (("followup", "--as-of", "31/01/2026"),
     "error: --as-of must be a date as YYYY-MM-DD"),
    (("followup", "--payer", "nope"),
     "error: --payer: 'nope' is not a configured payer (configured: acme, bluecross, medicare)"),
])
def test_cli_bad_options_are_one_line(ar_config: Path, args: tuple[str, ...],
                                      message: str) -> None:
    assert one_line_error(cli(ar_config, "ar", *args), 2) == message


def test_cli_ar_is_registered(ar_config: Path) -> None:
    help_text = ok(ar_config, "ar", "--help").stdout
    assert "aging" in help_text and "followup" in help_text and "exceptions" in help_text


def test_followup_and_appeals_name_the_same_denial_codes(medbill_app: Medbill) -> None:
    """One rule (posting_rules.denial_codes): a denial's patient share (PR-2) is not a reason
    the payer refused to pay, in the work list as in the appeal (the work list listed it)."""
    from medbill_core.services.appeals import open_appeal

    claim_id = new_claim(medbill_app, service=ago(40), submitted=ago(35))
    remit(medbill_app, claim_number(medbill_app, claim_id), paid="0.00", co="80.00",
          co_code="50", pr="20.00", status=ClaimStatusCode.DENIED, on=ago(30))
    with medbill_app.unit_of_work() as work:
        [item] = [i for i in followup(work) if i.claim_id == claim_id]
        appeal = open_appeal(work, claim_id, "medically necessary")
    assert item.carc_codes == appeal.denial_codes == ("CO-50",)

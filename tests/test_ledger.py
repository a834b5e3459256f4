"""The ledger on SQLite and PostgreSQL: postings, balances, idempotency and the invariant."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from medbill_core import ledger_balances
from medbill_core.errors import LedgerError
from medbill_core.ledger import Bucket, EntryKind, Ledger, LedgerLine
from medbill_core.money import ZERO
from medbill_core.storage.schema import AuditEventRow, LedgerEntryRow
from medbill_core.testing.factories import make_claim, make_coverage, make_patient

D = Decimal
_numbers = itertools.count(1)


def new_claim(app, lines: int = 2, self_pay: bool = False) -> tuple[int, int]:
    """(patient id, claim id) of a fresh claim charged 125.00 + 18.50 per extra line."""
    n = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(make_patient(n))
        coverage_id = None
        if not self_pay:
            coverage_id = work.patients.add_coverage(patient.id, make_coverage()).id
        claim = work.claims.create(make_claim(patient.id, coverage_id=coverage_id,
                                              number=f"L{n:06d}", lines=lines))
        return patient.id, claim.id


def post(app, key: str, *lines: LedgerLine, allow_credit: bool = False):
    with app.unit_of_work() as work:
        return work.ledger.post(key, "test", list(lines),
                                effective_date=make_claim().service_date_from,
                                allow_credit=allow_credit)


def test_claim_charges_post_to_insurance_or_patient(medbill_app) -> None:
    _, insured = new_claim(medbill_app)
    _, self_pay = new_claim(medbill_app, self_pay=True)
    with medbill_app.unit_of_work() as work:
        assert work.ledger.claim_balance(insured).insurance == D("143.50")
        assert work.ledger.claim_balance(insured).patient == ZERO
        assert work.ledger.claim_balance(self_pay).patient == D("143.50")
        assert work.ledger.claim_balance(self_pay).insurance == ZERO
        assert work.ledger.claim_balance(999999).total == ZERO


def test_remittance_style_posting_moves_money_between_buckets(medbill_app) -> None:
    patient, claim = new_claim(medbill_app)
    line = dict(patient_id=patient, claim_id=claim, payer_key="acme")
    result = post(medbill_app, "835:TRN1:L1",
                  LedgerLine(EntryKind.PAYER_PAYMENT, D("80.00"), **line),
                  LedgerLine(EntryKind.CONTRACTUAL_ADJUSTMENT, D("33.50"), reason_code="CO45",
                             **line),
                  LedgerLine(EntryKind.TRANSFER_TO_PATIENT, D("30.00"), reason_code="PR2",
                             **line))
    assert result.created and result.entries == 3
    post(medbill_app, "pay:1", LedgerLine(EntryKind.PATIENT_PAYMENT, D("30.00"),
                                          patient_id=patient, claim_id=claim))
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(claim_id=claim)
        assert totals.charges == D("143.50")
        assert totals.payments == D("110.00")
        assert totals.adjustments == D("33.50")
        assert totals.balance.total == ZERO
        assert totals.is_balanced()
        assert work.ledger.insurance_balance_by_payer()["acme"] >= ZERO


def test_posting_the_same_key_twice_posts_once(medbill_app) -> None:
    patient, claim = new_claim(medbill_app)
    line = LedgerLine(EntryKind.PAYER_PAYMENT, D("50.00"), patient_id=patient, claim_id=claim,
                      payer_key="acme")
    first = post(medbill_app, "835:TRN-X:claim", line)
    second = post(medbill_app, "835:TRN-X:claim", line)
    assert first.created and not second.created
    assert first.posting_id == second.posting_id
    with medbill_app.unit_of_work() as work:
        assert work.ledger.claim_balance(claim).insurance == D("93.50")
        count = work.session.scalar(select(func.count()).select_from(LedgerEntryRow)
                                    .where(LedgerEntryRow.claim_id == claim))
        assert count == 3  # two charge lines + one payment


def test_overpayment_is_refused_unless_declared_a_credit(medbill_app) -> None:
    patient, claim = new_claim(medbill_app)
    too_much = LedgerLine(EntryKind.PAYER_PAYMENT, D("200.00"), patient_id=patient,
                          claim_id=claim, payer_key="acme")
    with pytest.raises(LedgerError, match=f"claim {claim} insurance balance would be -56.50"):
        post(medbill_app, "over", too_much)
    with medbill_app.unit_of_work() as work:  # nothing half-written
        assert work.ledger.claim_balance(claim).insurance == D("143.50")
    post(medbill_app, "over", too_much, allow_credit=True)
    post(medbill_app, "refund-1", LedgerLine(EntryKind.REFUND, D("56.50"), patient_id=patient,
                                             claim_id=claim, payer_key="acme",
                                             bucket=Bucket.INSURANCE))
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(claim_id=claim)
        assert totals.balance.total == ZERO and totals.is_balanced()


@pytest.mark.parametrize(("kind", "amount", "message"), [
    (EntryKind.PATIENT_PAYMENT, D("-5.00"), "patient_payment must be positive"),
    (EntryKind.FINANCING_FEE, D("-5.00"), "financing_fee must be positive"),
    (EntryKind.PAYER_PAYMENT, D("0.00"), "a payer_payment of 0.00"),
    (EntryKind.WRITE_OFF, D("5.00"), "must say which bucket"),
])
def test_bad_entries_are_refused(medbill_app, kind, amount, message) -> None:
    patient, claim = new_claim(medbill_app)
    with pytest.raises(LedgerError, match=message):
        post(medbill_app, f"bad-{kind}", LedgerLine(kind, amount, patient_id=patient,
                                                   claim_id=claim))


def test_unapplied_patient_payment_needs_a_balance(medbill_app) -> None:
    patient, _ = new_claim(medbill_app, self_pay=True)
    with pytest.raises(LedgerError, match=f"patient {patient} balance would be -6.50"):
        post(medbill_app, "cash-1", LedgerLine(EntryKind.PATIENT_PAYMENT, D("150.00"),
                                               patient_id=patient))
    post(medbill_app, "cash-1", LedgerLine(EntryKind.PATIENT_PAYMENT, D("143.50"),
                                           patient_id=patient))
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).total == ZERO


def test_every_posting_is_audited(medbill_app) -> None:
    patient, claim = new_claim(medbill_app)
    result = post(medbill_app, "audited", LedgerLine(EntryKind.PAYER_PAYMENT, D("1.00"),
                                                     patient_id=patient, claim_id=claim))
    with medbill_app.unit_of_work() as work:
        events = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "ledger.post",
            AuditEventRow.entity_id == str(result.posting_id))).all()
        assert len(events) == 1
        assert events[0].details == {"key": "audited", "source": "test", "entries": 1}
        assert events[0].actor == "tester"


# -- property: the invariant holds whatever is posted ------------------------------------------

amounts = st.decimals(min_value=D("-50.00"), max_value=D("200.00"), places=2).filter(
    lambda d: d != 0)
positive = st.decimals(min_value=D("0.01"), max_value=D("200.00"), places=2)
operation = st.one_of(
    st.tuples(st.sampled_from([EntryKind.PAYER_PAYMENT, EntryKind.CONTRACTUAL_ADJUSTMENT,
                               EntryKind.TRANSFER_TO_PATIENT]), amounts, st.none()),
    st.tuples(st.sampled_from([EntryKind.PATIENT_PAYMENT, EntryKind.FINANCING_FEE]), positive,
              st.none()),
    st.tuples(st.sampled_from([EntryKind.WRITE_OFF, EntryKind.REFUND]), positive,
              st.sampled_from([Bucket.INSURANCE, Bucket.PATIENT])),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(st.tuples(operation, st.booleans()), min_size=1, max_size=12))
def test_invariant_charges_equal_payments_adjustments_and_balance(medbill_app,
                                                                  operations) -> None:
    patient, claim = new_claim(medbill_app, lines=3)
    insurance, patient_side = D("162.00"), ZERO  # model of the expected balances
    for index, ((kind, amount, bucket), allow_credit) in enumerate(operations):
        line = LedgerLine(kind, amount, patient_id=patient, claim_id=claim, payer_key="acme",
                          bucket=bucket)
        ins_delta, pat_delta = line.deltas()
        would_be_negative = insurance + ins_delta < 0 or patient_side + pat_delta < 0
        try:
            post(medbill_app, f"prop:{claim}:{index}", line, allow_credit=allow_credit)
        except LedgerError:
            assert would_be_negative and not allow_credit
            continue
        insurance += ins_delta
        patient_side += pat_delta
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(claim_id=claim)
        ledger = Ledger(work.session, actor="check")
        balance = ledger.claim_balance(claim)
        kept_wrong = ledger_balances.mismatches(work.session)
    assert kept_wrong == []  # the accounts' kept sums are the entries' sums
    assert totals.is_balanced()
    assert totals.charges == totals.payments + totals.adjustments + totals.balance.total
    assert (balance.insurance, balance.patient) == (insurance, patient_side)

"""The remittance register: every 835 recorded with its payment, reconciled with what posting
it did (BPR02 = CLP04 of every claim payment - PLB amounts), listed, shown, and its
exceptions resolved; through the services on both databases and through ``medbill remit``."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from cli_support import BLUECROSS, cli, config_text, ok, one_line_error
from sqlalchemy import delete, func, select, text

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.cli import common
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    PaymentMethod,
    ProviderAdjustment,
    Remittance,
)
from medbill_core.domain.base import saved_id
from medbill_core.errors import MedbillError, NotFound, ValidationFailed
from medbill_core.services.receivables import remittance_exceptions
from medbill_core.services.remittance import post_remittance
from medbill_core.services.remittance_register import (
    RemittanceStatus,
    find_remittance,
    list_remittances,
    remittance_detail,
    resolve_exception,
)
from medbill_core.services.responses import apply_decoded
from medbill_core.storage.database import Database
from medbill_core.storage.schema import RemittanceRow
from medbill_core.testing import factories

D = Decimal
S = ClaimState
PAID_ON = date(2026, 3, 2)


# -- helpers ------------------------------------------------------------------------------------

def make_claims(app: Medbill, *numbers: str, payer: str = "acme") -> dict[str, int]:
    """Accepted two-line claims (143.50 each) of one patient per payer (each the patient's
    only coverage, primary), by claim number."""
    ids = {}
    with app.unit_of_work() as work:
        if not work.patients.list():
            work.patients.register_provider(factories.make_provider())
        number_of = {"acme": 1, "medicare": 2, "bluecross": 3}[payer]
        try:
            patient_id = work.patients.by_account(
                factories.make_patient(number_of).account_number).id
        except NotFound:
            patient_id = saved_id(work.patients.register(factories.make_patient(number_of)))
        coverage = next((c for c in work.patients.coverages(patient_id)
                         if c.payer_key == payer), None)
        if coverage is None:
            coverage = work.patients.add_coverage(patient_id,
                                                  factories.make_coverage(payer_key=payer))
        for number in numbers:
            claim = work.claims.create(factories.make_claim(
                patient_id, coverage_id=coverage.id, payer_key=payer, number=number, lines=2))
            for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(claim.id, target)
            ids[number] = claim.id
    return ids


def paid(number: str, amount: str, co: str | None = None, pr: str = "0") -> ClaimPayment:
    """A claim payment that balances (CO-45 takes what is neither paid nor PR, unless
    ``co``)."""
    co = co if co is not None else str(D("143.50") - D(amount) - D(pr))
    adjustments = [Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                              amount=D(co))]
    if D(pr):
        adjustments.append(Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                      reason_code="2", amount=D(pr)))
    return ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
                        paid=D(amount), patient_responsibility=D(pr), adjustments=adjustments)


def plb(amount: str, reason: str = "WO") -> ProviderAdjustment:
    return ProviderAdjustment(provider_id="1234567893", reason_code=reason,
                              fiscal_period_date=date(2026, 12, 31), amount=D(amount))


def remittance(trace: str, *payments: ClaimPayment, plbs: tuple[ProviderAdjustment, ...] = (),
               amount: str | None = None, payer_id: str | None = "ACME1",
               payer_name: str = "Acme Health Plan", day: date | None = PAID_ON) -> Remittance:
    """An 835; its BPR02 is what the claim payments and PLBs add up to unless ``amount``."""
    balanced = sum((p.paid for p in payments), D("0")) - sum((a.amount for a in plbs), D("0"))
    return Remittance(trace_number=trace, payment_amount=D(amount) if amount else balanced,
                      payment_method=PaymentMethod.ACH, payment_date=day,
                      production_date=date(2026, 3, 1), payer_name=payer_name,
                      payer_id=payer_id, payee_name="Lakeside Family Practice",
                      claims=list(payments), provider_adjustments=list(plbs))


def post(app: Medbill, item: Remittance, **options):
    with app.unit_of_work() as work:
        return post_remittance(work, item, **options)


def register(app: Medbill, **filters) -> list[dict]:
    with app.unit_of_work() as work:
        return [item.as_json() for item in list_remittances(work, **filters)]


def totals(item: dict) -> tuple:
    return (item["payment_amount"], item["posted_count"], item["posted_total"],
            item["duplicate_count"], item["duplicate_total"], item["exception_count"],
            item["exception_total"], item["plb_count"], item["plb_total"],
            item["difference"], item["status"])


def states(app: Medbill, ids: dict[str, int]) -> dict[str, ClaimState]:
    with app.unit_of_work() as work:
        return {number: work.claims.get(claim_id).state for number, claim_id in ids.items()}


# -- recording and reconciling while posting --------------------------------------------------

def test_a_balanced_835_is_recorded_with_its_payment_and_totals(medbill_app: Medbill) -> None:
    make_claims(medbill_app, "CY1", "CY2")
    # 100.00 + 120.00 - 5.00 withheld (WO) + 2.15 interest (L6, a negative PLB) = 217.15
    item = remittance("TRN-1", paid("CY1", "100.00", pr="20.00"), paid("CY2", "120.00"),
                      plbs=(plb("5.00"), plb("-2.15", "L6")))
    assert item.payment_amount == D("217.15")
    result = post(medbill_app, item)
    assert (result.status, result.posted) == ("balanced", ["CY1", "CY2"])
    [row] = register(medbill_app)
    assert row["id"] == result.remittance_id
    assert totals(row) == ("217.15", 2, "220.00", 0, "0.00", 0, "0.00", 2, "2.85", "0.00",
                           "balanced")
    assert (row["trace_number"], row["payer"], row["payer_id"], row["payer_name"],
            row["payment_method"], row["date"], row["payment_date"],
            row["production_date"]) == ("TRN-1", "ACME1", "ACME1", "Acme Health Plan", "ACH",
                                        "2026-03-02", "2026-03-02", "2026-03-01")
    assert row["received_at"] == row["posted_at"] and row["received_at"].endswith("+00:00")
    with medbill_app.unit_of_work() as work:
        [event] = audit.query(work.session, action="remittance.post")
    assert (event.entity_type, event.entity_id) == ("remittance", "TRN-1")
    assert event.details == {"posted": 2, "duplicates": 0, "unmatched": 0,
                             "provider_adjustments": 2, "remittance_id": row["id"],
                             "status": "balanced"}


def test_an_unmatched_claim_payment_leaves_the_remittance_with_exceptions(
        medbill_app: Medbill) -> None:
    make_claims(medbill_app, "CY1")
    result = post(medbill_app, remittance("TRN-X", paid("CY1", "100.00"),
                                          paid("NOT-OURS", "10.00")))
    assert (result.status, result.unmatched) == ("exceptions", ["NOT-OURS"])
    [row] = register(medbill_app)
    assert totals(row) == ("110.00", 1, "100.00", 0, "0.00", 1, "10.00", 0, "0.00", "0.00",
                           "exceptions")


def test_an_835_that_does_not_add_up_is_posted_as_always_and_flagged(
        medbill_app: Medbill) -> None:
    ids = make_claims(medbill_app, "CY1", "CY2")
    result = post(medbill_app, remittance("TRN-OFF", paid("CY1", "100.00", pr="20.00"),
                                          amount="105.00"))
    assert (result.status, result.posted, result.paid) == ("out of balance", ["CY1"],
                                                           D("100.00"))
    assert states(medbill_app, ids)["CY1"] is S.PATIENT_BALANCE  # posted all the same
    with medbill_app.unit_of_work() as work:
        assert work.ledger.claim_balance(ids["CY1"]).patient == D("20.00")
        # through the response path, the one-line detail says so too
        detail = apply_decoded(work, remittance("TRN-OFF2", paid("CY2", "120.00"),
                                                amount="119.99"))
    assert detail == "835 TRN-OFF2: 1 posted, 0 already posted, 0 unmatched; out of balance"
    rows = {row["trace_number"]: row for row in register(medbill_app)}
    assert totals(rows["TRN-OFF"]) == ("105.00", 1, "100.00", 0, "0.00", 0, "0.00", 0, "0.00",
                                       "5.00", "out of balance")
    assert rows["TRN-OFF2"]["difference"] == "-0.01"


@pytest.mark.parametrize(("adjustments", "amount", "status"), [
    (("5.00",), "95.00", "balanced"),  # a withhold reduces the payment
    (("-3.00",), "103.00", "balanced"),  # interest (negative PLB) adds to it
    (("5.00", "-3.00"), "98.00", "balanced"),
    (("5.00",), "105.00", "out of balance"),  # the PLB added instead of taken off
    (("-3.00",), "97.00", "out of balance"),
], ids=["withhold", "interest", "both", "withhold-added", "interest-taken-off"])
def test_provider_adjustments_of_both_signs(medbill_app: Medbill, adjustments: tuple[str, ...],
                                            amount: str, status: str) -> None:
    make_claims(medbill_app, "CY1")
    item = remittance("TRN-PLB", paid("CY1", "100.00"),
                      plbs=tuple(plb(a, "WO" if D(a) > 0 else "L6") for a in adjustments),
                      amount=amount)
    assert post(medbill_app, item).status == status
    [row] = register(medbill_app)
    plb_total = str(sum((D(a) for a in adjustments), D("0.00")))
    assert (row["plb_count"], row["plb_total"], row["status"]) == (len(adjustments), plb_total,
                                                                   status)
    assert D(row["difference"]) == D(amount) - (D("100.00") - D(plb_total))


def test_posting_the_same_835_again_changes_nothing(medbill_app: Medbill) -> None:
    ids = make_claims(medbill_app, "CY1", "CY2", "CY3")
    nothing = ClaimPayment(claim_number="CY3", status=ClaimStatusCode.PRIMARY,
                           charge=D("0.00"), paid=D("0.00"))  # nothing to post, counted once
    item = remittance("TRN-2", paid("CY1", "100.00", pr="20.00"), paid("CY2", "120.00"),
                      nothing, paid("NOPE", "7.00"), plbs=(plb("1.00"),))
    first = post(medbill_app, item)
    [before] = register(medbill_app)
    again = post(medbill_app, item)
    # the payer sends the same payment again in another 835 (another production date, TRN03)
    resent = item.model_copy(update={"production_date": date(2026, 3, 3),
                                     "payer_trace_id": "1999999999"})
    with medbill_app.unit_of_work() as work:
        once_more = apply_decoded(work, resent)
    assert (first.posted, first.unmatched) == (["CY1", "CY2", "CY3"], ["NOPE"])
    assert (again.posted, again.duplicates, again.remittance_id) == (
        ["CY3"], ["CY1", "CY2"], first.remittance_id)
    assert once_more == "835 TRN-2: 1 posted, 2 already posted, 1 unmatched"
    assert register(medbill_app) == [before]  # one row, same totals, same timestamps
    assert totals(before) == ("226.00", 3, "220.00", 0, "0.00", 1, "7.00", 1, "1.00", "0.00",
                              "exceptions")
    with medbill_app.unit_of_work() as work:
        assert work.session.scalar(select(func.count()).select_from(RemittanceRow)) == 1
        assert work.ledger.totals().is_balanced()
    assert states(medbill_app, ids)["CY2"] is S.CLOSED


def test_the_same_trace_number_from_another_payer_is_another_remittance(
        medbill_app: Medbill) -> None:
    make_claims(medbill_app, "CY1")
    make_claims(medbill_app, "BC1", payer="bluecross")
    post(medbill_app, remittance("CHK-100", paid("CY1", "100.00")))
    post(medbill_app, remittance("CHK-100", paid("BC1", "80.00"), payer_id="BCBS1",
                                 payer_name="Blue Cross"))
    # a payer without a payer ID is known by its name, as its postings are
    post(medbill_app, remittance("CHK-100", paid("ZZ1", "1.00"), payer_id=None,
                                 payer_name="Small Plan"))
    assert [(r["payer"], r["payment_amount"]) for r in register(medbill_app)] == [
        ("ACME1", "100.00"), ("BCBS1", "80.00"), ("Small Plan", "1.00")]
    with medbill_app.unit_of_work() as work:
        with pytest.raises(MedbillError, match="several payers sent that trace number "
                                               r"\(ACME1, BCBS1, Small Plan\); name one"):
            find_remittance(work, "CHK-100")
        assert find_remittance(work, "CHK-100", "bluecross").payment_amount == D("80.00")
        assert find_remittance(work, "CHK-100", "Small Plan").payer_id is None
        with pytest.raises(NotFound, match="remittance CHK-100 from payer medicare not found"):
            find_remittance(work, "CHK-100", "medicare")


def test_an_exception_a_later_posting_applies_moves_to_posted(medbill_app: Medbill) -> None:
    make_claims(medbill_app, "CY1")
    item = remittance("TRN-3", paid("CY1", "100.00"), paid("CY9", "30.00"))
    assert post(medbill_app, item).status == "exceptions"
    make_claims(medbill_app, "CY9")  # the biller creates the claim the payer answered
    result = post(medbill_app, item)
    assert (result.posted, result.duplicates, result.status) == (["CY9"], ["CY1"], "balanced")
    [row] = register(medbill_app)
    assert totals(row) == ("130.00", 2, "130.00", 0, "0.00", 0, "0.00", 0, "0.00", "0.00",
                           "balanced")
    with medbill_app.unit_of_work() as work:
        assert remittance_exceptions(work) == []
        [done] = remittance_exceptions(work, include_resolved=True)
        detail = remittance_detail(work, "TRN-3")
    assert (done.claim_number, done.resolved, done.resolved_by) == ("CY9", True, "tester")
    assert detail.exceptions[0]["resolution"] == \
        "posted to claim CY9 by a later posting of 835 TRN-3"
    assert [c.claim_number for c in detail.claims] == ["CY1", "CY9"]


def test_an_835_posted_before_the_register_counts_its_claim_payments_as_duplicates(
        medbill_app: Medbill) -> None:
    make_claims(medbill_app, "CY1", "CY2")
    item = remittance("TRN-OLD", paid("CY1", "100.00"), paid("CY2", "120.00"),
                      plbs=(plb("2.00"),))
    post(medbill_app, item)
    with medbill_app.unit_of_work() as work:  # as a database upgraded to 0006 has it
        work.session.execute(delete(RemittanceRow))
    result = post(medbill_app, item)
    assert (result.posted, result.duplicates, result.provider_adjustments) == (
        [], ["CY1", "CY2"], 0)
    [row] = register(medbill_app)
    assert totals(row) == ("218.00", 0, "0.00", 2, "220.00", 0, "0.00", 1, "2.00", "0.00",
                           "balanced")
    assert post(medbill_app, item).remittance_id == row["id"]
    assert register(medbill_app) == [row]


# -- listing and showing ------------------------------------------------------------------------

def _three_remittances(app: Medbill) -> None:
    make_claims(app, "CY1", "CY2", "CY3")
    make_claims(app, "BC1", payer="bluecross")
    post(app, remittance("TRN-A", paid("CY1", "100.00", pr="20.00"), plbs=(plb("-2.15", "L6"),),
                         day=date(2026, 3, 2)))
    post(app, remittance("TRN-B", paid("CY2", "120.00"), paid("NOPE", "10.00"),
                         day=date(2026, 3, 16)))
    post(app, remittance("TRN-C", paid("BC1", "80.00"), payer_id="BCBS1",
                         payer_name="Blue Cross", amount="85.00", day=date(2026, 4, 1)))
    # no BPR16: the date the postings carry
    post(app, remittance("TRN-D", paid("CY3", "90.00"), day=None),
         effective_date=date(2026, 3, 20))


def test_list_filters_by_date_payer_and_status(medbill_app: Medbill) -> None:
    _three_remittances(medbill_app)

    def traces(**filters) -> list[str]:
        return [row["trace_number"] for row in register(medbill_app, **filters)]

    assert traces() == ["TRN-A", "TRN-B", "TRN-D", "TRN-C"]  # oldest payment first
    assert traces(date_from=date(2026, 3, 16)) == ["TRN-B", "TRN-D", "TRN-C"]
    assert traces(date_to=date(2026, 3, 16)) == ["TRN-A", "TRN-B"]
    assert traces(date_from=date(2026, 3, 3), date_to=date(2026, 3, 31)) == ["TRN-B", "TRN-D"]
    assert traces(date_from=date(2026, 5, 1)) == []
    assert traces(payer="acme") == ["TRN-A", "TRN-B", "TRN-D"]  # a configured payer key
    assert traces(payer="BCBS1") == traces(payer="Blue Cross") == ["TRN-C"]
    assert traces(payer="medicare") == []
    assert traces(status=RemittanceStatus.BALANCED) == ["TRN-A", "TRN-D"]
    assert traces(status=RemittanceStatus.EXCEPTIONS) == ["TRN-B"]
    assert traces(status=RemittanceStatus.OUT_OF_BALANCE) == ["TRN-C"]
    assert traces(payer="acme", status=RemittanceStatus.OUT_OF_BALANCE) == []
    rows = register(medbill_app)
    assert [(r["date"], r["payment_date"]) for r in rows][2] == ("2026-03-20", None)


def test_show_lists_the_claim_payments_as_posted_the_plbs_and_the_exceptions(
        medbill_app: Medbill) -> None:
    ids = make_claims(medbill_app, "CY1", "CY2")
    post(medbill_app, remittance("TRN-S", paid("CY1", "100.00", pr="20.00"),
                                 paid("CY2", "120.00"), paid("NOPE", "10.00"),
                                 plbs=(plb("5.00"), plb("-2.15", "L6"))))
    with medbill_app.unit_of_work() as work:
        detail = remittance_detail(work, "TRN-S", "ACME1")
    assert detail.remittance.payment_amount == D("227.15")  # 230.00 - 2.85
    assert [(c.claim_id, c.claim_number, c.claim_state, c.claim_status, c.paid, c.adjusted,
             c.patient_share) for c in detail.claims] == [
        (ids["CY1"], "CY1", "patient_balance", "1", D("100.00"), D("43.50"), D("20.00")),
        (ids["CY2"], "CY2", "closed", "1", D("120.00"), D("23.50"), D("0.00"))]
    assert [(p["reason_code"], p["amount"], p["fiscal_period_date"])
            for p in detail.provider_adjustments] == [("WO", "5.00", "2026-12-31"),
                                                      ("L6", "-2.15", "2026-12-31")]
    assert [(e["claim_number"], e["paid"], e["reason"], e["resolved"])
            for e in detail.exceptions] == [("NOPE", "10.00", "claim number not found", False)]
    data = detail.as_json()
    assert (data["status"], data["claims"][0]["claim_number"], len(data["exceptions"])) == (
        "exceptions", "CY1", 1)
    json.dumps(data)  # serialisable as it is


# -- resolving exceptions -----------------------------------------------------------------------

def test_resolving_the_last_exception_balances_the_remittance(medbill_app: Medbill) -> None:
    make_claims(medbill_app, "CY1")
    post(medbill_app, remittance("TRN-R", paid("CY1", "100.00"), paid("NOPE-1", "10.00"),
                                 paid("NOPE-2", "5.00")))
    with medbill_app.unit_of_work() as work:
        first, second = (item.id for item in remittance_exceptions(work))
        resolve_exception(work, first, "  refunded to the payer, check 5512  ")
    assert register(medbill_app)[0]["status"] == "exceptions"  # one left
    with medbill_app.unit_of_work() as work:
        resolve_exception(work, second, "posted by hand to CY1")
        assert remittance_exceptions(work) == []  # ar exceptions agrees
        every = remittance_exceptions(work, include_resolved=True)
        detail = remittance_detail(work, "TRN-R")
        events = audit.query(work.session, action="remittance.exception_resolve")
    [row] = register(medbill_app)
    assert (row["status"], row["exception_count"], row["exception_total"]) == (
        "balanced", 2, "15.00")  # still money that matched no claim, now accounted for
    assert [(i.resolved, i.resolved_by) for i in every] == [(True, "tester"), (True, "tester")]
    assert every[0].as_json()["resolved_on"] == every[0].resolved_on.isoformat()
    assert [e["resolution"] for e in detail.exceptions] == [
        "refunded to the payer, check 5512", "posted by hand to CY1"]
    assert [(e.entity_type, e.entity_id, e.details) for e in reversed(events)] == [
        ("remittance_exception", str(first), {"trace_number": "TRN-R", "fields": ["resolution"],
                                              "remittance_id": row["id"],
                                              "status": "exceptions"}),
        ("remittance_exception", str(second), {"trace_number": "TRN-R",
                                               "fields": ["resolution"],
                                               "remittance_id": row["id"],
                                               "status": "balanced"})]


def test_resolve_refuses_bad_requests(medbill_app: Medbill) -> None:
    post(medbill_app, remittance("TRN-Q", paid("NOPE", "10.00")))
    with medbill_app.unit_of_work() as work:
        [item] = remittance_exceptions(work)
        with pytest.raises(NotFound, match="remittance exception 999 not found"):
            resolve_exception(work, 999, "x")
        with pytest.raises(ValidationFailed, match="--note"):
            resolve_exception(work, item.id, "   ")
        with pytest.raises(ValidationFailed, match="at most 500 characters"):
            resolve_exception(work, item.id, "x" * 501)
        resolve_exception(work, item.id, "refunded")
    with medbill_app.unit_of_work() as work:
        with pytest.raises(MedbillError, match=f"exception {item.id} is already resolved"):
            resolve_exception(work, item.id, "again")
        with pytest.raises(NotFound, match="remittance NOPE not found"):
            remittance_detail(work, "NOPE")


# -- the migration ------------------------------------------------------------------------------

def test_migration_0006_keeps_existing_exceptions(medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    try:
        database.upgrade("0005")
        with database.engine.begin() as connection:
            connection.execute(text(
                "insert into remittance_exceptions (posting_key, trace_number, claim_number, "
                "reason, paid, created_at, resolved) values "
                "('835:ACME1:T1:X:1', 'T1', 'X', 'claim number not found', 1000, "
                "'2026-01-05 10:00:00+00', :yes), "
                "('835:ACME1:T1:Y:1', 'T1', 'Y', 'claim number not found', 250, "
                "'2026-01-05 10:00:00+00', :no)"), {"yes": True, "no": False})
        database.upgrade()
        with database.engine.connect() as connection:
            rows = connection.execute(text(
                "select claim_number, paid, resolved, resolved_at, resolved_by, resolution "
                "from remittance_exceptions order by claim_number")).all()
            remittances = connection.execute(text("select count(*) from remittances")).scalar()
        assert [tuple(row) for row in rows] == [("X", 1000, True, None, None, None),
                                                ("Y", 250, False, None, None, None)]
        assert remittances == 0
    finally:
        database.dispose()


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a 160-column terminal shows them (CliRunner's output is no terminal: 80)."""
    monkeypatch.setattr(common.console, "_width", 160)


def table_rows(text: str, border: str = "│") -> list[list[str]]:
    """The cells of each body row of a rich table."""
    return [[cell.strip() for cell in line.strip().strip(border).split(border)]
            for line in text.splitlines() if line.strip().startswith(border)]


def remit_instance(tmp_path: Path, url: str) -> Path:
    """A configured, upgraded instance with the four remittances of ``_three_remittances``."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(url, extra=BLUECROSS), encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        _three_remittances(app)
    finally:
        app.close()
    return path


@pytest.fixture
def remit_config(cli_isolation: None, tmp_path: Path) -> Path:
    return remit_instance(tmp_path, f"sqlite:///{tmp_path / 'medbill.db'}")


def test_cli_remit_list_table_and_json(remit_config: Path, wide: None) -> None:
    items = json.loads(ok(remit_config, "remit", "list", "--json").stdout)
    assert [(i["trace_number"], i["payment_amount"], i["status"]) for i in items] == [
        ("TRN-A", "102.15", "balanced"), ("TRN-B", "130.00", "exceptions"),
        ("TRN-D", "90.00", "balanced"), ("TRN-C", "85.00", "out of balance")]
    table = ok(remit_config, "remit", "list").stdout
    assert "4 remittances" in table
    assert table_rows(table, "┃") == [["date", "payer", "trace", "method", "amount", "posted",
                                       "PLB", "exceptions", "status"]]
    assert table_rows(table) == [
        ["2026-03-02", "ACME1", "TRN-A", "ACH", "102.15", "100.00", "-2.15", "0.00",
         "balanced"],
        ["2026-03-16", "ACME1", "TRN-B", "ACH", "130.00", "120.00", "0.00", "10.00",
         "exceptions"],
        ["2026-03-20", "ACME1", "TRN-D", "ACH", "90.00", "90.00", "0.00", "0.00", "balanced"],
        ["2026-04-01", "BCBS1", "TRN-C", "ACH", "85.00", "80.00", "0.00", "0.00",
         "out of balance"],
        ["total", "", "", "", "407.15", "390.00", "-2.15", "10.00", ""]]


def test_cli_remit_list_filters(remit_config: Path) -> None:
    def traces(*args: str) -> list[str]:
        return [i["trace_number"]
                for i in json.loads(ok(remit_config, "remit", "list", *args, "--json").stdout)]

    assert traces("--from", "2026-03-16", "--to", "2026-03-31") == ["TRN-B", "TRN-D"]
    assert traces("--payer", "bluecross") == traces("--payer", "BCBS1") == ["TRN-C"]
    assert traces("--status", "out of balance") == traces("--status", "out-of-balance") == [
        "TRN-C"]
    assert traces("--status", "Exceptions") == ["TRN-B"]
    assert traces("--payer", "acme", "--status", "balanced") == ["TRN-A", "TRN-D"]
    empty = ok(remit_config, "remit", "list", "--from", "2027-01-01").stdout
    assert "0 remittances" in empty and "total" not in empty


def test_cli_remit_show(remit_config: Path, wide: None) -> None:
    data = json.loads(ok(remit_config, "remit", "show", "TRN-B", "--json").stdout)
    assert (data["payment_amount"], data["status"], data["difference"]) == (
        "130.00", "exceptions", "0.00")
    assert [(c["claim_number"], c["claim_state"], c["paid"]) for c in data["claims"]] == [
        ("CY2", "closed", "120.00")]
    assert [(e["claim_number"], e["paid"], e["resolved"]) for e in data["exceptions"]] == [
        ("NOPE", "10.00", False)]
    out = ok(remit_config, "remit", "show", "TRN-A").stdout
    assert "remittance TRN-A from Acme Health Plan (ACME1): balanced" in out
    assert "ACH 102.15 paid 2026-03-02, produced 2026-03-01" in out
    assert ("claim payments 100.00 (1 posted, 0 posted before) + exceptions 0.00 (0) "
            "- PLB -2.15 (1); difference 0.00") in out
    assert ["CY1", "patient_balance", "1", "100.00", "43.50", "20.00"] in table_rows(out)
    assert ["1234567893", "L6", "", "-2.15"] in table_rows(out)
    # each adjustment with the posting rule applied (issue 10 item 3)
    # ... and its meaning in brief (issue 10: plain language beside every code)
    assert ["CY1", "CO-45", "23.50", "adjust", "CO-45 (built-in)",
            "Charge exceeds fee schedule/maximum allowable or contracted…"] in table_rows(out)
    assert ["CY1", "PR-2", "20.00", "patient", "PR-2 (built-in)",
            "Coinsurance Amount"] in table_rows(out)
    # the claim payment, its two adjustments and the PLB: no exception table
    assert len(table_rows(out)) == 4
    shown = ok(remit_config, "remit", "show", "TRN-C", "--payer", "bluecross").stdout
    assert "out of balance" in shown and "difference 5.00" in shown


def test_cli_remit_resolve_and_ar_exceptions_agree(remit_config: Path, wide: None) -> None:
    [item] = json.loads(ok(remit_config, "ar", "exceptions", "--json").stdout)
    out = ok(remit_config, "remit", "resolve", str(item["id"]), "--note",
             "refunded to Acme, check 5512").stdout
    assert out.strip() == f"remittance exception {item['id']} (835 TRN-B) resolved"
    assert json.loads(ok(remit_config, "ar", "exceptions", "--json").stdout) == []
    [done] = json.loads(ok(remit_config, "ar", "exceptions", "--all", "--json").stdout)
    # the command line acts as its local user (the bootstrap OS account: no user yet)
    assert (done["resolved"], done["resolved_by"]) == (True, f"user:{audit.os_user()}")
    assert [i["trace_number"] for i in json.loads(ok(
        remit_config, "remit", "list", "--status", "exceptions", "--json").stdout)] == []
    shown = ok(remit_config, "remit", "show", "TRN-B").stdout
    assert "TRN-B from Acme Health Plan (ACME1): balanced" in shown
    assert [str(item["id"]), "NOPE", "10.00", "claim number not found",
            "refunded to Acme, check 5512"] in table_rows(shown)
    events = json.loads(ok(remit_config, "audit", "--entity", "remittance_exception",
                           "--json").stdout)
    assert [(e["actor"], e["action"]) for e in events] == [
        (f"user:{audit.os_user()}", "remittance.exception_resolve")]
    again = one_line_error(cli(remit_config, "remit", "resolve", str(item["id"]), "--note",
                               "x"), 1)
    assert again == f"error: remittance exception {item['id']} is already resolved"


@pytest.mark.parametrize(("args", "code", "message"), [
    (("remit", "show", "NOPE"), 1, "error: remittance NOPE not found"),
    (("remit", "show", "TRN-A", "--payer", "bluecross"), 1,
     "error: remittance TRN-A from payer bluecross not found"),
    (("remit", "list", "--from", "2026-02-30"), 2,
     "error: --from must be a date as YYYY-MM-DD"),
    (("remit", "list", "--to", "March"), 2,
     "error: --to must be a date as YYYY-MM-DD"),
    (("remit", "list", "--status", "paid"), 2,
     "error: --status must be one of 'balanced', 'exceptions', 'out of balance', 'posting', "
     "got 'paid'"),
    (("remit", "resolve", "999", "--note", "x"), 1,
     "error: remittance exception 999 not found"),
    (("remit", "resolve", "1", "--note", " "), 1,
     "error: --note: note: say how the exception was resolved"),
], ids=["unknown-trace", "other-payer", "bad-from", "bad-to", "bad-status", "unknown-exception",
        "blank-note"])
def test_cli_remit_bad_inputs_are_one_line(remit_config: Path, args: tuple[str, ...], code: int,
                                           message: str) -> None:
    assert one_line_error(cli(remit_config, *args), code) == message


def test_cli_remit_same_trace_from_two_payers_asks_for_the_payer(remit_config: Path) -> None:
    app = Medbill.open(load_config(remit_config), load_installed=False)
    try:
        post(app, remittance("TRN-A", paid("ZZ9", "80.00"), payer_id="BCBS1",
                             payer_name="Blue Cross"))
    finally:
        app.close()
    assert one_line_error(cli(remit_config, "remit", "show", "TRN-A"), 1) == (
        "error: remittance TRN-A: several payers sent that trace number (ACME1, BCBS1); "
        "name one with --payer")
    shown = json.loads(ok(remit_config, "remit", "show", "TRN-A", "--payer", "BCBS1",
                          "--json").stdout)
    assert (shown["payer"], shown["claims"], shown["exceptions"][0]["claim_number"]) == (
        "BCBS1", [], "ZZ9")


def test_cli_remit_on_each_database(medbill_db_url: str, cli_isolation: None,
                                    tmp_path: Path) -> None:
    path = remit_instance(tmp_path, medbill_db_url)
    items = json.loads(ok(path, "remit", "list", "--from", "2026-03-02", "--to", "2026-03-20",
                          "--payer", "acme", "--json").stdout)
    assert [(i["trace_number"], i["status"]) for i in items] == [
        ("TRN-A", "balanced"), ("TRN-B", "exceptions"), ("TRN-D", "balanced")]
    [exception] = json.loads(ok(path, "remit", "show", "TRN-B", "--json").stdout)["exceptions"]
    ok(path, "remit", "resolve", str(exception["id"]), "--note", "refunded")
    assert json.loads(ok(path, "ar", "exceptions", "--json").stdout) == []
    assert json.loads(ok(path, "remit", "show", "TRN-B", "--json").stdout)["status"] == \
        "balanced"

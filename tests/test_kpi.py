"""The KPI figures against a dozen claims whose every figure was computed by hand.

The fixture writes the claims' history directly (transitions, the payer's answers, denials,
ledger postings, 835 documents) on chosen dates, so each figure below is arithmetic on the
table in :func:`fixture_claims`'s docstring, written out beside the assertion. Runs on SQLite
and PostgreSQL (``medbill_app``).

The period is 2026-01-01 .. 2026-03-31 (months 2026-01, 2026-02, 2026-03).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import BLUECROSS, cli, config_text, ok, one_line_error
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_http_api import AUDITOR, OTHER, assert_problem, fake_authenticate

from medbill_core.app import Medbill
from medbill_core.domain import CoverageOrder
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import PermissionDenied, ValidationFailed
from medbill_core.http import create_app
from medbill_core.ledger import Bucket, EntryKind, Ledger, LedgerLine
from medbill_core.services.identity import add_practice
from medbill_core.services.kpi import (
    Kpi,
    Part,
    check_period,
    default_period,
    kpi_claims,
    kpi_report,
    median,
)
from medbill_core.services.kpi_aging_cache import forget
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimLineRow,
    ClaimRow,
    ClaimTransitionRow,
    DenialRow,
    InboundDocumentRow,
)
from medbill_core.testing import factories
from medbill_core.testing.submission_dates import keep_submitted_at

D = Decimal
START, END = date(2026, 1, 1), date(2026, 3, 31)
MONTHS = ("2026-01", "2026-02", "2026-03")


def noon(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Claims:
    """Claim ids of the fixture by their name in the table (c1 .. c12)."""

    ids: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.ids[name]

    def of(self, *names: str) -> list[int]:
        return sorted(self.ids[name] for name in names)


class _Builder:
    def __init__(self, work: Any) -> None:
        self.work = work
        self.ledger = Ledger(work.session, actor="tester")
        self.count = 0

    def claim(self, payer: str | None, service: date,
              lines: tuple[tuple[str, str], ...]) -> int:
        self.count += 1
        n = self.count
        patient = self.work.patients.register(factories.make_patient(900 + n))
        coverage_id = None
        if payer is not None:
            coverage_id = self.work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key=payer, order=CoverageOrder.PRIMARY, member_id=f"MEMBER{n:05d}")).id
        claim = factories.make_claim(patient.id, coverage_id=coverage_id, payer_key=payer,
                                     number=f"K{n:05d}", service_date=service)
        claim = claim.model_copy(update={"lines": [
            factories.make_line(i, service_date=service, charge=D(charge), procedure_code=code)
            for i, (code, charge) in enumerate(lines, start=1)]})
        return int(self.work.claims.create(claim).id)

    def moves(self, claim_id: int, state: str, *steps: tuple[str, str, date]) -> None:
        """Transitions (source, target, day) at noon UTC, and the claim's final state."""
        for source, target, day in steps:
            self.work.session.add(ClaimTransitionRow(claim_id=claim_id, source=source,
                                                     target=target, actor="tester",
                                                     at=noon(day)))
        self.work.session.execute(update(ClaimRow).where(ClaimRow.id == claim_id)
                                  .values(state=state))
        keep_submitted_at(self.work.session, claim_id)  # as the services keep it

    def sent(self, claim_id: int, day: date, state: str = "accepted") -> None:
        self.moves(claim_id, state, ("validated", "submitted", day))

    def answer(self, claim_id: int, account: int, payer: str, day: date, status: str,
               paid: str, key: str) -> None:
        self.work.session.add(ClaimAdjudicationRow(
            posting_key=key, claim_id=claim_id, account_claim_id=account, payer_key=payer,
            claim_status=status, paid=D(paid), paid_date=day, adjustments=[]))

    def denial(self, claim_id: int, payer: str, day: date, carc: str, amount: str,
               key: str) -> None:
        group, reason = carc.split("-")
        self.work.session.add(DenialRow(
            posting_key=key, position=0, claim_id=claim_id, account_claim_id=claim_id,
            payer_key=payer, group_code=group, reason_code=reason, amount=D(amount),
            action="deny", rule="test", denied_on=day, status="open"))

    def post(self, key: str, day: date, *lines: LedgerLine, credit: bool = False) -> None:
        self.ledger.post(key, "test", lines, effective_date=day, allow_credit=credit)


def patient_of(work: Any, claim_id: int) -> int:
    return int(work.session.scalar(select(ClaimRow.patient_id).where(ClaimRow.id == claim_id)))


def fixture_claims(app: Medbill) -> Claims:
    """The dozen claims (DOS: date of service; each line 1 unless two codes are given).

    ====  ==========  ====================  =========  ==========================================
    name  payer       lines (code charge)   DOS        history
    ====  ==========  ====================  =========  ==========================================
    c1    acme        99213 100             01-05      sent 01-08; 01-20 paid 80, CO 20
    c2    acme        99213 200             01-10      sent 01-12; 01-25 denied (4) CO-50 200;
                                                       02-20 paid on appeal 150, CO 50
    c3    bluecross   99213 150             01-15      sent 01-20; rejected 01-21, resent 01-23;
                                                       02-05 paid 100, CO 50
    c4    bluecross   99214 250, 36415 50   02-01      sent 02-03; 02-15 paid 200, CO 50, line 2
                                                       denied CO-97 50 (kept open)
    c5    acme        99213 100             02-10      sent 02-20; 03-05 paid 0, PR-1 100 to the
                                                       patient; 03-20 patient pays 110 (credit 10)
    c6    acme        99213 120             02-14      sent 02-16; no answer
    c7    acme        99213 250             01-02      sent 01-04; 01-30 paid 190, CO 50
    c8    acme        (c7 corrected, frequency 7, same account, no new charge)
                                                       sent 02-10; 02-25 paid 10
    c9    medicare    99213 80              2025-12-15 sent 2025-12-20; 01-10 denied (4) CO-29
                                                       80; 01-15 written off 80
    c10   self-pay    99213 60              03-01      patient pays 60 on 03-01
    c11   bluecross   99213 500             2025-10-01 sent 2025-10-03; no answer
    c12   acme        99213 90              03-10      sent 03-11; rejected 03-12 (draft)
    ====  ==========  ====================  =========  ==========================================

    Two 835 documents from a channel: received 01-20 08:00, posted 14:00 (6 hours); received
    02-05 09:00, posted 02-06 09:00 (24 hours); a third received, never posted.
    """
    ids: dict[str, int] = {}
    with app.unit_of_work() as work:
        b = _Builder(work)
        day = date
        ids["c1"] = b.claim("acme", day(2026, 1, 5), (("99213", "100"),))
        ids["c2"] = b.claim("acme", day(2026, 1, 10), (("99213", "200"),))
        ids["c3"] = b.claim("bluecross", day(2026, 1, 15), (("99213", "150"),))
        ids["c4"] = b.claim("bluecross", day(2026, 2, 1), (("99214", "250"), ("36415", "50")))
        ids["c5"] = b.claim("acme", day(2026, 2, 10), (("99213", "100"),))
        ids["c6"] = b.claim("acme", day(2026, 2, 14), (("99213", "120"),))
        ids["c7"] = b.claim("acme", day(2026, 1, 2), (("99213", "250"),))
        ids["c9"] = b.claim("medicare", day(2025, 12, 15), (("99213", "80"),))
        ids["c10"] = b.claim(None, day(2026, 3, 1), (("99213", "60"),))
        ids["c11"] = b.claim("bluecross", day(2025, 10, 1), (("99213", "500"),))
        ids["c12"] = b.claim("acme", day(2026, 3, 10), (("99213", "90"),))
        work.session.flush()
        # c8: the corrected c7 (a copy of its row, frequency 7, on c7's account)
        c7 = work.session.get(ClaimRow, ids["c7"])
        copy = {column.key: getattr(c7, column.key) for column in ClaimRow.__table__.columns
                if column.key not in ("id", "claim_number", "created_at", "updated_at")}
        c8 = ClaimRow(**{**copy, "claim_number": "K00099", "frequency": "7",
                         "replaces_claim_id": c7.id, "account_claim_id": c7.id, "state": "paid"})
        c8.lines = [ClaimLineRow(line_number=1, procedure_code="99213", modifiers=[],
                                 units=D(1), unit_type="UN", charge=D(250),
                                 diagnosis_pointers=[1], service_date_from=day(2026, 1, 2))]
        work.session.add(c8)
        work.session.flush()
        ids["c8"] = c8.id

        def line(kind: EntryKind, amount: str, name: str, payer: str | None,
                 bucket: Bucket | None = None) -> LedgerLine:
            claim_id = ids[name]
            return LedgerLine(kind, D(amount), patient_id=patient_of(work, claim_id),
                              claim_id=claim_id, payer_key=payer, bucket=bucket)

        pay, adjust = EntryKind.PAYER_PAYMENT, EntryKind.CONTRACTUAL_ADJUSTMENT
        # c1
        b.sent(ids["c1"], day(2026, 1, 8), "paid")
        b.answer(ids["c1"], ids["c1"], "acme", day(2026, 1, 20), "1", "80", "835:T1:c1")
        b.post("835:T1:c1", day(2026, 1, 20), line(pay, "80", "c1", "acme"),
               line(adjust, "20", "c1", "acme"))
        # c2: denied, then paid on appeal
        b.sent(ids["c2"], day(2026, 1, 12), "paid")
        b.answer(ids["c2"], ids["c2"], "acme", day(2026, 1, 25), "4", "0", "835:T2:c2")
        b.denial(ids["c2"], "acme", day(2026, 1, 25), "CO-50", "200", "835:T2:c2")
        b.answer(ids["c2"], ids["c2"], "acme", day(2026, 2, 20), "1", "150", "835:T3:c2")
        b.post("835:T3:c2", day(2026, 2, 20), line(pay, "150", "c2", "acme"),
               line(adjust, "50", "c2", "acme"))
        # c3: rejected once, resent
        b.moves(ids["c3"], "paid", ("validated", "submitted", day(2026, 1, 20)),
                ("submitted", "rejected", day(2026, 1, 21)),
                ("rejected", "draft", day(2026, 1, 21)),
                ("validated", "submitted", day(2026, 1, 23)))
        b.answer(ids["c3"], ids["c3"], "bluecross", day(2026, 2, 5), "1", "100", "835:T4:c3")
        b.post("835:T4:c3", day(2026, 2, 5), line(pay, "100", "c3", "bluecross"),
               line(adjust, "50", "c3", "bluecross"))
        # c4: a line denied
        b.sent(ids["c4"], day(2026, 2, 3), "partially_paid")
        b.answer(ids["c4"], ids["c4"], "bluecross", day(2026, 2, 15), "1", "200", "835:T5:c4")
        b.denial(ids["c4"], "bluecross", day(2026, 2, 15), "CO-97", "50", "835:T5:c4")
        b.post("835:T5:c4", day(2026, 2, 15), line(pay, "200", "c4", "bluecross"),
               line(adjust, "50", "c4", "bluecross"))
        # c5: to the patient, who overpays
        b.sent(ids["c5"], day(2026, 2, 20), "patient_balance")
        b.answer(ids["c5"], ids["c5"], "acme", day(2026, 3, 5), "1", "0", "835:T6:c5")
        b.post("835:T6:c5", day(2026, 3, 5),
               line(EntryKind.TRANSFER_TO_PATIENT, "100", "c5", "acme"))
        b.post("payment:c5", day(2026, 3, 20), line(EntryKind.PATIENT_PAYMENT, "110", "c5", None),
               credit=True)
        # c6: waiting
        b.sent(ids["c6"], day(2026, 2, 16))
        # c7 and its correction c8
        b.moves(ids["c7"], "replaced", ("validated", "submitted", day(2026, 1, 4)),
                ("paid", "replaced", day(2026, 2, 10)))
        b.answer(ids["c7"], ids["c7"], "acme", day(2026, 1, 30), "1", "190", "835:T7:c7")
        b.post("835:T7:c7", day(2026, 1, 30), line(pay, "190", "c7", "acme"),
               line(adjust, "50", "c7", "acme"))
        b.sent(ids["c8"], day(2026, 2, 10), "paid")
        b.answer(ids["c8"], ids["c7"], "acme", day(2026, 2, 25), "1", "10", "835:T8:c8")
        b.post("835:T8:c8", day(2026, 2, 25), LedgerLine(
            pay, D(10), patient_id=patient_of(work, ids["c7"]), claim_id=ids["c7"],
            payer_key="acme"))
        # c9: sent in December, denied in January, written off
        b.sent(ids["c9"], day(2025, 12, 20), "denied")
        b.answer(ids["c9"], ids["c9"], "medicare", day(2026, 1, 10), "4", "0", "835:T9:c9")
        b.denial(ids["c9"], "medicare", day(2026, 1, 10), "CO-29", "80", "835:T9:c9")
        b.post("writeoff:c9", day(2026, 1, 15),
               line(EntryKind.WRITE_OFF, "80", "c9", "medicare", Bucket.INSURANCE))
        # c10: self-pay, paid at the window
        b.moves(ids["c10"], "closed", ("validated", "patient_balance", day(2026, 3, 1)))
        b.post("payment:c10", day(2026, 3, 1),
               line(EntryKind.PATIENT_PAYMENT, "60", "c10", None))
        # c11: sent in October, never answered
        b.sent(ids["c11"], day(2025, 10, 3))
        # c12: rejected, back to draft
        b.moves(ids["c12"], "draft", ("validated", "submitted", day(2026, 3, 11)),
                ("submitted", "rejected", day(2026, 3, 12)),
                ("rejected", "draft", day(2026, 3, 12)))
        for n, (received, applied) in enumerate((
                (noon(day(2026, 1, 20), 8), noon(day(2026, 1, 20), 14)),
                (noon(day(2026, 2, 5), 9), noon(day(2026, 2, 6), 9)),
                (noon(day(2026, 3, 5), 9), None))):
            work.session.add(InboundDocumentRow(
                channel="mock", document_id=f"era-{n}", kind="835", content="ISA*",
                content_sha256=f"{n:064d}", status="applied" if applied else "received",
                received_at=received, applied_at=applied))
    return Claims(ids)


@pytest.fixture
def claims(medbill_app: Medbill) -> Claims:
    return fixture_claims(medbill_app)


@pytest.fixture(autouse=True)
def _no_kept_agings() -> None:
    forget()  # each test's database is new: nothing kept from another's


def report(app: Medbill) -> Any:
    with app.unit_of_work() as work:
        return kpi_report(work, period_from=START, period_to=END)


def trend(figure: Any) -> list[Decimal | None]:
    return [point.value for point in figure.trend]


# -- the figures, by hand -----------------------------------------------------------------------

def test_clean_claim_rate(medbill_app: Medbill, claims: Claims) -> None:
    figure = report(medbill_app).figure(Kpi.CLEAN_CLAIM_RATE)
    # first claims sent: Jan c7 c1 c2 c3, Feb c4 c6 c5, Mar c12 (c8 is a correction, c9 and
    # c11 were sent before the period, c10 never); rejected: c3 (Jan), c12 (Mar)
    assert (figure.total.numerator, figure.total.denominator) == (6, 8)
    assert figure.value == D(6) / D(8) == D("0.75")
    assert figure.display == "75.0%"
    assert trend(figure) == [D(3) / D(4), D(3) / D(3), D(0) / D(1)]


def test_charge_lag(medbill_app: Medbill, claims: Claims) -> None:
    figure = report(medbill_app).figure(Kpi.CHARGE_LAG)
    # days DOS -> first sent: Jan c1 3, c2 2, c3 5 (first sending 01-20), c7 2 = 12 / 4
    # Feb c4 2, c5 10, c6 2 = 14 / 3; Mar c12 1 / 1; period 27 / 8
    assert [(p.numerator, p.denominator) for p in figure.trend] == [(12, 4), (14, 3), (1, 1)]
    assert trend(figure) == [D(3), D(14) / D(3), D(1)]
    assert figure.value == D(27) / D(8) == D("3.375")
    assert figure.display == "3.4 days"  # 3.375 half up to 0.1
    # median of 1 2 2 2 2 3 5 10: (2 + 2) / 2
    assert figure.median == D(2)


def test_first_pass_and_denial_rates(medbill_app: Medbill, claims: Claims) -> None:
    result = report(medbill_app)
    first_pass, denial = result.figure(Kpi.FIRST_PASS_RATE), result.figure(Kpi.DENIAL_RATE)
    # first answers: Jan c9 (denied), c1, c2 (denied), c7; Feb c3, c4 (a line denied);
    # Mar c5 (to the patient: resolved). c2's appeal payment and c8's answer are not first.
    assert [(p.numerator, p.denominator) for p in first_pass.trend] == [(2, 4), (1, 2), (1, 1)]
    assert [(p.numerator, p.denominator) for p in denial.trend] == [(2, 4), (1, 2), (0, 1)]
    assert first_pass.value == D(4) / D(7)
    assert denial.value == D(3) / D(7)
    assert denial.display == "42.9%"  # 42.857... half up


def test_denial_breakdowns(medbill_app: Medbill, claims: Claims) -> None:
    result = report(medbill_app)
    assert [(line.key, line.claims, line.amount) for line in result.denials_by_carc] == [
        ("CO-50", 1, D("200.00")), ("CO-29", 1, D("80.00")), ("CO-97", 1, D("50.00"))]
    assert all(line.label for line in result.denials_by_carc)  # the CARC in words
    # acme answered c1 c2 c5 c7 (c2 denied, 200); bluecross c3 c4 (c4, 50); medicare c9 (80)
    assert [(line.key, line.claims, line.adjudicated, line.amount, line.rate)
            for line in result.denials_by_payer] == [
        ("acme", 1, 4, D("200.00"), D(1) / D(4)),
        ("bluecross", 1, 2, D("50.00"), D(1) / D(2)),
        ("medicare", 1, 1, D("80.00"), D(1))]
    # denied claims c9 (99213 80), c2 (99213 200), c4 (99214 250, 36415 50)
    assert [(line.key, line.claims, line.amount) for line in result.denials_by_procedure] == [
        ("99213", 2, D("280.00")), ("99214", 1, D("250.00")), ("36415", 1, D("50.00"))]


def test_net_collection_rate(medbill_app: Medbill, claims: Claims) -> None:
    figure = report(medbill_app).figure(Kpi.NET_COLLECTION_RATE)
    # payments: Jan c1 80 + c7 190 = 270; Feb c2 150 + c3 100 + c4 200 + c8 10 = 460;
    #           Mar c5 110 + c10 60 = 170
    # charges:  Jan 250 + 100 + 200 + 150 = 700; Feb 300 + 100 + 120 = 520; Mar 60 + 90 = 150
    # contractual: Jan 20 + 50 = 70; Feb 50 + 50 + 50 = 150; Mar 0 (c9's write-off is not)
    assert [(p.numerator, p.denominator) for p in figure.trend] == [
        (D(270), D(630)), (D(460), D(370)), (D(170), D(150))]
    assert trend(figure) == [D(270) / D(630), D(460) / D(370), D(170) / D(150)]
    assert figure.value == D(900) / D(1150)
    assert figure.display == "78.3%"


def test_days_in_ar(medbill_app: Medbill, claims: Claims) -> None:
    figure = report(medbill_app).figure(Kpi.DAYS_IN_AR)
    # balance: before 2025-11 500 (c11); Dec +80 (c9) = 580; Jan +700 -270 -70 -80 = 860;
    #          Feb +520 -460 -150 = 770; Mar +150 -170 = 750
    # net revenue: Nov 0, Dec 80, Jan 630, Feb 370, Mar 150
    # Jan: 860 / ((0 + 80 + 630) / 92 days)   (Nov 30 + Dec 31 + Jan 31)
    # Feb: 770 / ((80 + 630 + 370) / 90 days) (Dec 31 + Jan 31 + Feb 28)
    # Mar: 750 / ((630 + 370 + 150) / 90 days)
    assert [p.numerator for p in figure.trend] == [D(860), D(770), D(750)]
    assert trend(figure) == [D(860 * 92) / D(710), D(770 * 90) / D(1080),
                             D(750 * 90) / D(1150)]
    assert figure.value == D(67500) / D(1150)
    assert figure.display == "58.7 days"


def test_aged_ar(medbill_app: Medbill, claims: Claims) -> None:
    result = report(medbill_app)
    over_90, over_120 = result.figure(Kpi.AR_OVER_90), result.figure(Kpi.AR_OVER_120)
    # Jan 31: c11 500 (sent 2025-10-03: 120 days, over 90, not over 120), c7 10, c2 200,
    #         c3 150 = 860
    # Feb 28: c11 500 (148 days), c4 50, c5 100, c6 120 = 770
    # Mar 31: c11 500 (179 days), c4 50, c6 120, c12 90 = 760 (c5's credit of 10 is not aged)
    assert [(p.numerator, p.denominator) for p in over_90.trend] == [
        (D(500), D(860)), (D(500), D(770)), (D(500), D(760))]
    assert [p.numerator for p in over_120.trend] == [D(0), D(500), D(500)]
    assert over_120.trend[0].value == D(0)
    assert over_90.value == D(500) / D(760)
    assert over_90.display == "65.8%"


def test_kept_month_end_agings_see_a_back_dated_posting(medbill_app: Medbill,
                                                        claims: Claims) -> None:
    before = report(medbill_app).figure(Kpi.AR_OVER_90)
    assert [p.numerator for p in before.trend] == [D(500), D(500), D(500)]
    # written off on 01-15 but posted now: every month end from January on loses c11's 500
    with medbill_app.unit_of_work() as work:
        Ledger(work.session, actor="tester").post("writeoff:c11", "test", [
            LedgerLine(EntryKind.WRITE_OFF, D(500), patient_id=patient_of(work, claims["c11"]),
                       claim_id=claims["c11"], payer_key="bluecross",
                       bucket=Bucket.INSURANCE)], effective_date=date(2026, 1, 15))
    after = report(medbill_app).figure(Kpi.AR_OVER_90)
    # Jan 860 - 500 = 360; Feb 770 - 500 = 270; Mar 760 - 500 = 260
    assert [(p.numerator, p.denominator) for p in after.trend] == [
        (D(0), D(360)), (D(0), D(270)), (D(0), D(260))]


def test_era_lag(medbill_app: Medbill, claims: Claims) -> None:
    figure = report(medbill_app).figure(Kpi.ERA_LAG)
    # Jan one 835, 6 hours; Feb one, 24 hours; Mar none posted (n/a)
    assert trend(figure) == [D(6), D(24), None]
    assert figure.trend[2].as_json(figure.definition.unit)["display"] == "n/a"
    assert figure.value == D(30) / D(2) == D(15)


def test_payer_mix(medbill_app: Medbill, claims: Claims) -> None:
    result = report(medbill_app)
    # charges in the period: acme 250 + 100 + 200 + 100 + 120 + 90 = 860, bluecross 150 + 300
    # = 450, self-pay 60 (c10): 1370. Payments: acme 80 + 190 + 150 + 10 = 430, bluecross
    # 100 + 200 = 300, patients 110 + 60 = 170: 900
    assert [(s.payer, s.charges, s.payments) for s in result.payer_mix] == [
        ("acme", D(860), D(430)), ("bluecross", D(450), D(300)),
        ("(patients)", D(0), D(170)), ("(self-pay)", D(60), D(0))]
    assert result.payer_mix[0].charge_share == D(860) / D(1370)
    assert result.payer_mix[0].payment_share == D(430) / D(900)
    march = dict(result.payer_mix_trend)["2026-03"]
    assert [(s.payer, s.charges) for s in march] == [
        ("acme", D(90)), ("(patients)", D(0)), ("(self-pay)", D(60))]


# -- the claims behind the figures ------------------------------------------------------------

def drill(app: Medbill, kpi: Kpi, part: Part = Part.NUMERATOR, **kwargs: Any) -> list[int]:
    with app.unit_of_work() as work:
        return [claim.id for claim in kpi_claims(work, kpi, part=part, period_from=START,
                                                  period_to=END, limit=100, **kwargs)]


def test_drill_downs(medbill_app: Medbill, claims: Claims) -> None:
    app = medbill_app
    assert drill(app, Kpi.CLEAN_CLAIM_RATE) == claims.of("c1", "c2", "c7", "c4", "c5", "c6")
    assert drill(app, Kpi.CLEAN_CLAIM_RATE, Part.DENOMINATOR) == claims.of(
        "c1", "c2", "c3", "c7", "c4", "c5", "c6", "c12")
    assert drill(app, Kpi.CLEAN_CLAIM_RATE, month="2026-03") == []
    assert drill(app, Kpi.DENIAL_RATE) == claims.of("c9", "c2", "c4")
    assert drill(app, Kpi.FIRST_PASS_RATE, month="2026-01") == claims.of("c1", "c7")
    assert drill(app, Kpi.AR_OVER_90) == claims.of("c11")
    assert drill(app, Kpi.AR_OVER_90, Part.DENOMINATOR) == claims.of("c11", "c4", "c6", "c12")
    assert drill(app, Kpi.AR_OVER_120, month="2026-01") == []
    assert drill(app, Kpi.DAYS_IN_AR) == claims.of("c11", "c4", "c5", "c6", "c12")
    assert drill(app, Kpi.NET_COLLECTION_RATE, month="2026-03") == claims.of("c5", "c10")
    assert drill(app, Kpi.ERA_LAG) == []
    # pages: two at a time, after the last id of the page before
    everything = drill(app, Kpi.CLEAN_CLAIM_RATE, Part.DENOMINATOR)
    with app.unit_of_work() as work:
        first = kpi_claims(work, Kpi.CLEAN_CLAIM_RATE, part=Part.DENOMINATOR,
                           period_from=START, period_to=END, limit=2)
        second = kpi_claims(work, Kpi.CLEAN_CLAIM_RATE, part=Part.DENOMINATOR,
                            period_from=START, period_to=END, limit=2, after_id=first[-1].id)
    assert [c.id for c in first + second] == everything[:4]


# -- edges --------------------------------------------------------------------------------------

def test_no_claims_is_not_a_division_error(medbill_app: Medbill) -> None:
    result = report(medbill_app)
    for figure in result.figures:
        assert figure.value is None, figure.kpi
        assert figure.display == "n/a"
    assert result.denials_by_carc == result.payer_mix == ()


def test_period_checks() -> None:
    assert default_period(date(2026, 12, 6)) == (date(2026, 1, 1), date(2026, 12, 6))
    assert default_period(date(2026, 3, 31)) == (date(2025, 4, 1), date(2026, 3, 31))
    with pytest.raises(ValidationFailed, match="from: is after"):
        check_period(date(2026, 3, 1), date(2026, 2, 1))
    between = "must be a date from 1900-01-01 to 2999-12-31"
    with pytest.raises(ValidationFailed, match=f"^period: from: {between}$"):
        check_period(date(1, 1, 1), date(2026, 2, 1))
    with pytest.raises(ValidationFailed, match=f"^period: to: {between}$"):
        check_period(None, date(1, 2, 1))
    # the end of the period too: a day either side of it overflowed (OverflowError, a 500)
    with pytest.raises(ValidationFailed, match=f"^period: to: {between}$"):
        check_period(date(9999, 12, 1), date(9999, 12, 30))
    assert check_period(date(2999, 12, 1), date(2999, 12, 31)) == (date(2999, 12, 1),
                                                                   date(2999, 12, 31))
    with pytest.raises(ValidationFailed, match="at most 36 months"):
        check_period(date(2020, 1, 1), date(2026, 2, 1))


def test_median() -> None:
    assert median({}) is None
    assert median({5: 1}) == D(5)
    assert median({1: 1, 3: 1}) == D(2)
    assert median({1: 2, 9: 1}) == D(1)


def test_front_desk_cannot_read_the_figures(medbill_app: Medbill) -> None:
    desk = Principal(kind=PrincipalKind.USER, id=7, name="desk", role=Role.FRONT_DESK,
                     practice_id=1)
    with medbill_app.unit_of_work(principal=desk) as work, pytest.raises(PermissionDenied):
        kpi_report(work)


def test_json_and_csv_carry_the_same_numbers(medbill_app: Medbill, claims: Claims) -> None:
    result = report(medbill_app)
    data = json.loads(json.dumps(result.as_json()))
    clean = next(f for f in data["figures"] if f["kpi"] == "clean_claim_rate")
    assert (clean["numerator"], clean["denominator"], clean["value"]) == (6, 8, "0.75")
    assert clean["definition"].startswith("Encounters whose first claim")
    assert data["rounding"].startswith("half up")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(result.csv_rows()[0]))
    writer.writeheader()
    writer.writerows(result.csv_rows())
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert len(rows) == len(result.figures) * (len(MONTHS) + 1)
    net = {row["month"]: row for row in rows if row["kpi"] == "net_collection_rate"}
    assert D(net["2026-01"]["value"]) == D(270) / D(630)
    assert net["period"]["numerator"] == "900.00"



# -- the same numbers on the command line and over HTTP -----------------------------------------

@pytest.fixture
def config_file(medbill_app: Medbill, tmp_path: Path) -> Path:
    """A medbill.toml on the fixture's database (SQLite or PostgreSQL)."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(medbill_app.config.database_url, extra=BLUECROSS),
                    encoding="utf-8")
    return path


PERIOD = ("--from", START.isoformat(), "--to", END.isoformat())


def test_cli_json_csv_and_api_give_the_same_numbers(medbill_app: Medbill, claims: Claims,
                                                    config_file: Path) -> None:
    expected = json.loads(json.dumps(report(medbill_app).as_json()))
    from_cli = json.loads(ok(config_file, "report", "kpi", "--json", *PERIOD).stdout)
    assert from_cli == expected
    rows = list(csv.DictReader(io.StringIO(ok(config_file, "report", "kpi", "--csv",
                                              *PERIOD).stdout)))
    for figure in expected["figures"]:
        for point in figure["trend"]:
            row = next(r for r in rows if (r["kpi"], r["month"]) == (figure["kpi"],
                                                                      point["month"]))
            assert (row["numerator"], row["denominator"], row["value"] or None) == (
                str(point["numerator"]), str(point["denominator"]), point["value"])
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as client:
        response = client.get("/v1/reports/kpi", headers=AUDITOR,
                              params={"from": START.isoformat(), "to": END.isoformat()})
    assert response.status_code == 200, response.text
    assert response.json() == expected
    clean = next(f for f in response.json()["figures"] if f["kpi"] == "clean_claim_rate")
    assert (clean["numerator"], clean["denominator"], clean["display"]) == (6, 8, "75.0%")


def test_cli_table_and_drill_down(medbill_app: Medbill, claims: Claims,
                                  config_file: Path) -> None:
    table = ok(config_file, "report", "kpi", *PERIOD).stdout
    assert "Clean-claim rate" in table and "75.0%" in table and "median 2" in table
    listed = json.loads(ok(config_file, "report", "kpi-claims", "denial_rate", "--json",
                           *PERIOD).stdout)
    assert [claim["id"] for claim in listed] == claims.of("c9", "c2", "c4")
    error = one_line_error(cli(config_file, "report", "kpi", "--from", "2026-04-01",
                               "--to", "2026-03-01"))
    assert error == "error: period: from: is after the end of the period"
    error = one_line_error(cli(config_file, "report", "kpi-claims", "nope", *PERIOD))
    assert error.startswith("error: drill-down: kpi: must be one of days_in_ar, ")


def test_api_drill_down_pages(medbill_app: Medbill, claims: Claims) -> None:
    period = {"from": START.isoformat(), "to": END.isoformat()}
    seen: list[int] = []
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as client:
        cursor = None
        for _ in range(10):
            response = client.get("/v1/reports/kpi/clean_claim_rate/claims", headers=AUDITOR,
                                  params={**period, "part": "denominator", "limit": 3,
                                          **({"cursor": cursor} if cursor else {})})
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [claim["id"] for claim in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == claims.of("c1", "c2", "c3", "c7", "c4", "c5", "c6", "c12")
        # a cursor of another figure's list is refused, not followed
        other = client.get("/v1/reports/kpi/denial_rate/claims", headers=AUDITOR,
                           params={**period, "limit": 1}).json()["next_cursor"]
        assert_problem(client.get("/v1/reports/kpi/clean_claim_rate/claims", headers=AUDITOR,
                                  params={**period, "cursor": other}), 422, "validation-failed")
        assert_problem(client.get("/v1/reports/kpi/denial_rate/claims", headers=AUDITOR,
                                  params={**period, "month": "2025-12"}), 422,
                       "validation-failed")
        denied = client.get("/v1/reports/kpi/denial_rate/claims", headers=AUDITOR,
                            params={**period, "month": "2026-02"}).json()
        assert [claim["claim_number"] for claim in denied["data"]] == ["K00004"]


def test_front_desk_gets_403_from_the_api(medbill_app: Medbill) -> None:
    """OTHER is a front-desk user."""
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as client:
        for path in ("/v1/reports/kpi", "/v1/reports/kpi/denial_rate/claims"):
            assert_problem(client.get(path, headers=OTHER), 403, "permission-denied")


def test_another_practice_sees_none_of_it(medbill_app: Medbill, claims: Claims) -> None:
    first = medbill_app.default_practice_id()
    assert first is not None
    owner = Principal(kind=PrincipalKind.USER, id=0, name="owner", practice_id=first,
                      role=Role.ADMINISTRATOR, bootstrap=True)
    with medbill_app.unit_of_work(principal=owner) as work:
        other = add_practice(work, owner, "north", "North Clinic")
    north = Principal(kind=PrincipalKind.USER, id=9, name="nora", role=Role.BILLING_MANAGER,
                      practice_id=other.id)
    with medbill_app.unit_of_work(principal=north) as work:
        result = kpi_report(work, period_from=START, period_to=END)
        assert [figure.value for figure in result.figures] == [None] * len(result.figures)
        assert result.payer_mix == result.denials_by_payer == ()
        for kpi in Kpi:
            for part in Part:
                assert kpi_claims(work, kpi, part=part, period_from=START,
                                  period_to=END) == [], (kpi, part)

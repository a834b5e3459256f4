"""The KPIs' kept months and month-end agings (:mod:`medbill_core.services.kpi_rollups`,
:mod:`medbill_core.services.kpi_aging_cache`): a report reading them gives exactly the
figures computed from scratch, after back-dated changes of every kind that could make a kept
month wrong. On the hand-computed fixture of ``test_kpi.py`` (its figures are the oracle
there; here the oracle is ``kpi_report(keep=False)``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from test_kpi import END, START, Claims, _Builder, fixture_claims, noon, patient_of

from medbill_core.app import Medbill
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.services.kpi import Kpi, kpi_report
from medbill_core.services.kpi_aging_cache import forget
from medbill_core.storage.schema import ClaimTransitionRow, KpiAgingRow, KpiMonthRollupRow

D = Decimal
#: the kept months of the fixture's period: the two before it (days in A/R looks back) too
KEPT = ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]


@pytest.fixture
def claims(medbill_app: Medbill) -> Claims:
    return fixture_claims(medbill_app)


def stamps(app: Medbill) -> dict[str, tuple[int, Any]]:
    """Each kept month's ledger mark and when it was computed (a recomputed month changes)."""
    with app.unit_of_work() as work:
        return {month: (mark, at) for month, mark, at in work.session.execute(
            select(KpiMonthRollupRow.month, KpiMonthRollupRow.ledger_id,
                   KpiMonthRollupRow.computed_at))}


def reports(app: Medbill) -> tuple[dict[str, Any], dict[str, Any]]:
    """The period's report through the kept rows (read-only, as the API reads it) and from
    scratch."""
    manager = Principal(kind=PrincipalKind.USER, id=1, name="manager",
                        practice_id=app.default_practice_id(), role=Role.BILLING_MANAGER)
    with app.unit_of_work(principal=manager, read_only=True) as work:
        kept = kpi_report(work, period_from=START, period_to=END).as_json()
    with app.unit_of_work(principal=manager, read_only=True) as work:
        scratch = kpi_report(work, period_from=START, period_to=END, keep=False).as_json()
    return kept, scratch


def kept_months(app: Medbill) -> list[str]:
    with app.unit_of_work() as work:
        return sorted(work.session.scalars(select(KpiMonthRollupRow.month)))


def value(report: dict[str, Any], kpi: Kpi) -> list[Any]:
    figure = next(f for f in report["figures"] if f["kpi"] == kpi.value)
    return [figure["value"], *[point["value"] for point in figure["trend"]]]


def test_a_read_only_report_keeps_the_closed_months(medbill_app: Medbill,
                                                    claims: Claims) -> None:
    kept, scratch = reports(medbill_app)
    assert kept == scratch
    assert kept_months(medbill_app) == KEPT
    with medbill_app.unit_of_work() as work:
        assert sorted(work.session.scalars(select(KpiAgingRow.as_of))) == [
            date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    again, _ = reports(medbill_app)
    assert again == kept


def test_the_report_reads_the_kept_rows(medbill_app: Medbill, claims: Claims) -> None:
    """Proof the equality below is not two computations: a kept month altered in place (never
    done: the rows are append-only) shows in the report, and forget() drops it."""
    before, _ = reports(medbill_app)
    with medbill_app.unit_of_work() as work:
        row = work.session.scalar(select(KpiMonthRollupRow).where(
            KpiMonthRollupRow.month == "2026-02"))
        assert row is not None
        row.figures = {**row.figures, "sent": []}  # February's three submissions gone
        aging = work.session.scalar(select(KpiAgingRow).where(
            KpiAgingRow.as_of == date(2026, 1, 31)))
        assert aging is not None
        aging.over_90 = D(0)
    altered, scratch = reports(medbill_app)
    assert value(altered, Kpi.CLEAN_CLAIM_RATE)[2] is None  # no submissions: n/a
    assert value(altered, Kpi.AR_OVER_90)[1] == "0"
    assert altered != scratch == before
    with medbill_app.unit_of_work() as work:
        forget(work)
    assert kept_months(medbill_app) == []
    assert reports(medbill_app)[0] == before


def test_kept_months_equal_a_computation_from_scratch_after_back_dated_changes(
        medbill_app: Medbill, claims: Claims) -> None:
    before, _ = reports(medbill_app)
    kept_before = stamps(medbill_app)
    with medbill_app.unit_of_work() as work:
        b = _Builder(work)
        # a write-off effective in January, posted now: Jan .. Mar balances and agings
        b.post("writeoff:c11", date(2026, 1, 15), LedgerLine(
            EntryKind.WRITE_OFF, D(500), patient_id=patient_of(work, claims["c11"]),
            claim_id=claims["c11"], payer_key="bluecross", bucket=Bucket.INSURANCE))
        # c6's first answer arrives late, dated in February, denied with a line: February's
        # answers, denials by CARC, payer and procedure
        b.answer(claims["c6"], claims["c6"], "acme", date(2026, 2, 27), "4", "0", "835:L:c6")
        b.denial(claims["c6"], "acme", date(2026, 2, 27), "CO-45", "120", "835:L:c6")
        # a denial line added to c1's January answer (its posting re-applied)
        b.denial(claims["c1"], "acme", date(2026, 1, 20), "CO-16", "20", "835:T1:c1")
        # c1 (sent in January) rejected now: January's clean-claim rate
        work.session.add(ClaimTransitionRow(claim_id=claims["c1"], source="submitted",
                                            target="rejected", actor="tester",
                                            at=noon(date(2026, 11, 30))))
        # a new claim whose submission is recorded with a March date
        b.count = 50  # past the fixture's claim numbers and patients
        c13 = b.claim("acme", date(2026, 3, 2), (("99214", "300"),))
        work.session.flush()
        b.sent(c13, date(2026, 3, 4))
    after, scratch = reports(medbill_app)
    assert after == scratch
    for kpi in (Kpi.AR_OVER_90, Kpi.FIRST_PASS_RATE, Kpi.DENIAL_RATE, Kpi.CLEAN_CLAIM_RATE,
                Kpi.CHARGE_LAG, Kpi.DAYS_IN_AR):
        assert value(after, kpi) != value(before, kpi), kpi
    assert after["denials"] != before["denials"]
    # nothing dated into November or December 2025: their rows still serve (not recomputed);
    # January .. March were recomputed and kept again
    kept_after = stamps(medbill_app)
    assert sorted(kept_after) == KEPT
    assert [kept_after[m] == kept_before[m] for m in KEPT] == [True, True, False, False,
                                                                 False]


def test_a_posting_dated_after_the_kept_months_keeps_them(medbill_app: Medbill,
                                                          claims: Claims) -> None:
    reports(medbill_app)
    kept = stamps(medbill_app)
    with medbill_app.unit_of_work() as work:
        _Builder(work).post("payment:c6", date(2026, 4, 2), LedgerLine(
            EntryKind.PAYER_PAYMENT, D(20), patient_id=patient_of(work, claims["c6"]),
            claim_id=claims["c6"], payer_key="acme"))
    after, scratch = reports(medbill_app)
    assert after == scratch
    assert stamps(medbill_app) == kept




def test_a_reader_does_not_wait_to_keep_months(medbill_app: Medbill, claims: Claims) -> None:
    """SQLite: a long posting holds the write lock; the dashboard answers at once, from
    scratch, and keeps nothing (the next report will)."""
    if not medbill_app.config.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers do not block the kept rows' upsert")
    with medbill_app.unit_of_work() as work:  # BEGIN IMMEDIATE: the write lock, held
        work.session.execute(select(1))
        kept, scratch = reports(medbill_app)
        assert kept == scratch
        assert work.session.scalars(select(KpiMonthRollupRow.month)).all() == []
    assert reports(medbill_app)[0] == kept
    assert kept_months(medbill_app) == KEPT

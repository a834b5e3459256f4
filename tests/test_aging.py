"""One aging rule: ``ar aging`` and patient statements put a balance in the same bucket, with
the edges inclusive (day 30 is still current, day 31 is 31-60)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from medbill_core.services.aging import (
    BUCKETS,
    age_bucket,
    days_old,
    dunning_stage,
    statement_column,
)
from medbill_core.services.receivables import aging
from medbill_core.services.statements import build_statement
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


@pytest.mark.parametrize(("days", "bucket", "column", "stage"), [
    (0, "0-30", "current", 0), (30, "0-30", "current", 0),
    (31, "31-60", "days_30", 1), (60, "31-60", "days_30", 1),
    (61, "61-90", "days_60", 2), (90, "61-90", "days_60", 2),
    (91, "91-120", "days_90_plus", 3), (120, "91-120", "days_90_plus", 3),
    (121, "121+", "days_90_plus", 4), (4000, "121+", "days_90_plus", 4)])
def test_bucket_edges_agree(days: int, bucket: str, column: str, stage: int) -> None:
    assert (age_bucket(days), statement_column(days), dunning_stage(days)) == (
        bucket, column, stage)


def test_days_are_counted_to_the_as_of_date_and_never_negative() -> None:
    assert days_old(date(2026, 1, 1), date(2026, 1, 31)) == 30
    assert days_old(date(2026, 2, 1), date(2026, 1, 31)) == 0


def test_statement_and_ar_aging_bucket_a_balance_alike(medbill_app) -> None:
    """Self-pay services 30, 31, 61, 91 and 121 days old: the patient line of ``ar aging``
    and the statement put each amount in the same bucket (the statement joins 91-120 and
    121+); before one module owned the rule, the statement aged day 30 as past due."""
    ages = {30: "1.00", 31: "2.00", 61: "4.00", 91: "8.00", 121: "16.00"}
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        for number, (age, charge) in enumerate(ages.items()):
            day = TODAY - timedelta(days=age)
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"AG-{number}",
                                         service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]}))
    with medbill_app.unit_of_work(read_only=True) as work:
        report = aging(work, as_of=TODAY)
        statement = build_statement(work, patient.id, statement_date=TODAY, cycle="T")
    assert report.patient.buckets == dict(zip(BUCKETS, (D("1.00"), D("2.00"), D("4.00"),
                                                        D("8.00"), D("16.00")), strict=True))
    shown = statement.aging
    assert (shown.current, shown.days_30, shown.days_60, shown.days_90_plus) == (
        D("1.00"), D("2.00"), D("4.00"), D("24.00"))
    assert statement.dunning_stage == 4

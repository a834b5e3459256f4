"""Which coverage is primary on a date: one rule for eligibility checks, estimates and billing."""

from __future__ import annotations

from datetime import date

from medbill_core.domain import CoverageOrder
from medbill_core.services.eligibility import primary_coverage
from medbill_core.testing import factories

DAY = date(2026, 6, 15)


def coverage(id: int, payer: str, **overrides):
    return factories.make_coverage(1, payer, id=id, **overrides)


def test_no_coverage_active_on_the_date_means_none() -> None:
    ended = coverage(1, "acme", start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))
    future = coverage(2, "bluecross", start_date=date(2026, 7, 1))
    assert primary_coverage([], DAY) is None
    assert primary_coverage([ended, future], DAY) is None


def test_the_primary_order_wins_among_active_plans_only() -> None:
    secondary = coverage(1, "medicare", order=CoverageOrder.SECONDARY)
    ended_primary = coverage(2, "acme", end_date=date(2026, 6, 14))
    primary = coverage(3, "bluecross", start_date=DAY)
    assert primary_coverage([secondary, ended_primary, primary], DAY) is primary
    # with the primary ended, the secondary is the one that pays first
    assert primary_coverage([secondary, ended_primary], DAY) is secondary


def test_same_order_the_patients_own_plan_before_a_dependents() -> None:
    as_dependent = coverage(1, "acme", dependent=True)
    own = coverage(2, "bluecross")
    assert primary_coverage([as_dependent, own], DAY) is own
    assert primary_coverage([own, as_dependent], DAY) is own


def test_same_order_and_relationship_the_newer_plan_then_the_first_entered() -> None:
    old = coverage(5, "acme", start_date=date(2024, 1, 1))
    new = coverage(7, "bluecross", start_date=date(2026, 1, 1))
    assert primary_coverage([old, new], DAY) is new
    first, second = coverage(3, "acme"), coverage(4, "bluecross")
    assert primary_coverage([second, first], DAY) is first

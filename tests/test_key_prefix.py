"""Families of keys (a payment's credit postings, an 835's adjudications) are found by their
prefix (:func:`medbill_core.storage.prefix_sql.starts_with`): literally and case and all on
both databases, and on SQLite from the key's unique index, not by reading every row (its LIKE
ignores case, so no index can answer it)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import PostingRow
from medbill_core.testing import factories

KEYS = ["credit:payment:12:1", "credit:payment:12:2", "credit:payment:123:1",
        "CREDIT:payment:12:3", "odd%_key:1", "odd*?[key]:1", "oddXYkey:1"]


def _post_keys(app: Medbill) -> None:
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        for key in KEYS:  # a payment each (a credit): the keys are what is looked at
            work.ledger.post(key, "test", [LedgerLine(EntryKind.PATIENT_PAYMENT,
                                                      Decimal("1.00"), patient_id=patient.id)],
                             effective_date=date(2026, 1, 5), allow_credit=True)


def _keys_starting(app: Medbill, prefix: str) -> list[str]:
    with app.unit_of_work() as work:
        return sorted(work.session.scalars(select(PostingRow.posting_key).where(
            starts_with(work.session, PostingRow.posting_key, prefix))))


@pytest.mark.parametrize(("prefix", "found"), [
    ("credit:payment:12:", ["credit:payment:12:1", "credit:payment:12:2"]),
    ("credit:payment:1", ["credit:payment:123:1", "credit:payment:12:1",
                          "credit:payment:12:2"]),
    ("odd%_", ["odd%_key:1"]),  # LIKE's wildcards, literally
    ("odd*?[", ["odd*?[key]:1"]),  # GLOB's wildcards, literally
    ("CREDIT:", ["CREDIT:payment:12:3"]),  # case and all
    ("nothing:", []),
])
def test_a_prefix_is_matched_literally_and_with_its_case(medbill_app: Medbill, prefix: str,
                                                         found: list[str]) -> None:
    _post_keys(medbill_app)
    assert _keys_starting(medbill_app, prefix) == sorted(found)


def test_sqlite_counts_a_family_of_postings_from_the_key_index(medbill_app: Medbill) -> None:
    if medbill_app.database.dialect != "sqlite":
        pytest.skip("the plan asked of SQLite")
    _post_keys(medbill_app)
    with medbill_app.unit_of_work() as work:
        query = select(func.count()).select_from(PostingRow).where(
            starts_with(work.session, PostingRow.posting_key, "credit:payment:12:"))
        compiled = query.compile(work.session.get_bind())
        raw = work.session.connection().connection.driver_connection
        plan = " | ".join(row[3] for row in raw.execute(
            f"EXPLAIN QUERY PLAN {compiled}", list(compiled.params.values())))
        assert work.session.scalar(query) == 2
    assert plan == ("SEARCH postings USING COVERING INDEX sqlite_autoindex_postings_1 "
                    "(posting_key>? AND posting_key<?)")

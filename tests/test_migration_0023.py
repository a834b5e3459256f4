"""Migration 0023 (tenancy) on a database that already holds records, both backends: a
practice is made for them when none exists, every record is stamped with it, coverages keep
their patients, and account numbers become unique per practice only."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from medbill_core.storage.database import Database

NOW = datetime(2026, 11, 1, 12, 0)


def _patient(session, patient_id: int, account: str, practice_id: int | None = None) -> None:
    columns = ", practice_id" if practice_id is not None else ""
    values = ", :practice" if practice_id is not None else ""
    session.execute(text(
        "INSERT INTO patients (id, account_number, last_name, first_name, birth_date, sex, "
        f"statement_hold, created_at, updated_at{columns}) VALUES (:id, :account, 'Doe', "
        f"'Sam', :born, 'F', :hold, :now, :now{values})"),
        {"id": patient_id, "account": account, "born": date(1980, 1, 1), "hold": False,
         "now": NOW, "practice": practice_id})


def test_upgrade_stamps_existing_records_with_one_practice(medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0022")
    with database.transaction() as session:
        _patient(session, 1, "A1")
        session.execute(text(
            "INSERT INTO coverages (id, patient_id, payer_key, coverage_order, member_id, "
            "relationship_code, created_at, updated_at) VALUES (1, 1, 'acme', 'P', 'M1', '18', "
            ":now, :now)"), {"now": NOW})
        session.execute(text(
            "INSERT INTO providers (id, npi, last_name, entity_type, created_at, updated_at) "
            "VALUES (1, '1234567893', 'Carter', '1', :now, :now)"), {"now": NOW})
    database.upgrade()
    with database.transaction() as session:
        practices = session.execute(text("SELECT id, code FROM practices")).all()
        stamped = {table: session.execute(text(f"SELECT practice_id FROM {table}")).scalars()
                   .all() for table in ("patients", "coverages", "providers")}
        session.execute(text("INSERT INTO practices (id, code, name, created_at, active) "
                             "VALUES (2, 'other', 'Other', :now, :yes)"),
                        {"now": NOW, "yes": True})
        _patient(session, 2, "A1", practice_id=2)  # the same account in another practice
    [(practice_id, code)] = practices
    assert code == "default"
    assert stamped == {"patients": [practice_id], "coverages": [practice_id],
                       "providers": [practice_id]}
    with pytest.raises(IntegrityError), database.transaction() as session:
        _patient(session, 3, "A1", practice_id=2)  # twice in one practice: refused
    database.dispose()


def test_upgrade_of_an_empty_database_makes_no_practice(medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade()
    with database.transaction() as session:
        assert session.execute(text("SELECT COUNT(*) FROM practices")).scalar() == 0
    database.dispose()

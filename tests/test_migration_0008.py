"""Migration 0008 (guarantors) on a database that already holds patients, coverages and two
statements of one patient on the same day (the duplicate of issue 10 item 17), both backends:
the tables other rows refer to are altered in place, and the old statements are numbered."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text

from medbill_core.storage.database import Database


def test_upgrade_keeps_data_and_numbers_same_day_statements(medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0007")
    now = datetime(2026, 11, 1, 12, 0)
    with database.transaction() as session:
        session.execute(text(
            "INSERT INTO patients (id, account_number, last_name, first_name, birth_date, sex, "
            "statement_hold, created_at, updated_at) VALUES (1, 'A1', 'Doe', 'Sam', :born, 'F', "
            ":hold, :now, :now)"), {"born": date(1980, 1, 1), "hold": False, "now": now})
        session.execute(text(
            "INSERT INTO coverages (id, patient_id, payer_key, coverage_order, member_id, "
            "relationship_code, created_at, updated_at) VALUES (1, 1, 'acme', 'P', 'M1', '18', "
            ":now, :now)"), {"now": now})
        for number, cycle in ((1, "c1"), (2, "c2")):
            session.execute(text(
                "INSERT INTO statements (id, statement_number, patient_id, cycle, "
                "statement_date, due_date, balance_due, dunning_stage, renderer, filename, "
                "content_sha256, status, created_at) VALUES (:id, :number, 1, :cycle, :day, "
                ":day, 100, 0, 'pdf', 'f', 'x', 'rendered', :now)"),
                {"id": number, "number": f"N{number}", "cycle": cycle, "day": date(2026, 11, 1),
                 "now": now})
    database.upgrade()
    with database.transaction() as session:
        statements = session.execute(text(
            "SELECT id, guarantor_key, same_day_number FROM statements ORDER BY id")).all()
        patient = session.execute(text(
            "SELECT account_number, guarantor_id, merged_into_id FROM patients")).one()
        coverages = session.execute(text("SELECT COUNT(*) FROM coverages")).scalar()
    database.dispose()
    assert [tuple(row) for row in statements] == [(1, "P1", 1), (2, "P1", 2)]
    assert tuple(patient) == ("A1", None, None) and coverages == 1

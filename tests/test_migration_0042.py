"""Migration 0042 (a practice's own numbers) on a database that already holds records, both
backends: the records stay, each PLB gets the practice of the remittance it came with (the
first practice for one older than the register), and claim numbers, received documents,
remittances, their exceptions and PLBs become unique per practice; the downgrade restores the
installation-wide constraints, and refuses while two practices share a number."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from medbill_core.storage.database import Database

NOW = datetime(2026, 12, 1, 12, 0)
DAY = date(2026, 11, 20)
#: the PLB posting keys the records hold: one per remittance, one posted before the register
PLBS = ("835:ACME1:T1:PLB:1", "835:ACME1:T10:PLB:1", "835:OLDPAYER:T0:PLB:1")


def _practice(connection: Connection, practice_id: int, code: str) -> None:
    connection.execute(text("INSERT INTO practices (id, code, name, created_at, active) "
                            "VALUES (:id, :code, :code, :now, :yes)"),
                       {"id": practice_id, "code": code, "now": NOW, "yes": True})


def _patient(connection: Connection, patient_id: int, practice_id: int) -> None:
    connection.execute(text(
        "INSERT INTO patients (id, account_number, last_name, first_name, birth_date, sex, "
        "statement_hold, created_at, updated_at, practice_id) VALUES (:id, 'A1', 'Doe', 'Sam', "
        ":born, 'F', :no, :now, :now, :practice)"),
        {"id": patient_id, "born": date(1980, 1, 1), "no": False, "now": NOW,
         "practice": practice_id})


def _claim(connection: Connection, claim_id: int, number: str, practice_id: int) -> None:
    connection.execute(text(
        "INSERT INTO claims (id, claim_number, patient_id, billing_provider_npi, frequency, "
        "place_of_service, service_date_from, service_date_to, diagnoses, accepts_assignment, "
        "benefits_assigned, release_of_information, state, total_charge, created_at, "
        "updated_at, practice_id) VALUES (:id, :number, :practice, '1234567893', '1', '11', "
        ":day, :day, '[\"I10\"]', :yes, :yes, :yes, 'submitted', 12500, :now, :now, "
        ":practice)"),
        {"id": claim_id, "number": number, "practice": practice_id, "day": DAY, "yes": True,
         "now": NOW})


def _line(connection: Connection, claim_id: int) -> None:
    connection.execute(text(
        "INSERT INTO claim_lines (claim_id, line_number, procedure_code, modifiers, units, "
        "unit_type, charge, diagnosis_pointers, service_date_from) VALUES (:claim, 1, '99213', "
        "'[]', '1', 'UN', 12500, '[1]', :day)"), {"claim": claim_id, "day": DAY})


def _document(connection: Connection, document_id: str, practice_id: int) -> None:
    connection.execute(text(
        "INSERT INTO inbound_documents (channel, document_id, kind, content, content_sha256, "
        "status, received_at, practice_id) VALUES ('api', :document, '835', 'ST*835', "
        ":document, 'applied', :now, :practice)"),
        {"document": document_id, "now": NOW, "practice": practice_id})


def _remittance(connection: Connection, trace: str, practice_id: int) -> None:
    connection.execute(text(
        "INSERT INTO remittances (trace_number, payer_ref, payer_id, payer_name, "
        "payment_amount, payment_method, payment_date, effective_date, received_at, posted_at, "
        "posted_count, posted_total, duplicate_count, duplicate_total, exception_count, "
        "exception_total, plb_count, plb_total, status, practice_id) VALUES (:trace, 'ACME1', "
        "'ACME1', 'Acme', 0, 'ACH', :day, :day, :now, :now, 0, 0, 0, 0, 1, 0, 1, 0, "
        "'exceptions', :practice)"),
        {"trace": trace, "day": DAY, "now": NOW, "practice": practice_id})


def _exception(connection: Connection, key: str, practice_id: int) -> None:
    connection.execute(text(
        "INSERT INTO remittance_exceptions (posting_key, trace_number, claim_number, reason, "
        "paid, created_at, resolved, practice_id) VALUES (:key, 'T1', 'RB9', "
        "'claim number not found', 0, :now, :no, :practice)"),
        {"key": key, "now": NOW, "no": False, "practice": practice_id})


def _plb(connection: Connection, key: str, practice_id: int | None = None) -> None:
    practice = (", practice_id", ", :practice") if practice_id is not None else ("", "")
    connection.execute(text(
        "INSERT INTO provider_adjustments (posting_key, trace_number, provider_id, "
        f"reason_code, amount, posted_at{practice[0]}) VALUES (:key, :trace, '1234567893', "
        f"'L6', -250, :now{practice[1]})"),
        {"key": key, "trace": key.split(":")[2], "now": NOW, "practice": practice_id})


def _records(connection: Connection) -> None:
    """Two practices' records as a database at 0041 holds them (every number unique)."""
    _practice(connection, 1, "default")
    _practice(connection, 2, "north")
    for practice_id in (1, 2):
        _patient(connection, practice_id, practice_id)
    _claim(connection, 1, "RB0000001", 1)
    _claim(connection, 2, "RB0000002", 2)
    for claim_id in (1, 2):
        _line(connection, claim_id)
    _document(connection, "sha-1", 1)
    _document(connection, "sha-2", 2)
    _remittance(connection, "T1", 1)
    _remittance(connection, "T10", 2)
    _exception(connection, "835:ACME1:T1:RB9:1", 1)
    for key in PLBS:
        _plb(connection, key)


def test_upgrade_keeps_the_records_and_makes_numbers_unique_per_practice(
        medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0041")
    with database.engine.begin() as connection:
        _records(connection)
    database.upgrade()
    with database.engine.begin() as connection:
        stamped = dict(connection.execute(text(
            "SELECT posting_key, practice_id FROM provider_adjustments")).all())
        counts = {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
                  for table in ("claims", "claim_lines", "inbound_documents", "remittances",
                                "remittance_exceptions")}
        # north may now use what the default practice used
        _claim(connection, 3, "RB0000001", 2)
        _document(connection, "sha-1", 2)
        _remittance(connection, "T1", 2)
        _exception(connection, "835:ACME1:T1:RB9:1", 2)
        _plb(connection, PLBS[0], 2)
    # the remittance T1 is the default practice's, T10 north's (not T1's: its own prefix);
    # the PLB older than the register is the first practice's
    assert stamped == {PLBS[0]: 1, PLBS[1]: 2, PLBS[2]: 1}
    assert counts == {"claims": 2, "claim_lines": 2, "inbound_documents": 2, "remittances": 2,
                      "remittance_exceptions": 1}
    # ... but one practice not twice
    for insert in (lambda c: _claim(c, 4, "RB0000001", 2),
                   lambda c: _document(c, "sha-1", 1),
                   lambda c: _remittance(c, "T10", 2),
                   lambda c: _exception(c, "835:ACME1:T1:RB9:1", 1),
                   lambda c: _plb(c, PLBS[1], 2)):
        with pytest.raises(IntegrityError), database.engine.begin() as connection:
            insert(connection)
    database.dispose()


def test_downgrade_restores_installation_wide_numbers_and_refuses_shared_ones(
        medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0041")
    with database.engine.begin() as connection:
        _records(connection)
    database.upgrade()
    with database.engine.begin() as connection:
        _claim(connection, 3, "RB0000001", 2)  # the default practice's number, in north
    with pytest.raises(RuntimeError, match="1 value.* of claims .claim_number. are used by "
                                           "more than one practice"):
        database.downgrade("0041")
    assert database.current_revision() == "0042"
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM claims WHERE id = 3"))
    database.downgrade("0041")
    assert database.current_revision() == "0041"
    with database.engine.begin() as connection:
        columns = connection.execute(text("SELECT * FROM provider_adjustments")).keys()
        assert "practice_id" not in columns
        # the claims table was rebuilt (SQLite) without taking its lines along
        assert connection.execute(text("SELECT COUNT(*) FROM claims")).scalar() == 2
        assert connection.execute(text("SELECT COUNT(*) FROM claim_lines")).scalar() == 2
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        _claim(connection, 3, "RB0000001", 2)  # installation-wide again
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        _plb(connection, PLBS[0])
    database.upgrade()  # and up again
    assert database.current_revision() == "0042"
    database.dispose()

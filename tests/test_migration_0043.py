"""Migration 0043 (a practice's own numbers) on a database that already holds records, both
backends: the records stay; each posting gets the practice of its ledger entries, each answer
and finding its claim's, each PLB its remittance's (the first practice for one older than the
register, or a posting without entries); claim numbers, received documents and every record an
835 posts (remittance, exceptions, PLBs, postings, answers, denials, findings) become unique
per practice; the downgrade restores the installation-wide constraints, and refuses while two
practices share a number."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError

from medbill_core.storage.database import Database

NOW = datetime(2026, 12, 1, 12, 0)
DAY = date(2026, 11, 20)
#: the PLB posting keys the records hold: one per remittance, one posted before the register
PLBS = ("835:ACME1:T1:PLB:1", "835:ACME1:T10:PLB:1", "835:OLDPAYER:T0:PLB:1")
#: the claim payments' posting keys: the default practice's claim 1, north's claim 2
ANSWERS = ("835:ACME1:T1:RB0000001:1", "835:ACME1:T10:RB0000002:1")


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


def _posting(connection: Connection, key: str, practice_id: int | None = None,
             claim_id: int | None = None) -> None:
    """A posting (with a payer payment entry on ``claim_id``'s account, when given)."""
    practice = (", practice_id", ", :practice") if practice_id is not None else ("", "")
    posting_id = connection.execute(text(
        f"INSERT INTO postings (posting_key, source, actor, posted_at{practice[0]}) VALUES "
        f"(:key, '835', 'tester', :now{practice[1]}) RETURNING id"),
        {"key": key, "now": NOW, "practice": practice_id}).scalar_one()
    if claim_id is not None:
        connection.execute(text(
            "INSERT INTO ledger_entries (posting_id, kind, amount, insurance_delta, "
            "patient_delta, agency_delta, claim_id, patient_id, payer_key, effective_date, "
            "practice_id) VALUES (:posting, 'payer_payment', 10000, -10000, 0, 0, :claim, "
            ":claim, 'acme', :day, :claim)"),
            {"posting": posting_id, "claim": claim_id, "day": DAY})


def _answer(connection: Connection, key: str, claim_id: int,
            practice_id: int | None = None) -> None:
    practice = (", practice_id", ", :practice") if practice_id is not None else ("", "")
    connection.execute(text(
        "INSERT INTO claim_adjudications (posting_key, claim_id, account_claim_id, payer_key, "
        f"claim_status, paid, paid_date, adjustments{practice[0]}) VALUES (:key, :claim, "
        f":claim, 'acme', '1', 10000, :day, '[]'{practice[1]})"),
        {"key": key, "claim": claim_id, "day": DAY, "practice": practice_id})


def _denial(connection: Connection, key: str, claim_id: int, practice_id: int) -> None:
    connection.execute(text(
        "INSERT INTO denials (posting_key, position, claim_id, account_claim_id, payer_key, "
        "group_code, reason_code, amount, action, rule, denied_on, status, created_at, "
        "practice_id) VALUES (:key, 0, :claim, :claim, 'acme', 'CO', '50', 2500, 'deny', "
        "'CO-50', :day, 'open', :now, :practice)"),
        {"key": key, "claim": claim_id, "day": DAY, "now": NOW, "practice": practice_id})


def _finding(connection: Connection, key: str, claim_id: int,
             practice_id: int | None = None) -> None:
    practice = (", practice_id", ", :practice") if practice_id is not None else ("", "")
    connection.execute(text(
        "INSERT INTO remittance_findings (finding_key, posting_key, claim_id, code, found_on, "
        f"message{practice[0]}) VALUES (:finding, :key, :claim, 'x.underpaid', :day, "
        f"'underpaid'{practice[1]})"),
        {"finding": f"{key}:0", "key": key, "claim": claim_id, "day": DAY,
         "practice": practice_id})


def _records(connection: Connection) -> None:
    """Two practices' records as a database at 0042 holds them (every number unique)."""
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
    for claim_id, key in enumerate(ANSWERS, start=1):
        _posting(connection, key, claim_id=claim_id)
        _answer(connection, key, claim_id)
        _denial(connection, key, claim_id, claim_id)
        _finding(connection, key, claim_id)
    _posting(connection, "adjustment:without-entries")


def test_upgrade_keeps_the_records_and_makes_numbers_unique_per_practice(
        medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0042")
    with database.engine.begin() as connection:
        _records(connection)
    database.upgrade()
    with database.engine.begin() as connection:
        stamped = {table: dict(connection.execute(text(
            f"SELECT {key}, practice_id FROM {table}")).all()) for table, key in (
            ("provider_adjustments", "posting_key"), ("postings", "posting_key"),
            ("claim_adjudications", "posting_key"), ("remittance_findings", "finding_key"))}
        counts = {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
                  for table in ("claims", "claim_lines", "inbound_documents", "remittances",
                                "remittance_exceptions", "ledger_entries", "denials")}
        # north may now use what the default practice used
        _claim(connection, 3, "RB0000001", 2)
        _document(connection, "sha-1", 2)
        _remittance(connection, "T1", 2)
        _exception(connection, "835:ACME1:T1:RB9:1", 2)
        _plb(connection, PLBS[0], 2)
        # ... and post the default practice's claim payment key to its own claim
        _posting(connection, ANSWERS[0], 2, claim_id=2)
        _answer(connection, ANSWERS[0], 2, 2)
        _denial(connection, ANSWERS[0], 2, 2)
        _finding(connection, ANSWERS[0], 2, 2)
    # the remittance T1 is the default practice's, T10 north's (not T1's: its own prefix);
    # the PLB older than the register, and the posting without entries, the first practice's
    assert stamped == {
        "provider_adjustments": {PLBS[0]: 1, PLBS[1]: 2, PLBS[2]: 1},
        "postings": {ANSWERS[0]: 1, ANSWERS[1]: 2, "adjustment:without-entries": 1},
        "claim_adjudications": {ANSWERS[0]: 1, ANSWERS[1]: 2},
        "remittance_findings": {f"{ANSWERS[0]}:0": 1, f"{ANSWERS[1]}:0": 2}}
    assert counts == {"claims": 2, "claim_lines": 2, "inbound_documents": 2, "remittances": 2,
                      "remittance_exceptions": 1, "ledger_entries": 2, "denials": 2}
    # ... but one practice not twice
    for insert in (lambda c: _claim(c, 4, "RB0000001", 2),
                   lambda c: _document(c, "sha-1", 1),
                   lambda c: _remittance(c, "T10", 2),
                   lambda c: _exception(c, "835:ACME1:T1:RB9:1", 1),
                   lambda c: _plb(c, PLBS[1], 2),
                   lambda c: _posting(c, ANSWERS[1], 2),
                   lambda c: _answer(c, ANSWERS[0], 1, 1),
                   lambda c: _denial(c, ANSWERS[1], 2, 2),
                   lambda c: _finding(c, ANSWERS[0], 2, 2)):
        with pytest.raises(IntegrityError), database.engine.begin() as connection:
            insert(connection)
    database.dispose()


def test_downgrade_restores_installation_wide_numbers_and_refuses_shared_ones(
        medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0042")
    with database.engine.begin() as connection:
        _records(connection)
    database.upgrade()
    head = database.current_revision()  # 0043 or a later revision
    with database.engine.begin() as connection:
        _claim(connection, 3, "RB0000001", 2)  # the default practice's number, in north
    with pytest.raises(RuntimeError, match="1 value.* of claims .claim_number. are used by "
                                           "more than one practice"):
        database.downgrade("0042")
    assert database.current_revision() == head
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM claims WHERE id = 3"))
    database.downgrade("0042")
    assert database.current_revision() == "0042"
    with database.engine.begin() as connection:
        for table in ("provider_adjustments", "postings", "claim_adjudications",
                      "remittance_findings"):
            columns = {column["name"] for column in inspect(connection).get_columns(table)}
            assert "practice_id" not in columns, table
        # the claims table was rebuilt (SQLite) without taking its lines along
        assert connection.execute(text("SELECT COUNT(*) FROM claims")).scalar() == 2
        assert connection.execute(text("SELECT COUNT(*) FROM claim_lines")).scalar() == 2
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        _claim(connection, 3, "RB0000001", 2)  # installation-wide again
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        _plb(connection, PLBS[0])
    with pytest.raises(IntegrityError), database.engine.begin() as connection:
        _posting(connection, ANSWERS[0])
    database.upgrade()  # and up again
    assert database.current_revision() == head
    database.dispose()

"""No PHI in logs or error messages.

Distinctive fake PHI goes through registration, coverage, claims, transitions,
ledger postings, imports with bad rows, validation errors, an illegal
transition, a database error, a failing plugin and CLI errors, with every
logger (medbill, SQLAlchemy, Alembic, psycopg, root) at DEBUG. No log record,
exception message or CLI error output may contain any of the PHI strings, in
any of the usual renderings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from medbill_core.app import Medbill
from medbill_core.cli.main import build_app
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    Address,
    ClaimState,
    Coverage,
    Patient,
    Relationship,
    Sex,
    Subscriber,
    validate_record,
)
from medbill_core.errors import MedbillError, PluginError
from medbill_core.hookspecs import hookimpl
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.services.importing import import_coverages, import_patients
from medbill_core.storage.schema import PatientRow
from medbill_core.testing.factories import make_claim, make_provider

LAST, FIRST, MIDDLE = "Zanzibarova", "Quillonette", "Ptolemaia"
SUBSCRIBER_FIRST = "Bartholomeux"
BIRTH_DATE = date(1961, 7, 4)
SUBSCRIBER_BIRTH_DATE = date(1958, 2, 11)
MEMBER_ID = "QZW98765432"
STREET, NEW_STREET, CITY = "742 Evergreenia Terrace", "1313 Mockingbirdia Lane", "Quahogsburg"
ZIP = "999501234"
PHONE = "3125550199"
EMAIL = "quillonette.zanzibarova@example.org"


def renderings(day: date) -> list[str]:
    return [day.isoformat(), day.strftime("%Y%m%d"), day.strftime("%m/%d/%Y"),
            day.strftime("%m%d%Y"), repr(day), f"{day.year}, {day.month}, {day.day}"]


PHI_STRINGS = [
    LAST, FIRST, MIDDLE, SUBSCRIBER_FIRST, MEMBER_ID, "QZW 98765432", "Evergreenia",
    "Mockingbirdia", CITY, ZIP, "99950-1234", PHONE, "312-555-0199", "(312) 555-0199",
    "555-0199", EMAIL, "quillonette.z",
    "1961-13-04",  # the bad birth date of a rejected row is PHI too
    *renderings(BIRTH_DATE), *renderings(SUBSCRIBER_BIRTH_DATE),
]


def assert_no_phi(texts: list[str]) -> None:
    leaks = [(phi, text) for text in texts for phi in PHI_STRINGS if phi.lower() in text.lower()]
    assert not leaks, "PHI leaked:\n" + "\n".join(f"{phi!r} in {text[:300]!r}"
                                                    for phi, text in leaks[:10])


class Collected:
    """Exception texts and CLI output gathered during the test."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def error(self, exc: BaseException) -> BaseException:
        self.texts += [str(exc), repr(exc), *(repr(arg) for arg in exc.args)]
        if isinstance(exc, MedbillError):
            self.texts.append(exc.message)
        return exc


@pytest.fixture
def debug_everywhere(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    for name in ("medbill", "medbill_core", "sqlalchemy", "alembic", "psycopg"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = []
    for record in caplog.records:
        texts.append(formatter.format(record))  # message and any exception text
        texts.append(repr(record.args))
    return texts


def phi_patient(**overrides: Any) -> Patient:
    values: dict[str, Any] = {
        "account_number": "PHI-1", "last_name": LAST, "first_name": FIRST,
        "middle_name": MIDDLE, "birth_date": BIRTH_DATE, "sex": Sex.FEMALE,
        "address": Address(line1=STREET, city=CITY, state="IL", postal_code="99950-1234"),
        "phone": "(312) 555-0199", "email": EMAIL}
    return Patient(**{**values, **overrides})


def phi_coverage(patient_id: int) -> Coverage:
    return Coverage(patient_id=patient_id, payer_key="acme", member_id=MEMBER_ID,
                    group_number="GRP77", relationship=Relationship.CHILD,
                    subscriber=Subscriber(last_name=LAST, first_name=SUBSCRIBER_FIRST,
                                          birth_date=SUBSCRIBER_BIRTH_DATE, sex=Sex.MALE,
                                          address=Address(line1=STREET, city=CITY, state="IL",
                                                          postal_code=ZIP)))


class _Leaky:
    """A plugin whose exceptions quote PHI; the core must not pass their text on."""

    @hookimpl
    def medbill_claim_transition_precommit(self, claim: Any, transition: Any,
                                           context: Any) -> None:
        if transition.target is ClaimState.VOIDED:
            raise ValueError(f"cannot void the claim of {FIRST} {LAST} born {BIRTH_DATE}")

    @hookimpl
    def medbill_claim_transition_postcommit(self, claim: Any, transition: Any,
                                            context: Any) -> None:
        if transition.target is ClaimState.CLOSED:
            raise RuntimeError(f"statement for {LAST}, member {MEMBER_ID}")


def test_phi_stays_out_of_logs_and_errors(medbill_config: MedbillConfig, tmp_path: Path,
                                          debug_everywhere: pytest.LogCaptureFixture) -> None:
    caplog = debug_everywhere
    seen = Collected()
    app = Medbill.open(medbill_config, extra_plugins=[("leaky", _Leaky())],
                       load_installed=False, upgrade=True)
    try:
        _the_billing_cycle(app, seen)
        _errors(app, seen, tmp_path)
        _imports(app, seen, tmp_path)
        _cli_errors(medbill_config, seen, tmp_path)
    finally:
        app.close()

    records = caplog.records
    names = {record.name for record in records}
    messages = [record.getMessage() for record in records]
    # the capture really saw the activity (otherwise the test proves nothing)
    assert any(n.startswith("sqlalchemy.engine") for n in names)
    assert any("INSERT INTO patients" in m for m in messages)
    assert any("SQL parameters hidden" in m for m in messages)
    assert any(r.name == "medbill.lifecycle" and "draft -> validated" in r.getMessage()
               for r in records)
    assert any("post-commit hook failed" in m for m in messages)
    assert len(seen.texts) > 30
    assert_no_phi(log_texts(caplog))
    assert_no_phi(seen.texts)


def _the_billing_cycle(app: Medbill, seen: Collected) -> None:
    with app.unit_of_work() as work:
        patient = work.patients.register(phi_patient())
        assert patient.id is not None
        coverage = work.patients.add_coverage(patient.id, phi_coverage(patient.id))
        work.patients.register_provider(make_provider())
        claim = work.claims.create(make_claim(patient.id, coverage_id=coverage.id, lines=2,
                                              prior_authorization="AUTH123"))
        assert claim.id is not None
    with app.unit_of_work() as work:  # an update: audit names fields, logs nothing personal
        moved = Address(line1=NEW_STREET, city=CITY, state="IL", postal_code=ZIP)
        work.patients.register(phi_patient(address=moved, phone="312 555 0199"))
        work.patients.get(patient.id)
        work.patients.by_account("PHI-1")
        work.patients.coverages(patient.id)
    for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED,
                   ClaimState.PARTIALLY_PAID):
        with app.unit_of_work() as work:
            work.claims.transition(claim.id, target, reason="step")
    with app.unit_of_work() as work:
        work.claims.billable(claim.id)
        ledger = work.ledger
        ledger.post(f"835:TRACE1:{claim.id}", "835", [
            LedgerLine(EntryKind.PAYER_PAYMENT, Decimal("100.00"), patient_id=patient.id,
                       claim_id=claim.id, payer_key="acme"),
            LedgerLine(EntryKind.CONTRACTUAL_ADJUSTMENT, Decimal("20.00"),
                       patient_id=patient.id, claim_id=claim.id, payer_key="acme",
                       reason_code="CO45"),
            LedgerLine(EntryKind.TRANSFER_TO_PATIENT, Decimal("23.50"), patient_id=patient.id,
                       claim_id=claim.id, payer_key="acme", reason_code="PR2"),
        ], effective_date=date.today())
        ledger.post(f"payment:{claim.id}:1", "payment", [
            LedgerLine(EntryKind.PATIENT_PAYMENT, Decimal("23.50"), patient_id=patient.id,
                       claim_id=claim.id)], effective_date=date.today())
        assert ledger.claim_balance(claim.id).total == Decimal("0.00")
        work.claims.transition(claim.id, ClaimState.PATIENT_BALANCE)
    with app.unit_of_work() as work:  # the leaky post-commit hook fails after the commit
        work.claims.transition(claim.id, ClaimState.CLOSED)
    with app.unit_of_work() as work:
        assert work.claims.get(claim.id).state is ClaimState.CLOSED
        work.claims.history(claim.id)


def _errors(app: Medbill, seen: Collected, tmp_path: Path) -> None:
    # pydantic itself, with hide_input_in_errors
    with pytest.raises(ValidationError) as caught:
        Patient.model_validate({"account_number": "PHI-2", "last_name": LAST * 5,
                                "first_name": FIRST, "birth_date": "1961-13-04",
                                "sex": LAST, "phone": PHONE + "9", "email": EMAIL,
                                "address": {"line1": STREET, "city": CITY, "state": CITY,
                                            "postal_code": "99950-12345"}})
    seen.error(caught.value)
    assert len(caught.value.errors()) >= 5
    with pytest.raises(ValidationError) as caught:
        Coverage.model_validate({"payer_key": "acme", "member_id": "QZW 98765432",
                                 "relationship": "19",
                                 "subscriber": {"last_name": LAST, "first_name": "",
                                                "birth_date": "07/04/1961"}})
    seen.error(caught.value)
    # the domain wrapper
    with pytest.raises(MedbillError) as caught_domain:
        validate_record(Patient, {"account_number": "PHI-3", "last_name": LAST,
                                  "first_name": FIRST, "birth_date": "2999-07-04",
                                  "sex": "F", "phone": "312-555-0199x"}, record="row 9")
    seen.error(caught_domain.value)

    with app.unit_of_work() as work:
        claim_id = work.claims.list()[0].id
        patient_id = work.patients.by_account("PHI-1").id
    # an illegal transition
    with pytest.raises(MedbillError) as caught_domain, app.unit_of_work() as work:
        work.claims.transition(claim_id, ClaimState.DRAFT)
    seen.error(caught_domain.value)
    # a plugin raising with PHI in its message, inside the transaction
    with app.unit_of_work() as work:
        draft = work.claims.create(make_claim(patient_id, coverage_id=None, number="CLM0002"))
    with pytest.raises(PluginError) as caught_plugin, app.unit_of_work() as work:
        work.claims.transition(draft.id, ClaimState.VOIDED)
    seen.error(caught_plugin.value)
    # a ledger rule
    with pytest.raises(MedbillError) as caught_domain, app.unit_of_work() as work:
        work.ledger.post("overpaid", "payment", [
            LedgerLine(EntryKind.PATIENT_PAYMENT, Decimal("5.00"), patient_id=patient_id,
                       claim_id=claim_id)], effective_date=date.today())
    seen.error(caught_domain.value)
    # a database error: bound values must not appear in its text
    with pytest.raises(IntegrityError) as caught_db, app.unit_of_work() as work:
        work.session.add(PatientRow(account_number="PHI-1", last_name=LAST, first_name=FIRST,
                                    birth_date=BIRTH_DATE, sex="F", phone=PHONE,
                                    address={"line1": STREET}))
        work.session.flush()
    seen.error(caught_db.value)
    # lookups that fail
    with pytest.raises(MedbillError) as caught_domain, app.unit_of_work() as work:
        work.patients.get(9999)
    seen.error(caught_domain.value)


BAD_CSV = f"""\
account_number,last_name,first_name,middle_name,birth_date,sex,address_line1,address_city,\
address_state,address_postal_code,phone,email
PHI-5,{LAST},{FIRST},{MIDDLE},{BIRTH_DATE},F,{STREET},{CITY},IL,{ZIP},{PHONE},{EMAIL}
PHI-6,{LAST},{FIRST},{MIDDLE},1961-13-04,{FIRST},{STREET},{CITY},{CITY},{ZIP}9,{PHONE}1,{EMAIL}
PHI-7,{LAST},{FIRST},,{BIRTH_DATE:%m/%d/%Y},F,{STREET},,IL,{ZIP},,
"""


def _imports(app: Medbill, seen: Collected, tmp_path: Path) -> None:
    path = tmp_path / "phi.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    with pytest.raises(MedbillError) as caught, app.unit_of_work() as work:
        import_patients(work, path)
    seen.error(caught.value)
    with app.unit_of_work() as work:
        report = import_patients(work, path, keep_good=True)
    assert report.imported == 1 and len(report.rejected) == 2
    for problem in report.rejected:
        seen.error(problem)
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps([{"account_number": "PHI-8", "last_name": LAST,
                                  "first_name": FIRST, "birth_date": str(BIRTH_DATE),
                                  "sex": "F", "nickname": FIRST}]), encoding="utf-8")
    with pytest.raises(MedbillError) as caught, app.unit_of_work() as work:
        import_patients(work, extra)
    seen.error(caught.value)
    headerless = tmp_path / "headerless.csv"  # row 1 is a patient, not column names
    headerless.write_text(BAD_CSV.split("\n", 1)[1], encoding="utf-8")
    with pytest.raises(MedbillError) as caught, app.unit_of_work() as work:
        import_patients(work, headerless, keep_good=True)
    assert "no account_number column" in seen.error(caught.value).args[0]
    coverages = tmp_path / "cov.csv"
    coverages.write_text(
        "account_number,payer_key,member_id,relationship,subscriber_last_name,"
        "subscriber_first_name,subscriber_birth_date\n"
        f"PHI-5,acme,{MEMBER_ID},19,{LAST},{SUBSCRIBER_FIRST},{SUBSCRIBER_BIRTH_DATE}\n"
        f"PHI-5,nowhere,{MEMBER_ID},18,,,\n"
        f"PHI-5,acme,QZW 98765432,19,{LAST},,{SUBSCRIBER_BIRTH_DATE:%m/%d/%Y}\n",
        encoding="utf-8")
    with app.unit_of_work() as work:
        report = import_coverages(work, coverages, keep_good=True)
    assert report.imported == 1 and len(report.rejected) == 2
    for problem in report.rejected:
        seen.error(problem)


def _cli_errors(config: MedbillConfig, seen: Collected, tmp_path: Path) -> None:
    toml = tmp_path / "medbill.toml"
    toml.write_text(f"""\
[medbill]
database_url = "{config.database_url}"
log_level = "DEBUG"

[payers.acme]
payer_id = "ACME1"
name = "Acme"
adapter = "generic_x12"
""", encoding="utf-8")
    (tmp_path / "phi.csv").write_text(BAD_CSV.replace("PHI-", "CLI-"), encoding="utf-8")
    day = (date.today() - timedelta(days=3)).isoformat()
    (tmp_path / "claims.json").write_text(json.dumps([{
        "claim_number": "CLI-CLM", "account_number": "CLI-5", "place_of_service": "11",
        "billing_provider_npi": "1234567893", "service_date_from": day, "service_date_to": day,
        "diagnoses": ["E119"], "lines": [], "note": f"{LAST} {BIRTH_DATE}"}]), encoding="utf-8")
    runner = CliRunner()
    for args in (["patients", "import", "phi.csv"],
                 ["patients", "import", "phi.csv", "--keep-good"],
                 ["coverages", "import", "cov.csv"],
                 ["claims", "import", "claims.json"],
                 ["claims", "show", "CLI-CLM"],
                 ["audit", "--json"]):
        result = runner.invoke(build_app(), ["--config", str(toml), *args],
                               catch_exceptions=False)
        if args[0] != "audit":
            assert result.exit_code != 0, (args, result.output)
        seen.texts += [result.stdout, result.stderr]

"""Import patients and coverages from CSV or JSON files, and claims from JSON.

A file is imported in one transaction. A bad row gets an error naming the
row and the field (never the value: it may be PHI). By default one bad row
imports nothing; with ``keep_good`` the good rows are kept and the bad ones
reported.

CSV columns (flat) are mapped onto the domain shape: ``address_line1``,
``address_city`` ... become ``address.line1``; for coverages
``subscriber_last_name`` ... become ``subscriber.last_name``, and the patient
is named by ``account_number``. JSON files hold a list of objects in the
domain shape (nested ``address`` / ``subscriber``) or the same flat shape.

Re-importing a record that exists (same account number; for coverages the same
patient, payer and order) changes only what the file says: a column the file
does not have, or a blank cell, leaves the stored value as it is. Only the
marker ``(clear)`` (or ``null`` in JSON) clears a value; clearing a required
part of an address (line 1, city, state, postal code) clears the whole address.
The report says which rows created a record and which fields each update changed.
A file naming the same record twice (an account number; a patient's payer and order)
has the later row refused, naming the first: it would silently overwrite it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from medbill_core.app import UnitOfWork
from medbill_core.domain import Claim, Coverage, Patient, validate_record
from medbill_core.domain.base import DomainModel, saved_id
from medbill_core.errors import MedbillError, NotFound, UnknownPayer, ValidationFailed
from medbill_core.permissions import Action

_NESTED_PREFIXES = ("address_", "subscriber_", "guarantor_")
#: The cell value that clears a stored value on re-import (a blank cell leaves it unchanged).
CLEAR_MARKER = "(clear)"
#: The parts without which an address is no address: clearing one clears the address.
_ADDRESS_REQUIRED = frozenset({"line1", "city", "state", "postal_code"})
#: How many bad rows a failed import lists (the count of the rest is still given).
MAX_REPORTED_ROWS = 50


@dataclass
class RowChange:
    """What importing one row did: ``created``, or the names of the fields it changed."""

    label: str
    key: str
    created: bool
    fields: list[str]


@dataclass
class ImportReport:
    imported: int = 0
    rejected: list[ValidationFailed] = field(default_factory=list)
    changes: list[RowChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def created(self) -> list[RowChange]:
        return [change for change in self.changes if change.created]

    @property
    def updated(self) -> list[RowChange]:
        return [change for change in self.changes if not change.created and change.fields]

    @property
    def unchanged(self) -> int:
        return sum(1 for change in self.changes if not change.created and not change.fields)


class ImportRefused(ValidationFailed):
    """A file with bad rows imported nothing; ``rejected`` holds every bad row."""

    def __init__(self, record: str, problems: list[tuple[str, str]],
                 rejected: list[ValidationFailed]) -> None:
        super().__init__(record, problems)
        self.rejected = rejected


def _is_clear(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() == CLEAR_MARKER)


def merge_into(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """``stored`` (the record as it is) with what ``incoming`` gives: absent keys keep their
    value, the clear marker (or ``None``) clears, nested objects merge key by key."""
    merged = dict(stored)
    for key, value in incoming.items():
        if _is_clear(value):
            merged[key] = None
        elif isinstance(value, dict):
            current = merged.get(key)
            base = current if isinstance(current, dict) else {}
            part = merge_into(base, value)
            if key.endswith("address") and (
                    any(name in value and _is_clear(value[name]) for name in _ADDRESS_REQUIRED)
                    or all(v is None for v in part.values())):
                merged[key] = None  # an address without its street, city, state or ZIP is none
            else:
                merged[key] = part
        else:
            merged[key] = value
    return merged


def _nest(flat: dict[str, Any], label: str) -> dict[str, Any]:
    """``{"address_line1": x}`` -> ``{"address": {"line1": x}}``, also one level deeper
    (``subscriber_address_city``); blank cells are dropped."""
    result: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        if key is None:  # csv.DictReader's key for cells beyond the header
            raise ValidationFailed(label, [("(row)", "has more cells than the header")])
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        prefix = next((p for p in _NESTED_PREFIXES if key.startswith(p)), None)
        if prefix is None:
            result[key] = value
        else:
            groups.setdefault(prefix[:-1], {})[key[len(prefix):]] = value
    for name, group in groups.items():
        if name in result:
            raise ValidationFailed(label, [(name, "given both as an object and as flat columns")])
        result[name] = _nest(group, label)
    return result


def read_rows(path: Path, file_format: str | None = None, *,
              key_column: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number, flat record)`` pairs; CSV rows count from 2 (row 1 is the header).

    JSON keeps its types, as ``claims edit`` and the HTTP API read it: an amount given as a
    JSON number with a fraction or an exponent (``165.0``, ``0.1``, ``1e3``) is a float and
    refused ("not a float"); an integer (``125``) is exact and read as 125.00.

    :param key_column: a CSV header without this column is refused as a whole, without
        echoing it: a file without a header row has a patient's data in row 1.
    """
    kind = (file_format or path.suffix.lstrip(".")).lower()
    try:
        if kind == "csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                # restval: a short row's missing cells count as blank ones
                reader = csv.DictReader(handle, restval="")
                if not reader.fieldnames:
                    raise ValidationFailed(path.name, [("header", "the file is empty")])
                if key_column is not None and key_column not in reader.fieldnames:
                    raise ValidationFailed(path.name, [(
                        "header", f"no {key_column} column (row 1 must name the columns)")])
                seen: set[str] = set()
                for name in reader.fieldnames:
                    if name in seen:
                        raise ValidationFailed(path.name, [(name, "column appears twice")])
                    seen.add(name)
                yield from enumerate(reader, start=2)
        elif kind == "json":
            # JSON's types kept, as `claims edit` and the HTTP API read them: a number with a
            # fraction or an exponent (165.0, 0.1, 1e3) is a float, which an amount refuses
            # ("not a float"); an integer (125) is an exact amount; text is read strictly
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list):
                raise ValidationFailed(path.name, [("(file)", "expected a JSON list of records")])
            for number, item in enumerate(data, start=1):
                if not isinstance(item, dict):
                    raise ValidationFailed(f"record {number}", [("(record)", "not an object")])
                yield number, item
        else:
            raise MedbillError(f"{path.name}: unknown format {kind!r} (use csv or json)")
    except json.JSONDecodeError as exc:
        raise MedbillError(f"{path.name}: not valid JSON (line {exc.lineno}, column "
                           f"{exc.colno})") from None
    except UnicodeDecodeError:
        raise MedbillError(f"{path.name}: not UTF-8 text") from None
    except csv.Error as exc:
        # csv.Error text describes the syntax problem, not cell contents
        raise MedbillError(f"{path.name}: not valid CSV ({exc})") from None
    except OSError as exc:
        raise MedbillError(f"{path.name}: cannot be read ({exc.strerror})") from None


#: What names one record of an import in its file: ``(field named in the error, what the
#: record says of it, the key)``; None when the record does not say (its own check then fails).
KeyOf = Callable[[dict[str, Any]], tuple[str, str, tuple[str, ...]] | None]


def _patient_key(record: dict[str, Any]) -> tuple[str, str, tuple[str, ...]] | None:
    account = record.get("account_number")
    if account is None or str(account).strip() == "":
        return None
    return "account_number", "account number", (str(account).strip(),)


def _coverage_key(record: dict[str, Any]) -> tuple[str, str, tuple[str, ...]] | None:
    account, payer = record.get("account_number"), record.get("payer_key")
    if account is None or payer is None:
        return None
    order = str(record.get("order") or "P").strip().upper()
    return ("payer_key", "patient, payer and order",
            (str(account).strip(), str(payer).strip(), order))


def _import(work: UnitOfWork, path: Path, file_format: str | None, keep_good: bool,
            store: Callable[[UnitOfWork, dict[str, Any], str], RowChange],
            on_progress: Callable[[int, int], None] | None = None,
            key_of: KeyOf | None = None) -> ImportReport:
    """Each record in turn, in a savepoint of its own; with ``key_of``, a record naming the
    same record as an earlier one of the file is refused (the later would silently overwrite
    the earlier), wherever the earlier one went."""
    report = ImportReport()
    unit = "row" if (file_format or path.suffix.lstrip(".")).lower() == "csv" else "record"
    # read whole first (the file is checked before anything is stored), so progress has a total
    records = list(read_rows(path, file_format, key_column="account_number"))
    first_of: dict[tuple[str, ...], int] = {}  # key -> the number of its first record
    for index, (number, record) in enumerate(records):
        if on_progress is not None:
            on_progress(index, len(records))
        label = f"{unit} {number}"
        savepoint = work.session.begin_nested()
        try:
            nested = _nest(record, label)
            named = key_of(nested) if key_of is not None else None
            if named is not None:
                field_name, what, key = named
                first_number = first_of.setdefault(key, number)
                if first_number != number:
                    raise ValidationFailed(label, [(field_name, (
                        f"repeated: the same {what} as {unit} {first_number}; give each one "
                        f"{unit} (merge the two)"))])
            change = store(work, nested, label)
            savepoint.commit()
            report.imported += 1
            report.changes.append(change)
        except ValidationFailed as exc:
            savepoint.rollback()
            report.rejected.append(exc)
        except MedbillError as exc:
            savepoint.rollback()
            report.rejected.append(ValidationFailed(label, [("(record)", exc.message)]))
    if on_progress is not None:
        on_progress(len(records), len(records))
    if report.rejected and not keep_good:
        first = report.rejected[0]
        more = len(report.rejected) - 1
        suffix = f" (and {more} more bad {unit}s)" if more else ""
        raise ImportRefused(f"{path.name} {first.record}",
                            [*first.problems[:1], ("import", "nothing was imported" + suffix)],
                            report.rejected)
    return report


def _stored_dump(model: DomainModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude={"id"})


def _store_patient(work: UnitOfWork, record: dict[str, Any], label: str) -> RowChange:
    guarantor = record.pop("guarantor", None)
    change = _store_patient_record(work, record, label)
    if (guarantor is not None and _assign_guarantor(work, change.key, guarantor, label)
            and not change.created):
        change.fields = sorted({*change.fields, "guarantor"})
    return change


def _assign_guarantor(work: UnitOfWork, account: str, columns: Any, label: str) -> bool:
    """The ``guarantor_*`` columns of a patient row; True when the patient's guarantor changed.

    ``guarantor_relationship`` self/parent/spouse/other is required with any of them; the
    guarantor is another patient (``guarantor_account``), or a person by name and address
    (the same name, birth date and address as a stored guarantor is that guarantor).
    """
    from medbill_core.domain import Guarantor, GuarantorRelationship
    from medbill_core.services.guarantors import GuarantorService

    if not isinstance(columns, dict):
        raise ValidationFailed(label, [("guarantor", "expected guarantor_* columns or an "
                                                     "object")])
    columns = dict(columns)
    relationship_text = columns.pop("relationship", None)
    other_account = columns.pop("account", None)
    if not columns and not other_account and relationship_text is None:
        return False
    try:
        relationship = GuarantorRelationship(str(relationship_text or "").strip().lower())
    except ValueError:
        raise ValidationFailed(label, [("guarantor_relationship",
                                        "must be self, parent, spouse or other")]) from None
    service = GuarantorService(work.session, actor=work.actor)
    patient = work.patients.by_account(account)
    before = (patient.guarantor_id, patient.guarantor_relationship)
    if relationship is GuarantorRelationship.SELF:
        if columns or other_account:
            raise ValidationFailed(label, [("guarantor_relationship", "is self, but other "
                                                                      "guarantor columns are set")])
        guarantor_id = patient.guarantor_id if before[1] is GuarantorRelationship.SELF else None
    elif other_account:
        if columns:
            raise ValidationFailed(label, [("guarantor_account", "give the guarantor's account "
                                                                 "or their name, not both")])
        try:
            other = work.patients.by_account(str(other_account))
        except NotFound:
            raise ValidationFailed(label, [("guarantor_account", "no patient has this account "
                                                                 "number")]) from None
        if other.id == patient.id:
            raise ValidationFailed(label, [("guarantor_account", "is the patient: use "
                                                                 "guarantor_relationship self")])
        guarantor_id = service.guarantor_for_patient(saved_id(other)).id
    else:
        try:
            person = validate_record(Guarantor, columns, record=label)
        except ValidationFailed as exc:  # the row's own column names: guarantor_birth_date
            raise ValidationFailed(label, [(f"guarantor_{field}", reason)
                                           for field, reason in exc.problems]) from None
        guarantor_id = service.find_or_add(person).id
    after = service.assign(saved_id(patient), guarantor_id, relationship)
    return (after.guarantor_id, after.guarantor_relationship) != before


def _store_patient_record(work: UnitOfWork, record: dict[str, Any], label: str) -> RowChange:
    account = record.get("account_number")
    if isinstance(account, str) and account:
        try:
            existing = work.patients.by_account(account)
        except NotFound:
            existing = None
        if existing is not None and existing.merged_into_id is not None:
            kept = work.patients.get(existing.merged_into_id).account_number
            raise ValidationFailed(label, [("account_number", f"was merged into account {kept}; "
                                                              "import that account instead")])
        if existing is not None:
            record = merge_into(_stored_dump(existing), record)
    patient = validate_record(Patient, {k: v for k, v in record.items() if v is not None},
                              record=label)
    stored, created, changed = work.patients.save(patient)
    return RowChange(label, stored.account_number, created, changed)


def _store_coverage(work: UnitOfWork, record: dict[str, Any], label: str) -> RowChange:
    account = record.pop("account_number", None)
    if not account:
        raise ValidationFailed(label, [("account_number", "required to find the patient")])
    try:
        patient = work.patients.by_account(str(account))
    except NotFound:
        raise ValidationFailed(label, [("account_number", "no patient has this account number")]
                               ) from None
    record["patient_id"] = patient.id
    existing = work.patients.find_coverage(saved_id(patient), str(record.get("payer_key", "")),
                                           str(record.get("order") or "P"))
    if existing is not None:
        if record.get("relationship") == "18" and "subscriber" not in record:
            record["subscriber"] = None  # now the patient's own plan: no separate subscriber
        record = merge_into(_stored_dump(existing), record)
    coverage = validate_record(Coverage, {k: v for k, v in record.items() if v is not None},
                               record=label)
    try:
        stored, created, changed = work.patients.save_coverage(saved_id(patient), coverage)
    except UnknownPayer:
        raise ValidationFailed(label, [("payer_key", "not a configured payer (see [payers] in "
                                                     "medbill.toml)")]) from None
    except ValidationFailed as exc:  # named by the row, not the patient's id
        raise ValidationFailed(label, exc.problems) from None
    return RowChange(label, f"{account} {stored.payer_key} ({stored.order.value})", created,
                     changed)


def import_patients(work: UnitOfWork, path: Path, *, file_format: str | None = None,
                    keep_good: bool = False,
                    on_progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Create or update patients from ``path`` (account number is the key).

    :param on_progress: called with (records done, records in the file) as the import goes.
    """
    work.require(Action.PATIENTS_WRITE)
    return _import(work, path, file_format, keep_good, _store_patient, on_progress,
                   _patient_key)


def import_coverages(work: UnitOfWork, path: Path, *, file_format: str | None = None,
                     keep_good: bool = False,
                     on_progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Create or update coverages from ``path`` (patient by ``account_number``).

    :param on_progress: called with (records done, records in the file) as the import goes.
    """
    work.require(Action.COVERAGES_WRITE)
    return _import(work, path, file_format, keep_good, _store_coverage, on_progress,
                   _coverage_key)


# -- claims -----------------------------------------------------------------------------------

#: Bad records an import reports one by one; beyond this it only counts them.
MAX_REPORTED_PROBLEMS = MAX_REPORTED_ROWS


@dataclass
class ClaimImportReport(ImportReport):
    """What a claims import did: the count, every bad record, and what it filled in."""

    #: ``(record label, message)``: a value the import chose for the user (e.g. the coverage).
    notes: list[tuple[str, str]] = field(default_factory=list)


#: Claim fields medbill sets itself: an import giving them would bypass the lifecycle (a
#: claim imported "paid") or the ledger (a follow-up claim posts no charges of its own).
_NOT_IMPORTED = ("id", "state", "account_claim_id", "replaces_claim_id", "payer_claim_number",
                 "created_at")


def _store_claim(work: UnitOfWork, record: dict[str, Any], label: str,
                 notes: list[tuple[str, str]]) -> None:
    given = [key for key in _NOT_IMPORTED if record.get(key) is not None
             and not (key == "state" and record[key] == "draft")]
    if given:
        raise ValidationFailed(label, [(key, "set by medbill, not by an import")
                                       for key in given])
    account = record.pop("account_number", None)
    if account is not None:
        try:
            record["patient_id"] = work.patients.by_account(str(account)).id
        except NotFound:
            raise ValidationFailed(label, [("account_number",
                                            "no patient has this account number")]) from None
    _lines_dated_by_the_claim(record)
    _place_implied_by_the_bill_type(record, label, notes)
    _price_from_charge_master(work, record, label, notes)
    claim = validate_record(Claim, record, record=label)
    if claim.payer_key is not None and claim.coverage_id is None:
        if claim.payer_key not in work.app.config.payers:
            raise UnknownPayer(claim.payer_key)
        # Without a coverage the charges would go to the patient while the claim goes to
        # the payer: take the one coverage that can be meant, or refuse.
        coverage = work.claims.coverage_for_payer(claim.patient_id, claim.payer_key,
                                                  claim.service_date_from, label)
        claim = claim.model_copy(update={"coverage_id": coverage.id})
        notes.append((label, f"coverage_id: taken as {coverage.id}, the patient's one active "
                             f"coverage with payer {claim.payer_key}"))
    work.claims.create(claim)


def _lines_dated_by_the_claim(record: dict[str, Any]) -> None:
    """A line without its own date of service took place on the claim's (an EHR export of
    a one-day visit rarely repeats the date on every line)."""
    lines, claim_date = record.get("lines"), record.get("service_date_from")
    if not isinstance(lines, list) or claim_date is None:
        return
    for line in lines:
        if isinstance(line, dict) and line.get("service_date_from") is None:
            line["service_date_from"] = claim_date


def _place_implied_by_the_bill_type(record: dict[str, Any], label: str,
                                    notes: list[tuple[str, str]]) -> None:
    """An institutional claim sends no place of service (its type of bill says where): one
    left out takes the place its bill type implies, kept for the reports that group by it."""
    from medbill_core.codesets.nubc import implied_place_of_service

    details = record.get("institutional")
    if record.get("kind") != "institutional":
        return
    if not isinstance(details, dict):
        raise ValidationFailed(label, [("institutional", "required on an institutional claim:"
                                                         " an object with the type of bill,"
                                                         " the stay and the patient status")])
    if record.get("place_of_service") is not None:
        return
    facility = details.get("facility_type_code")
    lines = record.get("lines")
    revenue = [str(line.get("revenue_code")) for line in lines if isinstance(line, dict)] \
        if isinstance(lines, list) else []
    place = implied_place_of_service(str(facility), revenue) if facility is not None else None
    if place is not None:  # else the claim's own validation names the missing field
        record["place_of_service"] = place
        notes.append((label, f"place_of_service: taken as {place}, the place type of bill"
                             f" 0{facility}x implies"))


def _price_from_charge_master(work: UnitOfWork, record: dict[str, Any], label: str,
                              notes: list[tuple[str, str]]) -> None:
    """Lines without a ``charge`` take the practice's price list (``medbill chargemaster``)
    for their code, modifiers and date of service, times their units."""
    from medbill_core.money import to_money
    from medbill_core.services.fees import charge_for

    lines = record.get("lines")
    if not isinstance(lines, list):
        return  # the claim's own validation names the problem
    problems = []
    for index, line in enumerate(lines):
        if not isinstance(line, dict) or line.get("charge") is not None:
            continue
        code, when = line.get("procedure_code"), line.get("service_date_from") or \
            record.get("service_date_from")
        if code is None and line.get("revenue_code") is not None:
            # the charge master prices procedure codes: a revenue-code-only line (room and
            # board, pharmacy) carries its charge
            problems.append((f"lines[{index}].charge", "required on a line without a"
                                                       " procedure code"))
            continue
        try:
            on = date.fromisoformat(str(when))
            units = Decimal(str(line.get("units", "1")))
        except (ValueError, ArithmeticError):
            continue  # the claim's own validation names the bad date or units
        modifiers = line.get("modifiers") or []
        price = charge_for(work, str(code), [str(m) for m in modifiers], on) \
            if isinstance(code, str) else None
        field = f"lines[{index}].charge"
        if price is None:
            problems.append((field, f"none given and the charge master has no price for "
                                    f"{code} on {on.isoformat()}"))
            continue
        try:
            line["charge"] = to_money(price * units)
        except ValueError:  # units no line may have (1e30): the claim's validation names them
            continue
        notes.append((label, f"{field}: taken from the charge master ({line['charge']})"))
    if problems:
        raise ValidationFailed(label, problems)


def import_claims(work: UnitOfWork, path: Path, *, keep_good: bool = False,
                  on_progress: Callable[[int, int], None] | None = None
                  ) -> ClaimImportReport:
    """Create draft claims from a JSON list (patient by ``account_number``).

    Every record is checked, so that all bad records are reported at once; by default one
    bad record imports nothing (the caller raises), with ``keep_good`` the good ones stay.
    ``on_progress(done, total)`` is called after each record (a progress bar).
    """
    work.require(Action.CLAIMS_WRITE)
    report = ClaimImportReport()
    records = list(read_rows(path, "json"))
    for done, (number, record) in enumerate(records, start=1):
        if on_progress is not None and done > 1:
            on_progress(done - 1, len(records))
        label = f"record {number}"
        savepoint = work.session.begin_nested()
        notes: list[tuple[str, str]] = []
        try:
            _store_claim(work, dict(record), label, notes)
            savepoint.commit()
            report.imported += 1
            report.notes.extend(notes)
        except ValidationFailed as exc:
            savepoint.rollback()
            report.rejected.append(exc)
        except UnknownPayer:
            savepoint.rollback()
            report.rejected.append(ValidationFailed(label, [(
                "payer_key", "not a configured payer (see [payers] in medbill.toml)")]))
        except MedbillError as exc:
            savepoint.rollback()
            report.rejected.append(ValidationFailed(label, [("(record)", exc.message)]))
    if on_progress is not None and records:
        on_progress(len(records), len(records))
    return report

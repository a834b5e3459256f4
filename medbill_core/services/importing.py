"""Import patients and coverages from CSV or JSON files.

A file is imported in one transaction. A bad row gets an error naming the
row and the field (never the value: it may be PHI). By default one bad row
imports nothing; with ``keep_good`` the good rows are kept and the bad ones
reported.

CSV columns (flat) are mapped onto the domain shape: ``address_line1``,
``address_city`` ... become ``address.line1``; for coverages
``subscriber_last_name`` ... become ``subscriber.last_name``, and the patient
is named by ``account_number``. JSON files hold a list of objects in the
domain shape (nested ``address`` / ``subscriber``) or the same flat shape.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from medbill_core.app import UnitOfWork
from medbill_core.domain import Coverage, Patient, validate_record
from medbill_core.errors import MedbillError, NotFound, UnknownPayer, ValidationFailed

_NESTED_PREFIXES = ("address_", "subscriber_")


@dataclass
class ImportReport:
    imported: int = 0
    rejected: list[ValidationFailed] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


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
            # exact decimals: 12.345 must be refused as an amount, not rounded via a float
            data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
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


def _import(work: UnitOfWork, path: Path, file_format: str | None, keep_good: bool,
            store: Callable[[UnitOfWork, dict[str, Any], str], None]) -> ImportReport:
    report = ImportReport()
    unit = "row" if (file_format or path.suffix.lstrip(".")).lower() == "csv" else "record"
    for number, record in read_rows(path, file_format, key_column="account_number"):
        label = f"{unit} {number}"
        savepoint = work.session.begin_nested()
        try:
            store(work, _nest(record, label), label)
            savepoint.commit()
            report.imported += 1
        except ValidationFailed as exc:
            savepoint.rollback()
            report.rejected.append(exc)
        except MedbillError as exc:
            savepoint.rollback()
            report.rejected.append(ValidationFailed(label, [("(record)", exc.message)]))
    if report.rejected and not keep_good:
        first = report.rejected[0]
        more = len(report.rejected) - 1
        suffix = f" (and {more} more bad {unit}s)" if more else ""
        raise ValidationFailed(f"{path.name} {first.record}",
                               [*first.problems[:1], ("import", "nothing was imported" + suffix)])
    return report


def _store_patient(work: UnitOfWork, record: dict[str, Any], label: str) -> None:
    work.patients.register(validate_record(Patient, record, record=label))


def _store_coverage(work: UnitOfWork, record: dict[str, Any], label: str) -> None:
    account = record.pop("account_number", None)
    if not account:
        raise ValidationFailed(label, [("account_number", "required to find the patient")])
    try:
        patient = work.patients.by_account(str(account))
    except NotFound:
        raise ValidationFailed(label, [("account_number", "no patient has this account number")]
                               ) from None
    record["patient_id"] = patient.id
    coverage = validate_record(Coverage, record, record=label)
    try:
        work.patients.add_coverage(patient.id, coverage)
    except UnknownPayer:
        raise ValidationFailed(label, [("payer_key", "not a configured payer (see [payers] in "
                                                     "medbill.toml)")]) from None


def import_patients(work: UnitOfWork, path: Path, *, file_format: str | None = None,
                    keep_good: bool = False) -> ImportReport:
    """Create or update patients from ``path`` (account number is the key)."""
    return _import(work, path, file_format, keep_good, _store_patient)


def import_coverages(work: UnitOfWork, path: Path, *, file_format: str | None = None,
                     keep_good: bool = False) -> ImportReport:
    """Create or update coverages from ``path`` (patient by ``account_number``)."""
    return _import(work, path, file_format, keep_good, _store_coverage)

"""``medbill patients`` and ``medbill coverages``: import and list."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    parse_date_option,
    print_json,
    print_problem,
    print_table,
    record_table,
    warn,
)
from medbill_core.cli.service_progress import service_progress
from medbill_core.services.importing import (
    MAX_REPORTED_ROWS,
    ImportRefused,
    ImportReport,
    import_coverages,
    import_patients,
)

app = typer.Typer(help="Patients.", no_args_is_help=True)
coverages_app = typer.Typer(help="Insurance coverages.", no_args_is_help=True)

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                              help="CSV or JSON file")]
FormatOption = Annotated[str | None, typer.Option("--format", help="csv or json "
                                                  "(default: from the file extension)")]
KeepGoodOption = Annotated[bool, typer.Option(
    "--keep-good", help="Import the good rows even when some are bad")]


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def _report(kind: str, report: ImportReport, as_json: bool = False) -> None:
    """Counts, then one line per updated record naming the fields that changed."""
    if as_json:
        print_json({"imported": report.imported,
                    "created": [c.key for c in report.created],
                    "updated": [{"row": c.label, "key": c.key, "fields": c.fields}
                                for c in report.updated],
                    "unchanged": report.unchanged,
                    "rejected": [p.message for p in report.rejected]})
    else:
        counts = ""
        if report.updated or report.unchanged:
            counts = (f" ({len(report.created)} created, {len(report.updated)} updated, "
                      f"{report.unchanged} unchanged)")
        console.print(f"imported {report.imported} {kind}{counts}", highlight=False, markup=False)
        for change in report.updated:
            console.print(f"  {change.label} ({change.key}): changed {', '.join(change.fields)}",
                          highlight=False, soft_wrap=True, markup=False)
    for problem in report.rejected[:MAX_REPORTED_ROWS]:
        print_problem(problem.message, "[yellow]skipped[/]")
    _more(len(report.rejected))
    if report.rejected:
        raise typer.Exit(1)


def _more(count: int) -> None:
    if count > MAX_REPORTED_ROWS:
        print_problem(f"{count - MAX_REPORTED_ROWS} more bad rows not listed",
                      "[yellow]skipped[/]")


def _refused(error: ImportRefused) -> typer.Exit:
    """The one-line error, then the other bad rows (up to the limit) so all can be fixed at once."""
    print_problem(error.message)
    for problem in error.rejected[1:MAX_REPORTED_ROWS]:
        print_problem(problem.message, "  also bad:")
    _more(len(error.rejected))
    return typer.Exit(error.exit_code)


@app.command("import")
@cli_errors
def import_patients_command(file: FileArgument, file_format: FormatOption = None,
                            keep_good: KeepGoodOption = False, as_json: JsonOption = False
                            ) -> None:
    """Create or update patients (key: account_number). Absent columns and blank cells leave
    stored values unchanged; "(clear)" clears one."""
    medbill = open_app()
    try:
        with (medbill.unit_of_work() as work,
              service_progress("importing patients") as on_progress):
            report = import_patients(work, file, file_format=file_format, keep_good=keep_good,
                                     on_progress=on_progress)
    except ImportRefused as error:
        raise _refused(error) from None
    _report("patients", report, as_json)


@app.command("list")
@cli_errors
def list_patients(limit: Annotated[int, typer.Option(min=1)] = 50,
                  offset: Annotated[int, typer.Option(min=0)] = 0,
                  as_json: JsonOption = False) -> None:
    """Patients by id (a record merged into another says so)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        patients = work.patients.list(limit=limit, offset=offset)
        coverages = {patient.id: work.patients.coverages(patient.id) for patient in patients}
    if as_json:
        print_json([{**p.model_dump(mode="json"),
                     "coverages": [_coverage_data(c) for c in coverages[p.id]]}
                    for p in patients])
        return
    table = data_table("id", "account", "name", "coverages", title=f"{len(patients)} patients")
    for patient in patients:
        merged = f" (merged into {patient.merged_into_id})" if patient.merged_into_id else ""
        table.add_row(str(patient.id), escape(patient.account_number),
                      escape(f"{patient.last_name}, {patient.first_name}{merged}"),
                      ", ".join(f"{escape(c.payer_key)} ({c.order.name.lower()})"
                                for c in coverages[patient.id]) or "-")
    print_table(table)


@coverages_app.command("import")
@cli_errors
def import_coverages_command(file: FileArgument, file_format: FormatOption = None,
                             keep_good: KeepGoodOption = False, as_json: JsonOption = False
                             ) -> None:
    """Create or update coverages (patient by account_number; key: payer and order). Absent
    columns and blank cells leave stored values unchanged; "(clear)" clears one."""
    medbill = open_app()
    try:
        with (medbill.unit_of_work() as work,
              service_progress("importing coverages") as on_progress):
            report = import_coverages(work, file, file_format=file_format, keep_good=keep_good,
                                      on_progress=on_progress)
    except ImportRefused as error:
        raise _refused(error) from None
    _report("coverages", report, as_json)


providers_app = typer.Typer(help="Rendering and referring providers.", no_args_is_help=True)


@providers_app.command("add")
@cli_errors
def add_provider(
    npi: Annotated[str, typer.Option(help="10-digit NPI")],
    last_name: Annotated[str, typer.Option(help="Last name or organization name")],
    first_name: Annotated[str | None, typer.Option()] = None,
    taxonomy: Annotated[str | None, typer.Option(help="NUCC taxonomy code")] = None,
    clear: Annotated[list[str] | None, typer.Option(
        "--clear", help="Clear this field of a registered provider (repeat): first_name, "
                        "taxonomy")] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a provider so claims can name it as rendering or referring. For an NPI
    already registered only the options given change (--clear clears one); the others
    keep their stored values."""
    from medbill_core.domain import Provider, validate_record

    given = _changes({"npi": npi, "last_name": last_name, "first_name": first_name,
                      "taxonomy": taxonomy}, clear, {"first_name", "taxonomy"})
    medbill = open_app()
    provider = validate_record(Provider, {k: v for k, v in given.items() if v is not None},
                               record="provider")
    with medbill.unit_of_work() as work:
        known = work.patients.provider(provider.npi) is not None
        stored = work.patients.register_provider(provider, given=set(given))
    if as_json:
        print_json({"id": stored.id, "npi": stored.npi, "last_name": stored.last_name,
                    "first_name": stored.first_name, "taxonomy": stored.taxonomy,
                    "created": not known})
        return
    console.print(f"provider {stored.npi} {'updated' if known else 'registered'} "
                  f"(id {stored.id})", markup=False)


@providers_app.command("list")
@cli_errors
def list_providers(as_json: JsonOption = False) -> None:
    """Registered providers."""
    from sqlalchemy import select

    from medbill_core.storage.schema import ProviderRow

    medbill = open_app()
    with medbill.database.reader() as session:
        rows = [{"id": row.id, "npi": row.npi, "last_name": row.last_name,
                 "first_name": row.first_name, "taxonomy": row.taxonomy}
                for row in session.scalars(select(ProviderRow).order_by(ProviderRow.id))]
    if as_json:
        print_json(rows)
        return
    table = data_table("id", "npi", "name", "taxonomy", title=f"{len(rows)} providers",
                       keys=("id", "npi", "taxonomy"))
    for row in rows:
        table.add_row(str(row["id"]), row["npi"],
                      escape(", ".join(filter(None, [row["last_name"], row["first_name"]]))),
                      row["taxonomy"] or "-")
    print_table(table)


# -- one patient: show, search, edit, merge ---------------------------------------------------

AccountArgument = Annotated[str, typer.Argument(help="Patient account number")]
ClearOption = Annotated[list[str] | None, typer.Option(
    "--clear", help="Clear this field (repeat), e.g. --clear phone --clear address_line2")]

#: CLI field names -> nested record keys of ``--clear`` and the edit options
_ADDRESS_FIELDS = ("line1", "line2", "city", "state", "postal_code")


def _patient_data(patient: Any, coverages: list[Any], guarantor: Any | None) -> dict[str, Any]:
    data: dict[str, Any] = patient.model_dump(mode="json")
    data["coverages"] = [_coverage_data(c) for c in coverages]
    data["guarantor"] = guarantor.model_dump(mode="json") if guarantor is not None else None
    return data


def _coverage_data(coverage: Any) -> dict[str, Any]:
    data: dict[str, Any] = coverage.model_dump(mode="json")
    data["active_today"] = coverage.is_active_on(date.today())
    return data


def _name(person: Any) -> str:
    return ", ".join(filter(None, [person.last_name, " ".join(
        filter(None, [person.first_name, person.middle_name]))]))


def _address_text(address: Any | None) -> str:
    if address is None:
        return "-"
    parts = [address.line1, address.line2, f"{address.city}, {address.state} "
                                           f"{address.postal_code}"]
    return ", ".join(p for p in parts if p)


def _changes(options: dict[str, Any], clear: list[str] | None,
             allowed: set[str], option_names: dict[str, str] | None = None) -> dict[str, Any]:
    """The fields an edit command was given (``address_city`` -> ``{"address": {"city"}}``),
    ``--clear`` ones as ``None``; an unknown ``--clear`` name is a usage error, and so is
    clearing a field (or a group: ``--clear address``) the same command gives a value for:
    the edit could not do both.

    :param option_names: the option of a field whose option is not ``--<field>``
        (``{"start_date": "--start"}``), for that usage error.
    """
    flat = {key: value for key, value in options.items() if value is not None}
    names = option_names or {}
    for name in clear or []:
        key = name.strip().lower().replace("-", "_")
        if key not in allowed:
            raise fail(f"--clear: {name!r} is not a field that can be cleared here "
                       f"({', '.join(sorted(allowed))})", 2)
        given = next((field for field in flat if flat[field] is not None
                      and (field == key or field.startswith(f"{key}_"))), None)
        if given is not None:
            option = names.get(given, f"--{given.replace('_', '-')}")
            raise fail(f"--clear {key} and {option} both given: clear the field or set it, "
                       "not both", 2)
        flat[key] = None
    changes: dict[str, Any] = {}
    for key, value in flat.items():
        for prefix in ("subscriber_address_", "address_", "subscriber_"):
            if key.startswith(prefix):
                group = changes
                for part in prefix.rstrip("_").split("_"):
                    group = group.setdefault(part, {})
                group[key[len(prefix):]] = value
                break
        else:
            changes[key] = value
    return changes


@app.command("show")
@cli_errors
def show_patient(account: AccountArgument, as_json: JsonOption = False) -> None:
    """One patient: demographics, guarantor and coverages (with their ids)."""
    from medbill_core.services.guarantors import GuarantorService

    medbill = open_app()
    with medbill.unit_of_work() as work:
        patient = work.patients.by_account(account)
        coverages = work.patients.coverages(patient.id)
        guarantor = (GuarantorService(work.session, actor=work.actor).get(patient.guarantor_id)
                     if patient.guarantor_id else None)
    if as_json:
        print_json(_patient_data(patient, coverages, guarantor))
        return
    table = record_table(f"patient {patient.account_number} (id {patient.id})")
    table.add_row("name", _name(patient) + (f" {patient.suffix}" if patient.suffix else ""))
    table.add_row("birth date", patient.birth_date.isoformat())
    table.add_row("sex", patient.sex.value)
    table.add_row("address", _address_text(patient.address))
    table.add_row("phone", patient.phone or "-")
    table.add_row("e-mail", patient.email or "-")
    table.add_row("statement hold", "yes" if patient.statement_hold else "no")
    if patient.merged_into_id:
        table.add_row("merged into", f"patient id {patient.merged_into_id}")
    relationship = patient.guarantor_relationship.value if patient.guarantor_relationship else ""
    table.add_row("guarantor", f"{guarantor.display_name} (guarantor {guarantor.id}, "
                  f"{relationship})" if guarantor else "the patient (self)")
    print_table(table)
    _print_coverages(coverages)


def _relationship_text(relationship: Any) -> str:
    """The X12 individual relationship code with its meaning: ``19 (child)``."""
    return f"{relationship.value} ({relationship.name.lower().replace('_', ' ')})"


def _print_coverages(coverages: list[Any]) -> None:
    table = data_table("coverage id", "payer", "order", "member id", "group", "relationship",
                       "start", "end", "active", title="coverages",
                       keys=("coverage id", "payer", "member id", "group", "start", "end"))
    for c in coverages:
        table.add_row(str(c.id), escape(c.payer_key),
                      f"{c.order.value} ({c.order.name.lower()})",
                      escape(c.member_id), escape(c.group_number or "-"),
                      _relationship_text(c.relationship), str(c.start_date or "-"),
                      str(c.end_date or "-"), "yes" if c.is_active_on(date.today()) else "no")
    print_table(table)


@app.command("search")
@cli_errors
def search_patients(
    name: Annotated[str | None, typer.Option(
        help="Last name, 'Last, First' or 'First Last' (prefixes, any case)")] = None,
    dob: Annotated[str | None, typer.Option("--dob", help="Birth date YYYY-MM-DD")] = None,
    account: Annotated[str | None, typer.Option(help="Account number (prefix)")] = None,
    include_merged: Annotated[bool, typer.Option(
        "--include-merged", help="Also list records merged into another")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Find patients by name, birth date or account number (all given must match)."""
    birth_date = parse_date_option(dob, "--dob", future_days=0)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        found = work.patients.search(name=name, birth_date=birth_date, account=account,
                                     include_merged=include_merged, limit=limit)
    if as_json:
        print_json([p.model_dump(mode="json") for p in found])
        return
    table = data_table("id", "account", "name", "birth date", "merged into",
                       title=f"{len(found)} patients",
                       keys=("id", "account", "birth date", "merged into"))
    for p in found:
        table.add_row(str(p.id), escape(p.account_number), escape(_name(p)),
                      p.birth_date.isoformat(), str(p.merged_into_id or ""))
    print_table(table)


_PATIENT_CLEARABLE = {"middle_name", "suffix", "address", "address_line2", "phone", "email"}


@app.command("edit")
@cli_errors
def edit_patient(
    account: AccountArgument,
    last_name: Annotated[str | None, typer.Option()] = None,
    first_name: Annotated[str | None, typer.Option()] = None,
    middle_name: Annotated[str | None, typer.Option()] = None,
    suffix: Annotated[str | None, typer.Option()] = None,
    birth_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    sex: Annotated[str | None, typer.Option(help="F, M or U")] = None,
    address_line1: Annotated[str | None, typer.Option()] = None,
    address_line2: Annotated[str | None, typer.Option()] = None,
    address_city: Annotated[str | None, typer.Option()] = None,
    address_state: Annotated[str | None, typer.Option()] = None,
    address_postal_code: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    new_account: Annotated[str | None, typer.Option(
        "--new-account", help="Change the account number")] = None,
    statement_hold: Annotated[bool | None, typer.Option(
        "--statement-hold/--no-statement-hold", help="Hold (or release) statements")] = None,
    clear: ClearOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change some of a patient's details; fields not given stay as they are."""
    when = parse_date_option(birth_date, "--birth-date", future_days=0)
    changes = _changes({
        "last_name": last_name, "first_name": first_name, "middle_name": middle_name,
        "suffix": suffix, "birth_date": when.isoformat() if when else None, "sex": sex,
        "address_line1": address_line1, "address_line2": address_line2,
        "address_city": address_city, "address_state": address_state,
        "address_postal_code": address_postal_code, "phone": phone, "email": email,
        "account_number": new_account, "statement_hold": statement_hold,
    }, clear, _PATIENT_CLEARABLE, {"account_number": "--new-account"})
    if not changes:
        raise fail("nothing to change: give at least one field option or --clear", 2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        patient_id = work.patients.by_account(account).id
        patient, changed = work.patients.edit(patient_id, changes)
    if as_json:
        print_json({"patient_id": patient.id, "account_number": patient.account_number,
                    "changed": changed})
        return
    console.print(f"patient {patient.account_number}: "
                  + (f"changed {', '.join(changed)}" if changed else "nothing changed"),
                  highlight=False, markup=False)


@app.command("merge")
@cli_errors
def merge_command(
    keep: Annotated[str, typer.Argument(help="Account number of the record to keep")],
    duplicate: Annotated[str, typer.Argument(help="Account number of the duplicate")],
    as_json: JsonOption = False,
) -> None:
    """Merge a duplicate into the kept record: coverages, claims, ledger, payments, plans,
    statements, estimates, card payments, refunds, credit holds, write-offs, collection
    placements and pay links move; refused when both hold conflicting active coverages,
    active plans or accounts placed with an agency."""
    from medbill_core.services.patient_merge import merge_patients

    medbill = open_app()
    with medbill.unit_of_work() as work:
        keep_id = work.patients.by_account(keep).id
        duplicate_id = work.patients.by_account(duplicate).id
        result = merge_patients(work, keep_id, duplicate_id)
    data = {"kept": keep, "merged": duplicate, "moved": result.moved,
            "coverages_combined": result.coverages_combined,
            "filled_fields": result.filled_fields}
    if as_json:
        print_json(data)
        return
    moved = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in result.moved.items())
    console.print(f"merged {duplicate} into {keep}: moved {moved}", highlight=False,
                  soft_wrap=True, markup=False)
    if result.filled_fields:
        console.print(f"  filled from the duplicate: {', '.join(result.filled_fields)}",
                      highlight=False, markup=False)


# -- coverages: list, edit, terminate ----------------------------------------------------------

@coverages_app.command("list")
@cli_errors
def list_coverages(
    patient: Annotated[str, typer.Option("--patient", help="Patient account number")],
    as_json: JsonOption = False,
) -> None:
    """A patient's coverages with their ids (for edit and terminate)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        coverages = work.patients.coverages(work.patients.by_account(patient).id)
    if as_json:
        print_json([_coverage_data(c) for c in coverages])
        return
    _print_coverages(coverages)


_COVERAGE_CLEARABLE = {"group_number", "group_name", "plan_name", "start_date", "end_date",
                       "subscriber", "subscriber_middle_name", "subscriber_birth_date",
                       "subscriber_address"}


@coverages_app.command("edit")
@cli_errors
def edit_coverage(
    coverage_id: Annotated[int, typer.Argument(help="Coverage id (see coverages list)")],
    payer_key: Annotated[str | None, typer.Option("--payer")] = None,
    order: Annotated[str | None, typer.Option(help="P, S or T")] = None,
    member_id: Annotated[str | None, typer.Option()] = None,
    group_number: Annotated[str | None, typer.Option()] = None,
    group_name: Annotated[str | None, typer.Option()] = None,
    plan_name: Annotated[str | None, typer.Option()] = None,
    relationship: Annotated[str | None, typer.Option(
        help="X12 code: 18 self, 01 spouse, 19 child, G8 other ...")] = None,
    subscriber_last_name: Annotated[str | None, typer.Option()] = None,
    subscriber_first_name: Annotated[str | None, typer.Option()] = None,
    subscriber_birth_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    start: Annotated[str | None, typer.Option(help="Start date YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="End date YYYY-MM-DD")] = None,
    clear: ClearOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change some fields of a coverage; fields not given stay as they are.

    --payer is refused once a claim billed to the coverage was sent (end the coverage and add
    the new payer's as a new one); unsent (draft, validated) claims follow the new payer."""
    starts = parse_date_option(start, "--start", future_days=366, past_days=36500)
    ends = parse_date_option(end, "--end", future_days=3660, past_days=36500)
    born = parse_date_option(subscriber_birth_date, "--subscriber-birth-date", future_days=0)
    changes = _changes({
        "payer_key": payer_key, "order": order.upper() if order else None,
        "member_id": member_id, "group_number": group_number, "group_name": group_name,
        "plan_name": plan_name, "relationship": relationship.upper() if relationship else None,
        "subscriber_last_name": subscriber_last_name,
        "subscriber_first_name": subscriber_first_name,
        "subscriber_birth_date": born.isoformat() if born else None,
        "start_date": starts.isoformat() if starts else None,
        "end_date": ends.isoformat() if ends else None,
    }, clear, _COVERAGE_CLEARABLE, {"payer_key": "--payer", "start_date": "--start",
                                    "end_date": "--end"})
    if not changes:
        raise fail("nothing to change: give at least one field option or --clear", 2)
    from medbill_core.services.patients import edit_coverage as edit_with_claims

    medbill = open_app()
    with medbill.unit_of_work() as work:
        coverage, changed, moved = edit_with_claims(work, coverage_id, changes)
    if as_json:
        print_json({"coverage_id": coverage.id, "changed": changed, "claims_moved": moved})
        return
    console.print(f"coverage {coverage.id}: "
                  + (f"changed {', '.join(changed)}" if changed else "nothing changed"),
                  highlight=False, markup=False)
    if moved:
        console.print(f"{len(moved)} unsent claims now bill {coverage.payer_key}: "
                      f"{', '.join(moved)} (scrub them again)", highlight=False, markup=False)


@coverages_app.command("terminate")
@cli_errors
def terminate_coverage(
    coverage_id: Annotated[int, typer.Argument(help="Coverage id (see coverages list)")],
    end: Annotated[str, typer.Option(help="Last covered day YYYY-MM-DD")],
    confirm_date: Annotated[bool, typer.Option(
        "--confirm-date", help="The end date is far from today and right")] = False,
    as_json: JsonOption = False,
) -> None:
    """End a coverage: services after the end date are not billed to it."""
    ends = parse_date_option(end, "--end", future_days=366, past_days=730,
                             confirmed=confirm_date)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        coverage = work.patients.terminate_coverage(coverage_id, ends)
        billed_after = work.patients.claims_after_end(coverage_id)
    if as_json:
        print_json({**_coverage_data(coverage), "claims_after_end": billed_after})
        return
    console.print(f"coverage {coverage.id} ({coverage.payer_key}) ends {coverage.end_date}",
                  highlight=False, markup=False)
    if billed_after:
        warn(f"{len(billed_after)} claims for services after {coverage.end_date} are billed "
             f"to this coverage: {', '.join(billed_after)}; bill them to the right payer "
             "(claims edit a draft; void a sent one and bill the visit again)")

"""``medbill guarantors``: who pays a patient's bills and receives the statements."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    print_json,
    print_table,
    record_table,
)
from medbill_core.cli.patients_cmd import ClearOption, JsonOption, _address_text, _changes
from medbill_core.domain import Guarantor, GuarantorRelationship, validate_record
from medbill_core.domain.base import saved_id
from medbill_core.permissions import Action
from medbill_core.services.guarantors import GuarantorService

app = typer.Typer(help="Guarantors: who pays a patient's bills and receives the statements.",
                  no_args_is_help=True)

IdArgument = Annotated[int, typer.Argument(help="Guarantor id (see guarantors list)")]
_CLEARABLE = {"middle_name", "suffix", "birth_date", "address", "address_line2", "phone",
              "email"}


def _details(last_name: str | None, first_name: str | None, middle_name: str | None,
             suffix: str | None, birth_date: str | None, address_line1: str | None,
             address_line2: str | None, address_city: str | None, address_state: str | None,
             address_postal_code: str | None, phone: str | None, email: str | None,
             clear: list[str] | None = None) -> dict[str, Any]:
    from medbill_core.cli.common import parse_date_option

    born = parse_date_option(birth_date, "--birth-date", future_days=0)
    return _changes({
        "last_name": last_name, "first_name": first_name, "middle_name": middle_name,
        "suffix": suffix, "birth_date": born.isoformat() if born else None,
        "address_line1": address_line1, "address_line2": address_line2,
        "address_city": address_city, "address_state": address_state,
        "address_postal_code": address_postal_code, "phone": phone, "email": email,
    }, clear, _CLEARABLE)


def _guarantor_data(guarantor: Guarantor, patients: list[Any]) -> dict[str, Any]:
    data = guarantor.model_dump(mode="json")
    data["patients"] = [{"id": p.id, "account_number": p.account_number,
                         "relationship": p.guarantor_relationship.value
                         if p.guarantor_relationship else None} for p in patients]
    return data


def _relationship(patient: Any) -> str:
    return patient.guarantor_relationship.value if patient.guarantor_relationship else "-"


Text = Annotated[str | None, typer.Option()]


@app.command("add")
@cli_errors
def add(
    last_name: Annotated[str, typer.Option()],
    first_name: Annotated[str, typer.Option()],
    middle_name: Text = None, suffix: Text = None,
    birth_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    address_line1: Text = None, address_line2: Text = None, address_city: Text = None,
    address_state: Text = None, address_postal_code: Text = None,
    phone: Text = None, email: Text = None,
    patient: Annotated[list[str] | None, typer.Option(
        "--patient", help="Account number of a patient this guarantor pays for (repeat)")
    ] = None,
    relationship: Annotated[GuarantorRelationship, typer.Option(
        help="Who the guarantor is to those patients")] = GuarantorRelationship.PARENT,
    as_json: JsonOption = False,
) -> None:
    """Register a guarantor and, with --patient, make them answer for those patients."""
    record = _details(last_name, first_name, middle_name, suffix, birth_date, address_line1,
                      address_line2, address_city, address_state, address_postal_code, phone,
                      email)
    guarantor = validate_record(Guarantor, record, record="guarantor")
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.GUARANTORS_WRITE)
        service = GuarantorService(work.session, actor=work.actor)
        stored = service.add(guarantor)
        for account in patient or []:
            service.assign(work.patients.by_account(account).id, stored.id, relationship)
        patients = service.patients_of(saved_id(stored))
    if as_json:
        print_json(_guarantor_data(stored, patients))
        return
    console.print(f"guarantor {stored.id} added" + (
        f"; pays for {', '.join(p.account_number for p in patients)}" if patients else ""),
        highlight=False, markup=False)


@app.command("list")
@cli_errors
def list_guarantors(limit: Annotated[int, typer.Option(min=1)] = 50,
                    offset: Annotated[int, typer.Option(min=0)] = 0,
                    as_json: JsonOption = False) -> None:
    """Guarantors by id, with the patients they pay for."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.GUARANTORS_READ)
        service = GuarantorService(work.session, actor=work.actor)
        rows = [(g, service.patients_of(saved_id(g)))
                for g in service.list(limit=limit, offset=offset)]
    if as_json:
        print_json([_guarantor_data(g, patients) for g, patients in rows])
        return
    table = data_table("id", "name", "address", "patients", title=f"{len(rows)} guarantors",
                       keys=("id",))
    for g, patients in rows:
        # account numbers wrap between accounts, never inside one
        table.add_row(str(g.id), escape(g.display_name), escape(_address_text(g.address)),
                      ", ".join(escape(p.account_number) for p in patients) or "-")
    print_table(table)


@app.command("show")
@cli_errors
def show(guarantor_id: IdArgument, as_json: JsonOption = False) -> None:
    """One guarantor and the patients they pay for."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.GUARANTORS_READ)
        service = GuarantorService(work.session, actor=work.actor)
        guarantor = service.get(guarantor_id)
        patients = service.patients_of(guarantor_id)
    if as_json:
        print_json(_guarantor_data(guarantor, patients))
        return
    table = record_table(f"guarantor {guarantor.id}")
    table.add_row("name", guarantor.display_name)
    table.add_row("birth date", str(guarantor.birth_date or "-"))
    table.add_row("address", _address_text(guarantor.address))
    table.add_row("phone", guarantor.phone or "-")
    table.add_row("e-mail", guarantor.email or "-")
    table.add_row("patients", ", ".join(f"{p.account_number} ({_relationship(p)})"
                                        for p in patients) or "-")
    print_table(table)


@app.command("edit")
@cli_errors
def edit(
    guarantor_id: IdArgument,
    last_name: Text = None, first_name: Text = None, middle_name: Text = None,
    suffix: Text = None,
    birth_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    address_line1: Text = None, address_line2: Text = None, address_city: Text = None,
    address_state: Text = None, address_postal_code: Text = None,
    phone: Text = None, email: Text = None, clear: ClearOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change some of a guarantor's details (a new address shows on the next statements)."""
    changes = _details(last_name, first_name, middle_name, suffix, birth_date, address_line1,
                       address_line2, address_city, address_state, address_postal_code, phone,
                       email, clear)
    if not changes:
        raise fail("nothing to change: give at least one field option or --clear", 2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.GUARANTORS_WRITE)
        service = GuarantorService(work.session, actor=work.actor)
        guarantor, changed = service.edit(guarantor_id, changes)
    if as_json:
        print_json({"guarantor_id": guarantor.id, "changed": changed})
        return
    console.print(f"guarantor {guarantor.id}: "
                  + (f"changed {', '.join(changed)}" if changed else "nothing changed"),
                  highlight=False, markup=False)


@app.command("assign")
@cli_errors
def assign(
    patient: Annotated[str, typer.Option("--patient", help="Patient account number")],
    guarantor_id: Annotated[int | None, typer.Option(
        "--guarantor", help="Guarantor id; leave out with --relationship self")] = None,
    relationship: Annotated[GuarantorRelationship, typer.Option(
        help="Who the guarantor is to the patient")] = GuarantorRelationship.PARENT,
    as_json: JsonOption = False,
) -> None:
    """Make a guarantor answer for a patient, or (--relationship self) the patient themself."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.GUARANTORS_WRITE)
        patient_id = work.patients.by_account(patient).id
        stored = GuarantorService(work.session, actor=work.actor).assign(
            patient_id, guarantor_id, relationship)
    if as_json:
        print_json({"patient": patient, "guarantor_id": stored.guarantor_id,
                    "relationship": relationship.value})
        return
    who = f"guarantor {stored.guarantor_id}" if stored.guarantor_id else "the patient"
    console.print(f"patient {patient}: statements go to {who} ({relationship.value})",
                  highlight=False, markup=False)


@app.command("from-subscribers")
@cli_errors
def from_subscribers(as_json: JsonOption = False) -> None:
    """Give every dependent whose guarantor was never chosen the subscriber of their primary
    plan as guarantor (for patients registered before guarantors existed; new coverages do
    this themselves)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.GUARANTORS_WRITE)
        assigned = GuarantorService(work.session, actor=work.actor).default_all_from_subscribers()
        accounts = [work.patients.get(pid).account_number for pid in assigned]
    if as_json:
        print_json({"assigned": accounts})
        return
    console.print(f"{len(accounts)} patients got their subscriber as guarantor"
                  + (f": {', '.join(accounts)}" if accounts else ""), highlight=False,
                  soft_wrap=True, markup=False)

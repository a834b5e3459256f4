"""``medbill paylinks ...``: pay links a patient opens to pay online (the statement run prints
one on each statement; staff issue one for a patient asking on the phone).

``issue`` shows the link's address and code once: only the code's hash is kept, so a lost
code means a new link. ``list`` shows links by state (never a code); ``revoke`` ends one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, console, fail, open_app, print_json

app = typer.Typer(help="Pay links: the short code a patient types (or scans) to pay online.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]


@app.command("issue")
@cli_errors
def issue_command(
    guarantor: Annotated[str | None, typer.Option(
        "--guarantor", help="A family's link: the guarantor's number (G0000012) or id")] = None,
    patient: Annotated[str | None, typer.Option(
        "--patient", help="A patient who is their own guarantor: the account number")] = None,
    statement: Annotated[str | None, typer.Option(
        "--statement", help="The statement's number or id: a link for whoever it was "
                            "addressed to, named as that statement's")] = None,
    as_json: AsJson = False,
) -> None:
    """Issue a new pay link and show its address and code (once: only a hash is kept).
    Older links keep working until they expire or are revoked."""
    from sqlalchemy import select

    from medbill_core.services.guarantors import resolve_guarantor
    from medbill_core.services.pay_links import issue_link
    from medbill_core.storage.schema import StatementRow

    if sum(value is not None for value in (guarantor, patient, statement)) != 1:
        raise fail("give one of --guarantor, --patient or --statement", 2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        statement_id = None
        if statement is not None:
            statement_id = work.session.scalar(select(StatementRow.id).where(
                StatementRow.statement_number == statement))
            if statement_id is None and statement.isascii() and statement.isdigit():
                statement_id = int(statement)
            if statement_id is None:
                raise fail(f"statement {statement}: no such statement", 1)
        issued = issue_link(
            work, statement_id=statement_id,
            guarantor_id=resolve_guarantor(work.session, guarantor)
            if guarantor is not None else None,
            patient_id=work.patients.by_account(patient).id if patient is not None else None)
    if as_json:
        print_json({"id": issued.id, "url": issued.url, "code": issued.printed_code,
                    "expires_at": issued.expires_at.isoformat()})
        return
    console.print(f"pay link {issued.id}: {issued.url}\ncode {issued.printed_code}, works "
                  f"until {issued.expires_at:%Y-%m-%d} (shown once: only its hash is kept)",
                  markup=False)


@app.command("list")
@cli_errors
def list_command(
    guarantor: Annotated[str | None, typer.Option(
        "--guarantor", help="Only this guarantor's links (number or id)")] = None,
    patient: Annotated[str | None, typer.Option(
        "--patient", help="Only this patient's links (account number)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: AsJson = False,
) -> None:
    """Pay links, newest first: whose, state, expiry, wrong dates of birth (no codes)."""
    from medbill_core.services.guarantors import resolve_guarantor
    from medbill_core.services.pay_links import list_links

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        views = list_links(
            work, limit=limit,
            guarantor_id=resolve_guarantor(work.session, guarantor)
            if guarantor is not None else None,
            patient_id=work.patients.by_account(patient).id if patient is not None else None)
    if as_json:
        print_json([view.as_json() for view in views])
        return
    if not views:
        console.print("no pay links", markup=False)
        return
    for view in views:
        owner = (f"guarantor {view.guarantor_id}" if view.guarantor_id is not None
                 else f"patient {view.patient_id}")
        extra = f", statement {view.statement_id}" if view.statement_id else ""
        console.print(f"{view.id}  {view.status.value:<8} {owner}{extra}, expires "
                      f"{view.expires_at:%Y-%m-%d}, {view.locks} lock(s)", markup=False)


@app.command("revoke")
@cli_errors
def revoke_command(
    link_id: Annotated[int, typer.Argument(help="Pay link id", min=1)],
    reason: Annotated[str, typer.Option(help="Why (no patient details)")],
    as_json: AsJson = False,
) -> None:
    """End a pay link now (a statement mailed to a wrong address)."""
    from medbill_core.services.pay_links import revoke_link

    medbill = open_app()
    with medbill.unit_of_work() as work:
        view = revoke_link(work, link_id, reason)
    if as_json:
        print_json(view.as_json())
        return
    console.print(f"pay link {view.id}: revoked", markup=False)

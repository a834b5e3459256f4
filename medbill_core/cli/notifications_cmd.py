"""``medbill notifications ...``: the texts and e-mails sent about statements (list, show),
sending what is due now (deliver), and how each addressee agreed to be reached (contact)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    parse_choice_option,
    print_json,
    print_table,
    record_table,
)

app = typer.Typer(help="Texts and e-mails about statements: the outbox, and how each "
                       "guarantor agreed to be reached.", no_args_is_help=True)
contact_app = typer.Typer(help="How a guarantor (or a patient paying their own bills) agreed "
                               "to be reached: sms, email or none.", no_args_is_help=True)
app.add_typer(contact_app, name="contact")

AsJson = Annotated[bool, typer.Option("--json")]
NotificationId = Annotated[int, typer.Argument(help="The message's id", min=1)]
GuarantorOption = Annotated[str | None, typer.Option(
    "--guarantor", help="The guarantor's number (G0000012) or id")]
PatientOption = Annotated[str | None, typer.Option(
    "--patient", help="A patient who pays their own bills: the account number")]


def _account_key(work: object, guarantor: str | None, patient: str | None) -> str:
    from medbill_core.app import UnitOfWork
    from medbill_core.services.guarantors import resolve_guarantor
    from medbill_core.services.notifications import account_key_of

    assert isinstance(work, UnitOfWork)
    if (guarantor is None) == (patient is None):
        raise fail("give --guarantor or --patient (one of them)", 2)
    if guarantor is not None:
        return account_key_of(guarantor_id=resolve_guarantor(work.session, guarantor))
    assert patient is not None
    return account_key_of(patient_id=work.patients.by_account(patient).id)


@app.command("list")
@cli_errors
def list_command(
    status: Annotated[str | None, typer.Option(
        help="pending, sent, failed, dead, refused or canceled")] = None,
    statement: Annotated[int | None, typer.Option(help="Only this statement's id",
                                                  min=1)] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first", min=1,
                                       max=1000)] = 100,
    as_json: AsJson = False,
) -> None:
    """Messages of the outbox, newest first (the recipient masked)."""
    from medbill_core.services.notifications import NotificationStatus, list_notifications

    wanted = parse_choice_option(status, "--status", NotificationStatus)
    with open_app().unit_of_work(read_only=True) as work:
        items = list_notifications(work, status=wanted, statement_id=statement, limit=limit)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("id", "account", "template", "channel", "to", "status", "attempts",
                       "sent", "error", title=f"notifications: {len(items)}",
                       keys=("id", "account", "to"), numeric=("attempts",))
    for item in items:
        table.add_row(str(item.id), item.account_key, item.template, item.channel.value,
                      escape(item.recipient), item.status.value, str(item.attempts),
                      item.sent_at.isoformat(timespec="seconds") if item.sent_at else "",
                      escape(item.last_error or ""))
    print_table(table)


@app.command("show")
@cli_errors
def show_command(notification_id: NotificationId, as_json: AsJson = False) -> None:
    """One message: to whom (masked), its text, how sending it went."""
    from medbill_core.services.notifications import get_notification

    with open_app().unit_of_work(read_only=True) as work:
        item = get_notification(work, notification_id)
    if as_json:
        print_json(item.as_json())
        return
    table = record_table(f"notification {item.id}")
    for field, value in (("account", item.account_key), ("template", item.template),
                         ("statement", str(item.statement_id or "")),
                         ("channel", item.channel.value), ("to", item.recipient),
                         ("subject", item.subject or ""), ("text", item.body),
                         ("notifier", item.notifier), ("status", item.status.value),
                         ("attempts", str(item.attempts)),
                         ("next attempt", item.next_attempt_at.isoformat(timespec="seconds")
                          if item.next_attempt_at else ""),
                         ("last error", item.last_error or ""),
                         ("provider id", item.provider_id or ""),
                         ("sent", item.sent_at.isoformat(timespec="seconds")
                          if item.sent_at else ""),
                         ("queued by", item.created_by)):
        table.add_row(field, value)
    print_table(table)


@app.command("send-link")
@cli_errors
def send_link_command(guarantor: GuarantorOption = None, patient: PatientOption = None,
                      as_json: AsJson = False) -> None:
    """Issue a new pay link and queue it by text or e-mail, as the addressee agreed (a
    patient on the phone asks for one); `deliver` or the workers send it."""
    from medbill_core.services.guarantors import resolve_guarantor
    from medbill_core.services.notifications import send_new_link

    if (guarantor is None) == (patient is None):
        raise fail("give --guarantor or --patient (one of them)", 2)
    with open_app().unit_of_work() as work:
        issued, queued = send_new_link(
            work, guarantor_id=resolve_guarantor(work.session, guarantor)
            if guarantor is not None else None,
            patient_id=work.patients.by_account(patient).id if patient is not None else None)
    if as_json:
        print_json({"pay_link": issued.id, "notification": queued.as_json()})
        return
    console.print(f"pay link {issued.id} queued as notification {queued.id}: "
                  f"{queued.channel.value} to {queued.recipient}", markup=False)


@app.command("deliver")
@cli_errors
def deliver_command(
    limit: Annotated[int, typer.Option(help="At most this many", min=1, max=10000)] = 500,
    as_json: AsJson = False,
) -> None:
    """Send the messages due now (workers do it every minute); failures are tried again
    later. Exits 1 when a message failed."""
    from medbill_core.services.notifications import NotificationStatus, deliver_due

    outcomes = deliver_due(open_app(), limit=limit)
    if as_json:
        print_json([{"id": o.notification_id, "status": o.status.value, "error": o.error}
                    for o in outcomes])
    else:
        sent = sum(1 for o in outcomes if o.status is NotificationStatus.SENT)
        console.print(f"{sent} of {len(outcomes)} message(s) sent", markup=False)
        for outcome in outcomes:
            if outcome.error:
                console.print(f"notification {outcome.notification_id}: "
                              f"{outcome.status.value}: {outcome.error}", markup=False)
    if any(o.status is not NotificationStatus.SENT for o in outcomes):
        raise typer.Exit(1)


@contact_app.command("set")
@cli_errors
def contact_set_command(
    channel: Annotated[str, typer.Option(help="sms, email or none")],
    guarantor: GuarantorOption = None,
    patient: PatientOption = None,
    consent: Annotated[str | None, typer.Option(
        help="How the person agreed (e.g. \"verbal, at check-in\"); needed for sms and "
             "email")] = None,
    as_json: AsJson = False,
) -> None:
    """Record how a guarantor agreed to be reached about statements (none: paper only)."""
    from medbill_core.services.notifications import ContactChoice, set_contact_preference

    choice = parse_choice_option(channel, "--channel", ContactChoice)
    with open_app().unit_of_work() as work:
        preference = set_contact_preference(work, _account_key(work, guarantor, patient),
                                            choice, consent)
    if as_json:
        print_json(preference.as_json())
        return
    console.print(f"contact {preference.account_key}: {preference.channel.value}",
                  markup=False)


@contact_app.command("show")
@cli_errors
def contact_show_command(guarantor: GuarantorOption = None, patient: PatientOption = None,
                         as_json: AsJson = False) -> None:
    """How a guarantor agreed to be reached (none recorded: nothing is sent)."""
    from medbill_core.services.notifications import contact_preference

    with open_app().unit_of_work(read_only=True) as work:
        key = _account_key(work, guarantor, patient)
        preference = contact_preference(work, key)
    if as_json:
        print_json(preference.as_json() if preference else {"account": key, "channel": None})
        return
    if preference is None:
        console.print(f"contact {key}: none recorded (no texts or e-mails)", markup=False)
        return
    console.print(f"contact {key}: {preference.channel.value}"
                  + (f" ({preference.consent}, recorded by {preference.recorded_by})"
                     if preference.consent else ""), markup=False)

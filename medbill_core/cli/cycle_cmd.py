"""Commands that move claims through the cycle: submit, fetch responses, post remittances,
and the remittance register (list, show, resolve exceptions)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from medbill_core.cli.claims_cmd import app as claims_app
from medbill_core.cli.common import (
    cli_errors,
    console,
    fail,
    open_app,
    parse_date_option,
    print_json,
    print_problem,
)
from medbill_core.domain import InboundDocument
from medbill_core.errors import MedbillError
from medbill_core.money import total
from medbill_core.services.remittance_register import RemittanceStatus
from medbill_core.services.responses import fetch_and_apply, ingest_document

responses_app = typer.Typer(help="Acknowledgments, status responses and remittances.",
                            no_args_is_help=True)
remit_app = typer.Typer(help="Remittance advice (835).", no_args_is_help=True)


@claims_app.command("submit")
@cli_errors
def submit_claims(
    claim: Annotated[list[str] | None, typer.Option(
        help="Only these claims (id or claim number); repeat for several")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Batch validated claims by payer, record them in the outbox and send everything pending.

    A batch the channel does not take (channel down) stays queued, its claims "queued (not
    sent)"; running this again sends it."""
    from medbill_core.services.submission import submit

    medbill = open_app()
    claim_ids = None
    if claim:
        with medbill.unit_of_work() as work:
            claim_ids = [work.claims.resolve(reference) for reference in claim]
    outcomes = submit(medbill, claim_ids=claim_ids)
    rows = [{"submission": o.submission_id, "payer": o.payer_key, "claims": o.claims,
             "status": o.status, "remote_id": o.remote_id, "error": o.error} for o in outcomes]
    if as_json:
        print_json(rows)
    else:
        table = Table("submission", "payer", "claims", "status", "remote id", "error",
                      title="submissions")
        for row in rows:
            table.add_row(*(str(v) if v is not None else "-" for v in row.values()))
        console.print(table)
    _explain_unsent(outcomes)


def _explain_unsent(outcomes: list) -> None:
    """Exit 1 when a file did not leave, saying what happens to its claims."""
    unsent = [o for o in outcomes if o.status == "pending"]
    if unsent:
        claims = sum(o.claims for o in unsent)
        print_problem(f"{len(unsent)} batch(es) not taken by the channel: {claims} claims stay "
                      "queued (not sent); run medbill claims submit (or claims outbox --retry) "
                      "again when the channel is up")
    if unsent or any(o.status != "sent" for o in outcomes):
        raise typer.Exit(1)


@claims_app.command("outbox")
@cli_errors
def outbox(
    pending: Annotated[bool, typer.Option(
        "--pending", help="Only files the channel has not taken yet")] = False,
    retry: Annotated[bool, typer.Option(
        "--retry", help="Send every file still pending now (same bytes, same key)")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The outbox: batches by payer, whether their channel took them, attempts, last error."""
    from medbill_core.services.submission import list_outbox, send_pending

    medbill = open_app()
    outcomes = send_pending(medbill) if retry else []
    items = list_outbox(medbill, pending_only=pending, limit=limit)
    if as_json:
        print_json([item.as_json() for item in items])
    else:
        table = Table(title=f"{len(items)} outbox files", show_edge=False, pad_edge=False)
        for name in ("id", "payer", "control", "claims", "status", "tries", "sent",
                     "last error"):
            table.add_column(name, overflow="fold", no_wrap=name in ("control", "sent"))
        for item in items:
            table.add_row(str(item.submission_id), escape(item.payer_key), item.control_number,
                          str(item.claims),
                          "pending (not sent)" if item.status == "pending" else item.status,
                          str(item.attempts),
                          item.sent_at[:16].replace("T", " ") if item.sent_at else "-",
                          escape(item.last_error or ""))
        console.print(table)
    _explain_unsent(outcomes)


@responses_app.command("fetch")
@cli_errors
def fetch(channel: Annotated[list[str] | None, typer.Option(
        help="Channel to poll (default: every channel a payer uses)")] = None) -> None:
    """Poll channels and apply what arrived (999, TA1, 277CA, 835 ...)."""
    medbill = open_app()
    channels = channel or sorted({p.channel for p in medbill.config.payers.values() if p.channel})
    table = Table("channel", "document", "kind", "status", "detail", title="responses")
    count = 0
    for name in channels:
        for result in fetch_and_apply(medbill, name):
            table.add_row(name, result.document_id, result.kind, result.status, result.detail)
            count += 1
    console.print(table if count else "no documents waiting")


@remit_app.command("post")
@cli_errors
def post_file(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Post an 835 received outside a channel. Posting the same file twice posts once.

    A 999, TA1 or 277 given here is applied as what it is (the output says so); an 837 or
    other X12 is refused. A file that failed (undecodable) is tried again when posted again.
    """
    import hashlib

    from medbill_core.services.responses import route_file

    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MedbillError(f"{file.name}: not a text file") from None
    routing = route_file(content)
    if routing.kind is None:
        raise MedbillError(f"{file.name} is {routing.description}, not an 835 remittance; "
                           "nothing was posted")
    medbill = open_app()
    document = InboundDocument(channel="file", kind=routing.kind,
                               document_id=hashlib.sha256(content.encode()).hexdigest()[:32],
                               content=content)
    result = ingest_document(medbill, document)
    note = f"{routing.description}, not an 835: applied as such" if routing.rerouted else None
    if as_json:
        print_json({"file": file.name, "kind": result.kind, "status": result.status,
                    "detail": result.detail, "note": note})
    else:
        console.print(f"{file.name}: " + (f"{note}; " if note else "") + result.status
                      + (f" — {result.detail}" if result.detail else ""), highlight=False)
    if result.status in ("undecodable", "failed"):
        raise typer.Exit(1)


def _status_option(value: str | None) -> RemittanceStatus | None:
    if value is None:
        return None
    wanted = value.strip().lower().replace("-", " ").replace("_", " ")
    for status in RemittanceStatus:
        if status.value == wanted:
            return status
    choices = ", ".join(repr(status.value) for status in RemittanceStatus)
    raise fail(f"--status must be one of {choices}, got {value!r}", 2)


@remit_app.command("list")
@cli_errors
def list_remittances_command(
    date_from: Annotated[str | None, typer.Option(
        "--from", help="Remittances paid on or after this date, YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option(
        "--to", help="Remittances paid on or before this date, YYYY-MM-DD")] = None,
    payer: Annotated[str | None, typer.Option(
        "--payer", help="Payer ID as the 835 sends it, or a configured payer key")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="balanced, exceptions or 'out of balance'")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The 835s received, oldest payment first: amount, what was posted, PLBs, exceptions."""
    from medbill_core.services.remittance_register import list_remittances

    start, end = parse_date_option(date_from, "--from"), parse_date_option(date_to, "--to")
    wanted = _status_option(status)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = list_remittances(work, date_from=start, date_to=end, payer=payer, status=wanted)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = Table(title=f"{len(items)} remittances")
    for name in ("date", "payer", "trace", "method"):
        table.add_column(name, overflow="fold")
    for name in ("amount", "posted", "PLB", "exceptions"):
        table.add_column(name, justify="right")
    table.add_column("status")
    for item in items:
        table.add_row(str(item.date), escape(item.payer), escape(item.trace_number),
                      item.payment_method, str(item.payment_amount), str(item.on_accounts),
                      str(item.plb_total), str(item.exception_total), item.status.value)
    if items:
        table.add_section()
        table.add_row("total", "", "", "",
                      str(total(item.payment_amount for item in items)),
                      str(total(item.on_accounts for item in items)),
                      str(total(item.plb_total for item in items)),
                      str(total(item.exception_total for item in items)), "")
    console.print(table)


@remit_app.command("show")
@cli_errors
def show_remittance(
    trace: Annotated[str, typer.Argument(help="TRN02 trace number (check or EFT number)")],
    payer: Annotated[str | None, typer.Option(
        "--payer", help="Payer ID or configured payer key, when several payers used the "
                        "trace number")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A remittance: its payment, reconciliation, claim payments as posted, PLBs, exceptions."""
    from medbill_core.services.remittance_register import remittance_detail

    medbill = open_app()
    with medbill.unit_of_work() as work:
        detail = remittance_detail(work, trace, payer)
    if as_json:
        print_json(detail.as_json())
        return
    item = detail.remittance
    console.print(f"remittance {escape(item.trace_number)} from {escape(item.payer_name)} "
                  f"({escape(item.payer)}): [bold]{item.status.value}[/]", highlight=False)
    console.print(f"  {item.payment_method} {item.payment_amount} paid {item.date}"
                  + (f", produced {item.production_date}" if item.production_date else ""),
                  highlight=False)
    console.print(f"  claim payments {item.on_accounts} ({item.posted_count} posted, "
                  f"{item.duplicate_count} posted before) + exceptions {item.exception_total} "
                  f"({item.exception_count}) - PLB {item.plb_total} ({item.plb_count}); "
                  f"difference {item.difference}", highlight=False)
    claims = Table(title=f"{len(detail.claims)} claim payments posted")
    for name in ("claim", "state", "CLP02"):
        claims.add_column(name, overflow="fold")
    for name in ("paid", "adjusted", "patient"):
        claims.add_column(name, justify="right")
    for claim in detail.claims:
        claims.add_row(escape(claim.claim_number), claim.claim_state, claim.claim_status,
                       str(claim.paid), str(claim.adjusted), str(claim.patient_share))
    console.print(claims)
    rules = Table(title="adjustments and the posting rule applied")
    for name in ("claim", "code"):
        rules.add_column(name, overflow="fold")
    rules.add_column("amount", justify="right")
    for name in ("action", "rule"):
        rules.add_column(name, overflow="fold")
    for claim in detail.claims:
        for item in claim.adjustments:
            rules.add_row(escape(claim.claim_number), item["code"], item["amount"],
                          item["action"], escape(item["rule"]))
    if rules.row_count:
        console.print(rules)
    if detail.kept_open:
        kept = Table("denial", "claim", "code", title="kept open to work (medbill denials)")
        kept.add_column("amount", justify="right")
        kept.add_column("action")
        kept.add_column("status")
        for item in detail.kept_open:
            kept.add_row(str(item["id"]), escape(item["claim_number"]), item["code"],
                         item["amount"], item["action"], item["status"])
        console.print(kept)
    if detail.provider_adjustments:
        plbs = Table("provider", "reason", "reference", title="provider adjustments (PLB)")
        plbs.add_column("amount", justify="right")
        for plb in detail.provider_adjustments:
            plbs.add_row(escape(plb["provider_id"]), escape(plb["reason_code"]),
                         escape(plb["reference"] or ""), plb["amount"])
        console.print(plbs)
    if detail.exceptions:
        exceptions = Table("id", "claim (as sent)", title="exceptions")
        exceptions.add_column("paid", justify="right")
        exceptions.add_column("reason", overflow="fold")
        exceptions.add_column("resolution", overflow="fold")
        for exception in detail.exceptions:
            exceptions.add_row(str(exception["id"]), escape(exception["claim_number"]),
                               exception["paid"], escape(exception["reason"]),
                               escape(exception["resolution"] or "") if exception["resolved"]
                               else "open")
        console.print(exceptions)


@remit_app.command("resolve")
@cli_errors
def resolve_exception_command(
    exception_id: Annotated[int, typer.Argument(
        help="Remittance exception id (medbill ar exceptions)")],
    note: Annotated[str, typer.Option("--note", help="How it was resolved")],
) -> None:
    """Mark a remittance exception (a claim payment that matched no claim) resolved."""
    from medbill_core.services.remittance_register import resolve_exception

    medbill = open_app()
    with medbill.unit_of_work() as work:
        exception = resolve_exception(work, exception_id, note)
        trace = exception.trace_number
    console.print(f"remittance exception {exception_id} (835 {escape(trace)}) resolved",
                  highlight=False)


eligibility_app = typer.Typer(help="Eligibility and benefits (270/271).", no_args_is_help=True)


@eligibility_app.command("check")
@cli_errors
def check_eligibility(
    patient: Annotated[str, typer.Option("--patient", help="Patient account number")],
    on: Annotated[str | None, typer.Option("--date", help="Date of service YYYY-MM-DD")] = None,
    service_type: Annotated[list[str] | None, typer.Option(
        help="X12 service type codes (default 30: health benefit plan coverage)")] = None,
    confirm_date: Annotated[bool, typer.Option(
        "--confirm-date", help="Accept a date of service more than a year ahead or two back")
    ] = False,
    coverage: Annotated[int | None, typer.Option(
        "--coverage", help="Ask this coverage's payer (id from coverages list), e.g. the "
        "secondary")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the payer of the patient's primary coverage active on the date of service (or of
    --coverage) whether they are covered, and for what.

    Exits 1 when the payer rejected the request (AAA: subscriber not found, invalid ID ...),
    with the reason in words."""
    from medbill_core.services.eligibility import check_patient_eligibility

    when = parse_date_option(on, "--date", future_days=366, past_days=2 * 366,
                             confirmed=confirm_date) or date.today()
    medbill = open_app()
    check = check_patient_eligibility(medbill, patient, when, service_type or ["30"],
                                      coverage_id=coverage)
    response, payer = check.response, check.payer
    summary = response.summary(check.request.service_types[0])
    if as_json:
        print_json({"payer": payer.key, "coverage_id": check.coverage.id,
                    "status": response.status.value, "plan": response.plan_name,
                    "summary": summary.model_dump(mode="json"),
                    "issues": [{**i.model_dump(mode="json"),
                                "reason": reason} for i, reason in zip(response.issues,
                                                                       check.reasons,
                                                                       strict=True)]})
    else:
        from medbill_core.codesets.explain import percent

        console.print(f"coverage with {escape(payer.name)}: [bold]{response.status.value}[/]"
                      + (f" — plan {escape(response.plan_name)}" if response.plan_name else ""))
        for key, value in summary.model_dump().items():
            if value is not None:
                shown = percent(value) if key == "coinsurance" else value
                console.print(f"  {key.replace('_', ' ')}: {shown}")
        for reason in check.reasons:
            console.print(f"  payer reject reason {escape(reason)}", highlight=False)
    if check.rejected:
        raise fail(f"{payer.name} rejected the eligibility request: " + "; ".join(check.reasons))


@claims_app.command("status")
@cli_errors
def claim_status(
    reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the payer where a submitted claim stands (276/277)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim_id = work.claims.resolve(reference)
        request = work.claims.status_inquiry(claim_id, trace_number=f"ST{claim_id}")
    response = medbill.hooks.check_claim_status(request=request)
    number = request.claim.claim.claim_number
    if as_json:
        print_json({"claim_id": claim_id, "claim_number": number,
                    "statuses": [status.model_dump(mode="json") for status in response.claims]})
        return
    if not response.claims:
        console.print(f"claim {escape(number)}: the payer returned no status", highlight=False)
    for status in response.claims:
        codes = ", ".join(f"{c.category}:{c.code}" for c in status.status_codes) or "-"
        console.print(f"claim {escape(status.claim_number or number)}: {codes}"
                      + (f"; paid {status.paid_amount}" if status.paid_amount is not None
                         else ""), highlight=False)


@claims_app.command("void")
@cli_errors
def void_claim(reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
               reason: Annotated[str, typer.Option(help="Why the claim is voided")]) -> None:
    """Create a void (frequency 8) for an adjudicated claim; its charges are reversed when
    the payer's reversal arrives (at once when the payer never answered it).

    A draft that never left is deleted instead (medbill claims delete)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim_id = work.claims.resolve(reference)
        void = work.claims.void(claim_id, reason=reason)
    if void.id == claim_id:
        why = "self-pay" if void.payer_key is None else "rejected"
        console.print(f"claim {void.claim_number} voided and its charges reversed; it was "
                      f"{why}, so nothing is sent to the payer")
    else:
        console.print(f"void claim {void.claim_number} (id {void.id}) created as a draft; "
                      "scrub and submit it to send it")


@claims_app.command("correct")
@cli_errors
def correct_claim(
    reference: Annotated[str, typer.Argument(
        help="Claim id or claim number of the adjudicated original")],
    changes: Annotated[Path, typer.Option(
        "--from", exists=True, dir_okay=False,
        help="JSON object of the claim fields to change (e.g. edited from `claims show --json`)")],
    reason: Annotated[str, typer.Option(help="Why the claim is corrected")],
) -> None:
    """Create a replacement (frequency 7) of an adjudicated claim with the fields in a JSON file.

    The replacement is a draft carrying the payer's claim number of the original; scrub and
    submit it to send it. The original moves to ``replaced`` and the charge difference is
    posted to the same account.
    """
    from medbill_core.cli.claims_cmd import read_claim_changes
    from medbill_core.domain import Claim, validate_record

    update = read_claim_changes(changes)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        original = work.claims.find(reference)
        corrected = validate_record(Claim, {**original.model_dump(mode="json"), **update},
                                    record=changes.name)
        replacement = work.claims.correct(original.id, corrected, reason=reason)
    console.print(f"replacement claim {replacement.claim_number} (id {replacement.id}) created "
                  f"as a draft for claim {original.claim_number}; scrub and submit it to send it")


@claims_app.command("reopen")
@cli_errors
def reopen(reference: Annotated[str, typer.Argument(help="Claim id or claim number")]) -> None:
    """Put a rejected claim back to draft so it can be fixed and submitted again."""
    from medbill_core.domain import ClaimState

    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim = work.claims.transition(work.claims.resolve(reference), ClaimState.DRAFT,
                                       reason="reopened to fix")
    console.print(f"claim {claim.claim_number} is a draft again")

"""Commands that move claims through the cycle: submit, fetch responses, post remittances,
and the remittance register (list, show, resolve exceptions)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from medbill_core.cli import claim_forms_cmd  # noqa: F401  (claims form, claims reprint)
from medbill_core.cli.claims_cmd import app as claims_app
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
    progress_callback,
)
from medbill_core.codesets.explain import (
    brief_adjustment,
    explain_adjustment,
    explain_rarc,
    explain_status_pair,
)
from medbill_core.domain import InboundDocument
from medbill_core.errors import MedbillError
from medbill_core.money import total
from medbill_core.permissions import Action
from medbill_core.services.remittance_register import RemittanceStatus
from medbill_core.services.responses import IngestResult, fetch_and_apply, ingest_document
from medbill_core.storage.schema import SubmissionStatus

if TYPE_CHECKING:
    from medbill_core.services.submission import OutboxItem, SendOutcome

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
    sent)"; running this again sends it. A claim the payer's file cannot carry (the X12
    engine cannot encode a value) goes back to draft, one line says why, the payer's other
    claims are sent; exit 1."""
    from medbill_core.services.submission import HeldClaim, submit

    medbill = open_app()
    claim_ids = None
    if claim:
        with medbill.unit_of_work() as work:
            claim_ids = [work.claims.resolve(reference) for reference in claim]
    held: list[HeldClaim] = []
    with progress_callback("sending claim files") as on_progress:
        outcomes = submit(medbill, claim_ids=claim_ids, on_progress=on_progress,
                          on_held=held.append)
    rows = [{"submission": o.submission_id, "payer": o.payer_key, "claims": o.claims,
             "status": o.status, "remote_id": o.remote_id, "error": o.error} for o in outcomes]
    if as_json:
        print_json(rows)
    elif not rows and not held:  # an empty table reads like a failure
        console.print("nothing sent: no validated claims to batch and no unsent outbox files "
                      "(drafts are sent after medbill claims scrub)", highlight=False)
    elif rows:
        table = data_table("submission", "payer", "claims", "status", "remote id", "error",
                           title="submissions", keys=("submission", "payer", "remote id"),
                           numeric=("claims",))
        for row in rows:
            table.add_row(*(escape(str(v)) if v is not None else "-" for v in row.values()))
        print_table(table)
    _note_held_elsewhere(medbill)
    for item in held:
        print_problem(f"claim {item.claim_number} (payer {item.payer_key}) not sent, back to "
                      f"draft: {item.reason}; correct it, then medbill claims scrub and submit")
    _explain_unsent(outcomes, held=bool(held))


def _note_held_elsewhere(medbill: Any) -> None:
    """Files another process is sending were left to it: say so, lest they seem forgotten."""
    from medbill_core.services.submission import list_outbox

    with medbill.unit_of_work(read_only=True) as work:
        pending = list_outbox(work, pending_only=True)
    held = [item for item in pending
            if item.status == SubmissionStatus.SENDING and not item.lease_expired
            and item.lease_until]
    if held:
        until = max(item.lease_until or "" for item in held)[11:16]
        print_problem(f"{len(held)} outbox file(s) ({sum(i.claims for i in held)} claims) "
                      "being sent by another medbill process, left to it; should that "
                      f"process have stopped, a run after {until} UTC sends them again",
                      "note:")


def _explain_unsent(outcomes: list[SendOutcome], *, held: bool = False) -> None:
    """Exit 1 when a file did not leave, saying what happens to its claims (or, ``held``, a
    claim was sent back to draft)."""
    unsent = [o for o in outcomes if o.status == SubmissionStatus.PENDING]
    if unsent:
        claims = sum(o.claims for o in unsent)
        print_problem(f"{len(unsent)} batch(es) not taken by the channel: {claims} claims stay "
                      "queued (not sent); run medbill claims submit (or claims outbox --retry) "
                      "again when the channel is up")
    if held or unsent or any(o.status != SubmissionStatus.SENT for o in outcomes):
        raise typer.Exit(1)


@claims_app.command("outbox")
@cli_errors
def outbox(
    pending: Annotated[bool, typer.Option(
        "--pending", help="Only files the channel has not taken yet")] = False,
    retry: Annotated[bool, typer.Option(
        "--retry", help="Send every file still pending now (same bytes, same key); one "
                  "another process is sending is left to it")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The outbox: batches by payer, whether their channel took them, attempts, last error."""
    from medbill_core.services.submission import list_outbox, send_pending

    medbill = open_app()
    outcomes = send_pending(medbill) if retry else []
    with medbill.unit_of_work(read_only=True) as work:
        items = list_outbox(work, pending_only=pending, limit=limit)
    if as_json:
        print_json([item.as_json() for item in items])
    else:
        table = data_table("id", "payer", "control", "claims", "status", "tries", "sent",
                           "last error", title=f"{len(items)} outbox files",
                           keys=("id", "payer", "control", "sent"),
                           numeric=("claims", "tries"))
        table.show_edge = table.pad_edge = False
        for item in items:
            table.add_row(str(item.submission_id), escape(item.payer_key), item.control_number,
                          str(item.claims), _outbox_status(item), str(item.attempts),
                          item.sent_at[:16].replace("T", " ") if item.sent_at else "-",
                          escape(item.last_error or ""))
        print_table(table)
    if retry:
        _note_held_elsewhere(medbill)
    _explain_unsent(outcomes)


def _outbox_status(item: OutboxItem) -> str:
    """An outbox file's status in words: a file being sent says until when its sender holds
    it, or that the sender is gone and the next run sends it."""
    if item.status == SubmissionStatus.PENDING:
        return "pending (not sent)"
    if item.status == SubmissionStatus.SENDING and item.lease_until:
        if item.lease_expired:
            return "sending (lease expired: the next run sends it again)"
        return f"sending (until {item.lease_until[11:16]} UTC)"
    return item.status


@responses_app.command("fetch")
@cli_errors
def fetch(channel: Annotated[list[str] | None, typer.Option(
        help="Channel to poll (default: every channel a payer uses)")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Poll channels and apply what arrived (999, TA1, 277CA, 835 ...); each claim a
    277CA rejected is listed with its codes in words. A document another process applied
    meanwhile is listed as a duplicate, already done. An 835 whose trace was posted before
    with other figures for a claim posts nothing for that claim: one error line per such
    claim (figures posted and the file's; under ``--json`` each document's ``differing``),
    exit 1."""
    medbill = open_app()
    channels = channel or sorted({p.channel for p in medbill.config.payers.values() if p.channel})
    documents = []
    for name in channels:
        with progress_callback(f"applying responses from {name}") as on_progress:
            for result in fetch_and_apply(medbill, name, on_progress=on_progress):
                documents.append(_fetched_json(name, result))
    differing = [item["message"] for document in documents for item in document["differing"]]
    if as_json:
        print_json(documents)
    elif not documents:
        console.print("no documents waiting")
    else:
        _print_fetched(documents)
    for line in differing:  # a trace posted before, now with other figures
        print_problem(line)
    if differing:
        raise typer.Exit(1)


def _print_fetched(documents: list[dict[str, Any]]) -> None:
    """The fetched documents as a table, then the claims a 277CA rejected."""
    table = data_table("channel", "document", "kind", "status", "detail", title="responses",
                       keys=("channel", "document", "kind", "status"))
    for item in documents:
        table.add_row(escape(item["channel"]), escape(item["document_id"]), item["kind"],
                      item["status"], escape(item["detail"] or ""))
    print_table(table)
    rejected = [claim for item in documents for claim in item["rejections"]]
    if rejected:
        reasons = data_table("claim", "codes", "meaning", title="claims rejected (277CA)",
                             keys=("claim", "codes"))
        for claim in rejected:
            reasons.add_row(escape(claim["claim_number"]),
                            ",".join(code["code"] for code in claim["codes"]) or "-",
                            escape("; ".join(code["meaning"] for code in claim["codes"])))
        print_table(reasons)


def _fetched_json(channel: str, result: IngestResult) -> dict[str, Any]:
    """A fetched document for output: what it did, each claim a 277CA in it rejected with
    its STC codes and their meanings, and each claim payment of an 835 whose trace posted
    other figures (both sets of figures)."""
    return {"channel": channel, "document_id": result.document_id, "kind": result.kind,
            "status": result.status, "detail": result.detail,
            "rejections": [{"claim_number": rejection.claim_number,
                            "codes": [{"code": f"{category}:{code}",
                                       "meaning": explain_status_pair(category, code)
                                       .partition(" — ")[2]}
                                      for category, code in rejection.codes]}
                           for rejection in result.rejections],
            "differing": [item.as_json() for item in result.differing]}


@remit_app.command("post")
@cli_errors
def post_file(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Post an 835 received outside a channel. Posting the same file twice posts once (also
    at the same time: the later one says it was already done, and exits 0).

    A 999, TA1 or 277 given here is applied as what it is (the output says so); an 837 or
    other X12 is refused. A file that failed (undecodable) is tried again when posted again.
    An 835 whose trace was posted before with other figures for a claim posts nothing for
    that claim: one error line per such claim (figures posted and this file's), exit 1.
    """
    import hashlib

    from medbill_core.services.responses import route_file

    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MedbillError(f"{file.name}: not a text file") from None
    if not content.lstrip("\ufeff \t\r\n").startswith("ISA"):
        raise MedbillError(f"{file.name}: not an X12 file (an interchange starts with ISA); "
                           "nothing was posted")
    routing = route_file(content)
    if routing.kind is None:
        raise MedbillError(f"{file.name} is {routing.description}, not an 835 remittance; "
                           "nothing was posted")
    medbill = open_app()
    document = InboundDocument(channel="file", kind=routing.kind,
                               document_id=hashlib.sha256(content.encode()).hexdigest()[:32],
                               content=content)
    with progress_callback(f"posting {file.name}") as on_progress:
        result = ingest_document(medbill, document, on_progress=on_progress)
    note = f"{routing.description}, not an 835: applied as such" if routing.rerouted else None
    if as_json:
        print_json({"file": file.name, "kind": result.kind, "status": result.status,
                    "detail": result.detail, "note": note,
                    "differing": [item.as_json() for item in result.differing]})
    else:
        console.print(f"{file.name}: " + (f"{note}; " if note else "") + result.status
                      + (f" — {result.detail}" if result.detail else ""),
                      highlight=False, markup=False)
    for line in result.notices:  # a trace posted before, now with other figures
        print_problem(line)
    if result.status in ("undecodable", "failed") or result.notices:
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
        "--status", help="balanced, exceptions, 'out of balance' or posting")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The 835s received, oldest payment first: amount, what was posted, PLBs, exceptions."""
    from medbill_core.services.remittance_register import list_remittances

    start, end = parse_date_option(date_from, "--from"), parse_date_option(date_to, "--to")
    wanted = _status_option(status)
    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        items = list_remittances(work, date_from=start, date_to=end, payer=payer, status=wanted)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("date", "payer", "trace", "method", "amount", "posted", "PLB",
                       "exceptions", "status", title=f"{len(items)} remittances",
                       keys=("date", "payer", "trace"),
                       numeric=("amount", "posted", "PLB", "exceptions"))
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
    print_table(table)


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
    with medbill.unit_of_work(read_only=True) as work:
        detail = remittance_detail(work, trace, payer)
    if as_json:
        print_json(_explained_remittance(detail.as_json()))
        return
    item = detail.remittance
    console.print(f"remittance {escape(item.trace_number)} from {escape(item.payer_name)} "
                  f"({escape(item.payer)}): [bold]{item.status.value}[/]", highlight=False)
    console.print(f"  {item.payment_method} {item.payment_amount} paid {item.date}"
                  + (f", produced {item.production_date}" if item.production_date else ""),
                  highlight=False, markup=False)
    console.print(f"  claim payments {item.on_accounts} ({item.posted_count} posted, "
                  f"{item.duplicate_count} posted before) + exceptions {item.exception_total} "
                  f"({item.exception_count}) - PLB {item.plb_total} ({item.plb_count}); "
                  f"difference {item.difference}", highlight=False, markup=False)
    claims = data_table("claim", "state", "CLP02", "paid", "adjusted", "patient",
                        title=f"{len(detail.claims)} claim payments posted",
                        keys=("claim", "CLP02"), numeric=("paid", "adjusted", "patient"))
    for claim in detail.claims:
        claims.add_row(escape(claim.claim_number), claim.claim_state, claim.claim_status,
                       str(claim.paid), str(claim.adjusted), str(claim.patient_share))
    print_table(claims)
    rules = data_table("claim", "code", "amount", "action", "rule", "meaning",
                       title="adjustments and the posting rule applied",
                       keys=("claim", "code"), numeric=("amount",))
    for claim in detail.claims:
        for adjustment in claim.adjustments:
            rules.add_row(escape(claim.claim_number), adjustment["code"], adjustment["amount"],
                          adjustment["action"], escape(adjustment["rule"]),
                          escape(brief_adjustment(adjustment["code"])))
    if rules.row_count:
        print_table(rules)
    remarks = data_table("claim", "remark code", "meaning", title="remark codes (RARC)",
                         keys=("claim", "remark code"))
    for claim in detail.claims:
        for code in claim.remark_codes:
            meaning = explain_rarc(code)
            remarks.add_row(escape(claim.claim_number), escape(code),
                            escape(meaning.removeprefix(f"{code} ")))
    if remarks.row_count:
        print_table(remarks)
    if detail.kept_open:
        kept = data_table("denial", "claim", "code", "amount", "action", "status", "meaning",
                          title="kept open to work (medbill denials)",
                          keys=("denial", "claim", "code"), numeric=("denial", "amount"))
        for denial in detail.kept_open:
            kept.add_row(str(denial["id"]), escape(denial["claim_number"]), denial["code"],
                         denial["amount"], denial["action"], denial["status"],
                         escape(brief_adjustment(denial["code"])))
        print_table(kept)
    if detail.provider_adjustments:
        plbs = data_table("provider", "reason", "reference", "amount",
                          title="provider adjustments (PLB)",
                          keys=("provider", "reason", "reference"), numeric=("amount",))
        for plb in detail.provider_adjustments:
            plbs.add_row(escape(plb["provider_id"]), escape(plb["reason_code"]),
                         escape(plb["reference"] or ""), plb["amount"])
        print_table(plbs)
    if detail.exceptions:
        exceptions = data_table("id", "claim (as sent)", "paid", "reason", "resolution",
                                title="exceptions", keys=("id", "claim (as sent)"),
                                numeric=("id", "paid"))
        for exception in detail.exceptions:
            exceptions.add_row(str(exception["id"]), escape(exception["claim_number"]),
                               exception["paid"], escape(exception["reason"]),
                               escape(exception["resolution"] or "") if exception["resolved"]
                               else "open")
        print_table(exceptions)


def _explained_remittance(data: dict[str, Any]) -> dict[str, Any]:
    """``remit show --json`` with each adjustment code's meaning beside it (``meaning``,
    the full CARC text with its group); the codes themselves stay as they were."""
    for claim in data["claims"]:
        claim["adjustments"] = [{**item, "meaning": explain_adjustment(item["code"])}
                                for item in claim["adjustments"]]
    data["kept_open"] = [{**item, "meaning": explain_adjustment(item["code"])}
                         for item in data["kept_open"]]
    return data


@remit_app.command("resolve")
@cli_errors
def resolve_exception_command(
    exception_id: Annotated[int, typer.Argument(
        help="Remittance exception id (medbill ar exceptions)")],
    note: Annotated[str, typer.Option("--note", help="How it was resolved")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Mark a remittance exception (a claim payment that matched no claim) resolved."""
    from medbill_core.services.remittance_register import resolve_exception

    medbill = open_app()
    with medbill.unit_of_work() as work:
        exception = resolve_exception(work, exception_id, note)
        trace = exception.trace_number
    if as_json:
        print_json({"exception_id": exception_id, "trace_number": trace, "resolved": True})
        return
    console.print(f"remittance exception {exception_id} (835 {trace}) resolved",
                  highlight=False, markup=False)


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
        benefits = summary.model_dump(mode="json")
        if summary.coinsurance is not None:  # 0.2 as people read it: "20%"
            from medbill_core.codesets.explain import percent

            benefits["coinsurance_percent"] = percent(summary.coinsurance)
        print_json({"payer": payer.key, "coverage_id": check.coverage.id,
                    "status": response.status.value, "plan": response.plan_name,
                    "summary": benefits,
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
                console.print(f"  {key.replace('_', ' ')}: {shown}", markup=False)
        for reason in check.reasons:
            console.print(f"  payer reject reason {reason}", highlight=False, markup=False)
    if check.rejected:
        raise fail(f"{payer.name} rejected the eligibility request: " + "; ".join(check.reasons))


@claims_app.command("status")
@cli_errors
def claim_status(
    reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the payer where a submitted claim stands (276/277)."""
    from medbill_core.services.claim_status import check_claim_status

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        claim_id = work.claims.resolve(reference)
    check = check_claim_status(medbill, claim_id)
    response, number = check.response, check.claim_number
    if as_json:
        print_json(check.as_json())
        return
    if not response.claims:
        console.print(f"claim {number}: the payer returned no status",
                      highlight=False, markup=False)
    for status in response.claims:
        codes = ", ".join(f"{c.category}:{c.code}" for c in status.status_codes) or "-"
        console.print(f"claim {status.claim_number or number}: {codes}"
                      + (f"; paid {status.paid_amount}" if status.paid_amount is not None
                         else ""), highlight=False, markup=False)
        for c in status.status_codes:
            console.print(f"  {explain_status_pair(c.category, c.code)}",
                          highlight=False, markup=False)


@claims_app.command("void")
@cli_errors
def void_claim(reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
               reason: Annotated[str, typer.Option(help="Why the claim is voided")],
               as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Create a void (frequency 8) for an adjudicated claim; its charges are reversed when
    the payer's reversal arrives (at once when the payer never answered it).

    A draft that never left is deleted instead (medbill claims delete)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim_id = work.claims.resolve(reference)
        void = work.claims.void(claim_id, reason=reason)
    if as_json:
        # the same claim when it was voided at once (rejected: nothing to send), else the
        # void draft to scrub and submit
        print_json({"claim_id": claim_id, "void_claim_id": void.id,
                    "void_claim_number": void.claim_number, "state": void.state.value,
                    "voided_at_once": void.id == claim_id})
        return
    if void.id == claim_id:
        why = "self-pay" if void.payer_key is None else "rejected"
        console.print(f"claim {void.claim_number} voided and its charges reversed; it was "
                      f"{why}, so nothing is sent to the payer", markup=False)
    else:
        console.print(f"void claim {void.claim_number} (id {void.id}) created as a draft; "
                      "scrub and submit it to send it", markup=False)


@claims_app.command("correct")
@cli_errors
def correct_claim(
    reference: Annotated[str, typer.Argument(
        help="Claim id or claim number of the adjudicated original")],
    changes: Annotated[Path, typer.Option(
        "--from", exists=True, dir_okay=False,
        help="JSON object of the claim fields to change (e.g. edited from `claims show --json`)")],
    reason: Annotated[str, typer.Option(help="Why the claim is corrected")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
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
    if as_json:
        print_json({"original_id": original.id, "original_claim_number": original.claim_number,
                    "replacement_id": replacement.id,
                    "replacement_claim_number": replacement.claim_number,
                    "state": replacement.state.value,
                    "total_charge": str(replacement.total_charge)})
        return
    console.print(f"replacement claim {replacement.claim_number} (id {replacement.id}) created "
                  f"as a draft for claim {original.claim_number}; scrub and submit it to send it",
                  markup=False)


@claims_app.command("reopen")
@cli_errors
def reopen(reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Put a rejected claim back to draft so it can be fixed and submitted again."""
    from medbill_core.domain import ClaimState

    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.CLAIMS_WRITE)  # reopening a rejected claim is claim editing
        claim = work.claims.transition(work.claims.resolve(reference), ClaimState.DRAFT,
                                       reason="reopened to fix")
    if as_json:
        print_json({"id": claim.id, "claim_number": claim.claim_number,
                    "state": claim.state.value})
        return
    console.print(f"claim {claim.claim_number} is a draft again", markup=False)

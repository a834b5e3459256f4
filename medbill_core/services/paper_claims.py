"""Claims billed on paper: an outbox batch printed on claim forms, through the same outbox.

A payer whose channel prints claim forms (:meth:`~medbill_core.adapters.SubmissionChannel.
prints_claim_forms`, e.g. ``paper`` of the claim_forms_pdf plugin) gets each outbox batch as
one printable document: when the outbox sends the batch (:func:`~medbill_core.services.
submission.send_pending`), :func:`print_batch` draws the batch's claims on their forms and
hands the document to the channel, which keeps it (owner-only) for printing and mailing (the
outbox row itself holds the batch's list, :func:`paper_batch_file`: nothing is encoded). The
batch is then ``sent`` and its claims ``submitted``: for paper that means printed, mailing
pending. The document is recorded in the audit trail (``submission.printed``: the channel's
name for it, its SHA-256 and page count) and named by the outbox row's ``remote_id``.

A batch is printed once: a sent batch is never sent again, and a channel answers a repeated
submission (same idempotency key, after a crash) with its first receipt. Printing it again
takes a reason (:func:`reprint_batch`, audited as ``submission.reprinted``): a lost or jammed
print run, never by accident. A form with an amount that cannot be printed is refused before
anything is kept; the batch stays pending with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core import audit
from medbill_core.domain import BillableClaim, DocumentKind, SubmissionFile, SubmissionReceipt
from medbill_core.domain.base import saved_id
from medbill_core.domain.claim_forms import RenderedClaimForm
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.hookresults import RECEIPT
from medbill_core.permissions import Action
from medbill_core.privatefiles import publish_after
from medbill_core.services.claim_forms import refuse_errors, render_forms, sha256
from medbill_core.storage.schema import SubmissionRow, SubmissionStatus

if TYPE_CHECKING:
    from medbill_core.adapters import SubmissionChannel
    from medbill_core.app import Medbill, UnitOfWork
    from medbill_core.domain.identity import Principal


def prints_claim_forms(app: Medbill, channel: str) -> SubmissionChannel | None:
    """The registered channel ``channel`` when it takes printed claim forms, else ``None``."""
    context = app.hooks.context
    part = context.channels.get(channel)
    if part is None or not context.call(part, "prints_claim_forms"):
        return None
    return part


def paper_batch_file(payer_key: str, claims: Sequence[BillableClaim]) -> SubmissionFile:
    """The outbox's record of a paper batch: what it holds (claim numbers, kinds, totals; no
    PHI), not an encoded file (nothing electronic is sent). Named by a digest of that list,
    so its idempotency key is stable for the batch."""
    lines = [f"{bc.claim.claim_number}|{bc.claim.kind.value}|{bc.claim.total_charge}"
             for bc in claims]
    content = "PAPER CLAIMS (printed on claim forms)\n" + "\n".join(lines)
    control = "PAPER-" + sha256(content.encode("utf-8"))[:12].upper()
    return SubmissionFile(payer_key=payer_key, kind=DocumentKind.OTHER, content=content,
                          claim_numbers=[bc.claim.claim_number for bc in claims],
                          control_number=control, filename=f"{control.lower()}.txt")


def _billables(work: UnitOfWork, claim_numbers: list[str]) -> list[BillableClaim]:
    claims = [work.claims.find(number) for number in claim_numbers]
    assembled = work.claims.billable_many(claims)
    return [assembled[saved_id(claim)] for claim in claims]


def print_batch(app: Medbill, submission_id: int, file: SubmissionFile,
                channel: SubmissionChannel, idempotency_key: str, *,
                actor: str | None = None, principal: Principal | None = None
                ) -> SubmissionReceipt:
    """Print outbox batch ``submission_id`` on claim forms and hand it to ``channel``.

    :raises ValidationFailed: a form has an amount that cannot be printed (nothing kept).
    """
    with app.unit_of_work(actor, principal=principal, read_only=True) as work:
        claims = _billables(work, list(file.claim_numbers))
        forms = render_forms(work, claims, renderer=channel.claim_form_renderer(),
                             layout=channel.claim_form_layout())
    refuse_errors(forms, f"batch {submission_id}")
    receipt = app.hooks.context.call(channel, "submit_forms", forms, file,
                                     idempotency_key=idempotency_key, expected=RECEIPT)
    with app.unit_of_work(actor, principal=principal) as work:
        audit.record(work.session, actor=work.actor, action="submission.printed",
                     entity_type="submission", entity_id=submission_id,
                     details=_print_details(forms, receipt.submission_id))
    return receipt


def _print_details(forms: RenderedClaimForm, kept_as: str) -> dict[str, object]:
    return {"file": kept_as, "sha256": sha256(forms.content), "pages": forms.pages,
            "claims": len(forms.claim_numbers), "renderer": forms.renderer,
            "layout": forms.layout.value, "warnings": len(forms.findings)}


@dataclass(frozen=True)
class Reprint:
    """A paper batch printed again: the document and what the audit trail recorded."""

    submission_id: int
    forms: RenderedClaimForm
    sha256: str
    path: Path


def reprint_batch(app: Medbill, submission_id: int, *, reason: str, write_to: Path,
                  actor: str | None = None, principal: Principal | None = None) -> Reprint:
    """Print a paper batch that was printed before once more, for ``reason`` (required:
    a batch is mailed once; a second print needs a person to say why), into ``write_to``
    (owner-only; in place once the audit record is committed, else not at all). Audited
    with the reason, the new document's SHA-256 and its page count.

    :raises NotFound: no outbox batch ``submission_id``.
    :raises ValidationFailed: no reason; the batch is not a paper batch, or not printed yet
        (``claims submit`` prints it the first time).
    """
    app.require(Action.CLAIMS_SUBMIT, principal=principal, actor=actor)
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(f"batch {submission_id}", [(
            "reason", "say why the batch is printed again (--reason)")])
    with publish_after() as files, app.unit_of_work(actor, principal=principal) as work:
        row = work.session.get(SubmissionRow, submission_id)
        if row is None:
            raise NotFound("outbox batch", submission_id)
        channel = prints_claim_forms(app, row.channel)
        if channel is None:
            raise ValidationFailed(f"batch {submission_id}", [(
                "channel", f"{row.channel} does not print claim forms")])
        if row.status in (SubmissionStatus.PENDING, SubmissionStatus.SENDING) \
                or row.remote_id is None:
            raise ValidationFailed(f"batch {submission_id}", [(
                "status", "not printed yet: medbill claims submit prints it")])
        claims = _billables(work, list(row.claim_numbers))
        forms = render_forms(work, claims, renderer=channel.claim_form_renderer(),
                             layout=channel.claim_form_layout())
        refuse_errors(forms, f"batch {submission_id}")
        details = _print_details(forms, row.remote_id)
        audit.record(work.session, actor=work.actor, action="submission.reprinted",
                     entity_type="submission", entity_id=submission_id,
                     details={**details, "reason": reason[:200]})
        files.write(write_to, forms.content)
    return Reprint(submission_id, forms, str(details["sha256"]), write_to)

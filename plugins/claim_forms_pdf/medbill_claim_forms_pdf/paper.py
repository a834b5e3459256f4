"""The ``paper`` channel: outbox batches printed on claim forms, kept for printing and mailing.

The core prints the batch (:mod:`medbill_core` renders it through the claim form renderer
hook) and hands the document here. Each batch is one PDF in ``paper_dir``, named by the
batch's idempotency key and created owner-only (it holds PHI). A batch handed over again (a
sender that died after keeping it) is not written twice: the first file stands and the same
receipt is given. Paper brings no electronic answers: there is nothing to fetch.
"""

from __future__ import annotations

from pathlib import Path

from medbill_claim_forms_pdf.settings import ClaimFormsPdfSettings
from medbill_core.api import (
    ClaimFormLayout,
    InboundDocument,
    RenderedClaimForm,
    SubmissionChannel,
    SubmissionFile,
    SubmissionReceipt,
    private_dir,
    write_private,
)


class PaperChannel(SubmissionChannel):
    identifier = "paper"
    verbose_name = "Paper claims: printed on claim forms and mailed"

    def __init__(self, settings: ClaimFormsPdfSettings | None = None) -> None:
        self.settings = settings or ClaimFormsPdfSettings()

    @property
    def folder(self) -> Path:
        return Path(self.settings.paper_dir).expanduser()

    def claim_form_layout(self) -> ClaimFormLayout:
        return self.settings.paper_layout

    def submit_forms(self, forms: RenderedClaimForm, submission: SubmissionFile, *,
                     idempotency_key: str) -> SubmissionReceipt:
        name = f"{idempotency_key}.pdf"
        path = private_dir(self.folder) / name
        if path.exists():  # a batch handed over again keeps its first print
            message = "printed before: the first print is kept; to be mailed"
        else:
            write_private(path, forms.content)
            message = (f"printed: {forms.pages} pages, {len(forms.claim_numbers)} claims; "
                       "to be mailed")
        return SubmissionReceipt(channel=self.identifier, submission_id=name, accepted=True,
                                 idempotency_key=idempotency_key, message=message)

    def fetch_responses(self) -> list[InboundDocument]:
        return []

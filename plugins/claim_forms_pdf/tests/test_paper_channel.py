"""The ``paper`` channel keeps each printed batch once, owner-only, in its folder."""

from __future__ import annotations

from pathlib import Path

from formreader import TODAY, cells, page_count
from medbill_claim_forms_pdf.paper import PaperChannel
from medbill_claim_forms_pdf.plugin import renderers
from medbill_claim_forms_pdf.renderer import PdfClaimFormRenderer
from medbill_claim_forms_pdf.settings import ClaimFormsPdfSettings

from medbill_core.api import BillableClaim, ClaimFormLayout, DocumentKind, SubmissionFile
from medbill_core.api.testing import factories


def test_a_batch_is_kept_once_owner_only(tmp_path: Path, professional: BillableClaim,
                                         inpatient: BillableClaim) -> None:
    settings = ClaimFormsPdfSettings(paper_dir=str(tmp_path / "paper"),
                                     paper_layout=ClaimFormLayout.DATA)
    channel = PaperChannel(settings)
    assert channel.prints_claim_forms()
    assert (channel.claim_form_renderer(), channel.claim_form_layout()) == (
        "claim_forms", ClaimFormLayout.DATA)
    forms = PdfClaimFormRenderer(today=lambda: TODAY).render([professional, inpatient])
    batch = SubmissionFile(payer_key="acme", kind=DocumentKind.OTHER, content="",
                           claim_numbers=forms.claim_numbers, control_number="000000001",
                           filename="batch.x12")
    receipt = channel.submit_forms(forms, batch, idempotency_key="acme-000000001-abc")
    kept = tmp_path / "paper" / "acme-000000001-abc.pdf"
    assert (receipt.accepted, receipt.submission_id) == (True, kept.name)
    assert receipt.message == "printed: 2 pages, 2 claims; to be mailed"
    assert kept.read_bytes() == forms.content and page_count(kept.read_bytes()) == 2
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "paper").stat().st_mode & 0o777 == 0o700
    other = PdfClaimFormRenderer(today=lambda: TODAY).render([professional])
    again = channel.submit_forms(other, batch, idempotency_key="acme-000000001-abc")
    assert again.submission_id == receipt.submission_id
    assert again.message == "printed before: the first print is kept; to be mailed"
    assert kept.read_bytes() == forms.content  # the first print stands
    assert channel.fetch_responses() == []


def test_the_plugin_registers_three_renderers_and_the_offsets_move_every_value() -> None:
    assert [r.identifier for r in renderers()] == ["claim_forms", "cms1500", "ub04"]
    claim = factories.make_billable_claim()
    plain = PdfClaimFormRenderer(today=lambda: TODAY).render([claim])
    moved = PdfClaimFormRenderer(ClaimFormsPdfSettings(offset_right_in="0.2",
                                                       offset_down_in="-0.1666"),
                                 today=lambda: TODAY).render([claim])
    shifted = {(c.line + 1, c.column - 2, c.text) for c in cells(moved.content)}
    assert shifted == {(c.line, c.column, c.text) for c in cells(plain.content)}

"""The claim form renderers: ``cms1500`` (professional claims), ``ub04`` (institutional
claims) and ``claim_forms`` (each claim on its own form: what a paper batch of mixed claims
is printed with)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from types import ModuleType
from typing import Any, ClassVar

from medbill_claim_forms_pdf import cms1500, ub04
from medbill_claim_forms_pdf.settings import ClaimFormsPdfSettings
from medbill_claim_forms_pdf.sheet import Sheet
from medbill_core.api import (
    BillableClaim,
    ClaimFinding,
    ClaimFormLayout,
    ClaimFormRenderer,
    ClaimKind,
    RenderedClaimForm,
    ValidationFailed,
)

_POINTS_PER_INCH = 72
_FORMS: dict[ClaimKind, ModuleType] = {ClaimKind.PROFESSIONAL: cms1500,
                                        ClaimKind.INSTITUTIONAL: ub04}


class PdfClaimFormRenderer(ClaimFormRenderer):
    """Draws each claim on the form of its kind, page by page, into one PDF."""

    identifier = "claim_forms"
    verbose_name = "CMS-1500 or UB-04, by claim kind (PDF)"
    claim_kinds: ClassVar[frozenset[ClaimKind]] = frozenset(_FORMS)

    def __init__(self, settings: ClaimFormsPdfSettings | None = None, *,
                 today: Callable[[], date] = date.today) -> None:
        self.settings = settings or ClaimFormsPdfSettings()
        self._today = today

    def render(self, claims: Sequence[BillableClaim], *,
               layout: ClaimFormLayout = ClaimFormLayout.FORM) -> RenderedClaimForm:
        from fpdf import FPDF

        if not claims:
            raise ValidationFailed("claim forms", [("claims", "no claim to print")])
        for bc in claims:
            if not self.supports(bc.claim.kind):
                raise ValidationFailed(f"claim {bc.claim.claim_number}", [(
                    "kind", f"a {bc.claim.kind.value} claim is not printed on the "
                            f"{self.identifier} form")])
        pdf: Any = FPDF(unit="pt", format="letter")
        pdf.set_auto_page_break(False)
        pdf.set_creator("medbill claim_forms_pdf")
        pdf.set_title(f"{self.verbose_name}: {len(claims)} claims")
        offset_x = float(self.settings.offset_right_in * _POINTS_PER_INCH)
        offset_y = float(self.settings.offset_down_in * _POINTS_PER_INCH)
        findings: list[ClaimFinding] = []
        today = self._today()
        for bc in claims:
            form = _FORMS[bc.claim.kind]
            pages = form.forms_needed(bc)
            for page in range(1, pages + 1):
                pdf.add_page()
                sheet = Sheet(pdf, bc.claim.claim_number, self.identifier, offset_x, offset_y,
                              form.TERM)
                if layout is ClaimFormLayout.FORM:
                    sheet.draw(form.boxes(), form.TITLES)
                form.fill(sheet, bc, page, pages, today)
                if page == 1:  # the same header on every page: reported once
                    findings += sheet.findings
                else:
                    findings += [f for f in sheet.findings if "line" in (f.field or "")]
        numbers = [bc.claim.claim_number for bc in claims]
        name = numbers[0] if len(numbers) == 1 else f"{numbers[0]}-and-{len(numbers) - 1}"
        return RenderedClaimForm(
            renderer=self.identifier, layout=layout, media_type=self.media_type,
            filename=f"{self.identifier}-{name}-{layout.value}.pdf",
            content=bytes(pdf.output()), pages=pdf.page, claim_numbers=numbers,
            findings=_unique(findings))


class Cms1500Renderer(PdfClaimFormRenderer):
    identifier = "cms1500"
    verbose_name = "CMS-1500 (02/12) professional claim form (PDF)"
    claim_kinds: ClassVar[frozenset[ClaimKind]] = frozenset({ClaimKind.PROFESSIONAL})


class Ub04Renderer(PdfClaimFormRenderer):
    identifier = "ub04"
    verbose_name = "UB-04 (CMS-1450) institutional claim form (PDF)"
    claim_kinds: ClassVar[frozenset[ClaimKind]] = frozenset({ClaimKind.INSTITUTIONAL})


def _unique(findings: list[ClaimFinding]) -> list[ClaimFinding]:
    seen: set[tuple[str, str, str | None, str]] = set()
    result = []
    for finding in findings:
        key = (finding.claim_number, finding.code, finding.field, finding.message)
        if key not in seen:
            seen.add(key)
            result.append(finding)
    return result

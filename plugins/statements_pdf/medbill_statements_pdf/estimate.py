"""The cost-estimate / good-faith-estimate PDF (issue 6, part 2).

Renders the core's :class:`~medbill_core.domain.estimate.CostEstimate` (made by
:func:`medbill_core.api.estimate_costs`), through
:meth:`PdfStatementRenderer.render_estimate <medbill_statements_pdf.pdf.PdfStatementRenderer>`
and the ``medbill_render_estimate`` hook (``medbill estimate --render pdf``).

Every amount printed is a field of the estimate. Before drawing, the renderer checks that the
services add up to the estimate's totals (and patient plus plan to the allowed amount) and
refuses an estimate that does not, so a patient never gets a document whose figures disagree.

Without benefits (no insurance billed) the document is titled **Good Faith Estimate** and
carries the No Surprises Act notice (not a contract; the right to dispute a bill at least $400
over the estimate); otherwise it is a **Cost Estimate** with the plan's allowed amounts, each
service's copay, deductible and coinsurance, the benefits it used, and a "not a guarantee"
notice.
"""

from __future__ import annotations

from decimal import Decimal

from medbill_core.api import (
    CostEstimate,
    EstimatedService,
    RenderedDocument,
    ValidationFailed,
    percent,
    total,
)
from medbill_statements_pdf import view
from medbill_statements_pdf.canvas import (
    ACCENT,
    GREY_FILL,
    LEFT,
    MUTED,
    PAGE_H,
    PAGE_W,
    RIGHT,
    WIDTH,
    ZEBRA_FILL,
    Canvas,
    render_errors,
)
from medbill_statements_pdf.settings import StatementsPdfSettings

#: The dispute threshold of the No Surprises Act's patient-provider dispute resolution.
DISPUTE_THRESHOLD = Decimal("400.00")

GFE_NOTICE = (
    "You are entitled to receive this Good Faith Estimate of what the charges could be for "
    "medical items and services. It shows the costs of items and services that are reasonably "
    "expected for your health care needs, based on information known when it was created. It "
    "does not include any unknown or unexpected costs that may arise during treatment: you "
    "could be charged more if complications or special circumstances occur. If you are billed "
    "for at least $400 more than this Good Faith Estimate, federal law allows you to dispute "
    "the bill. You may contact the provider listed to ask them to update the bill to match "
    "this estimate, to negotiate the bill, or to ask about financial assistance, and you may "
    "start a dispute resolution process with the U.S. Department of Health and Human Services "
    "within 120 calendar days of the date on the original bill. For questions about your right "
    "to a Good Faith Estimate or the dispute process, visit www.cms.gov/nosurprises or call "
    "1-800-985-3059. This Good Faith Estimate is not a contract and does not require you to "
    "obtain the items or services listed. Keep a copy of it, and of your bill, in a safe place."
)

INSURED_NOTICE = (
    "This is an estimate, not a guarantee of payment or of what you will owe. It uses the "
    "benefits your plan reported and the services we expect to provide; your plan decides what "
    "it covers when it processes the claim. Your cost may change if other claims are processed "
    "first (they can use up your deductible), if your coverage changes, or if you receive other "
    "services than those listed. Please call us with any questions before your visit."
)

# (heading, width, field of EstimatedService); the first column is the service code.
_INSURED = (("Service", 84.0, ""), ("Charge", 62.0, "charge"),
            ("Plan allowed", 62.0, "allowed"), ("Copay", 54.0, "copay"),
            ("Deductible", 62.0, "deductible"), ("Coinsurance", 62.0, "coinsurance"),
            ("You owe", 76.0, "patient_owes"), ("Plan pays", 78.0, "plan_pays"))
_SELF_PAY = (("Service", 240.0, ""), ("Charge", 150.0, "charge"),
             ("Your estimate", 150.0, "patient_owes"))
#: The estimate's totals under the columns they total (other columns stay blank).
_TOTALS = {"charge": "total_charge", "allowed": "total_allowed",
           "patient_owes": "patient_total", "plan_pays": "plan_total"}
_ROW_H = 16.0
_ROWS_BOTTOM = PAGE_H - 60.0


def is_self_pay(estimate: CostEstimate) -> bool:
    """No benefits applied: the patient owes the (possibly discounted) charges."""
    return estimate.benefits is None


def check_totals(estimate: CostEstimate) -> None:
    """Refuse an estimate whose services do not add up to its totals (names no PHI)."""
    services = estimate.services
    problems = [(name, "does not equal the sum of the services")
                for field, name in _TOTALS.items()
                if total(getattr(s, field) for s in services) != getattr(estimate, name)]
    if estimate.patient_total + estimate.plan_total != estimate.total_allowed:
        problems.append(("patient_total", "plus plan_total is not total_allowed"))
    if problems:
        raise ValidationFailed(f"estimate {estimate.estimate_number}", problems)


def _service_label(service: EstimatedService) -> str:
    return "-".join([service.procedure_code, *service.modifiers])


def _with_rate(columns: tuple[tuple[str, float, str], ...], estimate: CostEstimate
               ) -> tuple[tuple[str, float, str], ...]:
    """The coinsurance column's heading with the rate its amounts come from ("Coinsurance
    20%", on two lines): a patient reads the share, not just the dollars."""
    rate = estimate.benefits.coinsurance if estimate.benefits is not None else None
    if rate is None:
        return columns
    return tuple((f"{heading} {percent(rate)}" if field == "coinsurance" else heading,
                  width, field) for heading, width, field in columns)


class _EstimateBuilder(Canvas):
    def __init__(self, estimate: CostEstimate, settings: StatementsPdfSettings,
                 pages: int) -> None:
        self.self_pay = is_self_pay(estimate)
        title = "Good Faith Estimate" if self.self_pay else "Cost Estimate"
        super().__init__(settings, title=f"{title} {estimate.estimate_number}",
                         author=estimate.practice.name, created=estimate.service_date)
        self.estimate = estimate
        self.title = title
        self.pages = pages
        self.columns = _SELF_PAY if self.self_pay else _with_rate(_INSURED, estimate)
        self.y = 0.0

    # -- pages ------------------------------------------------------------------------------
    def new_page(self) -> None:
        self.pdf.add_page()
        number = self.pdf.page_no()
        estimate = self.estimate
        self.colour(ACCENT)
        self.font(14, bold=True)
        self.text(LEFT, 48, estimate.practice.name)
        self.font(15, bold=True)
        self.text(RIGHT, 48, self.title, align="R")
        self.font(8)
        self.colour(MUTED)
        self.text(PAGE_W / 2, PAGE_H - 30, f"Page {number} of {self.pages}", align="C")
        self.text(LEFT, PAGE_H - 30, f"Estimate {estimate.estimate_number}")
        self.colour()
        if number == 1:
            self.first_page_top()
        else:
            self.font(8.5)
            self.text(LEFT, 62, f"Patient: {view.person_name(estimate.patient)}")
            self.text(RIGHT, 62, f"Estimate {estimate.estimate_number}", align="R")
            self.pdf.set_draw_color(*ACCENT)
            self.pdf.line(LEFT, 70, RIGHT, 70)
            self.pdf.set_draw_color(0, 0, 0)
            self.y = 84.0

    def ensure(self, height: float) -> bool:
        """Start a new page when ``height`` does not fit; True if it did."""
        if self.y + height <= _ROWS_BOTTOM:
            return False
        self.new_page()
        return True

    def first_page_top(self) -> None:
        estimate = self.estimate
        practice = estimate.practice
        self.font(8.5)
        y = 62.0
        lines = view.address_lines(practice.address)
        phone = view.phone(practice)
        if phone:
            lines.append(f"Phone: {phone}")
        lines.append(f"NPI {practice.npi}   TIN {practice.tax_id[:2]}-{practice.tax_id[2:]}")
        for line in lines:
            self.text(LEFT, y, line)
            y += 11
        facts = [("Estimate number", estimate.estimate_number),
                 ("Date of service", view.us_date(estimate.service_date)),
                 ("Page", f"1 of {self.pages}")]
        fy = self.facts(64.0, facts, x=420.0)
        top = max(y, fy) + 8
        patient = estimate.patient
        self.font(7.5, bold=True)
        self.colour(MUTED)
        self.text(LEFT, top + 8, "PATIENT")
        self.text(LEFT + 200, top + 8, "COVERAGE")
        self.colour()
        self.font(9.5, bold=True)
        self.text(LEFT, top + 21, view.person_name(patient))
        self.font(8.5)
        self.text(LEFT, top + 33, f"Date of birth: {view.us_date(patient.birth_date)}")
        ay = top + 45
        for line in view.address_lines(patient.address):
            self.text(LEFT, ay, line)
            ay += 11
        self.font(9, bold=True)
        coverage = ("Self-pay: no insurance will be billed" if self.self_pay
                    else estimate.payer_name or "Insurance on file")
        for k, line in enumerate(self.wrap(coverage, 170, 2)):
            self.text(LEFT + 200, top + 21 + 12 * k, line)
        # the estimated cost box
        h = 70.0
        self.highlight_box(top + 4, h, "YOUR ESTIMATED COST", view.money(estimate.patient_total),
                           f"Total charges {view.money(estimate.total_charge)}")
        self.y = max(ay, top + h + 4) + 14

    # -- the table ------------------------------------------------------------------------------
    def table_header(self) -> None:
        top = self.y
        self.fill(ACCENT)
        self.rect(LEFT, top, WIDTH, 22, style="F")
        self.colour((255, 255, 255))
        self.font(7.5, bold=True)
        x = LEFT
        for index, (heading, width, _) in enumerate(self.columns):
            if index == 0:
                self.text(x + 4, top + 13.5, heading)
            else:
                words = heading.split(" ", 1)
                base = top + (9 if len(words) == 2 else 13.5)
                for k, word in enumerate(words):
                    self.text(x + width - 4, base + k * 8.5, word, align="R")
            x += width
        self.colour()
        self.y = top + 22

    def row(self, label: str, amounts: list[Decimal | None], *, shaded: bool = False,
            bold: bool = False) -> None:
        if bold:
            self.fill(GREY_FILL)
            self.rect(LEFT, self.y, WIDTH, _ROW_H + 2, style="F")
        elif shaded:
            self.fill(ZEBRA_FILL)
            self.rect(LEFT, self.y, WIDTH, _ROW_H, style="F")
        self.font(8.5 if bold else 8, bold=bold)
        baseline = self.y + 11
        self.text(LEFT + 4, baseline, label)
        x = LEFT + self.columns[0][1]
        for amount, (_, width, _) in zip(amounts, self.columns[1:], strict=True):
            if amount is not None:
                self.text(x + width - 4, baseline, view.money(amount), align="R")
            x += width
        self.y += _ROW_H + (2 if bold else 0)

    def rows(self) -> None:
        self.table_header()
        for index, service in enumerate(self.estimate.services):
            if self.ensure(_ROW_H):
                self.table_header()
            self.row(_service_label(service),
                     [getattr(service, field) for _, _, field in self.columns[1:]],
                     shaded=index % 2 == 1)
        if self.ensure(_ROW_H + 2):
            self.table_header()
        self.row("Estimated totals",
                 [getattr(self.estimate, _TOTALS[field]) if field in _TOTALS else None
                  for _, _, field in self.columns[1:]], bold=True)
        self.y += 12

    def benefits(self) -> None:
        benefits = self.estimate.benefits
        if benefits is None:
            return
        pairs: list[tuple[str, str]] = []
        if benefits.copay is not None:
            pairs.append(("Copay per visit", view.money(benefits.copay)))
        if benefits.coinsurance is not None:
            pairs.append(("Coinsurance", percent(benefits.coinsurance)))
        for label, amount in [("Deductible", benefits.deductible),
                              ("Deductible remaining before this visit",
                               benefits.deductible_remaining),
                              ("Out-of-pocket maximum", benefits.out_of_pocket),
                              ("Out-of-pocket maximum remaining before this visit",
                               benefits.out_of_pocket_remaining)]:
            if amount is not None:
                pairs.append((label, view.money(amount)))
        if not pairs:
            return
        self.ensure(22 + 13 * len(pairs))
        self.font(9.5, bold=True)
        self.text(LEFT, self.y + 10, "Your benefits, as your plan reported them")
        y = self.y + 25
        for label, value in pairs:
            self.font(8.5)
            self.text(LEFT, y, label)
            self.text(LEFT + 330, y, value, align="R")
            y += 13
        self.y = y + 6

    def notes(self) -> None:
        if not self.estimate.notes:
            return
        self.font(8)
        wrapped = [self.wrap(note, WIDTH - 12, 4) for note in self.estimate.notes]
        self.ensure(18 + 10 * sum(len(w) for w in wrapped))
        self.font(9.5, bold=True)
        self.text(LEFT, self.y + 10, "Notes")
        y = self.y + 24
        self.font(8)
        for lines in wrapped:
            self.text(LEFT, y, "-")
            for line in lines:
                self.text(LEFT + 10, y, line)
                y += 10
        self.y = y + 8

    def notice(self) -> None:
        self.font(8)
        lines = self.wrap(GFE_NOTICE if self.self_pay else INSURED_NOTICE, WIDTH - 20, 40)
        height = 24 + len(lines) * 10
        self.ensure(height)
        self.fill((235, 242, 250))
        self.pdf.set_draw_color(*ACCENT)
        self.rect(LEFT, self.y, WIDTH, height, style="DF")
        self.pdf.set_draw_color(0, 0, 0)
        self.font(9, bold=True)
        self.text(LEFT + 10, self.y + 14,
                  "Your right to a Good Faith Estimate" if self.self_pay else "Please read")
        self.font(8)
        y = self.y + 27
        for line in lines:
            self.text(LEFT + 10, y, line)
            y += 10
        self.y += height + 8

    def build(self) -> tuple[bytes, int]:
        self.new_page()
        self.rows()
        self.benefits()
        self.notes()
        self.notice()
        return self.output(), self.pdf.page_no()


def render_estimate_pdf(estimate: CostEstimate, settings: StatementsPdfSettings | None = None,
                        *, renderer: str = "pdf") -> RenderedDocument:
    """The estimate as a PDF named ``estimate-<number>.pdf``.

    :raises ValidationFailed: the services do not add up to the estimate's totals.
    :raises StatementRenderError: fpdf2 failed (the message names the estimate number only).
    """
    settings = settings or StatementsPdfSettings()
    check_totals(estimate)
    with render_errors(f"estimate {estimate.estimate_number}"):
        content, pages = _EstimateBuilder(estimate, settings, 1).build()
        if pages != 1:  # lay out again now that "Page n of N" knows N
            content, pages = _EstimateBuilder(estimate, settings, pages).build()
    number = "".join(c if c.isalnum() or c in "._-" else "_" for c in estimate.estimate_number)
    return RenderedDocument(renderer=renderer, media_type="application/pdf",
                            filename=f"estimate-{number.strip('._') or 'unnumbered'}.pdf",
                            content=content, pages=pages)

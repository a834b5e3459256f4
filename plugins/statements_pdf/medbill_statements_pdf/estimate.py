"""Cost estimates before the visit, and the good-faith-estimate PDF (issue 6, part 2).

:class:`CostEstimate` is this plugin's model of an estimate until the core has one: the
estimating service (``medbill estimate``, from eligibility benefits and expected allowed
amounts) fills it in, and :func:`render_estimate_pdf` prints it. Every amount printed is a
field of the estimate; the model checks that its totals add up, so the renderer computes
nothing.

For a patient without insurance (or not billing it), ``payer_name`` is ``None`` and the document
is a **Good Faith Estimate** under the No Surprises Act, with the elements and notices it
requires: patient name and date of birth, the primary service in plain language and its date,
an itemized list with service and diagnosis codes and expected charges, the provider's name,
NPI, TIN and location, and the disclaimers (not a contract, the right to dispute a bill at
least $400 over the estimate). For an insured patient the same layout shows the plan's allowed
amounts and how copay, deductible and coinsurance make up the patient's share.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field, model_validator

from medbill_core.domain import Patient, Practice, RenderedDocument
from medbill_core.domain.base import DomainModel
from medbill_core.errors import MedbillError
from medbill_core.money import ZERO, Money, total
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
    StatementRenderError,
)
from medbill_statements_pdf.settings import StatementsPdfSettings

#: Dispute threshold of the No Surprises Act patient-provider dispute resolution (45 CFR 149.620).
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
    "benefits your plan reported on the date shown and the services we expect to provide; "
    "your plan decides what it covers when it processes the claim. Your cost may change if "
    "other claims are processed first (they can use up your deductible), if your coverage "
    "changes, or if you receive other services than those listed. Please call us with any "
    "questions before your visit."
)


class EstimateLine(DomainModel):
    """One expected item or service."""

    procedure_code: str | None = Field(default=None, max_length=10)
    description: str = Field(min_length=1, max_length=200)
    diagnosis_codes: list[str] = Field(default_factory=list, max_length=12)
    units: int = Field(default=1, ge=1, le=999)
    expected_charge: Money = Field(ge=0)
    #: The plan's expected allowed amount (insured patients only).
    expected_allowed: Money | None = Field(default=None, ge=0)
    patient_estimate: Money = Field(ge=0)


class CostEstimate(DomainModel):
    """What a patient will likely owe for planned services; its totals must add up."""

    estimate_number: str = Field(min_length=1, max_length=40)
    practice: Practice
    patient: Patient
    estimate_date: date
    scheduled_date: date | None = None
    primary_service: str = Field(min_length=1, max_length=200)
    lines: list[EstimateLine] = Field(min_length=1)
    #: ``None`` for an uninsured or self-pay patient: the document is a Good Faith Estimate.
    payer_name: str | None = None
    plan_name: str | None = None
    benefits_as_of: date | None = None
    copay: Money = Field(default=ZERO, ge=0)
    deductible: Money = Field(default=ZERO, ge=0)
    coinsurance: Money = Field(default=ZERO, ge=0)
    coinsurance_percent: Decimal | None = Field(default=None, ge=0, le=100)
    deductible_remaining: Money | None = Field(default=None, ge=0)
    out_of_pocket_remaining: Money | None = Field(default=None, ge=0)
    total_expected_charges: Money
    insurance_estimate: Money = Field(default=ZERO, ge=0)
    patient_estimate: Money
    valid_until: date | None = None

    @property
    def self_pay(self) -> bool:
        return self.payer_name is None

    @model_validator(mode="after")
    def _adds_up(self) -> CostEstimate:
        if total(line.expected_charge for line in self.lines) != self.total_expected_charges:
            raise ValueError("the lines' expected charges do not add up to the total")
        if total(line.patient_estimate for line in self.lines) != self.patient_estimate:
            raise ValueError("the lines' patient estimates do not add up to the patient estimate")
        if self.self_pay:
            if self.insurance_estimate or self.copay or self.deductible or self.coinsurance:
                raise ValueError("a self-pay estimate has no insurance, copay, deductible or "
                                 "coinsurance amounts")
            if self.patient_estimate != self.total_expected_charges:
                raise ValueError("a self-pay estimate's patient estimate is its total charges")
        else:
            if self.copay + self.deductible + self.coinsurance != self.patient_estimate:
                raise ValueError("copay, deductible and coinsurance do not add up to the "
                                 "patient estimate")
            allowed = [line.expected_allowed for line in self.lines]
            if any(a is None for a in allowed):
                raise ValueError("an insured estimate needs every line's expected allowed amount")
            if total(a for a in allowed if a is not None) != (
                    self.insurance_estimate + self.patient_estimate):
                raise ValueError("insurance and patient estimates do not add up to the allowed "
                                 "amounts")
        return self


_COLUMNS_INSURED = (("Code", 44.0, "L"), ("Description", 196.0, "L"), ("Diagnosis", 70.0, "L"),
                    ("Units", 30.0, "R"), ("Expected charge", 66.0, "R"),
                    ("Plan allowed", 66.0, "R"), ("Your estimate", 68.0, "R"))
_COLUMNS_SELF_PAY = (("Code", 44.0, "L"), ("Description", 262.0, "L"),
                     ("Diagnosis", 70.0, "L"), ("Units", 30.0, "R"),
                     ("Expected charge", 66.0, "R"), ("Your estimate", 68.0, "R"))
_ROW_FONT, _LEADING, _PAD = 8.0, 9.5, 3.5
_ROWS_BOTTOM = PAGE_H - 60.0


def _icd10(code: str) -> str:
    """ICD-10-CM codes are stored without their dot (``E119``); people read ``E11.9``."""
    code = code.strip().upper()
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code


class _EstimateBuilder(Canvas):
    def __init__(self, estimate: CostEstimate, settings: StatementsPdfSettings,
                 pages: int) -> None:
        title = "Good Faith Estimate" if estimate.self_pay else "Cost Estimate"
        super().__init__(settings, title=f"{title} {estimate.estimate_number}",
                         author=estimate.practice.name, created=estimate.estimate_date)
        self.estimate = estimate
        self.title = title
        self.pages = pages
        self.columns = _COLUMNS_SELF_PAY if estimate.self_pay else _COLUMNS_INSURED
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
        self.colour()
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
        facts = [("Estimate date", view.us_date(estimate.estimate_date)),
                 ("Estimate number", estimate.estimate_number)]
        if estimate.scheduled_date:
            facts.append(("Scheduled for", view.us_date(estimate.scheduled_date)))
        if estimate.valid_until:
            facts.append(("Valid until", view.us_date(estimate.valid_until)))
        facts.append(("Page", f"1 of {self.pages}"))
        fy = 64.0
        for label, value in facts:
            self.font(8)
            self.text(420, fy, label)
            self.font(8.5, bold=True)
            self.text(RIGHT, fy, value, align="R")
            fy += 12
        top = max(y, fy) + 8
        # patient and coverage
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
        if estimate.self_pay:
            coverage = ["Self-pay: no insurance will be billed"]
        else:
            coverage = [estimate.payer_name or "", estimate.plan_name or ""]
            if estimate.benefits_as_of:
                coverage.append(f"Benefits as reported on {view.us_date(estimate.benefits_as_of)}")
        cy = top + 21
        for k, line in enumerate(c for c in coverage if c):
            self.font(9 if k == 0 else 8.5, bold=k == 0)
            self.text(LEFT + 200, cy, line)
            cy += 12
        # the estimated cost box
        x, w, h = 420.0, RIGHT - 420.0, 70.0
        self.fill(GREY_FILL)
        self.pdf.set_draw_color(*ACCENT)
        self.pdf.set_line_width(1.2)
        self.pdf.rect(x, top + 4, w, h, style="DF")
        self.pdf.set_line_width(0.4)
        self.pdf.set_draw_color(0, 0, 0)
        self.font(8, bold=True)
        self.text(x + w / 2, top + 18, "YOUR ESTIMATED COST", align="C")
        self.font(18, bold=True)
        self.text(x + w / 2, top + 40, view.money(estimate.patient_estimate), align="C")
        self.font(8)
        self.text(x + w / 2, top + 56,
                  f"Total expected charges {view.money(estimate.total_expected_charges)}",
                  align="C")
        y = max(ay, cy, top + h + 4) + 14
        self.font(9.5, bold=True)
        self.text(LEFT, y, "Primary service")
        self.font(9)
        for line in self.wrap(estimate.primary_service, WIDTH - 90, 2):
            self.text(LEFT + 90, y, line)
            y += 11
        self.y = y + 8

    # -- the table ------------------------------------------------------------------------------
    def table_header(self) -> None:
        top = self.y
        self.fill(ACCENT)
        self.pdf.rect(LEFT, top, WIDTH, 22, style="F")
        self.colour((255, 255, 255))
        self.font(7.5, bold=True)
        x = LEFT
        for heading, width, align in self.columns:
            words = heading.split(" ", 1) if align == "R" and " " in heading else [heading]
            base = top + (9 if len(words) == 2 else 13.5)
            for k, word in enumerate(words):
                if align == "R":
                    self.text(x + width - _PAD, base + k * 8.5, word, align="R")
                else:
                    self.text(x + _PAD, base + k * 8.5, word)
            x += width
        self.colour()
        self.y = top + 22

    def rows(self) -> None:
        self.table_header()
        self.font(_ROW_FONT)
        for index, line in enumerate(self.estimate.lines):
            texts = [line.procedure_code or "", line.description,
                     ", ".join(_icd10(code) for code in line.diagnosis_codes), str(line.units)]
            amounts = [line.expected_charge, line.patient_estimate] if self.estimate.self_pay \
                else [line.expected_charge, line.expected_allowed or ZERO, line.patient_estimate]
            cells = [self.wrap(t, self.columns[i][1] - 2 * _PAD, 4) for i, t in enumerate(texts)]
            height = max(len(c) for c in cells) * _LEADING + 2 * _PAD
            if self.ensure(height):
                self.table_header()
                self.font(_ROW_FONT)
            if index % 2:
                self.fill(ZEBRA_FILL)
                self.pdf.rect(LEFT, self.y, WIDTH, height, style="F")
            baseline = self.y + _PAD + 7
            x = LEFT
            for i, lines in enumerate(cells):
                _, width, align = self.columns[i]
                for k, text in enumerate(lines):
                    if align == "R":
                        self.text(x + width - _PAD, baseline + k * _LEADING, text, align="R")
                    else:
                        self.text(x + _PAD, baseline + k * _LEADING, text)
                x += width
            for amount, (_, width, _) in zip(amounts, self.columns[4:], strict=True):
                self.text(x + width - _PAD, baseline, view.money(amount), align="R")
                x += width
            self.y += height
        # totals, from the estimate's own fields
        self.ensure(20)
        self.fill(GREY_FILL)
        self.pdf.rect(LEFT, self.y, WIDTH, 18, style="F")
        self.font(_ROW_FONT + 0.5, bold=True)
        self.text(LEFT + _PAD, self.y + 12.5, "Estimated totals")
        right_edges = []
        x = LEFT
        for _, width, _ in self.columns:
            x += width
            right_edges.append(x)
        self.text(right_edges[4] - _PAD, self.y + 12.5,
                  view.money(self.estimate.total_expected_charges), align="R")
        self.text(RIGHT - _PAD, self.y + 12.5, view.money(self.estimate.patient_estimate),
                  align="R")
        self.y += 30

    def breakdown(self) -> None:
        estimate = self.estimate
        if estimate.self_pay:
            return
        rate = (f" ({estimate.coinsurance_percent.normalize():f}%)"
                if estimate.coinsurance_percent is not None else "")
        pairs = [("Copay", estimate.copay), ("Deductible", estimate.deductible),
                 (f"Coinsurance{rate}", estimate.coinsurance),
                 ("Your estimated cost", estimate.patient_estimate),
                 ("Your plan is expected to pay", estimate.insurance_estimate)]
        benefits = []
        if estimate.deductible_remaining is not None:
            benefits.append(("Deductible remaining before this visit",
                             estimate.deductible_remaining))
        if estimate.out_of_pocket_remaining is not None:
            benefits.append(("Out-of-pocket maximum remaining before this visit",
                             estimate.out_of_pocket_remaining))
        height = 22 + 13 * max(len(pairs), len(benefits))
        self.ensure(height)
        self.font(9.5, bold=True)
        self.text(LEFT, self.y + 10, "How your estimate is figured")
        if benefits:
            self.text(LEFT + 290, self.y + 10, "Your benefits")
        y = self.y + 25
        for label, amount in pairs:
            bold = label == "Your estimated cost"
            self.font(8.5, bold=bold)
            self.text(LEFT, y, label)
            self.text(LEFT + 240, y, view.money(amount), align="R")
            y += 13
        y2 = self.y + 25
        for label, amount in benefits:
            self.font(8.5)
            self.text(LEFT + 290, y2, label)
            self.text(RIGHT, y2, view.money(amount), align="R")
            y2 += 13
        self.y = max(y, y2) + 6

    def notice(self) -> None:
        text = GFE_NOTICE if self.estimate.self_pay else INSURED_NOTICE
        self.font(8)
        lines = self.wrap(text, WIDTH - 20, 40)
        height = 24 + len(lines) * 10
        self.ensure(height)
        self.fill((235, 242, 250))
        self.pdf.set_draw_color(*ACCENT)
        self.pdf.rect(LEFT, self.y, WIDTH, height, style="DF")
        self.pdf.set_draw_color(0, 0, 0)
        self.font(9, bold=True)
        self.text(LEFT + 10, self.y + 14, "Please read" if not self.estimate.self_pay else
                  "Your right to a Good Faith Estimate")
        self.font(8)
        y = self.y + 27
        for line in lines:
            self.text(LEFT + 10, y, line)
            y += 10
        self.y += height + 8

    def build(self) -> tuple[bytes, int]:
        self.new_page()
        self.rows()
        self.breakdown()
        self.notice()
        return self.output(), self.pdf.page_no()


def render_estimate_pdf(estimate: CostEstimate,
                        settings: StatementsPdfSettings | None = None) -> RenderedDocument:
    """The estimate as a PDF named ``estimate-<number>.pdf`` (no PHI in the name)."""
    settings = settings or StatementsPdfSettings()
    try:
        content, pages = _EstimateBuilder(estimate, settings, 1).build()
        if pages != 1:  # lay out again now that "Page n of N" knows N
            content, pages = _EstimateBuilder(estimate, settings, pages).build()
    except MedbillError:
        raise
    except Exception as exc:  # fpdf errors may quote text (PHI): name the type only
        raise StatementRenderError(
            f"estimate {estimate.estimate_number}: the PDF could not be rendered "
            f"({type(exc).__name__})") from exc
    number = "".join(c if c.isalnum() or c in "._-" else "_" for c in estimate.estimate_number)
    return RenderedDocument(renderer="pdf-estimate", media_type="application/pdf",
                            filename=f"estimate-{number.strip('._') or 'unnumbered'}.pdf",
                            content=content, pages=pages)

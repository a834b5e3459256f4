"""What every renderer shows, independent of the output format.

The renderers (PDF, plain text, HTML) share this module so that a patient reads the same
figures, labels and notices whichever document they get. Amounts are taken from the
:class:`~medbill_core.domain.Statement` unchanged; the only arithmetic is the per-claim
summing of summary mode (:func:`summary_rows`), whose totals are checked against the
statement's balance due.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from medbill_core.api import (
    Address,
    OweReason,
    Patient,
    Practice,
    Statement,
    StatementLine,
    StatementSection,
    ValidationFailed,
    total,
)

#: Title and default message for each dunning stage (``Statement.dunning_stage``, 0..4).
DUNNING_NOTICES: dict[int, tuple[str, str]] = {
    # the title is the statement's one "thank you": the text must not say it again
    0: ("Thank you",
        "We appreciate you choosing us for your care. This statement shows what we billed, "
        "what your insurance paid and adjusted, and the amount that is now your "
        "responsibility. If you have questions about your bill, please call our billing "
        "office."),
    1: ("Friendly reminder",
        "This is a friendly reminder that a balance remains on your account. Please pay by "
        "the due date. If you cannot pay the full amount, call us: we can set up a payment "
        "plan."),
    2: ("Past due",
        "Your balance is past due. Please send your payment today, or call our billing office "
        "to discuss a payment plan. If you have already paid, thank you, and please disregard "
        "this notice."),
    3: ("Second past-due notice",
        "Your account is seriously past due and we have not heard from you. Please pay the "
        "balance or contact our billing office by the due date to avoid further collection "
        "activity."),
    4: ("FINAL NOTICE",
        "This is the final notice for this balance. If we do not receive payment or hear from "
        "you by the due date, your account may be referred to a collection agency. Please call "
        "us today: we want to help you resolve it."),
}

#: Labels of the aging buckets, in the order of :class:`~medbill_core.domain.Aging`'s fields.
AGING_LABELS: tuple[tuple[str, str], ...] = (
    ("current", "Current"),
    ("days_30", "31-60 days"),
    ("days_60", "61-90 days"),
    ("days_90_plus", "91+ days"),
)


@dataclass(frozen=True)
class Row:
    """One row of the services table: a statement line, or a claim's totals in summary mode."""

    dates: str
    claim: str
    code: str
    description: str
    charge: Decimal
    insurance_paid: Decimal
    insurance_adjusted: Decimal
    patient_paid: Decimal
    balance: Decimal
    #: why the patient owes, in words ("Deductible $20.00; Copay $15.00"), or ""
    why: str = ""

    def amounts(self) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        return (self.charge, self.insurance_paid, self.insurance_adjusted, self.patient_paid,
                self.balance)


#: Column headings of the amounts, in :meth:`Row.amounts` order.
AMOUNT_HEADINGS: tuple[str, ...] = ("Charge", "Insurance paid", "Insurance adjusted",
                                    "You paid", "Balance")


def money(amount: Decimal) -> str:
    """``$1,234.56``; a credit prints as ``-$12.00``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def us_date(value: date) -> str:
    return value.strftime("%m/%d/%Y")


def person_name(patient: Patient) -> str:
    parts = [patient.first_name, patient.middle_name, patient.last_name]
    name = " ".join(p for p in parts if p)
    return f"{name} {patient.suffix}" if patient.suffix else name


def address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    return address.mailing_lines()


def phone(practice: Practice) -> str | None:
    if not practice.phone:
        return None
    digits = practice.phone
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def pay_site(url: str) -> str:
    """The pay link as a person types it: host and path without the scheme and the code
    (``https://pay.example.com/pay?code=...`` -> ``pay.example.com/pay``); the code is
    printed beside it."""
    without_scheme = url.split("://", 1)[-1]
    return without_scheme.split("?", 1)[0]


def remit_to(statement: Statement) -> Address:
    """Where payments go: the statement's remit-to, else the practice's pay-to, else its address."""
    return statement.remit_to or statement.practice.pay_to_address or statement.practice.address


def bill_to_name(statement: Statement) -> str:
    """The guarantor's name: statements are addressed to whoever pays, not to a child."""
    if statement.guarantor_name:
        return statement.guarantor_name
    if statement.guarantor is not None:
        return statement.guarantor.display_name
    return person_name(statement.patient)


def bill_to_address(statement: Statement) -> Address | None:
    """The guarantor's address, else the patient's."""
    if statement.guarantor is not None and statement.guarantor.address is not None:
        return statement.guarantor.address
    return statement.patient.address


def why_text(reasons: Sequence[OweReason]) -> str:
    """``Why you owe: Deductible $20.00; Copay $15.00`` (empty when there is no reason)."""
    if not reasons:
        return ""
    return "Why you owe: " + "; ".join(f"{r.reason} {money(r.amount)}" for r in reasons)


@dataclass(frozen=True)
class Section:
    """A patient's part of a family statement: a heading, the rows, the patient's balance."""

    heading: str
    rows: list[Row]
    balance: Decimal


def patient_names(statement: Statement) -> str:
    """The statement's patient, or every patient of a family statement."""
    if len(statement.sections) > 1:
        return ", ".join(person_name(s.patient) for s in statement.sections)
    return person_name(statement.patient)


def section_heading(section: StatementSection) -> str:
    return (f"Patient: {person_name(section.patient)} (account {section.account_number}), "
            f"balance {money(section.balance_due)}")


def sections(statement: Statement, summary: bool) -> list[Section]:
    """One :class:`Section` per patient of a family statement; ``[]`` for a single patient."""
    if len(statement.sections) < 2:
        return []
    return [Section(section_heading(section),
                    summary_rows_of(section.lines) if summary else detail_rows_of(section.lines),
                    section.balance_due)
            for section in statement.sections]


def notice(statement: Statement, overrides: Mapping[int, str] | None = None) -> tuple[str, str]:
    """``(title, message)`` for the statement's dunning stage; settings may override the text."""
    title, message = DUNNING_NOTICES[statement.dunning_stage]
    if overrides and statement.dunning_stage in overrides:
        message = overrides[statement.dunning_stage]
    return title, message


def account_label(statement: Statement) -> str:
    """How the number to pay by is labelled: a family statement carries the guarantor's
    number (one payment for every patient on it), a patient's statement the account's."""
    return "Family account number" if statement.sections else "Account number"


def statement_facts(statement: Statement) -> list[tuple[str, str]]:
    """``(label, value)`` pairs naming the statement, its account, patient and guarantor."""
    facts = [("Statement date", us_date(statement.statement_date)),
             ("Statement number", statement.statement_number),
             (account_label(statement), statement.account_number)]
    facts.append(("Patients" if len(statement.sections) > 1 else "Patient",
                  patient_names(statement)))
    if statement.guarantor_name:
        facts.append(("Guarantor", statement.guarantor_name))
    return facts


def safe_filename(statement: Statement, extension: str) -> str:
    """``statement-<number>.<ext>``: named by statement number only, never by patient (PHI)."""
    number = re.sub(r"[^A-Za-z0-9._-]+", "_", statement.statement_number).strip("._")
    return f"statement-{number or 'unnumbered'}.{extension}"


def _code(line: StatementLine) -> str:
    return line.procedure_code or ""


def detail_rows(statement: Statement) -> list[Row]:
    """One row per statement line, amounts exactly as the statement carries them."""
    return detail_rows_of(statement.lines)


def _date_span(first: date, last: date) -> str:
    return us_date(first) if first == last else f"{us_date(first)} - {us_date(last)}"


def summary_rows(statement: Statement) -> list[Row]:
    """One row per claim with the claim's totals, oldest claim first.

    Lines without a claim number (payments on account, for instance) stay rows of their own.
    :raises ValidationFailed: if the rows' balances do not add up to the statement's balance due
        (the statement model already refuses such a statement; this guards a bypassed model).
    """
    rows = summary_rows_of(statement.lines)
    if statement.lines and total(row.balance for row in rows) != statement.balance_due:
        raise ValidationFailed(f"statement {statement.statement_number}",
                               [("balance_due", "summary balances do not add up to it")])
    return rows


def summary_rows_of(lines_: Sequence[StatementLine]) -> list[Row]:
    """Summary rows (one per claim) of some statement lines."""
    groups: dict[str, list[StatementLine]] = {}
    singles: list[tuple[date, int, StatementLine]] = []
    for position, line in enumerate(lines_):
        if line.claim_number:
            groups.setdefault(line.claim_number, []).append(line)
        else:
            singles.append((line.service_date, position, line))
    keyed: list[tuple[date, int, Row]] = []
    for position, (claim, lines) in enumerate(groups.items()):
        first = min(line.service_date for line in lines)
        last = max(line.service_date for line in lines)
        codes = {line.procedure_code for line in lines if line.procedure_code}
        others = len(lines) - 1
        description = lines[0].description if not others else (
            f"{lines[0].description}, and {others} other service{'s' if others > 1 else ''}")
        keyed.append((first, position, Row(
            dates=_date_span(first, last), claim=claim,
            code=codes.pop() if len(codes) == 1 else "",
            description=description,
            charge=total(line.charge for line in lines),
            insurance_paid=total(line.insurance_paid for line in lines),
            insurance_adjusted=total(line.insurance_adjusted for line in lines),
            patient_paid=total(line.patient_paid for line in lines),
            balance=total(line.balance for line in lines),
            why=why_text(_merged_reasons(lines)))))
    for service_date, position, line in singles:
        keyed.append((service_date, len(groups) + position, detail_rows_of([line])[0]))
    return [row for _, _, row in sorted(keyed, key=lambda item: (item[0], item[1]))]


def _merged_reasons(lines: Sequence[StatementLine]) -> list[OweReason]:
    amounts: dict[str, Decimal] = {}
    for line in lines:
        for reason in line.why:
            amounts[reason.reason] = amounts.get(reason.reason, Decimal("0.00")) + reason.amount
    return [OweReason(reason=reason, amount=amount) for reason, amount in amounts.items()]


def detail_rows_of(lines: Sequence[StatementLine]) -> list[Row]:
    return [Row(dates=us_date(line.service_date), claim=line.claim_number or "",
                code=_code(line), description=line.description, charge=line.charge,
                insurance_paid=line.insurance_paid, insurance_adjusted=line.insurance_adjusted,
                patient_paid=line.patient_paid, balance=line.balance, why=why_text(line.why))
            for line in lines]


def totals_row(rows: Sequence[Row], label: str = "Totals") -> Row:
    """The column sums of summary rows (summary mode only: detail mode prints no sums)."""
    return Row(dates="", claim="", code="", description=label,
               charge=total(r.charge for r in rows),
               insurance_paid=total(r.insurance_paid for r in rows),
               insurance_adjusted=total(r.insurance_adjusted for r in rows),
               patient_paid=total(r.patient_paid for r in rows),
               balance=total(r.balance for r in rows))

"""Plain-text statement (UTF-8) for an e-mail body or an SMS-linked page: 72 columns, no tables."""

from __future__ import annotations

import textwrap
import unicodedata

from medbill_core.api import RenderedDocument, Statement
from medbill_statements_pdf import view
from medbill_statements_pdf.base import PluginStatementRenderer

WIDTH = 72
RULE = "-" * WIDTH
_KEEP = "\u00a0"  # textwrap breaks only at ASCII white space


def printable(text: str) -> str:
    """Control characters (a stray tab, escape or NUL from imported data) become spaces."""
    return "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)


def _amount_lines(row: view.Row, indent: str) -> list[str]:
    """``Charge $1.00 | Insurance paid $2.00 | ...`` wrapped without parting label and amount."""
    pairs = [f"{heading} {view.money(amount)}".replace(" ", _KEEP) for heading, amount
             in zip(view.AMOUNT_HEADINGS, row.amounts(), strict=True)]
    return [line.replace(_KEEP, " ") for line in textwrap.wrap(
        " | ".join(pairs), WIDTH, initial_indent=indent, subsequent_indent=indent,
        break_on_hyphens=False)]


class TextStatementRenderer(PluginStatementRenderer):
    identifier = "text"
    verbose_name = "Plain-text statement (e-mail)"
    media_type = "text/plain"
    file_extension = "txt"

    def render(self, statement: Statement) -> RenderedDocument:
        text = "\n".join(printable(line).rstrip() for line in self.lines(statement)) + "\n"
        return self.document(statement, text.encode("utf-8"))

    def lines(self, statement: Statement) -> list[str]:
        practice = statement.practice
        phone = view.phone(practice)
        out = [practice.name.upper(), ", ".join(view.address_lines(practice.address))]
        if phone:
            out.append(f"Billing questions: {phone}")
        out += ["", "PATIENT STATEMENT"]
        out += [f"  {label + ':':<18} {value}" for label, value in view.statement_facts(statement)]
        out += ["", "BILL TO", f"  {view.bill_to_name(statement)}"]
        out += [f"  {line}" for line in view.address_lines(view.bill_to_address(statement))]
        out += ["", f"AMOUNT DUE: {view.money(statement.balance_due)}, "
                    f"please pay by {view.us_date(statement.due_date)}", ""]
        title, message = view.notice(statement, self.settings.dunning_messages)
        out.append(title.upper())
        out += textwrap.wrap(printable(message), WIDTH)
        if statement.message:
            out += textwrap.wrap(printable(statement.message), WIDTH)
        out += ["", "ACCOUNT ACTIVITY" + (" (ONE LINE PER CLAIM)" if self.summary else ""), RULE]
        rows = view.summary_rows(statement) if self.summary else view.detail_rows(statement)
        if not rows:
            out.append("No account activity since your last statement.")
        family = view.sections(statement, self.summary)
        for section in family or [view.Section("", rows, statement.balance_due)]:
            if family:
                out += ["", *textwrap.wrap(printable(section.heading.upper()), WIDTH)]
            out += self.row_lines(section.rows)
        if self.summary and rows:
            out += [RULE, "TOTALS OF ALL CLAIMS", *_amount_lines(view.totals_row(rows), " " * 12)]
        out += [RULE, f"BALANCE DUE: {view.money(statement.balance_due)}", "", "AGING"]
        for field, label in view.AGING_LABELS:
            out.append(f"  {label:<12} {view.money(getattr(statement.aging, field)):>14}")
        out += ["", "HOW TO PAY",
                f"  Mail a check payable to {practice.name} to:",
                f"    {practice.name}"]
        out += [f"    {line}" for line in view.address_lines(view.remit_to(statement))]
        out.append(f"  Write {view.account_label(statement).lower()} {statement.account_number} "
                   "on your check.")
        if phone:
            out.append(f"  To pay by card or set up a payment plan, call {phone}.")
        if statement.pay_url and statement.pay_code:
            out.append(f"  Pay online or set up a plan at {view.pay_site(statement.pay_url)}, "
                       f"your code: {statement.pay_code}")
        return out

    @staticmethod
    def row_lines(rows: list[view.Row]) -> list[str]:
        out: list[str] = []
        indent = " " * 12
        for row in rows:
            head = f"{row.dates:<10}  {row.code}".rstrip()
            description = row.description + (f" (claim {row.claim})" if row.claim else "")
            out += textwrap.wrap(printable(description), WIDTH, initial_indent=f"{head}  ",
                                 subsequent_indent=indent) or [head]
            out += _amount_lines(row, indent)
            if row.why:
                out += textwrap.wrap(printable(row.why), WIDTH, initial_indent=indent,
                                     subsequent_indent=indent)
        return out

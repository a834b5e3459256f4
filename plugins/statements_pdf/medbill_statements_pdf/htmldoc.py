"""HTML statement for a patient portal or an HTML e-mail: one self-contained, escaped page.

Every value from the statement goes through :func:`html.escape` (quotes included), the page
loads nothing from elsewhere (no scripts, images, fonts or style sheets; inline CSS only,
as e-mail clients require), and amounts are the statement's own.
"""

from __future__ import annotations

import html

from medbill_core.api import RenderedDocument, Statement
from medbill_statements_pdf import view
from medbill_statements_pdf.base import PluginStatementRenderer
from medbill_statements_pdf.plaintext import printable

_STYLE = """
body{font-family:Helvetica,Arial,sans-serif;color:#1a1a1a;max-width:780px;margin:24px auto;
padding:0 12px;font-size:14px;line-height:1.4}
h1{color:#1f497d;font-size:22px;margin:0}h2{font-size:16px;margin:24px 0 8px}
.muted{color:#555}.due{border:2px solid #1f497d;background:#eee;padding:12px;text-align:center;
margin:16px 0}.due strong{font-size:26px;display:block}
.notice{border:1px solid #1f497d;background:#ebf2fa;padding:8px 12px}
.notice.urgent{border-color:#aa281e;background:#fdecea}
table{border-collapse:collapse;width:100%}th,td{padding:4px 6px;vertical-align:top}
thead th{background:#1f497d;color:#fff;text-align:left}
td.amount,th.amount{text-align:right;white-space:nowrap}tbody tr:nth-child(even){background:#f7f7f7}
tfoot td{font-weight:bold;border-top:2px solid #1f497d}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:8px 0}
dl.facts dt{color:#555}dl.facts dd{margin:0;font-weight:bold}
tr.section th{background:#dde6f0;color:#1a1a1a;text-align:left}.why{color:#555;font-size:12px}
""".strip()


def esc(value: object) -> str:
    return html.escape(printable(str(value)), quote=True)


class HtmlStatementRenderer(PluginStatementRenderer):
    identifier = "html"
    verbose_name = "HTML statement (patient portal, e-mail)"
    media_type = "text/html"
    file_extension = "html"

    def render(self, statement: Statement) -> RenderedDocument:
        return self.document(statement, self.page(statement).encode("utf-8"))

    def page(self, statement: Statement) -> str:
        practice = statement.practice
        phone = view.phone(practice)
        title, message = view.notice(statement, self.settings.dunning_messages)
        money = view.money
        address = "<br>".join(esc(x) for x in view.address_lines(practice.address))
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Statement {esc(statement.statement_number)}</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<header><h1>{esc(practice.name)}</h1>",
            f'<div class="muted">{address}'
            + (f"<br>Billing questions: {esc(phone)}" if phone else "") + "</div></header>",
            "<h2>Patient statement</h2>",
            '<dl class="facts">',
        ]
        parts += [f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>"
                  for label, value in view.statement_facts(statement)]
        bill_to = [view.bill_to_name(statement),
                   *view.address_lines(view.bill_to_address(statement))]
        parts += [
            "</dl>",
            '<h2>Bill to</h2><address class="bill-to">'
            + "<br>".join(esc(x) for x in bill_to) + "</address>",
            f'<div class="due">Amount due<strong>{esc(money(statement.balance_due))}</strong>'
            f"Please pay by {esc(view.us_date(statement.due_date))}</div>",
            f'<div class="notice{" urgent" if statement.dunning_stage >= 3 else ""}">'
            f"<strong>{esc(title)}</strong><p>{esc(message)}</p>"
            + (f"<p>{esc(statement.message)}</p>" if statement.message else "") + "</div>",
            "<h2>Account activity</h2>",
            "<table><thead><tr><th>Date</th><th>Claim</th><th>Code</th><th>Description</th>",
        ]
        parts += [f'<th class="amount">{esc(h)}</th>' for h in view.AMOUNT_HEADINGS]
        parts.append("</tr></thead><tbody>")
        rows = view.summary_rows(statement) if self.summary else view.detail_rows(statement)
        if not rows:
            parts.append('<tr><td colspan="9">No account activity since your last statement.'
                         "</td></tr>")
        family = view.sections(statement, self.summary)
        for section in family or [view.Section("", rows, statement.balance_due)]:
            if family:
                parts.append(f'<tr class="section"><th colspan="9">{esc(section.heading)}'
                             "</th></tr>")
            for row in section.rows:
                why = f'<br><span class="why">{esc(row.why)}</span>' if row.why else ""
                parts.append(f"<tr><td>{esc(row.dates)}</td><td>{esc(row.claim)}</td>"
                             f"<td>{esc(row.code)}</td><td>{esc(row.description)}{why}</td>"
                             + "".join(f'<td class="amount">{esc(money(a))}</td>'
                                       for a in row.amounts()) + "</tr>")
        parts.append("</tbody><tfoot>")
        if self.summary and rows:
            parts.append('<tr><td colspan="4">Totals of all claims</td>' + "".join(
                f'<td class="amount">{esc(money(a))}</td>'
                for a in view.totals_row(rows).amounts()) + "</tr>")
        parts.append(f'<tr><td colspan="8">Balance due</td>'
                     f'<td class="amount">{esc(money(statement.balance_due))}</td></tr>')
        parts += ["</tfoot></table>", "<h2>Aging</h2>", "<table><thead><tr>"]
        parts += [f'<th class="amount">{esc(label)}</th>' for _, label in view.AGING_LABELS]
        parts.append("</tr></thead><tbody><tr>")
        parts += [f'<td class="amount">{esc(money(getattr(statement.aging, field)))}</td>'
                  for field, _ in view.AGING_LABELS]
        parts += ["</tr></tbody></table>", "<h2>How to pay</h2>",
                  f"<p>Mail a check payable to {esc(practice.name)} to:</p>",
                  "<address>" + "<br>".join(esc(x) for x in [
                      practice.name, *view.address_lines(view.remit_to(statement))])
                  + "</address>",
                  f"<p>Write {esc(view.account_label(statement).lower())} "
                  f"{esc(statement.account_number)} on your check."]
        if phone:
            parts.append(f" To pay by card or set up a payment plan, call {esc(phone)}.")
        parts.append("</p>")
        if statement.pay_url and statement.pay_code:
            parts.append(f'<p>Pay online or set up a plan at <a href="{esc(statement.pay_url)}">'
                         f"{esc(view.pay_site(statement.pay_url))}</a>, your code: "
                         f"<strong>{esc(statement.pay_code)}</strong></p>")
        parts += ["</body></html>", ""]
        return "\n".join(parts)

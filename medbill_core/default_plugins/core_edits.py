"""Claim edits every claim gets, plus the payer adapter's own edits.

Structural rules (formats, NPI check digits, pointer ranges, frequency 7/8
references) are enforced by the domain model itself; these edits need context
the model does not have: today's date, the coverage, the payer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from medbill_core.domain import BillableClaim, ClaimFinding, Severity
from medbill_core.hookspecs import hookimpl
from medbill_core.pluginctx import PluginContext


def _finding(claim: BillableClaim, severity: Severity, code: str, message: str, *,
             line: int | None = None, field: str | None = None,
             hint: str | None = None) -> ClaimFinding:
    return ClaimFinding(severity=severity, code=code, message=message,
                        claim_number=claim.claim.claim_number, line_number=line, field=field,
                        fix_hint=hint, source="core")


def service_dates_not_in_future(claim: BillableClaim, today: date) -> list[ClaimFinding]:
    if claim.claim.service_date_to > today:
        return [_finding(claim, Severity.ERROR, "date.future",
                         "service date is in the future", field="service_date_to",
                         hint="bill services only after they were rendered")]
    return []


def coverage_active(claim: BillableClaim) -> list[ClaimFinding]:
    coverage = claim.coverage
    if coverage is None or coverage.is_active_on(claim.claim.service_date_from):
        return []
    return [_finding(claim, Severity.ERROR, "coverage.inactive",
                     f"coverage {coverage.id} is not active on the date of service",
                     field="coverage_id", hint="verify eligibility or bill another coverage")]


def timely_filing(claim: BillableClaim, today: date) -> list[ClaimFinding]:
    payer = claim.payer
    if payer is None:
        return []
    age = (today - claim.claim.service_date_from).days
    if age > payer.timely_filing_days:
        return [_finding(claim, Severity.ERROR, "timely_filing.expired",
                         f"{age} days since the date of service; payer {payer.key} accepts "
                         f"{payer.timely_filing_days}", field="service_date_from",
                         hint="attach proof of timely filing or write the charge off")]
    return []


def duplicate_lines(claim: BillableClaim) -> list[ClaimFinding]:
    seen: dict[tuple[object, ...], int] = {}
    findings = []
    for line in claim.claim.lines:
        key = (line.procedure_code, tuple(line.modifiers), line.service_date_from)
        if key in seen:
            findings.append(_finding(
                claim, Severity.WARNING, "line.duplicate",
                f"line {line.line_number} repeats line {seen[key]} (same code, modifiers, date)",
                line=line.line_number, field="procedure_code",
                hint="combine units on one line or add a distinguishing modifier (76, 91, 59)"))
        else:
            seen[key] = line.line_number
    return findings


@hookimpl
def medbill_claim_edits(claim: BillableClaim, context: PluginContext) -> Sequence[ClaimFinding]:
    today = date.today()
    findings = [
        *service_dates_not_in_future(claim, today),
        *coverage_active(claim),
        *timely_filing(claim, today),
        *duplicate_lines(claim),
    ]
    if claim.payer is not None and claim.payer.adapter in context.adapters:
        findings.extend(context.adapters[claim.payer.adapter].claim_edits(claim))
    return findings

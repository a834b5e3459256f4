"""Medicare Part B claim edits: findings the scrubber shows before a claim goes to a MAC.

Every finding has a code under ``medicare.``, a severity (``error`` blocks submission,
``warning`` does not), the claim and where possible the line, and a fix hint. Messages name
fields, positions and procedure codes, never PHI (the MBI, names, dates of birth).

=================================  ========  ===================================================
code                               severity  rule
=================================  ========  ===================================================
``medicare.mbi.invalid``           error     member ID is not a CMS-format MBI (:mod:`.mbi`)
``medicare.mbi.test``              warning   a synthetic test MBI (S in position 2) was accepted
``medicare.subscriber``            error     the patient is not the subscriber (Medicare is
                                             individual coverage: relationship 18, no separate
                                             subscriber)
``medicare.filing_indicator``      warning   the payer's SBR09 is not ``MB``; the adapter sends
                                             ``MB`` regardless
``medicare.timely_filing.expired`` error     more than 12 months (one calendar year) since the
                                             line's date of service (42 CFR 424.44)
``medicare.timely_filing.near``    warning   the 12-month limit is within the warning window
``medicare.abn.ga_gz``             error     GA and GZ on one line
``medicare.abn.gx_conflict``       error     GX with GA, GZ, EY or GL on one line
``medicare.abn.gx_without_gy``     warning   GX without GY
``medicare.abn.gy_conflict``       warning   GY with GA or GZ on one line
``medicare.abn.gz``                warning   GZ lines are denied automatically
``medicare.referring.missing``     error     an ordered service (lab, imaging, DMEPOS) without
                                             a referring/ordering provider
=================================  ========  ===================================================

ABN modifier rules, from CMS:

* GA: a required ABN is on file; GZ: the service is expected to be denied as not reasonable
  and necessary and **no** ABN was signed. They contradict each other (Pub. 100-04 ch. 30
  section 50; MLN Matters MM6563).
* GX (voluntary ABN, for statutorily non-covered services) "may be reported on the same line
  as GY or TS"; Medicare **returns** claims with GX on the same line as EY, GA, GL or GZ
  (CR 6563 / MLN Matters MM6563, effective 2010-04-01). GX without GY is flagged as a warning:
  on a professional claim a voluntary ABN goes with a statutorily excluded service (GY).
* GY (statutorily excluded / no benefit category) with GA or GZ (medical-necessity liability)
  mixes two kinds of liability; MACs deny such lines. A warning, not an error, because the
  CMS text found does not state a return edit for it.
* GZ lines are denied automatically, without medical review (CR 7228, effective 2011-07-01).

Referring/ordering provider: CMS's ordering/referring edits (CR 6417/6421, CR 6856) deny Part B
claims for ordered services without a valid ordering/referring provider. The code list is
deliberately conservative (only what is always ordered), in :data:`ORDERED_SERVICE_RANGES`.

The 12-diagnosis and 50-line limits of an 837P claim are enforced by the domain model
(:class:`~medbill_core.domain.Claim` cannot hold more); encounters that need more are split with
:func:`medbill_payer_medicare.split.split_encounter` before they become claims.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date

from medbill_core.api import BillableClaim, ClaimFinding, Relationship, ServiceLine, Severity
from medbill_payer_medicare.mbi import check_mbi

SOURCE = "payer_medicare"
MEDICARE_FILING_INDICATOR = "MB"
TIMELY_FILING_YEARS = 1

#: Procedure code ranges (inclusive) that are always ordered or referred, so an 837P to Medicare
#: must carry the ordering/referring provider (2310A). Conservative on purpose.
ORDERED_SERVICE_RANGES: tuple[tuple[str, str, str], ...] = (
    ("70010", "76999", "diagnostic radiology and ultrasound"),
    ("77046", "77067", "breast imaging (mammography, breast MRI)"),
    ("77071", "77086", "bone and joint studies (DXA)"),
    ("78012", "78999", "diagnostic nuclear medicine"),
    ("80047", "89398", "pathology and laboratory"),
    ("E0100", "E8002", "durable medical equipment"),
    ("K0001", "K0899", "durable medical equipment (temporary K codes)"),
    ("L0112", "L9900", "orthotics and prosthetics"),
)
ABN_MODIFIERS = frozenset({"GA", "GX", "GY", "GZ"})
_GX_FORBIDDEN = ("EY", "GA", "GL", "GZ")


def finding(claim: BillableClaim, severity: Severity, code: str, message: str, *,
            line: int | None = None, field: str | None = None,
            hint: str | None = None) -> ClaimFinding:
    """A :class:`ClaimFinding` from this plugin."""
    return ClaimFinding(severity=severity, code=code, message=message,
                        claim_number=claim.claim.claim_number, line_number=line, field=field,
                        fix_hint=hint, source=SOURCE)


# -- beneficiary -----------------------------------------------------------------------------------

def mbi_edit(claim: BillableClaim, *, allow_test: bool = False) -> list[ClaimFinding]:
    """The member ID is a CMS-format MBI."""
    if claim.coverage is None:
        return []
    verdict = check_mbi(claim.coverage.member_id, allow_test=allow_test)
    if not verdict.valid:
        return [finding(claim, Severity.ERROR, "medicare.mbi.invalid",
                        f"member ID is not a valid Medicare Beneficiary Identifier: "
                        f"{verdict.reason}", field="coverage.member_id",
                        hint="copy the 11-character MBI from the Medicare card or an eligibility "
                             "response (not the old SSN-based HICN)")]
    if verdict.test_identifier:
        return [finding(claim, Severity.WARNING, "medicare.mbi.test",
                        "member ID is a synthetic test MBI (S in position 2)",
                        field="coverage.member_id",
                        hint="test MBIs are accepted only because allow_test_mbis is on")]
    return []


def subscriber_edit(claim: BillableClaim) -> list[ClaimFinding]:
    """Medicare coverage is individual: the patient is the subscriber (SBR02 = 18)."""
    coverage = claim.coverage
    if coverage is None:
        return []
    if coverage.relationship is not Relationship.SELF or coverage.subscriber is not None:
        return [finding(claim, Severity.ERROR, "medicare.subscriber",
                        f"patient relationship to the subscriber is {coverage.relationship.value}"
                        "; for Medicare the patient is always the subscriber (18)",
                        field="coverage.relationship",
                        hint="set the relationship to self (18) and remove the separate "
                             "subscriber; the beneficiary's own MBI is the member ID")]
    return []


def filing_indicator_edit(claim: BillableClaim) -> list[ClaimFinding]:
    """The payer's claim filing indicator (SBR09) is ``MB``."""
    payer = claim.payer
    if payer is None or payer.claim_filing_indicator == MEDICARE_FILING_INDICATOR:
        return []
    return [finding(claim, Severity.WARNING, "medicare.filing_indicator",
                    f"payer {payer.key} has claim filing indicator "
                    f"{payer.claim_filing_indicator}; Medicare Part B claims carry MB (SBR09) "
                    "and the Medicare adapter sends MB", field="payer.claim_filing_indicator",
                    hint=f'set claim_filing_indicator = "MB" in [payers.{payer.key}]')]


# -- timely filing ---------------------------------------------------------------------------------

def add_years(day: date, years: int) -> date:
    """``day`` moved ``years`` calendar years (29 February becomes 28 February)."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def filing_deadline(service_date: date) -> date:
    """Last day a Medicare Part B claim for ``service_date`` is timely.

    42 CFR 424.44(a)(1): no later than the end of the period ending one calendar year after
    the date of service. For professional claims the line's "from" date is the date of service
    (Pub. 100-04 ch. 1 section 70.1).
    """
    return add_years(service_date, TIMELY_FILING_YEARS)


def timely_filing_edit(claim: BillableClaim, today: date, *,
                       warning_days: int = 30) -> list[ClaimFinding]:
    """Each line is filed within 12 months of its date of service."""
    findings: list[ClaimFinding] = []
    for line in claim.claim.lines:
        deadline = filing_deadline(line.service_date_from)
        if today > deadline:
            findings.append(finding(
                claim, Severity.ERROR, "medicare.timely_filing.expired",
                f"line {line.line_number}: the 12-month Medicare filing limit passed "
                f"{(today - deadline).days} days ago", line=line.line_number,
                field="service_date_from",
                hint="Medicare denies claims filed more than one calendar year after the date of "
                     "service (CARC 29); file only with an exception (retroactive entitlement, "
                     "administrative error) and its documentation"))
        elif (deadline - today).days <= warning_days:
            findings.append(finding(
                claim, Severity.WARNING, "medicare.timely_filing.near",
                f"line {line.line_number}: {(deadline - today).days} days left before the "
                "12-month Medicare filing limit", line=line.line_number,
                field="service_date_from", hint="submit this claim now"))
    return findings


# -- ABN modifiers ---------------------------------------------------------------------------------

def abn_modifier_edits(claim: BillableClaim) -> list[ClaimFinding]:
    """GA/GX/GY/GZ combinations on each line (see the module documentation for sources)."""
    findings: list[ClaimFinding] = []
    for line in claim.claim.lines:
        findings.extend(_abn_line(claim, line))
    return findings


def _abn_line(claim: BillableClaim, line: ServiceLine) -> list[ClaimFinding]:
    mods = set(line.modifiers)
    if not mods & ABN_MODIFIERS:
        return []
    n = line.line_number
    out: list[ClaimFinding] = []
    if {"GA", "GZ"} <= mods:
        out.append(finding(
            claim, Severity.ERROR, "medicare.abn.ga_gz",
            f"line {n}: GA (ABN on file) and GZ (no ABN signed) contradict each other",
            line=n, field="modifiers",
            hint="keep GA when the beneficiary signed an ABN for this service, GZ when not"))
    if "GX" in mods:
        conflicts = [m for m in _GX_FORBIDDEN if m in mods]
        if conflicts:
            out.append(finding(
                claim, Severity.ERROR, "medicare.abn.gx_conflict",
                f"line {n}: GX (voluntary ABN) with {', '.join(conflicts)} on the same line; "
                "Medicare returns such claims", line=n, field="modifiers",
                hint="GX goes with GY (statutorily excluded) only; use GA alone for a required "
                     "ABN"))
        elif "GY" not in mods:
            out.append(finding(
                claim, Severity.WARNING, "medicare.abn.gx_without_gy",
                f"line {n}: GX (voluntary ABN) without GY; a voluntary ABN is for a service "
                "Medicare never covers", line=n, field="modifiers",
                hint="add GY when the service is statutorily excluded; use GA when the ABN was "
                     "required (expected medical-necessity denial)"))
    if "GY" in mods and mods & {"GA", "GZ"}:
        both = " and ".join(sorted(mods & {"GA", "GZ"}))
        out.append(finding(
            claim, Severity.WARNING, "medicare.abn.gy_conflict",
            f"line {n}: GY (statutorily excluded) with {both} (medical-necessity liability)",
            line=n, field="modifiers",
            hint="use GY (with GX if an ABN was given voluntarily) for excluded services, GA or "
                 "GZ for expected medical-necessity denials, not both"))
    if "GZ" in mods and "GA" not in mods:
        out.append(finding(
            claim, Severity.WARNING, "medicare.abn.gz",
            f"line {n}: GZ lines are denied automatically and the beneficiary may not be billed",
            line=n, field="modifiers",
            hint="if the beneficiary signed an ABN, report GA instead"))
    return out


# -- referring provider ----------------------------------------------------------------------------

def _in_range(code: str, start: str, end: str) -> bool:
    if len(code) != len(start):
        return False
    if start.isdigit():
        if not code.isdigit():
            return False
    elif code[0] != start[0] or not code[1:].isdigit():
        return False
    return start <= code <= end


def ordered_service_kind(code: str) -> str | None:
    """What kind of always-ordered service ``code`` is, or ``None``."""
    code = code.upper()
    for start, end, kind in ORDERED_SERVICE_RANGES:
        if _in_range(code, start, end):
            return kind
    return None


def referring_provider_edit(claim: BillableClaim) -> list[ClaimFinding]:
    """Ordered services (lab, imaging, DMEPOS) need the ordering/referring provider.

    Not on an institutional claim: its attending provider (required by the core's
    institutional edits) answers for the services, and the 837I's referring provider loop
    (2310F) is sent only when another physician referred the patient."""
    if claim.referring_provider is not None or claim.claim.institutional is not None:
        return []
    ordered = [(line.line_number, line.procedure_code) for line in claim.claim.lines
               if line.procedure_code is not None and ordered_service_kind(line.procedure_code)]
    if not ordered:
        return []
    listed = ", ".join(f"{number} ({code})" for number, code in ordered[:5])
    if len(ordered) > 5:
        listed += f" and {len(ordered) - 5} more"
    only_npi = claim.claim.referring_provider_npi is not None
    message = (f"lines {listed} are ordered services and the claim has no "
               "ordering/referring provider")
    if only_npi:
        message += " (an NPI is set but not the provider's name the 837P 2310A loop needs)"
    return [finding(claim, Severity.ERROR, "medicare.referring.missing", message,
                    line=ordered[0][0], field="referring_provider",
                    hint="add the ordering/referring provider (name and NPI, enrolled in "
                         "Medicare/PECOS); Medicare denies ordered services without one")]


# -- all of them -----------------------------------------------------------------------------------

def medicare_claim_edits(claim: BillableClaim, *, today: date | None = None,
                         allow_test_mbis: bool = False,
                         timely_filing_warning_days: int = 30) -> list[ClaimFinding]:
    """Every Medicare edit on ``claim`` (see the table in the module documentation)."""
    today = today or date.today()
    edits: Sequence[list[ClaimFinding]] = (
        mbi_edit(claim, allow_test=allow_test_mbis),
        subscriber_edit(claim),
        filing_indicator_edit(claim),
        timely_filing_edit(claim, today, warning_days=timely_filing_warning_days),
        abn_modifier_edits(claim),
        referring_provider_edit(claim),
    )
    return [f for group in edits for f in group]

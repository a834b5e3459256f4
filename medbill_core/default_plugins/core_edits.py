"""Claim edits every claim gets, plus the payer adapter's own edits.

Structural rules (formats, NPI check digits, pointer ranges, line dates within
the claim's, frequency 7/8 references) are enforced by the domain model; the
edits here repeat the cheap ones defensively (a claim built with
``model_construct`` or read from an older database skips validation) and add
what needs context the model does not have: today's date, the code sets for
the date of service, the NCCI tables, the coverage, the payer.

Each edit is a small function ``edit(claim, env) -> list[ClaimFinding]``;
:data:`CORE_EDITS` lists them in the order they run. Finding codes are stable
(scripts and tests match on them); messages and hints name fields and codes,
never PHI values.

=================================  ========  ===============================================
code                               severity  when
=================================  ========  ===============================================
billing.npi_missing                error     no billing provider NPI
billing.npi_mismatch               error     claim's billing NPI is not the practice's NPI
npi.invalid                        error     an NPI fails the Luhn check (field names which)
rendering.missing                  error     the payer's adapter requires a rendering provider
rendering.unknown                  error     rendering NPI with no provider record
referring.unknown                  error     referring NPI with no provider record
provider.npi_mismatch              error     provider record's NPI differs from the claim's
diagnosis.missing                  error     no diagnosis
coverage.missing                   error     billed to a payer without a coverage
coverage.payer_mismatch            error     coverage belongs to another payer
coverage.patient_mismatch          error     coverage belongs to another patient
coverage.inactive                  error     coverage not active on a date of service
date.future                        error     a service date after today
date.before_birth                  error     a service date before the patient's birth
date.line_outside_claim            error     a line's dates fall outside the claim's
diagnosis.pointer_invalid          error     a line points past the claim's diagnoses
icd10.<reason>                     error     format, unknown, not_billable,
                                             not_yet_effective, terminated
icd10.release_gap                  warning   no loaded ICD-10-CM release covers the date
procedure.release_gap              warning   no loaded HCPCS Level II release covers the date
                                             (claims with Level II codes or modifiers)
icd10.unavailable                  warning   no ICD-10-CM data at all
procedure.<reason>                 error     HCPCS Level II / CPT (format only) for the date
modifier.<reason>                  error     modifier not valid on the date of service
modifier.repeated                  warning   a modifier appears twice on one line
line.units_not_positive            error     units are zero or negative
line.charge_not_positive           error     charge is zero or negative
line.duplicate                     warning   same code, modifiers and date as another line
pos.<reason>                       error     place of service (claim or line) not valid
timely_filing.expired              error     older than the payer's filing limit
frequency.reference_missing        error     frequency 7/8 without the original claim number
frequency.not_replacement          error     replaces a claim but frequency is 1 (original)
ncci.ptp.not_allowed               error     NCCI PTP pair, modifier indicator 0
ncci.ptp.modifier_required         error     NCCI PTP pair, indicator 1, no NCCI modifier on
                                             the column-2 line
ncci.mue.exceeded                  error     units over the MUE (per line or per day; an
                                             MUE of 0 only for Medicare/Medicaid programs)
ncci.release_gap                   warning   no loaded NCCI PTP / MUE release covers the date
=================================  ========  ===============================================

Every code-set finding names the release it was checked against (``ClaimFinding.release``),
and a date of service past the newest loaded release is a ``*.release_gap`` warning naming
the missing release and the command that loads it (:mod:`medbill_core.codesets.releases`):
the claim is still checked, against the nearest release, never passed silently.

NCCI edits run for claims billed to a payer (not self-pay); they come from the
Medicare practitioner tables, which many commercial payers apply too.

Institutional claims (UB-04 / 837I) get their own edits (:mod:`.institutional_edits`); of
the edits here, those of the professional form do not run on them: diagnosis pointers (an
institutional line has none), place of service (the type of bill says where), the rendering
provider requirement (837I has none per claim) and NCCI (the practitioner tables do not apply
to facility claims; CMS's hospital outpatient NCCI files are not shipped). Their diagnoses
are checked on the statement's last day, the date an inpatient stay is coded for, and their
timely filing counts from it.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from decimal import Decimal

from medbill_core.codesets import CodeSetError, CodeSets, Reason, Verdict, default_codesets
from medbill_core.codesets.formats import HCPCS2_RE, MODIFIER_RE, is_cpt_modifier_number
from medbill_core.codesets.ncci import (
    MueLimit,
    Ncci,
    bypasses_ptp_edit,
    default_ncci,
)
from medbill_core.codesets.releases import Coverage, ReleaseWindow, coverage, listed_releases
from medbill_core.domain import (
    BillableClaim,
    ClaimFinding,
    ClaimFrequency,
    ClaimKind,
    ServiceLine,
    Severity,
    UnitType,
)
from medbill_core.domain.identifiers import is_valid_npi as _is_valid_npi
from medbill_core.hookresults import FINDINGS
from medbill_core.hookspecs import hookimpl
from medbill_core.pluginctx import PluginContext, batch_memo

#: The Luhn check, memoised: a practice bills under a handful of NPIs.
is_valid_npi = functools.lru_cache(maxsize=4096)(_is_valid_npi)

ERROR = Severity.ERROR
WARNING = Severity.WARNING

@dataclass(frozen=True, slots=True)
class EditEnv:
    """What the edits need besides the claim.

    :ivar today: the date "future" and timely filing are measured against.
    :ivar codesets: code-set lookups (dates of service).
    :ivar ncci: NCCI tables; ``None`` turns the NCCI edits off.
    :ivar requires_rendering: the payer needs a rendering provider on every claim.
    """

    today: date
    codesets: CodeSets
    ncci: Ncci | None = None
    requires_rendering: bool = False
    #: releases of each code set, listed once per environment (see :func:`_coverage`)
    releases: dict[str, list[ReleaseWindow]] = dataclass_field(default_factory=dict,
                                                                    compare=False)
    #: the release-gap warning (None: covered) of each (code, code set, date, field, what),
    #: worked out once per environment (see :func:`_release_gap`)
    gaps: dict[tuple[str, str, date, str, str], ClaimFinding | None] = dataclass_field(
        default_factory=dict, compare=False)


Edit = Callable[[BillableClaim, EditEnv], list[ClaimFinding]]


def _finding(claim: BillableClaim, severity: Severity, code: str, message: str, *,
             line: int | None = None, field: str | None = None,
             hint: str | None = None, release: str | None = None) -> ClaimFinding:
    return ClaimFinding(severity=severity, code=code, message=message,
                        claim_number=claim.claim.claim_number, line_number=line, field=field,
                        fix_hint=hint, source="core", release=release or None)


def _institutional(claim: BillableClaim) -> bool:
    """An institutional claim: the professional form's edits skip it (module docstring)."""
    return claim.claim.kind is ClaimKind.INSTITUTIONAL


def _coverage(env: EditEnv, key: str, on: date) -> Coverage:
    """Which release of code set ``key`` governs ``on`` (release lists read once per env)."""
    found = env.releases.get(key)
    if found is None:
        found = env.releases[key] = listed_releases(key, env.codesets.data_dir)
    return coverage(key, on, releases=found)


def _release_gap(claim: BillableClaim, env: EditEnv, code: str, key: str, on: date, *,
                 field: str, what: str) -> list[ClaimFinding]:
    """A ``*.release_gap`` warning when no loaded release of ``key`` covers ``on``: it names
    the missing release, the one the claim was checked against, and how to load it.

    The warning depends on the claim only through its number: it is worked out once per
    environment and date, and copied for the other claims of a batch."""
    memo = (code, key, on, field, what)
    if memo in env.gaps:
        found = env.gaps[memo]
        if found is None:
            return []
        return [found.model_copy(update={"claim_number": claim.claim.claim_number})]
    cov = _coverage(env, key, on)
    if cov.covered:
        env.gaps[memo] = None
        return []
    used = (f"{what} were checked against {cov.release.label}"
            f" ({cov.release.effective}..{cov.release.through or ''})" if cov.release
            else f"{what} were not checked")
    finding = _finding(claim, WARNING, code,
                       f"date of service {on}: {cov.wanted} is not loaded; {used}",
                       field=field, hint=cov.how_to_load, release=cov.release_label)
    env.gaps[memo] = finding
    return [finding.model_copy()]


_CODE_HINTS = {
    Reason.FORMAT: "correct the code's format",
    Reason.UNKNOWN: "check the code; if it is newer than the loaded code set, load its current"
                    " release with `medbill codes update FILE...`",
    Reason.NOT_BILLABLE: "use a more specific (billable) code",
    Reason.UNASSIGNED: "use an assigned code",
    Reason.NOT_YET_EFFECTIVE: "use the code that was valid on the date of service",
    Reason.TERMINATED: "use the code that replaced it on the date of service",
}


def _verdict_finding(claim: BillableClaim, prefix: str, verdict: Verdict, *, field: str,
                     line: int | None = None) -> ClaimFinding:
    return _finding(claim, ERROR, f"{prefix}.{verdict.reason.value}", verdict.message,
                    line=line, field=field, hint=_CODE_HINTS.get(verdict.reason),
                    release=verdict.release)


def _units(value: Decimal) -> str:
    return f"{value.normalize():f}"


# -- required data and providers -------------------------------------------------------------

def required_data(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Billing NPI, rendering NPI (when the payer requires it), diagnoses, coverage."""
    c = claim.claim
    findings = []
    if not c.billing_provider_npi:
        findings.append(_finding(claim, ERROR, "billing.npi_missing",
                                 "billing provider NPI is missing", field="billing_provider_npi",
                                 hint="set the practice's NPI as billing provider"))
    if env.requires_rendering and not c.rendering_provider_npi and not _institutional(claim):
        payer = claim.payer.key if claim.payer else "the payer"
        findings.append(_finding(claim, ERROR, "rendering.missing",
                                 f"payer {payer} requires a rendering provider",
                                 field="rendering_provider_npi",
                                 hint="add the NPI of the provider who performed the services"))
    if not c.diagnoses:
        findings.append(_finding(claim, ERROR, "diagnosis.missing", "the claim has no diagnosis",
                                 field="diagnoses", hint="add at least one ICD-10-CM diagnosis"))
    if c.payer_key is not None and (claim.coverage is None or claim.payer is None):
        findings.append(_finding(claim, ERROR, "coverage.missing",
                                 f"billed to payer {c.payer_key} without a coverage",
                                 field="coverage_id",
                                 hint="attach the patient's coverage with this payer, or bill"
                                      " as self-pay"))
    return findings


def billing_provider(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """The claim's billing NPI is the practice's (the 837P bills under the practice)."""
    npi = claim.claim.billing_provider_npi
    if npi and npi != claim.practice.npi:
        return [_finding(claim, ERROR, "billing.npi_mismatch",
                         "billing provider NPI is not the practice's NPI",
                         field="billing_provider_npi",
                         hint="bill under the configured practice NPI ([practice] npi)")]
    return []


def provider_npis(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Luhn check on every NPI; rendering/referring NPIs have a matching provider record."""
    c = claim.claim
    findings = []
    npis = {"billing_provider_npi": c.billing_provider_npi,
            "rendering_provider_npi": c.rendering_provider_npi,
            "referring_provider_npi": c.referring_provider_npi,
            "practice.npi": claim.practice.npi,
            "rendering_provider.npi": claim.rendering_provider.npi
            if claim.rendering_provider else None,
            "referring_provider.npi": claim.referring_provider.npi
            if claim.referring_provider else None}
    for field, npi in npis.items():
        if npi and not is_valid_npi(npi):
            findings.append(_finding(claim, ERROR, "npi.invalid",
                                     f"{field} {npi} fails the NPI check digit", field=field,
                                     hint="correct the NPI (10 digits, Luhn check over 80840 +"
                                          " the first nine)"))
    for role, npi, provider in (
            ("rendering", c.rendering_provider_npi, claim.rendering_provider),
            ("referring", c.referring_provider_npi, claim.referring_provider)):
        if not npi:
            continue
        if provider is None:
            findings.append(_finding(claim, ERROR, f"{role}.unknown",
                                     f"{role} provider NPI {npi} has no provider record",
                                     field=f"{role}_provider_npi",
                                     hint=f"add the {role} provider (name, NPI) before billing"))
        elif provider.npi != npi:
            findings.append(_finding(claim, ERROR, "provider.npi_mismatch",
                                     f"the {role} provider record's NPI differs from the claim's",
                                     field=f"{role}_provider_npi",
                                     hint=f"attach the {role} provider with NPI {npi}"))
    return findings


# -- dates and coverage ----------------------------------------------------------------------

def service_dates(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """No future dates, none before the patient's birth, lines within the claim's dates."""
    c = claim.claim
    findings = []
    if c.service_date_to > env.today:
        findings.append(_finding(claim, ERROR, "date.future", "service date is in the future",
                                 field="service_date_to",
                                 hint="bill services only after they were rendered"))
    if c.service_date_from < claim.patient.birth_date:
        findings.append(_finding(claim, ERROR, "date.before_birth",
                                 "service date is before the patient's date of birth",
                                 field="service_date_from",
                                 hint="check the date of service and the patient's birth date"))
    for line in c.lines:
        if line.service_date_from < c.service_date_from or \
                line.last_service_date > c.service_date_to:
            findings.append(_finding(claim, ERROR, "date.line_outside_claim",
                                     f"line {line.line_number}: service dates fall outside the"
                                     " claim's dates", line=line.line_number,
                                     field="service_date_from",
                                     hint="correct the line dates or the claim's dates"))
    return findings


def coverage_active(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """The coverage is this payer's and this patient's, and active on every date of service."""
    coverage = claim.coverage
    c = claim.claim
    if coverage is None:
        return []
    findings = []
    if c.payer_key is not None and coverage.payer_key != c.payer_key:
        findings.append(_finding(claim, ERROR, "coverage.payer_mismatch",
                                 f"coverage {coverage.id} is with another payer than"
                                 f" {c.payer_key}", field="coverage_id",
                                 hint="attach the coverage with the payer being billed"))
    if coverage.patient_id is not None and coverage.patient_id != c.patient_id:
        findings.append(_finding(claim, ERROR, "coverage.patient_mismatch",
                                 f"coverage {coverage.id} belongs to another patient",
                                 field="coverage_id", hint="attach this patient's coverage"))
    if not coverage.is_active_on(c.service_date_from):
        findings.append(_finding(claim, ERROR, "coverage.inactive",
                                 f"coverage {coverage.id} is not active on the date of service",
                                 field="coverage_id",
                                 hint="verify eligibility or bill another coverage"))
        return findings
    for line in c.lines:
        if not (coverage.is_active_on(line.service_date_from)
                and coverage.is_active_on(line.last_service_date)):
            findings.append(_finding(claim, ERROR, "coverage.inactive",
                                     f"coverage {coverage.id} is not active on line"
                                     f" {line.line_number}'s date of service",
                                     line=line.line_number, field="service_date_from",
                                     hint="bill these services to the coverage active on"
                                          " their date"))
    return findings


def timely_filing(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    payer = claim.payer
    if payer is None:
        return []
    # an institutional claim's span is timed from its "through" date (CMS Pub. 100-04 ch. 1
    # section 70.1): a long stay is not late for having begun long ago
    start = claim.claim.service_date_to if _institutional(claim) \
        else claim.claim.service_date_from
    age = (env.today - start).days
    if age > payer.timely_filing_days:
        return [_finding(claim, ERROR, "timely_filing.expired",
                         f"{age} days since the date of service; payer {payer.key} accepts "
                         f"{payer.timely_filing_days}",
                         field="service_date_to" if _institutional(claim) else
                         "service_date_from",
                         hint="attach proof of timely filing or write the charge off")]
    return []


def frequency(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """A replacement/void carries the payer's claim number; a claim replacing another says so."""
    c = claim.claim
    if c.frequency is not ClaimFrequency.ORIGINAL and not c.original_claim_reference:
        return [_finding(claim, ERROR, "frequency.reference_missing",
                         f"frequency {c.frequency.value} (replacement/void) without the original"
                         " claim's payer claim number", field="original_claim_reference",
                         hint="enter the payer claim control number of the claim replaced")]
    if c.replaces_claim_id is not None and c.frequency is ClaimFrequency.ORIGINAL:
        return [_finding(claim, ERROR, "frequency.not_replacement",
                         f"the claim replaces claim {c.replaces_claim_id} but its frequency is 1"
                         " (original): the payer would see a duplicate", field="frequency",
                         hint="set frequency 7 (replacement) or 8 (void) and the original"
                              " claim reference")]
    return []


# -- diagnoses ---------------------------------------------------------------------------------

def diagnosis_pointers(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    if _institutional(claim):  # SV2 lines point at no diagnosis
        return []
    count = len(claim.claim.diagnoses)
    findings = []
    for line in claim.claim.lines:
        bad = [p for p in line.diagnosis_pointers if not 1 <= p <= count]
        if bad or not line.diagnosis_pointers:
            findings.append(_finding(
                claim, ERROR, "diagnosis.pointer_invalid",
                f"line {line.line_number}: diagnosis pointer"
                f" {', '.join(map(str, bad)) or '(none)'} does not point to one of the"
                f" {count} diagnoses", line=line.line_number, field="diagnosis_pointers",
                hint="point each line to 1-4 of the claim's diagnoses"))
    return findings


def diagnosis_codes(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """ICD-10-CM codes valid and billable on the date of service: the claim's first date, or
    an institutional claim's last (a stay is coded with the release of its discharge)."""
    on = claim.claim.service_date_to if _institutional(claim) else claim.claim.service_date_from
    try:
        release = env.codesets.icd10cm_release(on)
        verdicts = [env.codesets.icd10cm(code, on) for code in claim.claim.diagnoses]
    except CodeSetError as exc:
        return [_finding(claim, WARNING, "icd10.unavailable",
                         f"diagnoses not checked: {exc.message}", field="diagnoses",
                         hint="install simple-icd-10-cm or load a release with"
                              " `medbill codes load icd10cm FILE`")]
    findings = [_verdict_finding(claim, "icd10", v, field=f"diagnoses[{index}]")
                for index, v in enumerate(verdicts) if not v.ok]
    if not release.covers(on):
        findings.extend(_release_gap(claim, env, "icd10.release_gap", "icd10cm", on,
                                     field="diagnoses", what="diagnoses"))
    return findings


# -- lines: codes, modifiers, units, place of service ----------------------------------------

def _line_dates(line: ServiceLine) -> tuple[date, ...]:
    if line.service_date_to and line.service_date_to != line.service_date_from:
        return (line.service_date_from, line.service_date_to)
    return (line.service_date_from,)


def procedure_codes(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """HCPCS Level II from the code set for the date of service; CPT by format. A claim
    with Level II codes or modifiers past the newest HCPCS release gets one gap warning."""
    findings = []
    level_2_dates: set[date] = set()
    for line in claim.claim.lines:
        if line.procedure_code is None:  # an institutional line with only a revenue code
            continue
        if HCPCS2_RE.match(line.procedure_code) or any(
                MODIFIER_RE.match(m) and not is_cpt_modifier_number(m) for m in line.modifiers):
            level_2_dates.update(_line_dates(line))
        for on in _line_dates(line):
            verdict = env.codesets.hcpcs(line.procedure_code, on)
            if not verdict.ok:
                findings.append(_verdict_finding(claim, "procedure", verdict,
                                                 field="procedure_code", line=line.line_number))
                break
    if level_2_dates:
        findings.extend(_release_gap(claim, env, "procedure.release_gap", "hcpcs",
                                     max(level_2_dates), field="procedure_code",
                                     what="HCPCS Level II codes and modifiers"))
    return findings


def modifiers(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    findings = []
    for line in claim.claim.lines:
        seen: set[str] = set()
        for index, modifier in enumerate(line.modifiers):
            if modifier in seen:
                findings.append(_finding(claim, WARNING, "modifier.repeated",
                                         f"line {line.line_number}: modifier {modifier} is"
                                         " repeated", line=line.line_number,
                                         field=f"modifiers[{index}]",
                                         hint="report each modifier once"))
                continue
            seen.add(modifier)
            verdict = env.codesets.modifier(modifier, line.service_date_from)
            if not verdict.ok:
                findings.append(_verdict_finding(claim, "modifier", verdict,
                                                 field=f"modifiers[{index}]",
                                                 line=line.line_number))
    return findings


def units_and_charges(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    findings = []
    for line in claim.claim.lines:
        if not line.units > 0:
            findings.append(_finding(claim, ERROR, "line.units_not_positive",
                                     f"line {line.line_number}: units must be positive",
                                     line=line.line_number, field="units",
                                     hint="enter the number of units rendered"))
        if not line.charge > 0:
            findings.append(_finding(claim, ERROR, "line.charge_not_positive",
                                     f"line {line.line_number}: charge must be positive",
                                     line=line.line_number, field="charge",
                                     hint="enter the practice's charge for the service"))
    return findings


def duplicate_lines(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    seen: dict[tuple[object, ...], int] = {}
    findings = []
    for line in claim.claim.lines:
        key = (line.revenue_code, line.procedure_code, tuple(line.modifiers),
               line.service_date_from)
        if key in seen:
            findings.append(_finding(
                claim, WARNING, "line.duplicate",
                f"line {line.line_number} repeats line {seen[key]} (same code, modifiers, date)",
                line=line.line_number, field="procedure_code",
                hint="combine units on one line or add a distinguishing modifier (76, 91, 59)"))
        else:
            seen[key] = line.line_number
    return findings


def place_of_service(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    if _institutional(claim):  # not sent on an 837I: the type of bill says where
        return []
    c = claim.claim
    findings = []
    verdict = env.codesets.place_of_service(c.place_of_service, c.service_date_from)
    if not verdict.ok:
        findings.append(_verdict_finding(claim, "pos", verdict, field="place_of_service"))
    for line in c.lines:
        if line.place_of_service and line.place_of_service != c.place_of_service:
            verdict = env.codesets.place_of_service(line.place_of_service,
                                                    line.service_date_from)
            if not verdict.ok:
                findings.append(_verdict_finding(claim, "pos", verdict,
                                                 field="place_of_service",
                                                 line=line.line_number))
    return findings


# -- NCCI ------------------------------------------------------------------------------------

def _by_date(lines: Sequence[ServiceLine]) -> dict[date, list[ServiceLine]]:
    groups: dict[date, list[ServiceLine]] = defaultdict(list)
    for line in lines:
        groups[line.service_date_from].append(line)
    return groups


def ncci_ptp(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """NCCI procedure-to-procedure pairs billed on the same date of service."""
    if env.ncci is None or claim.payer is None or len(claim.claim.lines) < 2 \
            or _institutional(claim):
        return []
    findings = []
    coded = [line for line in claim.claim.lines if line.procedure_code is not None]
    for on, lines in _by_date(coded).items():
        if len(lines) < 2:
            continue
        table = env.ncci.ptp_for(on)  # the quarter's release governing this date of service
        for edit in table.edits_among([line.procedure_code for line in lines
                                       if line.procedure_code is not None], on):
            firsts = [line for line in lines if line.procedure_code == edit.column_1]
            for line in lines:
                if line.procedure_code != edit.column_2:
                    continue
                pair = (f"{edit.column_2} (line {line.line_number}) with {edit.column_1}"
                        f" (line {firsts[0].line_number}) on {on}")
                why = f"{edit.rationale}; {table.label}" if edit.rationale else table.label
                if not edit.modifier_allowed:
                    findings.append(_finding(
                        claim, ERROR, "ncci.ptp.not_allowed",
                        f"{pair}: NCCI PTP edit, modifier indicator 0, no modifier allows"
                        f" both ({why})", line=line.line_number, field="procedure_code",
                        hint=f"remove line {line.line_number}: {edit.column_2} is not"
                             f" separately payable with {edit.column_1}",
                        release=table.label))
                elif not bypasses_ptp_edit(line.modifiers,
                                           [m for first in firsts for m in first.modifiers]):
                    findings.append(_finding(
                        claim, ERROR, "ncci.ptp.modifier_required",
                        f"{pair}: NCCI PTP edit, modifier indicator 1, and no NCCI-associated"
                        f" modifier on the column-2 line ({why})",
                        line=line.line_number, field="modifiers", release=table.label,
                        hint=f"if the services were distinct (other site, session or"
                             f" encounter), add 59/XE/XS/XP/XU, an anatomic modifier, or 25"
                             f" on an E/M to line {line.line_number}; otherwise remove it"))
    return findings


def ncci_mue(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Medically unlikely edits: units per line (MAI 1) or per date of service (MAI 2, 3).

    Anesthesia minutes are not counted. A line spanning several days may carry the
    MUE once per day of its span. An MUE of 0 (a code Medicare does not pay to
    practitioners, e.g. preventive visits) makes the code unpayable only for payers whose
    program says so (:attr:`~medbill_core.domain.PayerProgram.zero_mue_not_payable`: Medicare
    and Medicaid; a payer's ``program`` setting, else its claim filing indicator).
    """
    if env.ncci is None or claim.payer is None or _institutional(claim):
        return []
    zero_not_payable = claim.payer.effective_program.zero_mue_not_payable
    findings = []
    per_day: dict[tuple[str, date], list[ServiceLine]] = defaultdict(list)
    for line in claim.claim.lines:
        # the quarter's release governing the line's (first) date of service
        if line.procedure_code is None:  # revenue code only: no MUE applies
            continue
        table = env.ncci.mue_for(line.service_date_from)
        limit = table.get(line.procedure_code)
        if limit is None or line.unit_type is UnitType.MINUTES or (
                limit.value == 0 and not zero_not_payable):
            continue
        days = (line.last_service_date - line.service_date_from).days + 1
        if limit.per_line or days > 1:
            if line.units > limit.value * days:
                span = f"line {line.line_number}" + (f" ({days} days)" if days > 1 else "")
                findings.append(_mue_finding(claim, limit, line.units, span, [line],
                                             table.label))
        else:
            per_day[(line.procedure_code, line.service_date_from)].append(line)
    for (code, on), lines in per_day.items():
        table = env.ncci.mue_for(on)
        limit = table[code]
        units = sum((line.units for line in lines), Decimal(0))
        if units > limit.value:
            where = f"{on} (line{'s' if len(lines) > 1 else ''} "\
                    f"{', '.join(str(line.line_number) for line in lines)})"
            findings.append(_mue_finding(claim, limit, units, where, lines, table.label))
    return findings


def _mue_finding(claim: BillableClaim, limit: MueLimit, units: Decimal, where: str,
                 lines: Sequence[ServiceLine], label: str) -> ClaimFinding:
    if limit.per_line:
        hint = ("correct the units; if more were medically necessary, report them on another"
                " line with an appropriate modifier (76, 77, 91 or anatomic)")
    elif limit.adjudication == 2:
        hint = "correct the units: units above a policy MUE (MAI 2) are not payable"
    else:
        hint = ("correct the units; units above a clinical MUE (MAI 3) are denied and may be"
                " appealed with documentation")
    return _finding(claim, ERROR, "ncci.mue.exceeded",
                    f"{limit.code}: {_units(units)} units on {where}, over the MUE of"
                    f" {limit.value} {limit.adjudication_text}",
                    line=lines[-1].line_number, field="units", hint=hint, release=label)


def ncci_releases(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """A gap warning per NCCI table (PTP, MUE) with no loaded release for the claim's last
    date of service (the edits above then ran against the nearest release)."""
    if env.ncci is None or claim.payer is None or not claim.claim.lines \
            or _institutional(claim):
        return []
    on = max(line.service_date_from for line in claim.claim.lines)
    findings = []
    if len(claim.claim.lines) > 1:
        findings.extend(_release_gap(claim, env, "ncci.release_gap", "ncci-ptp", on,
                                     field="procedure_code", what="NCCI PTP pairs"))
    findings.extend(_release_gap(claim, env, "ncci.release_gap", "ncci-mue", on,
                                 field="units", what="units (MUEs)"))
    return findings


#: The core edits in the order they run (name, function).
CORE_EDITS: tuple[tuple[str, Edit], ...] = (
    ("required_data", required_data),
    ("billing_provider", billing_provider),
    ("provider_npis", provider_npis),
    ("service_dates", service_dates),
    ("coverage_active", coverage_active),
    ("timely_filing", timely_filing),
    ("frequency", frequency),
    ("diagnosis_pointers", diagnosis_pointers),
    ("diagnosis_codes", diagnosis_codes),
    ("procedure_codes", procedure_codes),
    ("modifiers", modifiers),
    ("units_and_charges", units_and_charges),
    ("duplicate_lines", duplicate_lines),
    ("place_of_service", place_of_service),
    ("ncci_ptp", ncci_ptp),
    ("ncci_mue", ncci_mue),
    ("ncci_releases", ncci_releases),
)


def run_core_edits(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Every core edit on ``claim``."""
    findings: list[ClaimFinding] = []
    for _, edit in CORE_EDITS:
        findings.extend(edit(claim, env))
    return findings


def environment(claim: BillableClaim, context: PluginContext) -> EditEnv:
    """The edit environment for ``claim``: today, the default code sets and NCCI tables,
    and whether the payer's adapter declares
    :attr:`~medbill_core.adapters.PayerAdapter.requires_rendering_provider`.

    Inside a :func:`~medbill_core.pluginctx.batch_scope` (a scrub batch) the claims with the
    same answers share one environment, and with it the code-set release lists and the
    release-gap warnings it has worked out; otherwise each claim gets its own."""
    adapter = context.adapters.get(claim.payer.adapter) if claim.payer else None
    today = date.today()
    codesets, ncci = default_codesets(), default_ncci()
    requires_rendering = adapter is not None and adapter.requires_rendering_provider
    shared = batch_memo()
    if shared is None:
        return EditEnv(today=today, codesets=codesets, ncci=ncci,
                       requires_rendering=requires_rendering)
    memo = ("core_edits.environment", today, id(codesets), id(ncci), requires_rendering)
    env = shared.get(memo)
    if not (isinstance(env, EditEnv) and env.codesets is codesets and env.ncci is ncci):
        env = shared[memo] = EditEnv(today=today, codesets=codesets, ncci=ncci,
                                     requires_rendering=requires_rendering)
    return env


@hookimpl
def medbill_claim_edits(claim: BillableClaim, context: PluginContext) -> Sequence[ClaimFinding]:
    findings = run_core_edits(claim, environment(claim, context))
    if claim.payer is not None and claim.payer.adapter in context.adapters:
        findings.extend(context.call(context.adapters[claim.payer.adapter], "claim_edits", claim,
                                     expected=FINDINGS))
    return findings

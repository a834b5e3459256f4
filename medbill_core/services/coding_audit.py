"""Coding audit: how each provider codes, and samples of claims for internal review.

The report (:func:`coding_report`) looks at the *coded encounters* the filters select (date
of service, provider, payer): each claim sent (or to be sent) to the encounter's first payer
— an original, or the replacement that took its place. Secondary payers' claims repeat the
same coding and voided, replaced and deleted claims no longer stand, so they are left out, as
are institutional (facility) claims: a UB-04 is not a provider's E/M coding. A claim belongs
to its rendering provider, else to its billing provider.

Per provider, beside the practice:

* **E/M level distribution** by family (:data:`EM_FAMILIES`), each level's count and share
  beside the reference distribution. No public CMS utilisation figures by specialty are
  shipped (none could be obtained where this was built), so the reference is the practice's
  own distribution: every provider's coded encounters under the same date and payer filters,
  pooled. An outlier is flagged by :func:`outlier_flag` (the rule is in :data:`OUTLIER_RULE`).
* **Modifier usage rates**: modifier 25 over E/M lines, 59 and X{EPSU} over all lines.
* **NCCI edits bypassed by a modifier**: PTP pairs with modifier indicator 1 billed on one
  date of service whose column-2 line carries an NCCI-associated modifier
  (:func:`medbill_core.codesets.ncci.bypasses_ptp_edit`), by pair. Claims billed to a payer
  only, as the scrubber's NCCI edits.

The **denial rate by procedure code** (of the selected provider, or the practice) over every
payer's standing 835 answer to the selected claims, secondary payers' claims included.

The review sample (:func:`create_sample`) draws ``per_provider`` claims per provider with a
seeded generator over a stable order, so the same seed and data give the same sample; a
reviewer records a finding per claim (:func:`record_finding`; a corrected code must be a
HCPCS/CPT code valid on the claim's date of service, judged as the scrubber judges a line's
code) and the accuracy rate per provider is agreed / reviewed (:func:`accuracy`). Creating
a sample and every finding are audited (ids, codes and the finding only: the reviewer's note
may hold PHI).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple, Protocol

from sqlalchemy import case, or_, select
from sqlalchemy.orm import aliased, selectinload

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.domain import ClaimFrequency, ClaimKind, ClaimState, ClaimStatusCode, Practice
from medbill_core.domain.identifiers import is_valid_npi
from medbill_core.errors import ConfigurationError, NotFound, UnknownPayer, ValidationFailed
from medbill_core.permissions import Action
from medbill_core.services.posting_rules import denial_codes
from medbill_core.services.practices import practice_profile
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimLineRow,
    ClaimRow,
    CodingAuditClaimRow,
    CodingAuditSampleRow,
    ProviderRow,
    local_day,
    utcnow,
)

# -- the rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmFamily:
    """E/M codes compared with each other: one kind of visit, by level (lowest first)."""

    key: str
    label: str
    codes: tuple[str, ...]


#: The E/M families the report compares levels within (CPT, levels in ascending order).
EM_FAMILIES: tuple[EmFamily, ...] = (
    EmFamily("office_new", "office or outpatient visit, new patient",
             ("99202", "99203", "99204", "99205")),
    EmFamily("office_established", "office or outpatient visit, established patient",
             ("99211", "99212", "99213", "99214", "99215")),
    EmFamily("hospital_initial", "hospital inpatient or observation care, initial",
             ("99221", "99222", "99223")),
    EmFamily("hospital_subsequent", "hospital inpatient or observation care, subsequent",
             ("99231", "99232", "99233")),
    EmFamily("emergency", "emergency department visit",
             ("99281", "99282", "99283", "99284", "99285")),
)
_FAMILY_OF = {code: family for family in EM_FAMILIES for code in family.codes}

#: Lines that may carry modifier 25: the CPT E/M section (99202-99499).
EM_SECTION = ("99202", "99499")
X_MODIFIERS = ("XE", "XP", "XS", "XU")

#: The outlier rule's fixed numbers: how many of the family's visits a provider must have,
#: and by how many percentage points the share of the top two levels must differ.
MIN_VISITS = 10
MARGIN_POINTS = 15
OUTLIER_RULE = (
    f"flagged when the provider has at least {MIN_VISITS} visits of the family and the share "
    f"of its two highest levels is more than {MARGIN_POINTS} percentage points above "
    "('high') or below ('low') the reference's share")
REFERENCE_KIND = "practice average"


class Finding(StrEnum):
    """A reviewer's finding on a sampled claim."""

    AGREE = "agree"
    CHANGE_CODE = "change_code"
    DOCUMENTATION_MISSING = "documentation_missing"


NOTE_MAX = 500
MAX_PER_PROVIDER = 1000
_NOT_STANDING = (ClaimState.DELETED.value, ClaimState.REPLACED.value, ClaimState.VOIDED.value)
_CHUNK = 500
#: claims the report and the sample read at once
_PAGE = 500


def is_em(code: str) -> bool:
    """A CPT E/M code (99202-99499): the lines modifier 25 may go on."""
    return len(code) == 5 and code.isdigit() and EM_SECTION[0] <= code <= EM_SECTION[1]


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, to one decimal place (half even); None of nothing."""
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


def outlier_flag(counts: Counter[str], reference: Counter[str], family: EmFamily) -> str | None:
    """The outlier rule (:data:`OUTLIER_RULE`): ``"high"`` when the provider's share of the
    family's two highest levels is more than :data:`MARGIN_POINTS` percentage points above the
    reference's, ``"low"`` when as far below, ``None`` otherwise or when the provider has
    fewer than :data:`MIN_VISITS` visits of the family. Shares are compared exactly (not the
    rounded percentages shown)."""
    total = sum(counts[code] for code in family.codes)
    reference_total = sum(reference[code] for code in family.codes)
    if total < MIN_VISITS or reference_total == 0:
        return None
    top = family.codes[-2:]
    share = Fraction(sum(counts[code] for code in top), total)
    reference_share = Fraction(sum(reference[code] for code in top), reference_total)
    difference = (share - reference_share) * 100
    if difference > MARGIN_POINTS:
        return "high"
    if difference < -MARGIN_POINTS:
        return "low"
    return None


# -- what the report holds ---------------------------------------------------------------------

@dataclass(frozen=True)
class LevelShare:
    code: str
    count: int
    percent: Decimal | None
    reference_count: int
    reference_percent: Decimal | None

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "count": self.count, "percent": _text(self.percent),
                "reference_count": self.reference_count,
                "reference_percent": _text(self.reference_percent)}


@dataclass(frozen=True)
class FamilyDistribution:
    family: EmFamily
    visits: int
    reference_visits: int
    levels: tuple[LevelShare, ...]
    top_two_percent: Decimal | None
    reference_top_two_percent: Decimal | None
    flag: str | None

    def as_json(self) -> dict[str, Any]:
        return {"family": self.family.key, "label": self.family.label, "visits": self.visits,
                "reference_visits": self.reference_visits,
                "levels": [level.as_json() for level in self.levels],
                "top_two_percent": _text(self.top_two_percent),
                "reference_top_two_percent": _text(self.reference_top_two_percent),
                "flag": self.flag}


@dataclass(frozen=True)
class ModifierRate:
    #: ``25``, ``59`` or ``X{EPSU}``
    modifier: str
    #: what the rate is over: ``E/M lines`` or ``all lines``
    over: str
    lines: int
    eligible: int
    percent: Decimal | None
    practice_lines: int
    practice_eligible: int
    practice_percent: Decimal | None

    def as_json(self) -> dict[str, Any]:
        return {"modifier": self.modifier, "over": self.over, "lines": self.lines,
                "eligible_lines": self.eligible, "percent": _text(self.percent),
                "practice_lines": self.practice_lines,
                "practice_eligible_lines": self.practice_eligible,
                "practice_percent": _text(self.practice_percent)}


@dataclass(frozen=True)
class BypassedPair:
    column_1: str
    column_2: str
    #: the NCCI-associated modifiers on the column-2 lines that bypassed the edit
    modifiers: tuple[str, ...]
    count: int

    def as_json(self) -> dict[str, Any]:
        return {"column_1": self.column_1, "column_2": self.column_2,
                "modifiers": list(self.modifiers), "count": self.count}


@dataclass(frozen=True)
class ProviderCoding:
    npi: str
    name: str
    claims: int
    lines: int
    families: tuple[FamilyDistribution, ...]
    modifiers: tuple[ModifierRate, ...]
    bypassed: tuple[BypassedPair, ...]

    @property
    def bypass_count(self) -> int:
        return sum(pair.count for pair in self.bypassed)

    @property
    def flags(self) -> list[str]:
        return [f"{f.family.key}: {f.flag}" for f in self.families if f.flag]

    def as_json(self) -> dict[str, Any]:
        return {"npi": self.npi, "name": self.name, "claims": self.claims, "lines": self.lines,
                "em_levels": [family.as_json() for family in self.families],
                "modifiers": [rate.as_json() for rate in self.modifiers],
                "ncci_bypassed": self.bypass_count,
                "ncci_bypassed_pairs": [pair.as_json() for pair in self.bypassed],
                "flags": self.flags}


@dataclass(frozen=True)
class DenialRate:
    code: str
    adjudicated: int
    denied: int
    percent: Decimal | None
    #: ``GROUP-CARC`` of the denied lines, most frequent first, with their counts
    top_carcs: tuple[tuple[str, int], ...]

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "adjudicated_lines": self.adjudicated,
                "denied_lines": self.denied, "percent": _text(self.percent),
                "top_carcs": [{"code": code, "lines": count} for code, count in self.top_carcs]}


@dataclass(frozen=True)
class CodingReport:
    date_from: date | None
    date_to: date | None
    payer_key: str | None
    provider_npi: str | None
    #: the coded encounters of every provider under the date and payer filters
    reference_claims: int
    providers: tuple[ProviderCoding, ...]
    denials: tuple[DenialRate, ...]
    reference_kind: str = REFERENCE_KIND
    outlier_rule: str = OUTLIER_RULE

    @property
    def reference(self) -> str:
        return f"reference: {self.reference_kind}, {self.reference_claims} claims"

    def as_json(self) -> dict[str, Any]:
        return {"from": _iso(self.date_from), "to": _iso(self.date_to),
                "payer": self.payer_key, "provider": self.provider_npi,
                "reference": {"kind": self.reference_kind, "claims": self.reference_claims,
                              "text": self.reference},
                "outlier_rule": self.outlier_rule,
                "providers": [provider.as_json() for provider in self.providers],
                "denials_by_code": [rate.as_json() for rate in self.denials]}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# -- selecting the coded encounters ------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilters:
    """Which coded encounters: dates of service (inclusive), rendering provider, payer."""

    date_from: date | None = None
    date_to: date | None = None
    provider_npi: str | None = None
    payer_key: str | None = None


def check_filters(work: UnitOfWork, filters: AuditFilters) -> None:
    """Refuse filters that cannot select anything meaningful, naming the option.

    :raises ValidationFailed: the dates are reversed or the NPI is malformed.
    :raises UnknownPayer: the payer is not configured.
    :raises NotFound: no registered provider and no claim has the NPI.
    """
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ValidationFailed("coding audit", [("--from", "is after --to")])
    if filters.payer_key is not None and filters.payer_key not in work.app.config.payers:
        raise UnknownPayer(filters.payer_key)
    npi = filters.provider_npi
    if npi is None:
        return
    if not is_valid_npi(npi):
        raise ValidationFailed("coding audit", [("--provider", "is not a valid NPI (10 "
                                                 "digits with a valid check digit)")])
    known = work.session.scalar(select(ProviderRow.id).where(ProviderRow.npi == npi)) or \
        work.session.scalar(select(ClaimRow.id).where(or_(
            ClaimRow.rendering_provider_npi == npi, ClaimRow.billing_provider_npi == npi))
            .limit(1))
    if not known:
        raise NotFound("provider", npi)


class _ProviderColumns(Protocol):
    @property
    def rendering_provider_npi(self) -> str | None: ...

    @property
    def billing_provider_npi(self) -> str: ...


def provider_of(claim: _ProviderColumns) -> str:
    """The NPI a claim's coding is audited under: rendering, else billing provider (of a claim
    row, or of a row of its columns)."""
    return claim.rendering_provider_npi or claim.billing_provider_npi


def _encounters_query(filters: AuditFilters, *columns: Any, first_payer_only: bool) -> Any:
    """``columns`` of the standing claims under the date and payer filters (not the provider
    filter: it applies to what is read); ``first_payer_only``: only the coded encounters. The
    column ``first_payer`` says whether a claim is one (module docstring)."""
    root = aliased(ClaimRow)
    # the encounter's first payer: its own account, or a replacement to the payer of the
    # account's first claim (a secondary claim bills another payer)
    first_payer = or_(
        ClaimRow.account_claim_id.is_(None),
        (ClaimRow.frequency == ClaimFrequency.REPLACEMENT.value)
        & ((root.payer_key == ClaimRow.payer_key)
           | (root.payer_key.is_(None) & ClaimRow.payer_key.is_(None))))
    query = (select(*columns, case((first_payer, True), else_=False).label("first_payer"))
             .outerjoin(root, root.id == ClaimRow.account_claim_id)
             .where(ClaimRow.state.not_in(_NOT_STANDING),
                    ClaimRow.frequency != ClaimFrequency.VOID.value,
                    ClaimRow.kind == ClaimKind.PROFESSIONAL.value))
    if first_payer_only:
        query = query.where(first_payer)
    if filters.date_from is not None:
        query = query.where(ClaimRow.service_date_from >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(ClaimRow.service_date_from <= filters.date_to)
    if filters.payer_key is not None:
        query = query.where(ClaimRow.payer_key == filters.payer_key)
    return query


def _pages(work: UnitOfWork, query: Any, key: Any) -> Iterator[list[Any]]:
    """The rows of ``query`` ordered by ``key`` (a unique column it selects), :data:`_PAGE` at
    a time: what the audit reads at once stays bounded however many claims there are."""
    last = None
    while True:
        page_query = query.order_by(key).limit(_PAGE)
        if last is not None:
            page_query = page_query.where(key > last)
        rows = list(work.session.execute(page_query))
        if not rows:
            return
        yield rows
        last = getattr(rows[-1], key.key)


def coded_encounters(work: UnitOfWork, filters: AuditFilters, *,
                     first_payer_only: bool = True) -> list[ClaimRow]:
    """The claims the coding audit looks at (module docstring), with their lines, by claim
    number. The provider filter applies after: pass ``provider_npi=None`` for the reference.
    ``first_payer_only=False`` adds the secondary payers' claims (for the denial rates: a
    secondary payer's denial is a denial too). Every claim at once: the report and the sample
    read pages of columns instead."""
    query = (_encounters_query(filters, ClaimRow, first_payer_only=first_payer_only)
             .options(selectinload(ClaimRow.lines))
             .order_by(ClaimRow.claim_number))
    claims = [row[0] for row in work.session.execute(query)]
    if filters.provider_npi is not None:
        claims = [claim for claim in claims if provider_of(claim) == filters.provider_npi]
    return claims


class _Line(NamedTuple):
    """What the report reads of a claim line."""

    claim_id: int
    line_number: int
    procedure_code: str
    modifiers: list[str] | None
    service_date_from: date


def _lines_of(work: UnitOfWork, claim_ids: Sequence[int]) -> dict[int, list[_Line]]:
    """Claim id -> its lines, by line number."""
    lines: dict[int, list[_Line]] = {claim_id: [] for claim_id in claim_ids}
    for row in work.session.execute(
            select(ClaimLineRow.claim_id, ClaimLineRow.line_number, ClaimLineRow.procedure_code,
                   ClaimLineRow.modifiers, ClaimLineRow.service_date_from)
            .where(ClaimLineRow.claim_id.in_(claim_ids),
                   ClaimLineRow.procedure_code.is_not(None))  # revenue-code-only lines
            .order_by(ClaimLineRow.claim_id, ClaimLineRow.line_number)):
        lines[row.claim_id].append(_Line(row.claim_id, row.line_number, row.procedure_code or "",
                                         row.modifiers, row.service_date_from))
    return lines


def _configured_profile(work: UnitOfWork) -> Practice | None:
    """The acting practice's details, None when it has none (the report names the NPI)."""
    try:
        return practice_profile(work)
    except ConfigurationError:
        return None


def _provider_names(work: UnitOfWork, npis: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(npis))
    names = {}
    for row in work.session.scalars(select(ProviderRow).where(ProviderRow.npi.in_(wanted))):
        names[row.npi] = ", ".join(part for part in (row.last_name, row.first_name) if part)
    practice = _configured_profile(work)
    if practice is not None:
        names.setdefault(practice.npi, practice.name)
    return {npi: names.get(npi, "") for npi in wanted}


# -- the report --------------------------------------------------------------------------------

def _distribution(counts: Counter[str], reference: Counter[str],
                  family: EmFamily) -> FamilyDistribution:
    visits = sum(counts[code] for code in family.codes)
    reference_visits = sum(reference[code] for code in family.codes)
    top = family.codes[-2:]
    return FamilyDistribution(
        family=family, visits=visits, reference_visits=reference_visits,
        levels=tuple(LevelShare(code, counts[code], percent(counts[code], visits),
                                reference[code], percent(reference[code], reference_visits))
                     for code in family.codes),
        top_two_percent=percent(sum(counts[code] for code in top), visits),
        reference_top_two_percent=percent(sum(reference[code] for code in top),
                                          reference_visits),
        flag=outlier_flag(counts, reference, family))


@dataclass
class _ModifierCounts:
    em_lines: int = 0
    with_25: int = 0
    lines: int = 0
    with_59: int = 0
    with_x: int = 0

    def add(self, line: _Line) -> None:
        modifiers = set(line.modifiers or ())
        self.lines += 1
        self.with_59 += "59" in modifiers
        self.with_x += bool(modifiers.intersection(X_MODIFIERS))
        if is_em(line.procedure_code):
            self.em_lines += 1
            self.with_25 += "25" in modifiers


def _modifier_rates(own: _ModifierCounts, practice: _ModifierCounts) -> tuple[ModifierRate, ...]:
    def rate(modifier: str, over: str, lines: int, eligible: int, practice_lines: int,
             practice_eligible: int) -> ModifierRate:
        return ModifierRate(modifier, over, lines, eligible, percent(lines, eligible),
                            practice_lines, practice_eligible,
                            percent(practice_lines, practice_eligible))

    return (rate("25", "E/M lines", own.with_25, own.em_lines, practice.with_25,
                 practice.em_lines),
            rate("59", "all lines", own.with_59, own.lines, practice.with_59, practice.lines),
            rate("X{EPSU}", "all lines", own.with_x, own.lines, practice.with_x,
                 practice.lines))


def bypassed_edits(claim: ClaimRow) -> list[tuple[str, str, tuple[str, ...]]]:
    """The NCCI PTP edits of modifier indicator 1 a claim's lines bypassed with a modifier:
    (column 1, column 2, the NCCI-associated modifiers of the column-2 line), one per
    column-2 line. Self-pay claims are not subject to NCCI edits (as in the scrubber)."""
    return _bypassed_in(claim.payer_key, [
        _Line(claim.id, line.line_number, line.procedure_code, line.modifiers,
              line.service_date_from) for line in claim.lines if line.procedure_code])


def _bypassed_in(payer_key: str | None,
                 lines: Sequence[_Line]) -> list[tuple[str, str, tuple[str, ...]]]:
    """:func:`bypassed_edits` of a claim's payer and lines (by line number)."""
    # imported here: the NCCI module is not needed to start the command line
    from medbill_core.codesets.ncci import ASSOCIATED_MODIFIERS, bypasses_ptp_edit, default_ncci

    if payer_key is None or len(lines) < 2:
        return []
    table = default_ncci().ptp
    by_date: dict[date, list[_Line]] = defaultdict(list)
    for line in lines:
        by_date[line.service_date_from].append(line)
    found = []
    for on, of_date in sorted(by_date.items()):
        if len(of_date) < 2:
            continue
        for edit in table.edits_among([line.procedure_code for line in of_date], on):
            if not edit.modifier_allowed:
                continue
            column_1_modifiers = [m for line in of_date if line.procedure_code == edit.column_1
                                  for m in line.modifiers or ()]
            for line in of_date:
                if line.procedure_code == edit.column_2 and bypasses_ptp_edit(
                        line.modifiers or (), column_1_modifiers):
                    used = tuple(sorted(m for m in line.modifiers or ()
                                        if m in ASSOCIATED_MODIFIERS))
                    found.append((edit.column_1, edit.column_2, used))
    return found


def _bypassed_pairs(counts: Counter[tuple[str, str, tuple[str, ...]]]
                    ) -> tuple[BypassedPair, ...]:
    return tuple(BypassedPair(first, second, modifiers, count) for (first, second, modifiers),
                 count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _standing_answers(work: UnitOfWork,
                      claim_ids: Sequence[int]) -> dict[int, ClaimAdjudicationRow]:
    """Claim id -> the payer's standing 835 answer: its latest answer that is not a
    reversal, unless a reversal took that answer back (then none stands)."""
    latest: dict[int, ClaimAdjudicationRow] = {}
    for start in range(0, len(claim_ids), _CHUNK):
        for row in work.session.scalars(
                select(ClaimAdjudicationRow)
                .where(ClaimAdjudicationRow.claim_id.in_(claim_ids[start:start + _CHUNK]),
                       ClaimAdjudicationRow.claim_status != ClaimStatusCode.REVERSAL.value)
                .order_by(ClaimAdjudicationRow.id)):
            latest[row.claim_id] = row
    return {claim_id: row for claim_id, row in latest.items() if row.reversed_by is None}


def line_outcomes(claim: ClaimRow, answer: ClaimAdjudicationRow) -> dict[int, list[str]]:
    """Line number -> the denial codes of the line (empty: adjudicated, not denied).

    A line is denied when the payer paid nothing on it with a CARC the posting rules kept open
    (``deny`` or ``review``). Where the payer answered line by line, each line's own answer
    counts; where it answered the claim only, every line shares the claim's answer (denied
    when the claim was paid nothing)."""
    return _line_outcomes([line.line_number for line in claim.lines], answer)


def _line_outcomes(numbers: Sequence[int],
                   answer: ClaimAdjudicationRow) -> dict[int, list[str]]:
    """:func:`line_outcomes` of a claim's line numbers."""
    adjustments = list(answer.adjustments or [])
    if answer.lines:
        of_lines = sum(len(item.get("adjustments") or []) for item in answer.lines)
        position = len(adjustments) - of_lines
        paid: dict[int, Decimal] = defaultdict(Decimal)
        codes: dict[int, list[str]] = defaultdict(list)
        for item in answer.lines:  # a line the payer split has several entries
            own = list(item.get("adjustments") or [])
            number = int(item.get("line_number") or 0)
            paid[number] += Decimal(str(item.get("paid_amount") or 0))
            codes[number] += denial_codes(own, answer.posting_rules, start=position,
                                         kept_open_only=True)
            position += len(own)
        return {number: codes[number] if paid[number] == 0 else []
                for number in numbers if number in paid}
    claim_codes = list(denial_codes(adjustments, answer.posting_rules, kept_open_only=True)) \
        if answer.paid == 0 else []
    return {number: list(claim_codes) for number in numbers}


@dataclass
class _CodingTally:
    """What the report adds up of a set of coded encounters (a provider's, or the practice's)
    as it reads them."""

    claims: int = 0
    lines: int = 0
    em: Counter[str] = field(default_factory=Counter)
    modifiers: _ModifierCounts = field(default_factory=_ModifierCounts)
    bypassed: Counter[tuple[str, str, tuple[str, ...]]] = field(default_factory=Counter)

    def add(self, lines: Sequence[_Line]) -> None:
        self.claims += 1
        self.lines += len(lines)
        for line in lines:
            if line.procedure_code in _FAMILY_OF:
                self.em[line.procedure_code] += 1
            self.modifiers.add(line)


@dataclass
class _DenialTally:
    """The denial rates by procedure code, added up claim by claim."""

    adjudicated: Counter[str] = field(default_factory=Counter)
    denied: Counter[str] = field(default_factory=Counter)
    carcs: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, lines: Sequence[_Line], answer: ClaimAdjudicationRow) -> None:
        codes_of = {line.line_number: line.procedure_code for line in lines}
        for number, codes in _line_outcomes([line.line_number for line in lines],
                                            answer).items():
            code = codes_of[number]
            self.adjudicated[code] += 1
            if codes:
                self.denied[code] += 1
                self.carcs[code].update(dict.fromkeys(codes, 1))

    def rates(self) -> tuple[DenialRate, ...]:
        denied, carcs = self.denied, self.carcs
        rates = [DenialRate(code, count, denied[code], percent(denied[code], count),
                            tuple(sorted(carcs[code].items(), key=lambda i: (-i[1], i[0]))[:3]))
                 for code, count in self.adjudicated.items()]
        rates.sort(key=lambda rate: (-rate.denied, -rate.adjudicated, rate.code))
        return tuple(rates)


def coding_report(work: UnitOfWork, filters: AuditFilters) -> CodingReport:
    """The coding audit report under ``filters`` (module docstring): one section per provider,
    largest first, and the denial rate by code of the selected claims.

    The claims are read a page of columns at a time (their lines and standing answers with
    them) and added up as they are read: the memory the report needs does not grow with the
    number of claims."""
    work.require(Action.REPORTS_READ)
    check_filters(work, filters)
    wanted_npi = filters.provider_npi
    practice = _CodingTally()
    by_provider: dict[str, _CodingTally] = defaultdict(_CodingTally)
    denials = _DenialTally()
    # every standing claim once: the coded encounters make the report and its reference; the
    # selected provider's (or every) claim, secondary payers' too, makes the denial rates
    query = _encounters_query(
        AuditFilters(filters.date_from, filters.date_to, None, filters.payer_key),
        ClaimRow.id, ClaimRow.payer_key, ClaimRow.rendering_provider_npi,
        ClaimRow.billing_provider_npi, first_payer_only=False)
    for page in _pages(work, query, ClaimRow.id):
        lines = _lines_of(work, [row.id for row in page])
        billed = [row.id for row in page
                  if wanted_npi is None or provider_of(row) == wanted_npi]
        answers = _standing_answers(work, billed)
        for row in page:
            own = lines[row.id]
            if row.first_payer:
                npi = provider_of(row)
                practice.add(own)
                tally = by_provider[npi]
                tally.add(own)
                if wanted_npi is None or npi == wanted_npi:
                    tally.bypassed.update(_bypassed_in(row.payer_key, own))
            answer = answers.get(row.id)
            if answer is not None:
                denials.add(own, answer)
    wanted = [wanted_npi] if wanted_npi else list(by_provider)
    names = _provider_names(work, wanted)
    providers = []
    for npi in wanted:
        tally = by_provider.get(npi) or _CodingTally()
        providers.append(ProviderCoding(
            npi=npi, name=names.get(npi, ""), claims=tally.claims, lines=tally.lines,
            families=tuple(_distribution(tally.em, practice.em, family)
                           for family in EM_FAMILIES
                           if sum(tally.em[c] for c in family.codes)
                           or sum(practice.em[c] for c in family.codes)),
            modifiers=_modifier_rates(tally.modifiers, practice.modifiers),
            bypassed=_bypassed_pairs(tally.bypassed)))
    providers.sort(key=lambda p: (-p.claims, p.npi))
    return CodingReport(filters.date_from, filters.date_to, filters.payer_key,
                        filters.provider_npi, practice.claims, tuple(providers),
                        denials.rates())


# -- review samples ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SampledClaim:
    claim_id: int
    claim_number: str
    provider_npi: str
    service_date: date
    codes: tuple[str, ...]
    finding: Finding | None
    corrected_codes: tuple[str, ...]
    reviewed_by: str | None
    reviewed_on: date | None

    def as_json(self) -> dict[str, Any]:
        """Without the reviewer's note (free text)."""
        return {"claim_id": self.claim_id, "claim_number": self.claim_number,
                "provider": self.provider_npi, "service_date": self.service_date.isoformat(),
                "codes": list(self.codes),
                "finding": self.finding.value if self.finding else None,
                "corrected_codes": list(self.corrected_codes), "reviewed_by": self.reviewed_by,
                "reviewed_on": _iso(self.reviewed_on)}


@dataclass(frozen=True)
class ProviderAccuracy:
    npi: str
    sampled: int
    reviewed: int
    agree: int
    change_code: int
    documentation_missing: int

    @property
    def percent(self) -> Decimal | None:
        """Accuracy rate: agreed / reviewed."""
        return percent(self.agree, self.reviewed)

    def as_json(self) -> dict[str, Any]:
        return {"provider": self.npi, "sampled": self.sampled, "reviewed": self.reviewed,
                "agree": self.agree, "change_code": self.change_code,
                "documentation_missing": self.documentation_missing,
                "accuracy_percent": _text(self.percent)}


@dataclass(frozen=True)
class Sample:
    id: int
    seed: int
    per_provider: int
    filters: AuditFilters
    created_by: str
    created_on: date
    claims: tuple[SampledClaim, ...] = field(default=())

    @property
    def reviewed(self) -> int:
        return sum(claim.finding is not None for claim in self.claims)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "seed": self.seed, "per_provider": self.per_provider,
                "from": _iso(self.filters.date_from), "to": _iso(self.filters.date_to),
                "provider": self.filters.provider_npi, "payer": self.filters.payer_key,
                "created_by": self.created_by, "created_on": self.created_on.isoformat(),
                "claims": [claim.as_json() for claim in self.claims],
                "reviewed": self.reviewed}


def draw(claims: Sequence[ClaimRow], per_provider: int, seed: int) -> list[ClaimRow]:
    """``per_provider`` claims of each provider (all of them when it has fewer), at random but
    reproducibly: each provider's claims in claim-number order, drawn by a generator seeded
    with the seed and the provider's NPI (a provider's draw does not change when another
    provider's claims do). Returned by provider, then claim number."""
    by_provider: dict[str, list[ClaimRow]] = defaultdict(list)
    for claim in sorted(claims, key=lambda c: c.claim_number):
        by_provider[provider_of(claim)].append(claim)
    chosen = []
    for npi in sorted(by_provider):
        pool = by_provider[npi]
        picked = random.Random(f"{seed}:{npi}").sample(pool, min(per_provider, len(pool)))
        chosen.extend(sorted(picked, key=lambda c: c.claim_number))
    return chosen


class _Drawn(NamedTuple):
    id: int
    claim_number: str
    provider_npi: str


def _drawn(work: UnitOfWork, filters: AuditFilters, per_provider: int,
           seed: int) -> list[_Drawn]:
    """:func:`draw` of the coded encounters under ``filters``, reading a page of their numbers
    at a time instead of every claim: a first reading counts each provider's claims, which
    fixes the positions the seeded generator picks in the provider's claim-number order (the
    positions depend only on the count), a second reading takes the claims at those
    positions."""
    query = _encounters_query(filters, ClaimRow.id, ClaimRow.claim_number,
                              ClaimRow.rendering_provider_npi, ClaimRow.billing_provider_npi,
                              first_payer_only=True)

    def encounters() -> Iterator[tuple[str, Any]]:
        for page in _pages(work, query, ClaimRow.claim_number):
            for row in page:
                npi = provider_of(row)
                if filters.provider_npi is None or npi == filters.provider_npi:
                    yield npi, row

    sizes: Counter[str] = Counter(npi for npi, _ in encounters())
    positions = {npi: set(random.Random(f"{seed}:{npi}").sample(range(size),
                                                               min(per_provider, size)))
                 for npi, size in sizes.items()}
    seen: Counter[str] = Counter()
    chosen = []
    for npi, row in encounters():
        if seen[npi] in positions.get(npi, ()):
            chosen.append(_Drawn(row.id, row.claim_number, npi))
        seen[npi] += 1
    return sorted(chosen, key=lambda claim: (claim.provider_npi, claim.claim_number))


def create_sample(work: UnitOfWork, filters: AuditFilters, *, per_provider: int,
                  seed: int) -> Sample:
    """Draw and store a review sample (:func:`draw`) of the coded encounters under
    ``filters``; audited as ``coding_audit.sample``.

    :raises ValidationFailed: ``per_provider`` is not 1-1000, a negative seed, or no claim
        matches the filters.
    """
    work.require(Action.CODING_AUDIT_WRITE)
    record = "coding audit sample"
    if not 1 <= per_provider <= MAX_PER_PROVIDER:
        raise ValidationFailed(record, [("--per-provider",
                                         f"must be from 1 to {MAX_PER_PROVIDER}")])
    if seed < 0:
        raise ValidationFailed(record, [("--seed", "must not be negative")])
    check_filters(work, filters)
    claims = _drawn(work, filters, per_provider, seed)
    if not claims:
        raise ValidationFailed(record, [("claims", "none match the filters")])
    row = CodingAuditSampleRow(seed=seed, per_provider=per_provider,
                               date_from=filters.date_from, date_to=filters.date_to,
                               provider_npi=filters.provider_npi, payer_key=filters.payer_key,
                               created_by=work.actor)
    work.session.add(row)
    work.session.flush()
    for claim in claims:
        work.session.add(CodingAuditClaimRow(sample_id=row.id, claim_id=claim.id,
                                             provider_npi=claim.provider_npi))
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="coding_audit.sample",
                 entity_type="coding_audit_sample", entity_id=row.id,
                 details={"seed": seed, "per_provider": per_provider,
                          "claim_ids": [claim.id for claim in claims],
                          "from": _iso(filters.date_from), "to": _iso(filters.date_to),
                          "provider": filters.provider_npi, "payer": filters.payer_key})
    return get_sample(work, row.id)


def _sample_row(work: UnitOfWork, sample_id: int) -> CodingAuditSampleRow:
    row = work.session.get(CodingAuditSampleRow, sample_id)
    if row is None:
        raise NotFound("coding audit sample", sample_id)
    return row


def get_sample(work: UnitOfWork, sample_id: int) -> Sample:
    """A sample with its claims (by provider, then claim number) and their findings.

    :raises NotFound: no such sample.
    """
    work.require(Action.CODING_AUDIT_READ)
    row = _sample_row(work, sample_id)
    items = work.session.execute(
        select(CodingAuditClaimRow, ClaimRow)
        .join(ClaimRow, ClaimRow.id == CodingAuditClaimRow.claim_id)
        .where(CodingAuditClaimRow.sample_id == sample_id)
        .options(selectinload(ClaimRow.lines))
        .order_by(CodingAuditClaimRow.provider_npi, ClaimRow.claim_number)).all()
    claims = tuple(SampledClaim(
        claim.id, claim.claim_number, item.provider_npi, claim.service_date_from,
        tuple(_line_code(line) for line in claim.lines),
        Finding(item.finding) if item.finding else None, tuple(item.corrected_codes or ()),
        item.reviewed_by, local_day(item.reviewed_at) if item.reviewed_at else None)
        for item, claim in items)
    return _sample_view(row, claims)


def _sample_view(row: CodingAuditSampleRow, claims: tuple[SampledClaim, ...] = ()) -> Sample:
    return Sample(row.id, row.seed, row.per_provider,
                  AuditFilters(row.date_from, row.date_to, row.provider_npi, row.payer_key),
                  row.created_by, local_day(row.created_at), claims)


def _line_code(line: ClaimLineRow) -> str:
    return "-".join([line.procedure_code or line.revenue_code or "", *(line.modifiers or [])])


def list_samples(work: UnitOfWork) -> list[Sample]:
    """Every review sample, newest first, without their claims."""
    work.require(Action.CODING_AUDIT_READ)
    rows = work.session.scalars(select(CodingAuditSampleRow)
                                .order_by(CodingAuditSampleRow.id.desc()))
    return [_sample_view(row) for row in rows]


def _corrected(record: str, finding: Finding, codes: Sequence[str]) -> list[str]:
    """The corrected codes, cleaned and each once; whether each is a procedure code of the
    claim's date of service is :func:`_check_codes`'s."""
    cleaned = [code.strip().upper() for code in codes]
    if finding is Finding.CHANGE_CODE:
        if not cleaned:
            raise ValidationFailed(record, [("--code", "is required with change_code (the "
                                                       "corrected procedure code or codes)")])
        if len(cleaned) > 50:
            raise ValidationFailed(record, [("--code", "more than 50 codes")])
        return list(dict.fromkeys(cleaned))
    if cleaned:
        raise ValidationFailed(record, [("--code", f"only with change_code, not with "
                                                   f"{finding.value}")])
    return []


def _check_codes(record: str, codes: Sequence[str], claim: ClaimRow) -> None:
    """Each corrected code must be a procedure code the claim could carry: a well-formed
    HCPCS code (Level II: in the code set and in effect on every date of service of the
    claim; CPT: by its format, as the scrubber's procedure-code edit and ``medbill validate
    hcpcs`` judge it)."""
    from medbill_core.codesets import default_codesets

    codesets = default_codesets()
    days = dict.fromkeys((claim.service_date_from, claim.service_date_to))
    for number, code in enumerate(codes, start=1):
        for on in days:
            verdict = codesets.hcpcs(code, on)
            if not verdict.ok:
                raise ValidationFailed(record, [("--code", f"number {number}: "
                                                           f"{verdict.message}")])


def record_finding(work: UnitOfWork, sample_id: int, claim_number: str, finding: Finding | str,
                   *, corrected_codes: Sequence[str] = (), note: str | None = None
                   ) -> SampledClaim:
    """Record (or replace) the reviewer's finding on a sampled claim; audited as
    ``coding_audit.finding`` with the finding, the corrected codes and the previous finding.

    :raises NotFound: no such sample.
    :raises ValidationFailed: an unknown finding, the claim is not in the sample, corrected
        codes missing (change_code), given without change_code, or not a procedure code
        valid on the claim's date of service (:func:`_check_codes`), or a note too long.
    """
    work.require(Action.CODING_AUDIT_WRITE)
    record = f"coding audit sample {sample_id}"
    values = [item.value for item in Finding]
    if str(finding) not in values:
        raise ValidationFailed(record, [("finding", f"must be one of {', '.join(values)}")])
    finding = Finding(str(finding))
    codes = _corrected(record, finding, corrected_codes)
    text = (note or "").strip() or None
    if text is not None and len(text) > NOTE_MAX:
        raise ValidationFailed(record, [("note", f"is longer than {NOTE_MAX} characters")])
    _sample_row(work, sample_id)
    found = work.session.execute(
        select(CodingAuditClaimRow, ClaimRow)
        .join(ClaimRow, ClaimRow.id == CodingAuditClaimRow.claim_id)
        .where(CodingAuditClaimRow.sample_id == sample_id,
               ClaimRow.claim_number == claim_number.strip())).first()
    if found is None:
        raise ValidationFailed(record, [("claim", "is not in this sample (see medbill "
                                                  f"audit-coding show {sample_id})")])
    item, claim = found
    _check_codes(record, codes, claim)
    previous = item.finding
    item.finding = finding.value
    item.corrected_codes = codes or None
    item.note = text
    item.reviewed_at = utcnow()
    item.reviewed_by = work.actor
    audit.record(work.session, actor=work.actor, action="coding_audit.finding",
                 entity_type="coding_audit_sample", entity_id=sample_id,
                 details={"claim_id": claim.id, "finding": finding.value,
                          "corrected_codes": codes, "previous": previous})
    return next(c for c in get_sample(work, sample_id).claims if c.claim_id == claim.id)


def accuracy(work: UnitOfWork, sample_id: int) -> list[ProviderAccuracy]:
    """Per provider of the sample (by NPI): claims sampled and reviewed, each finding's count
    and the accuracy rate, agreed / reviewed.

    :raises NotFound: no such sample.
    """
    work.require(Action.CODING_AUDIT_READ)
    sample = get_sample(work, sample_id)
    by_provider: dict[str, list[SampledClaim]] = defaultdict(list)
    for claim in sample.claims:
        by_provider[claim.provider_npi].append(claim)
    result = []
    for npi in sorted(by_provider):
        findings = Counter(claim.finding for claim in by_provider[npi])
        result.append(ProviderAccuracy(
            npi, len(by_provider[npi]), sum(n for f, n in findings.items() if f is not None),
            findings[Finding.AGREE], findings[Finding.CHANGE_CODE],
            findings[Finding.DOCUMENTATION_MISSING]))
    return result

"""Duplicate claims: a service billed again to the same payer on another claim.

A payer denies a service it was billed already (CARC 18, "exact duplicate claim/service"),
and a biller who creates a claim twice (an EHR sending a visit again, a claim re-keyed after a
rejection instead of corrected) finds out weeks later, from the denial. The scrubber looks
first: a line of a professional claim whose patient, payer, date of service, procedure code
and modifiers are those of a line on another live claim (not voided, replaced or deleted) is
a warning on both claims, in the scrub's findings, until one of the two goes
(void or delete it) or the line says the service was repeated or distinct (modifiers 76, 77,
91, 59, XE, XS, XP, XU). A warning, not an error, by default: only the biller knows whether
the service was given twice (a second visit the same day, billed apart), and a blocked claim
would wait for a change that is not needed. A payer configured with
``duplicate_claims = "error"`` makes it an error for its claims: the claim is not sent until
one of the two goes or the line takes such a modifier.

The claims of one encounter are never duplicates of each other: a secondary payer's claim,
a replacement (frequency 7) or a void (8) carries the visit's lines again on purpose (they
share the encounter's account claim). Institutional claims are left out: interim bills of one
stay repeat revenue codes by design.

The look-up is one query per scrubbed batch (the batch's patients' other claims), whatever the
batch's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import select

from medbill_core.app import UnitOfWork
from medbill_core.domain import (
    Claim,
    ClaimFinding,
    ClaimFrequency,
    ClaimKind,
    ClaimState,
    Severity,
)
from medbill_core.storage.batches import chunks
from medbill_core.storage.schema import ClaimLineRow, ClaimRow

#: modifiers saying a service was done again (76, 77, 91) or is distinct (59, X{EPSU}):
#: billed twice on purpose, as the payer expects
REPEAT_OR_DISTINCT = frozenset({"76", "77", "91", "59", "XE", "XS", "XP", "XU"})
#: claims that no longer bill anything (their services may be billed again)
GONE = (ClaimState.VOIDED.value, ClaimState.REPLACED.value, ClaimState.DELETED.value)

#: (patient, payer, date of service, procedure code, modifiers in order)
_ServiceKey = tuple[int, str, date, str, tuple[str, ...]]


def _key(patient_id: int, payer_key: str, on: date, code: str,
         modifiers: Iterable[str]) -> _ServiceKey | None:
    shown = tuple(sorted(modifiers))
    if REPEAT_OR_DISTINCT.intersection(shown):
        return None
    return patient_id, payer_key, on, code, shown


def severity_of(work: UnitOfWork, payer_key: str) -> Severity:
    """The severity of a duplicate billed to ``payer_key``: its ``duplicate_claims`` setting
    (a payer no longer configured: the default, a warning)."""
    payer = work.app.config.payers.get(payer_key)
    return Severity.ERROR if payer is not None and payer.duplicate_claims == "error" \
        else Severity.WARNING


def _checked(claim: Claim) -> bool:
    return (claim.kind is ClaimKind.PROFESSIONAL and claim.payer_key is not None
            and claim.frequency is not ClaimFrequency.VOID
            and claim.state.value not in GONE)


def duplicate_findings(work: UnitOfWork, claims: Sequence[Claim]
                       ) -> dict[int, list[ClaimFinding]]:
    """Each claim's lines billed on another live claim of another encounter (by claim id;
    claims without any are left out)."""
    # by id: a claim given twice (a scrub may be asked so) is looked at once
    checked = list({claim.id: claim for claim in claims
                    if _checked(claim) and claim.id is not None}.values())
    if not checked:
        return {}
    patients = sorted({claim.patient_id for claim in checked})
    first = min(line.service_date_from for claim in checked for line in claim.lines)
    last = max(line.service_date_from for claim in checked for line in claim.lines)
    # every live professional line of the batch's patients in the batch's dates: the batch's
    # own claims too (two new drafts of one visit are duplicates of each other)
    billed: dict[_ServiceKey, list[tuple[int, int, str, str]]] = defaultdict(list)
    for chunk in chunks(patients):
        rows = work.session.execute(
            select(ClaimRow.id, ClaimRow.account_claim_id, ClaimRow.claim_number,
                   ClaimRow.state, ClaimRow.patient_id, ClaimRow.payer_key,
                   ClaimLineRow.service_date_from, ClaimLineRow.procedure_code,
                   ClaimLineRow.modifiers)
            .join(ClaimLineRow, ClaimLineRow.claim_id == ClaimRow.id)
            .where(ClaimRow.patient_id.in_(chunk), ClaimRow.state.not_in(GONE),
                   ClaimRow.kind == ClaimKind.PROFESSIONAL.value,
                   ClaimRow.frequency != ClaimFrequency.VOID.value,
                   ClaimRow.payer_key.is_not(None), ClaimLineRow.procedure_code.is_not(None),
                   ClaimLineRow.service_date_from.between(first, last)))
        for (claim_id, account_id, number, state, patient_id, payer_key, on, code,
             modifiers) in rows:
            key = None if payer_key is None or code is None else _key(
                patient_id, payer_key, on, code, modifiers or [])  # (never None: the query)
            if key is not None:
                billed[key].append((claim_id, account_id or claim_id, number, state))
    found: dict[int, list[ClaimFinding]] = {}
    for claim in checked:
        assert claim.id is not None and claim.payer_key is not None  # _checked
        encounter = claim.account_claim_id or claim.id
        for line in claim.lines:
            if line.procedure_code is None:
                continue
            key = _key(claim.patient_id, claim.payer_key, line.service_date_from,
                       line.procedure_code, line.modifiers)
            others = [] if key is None else [
                (number, state) for other_id, other_encounter, number, state in billed[key]
                if other_id != claim.id and other_encounter != encounter]
            if not others:
                continue
            number, state = min(others)
            label = line.procedure_code + "".join(f"-{m}" for m in line.modifiers)
            found.setdefault(claim.id, []).append(ClaimFinding(
                severity=severity_of(work, claim.payer_key), code="claim.duplicate",
                message=(f"line {line.line_number} ({label}) is billed to {claim.payer_key} "
                         f"for the same patient and date of service on claim {number} "
                         f"({ClaimState(state).label})"
                         + (f" and {len(others) - 1} more" if len(others) > 1 else "")
                         + ": the payer denies a duplicate (CARC 18)"),
                claim_number=claim.claim_number, line_number=line.line_number,
                field="procedure_code",
                fix_hint=("delete or void the claim billed twice; a service done again that "
                          "day takes modifier 76, 77 or 91, a distinct one 59 or XE/XS/XP/XU"),
                source="core"))
    return found

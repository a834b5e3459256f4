"""What payers' adapters flag while an 835 is posted (underpayments ...), kept as work items.

:meth:`~medbill_core.adapters.PayerAdapter.remittance_findings` looks at each claim payment as
it is posted (the Medicare adapter compares each line's allowed amount with the fee schedule).
Its findings are stored here, in the posting's transaction, once per posting (a repeated 835
posts nothing and flags nothing anew), with the expected, allowed and paid amounts when the
finding is a :class:`~medbill_core.domain.findings.PaymentFinding`.

A finding stays open, on ``medbill ar followup``, until a biller resolves it
(:func:`resolve_finding`) or the payer answers the claim again (a later 835 claim payment: a
reprocessing, a corrected payment or a reversal), which supersedes the answer it was about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.domain import Claim, ClaimFinding
from medbill_core.domain.findings import PaymentFinding
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.permissions import Action
from medbill_core.storage.schema import ClaimAdjudicationRow, RemittanceFindingRow, utcnow

_CHUNK = 500


def record_findings(work: UnitOfWork, posting_key: str, claim: Claim,
                    findings: Sequence[ClaimFinding], found_on: date, *,
                    pending: list[dict[str, Any]] | None = None, fresh: bool = False) -> int:
    """Store the findings of the claim payment posted under ``posting_key``; how many were
    stored now (a finding already stored under the same key is not stored again). The rows
    are added to the session (written with its next flush), or with ``pending`` appended to
    it as column values, for the caller to insert with others in one statement. ``fresh``:
    the caller knows nothing was posted under ``posting_key`` before (no look-up then)."""
    if not findings:
        return 0
    keys = [f"{posting_key}:{index}" for index in range(1, len(findings) + 1)]
    stored = set() if fresh else set(work.session.scalars(
        select(RemittanceFindingRow.finding_key).where(
            RemittanceFindingRow.finding_key.in_(keys))))
    added = 0
    for key, finding in zip(keys, findings, strict=True):
        if key in stored:
            continue
        amounts = (finding.expected_amount, finding.allowed_amount, finding.paid_amount) \
            if isinstance(finding, PaymentFinding) else (None, None, None)
        values = dict(
            finding_key=key, posting_key=posting_key, claim_id=claim.id,
            payer_key=claim.payer_key, code=finding.code, line_number=finding.line_number,
            expected_amount=amounts[0], allowed_amount=amounts[1], paid_amount=amounts[2],
            found_on=found_on, message=finding.message[:500])
        if pending is not None:
            pending.append(values)
        else:
            work.session.add(RemittanceFindingRow(**values))
        added += 1
    return added


@dataclass(frozen=True)
class OpenFinding:
    """A stored finding still waiting for a biller (see the module docstring)."""

    id: int
    claim_id: int
    code: str
    line_number: int | None
    expected_amount: Decimal | None
    allowed_amount: Decimal | None
    paid_amount: Decimal | None
    found_on: date
    message: str

    def as_json(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {"id": self.id, "code": self.code, "line_number": self.line_number,
                "expected": money(self.expected_amount),
                "allowed": money(self.allowed_amount), "paid": money(self.paid_amount),
                "found_on": self.found_on.isoformat(), "message": self.message}


def open_findings(work: UnitOfWork,
                  claim_ids: Iterable[int] | None = None) -> dict[int, list[OpenFinding]]:
    """Claim id -> its open findings (oldest first), for ``claim_ids`` or every claim."""
    query = select(RemittanceFindingRow).where(RemittanceFindingRow.resolved_at.is_(None))
    rows: list[RemittanceFindingRow] = []
    if claim_ids is None:
        rows = list(work.session.scalars(query))
    else:
        ids = sorted(set(claim_ids))
        for start in range(0, len(ids), _CHUNK):
            rows.extend(work.session.scalars(query.where(
                RemittanceFindingRow.claim_id.in_(ids[start:start + _CHUNK]))))
    latest = _latest_answers(work, sorted({row.claim_id for row in rows}))
    result: dict[int, list[OpenFinding]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        if latest.get(row.claim_id, row.posting_key) != row.posting_key:
            continue  # the payer answered the claim again since
        result.setdefault(row.claim_id, []).append(OpenFinding(
            row.id, row.claim_id, row.code, row.line_number, row.expected_amount,
            row.allowed_amount, row.paid_amount, row.found_on, row.message))
    return result


def _latest_answers(work: UnitOfWork, claim_ids: Sequence[int]) -> dict[int, str]:
    """Claim id -> the posting key of the payer's latest 835 answer to it."""
    result: dict[int, str] = {}
    for start in range(0, len(claim_ids), _CHUNK):
        for claim_id, key in work.session.execute(
                select(ClaimAdjudicationRow.claim_id, ClaimAdjudicationRow.posting_key)
                .where(ClaimAdjudicationRow.claim_id.in_(claim_ids[start:start + _CHUNK]))
                .order_by(ClaimAdjudicationRow.id)):
            result[claim_id] = key
    return result


def resolve_finding(work: UnitOfWork, finding_id: int, note: str) -> bool:
    """Close a finding with the biller's note (e.g. "MAC reprocessed", "accepted: MPPR");
    ``False`` when it was resolved before (nothing changes then).

    :raises NotFound: no such finding.
    :raises ValidationFailed: the note is empty.
    """
    work.require(Action.RECEIVABLES_RESOLVE)
    row = work.session.get(RemittanceFindingRow, finding_id)
    if row is None:
        raise NotFound("remittance finding", finding_id)
    if not note.strip():
        raise ValidationFailed(f"remittance finding {finding_id}",
                               [("note", "say how it was resolved")])
    if row.resolved_at is not None:
        return False
    row.resolved_at = utcnow()
    row.resolved_by = work.actor
    row.resolution = note.strip()[:500]
    audit.record(work.session, actor=work.actor, action="finding.resolve",
                 entity_type="remittance_finding", entity_id=row.id,
                 details={"claim_id": row.claim_id, "code": row.code})
    return True

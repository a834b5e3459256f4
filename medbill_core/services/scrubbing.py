"""The claim scrubber: every enabled plugin's claim edits, and the clean-claim rate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError

from medbill_core.app import UnitOfWork
from medbill_core.domain import ClaimFinding, ClaimState, Severity
from medbill_core.domain.base import problems_from
from medbill_core.errors import MedbillError, NotFound, ValidationFailed
from medbill_core.permissions import Action
from medbill_core.pluginctx import batch_scope
from medbill_core.services.claims import ClaimMove
from medbill_core.services.duplicate_claims import duplicate_findings


@dataclass(frozen=True)
class ScrubResult:
    claim_id: int
    claim_number: str
    findings: list[ClaimFinding]

    @property
    def clean(self) -> bool:
        """No finding blocks submission (warnings are allowed)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass(frozen=True)
class ScrubReport:
    results: list[ScrubResult]

    @property
    def clean_count(self) -> int:
        return sum(1 for r in self.results if r.clean)

    @property
    def clean_claim_rate(self) -> Decimal:
        """Percentage of claims with no blocking finding (0-100, two places)."""
        if not self.results:
            return Decimal("0.00")
        return (Decimal(self.clean_count * 100) / Decimal(len(self.results))).quantize(
            Decimal("0.01"))


def _problem_finding(claim_number: str, error: MedbillError) -> ClaimFinding:
    """A claim that cannot even be assembled (missing practice, unknown payer) is an error."""
    field = error.problems[0][0] if isinstance(error, ValidationFailed) else None
    return ClaimFinding(severity=Severity.ERROR, code="claim.unbillable", message=error.message,
                        claim_number=claim_number, field=field,
                        fix_hint="fix the claim's references or the configuration")


#: Claims scrubbed per batch: read, assembled and moved together.
SCRUB_BATCH = 500


def scrub_claims(work: UnitOfWork, claim_ids: Iterable[int], *,
                 validate: bool = True,
                 on_progress: Callable[[int, int], None] | None = None) -> ScrubReport:
    """Run the edits on each claim; with ``validate``, clean drafts move to ``validated``
    and validated claims with blocking findings move back to ``draft``.
    ``on_progress(done, total)`` is called after each claim (a progress bar).

    Claims are read, assembled and moved in batches of :data:`SCRUB_BATCH`: a few queries and
    one set of state updates per batch, whatever its size."""
    work.require(Action.CLAIMS_WRITE)
    hooks = work.app.hooks
    results = []
    claim_ids = list(claim_ids)
    done = 0
    for start in range(0, len(claim_ids), SCRUB_BATCH):
        batch = claim_ids[start:start + SCRUB_BATCH]
        found = work.claims.read_many(batch)
        errors: dict[int, Exception] = {}
        billables = work.claims.billable_many(list(found.values()), errors=errors)
        moves: list[ClaimMove] = []
        # the core's own look across claims (no plugin sees other claims): one query a batch
        duplicates = duplicate_findings(work, [found[i] for i in batch if i in found
                                               and i not in errors])
        state: dict[int, ClaimState] = {}  # as this batch leaves it (a claim given twice)
        # the edits of the batch's claims share what they work out per batch (code-set
        # releases, release-gap warnings): one snapshot of the code sets per batch
        with batch_scope():
            for claim_id in batch:
                done += 1
                if on_progress is not None and done > 1:
                    on_progress(done - 1, len(claim_ids))
                claim = found.get(claim_id)
                if claim is None:
                    work.claims.transition_read(moves, found)  # as far as the claims before it went
                    raise NotFound("claim", claim_id)
                error = errors.get(claim_id)
                if isinstance(error, ValidationError):  # the parts do not fit together
                    findings = [_problem_finding(claim.claim_number, ValidationFailed(
                        f"claim {claim_id}", problems_from(error)))]
                elif isinstance(error, MedbillError):
                    findings = [_problem_finding(claim.claim_number, error)]
                else:  # a failing plugin is not a finding
                    findings = [*hooks.claim_edits(claim=billables[claim_id]),
                                *duplicates.get(claim_id, [])]
                result = ScrubResult(claim_id, claim.claim_number, findings)
                results.append(result)
                if not validate:
                    continue
                current = state.get(claim_id, claim.state)
                if result.clean and current is ClaimState.DRAFT:
                    moves.append(ClaimMove(claim_id, ClaimState.VALIDATED, "scrubbed clean"))
                    state[claim_id] = ClaimState.VALIDATED
                elif not result.clean and current is ClaimState.VALIDATED:
                    blocking = sum(1 for f in findings if f.blocks_submission)
                    moves.append(ClaimMove(claim_id, ClaimState.DRAFT,
                                           f"{blocking} blocking findings"))
                    state[claim_id] = ClaimState.DRAFT
        work.claims.transition_read(moves, found)
    if on_progress is not None and claim_ids:
        on_progress(len(claim_ids), len(claim_ids))
    return ScrubReport(results)

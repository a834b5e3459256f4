"""The claim scrubber: every enabled plugin's claim edits, and the clean-claim rate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError

from medbill_core.app import UnitOfWork
from medbill_core.domain import ClaimFinding, ClaimState, Severity
from medbill_core.domain.base import problems_from
from medbill_core.errors import (
    ConfigurationError,
    MedbillError,
    NotFound,
    UnknownPayer,
    ValidationFailed,
)


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


def scrub_claims(work: UnitOfWork, claim_ids: Iterable[int], *,
                 validate: bool = True,
                 on_progress: Callable[[int, int], None] | None = None) -> ScrubReport:
    """Run the edits on each claim; with ``validate``, clean drafts move to ``validated``
    and validated claims with blocking findings move back to ``draft``.
    ``on_progress(done, total)`` is called after each claim (a progress bar)."""
    hooks = work.app.hooks
    results = []
    claim_ids = list(claim_ids)
    for done, claim_id in enumerate(claim_ids, start=1):
        if on_progress is not None and done > 1:
            on_progress(done - 1, len(claim_ids))
        claim = work.claims.get(claim_id)
        try:
            billable = work.claims.billable(claim_id)
        except (ValidationFailed, UnknownPayer, ConfigurationError, NotFound) as exc:
            findings = [_problem_finding(claim.claim_number, exc)]
        except ValidationError as exc:  # the parts do not fit together (payer, no coverage)
            findings = [_problem_finding(claim.claim_number,
                                         ValidationFailed(f"claim {claim_id}", problems_from(exc)))]
        else:
            findings = hooks.claim_edits(claim=billable)  # a failing plugin is not a finding
        result = ScrubResult(claim_id, claim.claim_number, findings)
        results.append(result)
        if not validate:
            continue
        if result.clean and claim.state is ClaimState.DRAFT:
            work.claims.transition(claim_id, ClaimState.VALIDATED, reason="scrubbed clean")
        elif not result.clean and claim.state is ClaimState.VALIDATED:
            blocking = sum(1 for f in findings if f.blocks_submission)
            work.claims.transition(claim_id, ClaimState.DRAFT,
                                   reason=f"{blocking} blocking findings")
    if on_progress is not None and claim_ids:
        on_progress(len(claim_ids), len(claim_ids))
    return ScrubReport(results)

"""Asking a payer where a submitted claim stands (276/277), for the command line
(``medbill claims status``), the API (``POST /v1/claims/{id}/status-checks``) and the
worker's follow-ups alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medbill_core import audit
from medbill_core.codesets.explain import explain_status_pair
from medbill_core.domain.claim_status import ClaimStatusResponse

if TYPE_CHECKING:
    from medbill_core.app import Medbill


@dataclass(frozen=True)
class StatusCheck:
    claim_id: int
    claim_number: str
    response: ClaimStatusResponse

    def as_json(self) -> dict[str, Any]:
        """The answer with each STC code pair in words beside it (``meanings``, in order)."""
        return {"claim_id": self.claim_id, "claim_number": self.claim_number,
                "statuses": [{**status.model_dump(mode="json"),
                              "meanings": [explain_status_pair(c.category, c.code)
                                           for c in status.status_codes]}
                             for status in self.response.claims]}


def check_claim_status(medbill: Medbill, claim_id: int, *, trace_prefix: str = "ST",
                       audit_action: str = "claim.status_check") -> StatusCheck:
    """Send a 276 for the claim through its payer's adapter and read the 277; audited with the
    status codes the payer gave (``audit_action``).

    :raises ValidationFailed: the claim was never sent or has no payer to ask.
    :raises MedbillError: the payer's adapter failed (the domain error, safe to show).
    """
    with medbill.unit_of_work() as work:  # checks the role (claims.status)
        request = work.claims.status_inquiry(claim_id, trace_number=f"{trace_prefix}{claim_id}")
    response = medbill.hooks.check_claim_status(request=request)
    with medbill.unit_of_work() as work:
        audit.record(work.session, actor=work.actor, action=audit_action, entity_type="claim",
                     entity_id=claim_id, details={"codes": [
                         f"{c.category}:{c.code}" for status in response.claims
                         for c in status.status_codes]})
    return StatusCheck(claim_id, request.claim.claim.claim_number, response)

"""Veto a state change: voiding a claim needs a reason (raising rolls the change back)."""

from medbill_core.api import ClaimState, ValidationFailed, hookimpl


@hookimpl
def medbill_claim_transition_precommit(claim, transition, context):
    if transition.target is ClaimState.VOIDED and not transition.reason:
        raise ValidationFailed(f"claim {claim.claim_number}: a void needs --reason")

"""Veto a state change: voiding a claim needs a reason (raising rolls the change back)."""

from medbill_core.api import ClaimState, ValidationFailed, hookimpl


@hookimpl
def medbill_claim_transition_precommit(claim, transition, context):
    if transition.target is ClaimState.VOIDED and not transition.reason:
        # (field, reason) pairs, the record named by claim number: no PHI in the message
        raise ValidationFailed(f"claim {claim.claim_number}",
                               [("reason", "a void needs a reason (--reason)")])

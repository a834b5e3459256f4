"""Tell the front desk when a claim is denied (after the change is stored)."""

import logging

from medbill_core.api import ClaimState, hookimpl

log = logging.getLogger("acme_payer.notify")


@hookimpl
def medbill_claim_transition_postcommit(claim, transition, context):
    if transition.target is ClaimState.DENIED:
        # claim number and states only: never the patient's name or member id
        log.warning("claim %s denied (was %s)", claim.claim_number, transition.source.value)

"""Domain events to the webhook outbox (:mod:`medbill_core.storage.webhook_outbox`).

A claim's state change and the other billing changes (:func:`medbill_billing_event_precommit`)
are recorded as webhook events inside the change's own transaction: committed together, or
rolled back together. A batch (``transition_many``, an 835's parts) records in memory; the
transaction's events are inserted by one executemany at its commit.

Payloads carry identifiers, states, codes and amounts only: the claim number and ids, not the
patient's name, date of birth, member id or the dates of service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medbill_core.domain import Claim, ClaimState
from medbill_core.hookspecs import hookimpl
from medbill_core.lifecycle import Transition
from medbill_core.pluginctx import PluginContext
from medbill_core.storage.webhook_outbox import record_current

#: the claim states whose arrival is an event, and its type
CLAIM_EVENTS: dict[ClaimState, str] = {
    ClaimState.SUBMITTED: "claim.submitted",
    ClaimState.ACKNOWLEDGED: "claim.acknowledged",
    ClaimState.ACCEPTED: "claim.accepted",
    ClaimState.REJECTED: "claim.rejected",
    ClaimState.DENIED: "claim.denied",
    ClaimState.PAID: "claim.paid",
    ClaimState.PARTIALLY_PAID: "claim.paid",
    ClaimState.PATIENT_BALANCE: "claim.patient_balance",
    ClaimState.CLOSED: "claim.closed",
    ClaimState.VOIDED: "claim.voided",
    ClaimState.REPLACED: "claim.replaced",
}


def claim_event_data(claim: Claim, transition: Transition) -> dict[str, Any]:
    """What a claim event tells its receivers (no PHI; the transition's free-text reason is
    left out, as it may quote anything)."""
    return {"claim_id": transition.claim_id, "claim_number": transition.claim_number,
            "patient_id": claim.patient_id, "payer_key": claim.payer_key,
            "from_state": transition.source.value, "state": transition.target.value,
            "payer_claim_number": claim.payer_claim_number,
            "total_charge": str(claim.total_charge), "frequency": claim.frequency.value,
            "replaces_claim_id": claim.replaces_claim_id, "actor": transition.actor}


@hookimpl
def medbill_claim_transition_precommit(claim: Claim, transition: Transition,
                                       context: PluginContext) -> None:
    event_type = CLAIM_EVENTS.get(transition.target)
    if event_type is not None:
        record_current(event_type, claim_event_data(claim, transition))


@hookimpl
def medbill_billing_event_precommit(event_type: str, data: Mapping[str, Any],
                                    context: PluginContext) -> None:
    record_current(event_type, data)

"""The claim lifecycle: which state may follow which.

The table below is the single source of truth. Storage (``ClaimService``)
persists every transition with its time and actor and fires the lifecycle
hooks; this module only decides what is allowed.

Notable paths:

* a rejected claim (999/277CA) was never accepted into adjudication, so it goes
  back to ``draft`` to be fixed and sent again as an original (frequency 1), even
  when the 277CA gave it a claim control number: payers reject a replacement of a
  claim they never adjudicated. Abandoned, it is voided locally (nothing is sent);
* an adjudicated claim is corrected by a *replacement* claim (frequency 7):
  the original moves to ``replaced``; a void (frequency 8) moves it to ``voided``;
* an 835 reversal (CLP02 = 22) takes a paid claim back to ``accepted`` once no answer of the
  payer stands on it any more (:mod:`medbill_core.services.remittance`);
* an acknowledgment (999, TA1, 277CA) only moves a claim that is still waiting for it
  (:data:`ACK_SOURCES`): arriving late, after the payer adjudicated the claim, or again, it
  is recorded but never moves the claim backwards;
* submission goes ``validated -> queued`` when the batch is written to the outbox and
  ``queued -> submitted`` only when the channel takes the file;
* a draft that never left is ``deleted`` (its charges reversed), never voided.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from medbill_core.domain.base import DomainModel
from medbill_core.domain.claim import ClaimState
from medbill_core.errors import IllegalTransition

S = ClaimState

ALLOWED_TRANSITIONS: dict[ClaimState, frozenset[ClaimState]] = {
    S.DRAFT: frozenset({S.VALIDATED, S.VOIDED, S.DELETED}),
    # a self-pay claim is billed to the patient, not sent
    S.VALIDATED: frozenset({S.DRAFT, S.QUEUED, S.SUBMITTED, S.PATIENT_BALANCE, S.VOIDED,
                            S.DELETED}),
    # An answer from the payer proves the batch left even if the send was never recorded
    # (a crash between sending and marking): a queued claim may take it directly.
    # ... and CLOSED from any of these: a void request (frequency 8) is closed when the payer's
    # reversal of the original arrives, whether or not its 277CA came first.
    S.QUEUED: frozenset({S.SUBMITTED, S.ACKNOWLEDGED, S.ACCEPTED, S.REJECTED, S.CLOSED}),
    S.SUBMITTED: frozenset({S.ACKNOWLEDGED, S.REJECTED, S.ACCEPTED, S.CLOSED}),
    S.ACKNOWLEDGED: frozenset({S.ACCEPTED, S.REJECTED, S.CLOSED}),
    S.REJECTED: frozenset({S.DRAFT, S.VOIDED}),
    S.ACCEPTED: frozenset({S.PAID, S.PARTIALLY_PAID, S.DENIED, S.REPLACED, S.VOIDED,
                           S.CLOSED}),
    S.PAID: frozenset({S.PATIENT_BALANCE, S.CLOSED, S.ACCEPTED, S.REPLACED, S.VOIDED}),
    S.PARTIALLY_PAID: frozenset({S.PAID, S.PATIENT_BALANCE, S.CLOSED, S.ACCEPTED, S.DENIED,
                                 S.REPLACED, S.VOIDED}),
    S.DENIED: frozenset({S.PAID, S.PARTIALLY_PAID, S.PATIENT_BALANCE, S.CLOSED, S.REPLACED,
                         S.VOIDED}),
    S.PATIENT_BALANCE: frozenset({S.CLOSED, S.ACCEPTED, S.REPLACED, S.VOIDED}),
    S.CLOSED: frozenset({S.PATIENT_BALANCE, S.REPLACED, S.VOIDED}),
    S.REPLACED: frozenset(),
    S.VOIDED: frozenset(),
    S.DELETED: frozenset(),
}

#: States in which the payer still owes an answer (statements wait for these). A queued
#: claim is among them: billed to the payer, its file just has not left yet.
PENDING_AT_PAYER = frozenset({S.QUEUED, S.SUBMITTED, S.ACKNOWLEDGED, S.ACCEPTED})
#: States from which nothing follows.
TERMINAL = frozenset(state for state, nxt in ALLOWED_TRANSITIONS.items() if not nxt)
#: States in which the claim's content may still be edited.
EDITABLE = frozenset({S.DRAFT})
#: Who acts next on a claim in each state: every state names one, so a work list never holds
#: a claim nobody is expected to move. ``biller``: the practice's billing staff (fix, send,
#: decide a denial); ``payer``: the payer owes an answer; ``patient``: the patient owes the
#: balance; ``nobody``: settled (a paid primary whose rest went to the next payer's claim,
#: or a closed, replaced, voided or deleted claim).
NEXT_ACTOR: dict[ClaimState, str] = {
    S.DRAFT: "biller", S.VALIDATED: "biller", S.QUEUED: "biller", S.REJECTED: "biller",
    S.DENIED: "biller", S.PARTIALLY_PAID: "biller",
    S.SUBMITTED: "payer", S.ACKNOWLEDGED: "payer", S.ACCEPTED: "payer",
    S.PATIENT_BALANCE: "patient",
    S.PAID: "nobody", S.CLOSED: "nobody", S.REPLACED: "nobody", S.VOIDED: "nobody",
    S.DELETED: "nobody",
}
#: States of a claim that has not left the practice (a status inquiry has nothing to ask).
NOT_SENT = frozenset({S.DRAFT, S.VALIDATED, S.QUEUED, S.DELETED})


#: What an acknowledgment may do, by the state it would move a claim to: the states it may
#: move a claim *from*. A 999 (or TA1) accepting the batch acknowledges a claim still in
#: transit; a 277CA accepting the claim accepts it unless the payer has already answered
#: further; a rejection (999, TA1, 277CA) rejects only a claim not yet accepted into
#: adjudication. Any other state means the acknowledgment is older than what the claim
#: already knows (a late or redelivered 999/277CA after the 835): it is recorded in the audit
#: trail and changes nothing. The general table above still allows ``paid -> accepted``, but
#: only for an 835 reversal, never for an acknowledgment.
ACK_SOURCES: dict[ClaimState, frozenset[ClaimState]] = {
    S.ACKNOWLEDGED: frozenset({S.QUEUED, S.SUBMITTED}),
    S.ACCEPTED: frozenset({S.QUEUED, S.SUBMITTED, S.ACKNOWLEDGED}),
    S.REJECTED: frozenset({S.QUEUED, S.SUBMITTED, S.ACKNOWLEDGED}),
}


def ack_moves(state: ClaimState, target: ClaimState) -> bool:
    """Whether an acknowledgment answering a claim in ``state`` moves it to ``target``
    (:data:`ACK_SOURCES`); ``False`` for a claim already there or past it."""
    return state in ACK_SOURCES.get(target, frozenset())


def advance_path(state: ClaimState, target: ClaimState, *,
                 acknowledgment: bool = False) -> tuple[ClaimState, ...]:
    """The one "advance if allowed": the transitions that take a claim in ``state`` toward
    ``target`` from a payer's answer, none when it is there already or may not go.

    * ``acknowledgment`` (999, TA1, 277CA): straight to ``target`` only while the claim still
      waits for that answer (:func:`ack_moves`): a late or repeated one never moves it.
    * otherwise (an 835): through ``accepted`` when the claim cannot reach ``target`` directly
      (its 277CA never came: the payer's adjudication proves it was accepted), then to
      ``target`` when that is allowed from there; a claim that may not go stays (or stops at
      ``accepted``).
    """
    if acknowledgment:
        return (target,) if ack_moves(state, target) else ()
    if state is target:
        return ()
    path: list[ClaimState] = []
    if target not in ALLOWED_TRANSITIONS[state] and S.ACCEPTED in ALLOWED_TRANSITIONS[state]:
        path.append(S.ACCEPTED)
        state = S.ACCEPTED
    if target in ALLOWED_TRANSITIONS[state]:
        path.append(target)
    return tuple(path)


class Transition(DomainModel):
    """One state change, as stored and as handed to lifecycle hooks."""

    claim_id: int | None
    claim_number: str
    source: ClaimState
    target: ClaimState
    actor: str = Field(min_length=1, max_length=80)
    reason: str | None = Field(default=None, max_length=500)
    at: datetime


def allowed_targets(state: ClaimState) -> frozenset[ClaimState]:
    """The states a claim in ``state`` may move to."""
    return ALLOWED_TRANSITIONS[state]


def check_transition(claim_id: object, source: ClaimState, target: ClaimState) -> None:
    """Raise :class:`IllegalTransition` unless ``source -> target`` is allowed."""
    allowed = ALLOWED_TRANSITIONS[source]
    if target not in allowed:
        raise IllegalTransition(claim_id, source.value, target.value,
                                sorted(state.value for state in allowed))

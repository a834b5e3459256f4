"""Claim lifecycle: allowed paths, illegal moves, persistence and the lifecycle hooks."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from medbill_core.domain import ClaimState
from medbill_core.errors import IllegalTransition, MedbillError
from medbill_core.hookspecs import hookimpl
from medbill_core.lifecycle import (
    ALLOWED_TRANSITIONS,
    PENDING_AT_PAYER,
    TERMINAL,
    allowed_targets,
    check_transition,
)
from medbill_core.storage.schema import ClaimRow, ClaimTransitionRow
from medbill_core.testing.factories import make_claim, make_coverage, make_patient

S = ClaimState


def test_every_state_has_a_row_and_only_replaced_voided_and_deleted_are_terminal() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(ClaimState)
    assert {S.REPLACED, S.VOIDED, S.DELETED} == TERMINAL
    # only a claim that never left may be deleted
    assert {s for s, targets in ALLOWED_TRANSITIONS.items() if S.DELETED in targets} == {
        S.DRAFT, S.VALIDATED}
    # only a rejected or validated claim goes back to draft for editing
    assert {s for s, targets in ALLOWED_TRANSITIONS.items() if S.DRAFT in targets} == {
        S.VALIDATED, S.REJECTED}
    assert {S.QUEUED, S.SUBMITTED, S.ACKNOWLEDGED, S.ACCEPTED} == PENDING_AT_PAYER


@pytest.mark.parametrize("path", [
    [S.DRAFT, S.VALIDATED, S.SUBMITTED, S.ACKNOWLEDGED, S.ACCEPTED, S.PAID, S.CLOSED],
    [S.DRAFT, S.VALIDATED, S.SUBMITTED, S.REJECTED, S.DRAFT, S.VALIDATED, S.SUBMITTED],
    [S.DRAFT, S.VALIDATED, S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_PAID, S.PATIENT_BALANCE,
     S.CLOSED],
    [S.DRAFT, S.VALIDATED, S.SUBMITTED, S.ACCEPTED, S.DENIED, S.REPLACED],
    [S.DRAFT, S.VALIDATED, S.SUBMITTED, S.ACCEPTED, S.PAID, S.ACCEPTED, S.VOIDED],
    [S.DRAFT, S.VALIDATED, S.QUEUED, S.SUBMITTED, S.ACCEPTED],
    [S.DRAFT, S.VALIDATED, S.QUEUED, S.REJECTED, S.DRAFT, S.DELETED],
])
def test_realistic_paths_are_allowed(path: list[ClaimState]) -> None:
    for source, target in itertools.pairwise(path):
        check_transition(1, source, target)


@pytest.mark.parametrize(("source", "target"), [
    (S.DRAFT, S.SUBMITTED), (S.DRAFT, S.PAID), (S.SUBMITTED, S.PAID),
    (S.REJECTED, S.ACCEPTED), (S.VOIDED, S.DRAFT), (S.REJECTED, S.PAID), (S.REPLACED, S.ACCEPTED),
    (S.PAID, S.DRAFT), (S.CLOSED, S.DRAFT), (S.QUEUED, S.DRAFT), (S.SUBMITTED, S.DELETED),
    (S.DELETED, S.DRAFT),
])
def test_illegal_moves_raise_naming_claim_states_and_options(source: ClaimState,
                                                             target: ClaimState) -> None:
    with pytest.raises(IllegalTransition) as raised:
        check_transition(77, source, target)
    message = str(raised.value)
    assert message.startswith(f"claim 77: cannot move from '{source.value}' to '{target.value}'")
    expected = ", ".join(sorted(s.value for s in allowed_targets(source))) or "none"
    assert expected in message


def _new_claim(app) -> int:
    with app.unit_of_work() as work:
        patient = work.patients.register(make_patient(3))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
        return work.claims.create(make_claim(patient.id, coverage_id=coverage.id)).id


def test_transitions_are_persisted_with_time_actor_and_reason(medbill_app) -> None:
    claim_id = _new_claim(medbill_app)
    with medbill_app.unit_of_work(actor="alice") as work:
        work.claims.transition(claim_id, S.VALIDATED, reason="scrubbed clean")
    with medbill_app.unit_of_work(actor="bob") as work:
        work.claims.transition(claim_id, S.SUBMITTED)
        work.claims.transition(claim_id, S.ACCEPTED, payer_claim_number="PCN-9")
    with medbill_app.unit_of_work() as work:
        history = work.claims.history(claim_id)
        claim = work.claims.get(claim_id)
    assert [(t.source, t.target, t.actor, t.reason) for t in history] == [
        (S.DRAFT, S.VALIDATED, "alice", "scrubbed clean"),
        (S.VALIDATED, S.SUBMITTED, "bob", None),
        (S.SUBMITTED, S.ACCEPTED, "bob", None)]
    assert history[0].at <= history[1].at <= history[2].at
    assert claim.state is S.ACCEPTED and claim.payer_claim_number == "PCN-9"


def test_illegal_transition_changes_nothing(medbill_app) -> None:
    claim_id = _new_claim(medbill_app)
    with pytest.raises(IllegalTransition), medbill_app.unit_of_work() as work:
        work.claims.transition(claim_id, S.PAID)
    with medbill_app.database.reader() as session:
        assert session.get(ClaimRow, claim_id).state == "draft"
        assert session.scalar(select(func.count()).select_from(ClaimTransitionRow)) == 0


class Recorder:
    """Lifecycle hooks that record calls; the precommit one can veto."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.veto_target: ClaimState | None = None
        self.committed_state_seen: list[str] = []
        self.app = None

    @hookimpl
    def medbill_claim_transition_precommit(self, claim, transition, context) -> None:
        self.calls.append(("pre", transition.source.value, transition.target.value))
        assert claim.state is transition.target
        if transition.target is self.veto_target:
            raise MedbillError(f"vetoed move to {transition.target.value}")

    @hookimpl
    def medbill_claim_transition_postcommit(self, claim, transition, context) -> None:
        self.calls.append(("post", transition.source.value, transition.target.value))
        # post-commit means a fresh session already sees the new state
        with self.app.database.reader() as session:
            self.committed_state_seen.append(session.get(ClaimRow, claim.id).state)


recorder_instance = Recorder()


@pytest.fixture
def medbill_extra_plugins():
    global recorder_instance
    recorder_instance = Recorder()
    return [("recorder", recorder_instance)]


def test_precommit_runs_inside_and_postcommit_after_the_transaction(medbill_app) -> None:
    recorder_instance.app = medbill_app
    claim_id = _new_claim(medbill_app)
    with medbill_app.unit_of_work() as work:
        work.claims.transition(claim_id, S.VALIDATED)
        assert recorder_instance.calls == [("pre", "draft", "validated")]  # post not yet
    assert recorder_instance.calls == [("pre", "draft", "validated"),
                                       ("post", "draft", "validated")]
    assert recorder_instance.committed_state_seen == ["validated"]


def test_precommit_veto_rolls_back_everything(medbill_app) -> None:
    recorder_instance.app = medbill_app
    recorder_instance.veto_target = S.SUBMITTED
    claim_id = _new_claim(medbill_app)
    with pytest.raises(MedbillError, match="vetoed move to submitted"), \
            medbill_app.unit_of_work() as work:
        work.claims.transition(claim_id, S.VALIDATED)
        work.claims.transition(claim_id, S.SUBMITTED)
    with medbill_app.database.reader() as session:
        assert session.get(ClaimRow, claim_id).state == "draft"
        assert session.scalar(select(func.count()).select_from(ClaimTransitionRow)) == 0
    assert ("post", "draft", "validated") not in recorder_instance.calls


def test_failing_postcommit_hook_does_not_undo_the_change(medbill_app, caplog) -> None:
    @hookimpl
    def medbill_claim_transition_postcommit(claim, transition, context) -> None:
        raise MedbillError("notification service down")

    medbill_app.hooks.manager.register(
        SimpleNamespace(medbill_claim_transition_postcommit=medbill_claim_transition_postcommit),
        name="notifier")
    recorder_instance.app = medbill_app
    claim_id = _new_claim(medbill_app)
    with medbill_app.unit_of_work() as work:
        work.claims.transition(claim_id, S.VALIDATED)
    with medbill_app.database.reader() as session:
        assert session.get(ClaimRow, claim_id).state == "validated"
    assert "post-commit hook failed" in caplog.text


def test_every_state_names_who_acts_next() -> None:
    from medbill_core.lifecycle import NEXT_ACTOR

    assert set(NEXT_ACTOR) == set(ClaimState)
    assert set(NEXT_ACTOR.values()) == {"biller", "payer", "patient", "nobody"}
    assert NEXT_ACTOR[ClaimState.DENIED] == "biller"  # a denial waits for a person's decision
    assert NEXT_ACTOR[ClaimState.QUEUED] == "biller"  # nothing reached the payer yet
    assert all(NEXT_ACTOR[state] == "nobody" for state in TERMINAL)


# -- one "advance if allowed" for payers' answers ----------------------------------------------

def test_advance_path_for_acknowledgments_moves_only_a_claim_waiting_for_them() -> None:
    from medbill_core.lifecycle import advance_path

    assert advance_path(S.SUBMITTED, S.ACKNOWLEDGED, acknowledgment=True) == (S.ACKNOWLEDGED,)
    assert advance_path(S.QUEUED, S.ACCEPTED, acknowledgment=True) == (S.ACCEPTED,)
    # late or repeated: recorded elsewhere, never moves the claim (back)
    assert advance_path(S.PAID, S.ACCEPTED, acknowledgment=True) == ()
    assert advance_path(S.ACCEPTED, S.REJECTED, acknowledgment=True) == ()
    assert advance_path(S.ACKNOWLEDGED, S.ACKNOWLEDGED, acknowledgment=True) == ()


def test_advance_path_for_an_835_passes_through_accepted() -> None:
    from medbill_core.lifecycle import advance_path

    assert advance_path(S.SUBMITTED, S.PAID) == (S.ACCEPTED, S.PAID)
    assert advance_path(S.ACKNOWLEDGED, S.DENIED) == (S.ACCEPTED, S.DENIED)
    assert advance_path(S.ACCEPTED, S.PAID) == (S.PAID,)
    assert advance_path(S.PAID, S.PAID) == ()
    # not reachable even through accepted: it stops there
    assert advance_path(S.SUBMITTED, S.PATIENT_BALANCE) == (S.ACCEPTED,)
    # nothing follows a voided claim
    assert advance_path(S.VOIDED, S.PAID) == ()

"""Submission batches validated claims a chunk at a time (memory flat in the claims waiting):
each chunk is its own outbox file and, through :func:`submit`, its own transaction."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from inproc_plugins import line_practice_config, make_line_plugin
from sqlalchemy import select

from medbill_core.config import MedbillConfig
from medbill_core.domain import ClaimState
from medbill_core.errors import NotFound, SubmissionError, ValidationFailed
from medbill_core.services import submission
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import (
    HeldClaim,
    group_control_number,
    prepare_batches,
    prepare_in_chunks,
    submit,
)
from medbill_core.storage.schema import (
    ClaimRow,
    ClaimTransitionRow,
    SubmissionRow,
    SubmissionStatus,
)
from medbill_core.testing import factories
from medbill_core.x12_envelope import envelope_numbers

S = ClaimState


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def line_plugin() -> Any:
    return make_line_plugin()


@pytest.fixture
def medbill_extra_plugins(line_plugin: Any) -> list[tuple[str, Any]]:
    return [("lineplug", line_plugin)]


def validated_claims(app: Any, count: int, *, self_pay: int = 0) -> list[int]:
    """``count`` validated claims of linepay and ``self_pay`` without a payer, by id."""
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id,
                                              factories.make_coverage(payer_key="linepay"))
        claims = [factories.make_claim(patient.id, coverage_id=coverage.id, payer_key="linepay",
                                       number=f"C{n}") for n in range(count)]
        claims += [factories.make_claim(patient.id, coverage_id=None, number=f"P{n}")
                   for n in range(self_pay)]
        ids = [c.id for c in work.claims.create_many(claims)]
        scrub_claims(work, ids)
    return ids


def files(app: Any) -> list[list[str]]:
    with app.unit_of_work() as work:
        return [list(row.claim_numbers) for row in
                work.session.scalars(select(SubmissionRow).order_by(SubmissionRow.id))]


def states(app: Any, ids: list[int]) -> dict[str, ClaimState]:
    with app.unit_of_work() as work:
        return {number: ClaimState(state) for number, state in work.session.execute(
            select(ClaimRow.claim_number, ClaimRow.state).where(ClaimRow.id.in_(ids)))}


def test_submit_sends_a_file_per_chunk_each_claim_once(medbill_app, line_plugin,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 4)
    ids = validated_claims(medbill_app, 10, self_pay=2)
    outcomes = submit(medbill_app)
    # the self-pay claims first: they share the first transaction with two claims
    assert [o.claims for o in outcomes] == [2, 4, 4]
    assert files(medbill_app) == [["C0", "C1"], ["C2", "C3", "C4", "C5"],
                                  ["C6", "C7", "C8", "C9"]]
    assert len(line_plugin.channel.submitted) == 3
    assert states(medbill_app, ids) == {
        **{f"C{n}": S.SUBMITTED for n in range(10)},
        "P0": S.PATIENT_BALANCE, "P1": S.PATIENT_BALANCE}
    assert submit(medbill_app) == []  # nothing left validated, nothing pending



def outbox(app: Any) -> list[tuple[str, int]]:
    """(status, attempts) of each outbox file, by id."""
    with app.unit_of_work() as work:
        return [(row.status, row.attempts) for row in
                work.session.scalars(select(SubmissionRow).order_by(SubmissionRow.id))]


def test_a_chunk_leaves_while_the_next_is_prepared(medbill_app, line_plugin,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The second chunk is prepared only once the first file is on its way: were the files
    sent after every chunk is prepared, the wait below would run out."""
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 2)
    ids = validated_claims(medbill_app, 6)
    first_on_its_way = threading.Event()
    prepare_chunk, submit_file = submission._prepare_chunk, line_plugin.channel.submit
    calls: list[str] = []

    def prepare(*args: Any) -> Any:
        if calls.count("prepare") == 1:
            assert first_on_its_way.wait(10), "the first file did not leave during the next chunk"
        calls.append("prepare")
        return prepare_chunk(*args)

    def send(file: Any, **kwargs: Any) -> Any:
        calls.append(f"send {','.join(file.claim_numbers)}")
        first_on_its_way.set()
        return submit_file(file, **kwargs)

    monkeypatch.setattr(submission, "_prepare_chunk", prepare)
    monkeypatch.setattr(line_plugin.channel, "submit", send)
    outcomes = submit(medbill_app)
    assert calls[:2] == ["prepare", "send C0,C1"]
    assert sorted(c for c in calls if c.startswith("send")) == ["send C0,C1", "send C2,C3",
                                                                 "send C4,C5"]
    assert [(o.claims, o.status) for o in outcomes] == [(2, "sent")] * 3
    assert [o.submission_id for o in outcomes] == sorted(o.submission_id for o in outcomes)
    assert outbox(medbill_app) == [("sent", 1)] * 3
    assert set(states(medbill_app, ids).values()) == {S.SUBMITTED}


def test_files_on_their_way_are_recorded_when_preparing_fails(
        medbill_app, line_plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 2)
    ids = validated_claims(medbill_app, 6)
    prepare_chunk = submission._prepare_chunk
    calls = []

    def prepare(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return prepare_chunk(*args)

    monkeypatch.setattr(submission, "_prepare_chunk", prepare)
    with pytest.raises(RuntimeError, match="disk full"):
        submit(medbill_app)
    # the two chunks committed before were sent and recorded (none left "sending")
    assert outbox(medbill_app) == [("sent", 1), ("sent", 1)]
    assert len(line_plugin.channel.submitted) == 2
    assert states(medbill_app, ids) == {
        **{f"C{n}": S.SUBMITTED for n in range(4)}, "C4": S.VALIDATED, "C5": S.VALIDATED}


def test_a_file_the_channel_refuses_to_take_waits_for_the_next_run(
        medbill_app, line_plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not tried twice in one run (the trailing send of files pending from before skips it),
    and sent by the next run; files left pending by an earlier run are sent too."""
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 2)
    ids = validated_claims(medbill_app, 4)
    with medbill_app.unit_of_work() as work:  # a file an earlier run could not send
        earlier = prepare_batches(work, claim_ids=ids[:2])
    submit_file = line_plugin.channel.submit
    down: list[str] = []

    def send(file: Any, **kwargs: Any) -> Any:
        if file.claim_numbers == ["C2", "C3"]:
            down.append(file.control_number)
            raise SubmissionError("clearinghouse unreachable")
        return submit_file(file, **kwargs)

    monkeypatch.setattr(line_plugin.channel, "submit", send)
    outcomes = submit(medbill_app)
    assert [(o.submission_id, o.status, o.error) for o in outcomes] == [
        (earlier[0], "sent", None),
        (earlier[0] + 1, "pending", "clearinghouse unreachable")]
    assert len(down) == 1
    assert outbox(medbill_app) == [("sent", 1), ("pending", 1)]
    assert states(medbill_app, ids) == {"C0": S.SUBMITTED, "C1": S.SUBMITTED,
                                        "C2": S.QUEUED, "C3": S.QUEUED}
    monkeypatch.setattr(line_plugin.channel, "submit", submit_file)
    assert [(o.status, o.claims) for o in submit(medbill_app)] == [("sent", 2)]
    assert outbox(medbill_app) == [("sent", 1), (SubmissionStatus.SENT, 2)]
    assert set(states(medbill_app, ids).values()) == {S.SUBMITTED}

def test_one_transaction_batches_every_chunk(medbill_app, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 3)
    ids = validated_claims(medbill_app, 7)
    with medbill_app.unit_of_work() as work:
        created = prepare_batches(work)
    assert len(created) == 3
    assert files(medbill_app) == [["C0", "C1", "C2"], ["C3", "C4", "C5"], ["C6"]]
    assert set(states(medbill_app, ids).values()) == {S.QUEUED}


def test_claims_asked_for_are_checked_before_any_chunk_is_written(
        medbill_app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 2)
    ids = validated_claims(medbill_app, 5)
    with medbill_app.unit_of_work() as work:
        work.claims.transition(ids[4], S.DRAFT, reason="fixing it")
    with pytest.raises(ValidationFailed, match="claim C4: state: draft"):
        prepare_in_chunks(medbill_app, claim_ids=ids)
    with pytest.raises(NotFound):
        prepare_in_chunks(medbill_app, claim_ids=[ids[0], 999_999])
    assert files(medbill_app) == []  # nothing written
    assert prepare_in_chunks(medbill_app, claim_ids=ids[1:4]) != []
    assert files(medbill_app) == [["C1", "C2"], ["C3"]]
    assert states(medbill_app, ids) == {"C0": S.VALIDATED, "C1": S.QUEUED, "C2": S.QUEUED,
                                        "C3": S.QUEUED, "C4": S.DRAFT}


@pytest.mark.parametrize("content", [
    "GS*HC*S*R*20260101*1200*77*X*005010X222A1~ST*837*0001~SE*2*0001~GE*1*77~IEA*1*1~",
    "\nGS*HC*S*R*20260101*1200* 0123456789012345678901 *X*005010X222A1~",
    "ST*837*1~",
    "GS*HC~GS*HC*S*R*1*2*9*X~",
    "GS*HC*S*R*1*2**X~",
])
def test_group_control_number_reads_as_the_envelope_does(content: str) -> None:
    isa = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200"
           "*^*00501*000000001*0*T*:~")
    text = isa + content
    groups = envelope_numbers(text).group_control_numbers
    assert group_control_number(text) == (groups[0][:20] if groups else None)
    assert group_control_number("\ufeff " + text) == group_control_number(text)
    assert group_control_number("not X12") is None


# -- a claim the adapter cannot encode ----------------------------------------------------------

def history(app: Any, claim_id: int) -> list[tuple[str, str, str | None]]:
    with app.unit_of_work() as work:
        return [(row.source, row.target, row.reason) for row in work.session.scalars(
            select(ClaimTransitionRow).where(ClaimTransitionRow.claim_id == claim_id)
            .order_by(ClaimTransitionRow.id))]


def test_a_claim_the_adapter_cannot_encode_goes_back_to_draft_and_the_rest_is_sent(
        medbill_app, line_plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    """One claim the payer's format cannot carry used to stop the payer's whole batch (the
    others stayed validated, unsent): now it alone goes back to draft, its reason in its
    history, and the others are encoded without it and sent."""
    ids = validated_claims(medbill_app, 4)
    monkeypatch.setattr(line_plugin.adapter, "unencodable", frozenset({"C1", "C3"}))
    held: list[HeldClaim] = []
    outcomes = submit(medbill_app, on_held=held.append)
    assert [(o.claims, o.status) for o in outcomes] == [(2, "sent")]
    assert files(medbill_app) == [["C0", "C2"]]
    [sent] = line_plugin.channel.submitted.values()
    assert [line.split("|")[0] for line in sent.content.splitlines()] == ["C0", "C2"]
    assert states(medbill_app, ids) == {"C0": S.SUBMITTED, "C1": S.DRAFT,
                                        "C2": S.SUBMITTED, "C3": S.DRAFT}
    assert held == [
        HeldClaim(ids[1], "C1", "linepay", "line 2: a value with the separator '|'"),
        HeldClaim(ids[3], "C3", "linepay", "line 3: a value with the separator '|'")]
    assert history(medbill_app, ids[1])[-1] == (
        "validated", "draft",
        "not sent, the payer's file cannot carry it: line 2: a value with the separator '|'")
    # corrected (here: the format takes it now), scrubbed and submitted: it leaves
    monkeypatch.setattr(line_plugin.adapter, "unencodable", frozenset())
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, [ids[1], ids[3]])
    assert [(o.claims, o.status) for o in submit(medbill_app)] == [(2, "sent")]
    assert set(states(medbill_app, ids).values()) == {S.SUBMITTED}


def test_a_chunk_of_claims_none_of_which_can_be_encoded_writes_no_file(
        medbill_app, line_plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submission, "PREPARE_CHUNK", 2)
    ids = validated_claims(medbill_app, 5)
    monkeypatch.setattr(line_plugin.adapter, "unencodable", frozenset({"C2", "C3"}))
    held: list[str] = []
    created = prepare_in_chunks(medbill_app, on_held=lambda item: held.append(
        f"{item.claim_number}: {states(medbill_app, ids)[item.claim_number]}"))
    assert len(created) == 2
    assert files(medbill_app) == [["C0", "C1"], ["C4"]]
    # told once its chunk is committed: the claim is a draft by then
    assert held == ["C2: draft", "C3: draft"]
    assert states(medbill_app, ids) == {"C0": S.QUEUED, "C1": S.QUEUED, "C2": S.DRAFT,
                                        "C3": S.DRAFT, "C4": S.QUEUED}


def test_one_transaction_holds_back_the_claim_it_cannot_encode(
        medbill_app, line_plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = validated_claims(medbill_app, 3)
    monkeypatch.setattr(line_plugin.adapter, "unencodable", frozenset({"C0"}))
    held: list[HeldClaim] = []
    with medbill_app.unit_of_work() as work:
        prepare_batches(work, on_held=held.append)
    assert [item.claim_number for item in held] == ["C0"]
    assert files(medbill_app) == [["C1", "C2"]]
    assert states(medbill_app, ids) == {"C0": S.DRAFT, "C1": S.QUEUED, "C2": S.QUEUED}


def test_an_encoding_error_naming_no_claim_still_stops_the_batch_writing_nothing(
        medbill_app, line_plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = validated_claims(medbill_app, 3)
    monkeypatch.setattr(line_plugin.adapter, "unencodable", frozenset({"", "C1"}))
    with pytest.raises(SubmissionError, match="payer linepay: no sender ID to write"):
        submit(medbill_app)
    assert files(medbill_app) == []
    assert set(states(medbill_app, ids).values()) == {S.VALIDATED}

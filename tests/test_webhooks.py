"""Webhooks: events written with their change, signed deliveries retried until a 2xx, the
delivery log -- against a real receiver on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from dns_support import FakeDNS
from inproc_plugins import line_practice_config, make_line_plugin
from sqlalchemy import func, select, update

from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    AckStatus,
    Adjustment,
    AdjustmentGroup,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    FunctionalAcknowledgment,
    Remittance,
    StatusCode,
)
from medbill_core.domain.accounts import Payment
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.hookspecs import hookimpl
from medbill_core.services import webhooks
from medbill_core.services.claims import ClaimMove
from medbill_core.services.payments import Overpayment, list_payments, record_payment
from medbill_core.services.remittance import post_remittance
from medbill_core.services.responses import apply_decoded
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.statements import run_statements
from medbill_core.services.submission import submit
from medbill_core.services.webhook_signing import signature_header, verify_signature
from medbill_core.storage.schema import (
    SubmissionRow,
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionRow,
    utcnow,
)
from medbill_core.storage.webhook_outbox import pending_events, record
from medbill_core.testing import factories
from medbill_core.testing.sql import sent_statements
from medbill_core.testing.webhook_receiver import Receiver

D = Decimal
S = ClaimState
CLAIM_EVENTS = ["claim.submitted", "claim.accepted", "claim.rejected", "claim.denied",
                "claim.paid", "claim.voided"]


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def line_plugin():
    return make_line_plugin()


@pytest.fixture
def listener():
    """A plugin that sees every billing event, and vetoes them when ``veto`` is set."""
    seen: list[tuple[str, dict]] = []
    state = SimpleNamespace(seen=seen, veto=False)

    @hookimpl
    def medbill_billing_event_precommit(event_type, data, context) -> None:
        seen.append((event_type, dict(data)))
        if state.veto:
            raise ValidationFailed(event_type, [("veto", "refused by a plugin")])

    state.medbill_billing_event_precommit = medbill_billing_event_precommit
    return state


@pytest.fixture
def medbill_extra_plugins(line_plugin, listener):
    return [("lineplug", line_plugin), ("listener", listener)]


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def make_claims(app, count: int) -> list[int]:
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="linepay"))
        return [work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, payer_key="linepay", number=f"WH{n}",
            lines=2)).id for n in range(1, count + 1)]


def subscribe(app, url: str, events: list[str]) -> webhooks.NewSubscription:
    with app.unit_of_work() as work:
        return webhooks.add_subscription(work, url, events)


def stored_events(app) -> list[tuple[str, dict]]:
    with app.unit_of_work(read_only=True) as work:
        return [(row.event_type, row.payload) for row in work.session.scalars(
            select(WebhookEventRow).order_by(WebhookEventRow.id))]


def test_every_event_arrives_once_signed_after_two_failed_attempts(medbill_app,
                                                                   receiver) -> None:
    created = subscribe(medbill_app, receiver.url, CLAIM_EVENTS)
    ids = make_claims(medbill_app, 3)
    with medbill_app.unit_of_work() as work:  # one batch: each claim submitted, then accepted
        work.claims.transition_many(
            [ClaimMove(i, target) for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED)
             for i in ids])
    assert [event_type for event_type, _ in stored_events(medbill_app)] == \
        ["claim.submitted"] * 3 + ["claim.accepted"] * 3

    start = utcnow()
    first = webhooks.deliver_due(medbill_app, now=start)
    assert [(o.status, o.status_code, o.error) for o in first] == [("failed", 500, "HTTP 500")] * 6
    assert webhooks.deliver_due(medbill_app, now=start) == []  # nothing due until a minute on
    second = webhooks.deliver_due(medbill_app, now=start + timedelta(minutes=1, seconds=7))
    assert [(o.status, o.status_code, o.error) for o in second] == \
        [("failed", None, "connection closed by the receiver")] * 6
    assert webhooks.deliver_due(medbill_app, now=start + timedelta(minutes=2)) == []
    third = webhooks.deliver_due(medbill_app, now=start + timedelta(minutes=8))
    assert [(o.status, o.status_code) for o in third] == [("delivered", 200)] * 6
    assert webhooks.deliver_due(medbill_app, now=start + timedelta(days=2)) == []

    accepted = receiver.accepted()
    assert len(accepted) == 6
    assert Counter(r.event_id for r in accepted) == Counter({o.event_id: 1 for o in third})
    assert len(receiver.requests) == 18  # three attempts of each event, no more
    for request in receiver.requests:
        assert verify_signature(created.secret, request.headers["Medbill-Signature"],
                                request.body)
        assert not verify_signature("whsec_other", request.headers["Medbill-Signature"],
                                    request.body)
        body = json.loads(request.body)
        assert body["id"] == request.event_id == request.headers["Medbill-Event-Id"]
        assert set(body) == {"id", "type", "created", "data"}
    bodies = [json.loads(r.body) for r in accepted]
    assert sorted((b["type"], b["data"]["claim_id"]) for b in bodies) == sorted(
        [("claim.submitted", i) for i in ids] + [("claim.accepted", i) for i in ids])
    submitted = next(b["data"] for b in bodies
                     if b["type"] == "claim.submitted" and b["data"]["claim_id"] == ids[0])
    assert submitted == {"claim_id": ids[0], "claim_number": "WH1", "patient_id": 1,
                         "payer_key": "linepay", "from_state": "validated",
                         "state": "submitted", "payer_claim_number": None,
                         "total_charge": submitted["total_charge"], "frequency": "1",
                         "replaces_claim_id": None, "actor": "tester"}
    assert D(submitted["total_charge"]) > 0

    with medbill_app.unit_of_work(read_only=True) as work:
        log = webhooks.deliveries(work, created.subscription.id)
    assert len(log) == 6
    assert {(d.status, d.attempts, d.last_status_code, d.last_error) for d in log} == {
        ("delivered", 3, 200, None)}
    assert all(d.delivered_at is not None and d.next_attempt_at is None for d in log)


def test_batch_transitions_write_the_outbox_with_one_executemany(medbill_app,
                                                                 receiver) -> None:
    subscribe(medbill_app, receiver.url, ["claim.submitted", "claim.accepted"])
    ids = make_claims(medbill_app, 5)
    with sent_statements(medbill_app.database.engine,
                         lambda s: "webhook_" in s and s.lstrip().upper().startswith("INSERT")
                         ) as inserts, medbill_app.unit_of_work() as work:
        work.claims.transition_many(
            [ClaimMove(i, target) for i in ids for target in (S.VALIDATED, S.SUBMITTED,
                                                               S.ACCEPTED)])
    assert len(inserts) == 2  # the events, then their deliveries: one executemany each
    assert "webhook_events" in inserts[0] and "webhook_deliveries" in inserts[1]
    assert len(stored_events(medbill_app)) == 10


def test_a_rolled_back_change_leaves_no_event(medbill_app, receiver) -> None:
    subscribe(medbill_app, receiver.url, CLAIM_EVENTS)
    ids = make_claims(medbill_app, 1)
    with pytest.raises(RuntimeError), medbill_app.unit_of_work() as work:
        work.claims.transition(ids[0], S.VALIDATED)
        work.claims.transition(ids[0], S.SUBMITTED)
        assert [e["event_type"] for e in pending_events(work.session)] == ["claim.submitted"]
        raise RuntimeError("the change fails after the transition")
    assert stored_events(medbill_app) == []
    with medbill_app.unit_of_work() as work:  # a savepoint rolled back takes its events along
        work.claims.transition(ids[0], S.VALIDATED)
        savepoint = work.session.begin_nested()
        work.claims.transition(ids[0], S.SUBMITTED)
        savepoint.rollback()
        work.claims.transition(ids[0], S.VOIDED)
    assert [event_type for event_type, _ in stored_events(medbill_app)] == ["claim.voided"]
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 1


def test_events_nobody_subscribed_to_are_not_stored(medbill_app, receiver) -> None:
    ids = make_claims(medbill_app, 1)
    with medbill_app.unit_of_work() as work:
        work.claims.transition(ids[0], S.VALIDATED)
        work.claims.transition(ids[0], S.SUBMITTED)
    assert stored_events(medbill_app) == []
    subscribe(medbill_app, receiver.url, ["claim.denied"])
    with medbill_app.unit_of_work() as work:
        work.claims.transition(ids[0], S.ACCEPTED)
    assert stored_events(medbill_app) == []  # claim.accepted: not what it asked for


def test_a_demo_like_cycle_produces_the_expected_events(medbill_app, receiver, listener,
                                                       tmp_path) -> None:
    receiver.fail_first = 0
    created = subscribe(medbill_app, receiver.url,
                        [t for t in webhooks.EVENT_TYPES if t != "ping"])
    ids = make_claims(medbill_app, 3)
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
    submit(medbill_app)
    with medbill_app.unit_of_work() as work:
        control = work.session.scalar(select(SubmissionRow.control_number))
        apply_decoded(work, FunctionalAcknowledgment(
            group_control_number=control, functional_id="HC", status=AckStatus.ACCEPTED))
    with medbill_app.unit_of_work() as work:
        apply_decoded(work, ClaimAcknowledgmentBatch(claims=[
            ClaimAcknowledgment(claim_number=f"WH{n}", status=ClaimAckStatus.ACCEPTED,
                                payer_claim_number=f"PCN-{n}",
                                status_codes=[StatusCode(category="A1", code="20")])
            for n in (1, 2)] + [
            ClaimAcknowledgment(claim_number="WH3", status=ClaimAckStatus.REJECTED,
                                status_codes=[StatusCode(category="A7", code="562")])]))
    payments = [ClaimPayment(
        claim_number=f"WH{n}", status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
        paid=D("100.00"), patient_responsibility=D(pr), payer_claim_number=f"PCN-{n}",
        adjustments=[Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                                amount=D("43.50") - D(pr))]
        + ([Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY, reason_code="2",
                       amount=D(pr))] if D(pr) else []))
        for n, pr in ((1, "20.00"), (2, "0"))]
    with medbill_app.unit_of_work() as work:
        post_remittance(work, Remittance(
            trace_number="TRN-WH", payment_amount=D("200.00"), payer_name="Line Payer",
            payer_id="ACME1", payee_name="Clinic", payment_date=date(2026, 3, 1),
            claims=payments))
    run_statements(medbill_app, cycle="2026-03", out_dir=tmp_path, renderer="text")
    with medbill_app.unit_of_work() as work:
        record_payment(work, Payment(patient_id=1, amount=D("20.00"), method="cash",
                                     received_on=date(2026, 3, 20)))
    outcomes = webhooks.deliver_due(medbill_app)
    assert outcomes and {o.status for o in outcomes} == {"delivered"}
    received = [json.loads(r.body) for r in receiver.accepted()]
    types = [b["type"] for b in received]
    assert {"claim.submitted", "claim.acknowledged", "claim.accepted", "claim.rejected",
            "claim.paid", "remittance.posted", "statement.produced", "payment.posted"} \
        <= set(types)
    assert [t for t, _ in listener.seen] == ["remittance.posted", "statement.produced",
                                             "payment.posted"]
    statement = next(b["data"] for b in received if b["type"] == "statement.produced")
    assert (statement["patient_ids"], statement["balance_due"]) == ([1], "20.00")
    payment = next(b["data"] for b in received if b["type"] == "payment.posted")
    assert (payment["patient_id"], payment["amount"], payment["method"]) == (1, "20.00", "cash")
    # deliveries go out several at a time, so the receiver's order is not the events' order:
    # the outbox's order is (each event's place in it is its row id)
    with medbill_app.unit_of_work() as work:
        recorded = list(work.session.scalars(
            select(WebhookEventRow.event_type).order_by(WebhookEventRow.id)))
    assert recorded.index("claim.submitted") < recorded.index("claim.accepted") \
        < recorded.index("claim.paid") < recorded.index("remittance.posted")
    assert sorted(recorded) == sorted(types)
    assert Counter(types)["claim.accepted"] == 2 and Counter(types)["claim.rejected"] == 1
    remitted = next(b["data"] for b in received if b["type"] == "remittance.posted")
    assert (remitted["trace_number"], remitted["payment_amount"], remitted["claims_posted"]) \
        == ("TRN-WH", "200.00", 2)
    paid = sorted(b["data"]["claim_number"] for b in received if b["type"] == "claim.paid")
    assert paid == ["WH1", "WH2"]
    for request in receiver.accepted():
        assert verify_signature(created.secret, request.headers["Medbill-Signature"],
                                request.body)
    # no PHI: the factories' patient name, birth date and member id appear in no body
    patient, coverage = factories.make_patient(1), factories.make_coverage()
    for request in receiver.requests:
        text = request.body.decode()
        for value in (patient.last_name, patient.first_name, patient.birth_date.isoformat(),
                      coverage.member_id):
            assert value not in text


def test_a_plugin_raising_in_the_billing_event_hook_rolls_the_change_back(
        medbill_app, receiver, listener) -> None:
    subscribe(medbill_app, receiver.url, ["payment.posted"])
    make_claims(medbill_app, 1)
    listener.veto = True
    with pytest.raises(ValidationFailed, match="refused by a plugin"), \
            medbill_app.unit_of_work() as work:
        record_payment(work, Payment(patient_id=1, amount=D("5.00"), method="cash",
                                     received_on=date(2026, 3, 20)),
                       overpayment=Overpayment.CREDIT)
    assert [t for t, _ in listener.seen] == ["payment.posted"]
    assert stored_events(medbill_app) == []
    with medbill_app.unit_of_work(read_only=True) as work:
        assert list_payments(work, patient_id=1) == []


def test_two_senders_at_once_never_send_the_same_delivery(medbill_app, receiver) -> None:
    receiver.fail_first, receiver.delay = 0, 0.05
    subscribe(medbill_app, receiver.url, ["claim.submitted"])
    ids = make_claims(medbill_app, 8)
    with medbill_app.unit_of_work() as work:
        work.claims.transition_many([ClaimMove(i, t) for i in ids
                                     for t in (S.VALIDATED, S.SUBMITTED)])
    results: list[list[webhooks.Outcome]] = []
    barrier = threading.Barrier(2)

    def sender() -> None:
        barrier.wait()
        results.append(webhooks.deliver_due(medbill_app, limit=5))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sent = [o.delivery_id for outcome in results for o in outcome]
    assert len(sent) == len(set(sent))
    webhooks.deliver_due(medbill_app)  # the rest
    assert Counter(r.event_id for r in receiver.requests).most_common(1)[0][1] == 1
    assert len(receiver.accepted()) == 8


def test_a_delivery_that_never_succeeds_dies_after_the_last_retry(medbill_app,
                                                                  receiver) -> None:
    receiver.fail_first = 99
    created = subscribe(medbill_app, receiver.url, ["claim.voided"])
    ids = make_claims(medbill_app, 1)
    with medbill_app.unit_of_work() as work:
        work.claims.transition(ids[0], S.VALIDATED)
        work.claims.transition(ids[0], S.SUBMITTED)
        work.claims.transition(ids[0], S.REJECTED)
        work.claims.void(ids[0], reason="test")  # a rejected claim: voided here only
    moment = utcnow()
    statuses = []
    for _ in range(webhooks.MAX_ATTEMPTS):
        [outcome] = webhooks.deliver_due(medbill_app, now=moment)
        statuses.append(outcome.status)
        moment += timedelta(hours=14)  # past the longest wait (12 h + up to 10 %)
    assert statuses == ["failed"] * (webhooks.MAX_ATTEMPTS - 1) + ["dead"]
    assert webhooks.deliver_due(medbill_app, now=moment + timedelta(days=30)) == []
    with medbill_app.unit_of_work(read_only=True) as work:
        [entry] = webhooks.deliveries(work, created.subscription.id)
    assert (entry.status, entry.attempts, entry.next_attempt_at) == ("dead", 7, None)


def test_retry_waits_grow_with_jitter() -> None:
    import random

    rng = random.Random(7)
    waits = [webhooks.retry_delay(n, rng=rng) for n in range(1, webhooks.MAX_ATTEMPTS)]
    for wait, base in zip(waits, webhooks.RETRY_DELAYS, strict=True):
        assert base <= wait <= base * 1.1
    assert [d.total_seconds() / 60 for d in webhooks.RETRY_DELAYS] == [1, 5, 30, 120, 360, 720]
    assert len({round(w / b, 6) for w, b in zip(waits, webhooks.RETRY_DELAYS, strict=True)}) > 1
    assert sum(webhooks.RETRY_DELAYS, timedelta()) < timedelta(hours=24)


def test_signature_verification_refuses_what_it_should() -> None:
    body = b'{"id":"e1"}'
    header = signature_header("whsec_a", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature("whsec_a", header, body, now=1_700_000_100)
    assert not verify_signature("whsec_a", header, body + b" ", now=1_700_000_100)
    assert not verify_signature("whsec_b", header, body, now=1_700_000_100)
    assert not verify_signature("whsec_a", header, body, now=1_700_000_000 + 301)
    assert not verify_signature("whsec_a", header, body, tolerance=10, now=1_700_000_011)
    for bad in ("", "t=,v1=", "v1=abc", "t=1700000000", "garbage", "t=x,v1=y"):
        assert not verify_signature("whsec_a", bad, body, now=1_700_000_000)
    rotated = f"{header},v1={'0' * 64}"  # several signatures: any matching one is enough
    assert verify_signature("whsec_a", rotated, body, now=1_700_000_000)


def test_subscriptions_refuse_bad_urls_and_unknown_events(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        for url, problem in (("ftp://example.com/x", "http(s)"),
                             ("http://example.com/hook", "must use https"),
                             ("https://user:pw@example.com/", "user name"),
                             ("https://", "http(s)")):
            with pytest.raises(ValidationFailed, match="url") as raised:
                webhooks.add_subscription(work, url, ["claim.paid"])
            assert problem in str(raised.value)
        with pytest.raises(ValidationFailed, match="unknown event type 'claim.payed'"):
            webhooks.add_subscription(work, "https://example.com/h", ["claim.payed"])
        with pytest.raises(ValidationFailed, match="at least one"):
            webhooks.add_subscription(work, "https://example.com/h", [" "])
        created = webhooks.add_subscription(work, "https://example.com/h",
                                            ["claim.paid", "claim.paid", "claim.denied"])
    assert created.subscription.event_types == ["claim.paid", "claim.denied"]
    assert created.secret.startswith("whsec_") and len(created.secret) == 70
    with medbill_app.unit_of_work() as work:
        webhooks.remove_subscription(work, created.subscription.id)
        with pytest.raises(NotFound):
            webhooks.remove_subscription(work, created.subscription.id)
        assert webhooks.list_subscriptions(work) == []
        assert [s.active for s in webhooks.list_subscriptions(work, include_removed=True)] \
            == [False]


def test_ping_and_appeal_deadlines(medbill_app, receiver) -> None:
    receiver.fail_first = 0
    created = subscribe(medbill_app, receiver.url, ["appeal.deadline_near"])
    outcome = webhooks.send_test_event(medbill_app, created.subscription.id)
    assert (outcome.status, outcome.status_code) == ("delivered", 200)
    assert json.loads(receiver.accepted()[0].body)["type"] == "ping"
    with medbill_app.unit_of_work() as work:  # an appeal due in 5 days is recorded once
        record(work.session, "appeal.deadline_near", {"appeal_id": 1},
               dedupe_key="appeal.deadline_near:1:2026-01-01")
    with medbill_app.unit_of_work() as work:
        record(work.session, "appeal.deadline_near", {"appeal_id": 1},
               dedupe_key="appeal.deadline_near:1:2026-01-01")
    assert [t for t, _ in stored_events(medbill_app)] == ["ping", "appeal.deadline_near"]


def test_the_workers_webhooks_job_delivers_what_is_due(medbill_app, receiver) -> None:
    from medbill_core.jobs import JOB_KINDS
    from medbill_core.jobs import tasks as job_tasks

    receiver.fail_first = 0
    subscribe(medbill_app, receiver.url, ["claim.submitted"])
    ids = make_claims(medbill_app, 2)
    with medbill_app.unit_of_work() as work:
        work.claims.transition_many([ClaimMove(i, t) for i in ids
                                     for t in (S.VALIDATED, S.SUBMITTED)])
    job_tasks.use(medbill_app)
    try:
        job_tasks.webhooks.func(None, limit=10)  # fewer than the limit: no follow-up deferred
    finally:
        job_tasks.use(None)  # type: ignore[arg-type]
    assert sorted(json.loads(r.body)["data"]["claim_id"] for r in receiver.accepted()) == ids
    assert "webhooks" in JOB_KINDS


def test_a_delivery_another_sender_holds_is_skipped_not_waited_for(
        medbill_app, medbill_backend, receiver) -> None:
    if medbill_backend != "postgres":
        pytest.skip("SQLite runs one writer at a time: there is no row lock to skip")
    receiver.fail_first = 0
    subscribe(medbill_app, receiver.url, ["claim.submitted"])
    ids = make_claims(medbill_app, 3)
    with medbill_app.unit_of_work() as work:
        work.claims.transition_many([ClaimMove(i, t) for i in ids
                                     for t in (S.VALIDATED, S.SUBMITTED)])
    with medbill_app.database.engine.connect() as other_sender:
        held_tx = other_sender.begin()
        held = other_sender.execute(select(WebhookDeliveryRow.id).order_by(
            WebhookDeliveryRow.id).limit(1).with_for_update()).scalar_one()
        results: list[list[webhooks.Outcome]] = []
        sender = threading.Thread(target=lambda: results.append(
            webhooks.deliver_due(medbill_app)), daemon=True)
        sender.start()
        sender.join(20)
        waited = sender.is_alive()  # blocked on the held row instead of skipping it
        held_tx.rollback()
        sender.join(20)
    assert not waited
    [outcomes] = results
    assert len(outcomes) == 2 and held not in {o.delivery_id for o in outcomes}
    assert [o.delivery_id for o in webhooks.deliver_due(medbill_app)] == [held]
    assert len(receiver.accepted()) == 3


# -- a subscription made over the API reaches public addresses only ------------------------------

@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    return FakeDNS(monkeypatch)


@pytest.fixture
def port_listener():
    """A TCP port on 127.0.0.1 that counts the connections made to it (and says nothing)."""
    server = socket.create_server(("127.0.0.1", 0))
    state = SimpleNamespace(port=server.getsockname()[1], connections=0)

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            state.connections += 1
            connection.close()

    threading.Thread(target=accept, daemon=True).start()
    yield state
    server.close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def subscribe_over_the_api(app, url: str) -> webhooks.NewSubscription:
    with app.unit_of_work() as work:
        return webhooks.add_subscription(work, url, ["payment.posted"], local_allowed=False)


def a_payment_posted(app) -> None:
    with app.unit_of_work() as work:
        record(work.session, "payment.posted", {"payment_id": 1})


@pytest.mark.parametrize("form", [
    "2130706433", "0x7f000001", "017700000001", "127.1", "0x7f.1", "0177.0.0.1", "0",
    "10.1", "192.168.257", "127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_addresses_are_read_as_the_system_resolver_reads_them(form: str) -> None:
    try:
        resolved = socket.getaddrinfo(form, 443, type=socket.SOCK_STREAM,
                                      flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pytest.skip(f"this system's resolver does not take {form!r} as an address")
    assert webhooks.host_address(form) == ipaddress.ip_address(resolved[0][4][0])
    assert not webhooks.is_public(webhooks.host_address(form))


def test_a_name_rebound_to_the_server_after_subscribing_is_not_delivered_to(
        medbill_app, dns, port_listener) -> None:
    """Public when subscribing, 127.0.0.1 when delivering: refused before any connection,
    with the same words a closed port would get, and tried again later (checked again)."""
    dns.answer("hooks.example.net", "93.184.215.14")
    created = subscribe_over_the_api(
        medbill_app, f"https://hooks.example.net:{port_listener.port}/hook")
    dns.answer("hooks.example.net", "127.0.0.1")
    a_payment_posted(medbill_app)
    start = utcnow()
    [outcome] = webhooks.deliver_due(medbill_app, now=start)
    assert (outcome.status, outcome.status_code, outcome.error) == (
        "failed", None, webhooks.REFUSED_DESTINATION)
    assert port_listener.connections == 0
    with medbill_app.unit_of_work(read_only=True) as work:
        [entry] = webhooks.deliveries(work, created.subscription.id)
    assert (entry.status, entry.attempts, entry.last_error) == (
        "failed", 1, webhooks.REFUSED_DESTINATION)
    assert webhooks.deliver_due(medbill_app, now=start) == []  # on the usual schedule
    dns.answer("hooks.example.net", "93.184.215.14", "10.0.0.3")  # one private is enough
    [again] = webhooks.deliver_due(medbill_app, now=start + timedelta(minutes=2))
    assert (again.status, again.error) == ("failed", webhooks.REFUSED_DESTINATION)
    assert port_listener.connections == 0


def test_a_stored_internal_url_is_not_delivered_to_nor_its_ports_told_apart(
        medbill_app, dns, port_listener) -> None:
    """Subscriptions the API took before its check knew these spellings (the migration marks
    them not local): nothing is sent, and an open port reads like a closed one."""
    urls = [f"https://2130706433:{port_listener.port}/hook",
            f"https://127.1:{port_listener.port}/hook",
            f"https://localhost.:{port_listener.port}/hook",
            f"https://2130706433:{closed_port()}/hook"]
    with medbill_app.unit_of_work() as work:
        for url in urls:
            webhooks.add_subscription(work, url, ["payment.posted"])
        work.session.execute(update(WebhookSubscriptionRow).values(local_allowed=False))
    a_payment_posted(medbill_app)
    outcomes = webhooks.deliver_due(medbill_app)
    assert [(o.status, o.status_code, o.error) for o in outcomes] == [
        ("failed", None, webhooks.REFUSED_DESTINATION)] * len(urls)
    assert port_listener.connections == 0


def test_a_delivery_connects_to_the_address_it_checked(medbill_app, dns,
                                                       monkeypatch) -> None:
    """The name is looked up once per attempt: a second answer (rebinding between the check
    and the connection) is never asked for, and a public receiver's error stays useful."""
    dns.answer("hooks.example.net", "93.184.215.14")
    subscribe_over_the_api(medbill_app, "https://hooks.example.net:8443/hook")
    dns.rebind("hooks.example.net", "127.0.0.1")
    connected: list[tuple[str, int]] = []

    def refuse(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "create_connection", refuse)
    a_payment_posted(medbill_app)
    asked_before = len(dns.asked)
    [outcome] = webhooks.deliver_due(medbill_app)
    assert connected == [("93.184.215.14", 8443)]
    assert dns.asked[asked_before:] == ["hooks.example.net"]
    assert (outcome.status, outcome.error) == ("failed", "connection refused")


def test_https_to_the_checked_address_still_names_the_host(medbill_app, dns,
                                                          tmp_path, monkeypatch) -> None:
    """The connection goes to the address, TLS to the name: SNI, the certificate check and
    the Host header name the host (a local receiver here: the command line's subscription)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl makes the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.example.net",
                    "-addext", "subjectAltName=DNS:hooks.example.net"],
                   check=True, capture_output=True)
    names: list[str | None] = []
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server_tls.sni_callback = lambda _sock, name, _context: names.append(name)
    receiver = Receiver(fail_first=0).start()
    try:
        assert receiver.server is not None
        receiver.server.socket = server_tls.wrap_socket(receiver.server.socket,
                                                        server_side=True)
        port = receiver.server.server_address[1]
        trusted = ssl.create_default_context
        monkeypatch.setattr(ssl, "create_default_context",
                            lambda *a, **k: trusted(cafile=str(cert)))
        dns.answer("hooks.example.net", "127.0.0.1")
        with medbill_app.unit_of_work() as work:
            webhooks.add_subscription(work, f"https://hooks.example.net:{port}/hook",
                                      ["payment.posted"], local_allowed=True)
        a_payment_posted(medbill_app)
        [outcome] = webhooks.deliver_due(medbill_app)
    finally:
        receiver.stop()
    assert (outcome.status, outcome.status_code) == ("delivered", 200)
    assert names == ["hooks.example.net"]
    assert receiver.accepted()[0].headers["Host"] == f"hooks.example.net:{port}"


def test_the_migration_keeps_local_only_what_the_api_could_not_have_made(medbill_app) -> None:
    """Migration 0042: subscriptions to a non-public address written plainly or localhost
    (the API refused those) keep reaching the local network; the others do not."""
    from migration_support import migrate_again_from

    local = ["http://127.0.0.1:9000/hook", "https://localhost/hook", "https://10.0.0.5/h",
             "https://[::1]/hook"]
    other = ["https://2130706433/hook", "https://localhost./hook", "https://ehr.example.com/h"]
    with medbill_app.unit_of_work() as work:
        for url in local + other:
            webhooks.add_subscription(work, url, ["claim.paid"], local_allowed=True)
    migrate_again_from(medbill_app.database, "0041")
    with medbill_app.unit_of_work(read_only=True) as work:
        kept = dict(work.session.execute(select(WebhookSubscriptionRow.url,
                                                WebhookSubscriptionRow.local_allowed)).all())
    assert kept == {url: url in local for url in local + other}

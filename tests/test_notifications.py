"""Text messages and e-mails about statements: fixed templates without PHI, consent first,
queued in the change's transaction, sent from the outbox with retries that never send a
message twice (an in-process notifier). On SQLite and PostgreSQL."""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from inproc_plugins import make_line_plugin
from notify_support import NOTIFIER, plugin
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.errors import NotFound, PermissionDenied, ValidationFailed
from medbill_core.notifiers import NotificationChannel
from medbill_core.services.notifications import (
    TEMPLATE_VARIABLES,
    TEMPLATES,
    ContactChoice,
    NotificationStatus,
    contact_preference,
    deliver_due,
    get_notification,
    list_notifications,
    render,
    send_link,
    set_contact_preference,
    statement_ready,
    template_variables,
)
from medbill_core.services.pay_links import link_url, masked_codes
from medbill_core.services.statements import run_statements
from medbill_core.services.webhooks import MAX_ATTEMPTS
from medbill_core.storage.schema import AuditEventRow, NotificationRow, StatementRow, utcnow
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()
LINK = "https://pay.example.test/s/Xy7kQ2"


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    return medbill_config.model_copy(update={"notifier": "fake"})


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    NOTIFIER.reset()
    return [("fake_notify", plugin()), ("lineplug", make_line_plugin())]  # text statements


_numbers = iter(range(700, 10_000))


def owing(app: Medbill, charge: str = "80.00", **patient: Any) -> int:
    """A new self-pay patient (their own addressee, ``P<id>``) owing ``charge``."""
    number = next(_numbers)
    with app.unit_of_work() as work:
        registered = work.patients.register(factories.make_patient(number, **patient))
        day = TODAY - timedelta(days=20)
        claim = factories.make_claim(registered.id, coverage_id=None, number=f"NT{number}",
                                     service_date=day)
        claim = claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=day, charge=D(charge))]})
        work.claims.create(claim)
    assert registered.id is not None
    return registered.id


def statement_of(app: Medbill, patient_id: int, tmp_path: Path) -> int:
    run_statements(app, cycle=f"N{patient_id}", out_dir=tmp_path / "out", renderer="text",
                   force=True)
    with app.unit_of_work(read_only=True) as work:
        found = work.session.scalar(select(StatementRow.id).where(
            StatementRow.patient_id == patient_id))
    assert found is not None
    return found


@pytest.fixture
def texted(medbill_app: Medbill, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """(patient id, statement id) of a patient who agreed to texts."""
    patient_id = owing(medbill_app, "80.00", phone="5555550123")
    with medbill_app.unit_of_work() as work:
        set_contact_preference(work, f"P{patient_id}", ContactChoice.SMS,
                               "verbal, at check-in")
    yield patient_id, statement_of(medbill_app, patient_id, tmp_path)


# -- the templates ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_uses_only_the_practice_and_the_link(name: str) -> None:
    template = TEMPLATES[name]
    for text in (template.sms, template.email_subject, template.email_body):
        assert template_variables(text) <= TEMPLATE_VARIABLES, text
        assert "$practice" in template.sms and "$link" in template.sms
    assert "$link" in template.email_body


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("channel", list(NotificationChannel))
def test_every_rendered_message_carries_no_phi_no_amount_no_date(
        name: str, channel: NotificationChannel) -> None:
    subject, body = render(name, channel, practice="Elm Street Pediatrics", link=LINK)
    text = f"{subject or ''}\n{body}"
    assert "Elm Street Pediatrics" in body and LINK in body
    without = text.replace("Elm Street Pediatrics", "").replace(LINK, "")
    assert not any(character.isdigit() for character in without), without  # no amount, date
    assert "$" not in without  # no dollar amount, no unfilled variable
    for word in ("balance", "owe", "due", "patient", "dear"):
        assert word not in without.lower(), word
    if channel is NotificationChannel.SMS:
        assert subject is None and len(body) <= 160


def test_a_template_with_another_variable_is_caught() -> None:
    assert template_variables("$practice: $first_name owes $balance ${link}") == {
        "practice", "first_name", "balance", "link"}
    assert template_variables("costs $5") == {"$"}  # a stray dollar sign
    assert string.Template("$practice").substitute(practice="x") == "x"


# -- consent and queueing ---------------------------------------------------------------------

def test_the_statement_ready_message_goes_to_who_agreed(medbill_app: Medbill,
                                                        texted: tuple[int, int]) -> None:
    patient_id, statement_id = texted
    with medbill_app.unit_of_work() as work:
        view = statement_ready(work, statement_id, LINK)
        assert view is not None
        again = statement_ready(work, statement_id, LINK)  # announced twice: queued once
    assert again is not None and again.id == view.id
    assert (view.channel, view.recipient, view.status, view.statement_id, view.notifier) == (
        NotificationChannel.SMS, "***-***-0123", NotificationStatus.PENDING, statement_id,
        "fake")
    practice = medbill_app.config.require_practice().name
    assert view.body == (f"{practice}: a new billing statement is ready. View it and pay "
                         f"securely at {LINK}")
    with medbill_app.unit_of_work(read_only=True) as work:
        patient = work.patients.get(patient_id)
        rows = work.session.scalars(select(NotificationRow)).all()
    assert len(rows) == 1 and rows[0].recipient == "5555550123"
    for phi in (patient.first_name, patient.last_name, patient.account_number,
                patient.birth_date.isoformat(), "80.00"):
        assert phi not in view.body


def test_nothing_is_queued_without_consent_or_after_opting_out(
        medbill_app: Medbill, tmp_path: Path) -> None:
    never_asked = owing(medbill_app)
    opted_out = owing(medbill_app)
    with medbill_app.unit_of_work() as work:
        set_contact_preference(work, f"P{opted_out}", ContactChoice.SMS, "signed form")
        set_contact_preference(work, f"P{opted_out}", ContactChoice.NONE)
        assert contact_preference(work, f"P{never_asked}") is None
        preference = contact_preference(work, f"P{opted_out}")
    assert preference is not None
    assert (preference.channel, preference.consent) == (ContactChoice.NONE, None)
    for patient_id in (never_asked, opted_out):
        statement_id = statement_of(medbill_app, patient_id, tmp_path)
        with medbill_app.unit_of_work() as work:
            assert statement_ready(work, statement_id, LINK) is None
    with medbill_app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="has not agreed"):
            send_link(work, f"P{never_asked}", LINK)
        assert list_notifications(work) == []


def test_consent_needs_its_words_and_a_number_or_address_on_file(medbill_app: Medbill) -> None:
    patient_id = owing(medbill_app)  # the factory's patient has a phone, no e-mail
    with medbill_app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="consent"):
            set_contact_preference(work, f"P{patient_id}", ContactChoice.SMS, "  ")
        with pytest.raises(ValidationFailed, match="no e-mail address on file"):
            set_contact_preference(work, f"P{patient_id}", ContactChoice.EMAIL, "verbal")
        with pytest.raises(ValidationFailed, match="G<guarantor id>"):
            set_contact_preference(work, "X1", ContactChoice.SMS, "verbal")
        with pytest.raises(NotFound):
            set_contact_preference(work, "G99999", ContactChoice.SMS, "verbal")
    with medbill_app.unit_of_work(read_only=True) as work:
        events = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "contact_preference.set")).all()
    assert events == []


def test_an_e_mail_has_a_subject_and_goes_to_the_address(medbill_app: Medbill,
                                                         tmp_path: Path) -> None:
    patient_id = owing(medbill_app, email="pat@example.org")
    with medbill_app.unit_of_work() as work:
        set_contact_preference(work, f"P{patient_id}", ContactChoice.EMAIL, "portal sign-up")
    statement_id = statement_of(medbill_app, patient_id, tmp_path)
    with medbill_app.unit_of_work() as work:
        view = statement_ready(work, statement_id, LINK)
    assert view is not None and view.recipient == "p***@example.org"
    assert view.subject is not None and view.subject.endswith("your billing statement is ready")
    [outcome] = deliver_due(medbill_app)
    assert outcome.status is NotificationStatus.SENT
    [message] = NOTIFIER.delivered
    assert (message.channel, message.recipient, message.subject) == (
        NotificationChannel.EMAIL, "pat@example.org", view.subject)


@pytest.mark.parametrize("link", ["http://pay.example.test/x", "ftp://x/y", "https://a b",
                                  "https://user:pw@pay.example.test/x", ""])
def test_a_link_that_is_not_https_is_refused(medbill_app: Medbill, texted: tuple[int, int],
                                             link: str) -> None:
    _, statement_id = texted
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="link_url"):
        statement_ready(work, statement_id, link)


def test_a_rolled_back_statement_run_leaves_no_message(medbill_app: Medbill,
                                                       texted: tuple[int, int]) -> None:
    _, statement_id = texted
    with pytest.raises(RuntimeError), medbill_app.unit_of_work() as work:
        statement_ready(work, statement_id, LINK)
        raise RuntimeError("the run failed after queueing")
    with medbill_app.unit_of_work(read_only=True) as work:
        assert list_notifications(work) == []


# -- delivering ------------------------------------------------------------------------------

def _queued(app: Medbill, statement_id: int) -> int:
    with app.unit_of_work() as work:
        view = statement_ready(work, statement_id, LINK)
    assert view is not None
    return view.id


def _view(app: Medbill, notification_id: int) -> Any:
    with app.unit_of_work(read_only=True) as work:
        return get_notification(work, notification_id)


def test_a_failed_send_is_retried_later_and_sent_once(medbill_app: Medbill,
                                                      texted: tuple[int, int]) -> None:
    _, statement_id = texted
    notification_id = _queued(medbill_app, statement_id)
    NOTIFIER.fail_next = 2
    [first] = deliver_due(medbill_app)
    assert (first.status, first.error) == (NotificationStatus.FAILED,
                                           "notifier 'fake' is unreachable (ConnectError)")
    assert deliver_due(medbill_app) == []  # not due again yet
    view = _view(medbill_app, notification_id)
    assert (view.attempts, view.status) == (1, NotificationStatus.FAILED)
    assert view.next_attempt_at is not None
    later = view.next_attempt_at + timedelta(seconds=1)
    [second] = deliver_due(medbill_app, now=later)
    assert second.status is NotificationStatus.FAILED
    [third] = deliver_due(medbill_app, now=later + timedelta(hours=1))
    assert third.status is NotificationStatus.SENT
    assert deliver_due(medbill_app, now=later + timedelta(days=2)) == []
    assert len(NOTIFIER.delivered) == 1
    view = _view(medbill_app, notification_id)
    assert (view.status, view.attempts, view.provider_id, view.last_error) == (
        NotificationStatus.SENT, 3, "msg_1", None)
    with medbill_app.unit_of_work(read_only=True) as work:
        actions = [event.action for event in work.session.scalars(
            select(AuditEventRow).where(AuditEventRow.entity_type == "notification")
            .order_by(AuditEventRow.id))]
    assert actions == ["notification.queue", "notification.sent"]


def test_an_answer_lost_on_the_way_back_does_not_send_twice(
        medbill_app: Medbill, texted: tuple[int, int]) -> None:
    """The provider sent it but its answer never came: the retry carries the same
    idempotency key, and the provider answers with the first message."""
    _, statement_id = texted
    notification_id = _queued(medbill_app, statement_id)
    NOTIFIER.lose_answers = 1
    [first] = deliver_due(medbill_app)
    assert first.status is NotificationStatus.FAILED
    [second] = deliver_due(medbill_app, now=utcnow() + timedelta(hours=1))
    assert second.status is NotificationStatus.SENT
    assert len(NOTIFIER.delivered) == 1
    assert _view(medbill_app, notification_id).provider_id == "msg_1"


def test_a_claimed_message_is_not_taken_by_another_sender(
        medbill_app: Medbill, texted: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """While one sender holds a message (its lease), a second sender finds nothing due."""
    from medbill_core.services import notifications

    _, statement_id = texted
    _queued(medbill_app, statement_id)
    seen: list[list[Any]] = []
    real_attempt = notifications._attempt

    def attempt_while_another_sender_looks(app: Medbill, item: Any) -> Any:
        seen.append(deliver_due(medbill_app))  # a second sender, during the first's send
        return real_attempt(app, item)

    monkeypatch.setattr(notifications, "_attempt", attempt_while_another_sender_looks)
    [outcome] = deliver_due(medbill_app)
    assert outcome.status is NotificationStatus.SENT
    assert seen == [[]]
    assert len(NOTIFIER.delivered) == 1


def test_a_refused_recipient_is_not_tried_again(medbill_app: Medbill,
                                                texted: tuple[int, int]) -> None:
    _, statement_id = texted
    notification_id = _queued(medbill_app, statement_id)
    NOTIFIER.refused.add("5555550123")
    [outcome] = deliver_due(medbill_app)
    assert outcome.status is NotificationStatus.REFUSED
    assert deliver_due(medbill_app, now=utcnow() + timedelta(days=3)) == []
    view = _view(medbill_app, notification_id)
    assert (view.status, view.last_error, view.next_attempt_at) == (
        NotificationStatus.REFUSED, "notifier 'fake' refused the recipient (opted out)", None)
    assert "5555550123" not in (view.last_error or "")
    assert NOTIFIER.delivered == []


def test_after_the_last_attempt_a_message_is_dead(medbill_app: Medbill,
                                                  texted: tuple[int, int]) -> None:
    _, statement_id = texted
    notification_id = _queued(medbill_app, statement_id)
    NOTIFIER.fail_next = MAX_ATTEMPTS
    moment = utcnow()
    for _ in range(MAX_ATTEMPTS):
        outcomes = deliver_due(medbill_app, now=moment)
        assert len(outcomes) == 1
        moment += timedelta(days=1)
    assert outcomes[0].status is NotificationStatus.DEAD
    assert deliver_due(medbill_app, now=moment) == []
    assert _view(medbill_app, notification_id).attempts == MAX_ATTEMPTS
    assert NOTIFIER.delivered == []


def test_without_a_notifier_configured_nothing_is_queued(
        medbill_app: Medbill, texted: tuple[int, int]) -> None:
    _, statement_id = texted
    medbill_app.config = medbill_app.config.model_copy(update={"notifier": None})
    with medbill_app.unit_of_work() as work:
        assert statement_ready(work, statement_id, LINK) is None


def test_sending_by_hand_and_reading_need_their_roles(medbill_app: Medbill,
                                                      texted: tuple[int, int]) -> None:
    from medbill_core.domain.identity import Principal, PrincipalKind, Role

    patient_id, _ = texted
    practice_id = medbill_app.default_practice_id()
    assert practice_id is not None
    front, auditor = (Principal(kind=PrincipalKind.USER, id=9, name=role.value,
                                practice_id=practice_id, role=role)
                      for role in (Role.FRONT_DESK, Role.AUDITOR))
    with medbill_app.unit_of_work(principal=front) as work, pytest.raises(PermissionDenied):
        send_link(work, f"P{patient_id}", LINK)
    with medbill_app.unit_of_work() as work:
        view = send_link(work, f"P{patient_id}", LINK)
    assert view.template == "payment_link"
    with medbill_app.unit_of_work(principal=auditor, read_only=True) as work:
        assert [item.id for item in list_notifications(work)] == [view.id]


def test_http_lists_and_reads_messages_masked(medbill_app: Medbill,
                                              texted: tuple[int, int]) -> None:
    from fastapi.testclient import TestClient
    from test_http_accounts import AUDITOR, FRONT, authenticate
    from test_http_api import assert_problem

    from medbill_core.http import create_app

    _, statement_id = texted
    notification_id = _queued(medbill_app, statement_id)
    NOTIFIER.fail_next = 1
    deliver_due(medbill_app)
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as client:
        listed = client.get("/v1/notifications?status=failed", headers=FRONT)
        assert listed.status_code == 200, listed.text
        [item] = listed.json()["data"]
        assert (item["id"], item["recipient"], item["status"], item["attempts"],
                item["last_error"]) == (notification_id, "***-***-0123", "failed", 1,
                                        "notifier 'fake' is unreachable (ConnectError)")
        assert "5555550123" not in listed.text
        read = client.get(f"/v1/notifications/{notification_id}", headers=AUDITOR)
        assert read.json() == item
        assert client.get("/v1/notifications?status=sent", headers=FRONT).json() == {
            "data": [], "next_cursor": None}
        assert_problem(client.get("/v1/notifications/999999", headers=FRONT), 404, "not-found")


def test_the_workers_notifications_job_sends_what_is_due(medbill_app: Medbill,
                                                         texted: tuple[int, int]) -> None:
    from medbill_core.jobs import JOB_KINDS
    from medbill_core.jobs import tasks as job_tasks

    _, statement_id = texted
    notification_id = _queued(medbill_app, statement_id)
    job_tasks.use(medbill_app)
    try:
        job_tasks.notifications.func(None, limit=10)  # fewer than the limit: no follow-up
    finally:
        job_tasks.use(None)  # type: ignore[arg-type]
    assert _view(medbill_app, notification_id).status is NotificationStatus.SENT
    assert [m.reference for m in NOTIFIER.delivered] == [f"notification {notification_id}"]
    assert "notifications" in JOB_KINDS


def test_two_senders_at_once_send_each_message_once(
        medbill_app: Medbill, medbill_backend: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers' jobs running at the same moment: each message is claimed by one of them
    (PostgreSQL's ``FOR UPDATE SKIP LOCKED``; SQLite's single writer), and sent once."""
    import threading
    import time

    if medbill_backend != "postgres":
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's row locks")
    ids = []
    for _ in range(4):
        patient_id = owing(medbill_app, phone="5555550123")
        with medbill_app.unit_of_work() as work:
            set_contact_preference(work, f"P{patient_id}", ContactChoice.SMS, "verbal")
        ids.append(_queued(medbill_app, statement_of(medbill_app, patient_id, tmp_path)))
    real_send = NOTIFIER.send

    def slow_send(message: Any) -> Any:
        time.sleep(0.2)  # the provider answers slowly: the other sender looks meanwhile
        return real_send(message)

    monkeypatch.setattr(NOTIFIER, "send", slow_send)
    outcomes: list[list[Any]] = []
    start = threading.Barrier(2)

    def sender() -> None:
        start.wait()
        outcomes.append(deliver_due(medbill_app))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = sorted(o.notification_id for batch in outcomes for o in batch)
    assert sent == sorted(ids)
    assert len(NOTIFIER.delivered) == 4


def test_consent_withdrawn_after_queueing_cancels_the_message(
        medbill_app: Medbill, texted: tuple[int, int]) -> None:
    patient_id, statement_id = texted
    notification_id = _queued(medbill_app, statement_id)
    with medbill_app.unit_of_work() as work:
        set_contact_preference(work, f"P{patient_id}", ContactChoice.NONE)
    assert deliver_due(medbill_app) == []
    view = _view(medbill_app, notification_id)
    assert (view.status, view.attempts, view.next_attempt_at) == (
        NotificationStatus.CANCELED, 0, None)
    assert NOTIFIER.delivered == []
    with medbill_app.unit_of_work(read_only=True) as work:
        canceled = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "notification.canceled")).all()
    assert [event.entity_id for event in canceled] == [str(notification_id)]


# -- a pay link's code in a message ------------------------------------------------------------

CODED_LINK = link_url("https://pay.example.test", "K7QM4XPDR2WA")


def _stored_body(app: Medbill, notification_id: int) -> str:
    with app.unit_of_work(read_only=True) as work:
        row = work.session.get(NotificationRow, notification_id)
        assert row is not None
        return row.body


def test_a_pay_links_code_is_shown_masked_and_kept_only_until_the_message_is_sent(
        medbill_app: Medbill, texted: tuple[int, int]) -> None:
    """The code opens the patient's pay page (with the birth date): staff reading the outbox
    see its last four characters; the stored message keeps it whole only while it may still
    be sent (a retry sends the same words)."""
    _, statement_id = texted
    with medbill_app.unit_of_work() as work:
        queued = statement_ready(work, statement_id, CODED_LINK)
    assert queued is not None
    assert "/pay?code=****-****-R2WA" in queued.body and "K7QM" not in queued.body
    assert "code=K7QM-4XPD-R2WA" in _stored_body(medbill_app, queued.id)
    NOTIFIER.fail_next = 1
    [failed] = deliver_due(medbill_app)
    assert failed.status is NotificationStatus.FAILED
    assert "code=K7QM-4XPD-R2WA" in _stored_body(medbill_app, queued.id)  # to be sent again
    [sent] = deliver_due(medbill_app, now=utcnow() + timedelta(hours=1))
    assert sent.status is NotificationStatus.SENT
    [message] = NOTIFIER.delivered
    assert message.body.endswith("/pay?code=K7QM-4XPD-R2WA")  # the person gets it whole
    stored = _stored_body(medbill_app, queued.id)
    assert "K7QM" not in stored and stored.endswith("/pay?code=****-****-R2WA")
    assert "K7QM" not in _view(medbill_app, queued.id).body


def test_a_canceled_message_keeps_no_code(medbill_app: Medbill,
                                          texted: tuple[int, int]) -> None:
    patient_id, statement_id = texted
    with medbill_app.unit_of_work() as work:
        queued = statement_ready(work, statement_id, CODED_LINK)
        set_contact_preference(work, f"P{patient_id}", ContactChoice.NONE)
    assert queued is not None and deliver_due(medbill_app) == []
    assert _view(medbill_app, queued.id).status is NotificationStatus.CANCELED
    assert "K7QM" not in _stored_body(medbill_app, queued.id)


def test_masked_codes_hides_each_code_of_a_link_and_nothing_else() -> None:
    text = (f"pay at {CODED_LINK} or https://x.test/pay?a=1&code=23456-789A-BCDE "
            "code K7QM-4XPD-R2WA as printed; https://x.test/pay?code=ABCD-EFGH-JKMN")
    assert masked_codes(text) == (
        "pay at https://pay.example.test/pay?code=****-****-R2WA or "
        "https://x.test/pay?a=1&code=23456-789A-BCDE code K7QM-4XPD-R2WA as printed; "
        "https://x.test/pay?code=****-****-JKMN")

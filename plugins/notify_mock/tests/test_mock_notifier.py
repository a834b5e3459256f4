"""The mock notifier: records each message once per idempotency key (in memory and an
owner-only JSONL file read back at start-up), fails and refuses on demand, and is registered
through the notifiers hook with its settings."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from medbill_notify_mock.notifier import MockNotifier
from medbill_notify_mock.plugin import messages_path
from medbill_notify_mock.settings import NotifyMockSettings

from medbill_core.api import (
    MedbillConfig,
    NotificationChannel,
    NotifierError,
    OutgoingMessage,
    SentMessage,
)
from medbill_core.api.testing import PluginHooks


def message(key: str = "medbill-notification-statement_ready:1",
            recipient: str = "5555550123") -> OutgoingMessage:
    return OutgoingMessage(channel=NotificationChannel.SMS, recipient=recipient, subject=None,
                           body="Elm Pediatrics: a new billing statement is ready. View it "
                                "and pay securely at https://pay.example.test/s/x",
                           idempotency_key=key, reference="notification 1")


def test_a_message_is_recorded_once_per_idempotency_key(tmp_path: Path) -> None:
    path = tmp_path / "out" / "messages.jsonl"
    notifier = MockNotifier(messages_file=path)
    first = notifier.send(message())
    again = notifier.send(message())
    other = notifier.send(message("medbill-notification-statement_ready:2"))
    assert (first, again, other) == (SentMessage("mock_msg_1"), SentMessage("mock_msg_1"),
                                     SentMessage("mock_msg_2"))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(line["id"], line["recipient"], line["channel"]) for line in lines] == [
        ("mock_msg_1", "5555550123", "sms"), ("mock_msg_2", "5555550123", "sms")]
    assert lines[0]["body"] == message().body
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [m.id for m in notifier.messages] == ["mock_msg_1", "mock_msg_2"]


def test_a_restarted_mock_still_knows_the_keys_it_took(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    MockNotifier(messages_file=path).send(message())
    restarted = MockNotifier(messages_file=path)
    assert restarted.send(message()) == SentMessage("mock_msg_1")
    assert restarted.send(message("k2")) == SentMessage("mock_msg_2")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


def test_a_file_that_is_not_messages_is_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text("not json\n", encoding="utf-8")
    with pytest.raises(NotifierError, match=r"^notifier 'mock': messages.jsonl line 1 is not "
                                            r"a recorded message$"):
        MockNotifier(messages_file=path)


def test_it_fails_the_next_sends_then_sends() -> None:
    notifier = MockNotifier(NotifyMockSettings(messages_file=None, fail_first=1))
    with pytest.raises(NotifierError) as caught:
        notifier.send(message())
    assert caught.value.permanent is False
    notifier.fail_next(1)
    with pytest.raises(NotifierError):
        notifier.send(message())
    assert notifier.messages == []
    assert notifier.send(message()) == SentMessage("mock_msg_1")


def test_a_refused_recipient_is_a_permanent_error() -> None:
    notifier = MockNotifier(NotifyMockSettings(messages_file=None, refuse=["5555550199"]))
    notifier.refuse("Pat@Example.org")
    for recipient in ("5555550199", "pat@example.org"):
        with pytest.raises(NotifierError) as caught:
            notifier.send(message(recipient=recipient))
        assert caught.value.permanent is True
        assert recipient not in str(caught.value)  # no recipient in an error
    assert notifier.messages == []


def test_it_is_registered_through_the_notifiers_hook(tmp_path: Path) -> None:
    config = MedbillConfig(plugins=["notify_mock"], notifier="mock",
                           plugin_settings={"notify_mock": {"fail_first": 2}},
                           source=tmp_path / "medbill.toml")
    hooks = PluginHooks.start(config)
    [(plugin, notifier)] = hooks.register_notifiers()
    assert plugin == "notify_mock" and isinstance(notifier, MockNotifier)
    assert hooks.context.notifier() is hooks.context.notifiers["mock"]
    settings = hooks.context.settings_for("notify_mock")
    assert isinstance(settings, NotifyMockSettings) and settings.fail_first == 2
    assert messages_path(hooks.context, settings) == tmp_path / "notify-mock" / "messages.jsonl"

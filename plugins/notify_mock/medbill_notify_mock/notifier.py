"""The mock notifier: records what a real provider would send.

A message is recorded once per idempotency key: the outbox's retry of a message whose answer
was lost gets the first message's id back and records nothing new, as a provider honouring
idempotency keys answers. The file keeps every message as it would have gone out (the
recipient and the text: owner-only, like every file of medbill's that may name a person), and
is read back at start-up, so a restarted process still knows the keys it took.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from medbill_core.api import (
    PRIVATE_FILE_MODE,
    NotificationChannel,
    Notifier,
    NotifierError,
    OutgoingMessage,
    SentMessage,
    private_dir,
)
from medbill_notify_mock.settings import NotifyMockSettings


@dataclass(frozen=True)
class RecordedMessage:
    """One message as the mock recorded it."""

    id: str
    idempotency_key: str
    channel: str
    recipient: str
    subject: str | None
    body: str
    reference: str
    at: str

    def as_json(self) -> dict[str, str | None]:
        return {"id": self.id, "idempotency_key": self.idempotency_key,
                "channel": self.channel, "recipient": self.recipient,
                "subject": self.subject, "body": self.body, "reference": self.reference,
                "at": self.at}


class MockNotifier(Notifier):
    identifier = "mock"
    verbose_name = "Mock text and e-mail sender (records messages, sends nothing)"
    channels = frozenset({NotificationChannel.SMS, NotificationChannel.EMAIL})

    def __init__(self, settings: NotifyMockSettings | None = None, *,
                 messages_file: Path | None = None) -> None:
        self.settings = settings or NotifyMockSettings(messages_file=None)
        self.messages_file = messages_file
        self.messages: list[RecordedMessage] = []
        self._by_key: dict[str, RecordedMessage] = {}
        self._failures_left = self.settings.fail_first
        self._refused = {value.strip().lower() for value in self.settings.refuse}
        self._lock = threading.Lock()
        if messages_file is not None and messages_file.exists():
            self._load(messages_file)

    # -- what tests steer ----------------------------------------------------------------------
    def fail_next(self, count: int) -> None:
        """Fail the next ``count`` sends (an outage of the provider)."""
        with self._lock:
            self._failures_left = count

    def refuse(self, recipient: str) -> None:
        """Refuse ``recipient`` from now on (an opted-out number)."""
        with self._lock:
            self._refused.add(recipient.strip().lower())

    # -- the notifier ------------------------------------------------------------------------
    def send(self, message: OutgoingMessage) -> SentMessage:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                raise NotifierError("notifier 'mock' is unavailable (a simulated outage)")
            if message.recipient.strip().lower() in self._refused:
                raise NotifierError("notifier 'mock' refused the recipient (opted out or "
                                    "invalid)", permanent=True)
            known = self._by_key.get(message.idempotency_key)
            if known is not None:
                return SentMessage(known.id)
            recorded = RecordedMessage(
                id=f"mock_msg_{len(self.messages) + 1}",
                idempotency_key=message.idempotency_key, channel=message.channel.value,
                recipient=message.recipient, subject=message.subject, body=message.body,
                reference=message.reference, at=datetime.now(UTC).isoformat())
            if self.messages_file is not None:
                self._append(self.messages_file, recorded)
            self.messages.append(recorded)
            self._by_key[recorded.idempotency_key] = recorded
            return SentMessage(recorded.id)

    # -- the file ----------------------------------------------------------------------------
    @staticmethod
    def _append(path: Path, recorded: RecordedMessage) -> None:
        private_dir(path.parent)
        line = json.dumps(recorded.as_json(), ensure_ascii=False, sort_keys=True) + "\n"
        # created owner-only; appended whole lines (one write each) so a reader never sees
        # half a message
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
        try:
            os.write(descriptor, line.encode("utf-8"))
        finally:
            os.close(descriptor)

    def _load(self, path: Path) -> None:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                recorded = RecordedMessage(**{name: data.get(name) for name in (
                    "id", "idempotency_key", "channel", "recipient", "subject", "body",
                    "reference", "at")})
            except (ValueError, TypeError):
                raise NotifierError(f"notifier 'mock': {path.name} line {number} is not a "
                                    "recorded message") from None
            self.messages.append(recorded)
            self._by_key[recorded.idempotency_key] = recorded

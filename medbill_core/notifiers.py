"""Notifiers: the base class a text-message or e-mail plugin implements, and what it answers.

A plugin registers :class:`Notifier` instances through
:func:`~medbill_core.hookspecs.medbill_register_notifiers`; the installation names the one it
sends through in ``medbill.toml`` (``[medbill] notifier = "mock"``, the plugin enabled in
``plugins``). The core's notification service (:mod:`medbill_core.services.notifications`)
builds every message from fixed templates and hands it to the notifier from its outbox, so a
notifier never decides what is said.

Rules every implementation follows:

* **No PHI** is in a message: its text names the practice and carries a link, nothing else
  (no patient name, balance, date of service). The recipient's phone number or e-mail
  address goes to the provider and nowhere else: never into a log or an error message.
* **Retries are safe**: :attr:`OutgoingMessage.idempotency_key` is the same for every attempt
  at one message; a provider that takes idempotency keys gets it, so an answer lost on the way
  back never sends the message twice.
* **Errors** are :class:`NotifierError`: ``permanent=False`` (the provider is unreachable or
  busy: the outbox tries again later) or ``permanent=True`` (the provider refuses this
  recipient: an invalid or opted-out number; never tried again). Its text is shown to staff:
  one line, no recipient, no message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from medbill_core.errors import MedbillError

__all__ = ["NotificationChannel", "Notifier", "NotifierError", "OutgoingMessage", "SentMessage"]


class NotificationChannel(StrEnum):
    """How a message reaches a person."""

    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send.

    :param channel: sms or email.
    :param recipient: the phone number (ten digits, US) or e-mail address (PHI: give it to
        the provider only).
    :param subject: the e-mail's subject (``None`` for a text message).
    :param body: the text, built from a fixed template (the practice's name and a link).
    :param idempotency_key: the same for every attempt at this message.
    :param reference: our reference (``notification 12``), for the provider's own records.
    """

    channel: NotificationChannel
    recipient: str
    subject: str | None
    body: str
    idempotency_key: str
    reference: str


@dataclass(frozen=True)
class SentMessage:
    """The provider took the message: its id for it (a message SID, a queue id)."""

    provider_id: str


class NotifierError(MedbillError):
    """A message was not sent: ``permanent`` when the provider refuses the recipient (never
    retried), otherwise a failure the outbox retries. The text is safe to show."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Notifier:
    """A text-message or e-mail provider. Subclass it, set :attr:`identifier`,
    :attr:`verbose_name` and :attr:`channels`, and implement :meth:`send`.

    .. versionadded:: 1.5
    """

    #: Unique, stable, lower-case name used in configuration (``notifier = "mock"``).
    identifier: ClassVar[str] = ""
    #: Human-readable name for listings.
    verbose_name: ClassVar[str] = ""
    #: The channels this provider sends on.
    channels: ClassVar[frozenset[NotificationChannel]] = frozenset()

    def supports(self, channel: NotificationChannel) -> bool:
        return channel in self.channels

    def send(self, message: OutgoingMessage) -> SentMessage:
        """Send one message and return the provider's id for it.

        :raises NotifierError: not sent (see the module docstring for ``permanent``).
        """
        raise NotifierError(f"notifier {self.identifier!r} cannot send messages",
                            permanent=True)

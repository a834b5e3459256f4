"""Register a text-message sender; the installation names it in ``medbill.toml``
(``[medbill] notifier = "acmesms"``). The core writes every message (the practice's name and
a link) and retries from its outbox: a notifier only sends."""

from medbill_core.api import (
    NotificationChannel,
    Notifier,
    NotifierError,
    OutgoingMessage,
    SentMessage,
    hookimpl,
)


class AcmeSms(Notifier):
    identifier = "acmesms"
    verbose_name = "AcmeSMS text messages"
    channels = frozenset({NotificationChannel.SMS})

    def send(self, message: OutgoingMessage) -> SentMessage:
        if not message.recipient.isdigit():
            # permanent: never retried; the error names no recipient
            raise NotifierError("notifier 'acmesms' refused the number", permanent=True)
        # the provider's API call goes here, with message.idempotency_key so that a retry
        # whose first answer was lost does not send twice
        return SentMessage(provider_id=f"acme_{message.idempotency_key}")


@hookimpl
def medbill_register_notifiers(context):
    return [AcmeSms()]

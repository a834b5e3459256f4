"""medbill plugin ``notify_mock``: a text-message and e-mail sender that sends nothing. It
records each message (an owner-only JSONL file and memory), answers a repeated idempotency key
with the first message's id, and fails or refuses on demand, so the notification outbox's
retries can be tested end to end. See the plugin README."""

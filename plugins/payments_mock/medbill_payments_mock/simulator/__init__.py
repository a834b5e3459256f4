"""The gateway simulator: payment intents, refunds, idempotency keys, signed webhooks."""

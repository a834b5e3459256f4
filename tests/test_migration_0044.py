"""Migration 0044 on a database holding messages (both backends): a settled message (sent,
refused, dead, canceled) keeps no live pay-link code in its subject or body; one still to be
sent (pending, failed) keeps its code; other text is untouched."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from medbill_core.services.pay_links import masked_codes
from medbill_core.storage.database import Database

NOW = datetime(2026, 12, 1, 12, 0)
LINK = "https://pay.example/pay?code=AB2C-D3EF-R2WA"
BODY = f"Clinic: your statement is ready. Pay at {LINK} Reply STOP to opt out."
MASKED = BODY.replace("AB2C-D3EF-R2WA", "****-****-R2WA")


def test_settled_messages_lose_their_codes_and_pending_ones_keep_them(
        medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0043")
    statuses = ("sent", "refused", "dead", "canceled", "pending", "failed")
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO practices (id, code, name, created_at, active) "
            "VALUES (1, 'default', 'Clinic', :now, :yes)"), {"now": NOW, "yes": True})
        for number, status in enumerate(statuses, start=1):
            connection.execute(text(
                "INSERT INTO notifications (id, dedupe_key, template, account_key, channel, "
                "recipient, subject, body, notifier, status, attempts, created_by, "
                "practice_id, created_at, updated_at) VALUES (:id, :key, 'statement_ready', "
                "'G1', 'email', 'someone@example.com', :subject, :body, 'mock', :status, 1, "
                "'tester', 1, :now, :now)"),
                {"id": number, "key": f"statement_ready:{number}", "status": status,
                 "subject": f"Pay online: {LINK}", "body": BODY, "now": NOW})
        connection.execute(text(  # a sent message without a link: left as it was
            "INSERT INTO notifications (id, dedupe_key, template, account_key, channel, "
            "recipient, subject, body, notifier, status, attempts, created_by, practice_id, "
            "created_at, updated_at) VALUES (7, 'statement_ready:7', 'statement_ready', 'G1', "
            "'sms', '+15555550100', NULL, 'code=ABCD is not a link code', 'mock', 'sent', 1, "
            "'tester', 1, :now, :now)"), {"now": NOW})
    database.upgrade()
    assert database.current_revision() == "0044"
    with database.engine.begin() as connection:
        rows = {row.status if row.id < 7 else "plain": (row.subject, row.body)
                for row in connection.execute(text(
                    "SELECT id, status, subject, body FROM notifications"))}
    database.dispose()
    for status in ("sent", "refused", "dead", "canceled"):
        assert rows[status] == (f"Pay online: {LINK}".replace("AB2C-D3EF-", "****-****-"),
                                MASKED), status
    for status in ("pending", "failed"):
        assert rows[status] == (f"Pay online: {LINK}", BODY), status
    assert rows["plain"] == (None, "code=ABCD is not a link code")
    assert masked_codes(BODY) == MASKED  # the service's rule, the migration's copy agree

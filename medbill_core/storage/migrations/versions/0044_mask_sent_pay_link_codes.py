"""stored copies of texts and e-mails that will not be sent again keep no live pay-link code.

Since 2026-12 a message's pay-link code is hidden (``?code=****-****-R2WA``) once the message
is sent, refused, dead or canceled: a code and a birth date open the patient's pay page, and
the notification outbox is read by every role. Messages settled before then kept the whole
code; this revision hides it in them (their subject and body), as the service now does.

Pending and failed messages keep theirs: they are still to be sent. Nothing is restored on
downgrade (the codes are gone, as intended; the pay links keep only their hash).

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

#: the pay-link alphabet and code-in-link pattern as of this revision (a migration keeps its
#: own copy: the service's may change later)
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_IN_LINK = re.compile(r"(?<=[?&]code=)([%s]{4})-([%s]{4})-([%s]{4})" % ((_ALPHABET,) * 3))
#: statuses of a message never sent again
_SETTLED = ("sent", "refused", "dead", "canceled")
_BATCH = 1000


def _masked(text: str | None) -> str | None:
    return None if text is None else _CODE_IN_LINK.sub(
        lambda found: f"****-****-{found.group(3)}", text)


def upgrade() -> None:
    notifications = sa.table("notifications", sa.column("id", sa.Integer()),
                             sa.column("status", sa.String()),
                             sa.column("subject", sa.String()), sa.column("body", sa.String()))
    connection = op.get_bind()
    last = 0
    while True:  # in id order, a batch at a time: an outbox of years stays in bounded memory
        rows = connection.execute(
            sa.select(notifications.c.id, notifications.c.subject, notifications.c.body)
            .where(notifications.c.id > last, notifications.c.status.in_(_SETTLED),
                   sa.or_(notifications.c.body.like("%code=%"),
                          notifications.c.subject.like("%code=%")))
            .order_by(notifications.c.id).limit(_BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        changed = [{"row_id": row.id, "new_subject": _masked(row.subject),
                    "new_body": _masked(row.body)} for row in rows
                   if (_masked(row.subject), _masked(row.body)) != (row.subject, row.body)]
        if changed:
            connection.execute(
                sa.update(notifications).where(notifications.c.id == sa.bindparam("row_id"))
                .values(subject=sa.bindparam("new_subject"), body=sa.bindparam("new_body")),
                changed)


def downgrade() -> None:
    """Nothing to undo: a hidden code is not restored."""

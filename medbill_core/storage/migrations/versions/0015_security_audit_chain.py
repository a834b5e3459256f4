"""audit trail: the OS user of each event and a hash chain over the events (tamper-evident)

Events recorded before this revision are chained here, in id order; their OS user is unknown
(NULL).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from medbill_core.audit_chain import GENESIS_HASH, link_hash, row_content

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer()), sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()), sa.column("os_user", sa.String()),
    sa.column("action", sa.String()), sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.String()), sa.column("details", sa.JSON()),
    sa.column("note", sa.Text()), sa.column("chain_seq", sa.Integer()),
    sa.column("prev_hash", sa.String()), sa.column("row_hash", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("os_user", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_audit_events_chain_seq"), ["chain_seq"])
    _chain_existing_events()


def _chain_existing_events() -> None:
    """Seal the events already recorded, oldest (lowest id) first, in batches."""
    connection = op.get_bind()
    prev, seq, last_id, batch = GENESIS_HASH, 0, 0, 1000
    while True:
        rows = connection.execute(
            sa.select(_events).where(_events.c.id > last_id).order_by(_events.c.id)
            .limit(batch)).mappings().all()
        if not rows:
            return
        updates = []
        for row in rows:
            seq += 1
            content = row_content({**row, "chain_seq": seq})
            row_hash = link_hash(prev, content)
            updates.append({"row_id": row["id"], "seq": seq, "prev": prev, "hash": row_hash})
            prev, last_id = row_hash, row["id"]
        connection.execute(
            _events.update().where(_events.c.id == sa.bindparam("row_id")).values(
                chain_seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev"),
                row_hash=sa.bindparam("hash")), updates)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_audit_events_chain_seq"), type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain_seq")
        batch_op.drop_column("os_user")

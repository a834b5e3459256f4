"""work queues: the work items people assign, annotate, snooze and close (issue 16)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_OPEN = sa.text("closed_at IS NULL")


def _practice_column() -> sa.Column[int]:
    return sa.Column("practice_id", sa.Integer(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=30), nullable=False),
        sa.Column("item_key", sa.String(length=100), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=True),
        sa.Column("provider_npi", sa.String(length=10), nullable=True),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("priority", sa.BigInteger(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        _practice_column(),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_work_items_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
    )
    op.create_index("uq_work_items_open_key", "work_items", ["practice_id", "item_key"],
                    unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN)
    op.create_index("ix_work_items_queue", "work_items",
                    ["practice_id", "queue", "priority", "id"], unique=False,
                    sqlite_where=_OPEN, postgresql_where=_OPEN)
    op.create_index("ix_work_items_closed", "work_items", ["practice_id", "closed_at"],
                    unique=False)
    op.create_index(op.f("ix_work_items_practice_id"), "work_items", ["practice_id"],
                    unique=False)
    op.create_table(
        "work_item_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["work_item_id"], ["work_items.id"],
                                name=op.f("fk_work_item_notes_work_item_id_work_items"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_work_item_notes_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_item_notes")),
    )
    op.create_index("ix_work_item_notes_item", "work_item_notes", ["work_item_id"],
                    unique=False)
    op.create_index(op.f("ix_work_item_notes_practice_id"), "work_item_notes",
                    ["practice_id"], unique=False)
    op.create_table(
        "work_queue_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=30), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("refreshed_on", sa.Date(), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_work_queue_refreshes_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_queue_refreshes")),
        sa.UniqueConstraint("practice_id", "queue", name="uq_work_queue_refreshes_queue"),
    )
    op.create_index(op.f("ix_work_queue_refreshes_practice_id"), "work_queue_refreshes",
                    ["practice_id"], unique=False)


def downgrade() -> None:
    op.drop_table("work_queue_refreshes")
    op.drop_table("work_item_notes")
    op.drop_table("work_items")

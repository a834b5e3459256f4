"""fee schedules and the charge master

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fee_schedule_loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedule_loads")),
    )
    with op.batch_alter_table("fee_schedule_loads", schema=None) as batch_op:
        batch_op.create_index("ix_fee_schedule_loads_payer", ["payer_key"], unique=False)

    op.create_table(
        "fee_schedule_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("procedure_code", sa.String(length=5), nullable=False),
        sa.Column("modifier", sa.String(length=11), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["load_id"], ["fee_schedule_loads.id"],
                                name=op.f("fk_fee_schedule_entries_load_id_fee_schedule_loads"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedule_entries")),
    )
    with op.batch_alter_table("fee_schedule_entries", schema=None) as batch_op:
        batch_op.create_index("ix_fee_schedule_entries_code", ["procedure_code", "modifier"],
                              unique=False)
        batch_op.create_index("ix_fee_schedule_entries_load", ["load_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fee_schedule_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_fee_schedule_entries_load")
        batch_op.drop_index("ix_fee_schedule_entries_code")
    op.drop_table("fee_schedule_entries")
    with op.batch_alter_table("fee_schedule_loads", schema=None) as batch_op:
        batch_op.drop_index("ix_fee_schedule_loads_payer")
    op.drop_table("fee_schedule_loads")

"""remittance register, resolved remittance exceptions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    # 835s posted before hold no row: the register starts with the next 835 posted (posting
    # one of them again records it, its claim payments counted as duplicates)
    op.create_table(
        "remittances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trace_number", sa.String(length=50), nullable=False),
        sa.Column("payer_ref", sa.String(length=80), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=True),
        sa.Column("payer_name", sa.String(length=80), nullable=False),
        sa.Column("payment_amount", sa.BigInteger(), nullable=False),
        sa.Column("payment_method", sa.String(length=3), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_count", sa.Integer(), nullable=False),
        sa.Column("posted_total", sa.BigInteger(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_total", sa.BigInteger(), nullable=False),
        sa.Column("exception_count", sa.Integer(), nullable=False),
        sa.Column("exception_total", sa.BigInteger(), nullable=False),
        sa.Column("plb_count", sa.Integer(), nullable=False),
        sa.Column("plb_total", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittances")),
        sa.UniqueConstraint("payer_ref", "trace_number", name="uq_remittances_payer_trace"),
    )
    with op.batch_alter_table("remittances", schema=None) as batch_op:
        batch_op.create_index("ix_remittances_payment_date", ["payment_date"], unique=False)
        batch_op.create_index("ix_remittances_status", ["status"], unique=False)

    # nullable: exceptions resolved before 0006 (the flag set by hand) say nothing more
    with op.batch_alter_table("remittance_exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("resolution", sa.String(length=500), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("remittance_exceptions", schema=None) as batch_op:
        batch_op.drop_column("resolution")
        batch_op.drop_column("resolved_by")
        batch_op.drop_column("resolved_at")

    with op.batch_alter_table("remittances", schema=None) as batch_op:
        batch_op.drop_index("ix_remittances_status")
        batch_op.drop_index("ix_remittances_payment_date")

    op.drop_table("remittances")

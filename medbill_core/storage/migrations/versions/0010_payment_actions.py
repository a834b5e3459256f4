"""payment actions: refunds, reversals (returned checks), plan cancellation, remittance findings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # all nullable: payments never reversed and plans never cancelled keep NULLs
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reversed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reversal_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("reversed_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("returned_fee", sa.BigInteger(), nullable=True))
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name=op.f("fk_payment_refunds_payment_id_payments"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["posting_id"], ["postings.id"],
                                name=op.f("fk_payment_refunds_posting_id_postings"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
    )
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_payment_refunds_payment", ["payment_id"], unique=False)
    with op.batch_alter_table("payment_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))
    op.create_table(
        "remittance_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_key", sa.String(length=220), nullable=False),
        sa.Column("posting_key", sa.String(length=200), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("expected_amount", sa.BigInteger(), nullable=True),
        sa.Column("allowed_amount", sa.BigInteger(), nullable=True),
        sa.Column("paid_amount", sa.BigInteger(), nullable=True),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("resolution", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name=op.f("fk_remittance_findings_claim_id_claims"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittance_findings")),
        sa.UniqueConstraint("finding_key", name="uq_remittance_findings_finding_key"),
    )
    with op.batch_alter_table("remittance_findings", schema=None) as batch_op:
        batch_op.create_index("ix_remittance_findings_claim", ["claim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("remittance_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_remittance_findings_claim")
    op.drop_table("remittance_findings")
    with op.batch_alter_table("payment_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_refunds_payment")
    op.drop_table("payment_refunds")
    with op.batch_alter_table("payment_plans", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_on")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("returned_fee")
        batch_op.drop_column("reversed_by")
        batch_op.drop_column("reversal_reason")
        batch_op.drop_column("reversed_on")

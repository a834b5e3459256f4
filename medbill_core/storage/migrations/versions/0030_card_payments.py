"""card payments through a payment gateway, and their refunds (issue 18)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def _practice_column() -> sa.Column[int]:
    return sa.Column("practice_id", sa.Integer(), nullable=True)


def _timestamps() -> list[sa.Column[object]]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "card_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("guarantor_id", sa.Integer(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("gateway", sa.String(length=40), nullable=False),
        sa.Column("intent_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("overpayment", sa.String(length=10), nullable=True),
        sa.Column("decline_code", sa.String(length=60), nullable=True),
        sa.Column("decline_message", sa.String(length=255), nullable=True),
        sa.Column("card_brand", sa.String(length=20), nullable=True),
        sa.Column("card_last4", sa.String(length=4), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("confirmed_by", sa.String(length=80), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _practice_column(),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_card_payments_patient_id_patients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["guarantor_id"], ["guarantors.id"],
                                name=op.f("fk_card_payments_guarantor_id_guarantors"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name=op.f("fk_card_payments_claim_id_claims"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name=op.f("fk_card_payments_payment_id_payments"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_card_payments_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_payments")),
        sa.UniqueConstraint("gateway", "intent_id", name="uq_card_payments_gateway_intent"),
        sa.UniqueConstraint("payment_id", name="uq_card_payments_payment_id"),
        sa.UniqueConstraint("reference", name="uq_card_payments_reference"),
    )
    op.create_index("ix_card_payments_patient", "card_payments", ["patient_id"], unique=False)
    op.create_index(op.f("ix_card_payments_practice_id"), "card_payments", ["practice_id"],
                    unique=False)
    op.create_table(
        "card_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_payment_id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=40), nullable=False),
        sa.Column("refund_id", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("failure_reason", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=True),
        *_timestamps(),
        _practice_column(),
        sa.ForeignKeyConstraint(["card_payment_id"], ["card_payments.id"],
                                name=op.f("fk_card_refunds_card_payment_id_card_payments"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["posting_id"], ["postings.id"],
                                name=op.f("fk_card_refunds_posting_id_postings"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_card_refunds_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_refunds")),
        sa.UniqueConstraint("gateway", "refund_id", name="uq_card_refunds_gateway_refund"),
    )
    op.create_index("ix_card_refunds_card_payment", "card_refunds", ["card_payment_id"],
                    unique=False)
    op.create_index(op.f("ix_card_refunds_practice_id"), "card_refunds", ["practice_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_card_refunds_practice_id"), table_name="card_refunds")
    op.drop_index("ix_card_refunds_card_payment", table_name="card_refunds")
    op.drop_table("card_refunds")
    op.drop_index(op.f("ix_card_payments_practice_id"), table_name="card_payments")
    op.drop_index("ix_card_payments_patient", table_name="card_payments")
    op.drop_table("card_payments")

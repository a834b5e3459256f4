"""notifications (contact preferences, the outbox) and patient financing referrals (issue 18)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("consent", sa.String(length=200), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_contact_preferences_practice_id_practices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_preferences")),
        sa.UniqueConstraint("practice_id", "account_key", name="uq_contact_preferences_account"),
    )
    with op.batch_alter_table("contact_preferences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_preferences_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "financing_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("guarantor_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("consent", sa.String(length=200), nullable=False),
        sa.Column("lender_name", sa.String(length=100), nullable=True),
        sa.Column("approved_amount", sa.BigInteger(), nullable=True),
        sa.Column("merchant_fee", sa.BigInteger(), nullable=True),
        sa.Column("decline_reason", sa.String(length=255), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["guarantor_id"],
            ["guarantors.id"],
            name=op.f("fk_financing_referrals_guarantor_id_guarantors"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_financing_referrals_payment_id_payments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_financing_referrals_practice_id_practices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financing_referrals")),
        sa.UniqueConstraint("payment_id", name="uq_financing_referrals_payment_id"),
        sa.UniqueConstraint(
            "provider", "application_id", name="uq_financing_referrals_application"
        ),
        sa.UniqueConstraint("reference", name="uq_financing_referrals_reference"),
    )
    with op.batch_alter_table("financing_referrals", schema=None) as batch_op:
        batch_op.create_index("ix_financing_referrals_guarantor", ["guarantor_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_financing_referrals_practice_id"), ["practice_id"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=80), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("account_key", sa.String(length=20), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.String(length=1000), nullable=False),
        sa.Column("notifier", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_notifications_practice_id_practices")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_notifications_statement_id_statements"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("practice_id", "dedupe_key", name="uq_notifications_dedupe_key"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_account", ["account_key"], unique=False)
        batch_op.create_index("ix_notifications_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notifications_practice_id"), ["practice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_practice_id"))
        batch_op.drop_index("ix_notifications_due")
        batch_op.drop_index("ix_notifications_account")

    op.drop_table("notifications")
    with op.batch_alter_table("financing_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_financing_referrals_practice_id"))
        batch_op.drop_index("ix_financing_referrals_guarantor")

    op.drop_table("financing_referrals")
    with op.batch_alter_table("contact_preferences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_preferences_practice_id"))

    op.drop_table("contact_preferences")

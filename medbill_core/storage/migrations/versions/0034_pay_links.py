"""pay-by-link: pay links (a code's hash, expiry, revocation, failed date-of-birth checks and
locks) and the browser sessions of the patient page (issue 18)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def _practice_column() -> sa.Column[int]:
    return sa.Column("practice_id", sa.Integer(), nullable=True)


def _timestamps() -> list[sa.Column[object]]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "pay_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("guarantor_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("statement_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_opened_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _practice_column(),
        sa.ForeignKeyConstraint(["guarantor_id"], ["guarantors.id"],
                                name=op.f("fk_pay_links_guarantor_id_guarantors"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_pay_links_patient_id_patients"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["statement_id"], ["statements.id"],
                                name=op.f("fk_pay_links_statement_id_statements"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_pay_links_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_links")),
        sa.UniqueConstraint("code_hash", name="uq_pay_links_code_hash"),
    )
    op.create_index("ix_pay_links_guarantor", "pay_links", ["guarantor_id"], unique=False)
    op.create_index("ix_pay_links_patient", "pay_links", ["patient_id"], unique=False)
    op.create_index(op.f("ix_pay_links_practice_id"), "pay_links", ["practice_id"],
                    unique=False)
    op.create_table(
        "pay_link_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("pay_link_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("card_payment_id", sa.Integer(), nullable=True),
        *_timestamps(),
        _practice_column(),
        sa.ForeignKeyConstraint(["pay_link_id"], ["pay_links.id"],
                                name=op.f("fk_pay_link_sessions_pay_link_id_pay_links"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["card_payment_id"], ["card_payments.id"],
                                name=op.f("fk_pay_link_sessions_card_payment_id_card_payments"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_pay_link_sessions_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pay_link_sessions")),
        sa.UniqueConstraint("token_hash", name="uq_pay_link_sessions_token_hash"),
    )
    op.create_index("ix_pay_link_sessions_link", "pay_link_sessions", ["pay_link_id"],
                    unique=False)
    op.create_index(op.f("ix_pay_link_sessions_practice_id"), "pay_link_sessions",
                    ["practice_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pay_link_sessions_practice_id"), table_name="pay_link_sessions")
    op.drop_index("ix_pay_link_sessions_link", table_name="pay_link_sessions")
    op.drop_table("pay_link_sessions")
    op.drop_index(op.f("ix_pay_links_practice_id"), table_name="pay_links")
    op.drop_index("ix_pay_links_patient", table_name="pay_links")
    op.drop_index("ix_pay_links_guarantor", table_name="pay_links")
    op.drop_table("pay_links")

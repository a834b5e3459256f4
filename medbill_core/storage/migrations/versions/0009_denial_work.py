"""denial work: posting rules applied per 835 adjustment, denials kept open as work items

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: answers posted before the rules table have no rule recorded
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("posting_rules", sa.JSON(), nullable=True))
    op.create_table(
        "denials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posting_key", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("account_claim_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=False),
        sa.Column("group_code", sa.String(length=2), nullable=False),
        sa.Column("reason_code", sa.String(length=5), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("denied_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name=op.f("fk_denials_claim_id_claims"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["account_claim_id"], ["claims.id"],
                                name=op.f("fk_denials_account_claim_id_claims"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_denials")),
        sa.UniqueConstraint("posting_key", "position", name="uq_denials_line"),
    )
    with op.batch_alter_table("denials", schema=None) as batch_op:
        batch_op.create_index("ix_denials_claim", ["claim_id"], unique=False)
        batch_op.create_index("ix_denials_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("denials", schema=None) as batch_op:
        batch_op.drop_index("ix_denials_status")
        batch_op.drop_index("ix_denials_claim")
    op.drop_table("denials")
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.drop_column("posting_rules")

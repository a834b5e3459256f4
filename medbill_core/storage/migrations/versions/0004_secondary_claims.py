"""secondary claims

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "claim_adjudications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posting_key", sa.String(length=200), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("account_claim_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=False),
        sa.Column("coverage_id", sa.Integer(), nullable=True),
        sa.Column("claim_status", sa.String(length=2), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("paid_date", sa.Date(), nullable=False),
        sa.Column("adjustments", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_adjudications_account_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_adjudications_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["coverages.id"],
            name=op.f("fk_claim_adjudications_coverage_id_coverages"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_adjudications")),
        sa.UniqueConstraint("posting_key", name="uq_claim_adjudications_key"),
    )
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.create_index("ix_claim_adjudications_account", ["account_claim_id"], unique=False)

    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_claim_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_claims_account_claim_id_claims"),
            "claims",
            ["account_claim_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:

    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_claims_account_claim_id_claims"), type_="foreignkey"
        )
        batch_op.drop_column("account_claim_id")

    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_adjudications_account")

    op.drop_table("claim_adjudications")

"""coding audit: review samples of claims and the reviewers' findings

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coding_audit_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("per_provider", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("provider_npi", sa.String(length=10), nullable=True),
        sa.Column("payer_key", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coding_audit_samples")),
    )
    op.create_table(
        "coding_audit_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("provider_npi", sa.String(length=10), nullable=False),
        sa.Column("finding", sa.String(length=24), nullable=True),
        sa.Column("corrected_codes", sa.JSON(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["sample_id"], ["coding_audit_samples.id"],
                                name=op.f("fk_coding_audit_claims_sample_id_coding_audit_samples"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name=op.f("fk_coding_audit_claims_claim_id_claims"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coding_audit_claims")),
        sa.UniqueConstraint("sample_id", "claim_id",
                            name="uq_coding_audit_claims_sample_claim"),
    )
    with op.batch_alter_table("coding_audit_claims", schema=None) as batch_op:
        batch_op.create_index("ix_coding_audit_claims_claim", ["claim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coding_audit_claims", schema=None) as batch_op:
        batch_op.drop_index("ix_coding_audit_claims_claim")
    op.drop_table("coding_audit_claims")
    op.drop_table("coding_audit_samples")

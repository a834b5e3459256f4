"""financial assistance: the practice's sliding fee schedule and guarantors' applications;
good-faith estimates kept for the comparison with the final bill (issue 18)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def _practice_column() -> sa.Column[int]:
    return sa.Column("practice_id", sa.Integer(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "assistance_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("expiry_months", sa.Integer(), nullable=False),
        sa.Column("prompt_pay_percent", sa.String(length=32), nullable=True),
        sa.Column("prompt_pay_days", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_assistance_policies_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistance_policies")),
        sa.UniqueConstraint("practice_id", name="uq_assistance_policies_practice"),
    )
    op.create_index(op.f("ix_assistance_policies_practice_id"), "assistance_policies",
                    ["practice_id"], unique=False)
    op.create_table(
        "assistance_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("guarantor_id", sa.Integer(), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("annual_income", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("documents_received", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("guideline_year", sa.Integer(), nullable=False),
        sa.Column("guideline", sa.BigInteger(), nullable=False),
        sa.Column("percent_of_guideline", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["guarantor_id"], ["guarantors.id"],
                                name=op.f("fk_assistance_applications_guarantor_id_guarantors")),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_assistance_applications_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistance_applications")),
    )
    op.create_index("ix_assistance_applications_guarantor", "assistance_applications",
                    ["guarantor_id"], unique=False)
    op.create_index("ix_assistance_applications_status", "assistance_applications",
                    ["practice_id", "status"], unique=False)
    op.create_index(op.f("ix_assistance_applications_practice_id"), "assistance_applications",
                    ["practice_id"], unique=False)
    op.create_table(
        "good_faith_estimates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estimate_number", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("procedure_codes", sa.JSON(), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name=op.f("fk_good_faith_estimates_patient_id_patients")),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_good_faith_estimates_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_good_faith_estimates")),
        sa.UniqueConstraint("practice_id", "estimate_number",
                            name="uq_good_faith_estimates_number"),
    )
    op.create_index("ix_good_faith_estimates_patient", "good_faith_estimates",
                    ["patient_id", "service_date"], unique=False)
    op.create_index(op.f("ix_good_faith_estimates_practice_id"), "good_faith_estimates",
                    ["practice_id"], unique=False)


def downgrade() -> None:
    op.drop_table("good_faith_estimates")
    op.drop_table("assistance_applications")
    op.drop_table("assistance_policies")

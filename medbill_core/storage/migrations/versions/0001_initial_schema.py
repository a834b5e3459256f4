"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=60), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_events_entity", ["entity_type", "entity_id"], unique=False)

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_number", sa.String(length=30), nullable=False),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("first_name", sa.String(length=35), nullable=False),
        sa.Column("middle_name", sa.String(length=25), nullable=True),
        sa.Column("suffix", sa.String(length=10), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("phone", sa.String(length=10), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("statement_hold", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("account_number", name=op.f("uq_patients_account_number")),
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posting_key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("memo", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
        sa.UniqueConstraint("posting_key", name=op.f("uq_postings_posting_key")),
    )
    op.create_table(
        "providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=False),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("first_name", sa.String(length=35), nullable=True),
        sa.Column("entity_type", sa.String(length=1), nullable=False),
        sa.Column("taxonomy", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
        sa.UniqueConstraint("npi", name=op.f("uq_providers_npi")),
    )
    op.create_table(
        "coverages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=False),
        sa.Column("coverage_order", sa.String(length=1), nullable=False),
        sa.Column("member_id", sa.String(length=80), nullable=False),
        sa.Column("group_number", sa.String(length=50), nullable=True),
        sa.Column("group_name", sa.String(length=60), nullable=True),
        sa.Column("plan_name", sa.String(length=60), nullable=True),
        sa.Column("relationship_code", sa.String(length=2), nullable=False),
        sa.Column("subscriber", sa.JSON(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_coverages_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverages")),
    )
    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coverages_patient_order", ["patient_id", "coverage_order"], unique=False
        )

    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_number", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("coverage_id", sa.Integer(), nullable=True),
        sa.Column("payer_key", sa.String(length=40), nullable=True),
        sa.Column("billing_provider_npi", sa.String(length=10), nullable=False),
        sa.Column("rendering_provider_npi", sa.String(length=10), nullable=True),
        sa.Column("referring_provider_npi", sa.String(length=10), nullable=True),
        sa.Column("frequency", sa.String(length=1), nullable=False),
        sa.Column("original_claim_reference", sa.String(length=50), nullable=True),
        sa.Column("replaces_claim_id", sa.Integer(), nullable=True),
        sa.Column("place_of_service", sa.String(length=2), nullable=False),
        sa.Column("service_date_from", sa.Date(), nullable=False),
        sa.Column("service_date_to", sa.Date(), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("prior_authorization", sa.String(length=50), nullable=True),
        sa.Column("accepts_assignment", sa.Boolean(), nullable=False),
        sa.Column("benefits_assigned", sa.Boolean(), nullable=False),
        sa.Column("release_of_information", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("payer_claim_number", sa.String(length=50), nullable=True),
        sa.Column("total_charge", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["coverages.id"],
            name=op.f("fk_claims_coverage_id_coverages"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_claims_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["replaces_claim_id"],
            ["claims.id"],
            name=op.f("fk_claims_replaces_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("claim_number", name=op.f("uq_claims_claim_number")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_patient", ["patient_id"], unique=False)
        batch_op.create_index("ix_claims_payer", ["payer_key"], unique=False)
        batch_op.create_index("ix_claims_state", ["state"], unique=False)

    op.create_table(
        "claim_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("procedure_code", sa.String(length=5), nullable=False),
        sa.Column("modifiers", sa.JSON(), nullable=False),
        sa.Column("units", sa.String(length=32), nullable=False),
        sa.Column("unit_type", sa.String(length=2), nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=False),
        sa.Column("diagnosis_pointers", sa.JSON(), nullable=False),
        sa.Column("service_date_from", sa.Date(), nullable=False),
        sa.Column("service_date_to", sa.Date(), nullable=True),
        sa.Column("place_of_service", sa.String(length=2), nullable=True),
        sa.Column("line_control_number", sa.String(length=30), nullable=True),
        sa.Column("description", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_lines_claim_id_claims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_lines")),
        sa.UniqueConstraint("claim_id", "line_number", name="uq_claim_lines_claim_line"),
    )
    op.create_table(
        "claim_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_transitions_claim_id_claims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_transitions")),
    )
    with op.batch_alter_table("claim_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_claim_transitions_claim", ["claim_id"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("insurance_delta", sa.BigInteger(), nullable=False),
        sa.Column("patient_delta", sa.BigInteger(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("claim_line_number", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=True),
        sa.Column("reason_code", sa.String(length=10), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_ledger_entries_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_ledger_entries_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.id"],
            name=op.f("fk_ledger_entries_posting_id_postings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_claim", ["claim_id"], unique=False)
        batch_op.create_index("ix_ledger_entries_patient", ["patient_id"], unique=False)
        batch_op.create_index("ix_ledger_entries_payer", ["payer_key"], unique=False)




def downgrade() -> None:

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_payer")
        batch_op.drop_index("ix_ledger_entries_patient")
        batch_op.drop_index("ix_ledger_entries_claim")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("claim_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_transitions_claim")

    op.drop_table("claim_transitions")
    op.drop_table("claim_lines")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_state")
        batch_op.drop_index("ix_claims_payer")
        batch_op.drop_index("ix_claims_patient")

    op.drop_table("claims")
    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.drop_index("ix_coverages_patient_order")

    op.drop_table("coverages")
    op.drop_table("providers")
    op.drop_table("postings")
    op.drop_table("patients")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_entity")
        batch_op.drop_index("ix_audit_events_at")

    op.drop_table("audit_events")


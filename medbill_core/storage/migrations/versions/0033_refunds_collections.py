"""refunds, write-offs, collections: the refund check register, credit holds, payer refund
requests, write-off requests and the practice's thresholds, collection agencies, placements and
agency payments; the ledger's agency bucket (issue 18)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


#: the few ledger entries that move agency money (placements, recalls, agency payments and
#: fees): ``ar aging`` sums them per patient from this partial index, not the whole ledger
_AGENCY = sa.text("agency_delta <> 0")


def upgrade() -> None:
    op.create_table(
        "collection_agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("fee_percent", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_collection_agencies_practice_id_practices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_agencies")),
        sa.UniqueConstraint("practice_id", "code", name="uq_collection_agencies_code"),
    )
    op.create_index(
        op.f("ix_collection_agencies_practice_id"),
        "collection_agencies",
        ["practice_id"],
        unique=False,
    )
    op.create_table(
        "write_off_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("small_balance_limit", sa.BigInteger(), nullable=False),
        sa.Column("approval_above", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_write_off_policies_practice_id_practices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off_policies")),
        sa.UniqueConstraint("practice_id", name="uq_write_off_policies_practice"),
    )
    op.create_index(
        op.f("ix_write_off_policies_practice_id"),
        "write_off_policies",
        ["practice_id"],
        unique=False,
    )
    op.create_table(
        "collection_placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("recall_reason", sa.String(length=500), nullable=True),
        sa.Column("exported_on", sa.Date(), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["collection_agencies.id"],
            name=op.f("fk_collection_placements_agency_id_collection_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_collection_placements_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_collection_placements_practice_id_practices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_placements")),
    )
    op.create_index(
        "ix_collection_placements_patient", "collection_placements", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_collection_placements_practice_id"),
        "collection_placements",
        ["practice_id"],
        unique=False,
    )
    op.create_index(
        "ix_collection_placements_status",
        "collection_placements",
        ["practice_id", "status"],
        unique=False,
    )
    op.create_table(
        "credit_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("released_by", sa.String(length=80), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_credit_holds_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_credit_holds_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_holds")),
    )
    op.create_index("ix_credit_holds_patient", "credit_holds", ["patient_id"], unique=False)
    op.create_index(
        op.f("ix_credit_holds_practice_id"), "credit_holds", ["practice_id"], unique=False
    )
    op.create_table(
        "refund_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_number", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payee_reference", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("cleared_on", sa.Date(), nullable=True),
        sa.Column("voided_on", sa.Date(), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.Column("voided_by", sa.String(length=80), nullable=True),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_refund_checks_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_refund_checks_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_checks")),
        sa.UniqueConstraint("practice_id", "check_number", name="uq_refund_checks_number"),
    )
    op.create_index("ix_refund_checks_patient", "refund_checks", ["patient_id"], unique=False)
    op.create_index(
        op.f("ix_refund_checks_practice_id"), "refund_checks", ["practice_id"], unique=False
    )
    op.create_table(
        "agency_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("collected", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=True),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["collection_placements.id"],
            name=op.f("fk_agency_payments_placement_id_collection_placements"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.id"],
            name=op.f("fk_agency_payments_posting_id_postings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_agency_payments_practice_id_practices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_payments")),
    )
    op.create_index(
        "ix_agency_payments_placement", "agency_payments", ["placement_id"], unique=False
    )
    op.create_index(
        op.f("ix_agency_payments_practice_id"), "agency_payments", ["practice_id"], unique=False
    )
    op.create_table(
        "payer_refund_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.Column("closing_reference", sa.String(length=80), nullable=True),
        sa.Column("posting_id", sa.Integer(), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_payer_refund_requests_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.id"],
            name=op.f("fk_payer_refund_requests_posting_id_postings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_payer_refund_requests_practice_id_practices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payer_refund_requests")),
    )
    op.create_index(
        "ix_payer_refund_requests_claim", "payer_refund_requests", ["claim_id"], unique=False
    )
    op.create_index(
        op.f("ix_payer_refund_requests_practice_id"),
        "payer_refund_requests",
        ["practice_id"],
        unique=False,
    )
    op.create_index(
        "ix_payer_refund_requests_status",
        "payer_refund_requests",
        ["practice_id", "status"],
        unique=False,
    )
    op.create_table(
        "write_off_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("posting_id", sa.Integer(), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_write_off_requests_claim_id_claims"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_write_off_requests_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["postings.id"],
            name=op.f("fk_write_off_requests_posting_id_postings"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_write_off_requests_practice_id_practices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off_requests")),
    )
    op.create_index(
        "ix_write_off_requests_patient", "write_off_requests", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_write_off_requests_practice_id"),
        "write_off_requests",
        ["practice_id"],
        unique=False,
    )
    op.create_index(
        "ix_write_off_requests_status",
        "write_off_requests",
        ["practice_id", "status"],
        unique=False,
    )
    op.add_column(
        "ledger_entries",
        sa.Column("agency_delta", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index("ix_ledger_entries_agency", "ledger_entries",
                    ["patient_id", "effective_date", "agency_delta", "practice_id"],
                    unique=False, sqlite_where=_AGENCY, postgresql_where=_AGENCY)


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_agency", table_name="ledger_entries")
    op.drop_column("ledger_entries", "agency_delta")
    op.drop_table("write_off_requests")
    op.drop_table("payer_refund_requests")
    op.drop_table("agency_payments")
    op.drop_table("refund_checks")
    op.drop_table("credit_holds")
    op.drop_table("collection_placements")
    op.drop_table("write_off_policies")
    op.drop_table("collection_agencies")

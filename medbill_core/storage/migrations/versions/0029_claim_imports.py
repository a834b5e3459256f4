"""claim intake: the 837 files a practice sent in, and what each run did with each claim;
indexes to find a file's patient by birth date and member ID (issue 17)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _practice_column() -> sa.Column[int]:
    return sa.Column("practice_id", sa.Integer(), nullable=True)


def upgrade() -> None:
    # the intake matches a file's patient by birth date (then name) and member ID
    op.create_index("ix_patients_birth_date", "patients", ["practice_id", "birth_date"],
                    unique=False)
    op.create_index("ix_coverages_member", "coverages", ["payer_key", "member_id"],
                    unique=False)
    op.create_table(
        "claim_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("interchange_control_number", sa.String(length=9), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("implementation", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_claim_imports_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_imports")),
    )
    op.create_index("ix_claim_imports_interchange", "claim_imports",
                    ["practice_id", "sender", "interchange_control_number"], unique=False)
    op.create_index(op.f("ix_claim_imports_practice_id"), "claim_imports", ["practice_id"],
                    unique=False)
    op.create_table(
        "claim_import_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("claim_number", sa.String(length=38), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("charge", sa.BigInteger(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["import_id"], ["claim_imports.id"],
                                name=op.f("fk_claim_import_claims_import_id_claim_imports"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name=op.f("fk_claim_import_claims_claim_id_claims"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_claim_import_claims_practice_id_practices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_import_claims")),
    )
    op.create_index("ix_claim_import_claims_import", "claim_import_claims", ["import_id"],
                    unique=False)
    op.create_index("ix_claim_import_claims_outcome", "claim_import_claims",
                    ["practice_id", "outcome"], unique=False)
    op.create_index(op.f("ix_claim_import_claims_practice_id"), "claim_import_claims",
                    ["practice_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_coverages_member", table_name="coverages")
    op.drop_index("ix_patients_birth_date", table_name="patients")
    op.drop_table("claim_import_claims")
    op.drop_table("claim_imports")

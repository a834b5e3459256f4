"""guarantors, family statements, merged patients

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "guarantors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_name", sa.String(length=60), nullable=False),
        sa.Column("first_name", sa.String(length=35), nullable=False),
        sa.Column("middle_name", sa.String(length=25), nullable=True),
        sa.Column("suffix", sa.String(length=10), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("phone", sa.String(length=10), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantors")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # batch mode would recreate "patients" for the foreign keys: copy, DROP, rename. With
        # foreign keys enforced, dropping a table that claims, coverages and the ledger refer
        # to fails once there is data. SQLite adds a column with its REFERENCES clause in
        # place instead (the column must default to NULL, which these do; see the model for
        # why these two are NO ACTION, not RESTRICT).
        for column, target in (("guarantor_id", "guarantors"), ("merged_into_id", "patients")):
            op.execute(f"ALTER TABLE patients ADD COLUMN {column} INTEGER "
                       f"CONSTRAINT fk_patients_{column}_{target} REFERENCES {target} (id)")
        op.add_column("patients", sa.Column("guarantor_relationship", sa.String(length=10),
                                            nullable=True))
    else:
        with op.batch_alter_table("patients", schema=None) as batch_op:
            batch_op.add_column(sa.Column("guarantor_id", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("guarantor_relationship", sa.String(length=10),
                                          nullable=True))
            batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(op.f("fk_patients_guarantor_id_guarantors"),
                                        "guarantors", ["guarantor_id"], ["id"])
            batch_op.create_foreign_key(op.f("fk_patients_merged_into_id_patients"),
                                        "patients", ["merged_into_id"], ["id"])
    op.create_index("ix_patients_guarantor", "patients", ["guarantor_id"], unique=False)
    op.create_index("ix_patients_name", "patients", ["last_name", "first_name"], unique=False)

    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guarantor_key", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("same_day_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("patient_ids", sa.JSON(), nullable=True))
    # statements made before guarantors were addressed to their patient, who was therefore the
    # guarantor; earlier duplicates of the same day are numbered so the constraint holds
    op.execute(
        "UPDATE statements SET guarantor_key = 'P' || CAST(patient_id AS VARCHAR(12)), "
        "same_day_number = (SELECT COUNT(*) FROM statements AS earlier "
        "WHERE earlier.patient_id = statements.patient_id "
        "AND earlier.statement_date = statements.statement_date "
        "AND earlier.id <= statements.id)")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_statements_guarantor_day", ["guarantor_key", "statement_date", "same_day_number"])


def downgrade() -> None:
    # on SQLite, dropping the foreign-key columns recreates "patients", which needs foreign
    # keys off when other tables refer to patients (as for the earlier revisions' downgrades)

    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_constraint("uq_statements_guarantor_day", type_="unique")
        batch_op.drop_column("patient_ids")
        batch_op.drop_column("same_day_number")
        batch_op.drop_column("guarantor_key")

    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_name")
        batch_op.drop_index("ix_patients_guarantor")
        if op.get_bind().dialect.name != "sqlite":  # SQLite: unnamed, gone with the columns
            batch_op.drop_constraint(op.f("fk_patients_merged_into_id_patients"),
                                     type_="foreignkey")
            batch_op.drop_constraint(op.f("fk_patients_guarantor_id_guarantors"),
                                     type_="foreignkey")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("guarantor_relationship")
        batch_op.drop_column("guarantor_id")

    op.drop_table("guarantors")

"""the ledger summed per account (what each payer and what the patient owes on a claim
account), kept as entries are written (``ledger_balances``): the A/R aging reads the open
accounts from a partial index instead of summing every entry ever posted (two passes over
4.7 million entries at 1,000,000 claims). Filled here from the entries.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "ledger_balances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(length=90), nullable=False),
        sa.Column("bucket", sa.String(length=10), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("payer_key", sa.String(length=40), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("agency", sa.BigInteger(), nullable=False),
        sa.Column("first_effective", sa.Date(), nullable=False),
        sa.Column("last_effective", sa.Date(), nullable=False),
        sa.Column("first_to_patient", sa.Date(), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"],
                                name="fk_ledger_balances_claim_id_claims", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"],
                                name="fk_ledger_balances_patient_id_patients",
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name="fk_ledger_balances_practice_id_practices"),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_balances"),
        sa.UniqueConstraint("account_key", name="uq_ledger_balances_account_key"),
    )
    as_text = "CAST({} AS TEXT)" if op.get_bind().dialect.name == "sqlite" \
        else "CAST({} AS VARCHAR)"
    claim_and_patient = (f"COALESCE({as_text.format('claim_id')}, '') || '/' || "
                         f"{as_text.format('patient_id')}")
    columns = ("practice_id, account_key, bucket, claim_id, patient_id, payer_key, balance,"
               " agency, first_effective, last_effective, first_to_patient")
    # the rows the ledger would have written entry by entry (medbill_core.ledger_balances):
    # each bucket's rows sum the entries that move it
    op.execute(
        f"INSERT INTO ledger_balances ({columns})"
        f" SELECT practice_id, 'insurance/' || {claim_and_patient} || '/' ||"
        " COALESCE(payer_key, ''), 'insurance', claim_id, patient_id, payer_key,"
        " SUM(insurance_delta), 0, MIN(effective_date), MAX(effective_date), NULL"
        " FROM ledger_entries WHERE insurance_delta <> 0"
        " GROUP BY practice_id, claim_id, patient_id, payer_key")
    op.execute(
        f"INSERT INTO ledger_balances ({columns})"
        f" SELECT practice_id, 'patient/' || {claim_and_patient}, 'patient', claim_id,"
        " patient_id, NULL, SUM(patient_delta), SUM(agency_delta), MIN(effective_date),"
        " MAX(effective_date),"
        " MIN(CASE WHEN kind = 'transfer_to_patient' AND amount > 0 THEN effective_date END)"
        " FROM ledger_entries WHERE patient_delta <> 0 OR agency_delta <> 0"
        " GROUP BY practice_id, claim_id, patient_id")
    op.create_index("ix_ledger_balances_claim", "ledger_balances",
                    ["claim_id", "bucket", "payer_key", "balance", "agency"], unique=False)
    op.create_index("ix_ledger_balances_patient", "ledger_balances", ["patient_id"],
                    unique=False)
    op.create_index("ix_ledger_balances_last_effective", "ledger_balances",
                    ["last_effective"], unique=False)
    op.create_index("ix_ledger_balances_open", "ledger_balances",
                    ["practice_id", "bucket", "claim_id", "patient_id", "payer_key", "balance",
                     "first_effective", "last_effective", "first_to_patient"], unique=False,
                    sqlite_where=sa.text("balance <> 0"),
                    postgresql_where=sa.text("balance <> 0"))


def downgrade() -> None:
    op.drop_index("ix_ledger_balances_open", table_name="ledger_balances")
    op.drop_index("ix_ledger_balances_last_effective", table_name="ledger_balances")
    op.drop_index("ix_ledger_balances_patient", table_name="ledger_balances")
    op.drop_index("ix_ledger_balances_claim", table_name="ledger_balances")
    op.drop_table("ledger_balances")

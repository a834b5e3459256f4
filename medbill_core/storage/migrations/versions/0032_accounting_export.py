"""accounting export: the practice's chart of accounts, numbered export batches and what each
carried (ledger postings, 835 deposits), so nothing is exported twice (issue 18)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def _practice_column() -> sa.Column[int]:
    return sa.Column("practice_id", sa.Integer(), nullable=True)


def _practice_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                   name=op.f(f"fk_{table}_practice_id_practices"))


def _practice_index(table: str) -> None:
    op.create_index(op.f(f"ix_{table}_practice_id"), table, ["practice_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "accounting_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=159), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        _practice_column(),
        _practice_fk("accounting_accounts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_accounts")),
        sa.UniqueConstraint("practice_id", "role", name="uq_accounting_accounts_practice_role"),
    )
    _practice_index("accounting_accounts")
    op.create_table(
        "accounting_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("postings", sa.Integer(), nullable=False),
        sa.Column("ledger_entries", sa.Integer(), nullable=False),
        sa.Column("journal_entries", sa.Integer(), nullable=False),
        sa.Column("debits", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        _practice_column(),
        _practice_fk("accounting_batches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_batches")),
        sa.UniqueConstraint("practice_id", "number",
                            name="uq_accounting_batches_practice_number"),
    )
    _practice_index("accounting_batches")
    op.create_table(
        "accounting_batch_postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("posting_id", sa.Integer(), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["batch_id"], ["accounting_batches.id"],
                                name=op.f("fk_accounting_batch_postings_batch_id_"
                                          "accounting_batches"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["posting_id"], ["postings.id"],
                                name=op.f("fk_accounting_batch_postings_posting_id_postings"),
                                ondelete="RESTRICT"),
        _practice_fk("accounting_batch_postings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_batch_postings")),
        sa.UniqueConstraint("posting_id", name="uq_accounting_batch_postings_posting"),
    )
    op.create_index("ix_accounting_batch_postings_batch", "accounting_batch_postings",
                    ["batch_id", "posting_id"], unique=False)
    _practice_index("accounting_batch_postings")
    op.create_table(
        "accounting_batch_remittances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("remittance_id", sa.Integer(), nullable=False),
        _practice_column(),
        sa.ForeignKeyConstraint(["batch_id"], ["accounting_batches.id"],
                                name=op.f("fk_accounting_batch_remittances_batch_id_"
                                          "accounting_batches"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["remittance_id"], ["remittances.id"],
                                name=op.f("fk_accounting_batch_remittances_remittance_id_"
                                          "remittances"), ondelete="RESTRICT"),
        _practice_fk("accounting_batch_remittances"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounting_batch_remittances")),
        sa.UniqueConstraint("remittance_id",
                            name="uq_accounting_batch_remittances_remittance"),
    )
    op.create_index("ix_accounting_batch_remittances_batch", "accounting_batch_remittances",
                    ["batch_id"], unique=False)
    _practice_index("accounting_batch_remittances")


def downgrade() -> None:
    op.drop_table("accounting_batch_remittances")
    op.drop_table("accounting_batch_postings")
    op.drop_table("accounting_batches")
    op.drop_table("accounting_accounts")

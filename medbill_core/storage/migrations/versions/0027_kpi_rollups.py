"""KPI rollups: closed months' sums and month-end agings kept in the database, and the indexes
the KPI queries read a period by (issue 16, the dashboard on 100,000 claims)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_month_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("offset_seconds", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("ledger_id", sa.BigInteger(), nullable=False),
        sa.Column("transition_id", sa.BigInteger(), nullable=False),
        sa.Column("adjudication_id", sa.BigInteger(), nullable=False),
        sa.Column("denial_id", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_month_rollups")),
        sa.UniqueConstraint("scope", "month", name="uq_kpi_month_rollups_month"),
    )
    op.create_table(
        "kpi_agings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("over_90", sa.BigInteger(), nullable=False),
        sa.Column("over_120", sa.BigInteger(), nullable=False),
        sa.Column("ledger_id", sa.BigInteger(), nullable=False),
        sa.Column("transition_id", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_agings")),
        sa.UniqueConstraint("scope", "as_of", name="uq_kpi_agings_day"),
    )
    op.create_index("ix_claim_transitions_target_at", "claim_transitions", ["target", "at"])
    op.create_index("ix_ledger_entries_effective", "ledger_entries", ["effective_date"])
    op.create_index("ix_claim_adjudications_paid_date", "claim_adjudications", ["paid_date"])


def downgrade() -> None:
    op.drop_index("ix_claim_adjudications_paid_date", table_name="claim_adjudications")
    op.drop_index("ix_ledger_entries_effective", table_name="ledger_entries")
    op.drop_index("ix_claim_transitions_target_at", table_name="claim_transitions")
    op.drop_table("kpi_agings")
    op.drop_table("kpi_month_rollups")

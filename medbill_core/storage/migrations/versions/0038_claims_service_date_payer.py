"""claims by date of service then payer, carrying state, practice and id (PostgreSQL:
INCLUDE), in place of the index on the date alone: a list page filtered by dates (and a
payer) finds its claims' ids from the index alone (an index-only scan), then reads only the
page's rows -- 1.4 ms instead of 4.8 for a quarter's Medicare claims among 100,000. Every
other use of the date index is served by the new one's leading column.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_claims_service_date_payer", "claims",
                    ["service_date_from", "payer_key"], unique=False,
                    postgresql_include=["state", "practice_id", "id"])
    op.drop_index("ix_claims_service_date", table_name="claims")


def downgrade() -> None:
    op.create_index("ix_claims_service_date", "claims", ["service_date_from"], unique=False)
    op.drop_index("ix_claims_service_date_payer", table_name="claims")

"""the payments that still hold a credit, indexed: the credits list's pages (GET /v1/credits)
and the work view read them per patient from this partial index, not the whole payments table

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

#: a payment with money left on the account and not returned: few among all payments
_HOLDS_CREDIT = sa.text("unapplied > 0 AND reversed_on IS NULL")


def upgrade() -> None:
    op.create_index("ix_payments_credit", "payments",
                    ["patient_id", "received_on", "unapplied", "practice_id"],
                    unique=False, sqlite_where=_HOLDS_CREDIT, postgresql_where=_HOLDS_CREDIT)


def downgrade() -> None:
    op.drop_index("ix_payments_credit", table_name="payments")

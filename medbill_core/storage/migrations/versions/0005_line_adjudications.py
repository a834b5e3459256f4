"""line adjudications

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    # nullable: rows posted before hold NULL, read as claim-level only (their adjustments
    # column has every adjustment)
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lines", sa.JSON(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.drop_column("lines")

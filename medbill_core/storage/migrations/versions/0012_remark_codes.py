"""remark codes (RARC) of each posted 835 claim payment, for remit show

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: answers posted before this kept no remark codes
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remark_codes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.drop_column("remark_codes")

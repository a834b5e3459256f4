"""what an intermediary kept of a patient payment (a patient-financing lender's merchant fee,
posted as the ledger kind ``financing_fee``): the practice received the amount less it

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch_op:
        batch_op.add_column(sa.Column("fee", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch_op:
        batch_op.drop_column("fee")

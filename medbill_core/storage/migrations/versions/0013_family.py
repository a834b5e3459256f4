"""family payments: a payment for a guarantor's patients together; what a payment counted
towards plan installments

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # both nullable: a payment of one patient has no guarantor; payments recorded before this
    # revision keep plan_counted NULL (read as the amount less refunds, as counted then)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guarantor_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("plan_counted", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_payments_guarantor_id_guarantors"),
                                    "guarantors", ["guarantor_id"], ["id"],
                                    ondelete="RESTRICT")
        batch_op.create_index("ix_payments_guarantor", ["guarantor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_guarantor")
        batch_op.drop_constraint(op.f("fk_payments_guarantor_id_guarantors"),
                                 type_="foreignkey")
        batch_op.drop_column("plan_counted")
        batch_op.drop_column("guarantor_id")

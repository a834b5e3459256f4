"""posting lease: an 835 being posted in parts is held by one process until lease_until

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: only a document being posted (status 'posting') holds a lease
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("lease_holder", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.drop_column("lease_holder")
        batch_op.drop_column("lease_until")

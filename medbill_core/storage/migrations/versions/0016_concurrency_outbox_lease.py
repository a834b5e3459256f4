"""outbox lease: a file being sent is claimed ("sending") until lease_until

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: only a row being sent holds a lease
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # a file some sender was holding goes back to the queue, to be sent by the next run
    op.execute("UPDATE submissions SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("lease_until")

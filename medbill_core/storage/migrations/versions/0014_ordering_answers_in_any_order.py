"""answers in any order: the 999's group number on each batch, which answer a reversal took
back, and claim payments held until what they wait for arrives

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from medbill_core.x12_envelope import envelope_numbers

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_control_number", sa.String(length=20),
                                      nullable=True))
        batch_op.create_index("ix_submissions_group_control", ["group_control_number"],
                              unique=False)
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reversed_by", sa.String(length=200), nullable=True))
    with op.batch_alter_table("remittance_exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_payment", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("held_claim_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("held_effective_date", sa.Date(), nullable=True))

    bind = op.get_bind()
    # batches sent before: their group number from the file itself
    submissions = sa.table("submissions", sa.column("id", sa.Integer),
                           sa.column("content", sa.Text),
                           sa.column("group_control_number", sa.String))
    for row in bind.execute(sa.select(submissions.c.id, submissions.c.content)).all():
        groups = envelope_numbers(row.content or "").group_control_numbers
        if groups:
            bind.execute(submissions.update().where(submissions.c.id == row.id)
                         .values(group_control_number=groups[0][:20]))
    # reversals posted before: each took back the latest answer of its claim still standing
    answers = sa.table("claim_adjudications", sa.column("id", sa.Integer),
                       sa.column("claim_id", sa.Integer), sa.column("posting_key", sa.String),
                       sa.column("claim_status", sa.String),
                       sa.column("reversed_by", sa.String))
    standing: dict[int, list[int]] = {}
    for answer in bind.execute(sa.select(answers.c.id, answers.c.claim_id,
                                         answers.c.posting_key, answers.c.claim_status)
                               .order_by(answers.c.id)).all():
        if answer.claim_status != "22":
            standing.setdefault(answer.claim_id, []).append(answer.id)
        elif standing.get(answer.claim_id):
            bind.execute(answers.update().where(answers.c.id == standing[answer.claim_id].pop())
                         .values(reversed_by=answer.posting_key))


def downgrade() -> None:
    with op.batch_alter_table("remittance_exceptions", schema=None) as batch_op:
        batch_op.drop_column("held_effective_date")
        batch_op.drop_column("held_claim_id")
        batch_op.drop_column("held_payment")
    with op.batch_alter_table("claim_adjudications", schema=None) as batch_op:
        batch_op.drop_column("reversed_by")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_group_control")
        batch_op.drop_column("group_control_number")

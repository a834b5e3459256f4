"""Institutional claims (UB-04 / 837I): a claim's kind and institutional details, a line's
revenue code, and lines without a procedure code (issue 17)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(16), nullable=False,
                                      server_default="professional"))
        batch_op.add_column(sa.Column("institutional", sa.JSON(), nullable=True))
    # the claims' rows grew: a state with a payer (claims list --state --payer) is read
    # through an index of both, where PostgreSQL's planner now preferred a scan of the table
    op.create_index("ix_claims_state_payer", "claims", ["state", "payer_key"])
    with op.batch_alter_table("claim_lines") as batch_op:
        batch_op.add_column(sa.Column("revenue_code", sa.String(4), nullable=True))
        batch_op.alter_column("procedure_code", existing_type=sa.String(5), nullable=True)


def downgrade() -> None:
    # an institutional line without a procedure code has no professional form: refuse
    # rather than invent one
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM claims WHERE kind <> 'professional'")
                    ).scalar():
        raise RuntimeError("institutional claims are stored: downgrading would lose them")
    op.drop_index("ix_claims_state_payer", table_name="claims")
    with op.batch_alter_table("claim_lines") as batch_op:
        batch_op.alter_column("procedure_code", existing_type=sa.String(5), nullable=False)
        batch_op.drop_column("revenue_code")
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_column("institutional")
        batch_op.drop_column("kind")

"""numbers and received documents are a practice's own: unique per practice, no longer across
the installation.

Each practice numbers its claims: a second practice's claim RB0000001 was refused by the
database (an error 500, and a way to learn which numbers another practice used). Received
documents are stored once per practice (the same file may reach two practices; its document
id is the content's SHA-256 when uploaded), and what an 835 leaves in the register is the
practice's too: its remittance (payer, trace number), its exceptions and its provider-level
adjustments (PLB) by posting key. The PLBs had no practice: they get the practice of the
remittance they came with (the first practice for one posted before the register).

Each new constraint ends with the practice: a look-up by number reads it as it read the old one
(SQLite's practice filter, ``practice_id + 0``, uses no index leading with the practice).

The downgrade restores the installation-wide constraints; it refuses while two practices share
a number (nothing is changed then).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

#: (table, its unique constraint until now, the constraint's columns, the per-practice one)
PER_PRACTICE = (
    ("claims", "uq_claims_claim_number", ("claim_number",), "uq_claims_practice_number"),
    ("inbound_documents", "uq_inbound_documents_channel_document", ("channel", "document_id"),
     "uq_inbound_documents_practice_document"),
    ("remittances", "uq_remittances_payer_trace", ("payer_ref", "trace_number"),
     "uq_remittances_practice_payer_trace"),
    ("remittance_exceptions", "uq_remittance_exceptions_key", ("posting_key",),
     "uq_remittance_exceptions_practice_key"),
    ("provider_adjustments", "uq_provider_adjustments_key", ("posting_key",),
     "uq_provider_adjustments_practice_key"),
)


def _stamp_provider_adjustments(bind: sa.Connection) -> None:
    """Each PLB gets the practice of the remittance whose posting keys it shares (``835:
    <payer>:<trace>:PLB:<n>``); a PLB without one (posted before the register, 0006) gets the
    installation's first practice, whose records existed then."""
    prefix = "'835:' || r.payer_ref || ':' || r.trace_number || ':PLB:'"
    bind.execute(sa.text(
        "UPDATE provider_adjustments SET practice_id = (SELECT r.practice_id FROM remittances r"
        " WHERE r.trace_number = provider_adjustments.trace_number"
        f" AND substr(provider_adjustments.posting_key, 1, length({prefix})) = {prefix}"
        " ORDER BY r.id LIMIT 1)"))
    bind.execute(sa.text(
        "UPDATE provider_adjustments SET practice_id = (SELECT MIN(id) FROM practices)"
        " WHERE practice_id IS NULL"))


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:  # in place, as 0023 added the column to the other tables
        op.execute("ALTER TABLE provider_adjustments ADD COLUMN practice_id INTEGER "
                   "CONSTRAINT fk_provider_adjustments_practice_id_practices "
                   "REFERENCES practices (id)")
    else:
        op.add_column("provider_adjustments",
                      sa.Column("practice_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_provider_adjustments_practice_id_practices"),
                              "provider_adjustments", "practices", ["practice_id"], ["id"])
    _stamp_provider_adjustments(bind)
    for table, old, columns, new in PER_PRACTICE:
        if sqlite:
            # a table constraint: SQLite drops it only by rebuilding the table (Database.upgrade
            # runs migrations with foreign keys off and checks them before the commit)
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.drop_constraint(old, type_="unique")
                batch_op.create_unique_constraint(new, [*columns, "practice_id"])
        else:
            op.drop_constraint(old, table, type_="unique")
            op.create_unique_constraint(new, table, [*columns, "practice_id"])
    op.create_index(op.f("ix_provider_adjustments_practice_id"), "provider_adjustments",
                    ["practice_id"], unique=False)


def _refuse_shared(bind: sa.Connection, table: str, columns: tuple[str, ...]) -> None:
    """Stop the downgrade before it changes anything while two practices share a value the
    installation-wide constraint would refuse."""
    names = ", ".join(columns)
    shared = bind.execute(sa.text(
        f"SELECT COUNT(*) FROM (SELECT {names} FROM {table} GROUP BY {names}"
        " HAVING COUNT(*) > 1) shared")).scalar()
    if shared:
        raise RuntimeError(f"cannot downgrade below 0042: {shared} value(s) of {table} "
                           f"({names}) are used by more than one practice")


def downgrade() -> None:
    bind = op.get_bind()
    for table, _, columns, _ in PER_PRACTICE:
        _refuse_shared(bind, table, columns)
    op.drop_index(op.f("ix_provider_adjustments_practice_id"),
                  table_name="provider_adjustments")
    for table, old, columns, new in PER_PRACTICE:
        with op.batch_alter_table(table, recreate="always"
                                  if bind.dialect.name == "sqlite" else "auto") as batch_op:
            batch_op.drop_constraint(new, type_="unique")
            batch_op.create_unique_constraint(old, list(columns))
            if table == "provider_adjustments":
                # its foreign key goes with it (SQLite's rebuild keeps no constraint on a
                # column it drops; PostgreSQL drops them with the column)
                batch_op.drop_column("practice_id")

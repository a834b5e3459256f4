"""numbers, received documents and what an 835 posts are a practice's own: unique per practice,
no longer across the installation.

Each practice numbers its claims: a second practice's claim RB0000001 was refused by the
database (an error 500, and a way to learn which numbers another practice used). Received
documents are stored once per practice (the same file may reach two practices; its document
id is the content's SHA-256 when uploaded). What an 835 posts is keyed by the payer, the trace
number and the claim number (``835:<payer>:<trace>:<claim number>:<n>``), which two practices
may now share: its remittance, exceptions, provider-level adjustments (PLB), ledger postings,
the payer's answers, their denials and findings are unique per practice too, so that one
practice's posting never counts another's claim payment as already posted (nor refuses it).

Postings, answers (claim_adjudications), findings and PLBs had no practice: they get the
practice of their ledger entries, claim, claim, and remittance (the first practice for what
has none: a PLB older than the register).

Each new constraint ends with the practice: a look-up by number or key reads it as it read the
old one (SQLite's practice filter, ``practice_id + 0``, uses no index leading with the
practice).

The downgrade restores the installation-wide constraints; it refuses while two practices share
a value (nothing is changed then).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

_PLB_PREFIX = "'835:' || r.payer_ref || ':' || r.trace_number || ':PLB:'"
#: the tables that get their practice here, and each row's practice
NEW_PRACTICE = (
    ("provider_adjustments",
     "SELECT r.practice_id FROM remittances r WHERE r.trace_number = "
     "provider_adjustments.trace_number AND substr(provider_adjustments.posting_key, 1, "
     f"length({_PLB_PREFIX})) = {_PLB_PREFIX} ORDER BY r.id LIMIT 1"),
    ("postings",
     "SELECT MIN(e.practice_id) FROM ledger_entries e WHERE e.posting_id = postings.id"),
    ("claim_adjudications",
     "SELECT c.practice_id FROM claims c WHERE c.id = claim_adjudications.claim_id"),
    ("remittance_findings",
     "SELECT c.practice_id FROM claims c WHERE c.id = remittance_findings.claim_id"),
)
#: of those, the ones with an index on the practice alone (postings and answers are read by
#: key, id, claim or date: never by the practice alone)
INDEXED = ("provider_adjustments", "remittance_findings")
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
    ("postings", "uq_postings_posting_key", ("posting_key",), "uq_postings_practice_key"),
    ("claim_adjudications", "uq_claim_adjudications_key", ("posting_key",),
     "uq_claim_adjudications_practice_key"),
    ("remittance_findings", "uq_remittance_findings_finding_key", ("finding_key",),
     "uq_remittance_findings_practice_key"),
    ("denials", "uq_denials_line", ("posting_key", "position"), "uq_denials_practice_line"),
)


def _add_practice(bind: sa.Connection, table: str, practice_of: str) -> None:
    """``table.practice_id``, filled with each row's practice (the first practice for a row
    without one)."""
    if bind.dialect.name == "sqlite":  # in place, as 0023 added the column to the others
        op.execute(f"ALTER TABLE {table} ADD COLUMN practice_id INTEGER "
                   f"CONSTRAINT fk_{table}_practice_id_practices REFERENCES practices (id)")
    else:
        op.add_column(table, sa.Column("practice_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(f"fk_{table}_practice_id_practices"), table, "practices",
                              ["practice_id"], ["id"])
    bind.execute(sa.text(f"UPDATE {table} SET practice_id = ({practice_of})"))
    bind.execute(sa.text(f"UPDATE {table} SET practice_id = (SELECT MIN(id) FROM practices)"
                         " WHERE practice_id IS NULL"))


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table, practice_of in NEW_PRACTICE:
        _add_practice(bind, table, practice_of)
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
    for table in INDEXED:
        op.create_index(op.f(f"ix_{table}_practice_id"), table, ["practice_id"], unique=False)


def _refuse_shared(bind: sa.Connection, table: str, columns: tuple[str, ...]) -> None:
    """Stop the downgrade before it changes anything while two practices share a value the
    installation-wide constraint would refuse."""
    names = ", ".join(columns)
    shared = bind.execute(sa.text(
        f"SELECT COUNT(*) FROM (SELECT {names} FROM {table} GROUP BY {names}"
        " HAVING COUNT(*) > 1) shared")).scalar()
    if shared:
        raise RuntimeError(f"cannot downgrade below 0043: {shared} value(s) of {table} "
                           f"({names}) are used by more than one practice")


def downgrade() -> None:
    bind = op.get_bind()
    for table, _, columns, _ in PER_PRACTICE:
        _refuse_shared(bind, table, columns)
    for table in INDEXED:
        op.drop_index(op.f(f"ix_{table}_practice_id"), table_name=table)
    given = {table for table, _ in NEW_PRACTICE}
    for table, old, columns, new in PER_PRACTICE:
        with op.batch_alter_table(table, recreate="always"
                                  if bind.dialect.name == "sqlite" else "auto") as batch_op:
            batch_op.drop_constraint(new, type_="unique")
            batch_op.create_unique_constraint(old, list(columns))
            if table in given:
                # its foreign key goes with it (SQLite's rebuild keeps no constraint on a
                # column it drops; PostgreSQL drops them with the column)
                batch_op.drop_column("practice_id")

"""tenancy: every practice's records carry their practice

Each table whose rows belong to one practice gets ``practice_id`` (a foreign key to
``practices``, indexed), filled with the installation's existing practice: until now there was
one. The practice's billing details move to ``practices.details`` (NULL for the practice the
``[practice]`` configuration describes). Account numbers and provider NPIs become unique per
practice (two client practices both have an account 1001; one doctor works for both).
The ledger's account index carries the practice (the sums read it alone).
Idempotency keys are a 24-hour cache: their table is made anew with the practice in its key.
Audit events and webhook events record the practice acted in.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

#: the tables whose rows belong to one practice (storage.tenancy.PracticeScoped)
SCOPED = ("providers", "guarantors", "patients", "coverages", "claims", "ledger_entries",
          "payments", "payment_plans", "statements", "remittances", "inbound_documents",
          "submissions", "appeals", "denials", "remittance_exceptions", "coding_audit_samples")
#: the columns of the ledger's account index before this revision
_ACCOUNT = ["claim_id", "patient_id", "payer_key", "effective_date", "insurance_delta",
            "patient_delta"]
#: (table, old unique constraint, its column): unique per practice from now on
PER_PRACTICE = (("patients", "uq_patients_account_number", "account_number",
                 "uq_patients_practice_account"),
                ("providers", "uq_providers_npi", "npi", "uq_providers_practice_npi"))


def _existing_practice(bind: sa.Connection) -> int | None:
    """The practice existing rows belong to: the first practice, made here when records
    exist and no practice does yet (``ensure_practice`` makes it otherwise, from the
    configuration, when the database is opened)."""
    practice_id = bind.execute(sa.text("SELECT MIN(id) FROM practices")).scalar()
    if practice_id is not None:
        return int(practice_id)
    if not any(bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first()
               for table in (*SCOPED, "audit_events", "webhook_subscriptions")):
        return None
    bind.execute(sa.text("INSERT INTO practices (code, name, created_at, active) "
                         "VALUES ('default', 'default', :now, :yes)"),
                 {"now": datetime.now(UTC), "yes": True})
    return int(bind.execute(sa.text("SELECT MIN(id) FROM practices")).scalar_one())


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("practices", sa.Column("details", sa.JSON(), nullable=True))
    practice_id = _existing_practice(bind)
    for table in SCOPED:
        if sqlite:
            # in place: batch mode would rebuild (copy, DROP, rename) tables the ledger and
            # claims refer to, which SQLite refuses with foreign keys enforced and data present;
            # a column with REFERENCES can be added in place when it defaults to NULL
            op.execute(f"ALTER TABLE {table} ADD COLUMN practice_id INTEGER "
                       f"CONSTRAINT fk_{table}_practice_id_practices REFERENCES practices (id)")
        else:
            op.add_column(table, sa.Column("practice_id", sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(f"fk_{table}_practice_id_practices"), table,
                                  "practices", ["practice_id"], ["id"])
        if practice_id is not None:
            op.execute(sa.text(f"UPDATE {table} SET practice_id = :practice")
                       .bindparams(practice=practice_id))
        op.create_index(op.f(f"ix_{table}_practice_id"), table, ["practice_id"], unique=False)

    for table, old, column, new in PER_PRACTICE:
        if sqlite:
            # a table constraint: SQLite drops it only by rebuilding the table (Database.upgrade
            # runs migrations with foreign keys off and checks them before the commit)
            with op.batch_alter_table(table, recreate="always") as batch_op:
                batch_op.drop_constraint(old, type_="unique")
                batch_op.create_unique_constraint(new, ["practice_id", column])
        else:
            op.drop_constraint(old, table, type_="unique")
            op.create_unique_constraint(new, table, ["practice_id", column])

    # the index ``ar aging`` and the claim lists' sums read alone carries the practice too
    op.drop_index("ix_ledger_entries_account", table_name="ledger_entries")
    op.create_index("ix_ledger_entries_account", "ledger_entries", [*_ACCOUNT, "practice_id"],
                    unique=False)

    op.add_column("audit_events", sa.Column("practice_id", sa.Integer(), nullable=True))
    op.add_column("webhook_events", sa.Column("practice_id", sa.Integer(), nullable=True))
    if practice_id is not None:
        for table in ("audit_events", "webhook_events", "webhook_subscriptions"):
            op.execute(sa.text(f"UPDATE {table} SET practice_id = :practice")
                       .bindparams(practice=practice_id))
    op.create_index("ix_audit_events_practice", "audit_events", ["practice_id", "id"],
                    unique=False)

    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    _create_idempotency_keys(with_practice=True)


def _create_idempotency_keys(*, with_practice: bool) -> None:
    practice: list[sa.schema.SchemaItem] = [
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"],
                                name=op.f("fk_idempotency_keys_practice_id_practices")),
        sa.UniqueConstraint("practice_id", "actor", "key",
                            name="uq_idempotency_keys_practice_actor_key"),
    ] if with_practice else [
        sa.UniqueConstraint("actor", "key", name="uq_idempotency_keys_actor_key")]
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=2000), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        *practice,
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"],
                    unique=False)
    if with_practice:
        op.create_index(op.f("ix_idempotency_keys_practice_id"), "idempotency_keys",
                        ["practice_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_practice_id", table_name="idempotency_keys")
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    _create_idempotency_keys(with_practice=False)
    op.drop_index("ix_audit_events_practice", table_name="audit_events")
    op.drop_index("ix_ledger_entries_account", table_name="ledger_entries")
    op.create_index("ix_ledger_entries_account", "ledger_entries", _ACCOUNT, unique=False)
    with op.batch_alter_table("webhook_events") as batch_op:
        batch_op.drop_column("practice_id")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("practice_id")
    for table, old, column, new in PER_PRACTICE:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(new, type_="unique")
            batch_op.create_unique_constraint(old, [column])
    for table in SCOPED:
        op.drop_index(op.f(f"ix_{table}_practice_id"), table_name=table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(f"fk_{table}_practice_id_practices"),
                                     type_="foreignkey")
            batch_op.drop_column("practice_id")
    with op.batch_alter_table("practices") as batch_op:
        batch_op.drop_column("details")

"""indexes for the list, work-queue and report queries at 1,000,000 claims

Every list the CLI shows, every work queue and report reads through an index
(tests/test_query_plans.py checks the plans on PostgreSQL):

* claims by date of service (``claims list --from/--to``), by claim account (the
  secondary, corrected and void claims of an encounter: aging, follow-up, posting) and by
  the claim they replace (void requests waiting for the payer: statements);
* transitions by claim, target state and time (a claim's first or latest submission,
  in ``ar aging`` and ``ar followup``), replacing the index on the claim alone;
* ledger entries by claim account with what ``ar aging`` sums (claim, patient, payer,
  effective date, both deltas), so the report reads the index alone; it replaces the
  index on the claim alone (its leading column); and by posting (a posting's entries);
* adjudications by claim (a claim's payer answers: follow-up, denials, appeals);
* denials by claim account (a new answer closes the account's open items);
* audit events by action, newest first (``medbill audit --action``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

#: (table, index, columns)
INDEXES = (
    ("claims", "ix_claims_service_date", ["service_date_from"]),
    ("claims", "ix_claims_account", ["account_claim_id"]),
    ("claims", "ix_claims_replaces", ["replaces_claim_id"]),
    ("claim_transitions", "ix_claim_transitions_claim_target", ["claim_id", "target", "at"]),
    ("ledger_entries", "ix_ledger_entries_account",
     ["claim_id", "patient_id", "payer_key", "effective_date", "insurance_delta",
      "patient_delta"]),
    ("ledger_entries", "ix_ledger_entries_posting", ["posting_id"]),
    ("claim_adjudications", "ix_claim_adjudications_claim", ["claim_id"]),
    ("denials", "ix_denials_account", ["account_claim_id"]),
    ("audit_events", "ix_audit_events_action", ["action", "id"]),
)
#: replaced by the first index on the same table above (same leading column)
REPLACED = (("claim_transitions", "ix_claim_transitions_claim", ["claim_id"]),
            ("ledger_entries", "ix_ledger_entries_claim", ["claim_id"]))


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in REPLACED:
        op.create_index(name, table, columns, unique=False)
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)

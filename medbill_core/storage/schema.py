"""Tables (SQLAlchemy 2.0 declarative). Migrations in ``storage/migrations`` mirror these."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from medbill_core.storage.tenancy import PracticeScoped, acting_practice_id
from medbill_core.storage.types import Cents, DecimalText

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC one: stored in UTC, SQLite gives it back naive."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_day(moment: datetime) -> date:
    """The local calendar day of a stored timestamp."""
    return as_utc(moment).astimezone().date()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class ProviderRow(PracticeScoped, TimestampMixin, Base):
    __tablename__ = "providers"
    # a doctor may work for two client practices of one billing company
    __table_args__ = (UniqueConstraint("practice_id", "npi", name="uq_providers_practice_npi"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    npi: Mapped[str] = mapped_column(String(10))
    last_name: Mapped[str] = mapped_column(String(60))
    first_name: Mapped[str | None] = mapped_column(String(35))
    entity_type: Mapped[str] = mapped_column(String(1))
    taxonomy: Mapped[str | None] = mapped_column(String(10))


class GuarantorRow(PracticeScoped, TimestampMixin, Base):
    """The person responsible for paying patients' balances; statements are addressed to them.

    One guarantor may answer for several patients (a parent for a family): their balances go
    on one statement. A patient who pays their own bills has no guarantor row unless they also
    answer for others (then their own row names them with relationship ``self``).
    """

    __tablename__ = "guarantors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_name: Mapped[str] = mapped_column(String(60))
    first_name: Mapped[str] = mapped_column(String(35))
    middle_name: Mapped[str | None] = mapped_column(String(25))
    suffix: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[date | None] = mapped_column(Date)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    phone: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))


class PatientRow(PracticeScoped, TimestampMixin, Base):
    __tablename__ = "patients"
    # two client practices number their accounts independently (both may have 1001)
    __table_args__ = (Index("ix_patients_guarantor", "guarantor_id"),
                      Index("ix_patients_name", "last_name", "first_name"),
                      # the 837 intake finds a file's patient by birth date, then name
                      Index("ix_patients_birth_date", "practice_id", "birth_date"),
                      UniqueConstraint("practice_id", "account_number",
                                       name="uq_patients_practice_account"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_number: Mapped[str] = mapped_column(String(30))
    last_name: Mapped[str] = mapped_column(String(60))
    first_name: Mapped[str] = mapped_column(String(35))
    middle_name: Mapped[str | None] = mapped_column(String(25))
    suffix: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    phone: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    statement_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    # NO ACTION rather than RESTRICT (still refuses deleting a referenced row): SQLite can add
    # these columns in place only with a column-level REFERENCES, whose ON DELETE it does not
    # report back, so RESTRICT would show as a difference between model and database
    guarantor_id: Mapped[int | None] = mapped_column(ForeignKey("guarantors.id"))
    #: self, parent, spouse or other; NULL: not set (a dependent's defaults from the subscriber)
    guarantor_relationship: Mapped[str | None] = mapped_column(String(10))
    #: set when this record was merged into another (it is then kept only for history)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))

    coverages: Mapped[list[CoverageRow]] = relationship(back_populates="patient",
                                                        order_by="CoverageRow.id")


class CoverageRow(PracticeScoped, TimestampMixin, Base):
    __tablename__ = "coverages"
    __table_args__ = (Index("ix_coverages_patient_order", "patient_id", "coverage_order"),
                      # the 837 intake: who holds this member ID with this payer
                      Index("ix_coverages_member", "payer_key", "member_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    payer_key: Mapped[str] = mapped_column(String(40))
    coverage_order: Mapped[str] = mapped_column(String(1))
    member_id: Mapped[str] = mapped_column(String(80))
    group_number: Mapped[str | None] = mapped_column(String(50))
    group_name: Mapped[str | None] = mapped_column(String(60))
    plan_name: Mapped[str | None] = mapped_column(String(60))
    relationship_code: Mapped[str] = mapped_column(String(2))
    subscriber: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    patient: Mapped[PatientRow] = relationship(back_populates="coverages")


class ClaimRow(PracticeScoped, TimestampMixin, Base):
    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_state", "state"),
                      # a state and payer together (claims list --state --payer, a payer's
                      # open claims): the pair is far more selective than either alone
                      Index("ix_claims_state_payer", "state", "payer_key"),
                      Index("ix_claims_patient", "patient_id"),
                      Index("ix_claims_payer", "payer_key"),
                      # a list filtered by dates (and a payer) reads the ids from the index
                      # alone (migration 0038)
                      Index("ix_claims_service_date_payer", "service_date_from", "payer_key",
                            postgresql_include=["state", "practice_id", "id"]),
                      Index("ix_claims_account", "account_claim_id"),
                      Index("ix_claims_replaces", "replaces_claim_id"),
                      # each practice numbers its claims (migration 0043); the practice comes
                      # last so that a look-up by number reads this index (on SQLite the
                      # practice filter is ``practice_id + 0``: see storage/tenancy.py)
                      UniqueConstraint("claim_number", "practice_id",
                                       name="uq_claims_practice_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_number: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    coverage_id: Mapped[int | None] = mapped_column(
        ForeignKey("coverages.id", ondelete="RESTRICT"))
    payer_key: Mapped[str | None] = mapped_column(String(40))
    billing_provider_npi: Mapped[str] = mapped_column(String(10))
    rendering_provider_npi: Mapped[str | None] = mapped_column(String(10))
    referring_provider_npi: Mapped[str | None] = mapped_column(String(10))
    frequency: Mapped[str] = mapped_column(String(1))
    original_claim_reference: Mapped[str | None] = mapped_column(String(50))
    replaces_claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claims.id", ondelete="RESTRICT"))
    account_claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("claims.id", ondelete="RESTRICT"))
    place_of_service: Mapped[str] = mapped_column(String(2))
    service_date_from: Mapped[date] = mapped_column(Date)
    service_date_to: Mapped[date] = mapped_column(Date)
    diagnoses: Mapped[list[str]] = mapped_column(JSON)
    prior_authorization: Mapped[str | None] = mapped_column(String(50))
    accepts_assignment: Mapped[bool] = mapped_column(Boolean, default=True)
    benefits_assigned: Mapped[bool] = mapped_column(Boolean, default=True)
    release_of_information: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(20))
    payer_claim_number: Mapped[str | None] = mapped_column(String(50))
    total_charge: Mapped[Decimal] = mapped_column(Cents)
    #: professional or institutional (:class:`~medbill_core.domain.ClaimKind`)
    kind: Mapped[str] = mapped_column(String(16), default="professional",
                                      server_default="professional")
    #: an institutional claim's :class:`~medbill_core.domain.InstitutionalDetails` (JSON)
    institutional: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: when the claim was last submitted (its latest transition to ``submitted``; None: never),
    #: written with that transition by ``ClaimService`` (migration 0041): the follow-up list
    #: reads it with the claim rather than probing the transitions of 120,000 claims
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[ClaimLineRow]] = relationship(
        back_populates="claim", order_by="ClaimLineRow.line_number",
        cascade="all, delete-orphan")


class ClaimLineRow(Base):
    __tablename__ = "claim_lines"
    __table_args__ = (UniqueConstraint("claim_id", "line_number",
                                       name="uq_claim_lines_claim_line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    line_number: Mapped[int] = mapped_column(Integer)
    procedure_code: Mapped[str | None] = mapped_column(String(5))
    revenue_code: Mapped[str | None] = mapped_column(String(4))
    modifiers: Mapped[list[str]] = mapped_column(JSON)
    units: Mapped[Decimal] = mapped_column(DecimalText)
    unit_type: Mapped[str] = mapped_column(String(2))
    charge: Mapped[Decimal] = mapped_column(Cents)
    diagnosis_pointers: Mapped[list[int]] = mapped_column(JSON)
    service_date_from: Mapped[date] = mapped_column(Date)
    service_date_to: Mapped[date | None] = mapped_column(Date)
    place_of_service: Mapped[str | None] = mapped_column(String(2))
    line_control_number: Mapped[str | None] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(String(80))

    claim: Mapped[ClaimRow] = relationship(back_populates="lines")


class ClaimTransitionRow(Base):
    __tablename__ = "claim_transitions"
    # target_at: the KPIs read a period's submissions by their date (kpi_bases.submissions)
    __table_args__ = (Index("ix_claim_transitions_claim_target", "claim_id", "target", "at"),
                      Index("ix_claim_transitions_target_at", "target", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PostingRow(PracticeScoped, Base):
    """One source document or action posted to the ledger; its key makes posting idempotent
    within the practice (migration 0043): an 835's keys name the payer, the trace number and
    the claim number, which another practice may use too."""

    __tablename__ = "postings"
    __table_args__ = (UniqueConstraint("posting_key", "practice_id",
                                       name="uq_postings_practice_key"),)

    #: read by key, by id, or a practice's through the ledger's (practice, posting) index:
    #: never by the practice alone
    practice_index_alone = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    memo: Mapped[str | None] = mapped_column(String(200))

    entries: Mapped[list[LedgerEntryRow]] = relationship(back_populates="posting",
                                                         order_by="LedgerEntryRow.id")


class LedgerEntryRow(PracticeScoped, Base):
    __tablename__ = "ledger_entries"
    # the account index carries what ``ar aging`` sums, and the practice every query of a
    # practice is filtered by: the report reads the index alone
    __table_args__ = (Index("ix_ledger_entries_account", "claim_id", "patient_id", "payer_key",
                            "effective_date", "insurance_delta", "patient_delta",
                            "practice_id"),
                      # the practice-wide reads, each from an index alone (0039): who owes
                      # the practice, and the postings the accounting export has not sent
                      Index("ix_ledger_entries_practice_patient", "practice_id", "patient_id",
                            "patient_delta"),
                      Index("ix_ledger_entries_practice_posting", "practice_id", "posting_id"),
                      Index("ix_ledger_entries_posting", "posting_id"),
                      Index("ix_ledger_entries_patient", "patient_id"),
                      Index("ix_ledger_entries_payer", "payer_key"),
                      # the KPIs read one month of the ledger (kpi_rollups)
                      Index("ix_ledger_entries_effective", "effective_date"),
                      # the agency bucket's few entries, summed per patient by ``ar aging``
                      Index("ix_ledger_entries_agency", "patient_id", "effective_date",
                            "agency_delta", "practice_id",
                            sqlite_where=text("agency_delta <> 0"),
                            postgresql_where=text("agency_delta <> 0")))

    practice_index_alone = False  # the two practice indexes above lead with it

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Cents)
    insurance_delta: Mapped[Decimal] = mapped_column(Cents)
    patient_delta: Mapped[Decimal] = mapped_column(Cents)
    #: placed with a collection agency (the ledger's third bucket; 0 before 0033)
    agency_delta: Mapped[Decimal] = mapped_column(Cents, server_default=text("0"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    claim_line_number: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    payer_key: Mapped[str | None] = mapped_column(String(40))
    reason_code: Mapped[str | None] = mapped_column(String(10))
    effective_date: Mapped[date] = mapped_column(Date)

    posting: Mapped[PostingRow] = relationship(back_populates="entries")


class LedgerBalanceRow(PracticeScoped, Base):
    """The ledger summed per account, kept by the ledger as it writes entries
    (:mod:`medbill_core.ledger_balances`), so that the reports asking what is open read the
    open accounts, not every entry ever posted. Two kinds of rows (``bucket``): what each
    payer owes on a (claim account, patient) -- per payer key, as the insurance A/R ages it
    -- and what the patient owes on it (with the agency's share). Derived, never edited: the
    entries stay the truth, and :func:`~medbill_core.ledger_balances.rebuild` computes these
    rows from them again."""

    __tablename__ = "ledger_balances"
    # a claim account's balances from an index alone (the ledger's balance reads)
    __table_args__ = (Index("ix_ledger_balances_claim", "claim_id", "bucket", "payer_key",
                            "balance", "agency"),
                      Index("ix_ledger_balances_patient", "patient_id"),
                      # what a report as of a past day must recompute from the entries
                      Index("ix_ledger_balances_last_effective", "last_effective"),
                      # the open accounts from an index alone: a few rows among all the
                      # accounts ever billed
                      Index("ix_ledger_balances_open", "practice_id", "bucket", "claim_id",
                            "patient_id", "payer_key", "balance", "first_effective",
                            "last_effective", "first_to_patient",
                            sqlite_where=text("balance <> 0"),
                            postgresql_where=text("balance <> 0")))

    practice_index_alone = False  # the open-account index leads with it

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``bucket/claim/patient[/payer]`` (empty for none): the row's identity, unique (a
    #: unique constraint over nullable columns would let two rows of "no claim" coexist)
    account_key: Mapped[str] = mapped_column(String(90), unique=True)
    #: ``insurance`` (one payer key's share) or ``patient``
    bucket: Mapped[str] = mapped_column(String(10))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    #: the payer key of an insurance row (None: insurance posted without one; and on a
    #: patient row, which sums every payer key's entries)
    payer_key: Mapped[str | None] = mapped_column(String(40))
    #: the sum of the bucket's deltas
    balance: Mapped[Decimal] = mapped_column(Cents)
    #: the sum of the agency deltas (patient rows; zero on insurance rows)
    agency: Mapped[Decimal] = mapped_column(Cents)
    #: the earliest and latest effective dates of the entries summed
    first_effective: Mapped[date] = mapped_column(Date)
    last_effective: Mapped[date] = mapped_column(Date)
    #: patient rows: the effective date of the first positive transfer to the patient
    #: (patient A/R's clock)
    first_to_patient: Mapped[date | None] = mapped_column(Date)


class AuditEventRow(Base):
    """Who changed which billing record, when, how. ``details`` holds ids and field names only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),
                      Index("ix_audit_events_at", "at"),
                      Index("ix_audit_events_action", "action", "id"),
                      Index("ix_audit_events_practice", "practice_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    #: the practice acted in (NULL: the installation's own work). Not a scoped table: the
    #: hash chain runs over every practice's events; the audit trail's reads filter by it.
    practice_id: Mapped[int | None] = mapped_column(Integer, default=acting_practice_id)
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(60))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    #: The OS account of the process that acted (``actor`` may be a configured name).
    os_user: Mapped[str | None] = mapped_column(String(80))
    #: The hash chain (:mod:`medbill_core.audit_chain`): set when the transaction commits.
    chain_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


class SubmissionStatus(StrEnum):
    """Where an outbox file stands (``SubmissionRow.status``): the one set of values every
    writer and reader uses (the column holds the plain strings)."""

    #: recorded, waiting to be sent (or sent back to the queue after a failed attempt)
    PENDING = "pending"
    #: claimed by a sender, which holds it until ``lease_until``
    SENDING = "sending"
    #: the channel took it; no 999 yet
    SENT = "sent"
    #: the channel refused it
    REFUSED = "refused"
    #: the payer's 999 (or TA1) answered
    ACCEPTED = "accepted"
    PARTIALLY_ACCEPTED = "partially accepted"
    REJECTED = "rejected"

    @property
    def answered(self) -> bool:
        """A 999 or TA1 has answered the file."""
        return self in (SubmissionStatus.ACCEPTED, SubmissionStatus.PARTIALLY_ACCEPTED,
                        SubmissionStatus.REJECTED)


class SubmissionRow(PracticeScoped, Base):
    """The outbox: a batch is recorded (pending) before it is sent and marked when answered.

    A sender first claims the row (``sending``, with ``lease_until``): no other process sends
    it while the lease holds. A sender killed mid-send leaves it ``sending``; once the lease
    has expired the next run sends the same content with the same idempotency key, so the
    remote end never processes a batch twice.
    """

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_status", "status"),
                      Index("ix_submissions_control", "control_number"),
                      Index("ix_submissions_group_control", "group_control_number"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    payer_key: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    control_number: Mapped[str] = mapped_column(String(20))
    #: the file's functional group control number (GS06, as written: what a 999's AK102
    #: names), NULL for a file that is not X12
    group_control_number: Mapped[str | None] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    claim_numbers: Mapped[list[str]] = mapped_column(JSON)
    #: a :class:`SubmissionStatus` value
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    remote_id: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: while ``sending``: until when the sender that claimed the row holds it
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DocumentStatus(StrEnum):
    """What became of a received document (``InboundDocumentRow.status``)."""

    #: stored, not applied yet
    RECEIVED = "received"
    #: an 835 being posted in parts, held by one process (``lease_holder``)
    POSTING = "posting"
    APPLIED = "applied"
    #: the same content arrived before under another document id
    DUPLICATE = "duplicate"
    #: no adapter could read it (kept to look at; not retried on its own)
    UNDECODABLE = "undecodable"
    #: applying it failed (retried when it arrives again)
    FAILED = "failed"


class InboundDocumentRow(PracticeScoped, Base):
    """Every document received from a channel, stored once per practice (channel + document
    id): the same file may reach two practices (migration 0043)."""

    __tablename__ = "inbound_documents"
    __table_args__ = (UniqueConstraint("channel", "document_id", "practice_id",
                                       name="uq_inbound_documents_practice_document"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: a :class:`DocumentStatus` value
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: an 835 being posted in parts (status ``posting``) is held by one process (host:pid)
    #: until then; the lease is renewed with each part (services/remittance_parts.py)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_holder: Mapped[str | None] = mapped_column(String(80))


class ProviderAdjustmentRow(PracticeScoped, Base):
    """PLB provider-level adjustments from remittances (not tied to a patient's account), the
    practice's that posted the 835 (migration 0043: stamped with their remittance's)."""

    __tablename__ = "provider_adjustments"
    __table_args__ = (UniqueConstraint("posting_key", "practice_id",
                                       name="uq_provider_adjustments_practice_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_key: Mapped[str] = mapped_column(String(200))
    trace_number: Mapped[str] = mapped_column(String(50))
    payer_id: Mapped[str | None] = mapped_column(String(80))
    provider_id: Mapped[str] = mapped_column(String(50))
    reason_code: Mapped[str] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(80))
    amount: Mapped[Decimal] = mapped_column(Cents)
    fiscal_period_date: Mapped[date | None] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RemittanceExceptionRow(PracticeScoped, Base):
    """A remittance claim that could not be posted (unknown claim number, ...): a work item."""

    __tablename__ = "remittance_exceptions"
    # per practice (migration 0043): another practice may post the same 835
    __table_args__ = (UniqueConstraint("posting_key", "practice_id",
                                       name="uq_remittance_exceptions_practice_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_key: Mapped[str] = mapped_column(String(200))
    trace_number: Mapped[str] = mapped_column(String(50))
    claim_number: Mapped[str] = mapped_column(String(50))
    reason: Mapped[str] = mapped_column(String(200))
    paid: Mapped[Decimal] = mapped_column(Cents)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: resolved by a biller (``medbill remit resolve``) or when a later posting of the same
    #: 835 found the claim; the columns below say when, by whom and how (NULL before 0006)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(500))
    #: a claim payment held, not unmatched (a reversal received before the answer it
    #: reverses): the payment (ClaimPayment JSON), the claim it names and the date to post it
    #: with, posted when what it waits for arrives (NULL for every other exception)
    held_payment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    held_claim_id: Mapped[int | None] = mapped_column(Integer)
    held_effective_date: Mapped[date | None] = mapped_column(Date)


class RemittanceRow(PracticeScoped, Base):
    """One 835 payment as received (the remittance register), and what posting it did.

    Identified like its postings: the payer (``payer_ref``: the payer ID, else the payer
    name) and the TRN02 trace number; a second 835 with the same identity is the same
    remittance and only adds what it posts anew. Each claim payment of the 835 is counted
    once, under ``posted`` (applied to a claim), ``duplicate`` (already on the ledger when the
    remittance was first recorded: posted before this register existed) or ``exception``
    (matched no claim). The 835 balances when ``payment_amount`` (BPR02) equals posted +
    duplicate + exception totals (CLP04 as sent) minus ``plb_total``.
    """

    __tablename__ = "remittances"
    # per practice (migration 0043): one 835 may pay claims of two practices, each posts it
    __table_args__ = (UniqueConstraint("payer_ref", "trace_number", "practice_id",
                                       name="uq_remittances_practice_payer_trace"),
                      Index("ix_remittances_payment_date", "payment_date"),
                      Index("ix_remittances_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_number: Mapped[str] = mapped_column(String(50))
    payer_ref: Mapped[str] = mapped_column(String(80))
    payer_id: Mapped[str | None] = mapped_column(String(80))
    payer_name: Mapped[str] = mapped_column(String(80))
    payment_amount: Mapped[Decimal] = mapped_column(Cents)
    payment_method: Mapped[str] = mapped_column(String(3))
    payment_date: Mapped[date | None] = mapped_column(Date)
    production_date: Mapped[date | None] = mapped_column(Date)
    #: the date the ledger entries carry (BPR16, else the date given when posting)
    effective_date: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    posted_count: Mapped[int] = mapped_column(Integer, default=0)
    posted_total: Mapped[Decimal] = mapped_column(Cents)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_total: Mapped[Decimal] = mapped_column(Cents)
    exception_count: Mapped[int] = mapped_column(Integer, default=0)
    exception_total: Mapped[Decimal] = mapped_column(Cents)
    plb_count: Mapped[int] = mapped_column(Integer, default=0)
    plb_total: Mapped[Decimal] = mapped_column(Cents)
    status: Mapped[str] = mapped_column(String(20))


class PaymentRow(PracticeScoped, TimestampMixin, Base):
    """A patient payment as received (never a full card number), with its ledger posting."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_patient", "patient_id"),
                      Index("ix_payments_guarantor", "guarantor_id"),
                      # the few payments still holding a credit, with what the credits list
                      # sums per patient: its pages read this index alone
                      Index("ix_payments_credit", "patient_id", "received_on", "unapplied",
                            "practice_id",
                            sqlite_where=text("unapplied > 0 AND reversed_on IS NULL"),
                            postgresql_where=text("unapplied > 0 AND reversed_on IS NULL")))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Cents)
    method: Mapped[str] = mapped_column(String(10))
    reference: Mapped[str | None] = mapped_column(String(40))
    received_on: Mapped[date] = mapped_column(Date)
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id",
                                                              ondelete="RESTRICT"))
    #: what is left of the payment as a credit on the account (not applied, not refunded)
    unapplied: Mapped[Decimal] = mapped_column(Cents)
    refunded: Mapped[Decimal] = mapped_column(Cents)
    #: a returned check / NSF (``medbill payments reverse``): when, why, by whom, and the
    #: returned-item fee charged to the patient (NULL: none) (all NULL before 0010)
    reversed_on: Mapped[date | None] = mapped_column(Date)
    reversal_reason: Mapped[str | None] = mapped_column(String(500))
    reversed_by: Mapped[str | None] = mapped_column(String(80))
    returned_fee: Mapped[Decimal | None] = mapped_column(Cents)
    #: a payment for a whole family (``payments record --guarantor``): applied across the
    #: guarantor's patients; ``patient_id`` is then the patient whose account keeps its credit
    guarantor_id: Mapped[int | None] = mapped_column(ForeignKey("guarantors.id",
                                                                ondelete="RESTRICT"))
    #: what the payment counted towards payment-plan installments (NULL before 0013: the
    #: amount less refunds, as counted then), so a later refund or reversal owes back no more
    plan_counted: Mapped[Decimal | None] = mapped_column(Cents)
    #: what an intermediary kept of the payment (a financing lender's merchant fee, posted as
    #: ``financing_fee``): the practice received ``amount - fee`` (NULL: nothing; before 0037)
    fee: Mapped[Decimal | None] = mapped_column(Cents)


class PaymentRefundRow(Base):
    """Money given back to the patient from a payment's credit (``medbill payments refund``)."""

    __tablename__ = "payment_refunds"
    __table_args__ = (Index("ix_payment_refunds_payment", "payment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Cents)
    refunded_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(80))
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="RESTRICT"))


class PaymentPlanRow(PracticeScoped, TimestampMixin, Base):
    __tablename__ = "payment_plans"
    __table_args__ = (Index("ix_payment_plans_patient", "patient_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    total_amount: Mapped[Decimal] = mapped_column(Cents)
    start_date: Mapped[date] = mapped_column(Date)
    frequency: Mapped[str] = mapped_column(String(10))
    #: active, completed or cancelled
    status: Mapped[str] = mapped_column(String(12))
    #: ``medbill plans cancel`` (NULL before 0010 and for plans never cancelled)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    installments: Mapped[list[InstallmentRow]] = relationship(
        back_populates="plan", order_by="InstallmentRow.sequence", cascade="all, delete-orphan")


class InstallmentRow(Base):
    __tablename__ = "plan_installments"
    __table_args__ = (UniqueConstraint("plan_id", "sequence", name="uq_plan_installments_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plans.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Cents)
    paid_amount: Mapped[Decimal] = mapped_column(Cents)

    plan: Mapped[PaymentPlanRow] = relationship(back_populates="installments")


class StatementRow(PracticeScoped, Base):
    """A statement produced for a patient in a cycle; one per patient and cycle, ever.

    ``patient_id`` is the statement's first patient; a family (guarantor) statement lists all
    of them in ``patient_ids``. ``guarantor_key`` (``G<guarantor id>``, or ``P<patient id>``
    for a patient who is their own guarantor) with ``same_day_number`` allows one statement
    per guarantor and day; a forced second one takes the next number.
    """

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("patient_id", "cycle", name="uq_statements_patient_cycle"),
                      UniqueConstraint("guarantor_key", "statement_date", "same_day_number",
                                       name="uq_statements_guarantor_day"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_number: Mapped[str] = mapped_column(String(40), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    cycle: Mapped[str] = mapped_column(String(20))
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    balance_due: Mapped[Decimal] = mapped_column(Cents)
    dunning_stage: Mapped[int] = mapped_column(Integer)
    renderer: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    guarantor_key: Mapped[str | None] = mapped_column(String(20))
    same_day_number: Mapped[int | None] = mapped_column(Integer)
    patient_ids: Mapped[list[int] | None] = mapped_column(JSON)


class ClaimAdjudicationRow(PracticeScoped, Base):
    """What a payer did with a claim (from its 835), kept for the next payer's 2320/2330 loops
    and, when the payer adjudicated line by line, the 2430 loops of the claim's lines.

    ``adjustments`` holds every adjustment of the 835 claim payment, the claim-level (CLP) ones
    first, then each service line's. ``lines`` holds one
    :class:`~medbill_core.domain.PriorLineAdjudication` (JSON, with that line's adjustments)
    per 835 service payment matched to a line of the claim; the claim-level adjustments are
    then the leading ``len(adjustments) - (the lines' adjustments)`` entries. ``lines`` is NULL
    for rows posted before it existed and when the 835 had no lines or they could not all be
    matched: claim level only then.
    """

    __tablename__ = "claim_adjudications"
    # the practice's, by its 835 posting key (migration 0043)
    __table_args__ = (UniqueConstraint("posting_key", "practice_id",
                                       name="uq_claim_adjudications_practice_key"),
                      Index("ix_claim_adjudications_account", "account_claim_id"),
                      Index("ix_claim_adjudications_claim", "claim_id"),
                      # the KPIs read a period's answers by their date (kpi_bases.first_answers)
                      Index("ix_claim_adjudications_paid_date", "paid_date"))

    #: read by key, claim, account or date (with the claims): never by the practice alone
    practice_index_alone = False

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_key: Mapped[str] = mapped_column(String(200))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    account_claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    payer_key: Mapped[str] = mapped_column(String(40))
    coverage_id: Mapped[int | None] = mapped_column(
        ForeignKey("coverages.id", ondelete="RESTRICT"))
    claim_status: Mapped[str] = mapped_column(String(2))
    paid: Mapped[Decimal] = mapped_column(Cents)
    paid_date: Mapped[date] = mapped_column(Date)
    adjustments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: per entry of ``adjustments`` (same order): the posting rule applied, as
    #: ``{"action": ..., "rule": ...}`` (NULL for rows posted before the rules table)
    posting_rules: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    #: the remark codes (RARC, MOA/LQ) of the claim payment and of its service lines, each
    #: once, in order (NULL for rows posted before they were kept)
    remark_codes: Mapped[list[str] | None] = mapped_column(JSON)
    #: the posting key of the reversal (CLP02 = 22) that took this answer back (NULL: it
    #: stands, or it is a reversal itself)
    reversed_by: Mapped[str | None] = mapped_column(String(200))


class AppealRow(PracticeScoped, Base):
    """An appeal of a payer's denial of a claim (``medbill appeals``); no ledger effect.

    ``denial_codes`` are the claim's standing denial as ``GROUP-CARC`` when the appeal was
    opened; ``deadline`` is the payer's answer date + the payer's ``appeal_days``. The
    ``*_by`` columns hold the actor of each step (``decided_by``: won, lost or withdrawn).
    """

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_claim", "claim_id"),
                      Index("ix_appeals_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(2000))
    denial_codes: Mapped[list[str]] = mapped_column(JSON)
    deadline: Mapped[date | None] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(80))
    sent_on: Mapped[date | None] = mapped_column(Date)
    sent_by: Mapped[str | None] = mapped_column(String(80))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    outcome_note: Mapped[str | None] = mapped_column(String(2000))


class DenialRow(PracticeScoped, Base):
    """An adjustment of a payer's 835 answer kept open in the insurance bucket by the posting
    rules (action ``deny`` or ``review``): a work item until a person decides
    (:mod:`medbill_core.services.denials`).

    ``status``: ``open`` (to work), ``appealed`` or ``resend`` (decided, amount still owed by
    the payer), ``written_off`` or ``to_patient`` (the amount left the payer's balance with a
    ledger posting), ``closed`` (a later answer of the payer, or its reversal, replaced the
    answer it came from). ``note`` is the person's free text (may hold PHI: never audited).
    """

    __tablename__ = "denials"
    __table_args__ = (UniqueConstraint("posting_key", "position", "practice_id",
                                       name="uq_denials_practice_line"),
                      Index("ix_denials_claim", "claim_id"),
                      Index("ix_denials_account", "account_claim_id"),
                      Index("ix_denials_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_key: Mapped[str] = mapped_column(String(200))
    #: index of the adjustment in the answer's ``adjustments``
    position: Mapped[int] = mapped_column(Integer)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    account_claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    payer_key: Mapped[str] = mapped_column(String(40))
    group_code: Mapped[str] = mapped_column(String(2))
    reason_code: Mapped[str] = mapped_column(String(5))
    amount: Mapped[Decimal] = mapped_column(Cents)
    action: Mapped[str] = mapped_column(String(10))
    rule: Mapped[str] = mapped_column(String(60))
    #: the payer's answer date (the 835's)
    denied_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(500))
class RemittanceFindingRow(PracticeScoped, Base):
    """A payer's answer flagged while its 835 was posted (an adapter's remittance finding,
    e.g. the underpayment ``medicare.underpaid``): an item of ``medbill ar followup``.

    ``expected_amount`` is what the payer should have allowed (e.g. the fee schedule amount),
    ``allowed_amount`` what it allowed and ``paid_amount`` what it paid on the line (each NULL
    when the adapter did not say). Open until a biller resolves it or the payer answers the
    claim again (a later 835 claim payment).
    """

    __tablename__ = "remittance_findings"
    __table_args__ = (UniqueConstraint("finding_key", "practice_id",
                                       name="uq_remittance_findings_practice_key"),
                      Index("ix_remittance_findings_claim", "claim_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the 835 posting key and the finding's position in what the adapter returned
    finding_key: Mapped[str] = mapped_column(String(220))
    posting_key: Mapped[str] = mapped_column(String(200))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    payer_key: Mapped[str | None] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    line_number: Mapped[int | None] = mapped_column(Integer)
    expected_amount: Mapped[Decimal | None] = mapped_column(Cents)
    allowed_amount: Mapped[Decimal | None] = mapped_column(Cents)
    paid_amount: Mapped[Decimal | None] = mapped_column(Cents)
    #: the effective date of the 835 posting that flagged it
    found_on: Mapped[date] = mapped_column(Date)
    #: the adapter's message (codes and amounts, never PHI)
    message: Mapped[str] = mapped_column(String(500))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(500))
class FeeScheduleLoadRow(Base):
    """One loaded price list: the practice's charge master (``payer_key`` NULL) or a payer's
    contracted fee schedule. Kept for every load, so a price can be traced to its file."""

    __tablename__ = "fee_schedule_loads"
    __table_args__ = (Index("ix_fee_schedule_loads_payer", "payer_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # charge_master | fee_schedule
    payer_key: Mapped[str | None] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    source_file: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(80))


class FeeScheduleEntryRow(Base):
    """One dated price of one code (and modifier) in one load. ``effective_to`` is the last
    date of service it applies to (NULL: open). Where loads overlap, the latest load wins."""

    __tablename__ = "fee_schedule_entries"
    __table_args__ = (Index("ix_fee_schedule_entries_code", "procedure_code", "modifier"),
                      Index("ix_fee_schedule_entries_load", "load_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("fee_schedule_loads.id",
                                                    ondelete="CASCADE"))
    procedure_code: Mapped[str] = mapped_column(String(5))
    modifier: Mapped[str] = mapped_column(String(11), default="")
    amount: Mapped[Decimal] = mapped_column(Cents)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(200))


class CodingAuditSampleRow(PracticeScoped, Base):
    """A reproducible random sample of claims for internal coding review
    (:mod:`medbill_core.services.coding_audit`): ``per_provider`` claims of each rendering
    provider, drawn with ``seed`` among the claims the filters select."""

    __tablename__ = "coding_audit_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[int] = mapped_column(Integer)
    per_provider: Mapped[int] = mapped_column(Integer)
    #: the filters the claims were drawn under (NULL: not filtered)
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    provider_npi: Mapped[str | None] = mapped_column(String(10))
    payer_key: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))


class CodingAuditClaimRow(Base):
    """One claim of a coding audit sample and the reviewer's finding on it (NULL until
    reviewed): ``agree``, ``change_code`` (with ``corrected_codes``) or
    ``documentation_missing``. ``note`` is the reviewer's free text (may hold PHI: never
    audited or logged)."""

    __tablename__ = "coding_audit_claims"
    __table_args__ = (UniqueConstraint("sample_id", "claim_id",
                                       name="uq_coding_audit_claims_sample_claim"),
                      Index("ix_coding_audit_claims_claim", "claim_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("coding_audit_samples.id",
                                                      ondelete="CASCADE"))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    #: the claim's rendering provider (else billing provider) when it was drawn
    provider_npi: Mapped[str] = mapped_column(String(10))
    finding: Mapped[str | None] = mapped_column(String(24))
    corrected_codes: Mapped[list[str] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(80))


# -- identity (issue 15): practices, users, their memberships, API keys ------------------------

class PracticeRow(Base):
    """A practice (a tenant of the installation). The single-practice ``[practice]``
    configuration becomes the first row (:func:`medbill_core.services.identity.ensure_practice`)."""

    __tablename__ = "practices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: short slug the CLI and the API name it by (``default``, ``smith-peds``)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the billing provider's details (``medbill_core.domain.Practice`` as JSON: name, NPI,
    #: tax id, address ...); NULL for the practice the ``[practice]`` configuration describes
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class UserRow(Base):
    """A person who signs in. ``password_hash`` is an argon2id hash (NULL: no password set,
    the user acts only as the CLI's local user); after repeated failed logins the account is
    locked until ``locked_until``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MembershipRow(Base):
    """A user's role in one practice (one role per user and practice)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "practice_id",
                                       name="uq_memberships_user_practice"),
                      Index("ix_memberships_practice", "practice_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(24))


class ApiKeyRow(Base):
    """An API key of a system (an EHR, a vendor), scoped to one practice and one role.

    The token ``mbk_<prefix>_<secret>`` is shown once; only ``prefix`` (the public part, to
    find the row) and the SHA-256 of the secret are kept.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_practice", "practice_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(24))
    label: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
# -------------------------------------------------------------------------------------------------
# Part "webhooks" (issue 15): subscriptions, the event outbox, deliveries
# -------------------------------------------------------------------------------------------------


class WebhookSubscriptionRow(Base):
    """A URL that receives the events it names (:mod:`medbill_core.services.webhooks`).

    ``secret`` is stored as it was issued, not hashed: every delivery is signed with it
    (HMAC-SHA256), and signing needs the key itself -- a hash could only check a secret
    presented to us, which never happens here. It is shown once, when the subscription is
    created, and never printed again (lists show the id and URL only).
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the practice (tenant) it belongs to: it receives that practice's events only
    practice_id: Mapped[int | None] = mapped_column(Integer, default=acting_practice_id)
    url: Mapped[str] = mapped_column(String(2000))
    #: the event types it receives (``claim.paid`` ...)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: made by whoever runs the installation (the command line), who may point it at the
    #: server's own network; False (the API): its deliveries reach public addresses only
    local_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEventRow(Base):
    """The outbox: one domain event, written in the transaction of the change it reports.

    ``payload`` holds identifiers, states, codes and amounts only -- never a name, a date of
    birth, a member id or a date of service. ``dedupe_key`` (unique, NULL for most events)
    keeps an event that a scan finds again (an appeal's deadline drawing near) from being
    recorded twice.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_type", "event_type", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(60))
    #: the practice whose change it reports (its subscriptions receive it)
    practice_id: Mapped[int | None] = mapped_column(Integer, default=acting_practice_id)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDeliveryRow(Base):
    """One event for one subscription: its attempts and where it stands (the delivery log).

    ``status``: ``pending`` (due at ``next_attempt_at``), ``delivered`` (the receiver answered
    2xx), ``failed`` (the last attempt failed; tried again at ``next_attempt_at``) or ``dead``
    (given up after the last retry). ``last_error`` is our own short text (status code,
    exception type), never the receiver's body.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "subscription_id",
                                       name="uq_webhook_deliveries_event_subscription"),
                      Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_subscription", "subscription_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
# -------------------------------------------------------------------------------------------------
# Part "http" (issue 15, medbill serve): idempotency keys of the HTTP API's POST requests
# -------------------------------------------------------------------------------------------------


class IdempotencyKeyRow(PracticeScoped, Base):
    """An ``Idempotency-Key`` a principal sent with a POST (:mod:`medbill_core.services.
    idempotency`): the request it came with (method, path, SHA-256 of the body) and, once the
    change committed, the response to replay (in the change's own transaction). No response
    yet: the request is in flight. Kept 24 hours; the response body may hold PHI, as the
    records it describes do."""

    __tablename__ = "idempotency_keys"
    # two practices' keys may share a label (the actor ``key:ehr-sync``): the practice is part
    # of the key's namespace
    __table_args__ = (UniqueConstraint("practice_id", "actor", "key",
                                       name="uq_idempotency_keys_practice_actor_key"),
                      Index("ix_idempotency_keys_created_at", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the principal's audit actor (``key:ehr-sync``): one client's keys never meet another's
    actor: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(2000))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -------------------------------------------------------------------------------------------------
# Part "jobs" (issue 15, medbill serve): long operations started over HTTP, polled as resources
# -------------------------------------------------------------------------------------------------


class JobStatus(StrEnum):
    """Where a job stands (``JobRow.status``)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRow(PracticeScoped, Base):
    """A long operation a client started over HTTP (a submission, a statement run), run in a
    background thread of ``medbill serve`` (:mod:`medbill_core.services.jobs`). ``params``
    and ``result`` hold ids, counts and options only (no PHI); ``error`` is one safe line."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    #: a :class:`JobStatus` value
    status: Mapped[str] = mapped_column(String(10))
    #: the principal's audit actor (``key:ehr-sync``)
    created_by: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -------------------------------------------------------------------------------------------------
# Part "sessions" (issue 15): browser sessions of users signed in with a password
# -------------------------------------------------------------------------------------------------


class UserSessionRow(Base):
    """A browser session (:mod:`medbill_core.services.sessions`): the cookie's token is never
    stored, only its SHA-256 (``token_hash``). It ends at ``expires_at`` (absolute), at
    ``idle_expires_at`` (pushed forward by use, at most once a minute) or when revoked
    (logout; the user disabled, its membership or password changed). ``csrf_token`` is the
    secret an unsafe request made with the cookie must send back (``X-CSRF-Token``): stored as
    issued, since the session's owner may ask for it again (``GET /v1/sessions/current``)."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    idle_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -------------------------------------------------------------------------------------------------
# Part "work queues" (issue 16): what people add to the derived work items
# -------------------------------------------------------------------------------------------------

#: an item is open (derived from the data now) while ``closed_at`` is NULL
_OPEN_ITEM = "closed_at IS NULL"


class WorkItemRow(PracticeScoped, Base):
    """One piece of work on a queue (:mod:`medbill_core.services.work_queues`).

    The columns from ``queue`` to ``priority`` are derived from the practice's records (a
    refresh keeps them in line); ``assignee``, ``snoozed_until`` and the notes are what people
    add, and survive refreshes. When the data stops deriving the item it is closed
    (``closed_at``, ``closed_by``: the actor whose change resolved it, else ``system``); the
    same subject needing work again later is a new item. At most one open item per
    ``item_key`` and practice (a partial unique index)."""

    __tablename__ = "work_items"
    __table_args__ = (
        Index("uq_work_items_open_key", "practice_id", "item_key", unique=True,
              sqlite_where=text(_OPEN_ITEM), postgresql_where=text(_OPEN_ITEM)),
        # a queue's page: its open items by priority (keyset), read through the index
        Index("ix_work_items_queue", "practice_id", "queue", "priority", "id",
              sqlite_where=text(_OPEN_ITEM), postgresql_where=text(_OPEN_ITEM)),
        # productivity: closures per person and day
        Index("ix_work_items_closed", "practice_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(30))
    #: ``queue:subject_type:subject_id``: what makes a derived item the same item
    item_key: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int] = mapped_column(Integer)
    #: the claim the item is about (NULL: a patient account, a plan, a remittance exception)
    claim_id: Mapped[int | None] = mapped_column(Integer)
    #: how people name the subject: a claim number, an account number, a trace number
    label: Mapped[str] = mapped_column(String(60))
    #: why it needs work, in words (codes explained); never PHI
    reason: Mapped[str] = mapped_column(String(1000))
    codes: Mapped[list[str]] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(Cents)
    deadline: Mapped[date | None] = mapped_column(Date)
    #: the suggested next action (a :class:`~medbill_core.services.work_queues.NextAction`)
    action: Mapped[str] = mapped_column(String(30))
    payer_key: Mapped[str | None] = mapped_column(String(40))
    provider_npi: Mapped[str | None] = mapped_column(String(10))
    #: the day the work became due: its age counts from here
    since: Mapped[date] = mapped_column(Date)
    #: cents at stake per day left (the formula: ``work_queues.priority``); higher first
    priority: Mapped[int] = mapped_column(BigInteger)
    #: the user name it is assigned to (a member of the practice)
    assignee: Mapped[str | None] = mapped_column(String(64))
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(80))


class WorkItemNoteRow(PracticeScoped, Base):
    """A person's note on a work item (free text: may hold PHI, never audited or logged)."""

    __tablename__ = "work_item_notes"
    __table_args__ = (Index("ix_work_item_notes_item", "work_item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    text: Mapped[str] = mapped_column(String(2000))


class WorkQueueRefreshRow(PracticeScoped, Base):
    """When a queue's items were last brought in line with the data: the practice's latest
    audit event then (``watermark``; every change of a record is audited) and the day (items
    that age, such as "no response after 30 days", change with the date alone)."""

    __tablename__ = "work_queue_refreshes"
    __table_args__ = (UniqueConstraint("practice_id", "queue",
                                       name="uq_work_queue_refreshes_queue"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue: Mapped[str] = mapped_column(String(30))
    watermark: Mapped[int] = mapped_column(BigInteger)
    refreshed_on: Mapped[date] = mapped_column(Date)


class KpiMonthRollupRow(Base):
    """One closed month's KPI sums for one practice (``scope``: the practice id, 0 for none),
    kept so the dashboard does not aggregate the whole history on every view
    (:mod:`medbill_core.services.kpi_rollups`). ``figures`` is the month's sums (JSON, money
    as decimal text); the ``*_id`` columns are the largest ids of the tables it was computed
    from, which tell whether a row added since could change it."""

    __tablename__ = "kpi_month_rollups"
    __table_args__ = (UniqueConstraint("scope", "month", name="uq_kpi_month_rollups_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    #: the local UTC offset the month's days were counted with (another offset: recomputed)
    offset_seconds: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    ledger_id: Mapped[int] = mapped_column(BigInteger)
    transition_id: Mapped[int] = mapped_column(BigInteger)
    adjudication_id: Mapped[int] = mapped_column(BigInteger)
    denial_id: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KpiAgingRow(Base):
    """The aged A/R at the end of one day for one practice (``scope``: 0 for none), kept
    between KPI reports by every server and worker sharing the database
    (:mod:`medbill_core.services.kpi_aging_cache`)."""

    __tablename__ = "kpi_agings"
    __table_args__ = (UniqueConstraint("scope", "as_of", name="uq_kpi_agings_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(Cents)
    over_90: Mapped[Decimal] = mapped_column(Cents)
    over_120: Mapped[Decimal] = mapped_column(Cents)
    ledger_id: Mapped[int] = mapped_column(BigInteger)
    transition_id: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClaimImportRow(PracticeScoped, Base):
    """One run of the claim intake over an 837 file a practice sent in
    (:mod:`medbill_core.services.claim_intake`): which file (its SHA-256, ISA13 and sender),
    who ran it, when, and the counts; each claim's outcome is a :class:`ClaimImportClaimRow`.
    The same file run again is a new row (its imported claims are skipped)."""

    __tablename__ = "claim_imports"
    __table_args__ = (Index("ix_claim_imports_interchange", "practice_id", "sender",
                            "interchange_control_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the file's name as given (no path); an upload without one is ``upload``
    file_name: Mapped[str] = mapped_column(String(255))
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: ISA13
    interchange_control_number: Mapped[str] = mapped_column(String(9))
    #: ISA05:ISA06, who sent the file
    sender: Mapped[str] = mapped_column(String(20))
    #: the implementation guide (005010X222A1 837P, 005010X223A2 837I)
    implementation: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claims: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)

    outcomes: Mapped[list[ClaimImportClaimRow]] = relationship(
        back_populates="claim_import", order_by="ClaimImportClaimRow.position",
        cascade="all, delete-orphan")


class ClaimImportClaimRow(PracticeScoped, Base):
    """What a claim intake run did with one claim of the file: ``imported`` (``claim_id``),
    ``skipped`` (imported by an earlier run of the same file), ``refused`` (why, positioned:
    ``field`` and ``reason``) or ``held`` (an ambiguous match for a person to decide:
    ``candidates`` are the record ids it could be; a work item on the intake queue)."""

    __tablename__ = "claim_import_claims"
    __table_args__ = (Index("ix_claim_import_claims_import", "import_id"),
                      Index("ix_claim_import_claims_outcome", "practice_id", "outcome"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("claim_imports.id", ondelete="CASCADE"))
    #: the segment number of the claim's CLM in the file (ISA = 1)
    position: Mapped[int] = mapped_column(Integer)
    #: CLM01 as sent (NULL when it is not a well-formed claim number)
    claim_number: Mapped[str | None] = mapped_column(String(38))
    outcome: Mapped[str] = mapped_column(String(10))
    #: the claim's total charge as sent (NULL when the claim could not be read)
    charge: Mapped[Decimal | None] = mapped_column(Cents)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="SET NULL"))
    #: what the refusal or the hold is about (``2010BB NM109 payer``, ``patient`` ...)
    field: Mapped[str | None] = mapped_column(String(60))
    #: why, in words, positioned; never a value from the file
    reason: Mapped[str | None] = mapped_column(String(1000))
    #: the ids of the records an ambiguous match could be (patients or coverages)
    candidates: Mapped[list[int]] = mapped_column(JSON)
    #: the decoder's findings for the claim, positioned, without values
    findings: Mapped[list[str]] = mapped_column(JSON)

    claim_import: Mapped[ClaimImportRow] = relationship(back_populates="outcomes")


class AssistancePolicyRow(PracticeScoped, Base):
    """A practice's financial-assistance (sliding fee) schedule and self-pay terms
    (:mod:`medbill_core.services.financial_assistance`); a practice without a row uses the
    documented defaults."""

    __tablename__ = "assistance_policies"
    __table_args__ = (UniqueConstraint("practice_id", name="uq_assistance_policies_practice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the tiers, lowest first: ``[{"up_to_percent": "100", "discount_percent": "100",
    #: "nominal_fee": "20.00" | null}, ..., {"up_to_percent": null, ...}]`` (amounts as text)
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: how long an approval lasts from its start
    expiry_months: Mapped[int] = mapped_column(Integer)
    #: self-pay prompt-pay discount: percent off when paid within ``prompt_pay_days``
    prompt_pay_percent: Mapped[Decimal | None] = mapped_column(DecimalText)
    prompt_pay_days: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class AssistanceApplicationRow(PracticeScoped, TimestampMixin, Base):
    """A guarantor's application for financial assistance, its evaluation against the HHS
    poverty guidelines in effect on ``applied_on``, and the decision
    (:mod:`medbill_core.services.financial_assistance`)."""

    __tablename__ = "assistance_applications"
    __table_args__ = (Index("ix_assistance_applications_guarantor", "guarantor_id"),
                      Index("ix_assistance_applications_status", "practice_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("guarantors.id"))
    household_size: Mapped[int] = mapped_column(Integer)
    annual_income: Mapped[Decimal] = mapped_column(Cents)
    #: two-letter state: which HHS table (48 states + DC, Alaska, Hawaii)
    state: Mapped[str] = mapped_column(String(2))
    applied_on: Mapped[date] = mapped_column(Date)
    documents_received: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the reviewer's notes (may hold PHI: never logged, never in an error)
    notes: Mapped[str | None] = mapped_column(Text)
    #: pending | approved | denied | revoked
    status: Mapped[str] = mapped_column(String(10))
    guideline_year: Mapped[int] = mapped_column(Integer)
    #: the poverty guideline for the household (dollars a year)
    guideline: Mapped[Decimal] = mapped_column(Cents)
    #: income as a percent of the guideline, rounded up to hundredths
    percent_of_guideline: Mapped[Decimal] = mapped_column(DecimalText)
    #: the tier of the practice's schedule the evaluation found (a copy: later edits of the
    #: schedule do not change a decided application)
    tier: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    #: dates of service the approval covers (inclusive)
    effective_from: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    revoked_on: Mapped[date | None] = mapped_column(Date)


class GoodFaithEstimateRow(PracticeScoped, Base):
    """A good-faith estimate given to an uninsured (or self-pay) patient, kept so the final
    bill can be compared with it (No Surprises Act patient-provider dispute threshold:
    :mod:`medbill_core.services.good_faith`)."""

    __tablename__ = "good_faith_estimates"
    __table_args__ = (UniqueConstraint("practice_id", "estimate_number",
                                       name="uq_good_faith_estimates_number"),
                      Index("ix_good_faith_estimates_patient", "patient_id", "service_date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    estimate_number: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    service_date: Mapped[date] = mapped_column(Date)
    #: the expected charges the estimate states (what the patient was told they would owe)
    total: Mapped[Decimal] = mapped_column(Cents)
    #: the procedure codes estimated, in order
    procedure_codes: Mapped[list[str]] = mapped_column(JSON)
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
# -------------------------------------------------------------------------------------------------
# Part "books" (issue 18): the accounting export (journal entries for QuickBooks and others)
# -------------------------------------------------------------------------------------------------


class AccountingAccountRow(PracticeScoped, Base):
    """A practice's own name for one role of the chart of accounts
    (:mod:`medbill_core.services.accounting_chart`); a role without a row uses its default."""

    __tablename__ = "accounting_accounts"
    __table_args__ = (UniqueConstraint("practice_id", "role",
                                       name="uq_accounting_accounts_practice_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(40))
    #: the account's name as the accounting software knows it (``Parent:Sub`` for a subaccount)
    name: Mapped[str] = mapped_column(String(159))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))


class AccountingBatchRow(PracticeScoped, Base):
    """One numbered accounting export (:mod:`medbill_core.services.accounting_export`): the
    ledger postings it carried are its :class:`AccountingBatchPostingRow`; the 835 deposits
    whose provider-level adjustments and unmatched claim payments it carried, its
    :class:`AccountingBatchRemittanceRow`. ``accounts`` is the chart of accounts it was
    written with, so a re-export writes the same file byte for byte (``sha256``)."""

    __tablename__ = "accounting_batches"
    __table_args__ = (UniqueConstraint("practice_id", "number",
                                       name="uq_accounting_batches_practice_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the practice's batch number (1, 2, ...), printed in every journal number
    number: Mapped[int] = mapped_column(Integer)
    #: iif, qbo or csv
    format: Mapped[str] = mapped_column(String(8))
    #: the period asked for (NULL: open at that end)
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    #: role -> account name, as exported
    accounts: Mapped[dict[str, Any]] = mapped_column(JSON)
    postings: Mapped[int] = mapped_column(Integer)
    ledger_entries: Mapped[int] = mapped_column(Integer)
    journal_entries: Mapped[int] = mapped_column(Integer)
    #: the sum of the debits (equal to the credits)
    debits: Mapped[Decimal] = mapped_column(Cents)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))


class AccountingBatchPostingRow(PracticeScoped, Base):
    """A ledger posting exported, and the batch that exported it: once only (unique)."""

    __tablename__ = "accounting_batch_postings"
    __table_args__ = (UniqueConstraint("posting_id",
                                       name="uq_accounting_batch_postings_posting"),
                      Index("ix_accounting_batch_postings_batch", "batch_id", "posting_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("accounting_batches.id",
                                                     ondelete="RESTRICT"))
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="RESTRICT"))


class AccountingBatchRemittanceRow(PracticeScoped, Base):
    """An 835 whose deposit-only lines (PLB adjustments, claim payments that matched no
    claim) a batch exported: once only (unique)."""

    __tablename__ = "accounting_batch_remittances"
    __table_args__ = (UniqueConstraint("remittance_id",
                                       name="uq_accounting_batch_remittances_remittance"),
                      Index("ix_accounting_batch_remittances_batch", "batch_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("accounting_batches.id",
                                                     ondelete="RESTRICT"))
    remittance_id: Mapped[int] = mapped_column(ForeignKey("remittances.id",
                                                          ondelete="RESTRICT"))
class CardPaymentRow(PracticeScoped, TimestampMixin, Base):
    """A card payment taken through the practice's payment gateway
    (:mod:`medbill_core.services.card_payments`): one per gateway payment intent. It reaches
    the ledger (``payment_id``) only from the gateway's confirmation. No card number is ever
    stored: the brand and last four digits at most."""

    __tablename__ = "card_payments"
    __table_args__ = (UniqueConstraint("gateway", "intent_id",
                                       name="uq_card_payments_gateway_intent"),
                      UniqueConstraint("payment_id", name="uq_card_payments_payment_id"),
                      UniqueConstraint("reference", name="uq_card_payments_reference"),
                      Index("ix_card_payments_patient", "patient_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: our reference, sent to the gateway as metadata (random: it names nobody)
    reference: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    #: a family's payment (the guarantor's balance), applied across its patients
    guarantor_id: Mapped[int | None] = mapped_column(ForeignKey("guarantors.id",
                                                                ondelete="RESTRICT"))
    #: pay this claim only (NULL: oldest service first)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Cents)
    #: the gateway's identifier (``mock``) and its id for the payment
    gateway: Mapped[str] = mapped_column(String(40))
    intent_id: Mapped[str] = mapped_column(String(255))
    #: created / processing / succeeded / failed / refunded / partially_refunded
    status: Mapped[str] = mapped_column(String(20))
    #: what to do with money beyond the balance when it posts (credit / refund; NULL: none)
    overpayment: Mapped[str | None] = mapped_column(String(10))
    decline_code: Mapped[str | None] = mapped_column(String(60))
    decline_message: Mapped[str | None] = mapped_column(String(255))
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    #: the ledger's payment, once the gateway confirmed it
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id",
                                                              ondelete="RESTRICT"))
    refunded: Mapped[Decimal] = mapped_column(Cents)
    #: who started it (``user:alice``) and who confirmed it (``gateway:mock``, or the user
    #: whose read of the payment found it succeeded)
    created_by: Mapped[str] = mapped_column(String(80))
    confirmed_by: Mapped[str | None] = mapped_column(String(80))
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CardRefundRow(PracticeScoped, TimestampMixin, Base):
    """A refund of a card payment asked of the gateway; it posts to the ledger
    (``posting_id``) when the gateway confirms it."""

    __tablename__ = "card_refunds"
    __table_args__ = (UniqueConstraint("gateway", "refund_id",
                                       name="uq_card_refunds_gateway_refund"),
                      Index("ix_card_refunds_card_payment", "card_payment_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    card_payment_id: Mapped[int] = mapped_column(ForeignKey("card_payments.id",
                                                            ondelete="RESTRICT"))
    gateway: Mapped[str] = mapped_column(String(40))
    refund_id: Mapped[str] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column(Cents)
    #: pending / succeeded / failed
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(80))
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id",
                                                              ondelete="RESTRICT"))

# -- refunds, write-offs, collections (issue 18) ------------------------------------------------

class RefundCheckRow(PracticeScoped, Base):
    """A check the practice wrote to give a patient's credit back (the check register):
    ``issued``, then ``cleared`` (the bank paid it) or ``void`` (the credit is back)."""

    __tablename__ = "refund_checks"
    __table_args__ = (UniqueConstraint("practice_id", "check_number",
                                       name="uq_refund_checks_number"),
                      Index("ix_refund_checks_patient", "patient_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_number: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    #: who the check is made out to, as a reference (a guarantor or account number; no name)
    payee_reference: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Cents)
    issued_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(80))
    cleared_on: Mapped[date | None] = mapped_column(Date)
    voided_on: Mapped[date | None] = mapped_column(Date)
    void_reason: Mapped[str | None] = mapped_column(String(500))
    voided_by: Mapped[str | None] = mapped_column(String(80))
    #: which credits the check gave back: [{"payment_id"|"claim_id": id, "amount": "1.00"}]
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class CreditHoldRow(PracticeScoped, Base):
    """A patient credit kept on the account on purpose, with why (until released)."""

    __tablename__ = "credit_holds"
    __table_args__ = (Index("ix_credit_holds_patient", "patient_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(String(500))
    held_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(80))
    released_on: Mapped[date | None] = mapped_column(Date)
    released_by: Mapped[str | None] = mapped_column(String(80))


class PayerRefundRequestRow(PracticeScoped, Base):
    """An insurance overpayment the practice owes back to a payer: ``requested``, then
    ``refunded`` (the practice sent the money) or ``recouped`` (the payer took it back in an
    835: a PLB or a reversal, ``closing_reference`` names it), or ``cancelled``."""

    __tablename__ = "payer_refund_requests"
    __table_args__ = (Index("ix_payer_refund_requests_claim", "claim_id"),
                      Index("ix_payer_refund_requests_status", "practice_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    payer_key: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Cents)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10))
    requested_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(80))
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(80))
    #: the refund check's number, or the 835 posting key (PLB / reversal) that recouped it
    closing_reference: Mapped[str | None] = mapped_column(String(80))
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id",
                                                              ondelete="RESTRICT"))


class WriteOffPolicyRow(PracticeScoped, Base):
    """A practice's write-off thresholds (one row a practice; none: the defaults)."""

    __tablename__ = "write_off_policies"
    __table_args__ = (UniqueConstraint("practice_id", name="uq_write_off_policies_practice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: a patient balance under this may be written off as a small balance without approval
    small_balance_limit: Mapped[Decimal] = mapped_column(Cents)
    #: a write-off of more than this needs a manager's approval, whatever its kind
    approval_above: Mapped[Decimal] = mapped_column(Cents)
    updated_by: Mapped[str] = mapped_column(String(80))


class WriteOffRequestRow(PracticeScoped, Base):
    """A write-off of a patient balance: ``requested`` (waiting for a manager), then
    ``approved`` (posted) or ``denied``; a small balance under the limit is approved by the
    policy at once (``decided_by`` = ``policy``)."""

    __tablename__ = "write_off_requests"
    __table_args__ = (Index("ix_write_off_requests_patient", "patient_id"),
                      Index("ix_write_off_requests_status", "practice_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Cents)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10))
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_note: Mapped[str | None] = mapped_column(String(500))
    posting_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id",
                                                              ondelete="RESTRICT"))


class CollectionAgencyRow(PracticeScoped, Base):
    """A collection agency a practice places accounts with, and the share it keeps."""

    __tablename__ = "collection_agencies"
    __table_args__ = (UniqueConstraint("practice_id", "code",
                                       name="uq_collection_agencies_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    #: percent of what it collects, e.g. 25.00 (exact text, never a float)
    fee_percent: Mapped[Decimal] = mapped_column(DecimalText)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CollectionPlacementRow(PracticeScoped, Base):
    """A patient account placed with an agency: ``placed``, then ``recalled`` or ``paid``."""

    __tablename__ = "collection_placements"
    __table_args__ = (Index("ix_collection_placements_patient", "patient_id"),
                      Index("ix_collection_placements_status", "practice_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="RESTRICT"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("collection_agencies.id",
                                                      ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Cents)
    placed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(80))
    closed_on: Mapped[date | None] = mapped_column(Date)
    recall_reason: Mapped[str | None] = mapped_column(String(500))
    #: when the account was last sent to the agency in an export file
    exported_on: Mapped[date | None] = mapped_column(Date)


class AgencyPaymentRow(PracticeScoped, Base):
    """Money an agency collected on a placement: what it collected, the fee it kept, what it
    remitted (``direct``: the patient paid the practice; no fee)."""

    __tablename__ = "agency_payments"
    __table_args__ = (Index("ix_agency_payments_placement", "placement_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("collection_placements.id",
                                                         ondelete="RESTRICT"))
    collected: Mapped[Decimal] = mapped_column(Cents)
    fee: Mapped[Decimal] = mapped_column(Cents)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(40))
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str] = mapped_column(String(80))
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id", ondelete="RESTRICT"))


class ContactPreferenceRow(PracticeScoped, TimestampMixin, Base):
    """How the person a statement is addressed to agreed to be reached about it (text, e-mail,
    or not at all), and who recorded that consent (:mod:`medbill_core.services.notifications`).
    ``account_key`` is the statement's addressee: ``G<guarantor id>``, or ``P<patient id>`` for
    a patient who pays their own bills without a guarantor record."""

    __tablename__ = "contact_preferences"
    __table_args__ = (UniqueConstraint("practice_id", "account_key",
                                       name="uq_contact_preferences_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_key: Mapped[str] = mapped_column(String(20))
    #: sms / email / none
    channel: Mapped[str] = mapped_column(String(10))
    #: how the consent was given (``verbal, at check-in``, ``signed form``): no PHI
    consent: Mapped[str | None] = mapped_column(String(200))
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(80))


class NotificationRow(PracticeScoped, TimestampMixin, Base):
    """One text message or e-mail in the notification outbox: written in the transaction of
    the change it tells about, sent by :func:`medbill_core.services.notifications.deliver_due`
    (claimed under a lease, retried, never sent twice: ``dedupe_key`` is unique and every
    attempt carries the same idempotency key to the provider)."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("practice_id", "dedupe_key",
                                       name="uq_notifications_dedupe_key"),
                      Index("ix_notifications_due", "status", "next_attempt_at"),
                      Index("ix_notifications_account", "account_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: what it is about, once (``statement_ready:12``)
    dedupe_key: Mapped[str] = mapped_column(String(80))
    template: Mapped[str] = mapped_column(String(40))
    account_key: Mapped[str] = mapped_column(String(20))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id",
                                                                ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(10))
    #: the phone number or e-mail address it goes to (PHI: shown masked, never logged)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200))
    #: the text, from a fixed template: the practice's name and the link, nothing else
    body: Mapped[str] = mapped_column(String(1000))
    #: the notifier's identifier it is sent through
    notifier: Mapped[str] = mapped_column(String(40))
    #: pending / sent / failed (retried) / dead (retries exhausted) / refused (by the
    #: provider) / canceled (consent withdrawn after it was queued)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: what went wrong, in words safe to show (no recipient, no text)
    last_error: Mapped[str | None] = mapped_column(String(255))
    provider_id: Mapped[str | None] = mapped_column(String(255))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(80))


class FinancingReferralRow(PracticeScoped, TimestampMixin, Base):
    """A guarantor's balance referred to a patient financing lender
    (:mod:`medbill_core.services.financing`); the approved amount posts once (``payment_id``)
    as a patient payment from the lender."""

    __tablename__ = "financing_referrals"
    __table_args__ = (UniqueConstraint("reference", name="uq_financing_referrals_reference"),
                      UniqueConstraint("provider", "application_id",
                                       name="uq_financing_referrals_application"),
                      UniqueConstraint("payment_id", name="uq_financing_referrals_payment_id"),
                      Index("ix_financing_referrals_guarantor", "guarantor_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: our random reference sent to the lender (it names nobody)
    reference: Mapped[str] = mapped_column(String(40))
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("guarantors.id", ondelete="RESTRICT"))
    amount: Mapped[Decimal] = mapped_column(Cents)
    provider: Mapped[str] = mapped_column(String(40))
    application_id: Mapped[str] = mapped_column(String(255))
    #: referred / approved / declined / expired / posted
    status: Mapped[str] = mapped_column(String(10))
    #: how the applicant consented to the referral (no PHI) and who recorded it
    consent: Mapped[str] = mapped_column(String(200))
    lender_name: Mapped[str | None] = mapped_column(String(100))
    approved_amount: Mapped[Decimal | None] = mapped_column(Cents)
    merchant_fee: Mapped[Decimal | None] = mapped_column(Cents)
    decline_reason: Mapped[str | None] = mapped_column(String(255))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id",
                                                              ondelete="RESTRICT"))
    created_by: Mapped[str] = mapped_column(String(80))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -- pay-by-link (issue 18) ----------------------------------------------------------------------

class PayLinkRow(PracticeScoped, TimestampMixin, Base):
    """A patient's pay link (:mod:`medbill_core.services.pay_links`): for a guarantor's
    family, or a patient who is their own guarantor (``patient_id``), optionally the
    statement it was printed on. Only the hash of its code is kept: the code itself is shown
    once, on the statement or to the staff member who issued it."""

    __tablename__ = "pay_links"
    __table_args__ = (UniqueConstraint("code_hash", name="uq_pay_links_code_hash"),
                      Index("ix_pay_links_guarantor", "guarantor_id"),
                      Index("ix_pay_links_patient", "patient_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: SHA-256 (hex) of the normalized code: the only way a link is found
    code_hash: Mapped[str] = mapped_column(String(64))
    guarantor_id: Mapped[int | None] = mapped_column(ForeignKey("guarantors.id",
                                                                ondelete="RESTRICT"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id",
                                                              ondelete="RESTRICT"))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id",
                                                                ondelete="RESTRICT"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    #: wrong dates of birth since the last lock or success (counted here, not in a process,
    #: so every worker of every server sees the same count)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: how many times the link was locked (each lock lasts twice the one before)
    locks: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PayLinkSessionRow(PracticeScoped, TimestampMixin, Base):
    """A browser's visit of a pay link: the cookie holds a random token, this row its hash.
    Short-lived; ``verified_at`` once the date of birth matched; ``card_payment_id`` the
    card payment it started last (read back when the browser returns from the gateway)."""

    __tablename__ = "pay_link_sessions"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_pay_link_sessions_token_hash"),
                      Index("ix_pay_link_sessions_link", "pay_link_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    pay_link_id: Mapped[int] = mapped_column(ForeignKey("pay_links.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    card_payment_id: Mapped[int | None] = mapped_column(ForeignKey("card_payments.id",
                                                                   ondelete="RESTRICT"))

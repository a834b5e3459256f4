"""Keyset pages the HTTP API lists (patients, providers): ``limit`` rows after an id, read
through the primary key at any depth. A list of patients is a read of PHI: it is audited as
one ``patient.list`` event naming the ids shown. So is a claim (its diagnoses, services and
dates of service are the patient's health information): ``claim.read`` for one,
``claim.list`` naming the ids of a page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.domain import Claim, Patient, Provider
from medbill_core.domain.base import saved_id
from medbill_core.permissions import Action
from medbill_core.services.api_records import record_shown
from medbill_core.storage.mapping import patient_from_row, provider_from_row
from medbill_core.storage.schema import PatientRow, ProviderRow

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork


def list_patients(work: UnitOfWork, *, after_id: int | None, limit: int, via: str,
                  account_number: str | None = None,
                  last_name_prefix: str | None = None) -> list[Patient]:
    """``limit`` patients by id after ``after_id`` (merged records left out), filtered by
    account number and a case-insensitive last-name prefix, and the next one if any (read
    to know that a page follows, not shown: not audited). The read of those shown is
    audited (``patient.list``, their ids in ``details``), so ``work`` must be able to write."""
    work.require(Action.PATIENTS_READ)
    query = select(PatientRow).where(PatientRow.merged_into_id.is_(None)) \
        .order_by(PatientRow.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(PatientRow.id > after_id)
    if account_number is not None:
        query = query.where(PatientRow.account_number == account_number)
    if last_name_prefix:
        query = query.where(func.lower(PatientRow.last_name).startswith(
            last_name_prefix.strip().lower(), autoescape=True))
    patients = [patient_from_row(row) for row in work.session.scalars(query)]
    if patients:
        audit.record(work.session, actor=work.actor, action="patient.list",
                     entity_type="patient", entity_id="list",
                     details={"via": via, "ids": [patient.id for patient in patients[:limit]]})
    return patients


def list_providers(work: UnitOfWork, *, after_id: int | None, limit: int) -> list[Provider]:
    """Providers by id after ``after_id``."""
    work.require(Action.PROVIDERS_READ)
    query = select(ProviderRow).order_by(ProviderRow.id).limit(limit)
    if after_id is not None:
        query = query.where(ProviderRow.id > after_id)
    return [provider_from_row(row) for row in work.session.scalars(query)]


def read_claim(work: UnitOfWork, claim_id: int, *, via: str) -> Claim:
    """A claim shown to ``work``'s actor through ``via``, the read audited (``claim.read``).

    :raises NotFound: no such claim in the practice (nothing is recorded).
    """
    work.require(Action.CLAIMS_READ)
    claim = work.claims.get(claim_id)
    audit_claims_shown(work, [claim], via=via, one=True)
    return claim


def audit_claims_shown(work: UnitOfWork, claims: list[Claim], *, via: str,
                       one: bool = False) -> None:
    """Record that ``claims`` were shown: one ``claim.read`` (``one``) or one ``claim.list``
    event naming their ids (nothing for an empty page), as every record shown is
    (:func:`~medbill_core.services.api_records.record_shown`)."""
    record_shown(work, "claim", [saved_id(claim) for claim in claims], via=via, one=one)

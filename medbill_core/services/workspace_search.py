"""The workspace's search lists: claims and patients as a biller looks them up, by what is on
the paper in front of them (a claim number, an account number, a name), newest first, a
keyset page at a time.

A row shows the patient's name: a read of PHI, audited as the API's patient list is
(``patient.list``, the ids shown in ``details``, ``via`` saying where), so ``work`` must be
able to write. What is searched for is never recorded (it may be a name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from medbill_core import audit
from medbill_core.domain import ClaimState
from medbill_core.money import to_money
from medbill_core.permissions import Action
from medbill_core.services.patients import _name_matches
from medbill_core.storage.schema import ClaimRow, PatientRow

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork

#: The longest text searched for (longer than any claim number, account number or name).
MAX_QUERY = 80


@dataclass(frozen=True)
class ClaimSearchRow:
    """One claim of the claims search: what tells a biller which claim it is."""

    id: int
    claim_number: str
    state: ClaimState
    payer_key: str | None
    service_date: date
    total_charge: Decimal
    patient_id: int
    patient_account: str
    patient_name: str


@dataclass(frozen=True)
class PatientSearchRow:
    """One patient of the patients search."""

    id: int
    account_number: str
    name: str
    birth_date: date


def _display_name(last: str, first: str) -> str:
    return f"{last}, {first}"


def _audit_shown(work: UnitOfWork, patient_ids: list[int], via: str) -> None:
    if patient_ids:
        audit.record(work.session, actor=work.actor, action="patient.list",
                     entity_type="patient", entity_id="list",
                     details={"via": via, "ids": sorted(set(patient_ids))})


def search_claims(work: UnitOfWork, *, query: str | None = None,
                  state: ClaimState | None = None, payer_key: str | None = None,
                  before_id: int | None = None, limit: int = 50,
                  via: str = "workspace") -> list[ClaimSearchRow]:
    """Claims newest first (by id), at most ``limit + 1`` (the one more says a page follows;
    it is not audited): ``query`` is a prefix of the claim number, of the patient's account
    number or of the patient's name (``last``, ``last, first`` or ``first last``), case
    aside; ``state`` (default: all but deleted drafts) and ``payer_key`` filter; ``before_id``
    continues a page. Every claim of the practice when nothing is asked."""
    work.require(Action.CLAIMS_READ)
    work.require(Action.PATIENTS_READ)
    statement = (select(ClaimRow.id, ClaimRow.claim_number, ClaimRow.state, ClaimRow.payer_key,
                        ClaimRow.service_date_from, ClaimRow.total_charge, PatientRow.id,
                        PatientRow.account_number, PatientRow.last_name, PatientRow.first_name)
                 .join(PatientRow, PatientRow.id == ClaimRow.patient_id))
    statement = statement.where(ClaimRow.state == state.value if state is not None
                                else ClaimRow.state != ClaimState.DELETED.value)
    if payer_key:
        statement = statement.where(ClaimRow.payer_key == payer_key)
    text = (query or "").strip()[:MAX_QUERY]
    if text:
        upper = text.upper()
        statement = statement.where(or_(
            func.upper(ClaimRow.claim_number).startswith(upper, autoescape=True),
            func.upper(PatientRow.account_number).startswith(upper, autoescape=True),
            _name_matches(text)))
    if before_id is not None:
        statement = statement.where(ClaimRow.id < before_id)
    rows: list[Any] = list(work.session.execute(
        statement.order_by(ClaimRow.id.desc()).limit(limit + 1)))
    found = [ClaimSearchRow(id=row[0], claim_number=row[1], state=ClaimState(row[2]),
                            payer_key=row[3], service_date=row[4], total_charge=to_money(row[5]),
                            patient_id=row[6], patient_account=row[7],
                            patient_name=_display_name(row[8], row[9])) for row in rows]
    _audit_shown(work, [row.patient_id for row in found[:limit]], via)
    return found


def search_patients(work: UnitOfWork, *, query: str | None = None,
                    before_id: int | None = None, limit: int = 50,
                    via: str = "workspace") -> list[PatientSearchRow]:
    """Patients newest first (by id; records merged into another left out), at most
    ``limit + 1``: ``query`` is a prefix of the account number or of the name, case aside."""
    work.require(Action.PATIENTS_READ)
    statement = select(PatientRow.id, PatientRow.account_number, PatientRow.last_name,
                       PatientRow.first_name, PatientRow.birth_date).where(
        PatientRow.merged_into_id.is_(None))
    text = (query or "").strip()[:MAX_QUERY]
    if text:
        statement = statement.where(or_(
            func.upper(PatientRow.account_number).startswith(text.upper(), autoescape=True),
            _name_matches(text)))
    if before_id is not None:
        statement = statement.where(PatientRow.id < before_id)
    rows: list[Any] = list(work.session.execute(
        statement.order_by(PatientRow.id.desc()).limit(limit + 1)))
    found = [PatientSearchRow(id=row[0], account_number=row[1],
                              name=_display_name(row[2], row[3]), birth_date=row[4])
             for row in rows]
    _audit_shown(work, [row.id for row in found[:limit]], via)
    return found

"""What the HTTP API reads and changes that the command line does not need as such: keyset
pages of guarantors (a read of PHI: audited) and statements, a statement's rendered
document (audited), the practices a principal may see, and a provider edited by id.

Every read that shows a patient-identifying record records who read it, as
:func:`medbill_core.services.patients.read_patient` does, so the unit of work must be able
to write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, func, or_, select

from medbill_core import audit
from medbill_core.domain import Guarantor, Provider, validate_record
from medbill_core.domain.identity import Principal
from medbill_core.errors import MedbillError, NotFound, ValidationFailed
from medbill_core.storage.mapping import guarantor_from_row, provider_from_row, provider_values
from medbill_core.storage.schema import GuarantorRow, PracticeRow, ProviderRow, StatementRow

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork


# -- guarantors ------------------------------------------------------------------------------

def guarantors_after(work: UnitOfWork, *, after_id: int | None, limit: int, via: str,
                     last_name_prefix: str | None = None) -> list[Guarantor]:
    """``limit`` guarantors by id after ``after_id`` (last names starting so, ignoring case)
    and the next one if any (read to know that a page follows: not shown, not audited). The
    read of those shown is audited (``guarantor.list``, their ids in ``details``)."""
    query = select(GuarantorRow).order_by(GuarantorRow.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(GuarantorRow.id > after_id)
    if last_name_prefix:
        query = query.where(func.lower(GuarantorRow.last_name).startswith(
            last_name_prefix.strip().lower(), autoescape=True))
    guarantors = [guarantor_from_row(row) for row in work.session.scalars(query)]
    if guarantors:
        audit.record(work.session, actor=work.actor, action="guarantor.list",
                     entity_type="guarantor", entity_id="list",
                     details={"via": via, "ids": [item.id for item in guarantors[:limit]]})
    return guarantors


def read_guarantor(work: UnitOfWork, guarantor_id: int, *, via: str) -> Guarantor:
    """A guarantor shown through ``via``: the read is audited (``guarantor.read``).

    :raises NotFound: no such guarantor (nothing is recorded).
    """
    row = work.session.get(GuarantorRow, guarantor_id)
    if row is None:
        raise NotFound("guarantor", guarantor_id)
    audit.record(work.session, actor=work.actor, action="guarantor.read",
                 entity_type="guarantor", entity_id=guarantor_id, details={"via": via})
    return guarantor_from_row(row)


# -- reads of other records tied to a patient --------------------------------------------------

def record_shown(work: UnitOfWork, entity_type: str, ids: list[int], *, via: str,
                 one: bool = False, **details: Any) -> None:
    """Record that records tied to patients were shown through ``via``: ``<type>.read`` for
    one (``one``), else one ``<type>.list`` event naming the ids of the page (nothing for an
    empty page). Balances, payments, statements, letters and a claim's history are the
    patients' billing records (PHI): who read them is kept as for a patient's own record."""
    if not ids:
        return
    if one:
        [entity_id] = ids
        audit.record(work.session, actor=work.actor, action=f"{entity_type}.read",
                     entity_type=entity_type, entity_id=entity_id,
                     details={"via": via, **details})
        return
    audit.record(work.session, actor=work.actor, action=f"{entity_type}.list",
                 entity_type=entity_type, entity_id="list",
                 details={"via": via, "ids": ids, **details})


# -- statements ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementRecord:
    """A statement produced by a run, as recorded (its document is a file of the run's
    folder, named ``filename``)."""

    id: int
    statement_number: str
    patient_id: int
    patient_ids: tuple[int, ...]
    cycle: str
    statement_date: date
    due_date: date
    balance_due: Decimal
    dunning_stage: int
    renderer: str
    filename: str
    status: str
    created_at: datetime


def _statement(row: StatementRow) -> StatementRecord:
    return StatementRecord(row.id, row.statement_number, row.patient_id,
                           tuple(row.patient_ids or [row.patient_id]), row.cycle,
                           row.statement_date, row.due_date, row.balance_due, row.dunning_stage,
                           row.renderer, row.filename, row.status, row.created_at)


def _of_patient(patient_id: int) -> Any:
    """A statement naming the patient: its first patient, or one of a family statement's
    ``patient_ids`` (a JSON list of numbers, read as its text: ``[3, 14]``)."""
    text = cast(StatementRow.patient_ids, String)
    number = str(patient_id)
    return or_(StatementRow.patient_id == patient_id,
               text.like(f"[{number}]"), text.like(f"[{number},%"),
               text.like(f"%, {number},%"), text.like(f"%, {number}]"),
               text.like(f"%,{number},%"), text.like(f"%,{number}]"))


def statements_after(work: UnitOfWork, *, after_id: int | None, limit: int,
                     patient_id: int | None = None, date_from: date | None = None,
                     date_to: date | None = None, cycle: str | None = None
                     ) -> list[StatementRecord]:
    """A keyset page of statements by id: at most ``limit`` after ``after_id``, naming one
    patient, dated in a period (both ends included), of one cycle."""
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("statements list", [("date_from", "is after date_to")])
    query = select(StatementRow).order_by(StatementRow.id).limit(limit)
    if after_id is not None:
        query = query.where(StatementRow.id > after_id)
    if patient_id is not None:
        query = query.where(_of_patient(patient_id))
    if date_from is not None:
        query = query.where(StatementRow.statement_date >= date_from)
    if date_to is not None:
        query = query.where(StatementRow.statement_date <= date_to)
    if cycle is not None:
        query = query.where(StatementRow.cycle == cycle)
    return [_statement(row) for row in work.session.scalars(query)]


def get_statement(work: UnitOfWork, statement_id: int) -> StatementRecord:
    """:raises NotFound: no such statement."""
    row = work.session.get(StatementRow, statement_id)
    if row is None:
        raise NotFound("statement", statement_id)
    return _statement(row)


class StatementFileGone(MedbillError):
    """A statement is recorded but its rendered file is not in the folder (moved, deleted,
    or not the document that was recorded)."""


def statement_document(work: UnitOfWork, statement_id: int, folder: Path, *,
                       via: str) -> tuple[StatementRecord, bytes]:
    """The statement's rendered document from ``folder`` (where the runs put them), checked
    against the digest recorded when it was produced. The read is audited
    (``statement.download``): the document holds the patients' PHI.

    :raises NotFound: no such statement.
    :raises StatementFileGone: its file is missing, unreadable or not the recorded one.
    """
    row = work.session.get(StatementRow, statement_id)
    if row is None:
        raise NotFound("statement", statement_id)
    gone = StatementFileGone(f"statement {statement_id}: its document is no longer available")
    name = row.filename
    if not name or Path(name).name != name or name in (".", ".."):
        raise gone
    try:
        content = (folder / name).read_bytes()
    except OSError:
        raise gone from None
    if hashlib.sha256(content).hexdigest() != row.content_sha256:
        raise gone
    audit.record(work.session, actor=work.actor, action="statement.download",
                 entity_type="statement", entity_id=statement_id,
                 details={"via": via, "patient_ids": list(row.patient_ids or [row.patient_id])})
    return _statement(row), content


# -- practices -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PracticeView:
    id: int
    code: str
    name: str
    active: bool


def visible_practices(work: UnitOfWork, principal: Principal) -> list[PracticeView]:
    """The practices ``principal`` acts in: an API key's one practice, a user's current
    one (a principal is one practice's: another is another principal)."""
    row = work.session.get(PracticeRow, principal.practice_id)
    return [] if row is None else [PracticeView(row.id, row.code, row.name, row.active)]


def get_practice(work: UnitOfWork, principal: Principal, practice_id: int) -> PracticeView:
    """:raises NotFound: not a practice the principal acts in (another practice's id is
    not told apart from an id no practice has)."""
    for practice in visible_practices(work, principal):
        if practice.id == practice_id:
            return practice
    raise NotFound("practice", practice_id)


# -- providers -------------------------------------------------------------------------------

def edit_provider(work: UnitOfWork, provider_id: int, changes: dict[str, Any]
                  ) -> tuple[Provider, list[str]]:
    """Change some fields of a provider (``None`` clears an optional one); its NPI may not
    become another provider's. Returns the provider and the names of the changed fields.

    :raises NotFound: no such provider.
    :raises ValidationFailed: the result is not a valid provider, or its NPI is taken.
    """
    row = work.session.get(ProviderRow, provider_id)
    if row is None:
        raise NotFound("provider", provider_id)
    label = f"provider {provider_id}"
    current = provider_from_row(row)
    merged = {**current.model_dump(mode="json", exclude={"id"}), **changes}
    edited = validate_record(Provider, {k: v for k, v in merged.items() if v is not None},
                             record=label)
    clash = work.session.scalar(select(ProviderRow.id).where(
        ProviderRow.npi == edited.npi, ProviderRow.id != provider_id))
    if clash is not None:
        raise ValidationFailed(label, [("npi", f"is provider {clash}'s")])
    changed = audit.apply_changes(
        work.session, row, provider_values(current), provider_values(edited),
        actor=work.actor, action="provider.update", entity_type="provider",
        entity_id=provider_id)
    return provider_from_row(row), changed


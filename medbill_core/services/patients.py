"""Registering patients, their coverages and providers."""

from __future__ import annotations

import builtins  # the service's list() method hides list in its annotations
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, inspect, or_, select
from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.config import MedbillConfig
from medbill_core.domain import Coverage, Patient, Provider, validate_record
from medbill_core.errors import MedbillError, NotFound, UnknownPayer, ValidationFailed
from medbill_core.storage.mapping import (
    coverage_from_row,
    coverage_values,
    patient_from_row,
    patient_values,
    provider_from_row,
    provider_values,
)
from medbill_core.storage.schema import ClaimRow, CoverageRow, PatientRow, ProviderRow


def _name_matches(text: str) -> Any:
    """``Rivera`` (last name), ``Rivera, Maria`` or ``Maria Rivera``: case-insensitive prefixes."""
    def prefix(column: Any, value: str) -> Any:
        return func.lower(column).startswith(value.strip().lower(), autoescape=True)

    if "," in text:
        last, first = (part.strip() for part in text.split(",", 1))
        condition = prefix(PatientRow.last_name, last)
        return condition & prefix(PatientRow.first_name, first) if first else condition
    words = text.split()
    if len(words) >= 2:
        first, last = words[0], " ".join(words[1:])
        return or_(prefix(PatientRow.last_name, last) & prefix(PatientRow.first_name, first),
                   prefix(PatientRow.last_name, text))
    return or_(prefix(PatientRow.last_name, text), prefix(PatientRow.first_name, text))


class PatientService:
    """Patients, coverages and providers, inside the caller's transaction."""

    def __init__(self, session: Session, *, actor: str, config: MedbillConfig) -> None:
        self.session = session
        self.actor = actor
        self.config = config

    # -- patients -----------------------------------------------------------------------------
    def register(self, patient: Patient) -> Patient:
        """Create a patient, or update the one with the same account number.

        :returns: the stored patient with its ``id``.
        """
        return self.save(patient)[0]

    def save(self, patient: Patient) -> tuple[Patient, bool, list[str]]:
        """:meth:`register`, also saying whether it created the patient and which fields it
        changed (names only)."""
        row = self.session.scalar(
            select(PatientRow).where(PatientRow.account_number == patient.account_number))
        values = patient_values(patient)
        if row is None:
            row = PatientRow(**values)
            self.session.add(row)
            self.session.flush()
            audit.record(self.session, actor=self.actor, action="patient.create",
                         entity_type="patient", entity_id=row.id)
            return patient_from_row(row), True, []
        changed = audit.apply_changes(
            self.session, row, patient_values(patient_from_row(row)), values, actor=self.actor,
            action="patient.update", entity_type="patient", entity_id=row.id)
        return patient_from_row(row), False, changed

    def get(self, patient_id: int) -> Patient:
        row = self.session.get(PatientRow, patient_id)
        if row is None:
            raise NotFound("patient", patient_id)
        return patient_from_row(row)

    def by_account(self, account_number: str) -> Patient:
        row = self.session.scalar(
            select(PatientRow).where(PatientRow.account_number == account_number))
        if row is None:
            raise NotFound("patient account", account_number)
        return patient_from_row(row)

    def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Patient]:
        rows = self.session.scalars(select(PatientRow).order_by(PatientRow.id)
                                    .limit(limit).offset(offset))
        return [patient_from_row(row) for row in rows]

    def search(self, *, name: str | None = None, birth_date: date | None = None,
               account: str | None = None, include_merged: bool = False,
               limit: int = 50) -> builtins.list[Patient]:
        """Patients matching every criterion given: ``name`` is ``last``, ``last, first`` or
        ``first last`` (case-insensitive prefixes); ``account`` a prefix of the account number.
        Records merged into another are left out unless ``include_merged``."""
        if not (name or birth_date or account):
            raise ValidationFailed("patient search", [("criteria", "give a name, a birth date "
                                                                    "or an account number")])
        query = select(PatientRow)
        if name:
            query = query.where(_name_matches(name))
        if birth_date:
            query = query.where(PatientRow.birth_date == birth_date)
        if account:
            query = query.where(func.upper(PatientRow.account_number).startswith(
                account.strip().upper(), autoescape=True))
        if not include_merged:
            query = query.where(PatientRow.merged_into_id.is_(None))
        rows = self.session.scalars(query.order_by(PatientRow.last_name, PatientRow.first_name,
                                                   PatientRow.id).limit(limit))
        return [patient_from_row(row) for row in rows]

    def edit(self, patient_id: int, changes: dict[str, Any]) -> tuple[Patient, builtins.list[str]]:
        """Change some of a patient's fields (``None`` clears one); nested ``address`` changes
        merge into the stored address. Returns the patient and the names of changed fields."""
        from medbill_core.services.importing import merge_into

        current = self.get(patient_id)
        if current.merged_into_id is not None:
            raise MedbillError(f"patient {patient_id} was merged into patient "
                               f"{current.merged_into_id}; edit that record")
        record = merge_into(current.model_dump(mode="json", exclude={"id"}), changes)
        if record.get("account_number") != current.account_number:
            taken = self.session.scalar(select(PatientRow.id).where(
                PatientRow.account_number == record.get("account_number")))
            if taken is not None:
                raise ValidationFailed(f"patient {patient_id}", [
                    ("account_number", "another patient has this account number")])
        edited = validate_record(Patient, {k: v for k, v in record.items() if v is not None},
                                 record=f"patient {patient_id}")
        row = self.session.get_one(PatientRow, patient_id)
        values = patient_values(edited)
        changed = audit.apply_changes(
            self.session, row, patient_values(current), values, actor=self.actor,
            action="patient.update", entity_type="patient", entity_id=patient_id)
        return patient_from_row(row), changed

    # -- coverages ----------------------------------------------------------------------------
    def add_coverage(self, patient_id: int, coverage: Coverage) -> Coverage:
        """Attach a coverage; one with the same payer and order is updated instead."""
        return self.save_coverage(patient_id, coverage)[0]

    def find_coverage(self, patient_id: int, payer_key: str, order: str) -> Coverage | None:
        """The patient's coverage with this payer in this order (``P``/``S``/``T``), if any."""
        row = self.session.scalar(select(CoverageRow).where(
            CoverageRow.patient_id == patient_id, CoverageRow.payer_key == payer_key,
            CoverageRow.coverage_order == order))
        return coverage_from_row(row) if row else None

    def save_coverage(self, patient_id: int, coverage: Coverage
                      ) -> tuple[Coverage, bool, builtins.list[str]]:
        """:meth:`add_coverage`, also saying whether it created the coverage and which fields
        it changed (names only)."""
        if coverage.payer_key not in self.config.payers:
            raise UnknownPayer(coverage.payer_key)
        self.get(patient_id)
        row = self.session.scalar(select(CoverageRow).where(
            CoverageRow.patient_id == patient_id, CoverageRow.payer_key == coverage.payer_key,
            CoverageRow.coverage_order == coverage.order.value))
        values = coverage_values(coverage)
        if row is None:
            row = CoverageRow(patient_id=patient_id, **values)
            self.session.add(row)
            self.session.flush()
            audit.record(self.session, actor=self.actor, action="coverage.create",
                         entity_type="coverage", entity_id=row.id,
                         details={"patient_id": patient_id, "payer_key": coverage.payer_key})
            self._default_guarantor(patient_id, coverage)
            return coverage_from_row(row), True, []
        changed = audit.apply_changes(
            self.session, row, coverage_values(coverage_from_row(row)), values,
            actor=self.actor, action="coverage.update", entity_type="coverage", entity_id=row.id)
        if changed:
            self._default_guarantor(patient_id, coverage)
        return coverage_from_row(row), False, changed

    def _default_guarantor(self, patient_id: int, coverage: Coverage) -> None:
        from medbill_core.services.guarantors import GuarantorService

        GuarantorService(self.session, actor=self.actor).default_from_subscriber(
            patient_id, coverage)

    def coverage(self, coverage_id: int) -> Coverage:
        row = self.session.get(CoverageRow, coverage_id)
        if row is None:
            raise NotFound("coverage", coverage_id)
        return coverage_from_row(row)

    def coverages(self, patient_id: int) -> builtins.list[Coverage]:
        rows = self.session.scalars(select(CoverageRow).where(CoverageRow.patient_id == patient_id)
                                    .order_by(CoverageRow.coverage_order, CoverageRow.id))
        return [coverage_from_row(row) for row in rows]

    def edit_coverage(self, coverage_id: int, changes: dict[str, Any]
                      ) -> tuple[Coverage, builtins.list[str]]:
        """Change some fields of a coverage (``None`` clears one; ``subscriber`` merges).

        Moving it to a payer and order the patient already has another coverage for is
        refused: the two would be indistinguishable on claims.
        """
        from medbill_core.services.importing import merge_into

        row = self.session.get(CoverageRow, coverage_id)
        if row is None:
            raise NotFound("coverage", coverage_id)
        current = coverage_from_row(row)
        if changes.get("relationship") == "18" and "subscriber" not in changes:
            changes = {**changes, "subscriber": None}  # the patient's own plan now
        record = merge_into(current.model_dump(mode="json", exclude={"id"}), changes)
        label = f"coverage {coverage_id}"
        edited = validate_record(Coverage, {k: v for k, v in record.items() if v is not None},
                                 record=label)
        if edited.payer_key not in self.config.payers:
            raise ValidationFailed(label, [("payer_key", "not a configured payer")])
        clash = self.find_coverage(row.patient_id, edited.payer_key, edited.order.value)
        if clash is not None and clash.id != coverage_id:
            raise ValidationFailed(label, [("order", f"the patient already has coverage "
                                                     f"{clash.id} with this payer and order")])
        values = coverage_values(edited)
        changed = audit.apply_changes(
            self.session, row, coverage_values(current), values, actor=self.actor,
            action="coverage.update", entity_type="coverage", entity_id=coverage_id)
        return coverage_from_row(row), changed

    def terminate_coverage(self, coverage_id: int, end_date: date) -> Coverage:
        """End a coverage on ``end_date`` (the last covered day); claims for later services
        will not be billed to it."""
        current = self.coverage(coverage_id)
        if current.start_date and end_date < current.start_date:
            raise ValidationFailed(f"coverage {coverage_id}", [
                ("end_date", "is before the coverage's start date")])
        coverage, _ = self.edit_coverage(coverage_id, {"end_date": end_date.isoformat()})
        audit.record(self.session, actor=self.actor, action="coverage.terminate",
                     entity_type="coverage", entity_id=coverage_id,
                     details={"end_date": end_date.isoformat()})
        return coverage

    def claims_after_end(self, coverage_id: int) -> builtins.list[str]:
        """Numbers of the live claims billed to this coverage for services after its end
        date: a coverage ended after the visits were billed leaves them with a payer that
        will deny them (CO-27), to be rebilled to the right payer or to the patient."""
        coverage = self.coverage(coverage_id)
        if coverage.end_date is None:
            return []
        finished = ("deleted", "voided", "replaced", "closed")
        return list(self.session.scalars(select(ClaimRow.claim_number).where(
            ClaimRow.coverage_id == coverage_id,
            ClaimRow.service_date_from > coverage.end_date,
            ClaimRow.state.not_in(finished)).order_by(ClaimRow.service_date_from,
                                                      ClaimRow.id)))

    # -- providers ----------------------------------------------------------------------------
    def register_provider(self, provider: Provider) -> Provider:
        row = self.session.scalar(select(ProviderRow).where(ProviderRow.npi == provider.npi))
        values: dict[str, Any] = provider_values(provider)
        if row is None:
            row = ProviderRow(**values)
            self.session.add(row)
            self.session.flush()
            audit.record(self.session, actor=self.actor, action="provider.create",
                         entity_type="provider", entity_id=row.id)
        else:
            audit.apply_changes(self.session, row, provider_values(provider_from_row(row)),
                                values, actor=self.actor, action="provider.update",
                                entity_type="provider", entity_id=row.id)
        return provider_from_row(row)

    def provider(self, npi: str) -> Provider | None:
        row = self.session.info.get("medbill.providers", {}).get(npi)  # loaded in this unit
        if row is None or not inspect(row).persistent or row.npi != npi:
            row = self.session.scalar(select(ProviderRow).where(ProviderRow.npi == npi))
        return provider_from_row(row) if row else None

"""Registering patients, their coverages and providers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.config import MedbillConfig
from medbill_core.domain import Coverage, Patient, Provider
from medbill_core.errors import NotFound, UnknownPayer
from medbill_core.storage.mapping import (
    coverage_from_row,
    coverage_values,
    patient_from_row,
    patient_values,
    provider_from_row,
    provider_values,
)
from medbill_core.storage.schema import CoverageRow, PatientRow, ProviderRow


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
        before = patient_values(patient_from_row(row))
        changed = audit.changed_fields(before, values)
        if changed:
            for key in changed:
                setattr(row, key, values[key])
            self.session.flush()
            audit.record(self.session, actor=self.actor, action="patient.update",
                         entity_type="patient", entity_id=row.id,
                         details={"fields": changed})
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
                      ) -> tuple[Coverage, bool, list[str]]:
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
        before = coverage_values(coverage_from_row(row))
        changed = audit.changed_fields(before, values)
        if changed:
            for key in changed:
                setattr(row, key, values[key])
            self.session.flush()
            audit.record(self.session, actor=self.actor, action="coverage.update",
                         entity_type="coverage", entity_id=row.id,
                         details={"fields": changed})
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

    def coverages(self, patient_id: int) -> list[Coverage]:
        rows = self.session.scalars(select(CoverageRow).where(CoverageRow.patient_id == patient_id)
                                    .order_by(CoverageRow.coverage_order, CoverageRow.id))
        return [coverage_from_row(row) for row in rows]

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
            changed = audit.changed_fields(provider_values(provider_from_row(row)), values)
            for key in changed:
                setattr(row, key, values[key])
            if changed:
                audit.record(self.session, actor=self.actor, action="provider.update",
                             entity_type="provider", entity_id=row.id,
                             details={"fields": changed})
        return provider_from_row(row)

    def provider(self, npi: str) -> Provider | None:
        row = self.session.info.get("medbill.providers", {}).get(npi)  # loaded in this unit
        if row is None or not inspect(row).persistent or row.npi != npi:
            row = self.session.scalar(select(ProviderRow).where(ProviderRow.npi == npi))
        return provider_from_row(row) if row else None

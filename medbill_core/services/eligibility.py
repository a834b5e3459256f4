"""Eligibility checks (270/271) for a patient's coverage, which coverage is primary on a date,
and what a payer's reject means.

The payer answers a request it cannot process with AAA segments (request validation):
"75" subscriber not found, "72" invalid member ID ... A check answered that way did not
tell whether the patient is covered, so the caller treats it as a failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain import (
    Coverage,
    CoverageStatus,
    EligibilityRequest,
    EligibilityResponse,
    Payer,
    Relationship,
)
from medbill_core.domain.base import saved_id
from medbill_core.errors import MedbillError, ValidationFailed

#: AAA04 follow-up action codes.
AAA_FOLLOW_UPS = {
    "C": "please correct and resubmit",
    "N": "resubmission not allowed",
    "P": "please resubmit original transaction",
    "R": "resubmission allowed",
    "S": "do not resubmit; inquiry initiated to a third party",
    "W": "please wait 30 days and resubmit",
    "X": "please wait 10 days and resubmit",
    "Y": "do not resubmit; we will hand deliver",
}


def primary_coverage(coverages: Iterable[Coverage], on: date) -> Coverage | None:
    """The coverage that pays first for a service on ``on`` (``None``: none is active).

    Only plans active on the date count (an ended plan's payer is not the one that would pay).
    Among them the lowest coordination-of-benefits order (primary, then secondary ...) wins.
    Two plans in the same order (a plan change entered before the old one was ended) are
    decided as coordination of benefits does: the plan covering the patient as the subscriber
    before one covering them as a dependent, then the plan that began latest (it replaced the
    other), then the one entered first.
    """
    active = [c for c in coverages if c.is_active_on(on)]
    if not active:
        return None
    return min(active, key=lambda c: (
        c.order.rank, c.relationship is not Relationship.SELF,
        -(c.start_date or date.min).toordinal(), c.id if c.id is not None else 0))


def explain_reject(reason: str, follow_up: str | None = None) -> str:
    """``"75", "C"`` -> ``"75 Subscriber/insured not found. (check member ID ...);
    payer says: please correct and resubmit"`` (the reason from the shipped AAA table,
    :func:`~medbill_core.codesets.explain.explain_aaa_reject`, then the payer's AAA04)."""
    from medbill_core.codesets.explain import explain_aaa_reject

    text = explain_aaa_reject(reason)
    if follow_up:
        text += f"; payer says: {AAA_FOLLOW_UPS.get(follow_up, follow_up)}"
    return text


@dataclass(frozen=True)
class EligibilityCheck:
    coverage: Coverage
    payer: Payer
    request: EligibilityRequest
    response: EligibilityResponse

    @property
    def rejected(self) -> bool:
        return bool(self.response.issues) and self.response.status in (
            CoverageStatus.ERROR, CoverageStatus.UNKNOWN)

    @property
    def reasons(self) -> list[str]:
        return [explain_reject(issue.reject_reason, issue.follow_up)
                for issue in self.response.issues]


def check_patient_eligibility(medbill: Medbill, account_number: str, on: date,
                              service_types: list[str], *, coverage_id: int | None = None
                              ) -> EligibilityCheck:
    """Ask the payer of the patient's primary coverage active on the date of service (or of
    the coverage ``coverage_id``: a secondary, say); the check is audited.

    A payer's AAA reject is returned (``check.rejected``), not raised, so that the caller can
    show what came back before failing.

    :raises ValidationFailed: ``coverage_id`` is not a coverage of this patient.
    """
    with medbill.unit_of_work(read_only=True) as work:
        found = work.patients.by_account(account_number)
        on_file = work.patients.coverages(saved_id(found))
        if coverage_id is not None:
            chosen = [c for c in on_file if c.id == coverage_id]
            if not chosen:
                raise ValidationFailed(f"patient account {account_number}", [(
                    "coverage", f"{coverage_id} is not a coverage of this patient "
                    "(medbill coverages list --patient ...)")])
            coverage = chosen[0]
        else:
            if not on_file:
                raise MedbillError(f"patient account {account_number} has no coverage on file")
            primary = primary_coverage(on_file, on)
            if primary is None:
                raise ValidationFailed(f"patient account {account_number}", [(
                    "coverage", f"none active on {on.isoformat()} (its plan dates: medbill "
                    "coverages list --patient ...)")])
            coverage = primary
        payer = medbill.hooks.context.payer(coverage.payer_key)
        request = EligibilityRequest(
            trace_number=f"ELG{found.id}{on:%Y%m%d}", practice=medbill.config.require_practice(),
            patient=found, coverage=coverage, payer=payer, service_date=on,
            service_types=service_types)
    response = medbill.hooks.check_eligibility(request=request)
    with medbill.unit_of_work() as work:
        audit.record(work.session, actor=work.actor, action="eligibility.check",
                     entity_type="coverage", entity_id=coverage.id,
                     details={"status": response.status.value, "payer_key": payer.key,
                              "reject_reasons": [i.reject_reason for i in response.issues]})
    return EligibilityCheck(coverage, payer, request, response)

"""Eligibility checks (270/271) for a patient's coverage, and what a payer's reject means.

The payer answers a request it cannot process with AAA segments (request validation):
"75" subscriber not found, "72" invalid member ID ... A check answered that way did not
tell whether the patient is covered, so the caller treats it as a failure.
"""

from __future__ import annotations

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
)
from medbill_core.errors import MedbillError

#: AAA03 reject reason codes of the 271 (X12 005010X279A1), in words.
AAA_REJECT_REASONS = {
    "04": "authorized quantity exceeded",
    "15": "required application data missing",
    "33": "input errors",
    "35": "out of network",
    "41": "authorization/access restrictions",
    "42": "unable to respond at current time",
    "43": "invalid/missing provider identification",
    "44": "invalid/missing provider name",
    "45": "invalid/missing provider specialty",
    "46": "invalid/missing provider phone number",
    "47": "invalid/missing provider state",
    "48": "invalid/missing referring provider identification number",
    "49": "provider is not primary care physician",
    "50": "provider ineligible for inquiries",
    "51": "provider not on file",
    "52": "service dates not within provider plan enrollment",
    "53": "inquired benefit inconsistent with provider type",
    "54": "inappropriate product/service ID qualifier",
    "55": "inappropriate product/service ID",
    "56": "inappropriate date",
    "57": "invalid/missing date(s) of service",
    "58": "invalid/missing date of birth",
    "60": "date of birth follows date(s) of service",
    "61": "date of death precedes date(s) of service",
    "62": "date of service not within allowable inquiry period",
    "63": "date of service in future",
    "64": "invalid/missing patient ID",
    "65": "invalid/missing patient name",
    "66": "invalid/missing patient gender code",
    "67": "patient not found",
    "68": "duplicate patient ID number",
    "69": "inconsistent with patient's age",
    "70": "inconsistent with patient's gender",
    "71": "patient birth date does not match that for the patient on the database",
    "72": "invalid/missing subscriber/insured ID",
    "73": "invalid/missing subscriber/insured name",
    "74": "invalid/missing subscriber/insured gender code",
    "75": "subscriber/insured not found",
    "76": "duplicate subscriber/insured ID number",
    "77": "subscriber found, patient not found",
    "78": "subscriber/insured not in group/plan identified",
    "79": "invalid participant identification",
    "80": "no response received - transaction terminated",
    "97": "invalid or missing provider address",
    "98": "experimental service or procedure",
    "AA": "authorization number not found",
    "AE": "requires primary care physician authorization",
    "AF": "invalid/missing diagnosis code(s)",
    "AG": "invalid/missing procedure code(s)",
    "AO": "additional patient condition information required",
    "CI": "certification information does not match patient",
    "E8": "requires medical review",
    "IA": "invalid authorization number format",
    "MA": "missing authorization",
    "T4": "payer name or identifier missing",
}

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


def explain_reject(reason: str, follow_up: str | None = None) -> str:
    """``"75"`` -> ``"75 subscriber/insured not found"`` (plus the follow-up in words)."""
    text = f"{reason} {AAA_REJECT_REASONS.get(reason, 'unknown reject reason')}"
    if follow_up:
        text += f" ({AAA_FOLLOW_UPS.get(follow_up, follow_up)})"
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
                              service_types: list[str]) -> EligibilityCheck:
    """Ask the payer of the patient's primary coverage; the check is audited.

    A payer's AAA reject is returned (``check.rejected``), not raised, so that the caller can
    show what came back before failing.
    """
    with medbill.unit_of_work() as work:
        found = work.patients.by_account(account_number)
        coverages = sorted(work.patients.coverages(found.id), key=lambda c: c.order.rank)
        if not coverages:
            raise MedbillError(f"patient account {account_number} has no coverage on file")
        coverage = coverages[0]
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

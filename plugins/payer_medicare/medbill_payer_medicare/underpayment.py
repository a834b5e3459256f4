"""Flag 835 service lines Medicare allowed for less than the fee schedule says.

For each service payment (SVC loop) of a :class:`~medbill_core.domain.ClaimPayment`:

1. the **allowed amount** is the 835's ``AMT*B6`` when present, else derived as
   paid + patient responsibility (group ``PR``: deductible, coinsurance) + sequestration
   (CARC 253), which is what Medicare allowed before it took its 2% and the patient's share;
2. the **expected amount** is :meth:`MedicarePricer.price` for the line's code, pricing
   modifier (26/TC/53), units and place of service (from the matching claim line, else the
   claim's, else the ``place_of_service`` argument);
3. when allowed < expected - tolerance, a ``medicare.underpaid`` warning names the line, the
   two amounts and the difference.

Lines are **not** flagged when the difference may be legitimate or cannot be judged: denied
claims and reversals, denied lines (allowed 0), services the fee schedule does not price, lines
with a payment-reducing modifier (:data:`PAYMENT_REDUCING_MODIFIERS`) and lines subject to a
multiple-procedure reduction (two or more lines of the claim with a multiple-procedure indicator
other than 0 or 9). Findings carry the claim number (CLP01) and amounts, never PHI.

The expected amount is what Medicare pays, not the uncapped fee: an imaging line subject to
the OPPS cap is expected at the capped amount, so a line paid at the cap is not underpaid.
The message names the release, the NA rule and the cap that shaped it. When no MPFS release
governs the date of service (past the newest one loaded) the line is still checked against
the nearest release -- a silent pass would hide real underpayments -- but the finding says
the expected amount is an estimate and names the release to load before disputing.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from medbill_core.api import (
    ZERO,
    AdjustmentGroup,
    Claim,
    ClaimFinding,
    ClaimPayment,
    ClaimStatusCode,
    PaymentFinding,
    ServiceLine,
    ServicePayment,
    Severity,
    total,
)
from medbill_payer_medicare.feeschedule import FeeScheduleAmount, MedicarePricer, NotPriced

SOURCE = "payer_medicare"
SEQUESTRATION_CARC = "253"
#: Modifiers that change what Medicare allows (bilateral, multiple, reduced/discontinued,
#: co-/team surgery, pre/intra/post-operative split, assistants, therapy assistants).
PAYMENT_REDUCING_MODIFIERS = frozenset({
    "50", "51", "52", "54", "55", "56", "62", "66", "73", "74", "78", "80", "81", "82",
    "AS", "CO", "CQ",
})
_NO_MPPR = {"0", "9", ""}


def allowed_amount(service: ServicePayment) -> Decimal:
    """``AMT*B6`` when given, else paid + PR adjustments + sequestration (CARC 253)."""
    if service.allowed_amount is not None:
        return service.allowed_amount
    patient = total(a.amount for a in service.adjustments
                    if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY)
    sequestration = total(a.amount for a in service.adjustments
                          if a.reason_code == SEQUESTRATION_CARC
                          and a.group is not AdjustmentGroup.PATIENT_RESPONSIBILITY)
    return service.paid + patient + sequestration


def _match_lines(payment: ClaimPayment, claim: Claim | None) -> list[ServiceLine | None]:
    """The claim line each service payment answers (by line control number, else by code+date)."""
    if claim is None:
        return [None] * len(payment.services)
    unused = list(claim.lines)
    matched: list[ServiceLine | None] = []
    for service in payment.services:
        found = None
        if service.line_control_number:
            found = next((line for line in unused
                          if line.line_control_number == service.line_control_number), None)
        if found is None:
            codes = {service.procedure_code, service.original_procedure_code}
            found = next((line for line in unused if line.procedure_code in codes
                          and (service.service_date_from is None
                               or line.service_date_from == service.service_date_from)), None)
        if found is not None:
            unused.remove(found)
        matched.append(found)
    return matched


def how_priced(expected: FeeScheduleAmount) -> str:
    """The release, the setting rule and the OPPS cap behind an expected amount, for people."""
    parts = [expected.release]
    if expected.setting_rule:
        parts.append(expected.setting_rule)
    if expected.opps_cap_applied:
        parts.append(f"OPPS imaging cap {expected.opps_cap_unit_amount} per unit applied to the"
                     f" PFS amount {expected.pfs_unit_amount} ({expected.opps_cap_source})")
    return "; ".join(parts)


def find_underpayments(payment: ClaimPayment, pricer: MedicarePricer, *,
                       claim: Claim | None = None, place_of_service: str | None = None,
                       tolerance: Decimal = ZERO) -> list[ClaimFinding]:
    """``medicare.underpaid`` warnings for the lines of ``payment`` allowed below the MPFS.

    :param claim: the claim that was billed, to find each line's place of service and number.
    :param place_of_service: used when there is no claim (or its line has no POS).
    :param tolerance: differences up to this amount are not flagged.
    """
    if payment.status in (ClaimStatusCode.DENIED, ClaimStatusCode.REVERSAL):
        return []
    matched = _match_lines(payment, claim)
    mppr_lines = 0
    for service in payment.services:
        try:
            row = pricer.row_for(service.procedure_code, service.modifiers)
        except NotPriced:
            continue
        if row.mult_proc not in _NO_MPPR:
            mppr_lines += 1
    findings: list[ClaimFinding] = []
    for index, (service, line) in enumerate(zip(payment.services, matched, strict=True),
                                            start=1):
        if set(service.modifiers) & PAYMENT_REDUCING_MODIFIERS:
            continue
        allowed = allowed_amount(service)
        if allowed <= ZERO:
            continue
        pos = ((line.place_of_service if line else None)
               or (claim.place_of_service if claim else None) or place_of_service)
        if pos is None:
            continue
        units = service.units or (line.units if line else Decimal("1"))
        try:
            expected = pricer.price(service.procedure_code, pos, modifiers=service.modifiers,
                                    units=units)
        except NotPriced:
            continue
        if expected.multiple_procedure_indicator not in _NO_MPPR and mppr_lines > 1:
            continue
        shortfall = expected.amount - allowed
        if shortfall <= tolerance:
            continue
        number = line.line_number if line else index
        label = service.procedure_code + "".join(f"-{m}" for m in service.modifiers)
        setting = "facility" if expected.facility else "non-facility"
        shown_units = format(units.normalize(), "f")
        findings.append(PaymentFinding(
            severity=Severity.WARNING, code="medicare.underpaid",
            expected_amount=expected.amount, allowed_amount=allowed, paid_amount=service.paid,
            message=(f"line {number} ({label} x {shown_units}): allowed {allowed} is "
                     f"{shortfall} below the {expected.year} MPFS amount {expected.amount} "
                     f"(MAC {expected.mac} locality {expected.locality}, {setting}, "
                     f"POS {pos}; {how_priced(expected)})"
                     + ("" if expected.release_covered else
                        f"; an estimate, not a certain amount: {expected.release_note}")),
            claim_number=payment.claim_number, line_number=number, field="allowed_amount",
            fix_hint=(("load the MPFS release named above and re-check before disputing; "
                       if not expected.release_covered else "")
                      + "check the locality, place of service, modifiers and units the MAC "
                      "used; if the fee schedule was misapplied, reopen or request a "
                      "redetermination within 120 days of the remittance"),
            source=SOURCE))
    return findings


def find_underpayments_in(payments: Sequence[ClaimPayment], pricer: MedicarePricer, *,
                          claims: dict[str, Claim] | None = None,
                          place_of_service: str | None = None,
                          tolerance: Decimal = ZERO) -> list[ClaimFinding]:
    """:func:`find_underpayments` for several claim payments (claims looked up by CLP01)."""
    claims = claims or {}
    findings: list[ClaimFinding] = []
    for payment in payments:
        findings.extend(find_underpayments(
            payment, pricer, claim=claims.get(payment.claim_number),
            place_of_service=place_of_service, tolerance=tolerance))
    return findings

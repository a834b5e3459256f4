"""Adjudication: a pure function from a claim (plus the payer's rules and the member's benefits)
to a :class:`~medbill_core.domain.ClaimPayment`.

No I/O, no clock, no randomness: everything it depends on is an argument, so the same inputs
always give the same payment, to the cent. The simulator's service layer stores what it returns
(the payment and the member's updated accumulators) and batches payments into 835s.

Per line, in line-number order:

1. claim-level denials (every line): coverage not active on the date of service (CO-27, N30),
   unknown member (CO-31), filed too late (CO-29), exact duplicate of an adjudicated claim (CO-18);
2. line denials: a procedure code without a fee schedule entry (CO-181, M51), a service the plan
   does not cover (CO-96, N130), a service needing a prior authorization the claim lacks
   (CO-197, M62);
3. allowed amount = fee per unit x units, never above the charge; the difference is CO-45;
4. patient responsibility: the place-of-service copay once per claim on the first covered line
   (PR-3; with ``copay_waives_deductible`` that line owes nothing more), else the remaining
   deductible (PR-1) then coinsurance on the rest (PR-2, rounded half up to the cent); all of it
   capped by what is left of the out-of-pocket maximum (coinsurance is cut first, then copay,
   then deductible);
5. paid = allowed - patient responsibility.

Every line balances (charge - paid = its adjustments) and so does the claim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from medbill_clearinghouse_mock.simulator.config import Benefits, PayerPolicy
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    BillableClaim,
    ClaimPayment,
    ClaimStatusCode,
    CoverageOrder,
    ServiceLine,
    ServicePayment,
)
from medbill_core.money import CENT, ZERO, total

CO = AdjustmentGroup.CONTRACTUAL
PR = AdjustmentGroup.PATIENT_RESPONSIBILITY


@dataclass(frozen=True, slots=True)
class Denial:
    """A reason to pay nothing for a line: group code, CARC and (optional) RARC."""

    group: AdjustmentGroup
    carc: str
    rarc: str | None
    reason: str


COVERAGE_INACTIVE = Denial(CO, "27", "N30", "coverage not active on the date of service")
UNKNOWN_MEMBER = Denial(CO, "31", None, "patient cannot be identified as the payer's insured")
TIMELY_FILING = Denial(CO, "29", None, "the time limit for filing has expired")
DUPLICATE = Denial(CO, "18", None, "exact duplicate of a claim already adjudicated")
INVALID_CODE = Denial(CO, "181", "M51", "procedure code not on the payer's fee schedule")
NON_COVERED = Denial(CO, "96", "N130", "service not covered by the plan")
NO_PRIOR_AUTH = Denial(CO, "197", "M62", "prior authorization absent")

#: CLP06 claim filing indicator from the 837's SBR09 (others: 12, preferred provider).
_FILING = {"MB": "MB", "MA": "MA", "MC": "MC", "HM": "HM", "CH": "CH", "VA": "VA", "WC": "WC",
           "BL": "12", "CI": "12", "16": "16"}


@dataclass(frozen=True, slots=True)
class Accumulators:
    """What the member has met this benefit year."""

    deductible_met: Decimal = ZERO
    out_of_pocket_met: Decimal = ZERO

    @classmethod
    def from_benefits(cls, benefits: Benefits) -> Accumulators:
        return cls(benefits.deductible_met, benefits.out_of_pocket_met)


@dataclass(frozen=True, slots=True)
class AdjudicationResult:
    payment: ClaimPayment
    accumulators: Accumulators
    fingerprint: str
    #: The claim-level denial, if the whole claim was denied for one reason.
    denial: Denial | None = None

    @property
    def denied(self) -> bool:
        return self.payment.status is ClaimStatusCode.DENIED


def fingerprint(claim: BillableClaim) -> str:
    """What makes two claims exact duplicates: payer, member, dates, and each line's code,
    modifiers, units, charge and dates. Claim numbers do not count (a resubmission under a new
    number is still a duplicate)."""
    c = claim.claim
    member = claim.coverage.member_id if claim.coverage else ""
    payer = claim.payer.payer_id if claim.payer else ""
    parts = [payer, member, c.service_date_from.isoformat(), c.service_date_to.isoformat()]
    for line in sorted(c.lines, key=lambda item: item.line_number):
        parts.append("|".join([line.procedure_code, ",".join(line.modifiers), str(line.units),
                               str(line.charge), line.service_date_from.isoformat(),
                               line.last_service_date.isoformat()]))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _claim_level_denial(claim: BillableClaim, payer: PayerPolicy, benefits: Benefits | None,
                        coverage_active: bool, received: date,
                        prior_fingerprints: Collection[str], print_: str) -> Denial | None:
    if benefits is None:
        return UNKNOWN_MEMBER
    if not coverage_active:
        return COVERAGE_INACTIVE
    if (received - claim.claim.service_date_to).days > payer.denials.timely_filing_days:
        return TIMELY_FILING
    if payer.denials.detect_duplicates and print_ in prior_fingerprints:
        return DUPLICATE
    return None


def _line_denial(line: ServiceLine, claim: BillableClaim, payer: PayerPolicy) -> Denial | None:
    code = line.procedure_code
    if code in payer.denials.non_covered_codes:
        return NON_COVERED
    if payer.fee_for(code, line.modifiers) is None and payer.denials.deny_codes_without_fee:
        return INVALID_CODE
    if code in payer.denials.prior_auth_codes and not claim.claim.prior_authorization:
        return NO_PRIOR_AUTH
    return None


def _service(line: ServiceLine, paid: Decimal, adjustments: list[Adjustment],
             allowed: Decimal | None, remarks: list[str]) -> ServicePayment:
    return ServicePayment(
        procedure_code=line.procedure_code, modifiers=list(line.modifiers), charge=line.charge,
        paid=paid, units=line.units, service_date_from=line.service_date_from,
        service_date_to=line.service_date_to, line_control_number=line.line_control_number,
        allowed_amount=allowed, adjustments=[a for a in adjustments if a.amount != ZERO],
        remark_codes=remarks)


def _denied_line(line: ServiceLine, denial: Denial) -> ServicePayment:
    return _service(line, ZERO, [Adjustment(group=denial.group, reason_code=denial.carc,
                                            amount=line.charge)],
                    None, [denial.rarc] if denial.rarc else [])


def adjudicate(claim: BillableClaim, *, payer: PayerPolicy, benefits: Benefits | None,
               accumulators: Accumulators, received: date, payer_claim_number: str,
               prior_fingerprints: Collection[str] = (), coverage_active: bool = True,
               ) -> AdjudicationResult:
    """Adjudicate one claim.

    :param benefits: the member's plan benefits; ``None`` when the member is unknown (CO-31).
    :param accumulators: deductible and out-of-pocket met so far this year.
    :param received: the date the payer received the claim (timely filing).
    :param payer_claim_number: the payer's claim control number (CLP07).
    :param prior_fingerprints: :func:`fingerprint` of claims already adjudicated (CO-18).
    :param coverage_active: whether the member's plan covers the date of service (CO-27).
    :returns: the payment (balanced), the updated accumulators and the claim's fingerprint.
    """
    c = claim.claim
    print_ = fingerprint(claim)
    denial = _claim_level_denial(claim, payer, benefits, coverage_active, received,
                                 prior_fingerprints, print_)
    deductible_met = accumulators.deductible_met
    oop_met = accumulators.out_of_pocket_met
    services: list[ServicePayment] = []
    copay_taken = False
    for line in sorted(c.lines, key=lambda item: item.line_number):
        line_denial = denial or _line_denial(line, claim, payer)
        if line_denial is not None:
            services.append(_denied_line(line, line_denial))
            continue
        assert benefits is not None
        fee = payer.fee_for(line.procedure_code, line.modifiers)
        allowed = line.charge if fee is None else min(_round(fee * line.units), line.charge)
        contractual = line.charge - allowed
        oop_left = (None if benefits.out_of_pocket_max is None
                    else max(ZERO, benefits.out_of_pocket_max - oop_met))
        copay = deductible = coinsurance = ZERO
        pos = line.place_of_service or c.place_of_service
        copay_amount = benefits.copays.get(pos)
        if copay_amount and not copay_taken:
            copay = min(copay_amount, allowed)
            copay_taken = True
        if not (copay and benefits.copay_waives_deductible):
            left = allowed - copay
            deductible = min(max(ZERO, benefits.deductible - deductible_met), left)
            coinsurance = _round((left - deductible) * benefits.coinsurance)
        if oop_left is not None:
            excess = copay + deductible + coinsurance - oop_left
            for name in ("coinsurance", "copay", "deductible"):
                if excess <= ZERO:
                    break
                value = {"coinsurance": coinsurance, "copay": copay,
                         "deductible": deductible}[name]
                cut = min(value, excess)
                excess -= cut
                if name == "coinsurance":
                    coinsurance -= cut
                elif name == "copay":
                    copay -= cut
                else:
                    deductible -= cut
        deductible_met += deductible
        oop_met += copay + deductible + coinsurance
        paid = allowed - copay - deductible - coinsurance
        services.append(_service(line, paid, [
            Adjustment(group=CO, reason_code="45", amount=contractual),
            Adjustment(group=PR, reason_code="1", amount=deductible),
            Adjustment(group=PR, reason_code="2", amount=coinsurance),
            Adjustment(group=PR, reason_code="3", amount=copay),
        ], allowed, []))
    paid_total = total(s.paid for s in services)
    patient_total = total(a.amount for s in services for a in s.adjustments if a.group is PR)
    if paid_total == ZERO and patient_total == ZERO:
        status = ClaimStatusCode.DENIED
    else:
        order = claim.coverage.order if claim.coverage else CoverageOrder.PRIMARY
        status = {CoverageOrder.PRIMARY: ClaimStatusCode.PRIMARY,
                  CoverageOrder.SECONDARY: ClaimStatusCode.SECONDARY,
                  CoverageOrder.TERTIARY: ClaimStatusCode.TERTIARY}[order]
    filing = claim.payer.claim_filing_indicator if claim.payer else "CI"
    patient = claim.patient
    payment = ClaimPayment(
        claim_number=c.claim_number, status=status, charge=c.total_charge, paid=paid_total,
        patient_responsibility=patient_total, filing_indicator=_FILING.get(filing, "12"),
        payer_claim_number=payer_claim_number, facility_type=c.place_of_service,
        frequency=c.frequency.value, patient_last_name=patient.last_name,
        patient_first_name=patient.first_name,
        member_id=claim.coverage.member_id if claim.coverage else None,
        service_date_from=c.service_date_from, service_date_to=c.service_date_to,
        received_date=received, services=services)
    return AdjudicationResult(payment, Accumulators(deductible_met, oop_met), print_, denial)


def reverse(payment: ClaimPayment, accumulators: Accumulators) -> tuple[ClaimPayment,
                                                                        Accumulators]:
    """The reversal (CLP02 = 22) of an earlier payment, and the accumulators with its patient
    responsibility taken back. Every amount is negated, so the reversal balances too."""
    def negate(items: list[Adjustment]) -> list[Adjustment]:
        return [a.model_copy(update={"amount": -a.amount}) for a in items]

    services = [s.model_copy(update={
        "charge": -s.charge, "paid": -s.paid, "adjustments": negate(s.adjustments),
        "allowed_amount": -s.allowed_amount if s.allowed_amount is not None else None,
        "remark_codes": []}) for s in payment.services]
    reversal = payment.model_copy(update={
        "status": ClaimStatusCode.REVERSAL, "charge": -payment.charge, "paid": -payment.paid,
        "patient_responsibility": (-payment.patient_responsibility
                                   if payment.patient_responsibility is not None else None),
        "adjustments": negate(payment.adjustments), "services": services,
        "remark_codes": []})
    deductible = total(a.amount for a in payment.all_adjustments
                       if a.group is PR and a.reason_code == "1")
    patient = total(a.amount for a in payment.all_adjustments
                    if a.group is PR and a.reason_code in ("1", "2", "3"))
    return reversal, Accumulators(max(ZERO, accumulators.deductible_met - deductible),
                                  max(ZERO, accumulators.out_of_pocket_met - patient))

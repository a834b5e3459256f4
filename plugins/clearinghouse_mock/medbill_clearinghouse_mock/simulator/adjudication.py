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

Institutional claims (837I) are priced by :mod:`.institutional` (an inpatient stay by its DRG
rate, other lines by fee or a percent of charges, never denied for lacking a fee) and their
payment carries the facility type, DRG, MIA or MOA and revenue codes it describes; the
member's cost share is taken as above.

Coordination of benefits: a claim that carries prior payers' adjudications (an 837P with
2320/2330 loops, ``BillableClaim.prior_adjudications``, and 2430 loops under the lines when a
prior payer adjudicated line by line) is adjudicated as a secondary (or tertiary) claim by
:func:`_coordinate`, a simplified "standard COB":

a. what the prior payers settled = their paid amounts + their non-PR adjustments (CO, CR, OA,
   PI; not ``OA-23``, which is an earlier payer's settlement passed on by a later one), claim
   (2320 CAS) and line level (2430 CAS) alike, summed over every prior adjudication (a reversal
   and its re-adjudication net out) and kept within 0..charge; what is left open = the patient
   responsibility of the last prior payer (the highest COB order): its claim-level PR plus, per
   line it adjudicated, the 2430 AMT*EAF remaining patient liability (its line PR when there is
   none), never more than charge - settled. Only the open amount is this payer's business;
b. the open amount is spread over the lines: first in proportion to the last prior payer's
   line patient responsibility (each line within 0..its charge) when it adjudicated lines, so a
   line gets what that payer left open on it; what remains (all of it when that payer
   adjudicated at claim level only) in proportion to what is left of each line's charge
   (cumulative rounding: the shares add up to the claim's open amount exactly); the rest of each
   line is reported as ``OA-23`` (impact of prior payer(s) adjudication);
c. on each line's open share this payer applies its own rules: the claim-level and line
   denials above (the denial covers the open share only), and otherwise its member cost share
   exactly as in steps 4-5, with the open share in place of the fee schedule allowed amount
   (the fee schedule only decides coverage): the copay PR-3 once per claim on the first covered
   line with something open, the deductible still unmet PR-1, coinsurance PR-2, the
   out-of-pocket cap. It pays the rest of the open share (Medigap style: it picks up the prior
   payers' patient responsibility except the member's own cost share under this plan);
d. ``CLP02`` is 2 (3 for a tertiary coverage); 4 only when this payer denied the claim, or
   denied every line that had something open. Every line balances:
   charge = paid + OA-23 + PR (+ a denial), and so does the claim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from medbill_clearinghouse_mock.simulator import institutional
from medbill_clearinghouse_mock.simulator.config import Benefits, PayerPolicy
from medbill_core.api import (
    CENT,
    ZERO,
    Adjustment,
    AdjustmentGroup,
    BillableClaim,
    ClaimPayment,
    ClaimStatusCode,
    CoverageOrder,
    ServiceLine,
    ServicePayment,
    total,
)

CO = AdjustmentGroup.CONTRACTUAL
OA = AdjustmentGroup.OTHER
PR = AdjustmentGroup.PATIENT_RESPONSIBILITY
#: CARC 23: the impact of prior payer(s) adjudication including payments and/or adjustments.
PRIOR_PAYER_IMPACT = "23"


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
        parts.append("|".join([line.billed_code, ",".join(line.modifiers), str(line.units),
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
    code = line.billed_code
    if code in payer.denials.non_covered_codes:
        return NON_COVERED
    if (payer.fee_for(code, line.modifiers) is None and payer.denials.deny_codes_without_fee
            and not institutional.is_institutional(claim)):  # they are priced without one
        return INVALID_CODE
    if code in payer.denials.prior_auth_codes and not claim.claim.prior_authorization:
        return NO_PRIOR_AUTH
    return None


def _service(line: ServiceLine, paid: Decimal, adjustments: list[Adjustment],
             allowed: Decimal | None, remarks: list[str]) -> ServicePayment:
    codes = (institutional.service_codes(line) if line.revenue_code is not None
             else {"procedure_code": line.billed_code})
    return ServicePayment(
        **codes, modifiers=list(line.modifiers), charge=line.charge,
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
    share = _Share(accumulators.deductible_met, accumulators.out_of_pocket_met)
    if claim.prior_adjudications:
        services = _coordinate(claim, payer, benefits, denial, share)
    else:
        services = _priced(claim, payer, benefits, denial, share)
    paid_total = total(s.paid for s in services)
    patient_total = total(a.amount for s in services for a in s.adjustments if a.group is PR)
    if _is_denial(claim, services, denial, paid_total, patient_total):
        status = ClaimStatusCode.DENIED
    else:
        order = claim.coverage.order if claim.coverage else CoverageOrder.PRIMARY
        if claim.prior_adjudications and order is CoverageOrder.PRIMARY:
            order = CoverageOrder.SECONDARY  # prior payers: this payer is not the first
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
    if institutional.is_institutional(claim):
        payment = payment.model_copy(update=institutional.payment_fields(claim, payer, services))
    return AdjudicationResult(payment, Accumulators(share.deductible_met, share.oop_met),
                              print_, denial)


def _priced(claim: BillableClaim, payer: PayerPolicy, benefits: Benefits | None,
            denial: Denial | None, share: _Share) -> list[ServicePayment]:
    """The lines of a claim without prior payers (steps 1-5 of the module docstring); an
    institutional claim's allowed amounts are :func:`.institutional.allowed_amounts`."""
    c = claim.claim
    lines = sorted(c.lines, key=lambda item: item.line_number)
    denials = [denial or _line_denial(line, claim, payer) for line in lines]
    covered = [line for line, line_denial in zip(lines, denials, strict=True)
               if line_denial is None]
    allowed_by_line: dict[int, Decimal] = {}
    if institutional.is_institutional(claim):
        allowed_by_line = dict(zip((line.line_number for line in covered),
                                   institutional.allowed_amounts(claim, payer, covered),
                                   strict=True))
    services = []
    for line, line_denial in zip(lines, denials, strict=True):
        if line_denial is not None:
            services.append(_denied_line(line, line_denial))
            continue
        assert benefits is not None
        allowed = allowed_by_line.get(line.line_number)
        if allowed is None:
            fee = payer.fee_for(line.billed_code, line.modifiers)
            allowed = line.charge if fee is None else min(_round(fee * line.units), line.charge)
        copay, deductible, coinsurance = share.take(
            allowed, line.place_of_service or c.place_of_service, benefits)
        services.append(_service(line, allowed - copay - deductible - coinsurance, [
            Adjustment(group=CO, reason_code="45", amount=line.charge - allowed),
            *_patient_adjustments(copay, deductible, coinsurance),
        ], allowed, []))
    return services


def _is_denial(claim: BillableClaim, services: list[ServicePayment], denial: Denial | None,
               paid: Decimal, patient: Decimal) -> bool:
    """CLP02 = 4: nothing paid and nothing left to the patient. For a claim after other payers,
    only when this payer denied it (or every line with something open): a claim the prior payers
    settled in full is processed as secondary with nothing to pay."""
    if paid != ZERO or patient != ZERO:
        return False
    if not claim.prior_adjudications:
        return True
    return denial is not None or any(a.amount != ZERO for s in services for a in s.adjustments
                                     if not (a.group is OA
                                             and a.reason_code == PRIOR_PAYER_IMPACT))


def _patient_adjustments(copay: Decimal, deductible: Decimal,
                         coinsurance: Decimal) -> list[Adjustment]:
    return [Adjustment(group=PR, reason_code="1", amount=deductible),
            Adjustment(group=PR, reason_code="2", amount=coinsurance),
            Adjustment(group=PR, reason_code="3", amount=copay)]


@dataclass(slots=True)
class _Share:
    """The member's cost share as it builds up over a claim's lines."""

    deductible_met: Decimal
    oop_met: Decimal
    copay_taken: bool = False

    def take(self, allowed: Decimal, pos: str | None,
             benefits: Benefits) -> tuple[Decimal, Decimal, Decimal]:
        """Copay, deductible and coinsurance on ``allowed`` (steps 4 of the module docstring),
        recorded in the accumulators."""
        oop_left = (None if benefits.out_of_pocket_max is None
                    else max(ZERO, benefits.out_of_pocket_max - self.oop_met))
        copay = deductible = coinsurance = ZERO
        copay_amount = benefits.copays.get(pos) if pos else None
        if copay_amount and not self.copay_taken:
            copay = min(copay_amount, allowed)
            self.copay_taken = True
        if not (copay and benefits.copay_waives_deductible):
            left = allowed - copay
            deductible = min(max(ZERO, benefits.deductible - self.deductible_met), left)
            coinsurance = _round((left - deductible) * benefits.coinsurance)
        if oop_left is not None:
            excess = copay + deductible + coinsurance - oop_left
            cut = min(coinsurance, max(ZERO, excess))
            coinsurance -= cut
            excess -= cut
            cut = min(copay, max(ZERO, excess))
            copay -= cut
            excess -= cut
            deductible -= min(deductible, max(ZERO, excess))
        self.deductible_met += deductible
        self.oop_met += copay + deductible + coinsurance
        return copay, deductible, coinsurance


@dataclass(frozen=True, slots=True)
class PriorPayerTotals:
    """What the prior payers did with the whole claim (their adjudications summed, so a reversal
    and its re-adjudication net out)."""

    #: What every prior payer paid.
    paid: Decimal
    #: Their CO, CR, OA and PI adjustments (settled without the patient), except ``OA-23``:
    #: that is an earlier payer's settlement passed on by a later one, counted once already.
    adjusted: Decimal
    #: The patient responsibility the last prior payer (highest COB order) left: what is still
    #: open (its claim-level PR and its lines' remaining patient liability).
    patient: Decimal
    #: That payer's remaining patient liability per line number (2430 AMT*EAF, else the line's
    #: PR), for the lines it adjudicated; empty when it adjudicated at claim level only.
    line_patient: dict[int, Decimal] = field(default_factory=dict)

    @classmethod
    def of(cls, claim: BillableClaim) -> PriorPayerTotals:
        priors = claim.prior_adjudications
        pr, oa = PR.value, OA.value
        last = None
        if priors:
            ranked = [(p.coverage.order.rank, index) for index, p in enumerate(priors)]
            last = priors[max(ranked)[1]].payer.payer_id
        line_patient: dict[int, Decimal] = {}
        for prior in priors:
            if prior.payer.payer_id == last:
                for line in prior.line_adjudications:
                    line_patient[line.line_number] = (line_patient.get(line.line_number, ZERO)
                                                      + line.patient_responsibility)
        return cls(
            paid=total(p.paid_amount for p in priors),
            adjusted=total(a.amount for p in priors for a in p.all_adjustments
                           if a.group_code != pr
                           and not (a.group_code == oa and a.reason_code == PRIOR_PAYER_IMPACT)),
            patient=total(a.amount for p in priors if p.payer.payer_id == last
                          for a in p.claim_adjustments if a.group_code == pr)
            + total(line_patient.values()),
            line_patient=line_patient)

    def open_amount(self, charge: Decimal) -> Decimal:
        """The part of ``charge`` the prior payers left open: the last one's PR, within
        0..charge - settled (settled = paid + adjusted, kept within 0..charge)."""
        settled = min(max(ZERO, self.paid + self.adjusted), charge)
        return min(max(ZERO, self.patient), charge - settled)


def spread(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``amount`` (0..sum of weights) in proportion to ``weights`` (cent amounts >= 0) by
    cumulative rounding: every share is within 0..its weight and the shares add up to
    ``amount`` exactly."""
    whole = total(weights)
    if whole <= ZERO:
        return [ZERO for _ in weights]
    shares: list[Decimal] = []
    running = ZERO
    previous = ZERO
    for weight in weights:
        running += weight
        reached = _round(amount * running / whole)
        shares.append(reached - previous)
        previous = reached
    return shares


def open_shares(claim: BillableClaim, lines: list[ServiceLine]) -> list[Decimal]:
    """What the prior payers left open on each line (step b of the module docstring)."""
    totals = PriorPayerTotals.of(claim)
    open_amount = totals.open_amount(claim.claim.total_charge)
    weights = [min(max(ZERO, totals.line_patient.get(line.line_number, ZERO)), line.charge)
               for line in lines]
    first = spread(min(open_amount, total(weights)), weights)
    rest = spread(open_amount - total(first),
                  [line.charge - share for line, share in zip(lines, first, strict=True)])
    return [a + b for a, b in zip(first, rest, strict=True)]


def _coordinate(claim: BillableClaim, payer: PayerPolicy, benefits: Benefits | None,
                denial: Denial | None, share: _Share) -> list[ServicePayment]:
    """The lines of a claim after other payers (steps a-d of the module docstring)."""
    c = claim.claim
    lines = sorted(c.lines, key=lambda item: item.line_number)
    opened = open_shares(claim, lines)
    services: list[ServicePayment] = []
    for line, open_share in zip(lines, opened, strict=True):
        prior = Adjustment(group=OA, reason_code=PRIOR_PAYER_IMPACT,
                           amount=line.charge - open_share)
        line_denial = denial or _line_denial(line, claim, payer)
        if line_denial is not None:
            services.append(_service(line, ZERO, [
                prior, Adjustment(group=line_denial.group, reason_code=line_denial.carc,
                                  amount=open_share)],
                None, [line_denial.rarc] if line_denial.rarc and open_share else []))
            continue
        assert benefits is not None
        copay = deductible = coinsurance = ZERO
        if open_share > ZERO:
            copay, deductible, coinsurance = share.take(
                open_share, line.place_of_service or c.place_of_service, benefits)
        services.append(_service(line, open_share - copay - deductible - coinsurance, [
            prior, *_patient_adjustments(copay, deductible, coinsurance)], open_share, []))
    return services


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

"""How the simulator prices institutional (837I) claims, for :mod:`.adjudication`.

* An **inpatient** stay (bill classification 1 or 2) with a DRG the payer has a rate for is
  allowed that rate for the whole stay (never more than the charges), spread over the covered
  lines in proportion to their charges (cumulative rounding: the shares add up to the rate).
  Its 835 CLP carries the DRG (CLP11) and an MIA: covered days (the statement period's nights,
  at least one) and the DRG amount.
* Every other institutional line is allowed its fee schedule amount when it has a HCPCS the
  payer prices, else :attr:`~.config.PayerPolicy.percent_of_charges` of its charge; an
  outpatient claim's 835 has an MOA with the HCPCS payable amount.
* CLP08 is the facility type code (two digits of the type of bill); a line without a HCPCS is
  paid under its revenue code (SVC01 ``NU:0120``), one with a HCPCS names its revenue code in
  SVC04.

Institutional lines are never denied for lacking a fee schedule entry (room and board has no
HCPCS); the other line denials (non-covered, prior authorization) apply to their billed code.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from medbill_clearinghouse_mock.simulator.config import PayerPolicy
from medbill_core.api import (
    CENT,
    ZERO,
    BillableClaim,
    ClaimKind,
    InpatientAdjudication,
    OutpatientAdjudication,
    ServiceLine,
    ServicePayment,
    total,
)


def is_institutional(claim: BillableClaim) -> bool:
    return claim.claim.kind is ClaimKind.INSTITUTIONAL and claim.claim.institutional is not None


def drg_rate(claim: BillableClaim, payer: PayerPolicy) -> Decimal | None:
    """The payer's rate for the claim's DRG when it is an inpatient stay priced by DRG."""
    details = claim.claim.institutional
    if details is None or not details.is_inpatient or details.drg is None:
        return None
    return payer.drg_rates.get(details.drg)


def allowed_amounts(claim: BillableClaim, payer: PayerPolicy,
                    lines: list[ServiceLine]) -> list[Decimal]:
    """The allowed amount of each of ``lines`` (the covered lines, in order)."""
    rate = drg_rate(claim, payer)
    if rate is not None:
        # adjudication imports this module: its helper is taken when first needed
        from medbill_clearinghouse_mock.simulator.adjudication import spread

        return spread(min(rate, total(line.charge for line in lines)),
                      [line.charge for line in lines])
    allowed = []
    for line in lines:
        fee = payer.fee_for(line.procedure_code, line.modifiers) if line.procedure_code else None
        amount = fee * line.units if fee is not None else line.charge * payer.percent_of_charges
        allowed.append(min(amount.quantize(CENT, rounding=ROUND_HALF_UP), line.charge))
    return allowed


def service_codes(line: ServiceLine) -> dict[str, Any]:
    """SVC01 qualifier and code and SVC04 of an institutional line."""
    if line.procedure_code is None:
        return {"procedure_qualifier": "NU", "procedure_code": line.revenue_code}
    return {"procedure_qualifier": "HC", "procedure_code": line.procedure_code,
            "revenue_code": line.revenue_code}


def payment_fields(claim: BillableClaim, payer: PayerPolicy,
                   services: list[ServicePayment]) -> dict[str, Any]:
    """The institutional fields of the claim's ClaimPayment: facility type (CLP08), DRG
    (CLP11), MIA or MOA."""
    details = claim.claim.institutional
    assert details is not None
    c = claim.claim
    fields: dict[str, Any] = {"facility_type": details.facility_type_code}
    if details.is_inpatient:
        rate = drg_rate(claim, payer)
        allowed = total(s.allowed_amount or ZERO for s in services)
        fields["drg_code"] = details.drg
        fields["inpatient"] = InpatientAdjudication(
            covered_days=Decimal(max(1, (c.service_date_to - c.service_date_from).days)),
            drg_amount=allowed if rate is not None else None)
    else:
        payable = total(s.paid for s in services if s.procedure_qualifier == "HC")
        fields["outpatient"] = OutpatientAdjudication(hcpcs_payable_amount=payable)
    return fields


__all__ = ["allowed_amounts", "is_institutional", "payment_fields", "service_codes"]

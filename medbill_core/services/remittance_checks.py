"""Whether an 835 claim payment can be believed before it is posted.

A claim payment is posted only when it adds up and its amounts are plausible for the claim;
otherwise it goes to the remittance exceptions (a work list, ``medbill remit show``) and
nothing of it reaches a patient account:

* the claim balances: CLP03 charge - CLP04 paid = every adjustment (claim and line CAS);
* each service line balances: SVC02 charge - SVC03 paid = its adjustments;
* no amount is beyond :data:`AMOUNT_CEILING`, and neither CLP03, the payment nor any
  adjustment is larger than what the claim billed (its lines' charges): a payer cannot pay,
  adjust or move to the patient more than was charged.

Amounts of a reversal (CLP02 = 22) are compared by their size: X221A1 negates them.
Messages name amounts and positions only, never patient data.
"""

from __future__ import annotations

from decimal import Decimal

from medbill_core.domain import Claim, ClaimPayment
from medbill_core.money import total

#: no single amount of one claim payment is believed beyond this (ten million dollars): a
#: typo or a hostile file, never a posting
AMOUNT_CEILING = Decimal("10000000.00")


def unposted_reason(payment: ClaimPayment, claim: Claim) -> str | None:
    """Why ``payment`` must not be posted to ``claim`` (one line for the exceptions list),
    or ``None`` when it balances and its amounts are plausible."""
    amounts = [payment.charge, payment.paid, *(a.amount for a in payment.all_adjustments)]
    for service in payment.services:
        amounts += [service.charge, service.paid]
    if any(abs(amount) >= AMOUNT_CEILING for amount in amounts):
        return f"an amount of {AMOUNT_CEILING:,} or more: not believable, not posted"
    adjusted = total(a.amount for a in payment.all_adjustments)
    if payment.charge - payment.paid != adjusted:
        return (f"does not balance: charge {payment.charge} - paid {payment.paid} = "
                f"{payment.charge - payment.paid}, adjustments {adjusted}")
    for number, service in enumerate(payment.services, start=1):
        line_adjusted = total(a.amount for a in service.adjustments)
        if service.charge - service.paid != line_adjusted:
            return (f"service line {number} does not balance: charge {service.charge} - paid "
                    f"{service.paid} = {service.charge - service.paid}, adjustments "
                    f"{line_adjusted}")
    billed = claim.total_charge
    if abs(payment.charge) > billed:
        return f"charge {payment.charge} is more than the {billed} billed"
    if abs(payment.paid) > billed:
        return f"paid {payment.paid} is more than the {billed} billed"
    largest = max((abs(a.amount) for a in payment.all_adjustments), default=Decimal(0))
    if largest > billed:
        return f"an adjustment of {largest} is more than the {billed} billed"
    return None

"""Price services from a contracted fee schedule the plugin ships."""

from decimal import Decimal

from medbill_core.api import hookimpl

CONTRACT = {("acme", "99213"): Decimal("92.50"), ("acme", "99214"): Decimal("131.00")}


@hookimpl
def medbill_expected_allowed(payer, procedure_code, modifiers, place_of_service,
                             service_date, context):
    allowed = CONTRACT.get((payer.key, procedure_code))
    if allowed is None or "26" in modifiers:
        return None  # unknown here: let the next implementation (or nobody) answer
    return allowed  # a Decimal: money is never float

"""Hold large patient refunds for review: a payment that would refund more than 500.00 is
refused inside its transaction (raising rolls the payment back), naming the payment only."""

from decimal import Decimal

from medbill_core.api import ValidationFailed, hookimpl


@hookimpl
def medbill_billing_event_precommit(event_type, data, context):
    if event_type == "payment.posted" and Decimal(data["refunded"]) > Decimal("500.00"):
        raise ValidationFailed(f"payment {data['payment_id']}",
                               [("overpayment", "refunds over 500.00 need a manager")])

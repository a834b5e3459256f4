"""Register a card payment gateway; a practice using it names it in ``medbill.toml``
(``[medbill] payment_gateway = "acmepay"``)."""

from medbill_core.api import (
    GatewayCapability,
    GatewayPayment,
    GatewayPaymentStatus,
    PaymentGateway,
    PaymentRequest,
    hookimpl,
)


class AcmePay(PaymentGateway):
    identifier = "acmepay"
    verbose_name = "AcmePay cards"
    capabilities = frozenset({GatewayCapability.WEBHOOKS})

    def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        # the amount crosses in the gateway's minor units, converted in one place
        cents = self.to_minor_units(request.amount)
        intent_id = f"acme_{request.idempotency_key}_{cents}"  # the gateway's answer
        return GatewayPayment(intent_id=intent_id, status=GatewayPaymentStatus.PENDING,
                              amount=self.from_minor_units(cents))


@hookimpl
def medbill_register_payment_gateways(context):
    return [AcmePay()]

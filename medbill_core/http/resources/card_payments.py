"""Card payments through the practice's payment gateway, and the gateways' webhooks.

* ``POST /v1/card-payments``: create a payment intent at the gateway for a patient's (or a
  guarantor's family's) balance or part of it; answers the card payment and the gateway's
  ``client_secret`` for the payer's browser (a pay page confirms the card with the gateway);
* ``GET /v1/card-payments/{id}``; ``POST /v1/card-payments/{id}/confirm``: read the payment
  back from the gateway (the browser returned) and post it if it succeeded;
* ``POST /v1/card-payments/{id}/refunds``: refund (part of) it through the gateway;
* ``POST /v1/payment-gateways/{identifier}/webhooks``: the gateway's signed events. No API
  key: the gateway's signature is the authentication (a bad one is a 400 problem, nothing
  done); a repeated event answers 200 and changes nothing.

Every rule is the card payments service's; amounts are decimal text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.errors import AdapterNotAvailable, NotFound
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.money import Money
from medbill_core.permissions import Action
from medbill_core.services.card_payments import (
    MAX_CARD_AMOUNT,
    CardPaymentView,
    confirm_card_payment,
    get_card_payment,
    handle_webhook,
    refund_card_payment,
    start_card_payment,
)
from medbill_core.services.payments import Overpayment

router = APIRouter(tags=["card payments"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such card payment"}}
GATEWAY_FAILED: dict[int | str, dict[str, Any]] = {
    502: PROBLEM_RESPONSES[500] | {"description": "The payment gateway is unreachable or "
                                                  "refused (nothing recorded)"}}


class CardRefundOut(BaseModel):
    id: int
    amount: str
    status: str = Field(description="pending (the gateway will confirm), succeeded, failed")
    gateway_refund_id: str
    failure_reason: str | None


class CardPaymentOut(BaseModel):
    """A card payment (the card's brand and last four digits at most; never its number)."""

    id: int
    reference: str = Field(description="our reference, sent to the gateway as metadata")
    patient_id: int
    guarantor_id: int | None
    claim_id: int | None
    amount: str
    gateway: str
    gateway_payment_id: str
    status: str = Field(description="created, processing, succeeded, failed, refunded, "
                                    "partially_refunded")
    decline_code: str | None
    decline_message: str | None
    card_brand: str | None
    card_last4: str | None
    payment_id: int | None = Field(description="the ledger's payment, once confirmed")
    refunded: str
    created_at: str
    succeeded_at: str | None
    refunds: list[CardRefundOut]

    @classmethod
    def of(cls, view: CardPaymentView) -> CardPaymentOut:
        return cls.model_validate(view.as_json())


class StartedCardPaymentOut(CardPaymentOut):
    client_secret: str | None = Field(description=(
        "for the payer's browser to confirm the card with the gateway; never log it"))


class NewCardPayment(RequestBody):
    """A card payment for a patient's balance, or a guarantor's family's (one of them)."""

    patient_id: StoredId | None = None
    guarantor_id: StoredId | None = None
    amount: Money | None = Field(default=None, gt=0, le=MAX_CARD_AMOUNT, description=(
        "e.g. \"25.00\"; default: all that is owed"))
    claim_id: StoredId | None = Field(default=None, description="pay this claim only")
    overpayment: Overpayment | None = Field(default=None, description=(
        "what becomes of money beyond the balance (without it, more than the balance is "
        "refused)"))


class NewCardRefund(RequestBody):
    amount: Money | None = Field(default=None, gt=0, le=MAX_CARD_AMOUNT, description=(
        "default: all not refunded yet"))
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")


class WebhookAnswer(BaseModel):
    received: bool
    outcome: str = Field(description="posted, recorded, unchanged (a repeated event) or "
                                     "ignored (nothing of ours)")


@router.post("/v1/card-payments", status_code=201, response_model=StartedCardPaymentOut,
             summary="Create a card payment", responses=NOT_FOUND | GATEWAY_FAILED)
def create_card_payment(
        request: Request, body: NewCardPayment,
        principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_POST))],
        idempotency: IdempotencyParam) -> Response:
    """Create the payment at the practice's gateway (201); it posts to the ledger when the
    gateway confirms it (its webhook, or ``/confirm``)."""
    body = validated(NewCardPayment, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        started = start_card_payment(
            work, patient_id=body.patient_id, guarantor_id=body.guarantor_id,
            amount=Decimal(body.amount) if body.amount is not None else None,
            claim_id=body.claim_id, overpayment=body.overpayment)
        out = StartedCardPaymentOut(**CardPaymentOut.of(started.payment).model_dump(),
                                    client_secret=started.client_secret)
        return idempotency.respond(work, 201, out.model_dump(mode="json"),
                                   {"Location": f"/v1/card-payments/{started.payment.id}"})


@router.get("/v1/card-payments/{card_payment_id}", response_model=CardPaymentOut,
            summary="Read a card payment", responses=NOT_FOUND)
def read_card_payment(request: Request, card_payment_id: RowId,
                      principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_READ))]
                      ) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        view = get_card_payment(work, card_payment_id)
    return model_response(CardPaymentOut.of(view))


@router.post("/v1/card-payments/{card_payment_id}/confirm", response_model=CardPaymentOut,
             summary="Confirm a card payment with the gateway",
             responses=NOT_FOUND | GATEWAY_FAILED)
def confirm(request: Request, card_payment_id: RowId,
            principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_POST))],
            idempotency: IdempotencyParam) -> Response:
    """Read the payment back from the gateway (the payer's browser returned) and post it if
    it succeeded and its webhook has not (posting happens once either way)."""
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        view = confirm_card_payment(work, card_payment_id)
        return idempotency.respond(work, 200, CardPaymentOut.of(view).model_dump(mode="json"))


@router.post("/v1/card-payments/{card_payment_id}/refunds", status_code=201,
             response_model=CardPaymentOut, summary="Refund a card payment",
             responses=NOT_FOUND | GATEWAY_FAILED)
def refund(request: Request, card_payment_id: RowId, body: NewCardRefund,
           principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_REFUND))],
           idempotency: IdempotencyParam) -> Response:
    """Refund through the gateway (201); the ledger refund posts when the gateway confirms
    it (at once, or by its webhook: the refund shows ``pending`` until then)."""
    body = validated(NewCardRefund, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        view = refund_card_payment(work, card_payment_id, body.reason,
                                   amount=Decimal(body.amount) if body.amount else None)
        return idempotency.respond(work, 201, CardPaymentOut.of(view).model_dump(mode="json"))


GatewayIdentifier = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,40}$",
                                        description="the gateway's identifier (mock)")]


@router.post("/v1/payment-gateways/{identifier}/webhooks", response_model=WebhookAnswer,
             summary="Receive a payment gateway's webhook",
             responses={400: PROBLEM_RESPONSES[500] | {
                 "description": "The signature or its timestamp does not verify"},
                 404: PROBLEM_RESPONSES[500] | {
                 "description": "No enabled plugin provides this payment gateway"}})
async def receive_webhook(request: Request, identifier: GatewayIdentifier) -> Response:
    """A gateway's signed event (no API key: the signature is the authentication; listed in
    the route table's public routes). The raw body is verified before anything in it is
    read."""
    medbill = api_state(request).medbill
    if identifier not in medbill.hooks.context.payment_gateways:
        raise NotFound("payment gateway", identifier)
    body = await request.body()
    try:
        applied = await _in_thread(handle_webhook, medbill, identifier, body,
                                   dict(request.headers))
    except AdapterNotAvailable:
        raise NotFound("payment gateway", identifier) from None
    return model_response(WebhookAnswer(
        received=True, outcome=applied.value if applied is not None else "ignored"))


async def _in_thread(function: Any, *args: Any) -> Any:
    """The database work of a webhook off the event loop (it may wait on a row lock)."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)

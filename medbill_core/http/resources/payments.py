"""Patient payments: ``GET /v1/payments`` (keyset pages, filtered), ``GET /v1/payments/{id}``
(with what it applied to each claim), ``POST /v1/payments`` (record a patient payment, as
``medbill payments record --patient`` does) and ``POST /v1/payments/{id}/refunds`` (give back
part of the credit it left, as ``medbill payments refund``). Every rule is the payments
service's; amounts are decimal text."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.domain.identity import Principal
from medbill_core.errors import LedgerError
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    IsoDate,
    Limit,
    decode_cursor,
    paged,
)
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.money import MAX_AMOUNT, Amount
from medbill_core.permissions import Action
from medbill_core.services.api_records import record_shown
from medbill_core.services.payments import (
    DuplicatePayment,
    Overpaid,
    Overpayment,
    PaymentStatus,
    PaymentSummary,
    get_payment,
    payment_applications,
    payments_after,
    record_payment,
    refund_credit,
)

router = APIRouter(prefix="/v1/payments", tags=["payments"], responses=PROBLEM_RESPONSES)
LISTING = "payments"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such payment"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: PROBLEM_RESPONSES[500] | {
        "description": "A ledger rule refused it (ledger-rule: more than is owed without an "
                       "overpayment decision; duplicate-payment: the same payment is posted "
                       "already), or a request with this Idempotency-Key is still in "
                       "progress"}}


class PaymentOut(BaseModel):
    """A payment as received and what became of it (amounts as decimal text)."""

    id: int
    patient_id: int
    account_number: str
    guarantor: str | None = Field(description="a family's payment: the guarantor's number")
    amount: str
    fee: str | None = Field(default=None, description="what an intermediary kept of it (a "
                            "financing lender's merchant fee); null: nothing")
    net: str = Field(description="what the practice received: the amount less the fee")
    method: PaymentMethodKind
    reference: str | None
    received_on: date
    applied: str = Field(description="on the patient's claims (0.00 once reversed)")
    credit: str = Field(description="still a credit on the account")
    refunded: str
    status: PaymentStatus
    reversed_on: date | None
    returned_fee: str | None

    @classmethod
    def of(cls, summary: PaymentSummary) -> PaymentOut:
        return cls(id=summary.id, patient_id=summary.patient_id or 0,
                   account_number=summary.account_number, guarantor=summary.guarantor,
                   amount=str(summary.amount),
                   fee=None if summary.fee is None else str(summary.fee),
                   net=str(summary.net), method=PaymentMethodKind(summary.method),
                   reference=summary.reference, received_on=summary.received_on,
                   applied=str(summary.applied), credit=str(summary.credit),
                   refunded=str(summary.refunded), status=summary.status,
                   reversed_on=summary.reversed_on,
                   returned_fee=None if summary.returned_fee is None
                   else str(summary.returned_fee))


class Application(BaseModel):
    claim_id: int
    amount: str


class PaymentDetail(PaymentOut):
    applications: list[Application] = Field(description="what it applied to each claim")


class PostedPayment(PaymentDetail):
    warnings: list[str] = Field(default_factory=list, description=(
        "what to look at: a payment without a reference with the same patient, amount, date "
        "and method as one posted before (recorded all the same)"))


class PaymentPage(BaseModel):
    data: list[PaymentOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on "
                                                "the last page")


class NewPayment(RequestBody):
    """A patient payment: applied to the patient's claim balances oldest service first (or
    to one claim), then to what the account owes on no claim."""

    patient_id: StoredId
    amount: Amount = Field(gt=0, le=MAX_AMOUNT, description="e.g. \"25.00\"")
    method: PaymentMethodKind = PaymentMethodKind.CASH
    reference: str | None = Field(default=None, max_length=40, description=(
        "check number, or card last four / authorization (never a full card number)"))
    received_on: date | None = Field(default=None, description="default: today")
    claim_id: StoredId | None = Field(default=None, description="apply to this claim only")
    overpayment: Overpayment | None = Field(default=None, description=(
        "what to do with money beyond the balance: keep it as a credit, or refund it "
        "(without one, a payment larger than the balance is refused)"))
    confirm_date: bool = Field(default=False, description=(
        "accept a date further ahead or back than usual (checked: "
        "received_on: not ahead of today, at most 365 days back)"))
    allow_duplicate: bool = Field(default=False, description=(
        "post it although a payment with the same patient, amount, received date, method "
        "and reference is posted and not reversed (the patient really paid twice); without "
        "it such a payment is a 409 duplicate-payment"))


class NewRefund(RequestBody):
    amount: Amount = Field(gt=0, le=MAX_AMOUNT,
                          description="what to give back, at most the credit left")
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")


class RefundOut(BaseModel):
    refund_id: int
    payment_id: int
    amount: str
    credit_left: str


def _detail(summary: PaymentSummary, applications: dict[int, Any]) -> PaymentDetail:
    return PaymentDetail(**PaymentOut.of(summary).model_dump(), applications=[
        Application(claim_id=claim_id, amount=str(amount))
        for claim_id, amount in sorted(applications.items())])


@router.get("", response_model=PaymentPage, summary="List payments")
def list_payment_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_READ))],
        patient: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                             description="Only this patient's (id)")] = None,
        received_from: Annotated[IsoDate | None, Query(
            description="Received on or after")] = None,
        received_to: Annotated[IsoDate | None, Query(
            description="Received on or before")] = None,
        method: Annotated[PaymentMethodKind | None, Query(
            description="Only payments by this method")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Payments by id, filtered."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        rows = payments_after(work, after_id=after, limit=limit + 1, patient_id=patient,
                              received_from=received_from, received_to=received_to,
                              method=method.value if method else None)
        data, next_cursor = paged(rows, limit, LISTING)
        record_shown(work, "payment", [row.id for row in data], via="api")
    return model_response(PaymentPage(data=[PaymentOut.of(row) for row in data],
                                      next_cursor=next_cursor))


@router.get("/{payment_id}", response_model=PaymentDetail, summary="Read a payment",
            responses=NOT_FOUND)
def read_payment(request: Request,
                 principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_READ))],
                 payment_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        summary = get_payment(work, payment_id)
        applications = payment_applications(work, payment_id)
        record_shown(work, "payment", [payment_id], via="api", one=True)
    return model_response(_detail(summary, applications))


@router.post("", status_code=201, response_model=PostedPayment, summary="Record a payment",
             responses=NOT_FOUND | CONFLICT)
def create_payment(request: Request, body: NewPayment,
                   principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_POST))],
                   idempotency: IdempotencyParam) -> Response:
    """Record a patient payment and apply it (201, ``Location`` names it). Sent again with
    the same ``Idempotency-Key`` and body, it answers the same without a second payment; the
    same payment sent again without it (same patient, amount, date, method and reference as
    one posted and not reversed) is a 409 ``duplicate-payment`` unless ``allow_duplicate``."""
    payment = validated(Payment, {
        **body.model_dump(exclude={"overpayment", "received_on", "confirm_date",
                                   "allow_duplicate"}),
        "received_on": body.received_on or date.today()})
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        try:
            result = record_payment(work, payment, overpayment=body.overpayment,
                                    confirmed_date=body.confirm_date,
                                    allow_duplicate=body.allow_duplicate)
        except Overpaid as exc:  # the service's text quotes the amount sent, and CLI options
            raise LedgerError(f"the payment exceeds the {exc.owed} it may pay; send "
                              "overpayment: credit (keep the rest on the account) or refund "
                              "(give it back)") from None
        except DuplicatePayment as exc:  # the service's text names the CLI option
            raise DuplicatePayment(exc.message.replace(
                "post it again with --allow-duplicate", "send allow_duplicate: true"),
                exc.payment_id) from None
        detail = _detail(get_payment(work, result.payment_id),
                         payment_applications(work, result.payment_id))
        posted = PostedPayment(**detail.model_dump(), warnings=list(result.warnings))
        return idempotency.respond(work, 201, posted.model_dump(mode="json"),
                                   {"Location": f"/v1/payments/{result.payment_id}"})


@router.post("/{payment_id}/refunds", status_code=201, response_model=RefundOut,
             summary="Refund a payment's credit", responses=NOT_FOUND | CONFLICT)
def refund_payment(request: Request, payment_id: RowId, body: NewRefund,
                   principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_REFUND))],
                   idempotency: IdempotencyParam) -> Response:
    """Give back (part of) the credit the payment left on the account (201)."""
    body = validated(NewRefund, body.model_dump())  # the input rules: no control characters
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        result = refund_credit(work, payment_id, body.amount, body.reason)
        out = RefundOut(refund_id=result.refund_id, payment_id=payment_id,
                        amount=str(result.amount), credit_left=str(result.credit_left))
        return idempotency.respond(work, 201, out.model_dump(mode="json"))

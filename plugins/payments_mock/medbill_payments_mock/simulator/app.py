"""The simulator's HTTP API (Starlette), shaped like the common card APIs.

* ``POST /v1/payment_intents`` (amount in cents, currency, description, metadata),
  ``GET /v1/payment_intents/{id}``, ``POST /v1/payment_intents/{id}/confirm``
  (``payment_method``: a test card number or token);
* ``POST /v1/refunds`` (``payment_intent``, ``amount`` in cents or all that is left),
  ``GET /v1/refunds/{id}``;
* every ``POST`` honours ``Idempotency-Key``: the same key with the same body answers the
  first answer again (``Idempotent-Replayed: true``), with another body it is a 400;
* ``GET /checkout/{id}`` and ``POST /checkout/{id}``: the hosted card page a payer's browser
  is sent to (:mod:`medbill_payments_mock.simulator.checkout`: the intent's client secret and
  a return URL in the query; test cards as the API takes them; a decline is shown on the
  page; a success or a delayed confirmation sends the browser back with a 303);
* ``/v1/test/...``: what a test or a demo drives: ``PUT /v1/test/settings`` (webhook URL,
  delay, copies, a stale timestamp or a wrong secret, pending refunds),
  ``POST /v1/test/payment_intents/{id}/settle``, ``POST /v1/test/refunds/{id}/settle``,
  ``GET /v1/test/events``, ``POST /v1/test/events/{id}/deliver``, ``GET /v1/test/deliveries``.

Every request needs ``Authorization: Bearer <secret key>``. Bodies are JSON. Nothing logged
carries card data (card numbers are never kept).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from medbill_payments_mock.simulator.checkout import checkout_routes
from medbill_payments_mock.simulator.state import (
    ApiError,
    Gateway,
    SimulatorConfig,
    public_intent,
)
from medbill_payments_mock.simulator.webhooks import WebhookSender


class Simulator:
    """The state and the webhook sender behind one app."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.gateway = Gateway(config)
        self.webhooks = WebhookSender(self.gateway)

    def configure(self, **changes: Any) -> None:
        """Change settings at run time (validated as at start)."""
        with self.gateway.lock:
            values = {**self.gateway.config.model_dump(), **changes}
            self.gateway.config = SimulatorConfig.model_validate(values)


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "invalid_request_error", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request_error", "the body must be a JSON object")
    return body


def create_app(config: SimulatorConfig) -> Starlette:
    simulator = Simulator(config)

    def authorized(request: Request) -> str:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not key or key not in simulator.gateway.config.api_keys:
            raise ApiError(401, "authentication_error", "Invalid API Key provided.")
        return key

    def endpoint(action: Any, *, idempotent: bool = False) -> Any:
        async def handle(request: Request) -> JSONResponse:
            try:
                key = authorized(request)
                body = await _body(request) if request.method == "POST" else {}
                params = dict(request.path_params)
                if idempotent:
                    status, answer, replayed = simulator.gateway.idempotent_call(
                        key, request.headers.get("idempotency-key"), request.method,
                        request.url.path, body, lambda: action(body, **params))
                    return JSONResponse(answer, status_code=status, headers={
                        "Idempotent-Replayed": "true"} if replayed else None)
                return JSONResponse(action(body, **params))
            except ApiError as exc:
                return _error(exc)
        return handle

    gateway = simulator.gateway

    def settings(body: dict[str, Any]) -> dict[str, Any]:
        try:
            simulator.configure(**body)
        except (ValidationError, TypeError) as exc:
            raise ApiError(400, "invalid_request_error",
                           f"invalid settings ({type(exc).__name__})") from None
        return simulator.gateway.config.model_dump(exclude={"api_keys", "webhook_secret"})

    async def put_settings(request: Request) -> JSONResponse:
        try:
            authorized(request)
            return JSONResponse(settings(await _body(request)))
        except ApiError as exc:
            return _error(exc)

    def deliver(body: dict[str, Any], event_id: str) -> dict[str, Any]:
        delivery = simulator.webhooks.deliver(gateway.event(event_id))
        return {"event": event_id, "status": delivery.status, "error": delivery.error}

    routes = [
        Route("/v1/payment_intents", endpoint(
            lambda body: public_intent(gateway.create_intent(body)), idempotent=True),
            methods=["POST"]),
        Route("/v1/payment_intents/{intent_id}", endpoint(
            lambda body, intent_id: public_intent(gateway.intent(intent_id))), methods=["GET"]),
        Route("/v1/payment_intents/{intent_id}/confirm", endpoint(
            lambda body, intent_id: public_intent(gateway.confirm_intent(intent_id, body)),
            idempotent=True), methods=["POST"]),
        Route("/v1/refunds", endpoint(lambda body: gateway.create_refund(body),
                                      idempotent=True), methods=["POST"]),
        Route("/v1/refunds/{refund_id}", endpoint(
            lambda body, refund_id: gateway.refund(refund_id)), methods=["GET"]),
        Route("/v1/test/settings", put_settings, methods=["PUT"]),
        Route("/v1/test/payment_intents/{intent_id}/settle", endpoint(
            lambda body, intent_id: public_intent(gateway.settle_intent(
                intent_id, str(body.get("outcome", "succeeded"))))), methods=["POST"]),
        Route("/v1/test/refunds/{refund_id}/settle", endpoint(
            lambda body, refund_id: gateway.settle_refund(
                refund_id, str(body.get("outcome", "succeeded")))), methods=["POST"]),
        Route("/v1/test/events", endpoint(lambda body: {"data": [
            event.as_json() for event in list(gateway.events)]}), methods=["GET"]),
        Route("/v1/test/events/{event_id}/deliver", endpoint(deliver), methods=["POST"]),
        Route("/v1/test/deliveries", endpoint(lambda body: {"data": [
            {"event": d.event_id, "type": d.event_type, "status": d.status, "error": d.error}
            for d in list(simulator.webhooks.deliveries)]}), methods=["GET"]),
        *checkout_routes(gateway),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = simulator
    return app

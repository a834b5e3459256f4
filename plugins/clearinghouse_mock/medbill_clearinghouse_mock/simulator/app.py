"""The simulator's HTTP API (Starlette). See the plugin README for the endpoints.

Every request and response is logged with identifiers, sizes, status codes and timings only:
bodies (X12 with PHI) are never logged. Records go to the ``medbill_clearinghouse_mock.
simulator.access`` logger and to the ``request_log`` table of the state file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbill_clearinghouse_mock.simulator.config import FaultRule, SimulatorConfig
from medbill_clearinghouse_mock.simulator.faults import (
    DropConnection,
    Fault,
    FaultPlan,
    FaultSpecError,
)
from medbill_clearinghouse_mock.simulator.service import (
    ClearinghouseService,
    IdempotencyConflict,
    Outcome,
)
from medbill_clearinghouse_mock.simulator.store import Store

access_log = logging.getLogger("medbill_clearinghouse_mock.simulator.access")
X12_MEDIA_TYPE = "application/edi-x12"
API_VERSION = "v1"
_FAULT_RULES = TypeAdapter(list[FaultRule])


def _problem(status: int, error: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status,
                        headers=headers or None)


def _json(outcome: Outcome, **headers: str) -> Response:
    if outcome.text is not None:
        return Response(outcome.text, status_code=outcome.status, media_type=X12_MEDIA_TYPE,
                        headers={"X-Document-Kind": outcome.kind or "", **headers})
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers or None)


def api_key_of(headers: Any) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return headers.get("x-api-key") or None


def endpoint_of(method: str, path: str) -> str:
    """The fault-injection endpoint name of a request."""
    if method == "POST" and path == "/v1/claims/batches":
        return "submit"
    if method == "GET" and path == "/v1/responses":
        return "responses"
    if method == "POST" and path.startswith("/v1/responses"):
        return "ack"
    if method == "POST" and path == "/v1/eligibility":
        return "eligibility"
    if method == "POST" and path == "/v1/claim-status":
        return "claim_status"
    return "other"


class Simulator:
    """The service, the store and the fault plan behind one ASGI app."""

    def __init__(self, config: SimulatorConfig, state_path: str) -> None:
        self.config = config
        self.store = Store(state_path)
        self.service = ClearinghouseService(config, self.store)
        self.faults = FaultPlan(config.faults, config.seed)
        self.service.fault_plan = self.faults

    def account(self, request: Request) -> str | None:
        key = api_key_of(request.headers)
        return self.config.account_for(key) if key else None

    # -- handlers ---------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "api_version": API_VERSION,
                             "test_mode": self.config.test_mode,
                             "clearinghouse_id": self.config.clearinghouse_id})

    async def _body(self, request: Request) -> bytes | Response:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.config.max_body_bytes:
            return _problem(413, "payload_too_large",
                            f"the body is larger than {self.config.max_body_bytes} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.config.max_body_bytes:
                return _problem(413, "payload_too_large",
                                f"the body is larger than {self.config.max_body_bytes} bytes")
        return body

    def _unauthorized(self) -> Response:
        return _problem(401, "unauthorized", "a valid API key is required (Authorization: "
                        "Bearer KEY or X-API-Key)", **{"WWW-Authenticate": "Bearer"})

    async def submit(self, request: Request) -> Response:
        account = self.account(request)
        if account is None:
            return self._unauthorized()
        key = request.headers.get("idempotency-key", "").strip()
        if not key or len(key) > 255:
            return _problem(400, "idempotency_key_required",
                            "send an Idempotency-Key header of 1 to 255 characters")
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        try:
            outcome = await asyncio.to_thread(self.service.submit_claims, account, key, body)
        except IdempotencyConflict:
            return _problem(409, "idempotency_key_reused",
                            "this Idempotency-Key was used with a different body")
        return _json(outcome, **({"Idempotent-Replayed": "true"} if outcome.replayed else {}))

    async def submission(self, request: Request) -> Response:
        account = self.account(request)
        if account is None:
            return self._unauthorized()
        outcome = await asyncio.to_thread(self.service.submission, account,
                                          request.path_params["submission_id"])
        return _json(outcome)

    async def eligibility(self, request: Request) -> Response:
        return await self._realtime(request, self.service.eligibility)

    async def claim_status(self, request: Request) -> Response:
        return await self._realtime(request, self.service.claim_status)

    async def _realtime(self, request: Request, method: Any) -> Response:
        account = self.account(request)
        if account is None:
            return self._unauthorized()
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        return _json(await asyncio.to_thread(method, account, body))

    async def responses(self, request: Request) -> Response:
        account = self.account(request)
        if account is None:
            return self._unauthorized()
        limit_text = request.query_params.get("limit", "50")
        if not limit_text.isdigit() or int(limit_text) < 1:
            return _problem(400, "invalid_limit", "limit is a positive whole number")
        outcome = await asyncio.to_thread(self.service.feed, account,
                                          request.query_params.get("cursor"), int(limit_text))
        return _json(outcome)

    async def acknowledge_many(self, request: Request) -> Response:
        account = self.account(request)
        if account is None:
            return self._unauthorized()
        try:
            data = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        ids = data.get("document_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids:
            return _problem(400, "invalid_body", 'send {"document_ids": ["...", ...]}')
        return _json(await asyncio.to_thread(self.service.acknowledge, account, ids))

    async def acknowledge_one(self, request: Request) -> Response:
        account = self.account(request)
        if account is None:
            return self._unauthorized()
        document_id = request.path_params["document_id"]
        outcome = await asyncio.to_thread(self.service.acknowledge, account, [document_id])
        assert outcome.body is not None
        if outcome.body["unknown"]:
            return _problem(404, "not_found", "no such document")
        return _json(outcome)

    async def payment_run(self, request: Request) -> Response:
        account = self.account(request)
        if account is None:
            return self._unauthorized()
        made = await asyncio.to_thread(self.service.payment_run, account)
        return JSONResponse({"remittances": made})

    async def test_faults(self, request: Request) -> Response:
        if not self.config.test_mode:
            return _problem(404, "not_found", "test endpoints exist in test mode only")
        if self.account(request) is None:
            return self._unauthorized()
        if request.method == "PUT":
            try:
                rules = _FAULT_RULES.validate_json(await request.body())
            except ValidationError as exc:
                fields = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"]
                                   for e in exc.errors(include_input=False))
                return _problem(400, "invalid_fault_rules", fields)
            self.faults.replace(rules)
        elif request.method == "DELETE":
            self.faults.replace([])
        return JSONResponse({"faults": [r.model_dump() for r in self.faults.rules]})

    def routes(self) -> list[Route]:
        return [
            Route("/v1/health", self.health, methods=["GET"]),
            Route("/v1/claims/batches", self.submit, methods=["POST"]),
            Route("/v1/claims/batches/{submission_id}", self.submission, methods=["GET"]),
            Route("/v1/eligibility", self.eligibility, methods=["POST"]),
            Route("/v1/claim-status", self.claim_status, methods=["POST"]),
            Route("/v1/responses", self.responses, methods=["GET"]),
            Route("/v1/responses/ack", self.acknowledge_many, methods=["POST"]),
            Route("/v1/responses/{document_id}/ack", self.acknowledge_one, methods=["POST"]),
            Route("/v1/payment-runs", self.payment_run, methods=["POST"]),
            Route("/v1/test/faults", self.test_faults, methods=["GET", "PUT", "DELETE"]),
        ]


class AccessAndFaults:
    """ASGI middleware: PHI-free access log, then fault injection around the app."""

    def __init__(self, app: ASGIApp, simulator: Simulator) -> None:
        self.app = app
        self.simulator = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        method, path = scope["method"], scope["path"]
        account = None
        key = api_key_of(headers)
        if key:
            account = self.simulator.config.account_for(key)
        sizes = {"in": 0, "out": 0, "status": 0}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                sizes["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sizes["status"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            elif message["type"] == "http.response.body":
                sizes["out"] += len(message.get("body", b""))
            await send(message)

        fault: Fault | None = None
        try:
            fault = self._fault(headers, method, path, account)
        except FaultSpecError as exc:
            response = _problem(400, "invalid_fault", str(exc))
            await response(scope, counting_receive, counting_send)
        else:
            try:
                await self._run(scope, counting_receive, counting_send, fault)
            finally:
                await self._log(request_id, account, method, path, sizes, started, fault)
            return
        await self._log(request_id, account, method, path, sizes, started, None)

    def _fault(self, headers: dict[str, str], method: str, path: str,
               account: str | None) -> Fault | None:
        if not self.simulator.config.test_mode:
            return None
        endpoint = endpoint_of(method, path)
        header = headers.get("x-mock-fault")
        if header and account is not None:
            return self.simulator.faults.from_header(header, endpoint,
                                                     headers.get("idempotency-key", "-"))
        if endpoint == "other":
            return None
        return self.simulator.faults.from_rules(endpoint)

    async def _run(self, scope: Scope, receive: Receive, send: Send,
                   fault: Fault | None) -> None:
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.phase == "before":
            if fault.kind == "latency":
                await asyncio.sleep(fault.seconds)
                await self.app(scope, receive, send)
                return
            if fault.kind == "timeout":
                await asyncio.sleep(fault.seconds)
                await _problem(504, "injected_timeout", "injected fault: no answer in time")(
                    scope, receive, send)
                return
            if fault.kind == "status":
                await _problem(fault.status, "injected_fault",
                               f"injected fault: HTTP {fault.status}")(scope, receive, send)
                return
            if fault.kind == "drop":
                await _drop(send)
        # phase "after": let the app answer, then spoil the answer.
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)
        if fault.kind == "status":
            await _problem(fault.status, "injected_fault",
                           f"injected fault after processing: HTTP {fault.status}")(
                scope, receive, send)
            return
        if fault.kind == "drop":
            await _drop(send)
        if fault.kind in ("latency", "timeout"):
            await asyncio.sleep(fault.seconds)
        if fault.kind in ("duplicate", "reorder"):
            captured = _rewrite_feed(captured, fault.kind)
        for message in captured:
            await send(message)

    async def _log(self, request_id: str, account: str | None, method: str, path: str,
             sizes: dict[str, int], started: float, fault: Fault | None) -> None:
        duration = int((time.perf_counter() - started) * 1000)
        label = fault.label if fault else None
        access_log.info("request %s account=%s %s %s -> %d in=%dB out=%dB %dms%s", request_id,
                        account or "-", method, path, sizes["status"], sizes["in"], sizes["out"],
                        duration, f" fault={label}" if label else "")
        try:
            await asyncio.to_thread(
                self.simulator.store.log_request,
                at=datetime.now().astimezone().isoformat(timespec="milliseconds"),
                request_id=request_id, account=account, method=method, path=path,
                status=sizes["status"], request_bytes=sizes["in"], response_bytes=sizes["out"],
                duration_ms=duration, fault=label)
        except Exception as exc:
            access_log.warning("request log not stored: %s", type(exc).__name__)


async def _drop(send: Send) -> None:
    """Start an answer, then close the connection before its body (the client sees a
    connection error)."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
    raise DropConnection()


def _rewrite_feed(messages: list[Message], kind: str) -> list[Message]:
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None or start["status"] != 200:
        return messages
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return messages
    documents = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(documents, list):
        return messages
    if kind == "duplicate":
        data["documents"] = [d for doc in documents for d in (doc, doc)]
    else:
        data["documents"] = list(reversed(documents))
    new_body = json.dumps(data).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(new_body)).encode()))
    return [{**start, "headers": headers},
            {"type": "http.response.body", "body": new_body, "more_body": False}]


def create_app(config: SimulatorConfig, state_path: str) -> Starlette:
    """The ASGI application. ``app.state.simulator`` holds the service and its store."""
    simulator = Simulator(config, state_path)
    app = Starlette(routes=simulator.routes())
    app.state.simulator = simulator
    app.add_middleware(AccessAndFaults, simulator=simulator)
    return app

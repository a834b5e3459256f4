"""The ``clearinghouse_mock`` submission channel: medbill's side of the simulator's HTTP API.

* :meth:`submit` sends an 837P batch with an ``Idempotency-Key``; a retry after a timeout or a
  5xx reuses the key, so the clearinghouse processes the batch once.
* :meth:`fetch_responses` reads the cursor feed page by page (bounded), drops repeated documents
  and returns them oldest first; :meth:`acknowledge` tells the clearinghouse a document is stored.
* :meth:`exchange` sends a real-time 270 or 276 and returns the 271/277 (or the TA1/999 that
  rejected the request).

Retries: timeouts, connection errors and 5xx answers are retried with exponential backoff and
jitter, at most ``max_retries`` times; 4xx answers are never retried. Errors raised are
:class:`~medbill_core.errors.SubmissionError` and name the status and error code only.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from medbill_clearinghouse_mock.settings import ClearinghouseMockSettings
from medbill_core.api import (
    ConfigurationError,
    DocumentKind,
    InboundDocument,
    SubmissionChannel,
    SubmissionError,
    SubmissionFile,
    SubmissionReceipt,
)

X12_MEDIA_TYPE = "application/edi-x12"
_REALTIME_PATHS = {"270": "/v1/eligibility", "276": "/v1/claim-status"}
_RETRIABLE = (httpx.TimeoutException, httpx.TransportError)


class ClearinghouseUnavailable(SubmissionError):
    """The clearinghouse did not answer usefully after every retry."""


def _kind(value: str | None) -> DocumentKind:
    try:
        return DocumentKind(value or "other")
    except ValueError:
        return DocumentKind.OTHER


class ClearinghouseChannel(SubmissionChannel):
    """Talks to the clearinghouse simulator (or anything serving the same API) over HTTP."""

    identifier = "clearinghouse_mock"
    verbose_name = "Mock clearinghouse over HTTP (httpx)"

    def __init__(self, settings: ClearinghouseMockSettings | None = None, *,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.settings = settings or ClearinghouseMockSettings()
        self._transport = transport
        self._sleep = sleep
        self._random = rng or random.Random()
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        #: Attempts made by the last request (for diagnostics and tests).
        self.last_attempts = 0

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                s = self.settings
                self._client = httpx.Client(
                    base_url=s.base_url, transport=self._transport, verify=self._verify(),
                    timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                    headers={"Authorization": f"Bearer {s.resolved_api_key()}",
                             "User-Agent": "medbill-clearinghouse-mock-channel/0.1"})
            return self._client

    def _verify(self) -> ssl.SSLContext | bool:
        if not self.settings.ca_file:
            return True
        try:
            return ssl.create_default_context(cafile=self.settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"{self.settings.ca_file}: not a usable CA certificate "
                                     f"file ({getattr(exc, 'strerror', None) or exc.args[-1]})"
                                     ) from None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): exponential, capped, jittered."""
        s = self.settings
        delay: float = min(s.backoff_max, s.backoff_initial * (2 ** attempt))
        return delay * (0.5 + self._random.random() / 2)

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One logical request with retries. 4xx answers are returned (never retried)."""
        attempts = self.settings.max_retries + 1
        problem = ""
        for attempt in range(attempts):
            self.last_attempts = attempt + 1
            try:
                response = self.client.request(method, path, **kwargs)
            except _RETRIABLE as exc:
                problem = type(exc).__name__
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            if attempt + 1 < attempts:
                self._sleep(self.backoff(attempt))
        raise ClearinghouseUnavailable(
            f"clearinghouse: {what} failed after {attempts} attempts (last: {problem})")

    @staticmethod
    def _refused(response: httpx.Response, what: str) -> SubmissionError:
        code = ""
        try:
            data = response.json()
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                code = f" ({data['error']})"
        except ValueError:
            pass
        if response.status_code == 401:
            return SubmissionError(f"clearinghouse: {what} refused: the API key was not accepted"
                                   " (HTTP 401)")
        return SubmissionError(f"clearinghouse: {what} refused: HTTP {response.status_code}{code}")

    def _document(self, data: dict[str, Any]) -> InboundDocument:
        return InboundDocument(channel=self.identifier, document_id=data["document_id"],
                               kind=_kind(data.get("kind")), content=data["content"],
                               received_at=datetime.now().astimezone(),
                               cursor=str(data.get("sequence", "")) or None)

    # -- SubmissionChannel ------------------------------------------------------------------------
    def submit(self, submission: SubmissionFile, *, idempotency_key: str) -> SubmissionReceipt:
        what = f"submission of batch {submission.control_number}"
        response = self._request(
            "POST", "/v1/claims/batches", what, content=submission.content.encode("utf-8"),
            headers={"Idempotency-Key": idempotency_key, "Content-Type": X12_MEDIA_TYPE})
        if response.status_code not in (200, 201, 202):
            raise self._refused(response, what)
        data = response.json()
        claims = data.get("claims", {})
        status = data.get("status", "rejected")
        message = (f"{status}: interchange note {data.get('interchange_note_code')}, "
                   f"{claims.get('accepted', 0)} of {claims.get('received', 0)} claims passed "
                   "the front-end edits")
        return SubmissionReceipt(
            channel=self.identifier, submission_id=data["submission_id"],
            accepted=status != "rejected", idempotency_key=idempotency_key, message=message,
            immediate_responses=[self._document(d) for d in data.get("acknowledgments", [])])

    def fetch_responses(self) -> list[InboundDocument]:
        """Every unacknowledged document, oldest first, each once. Nothing is acknowledged here:
        call :meth:`acknowledge` after storing a document, or it is delivered again."""
        found: dict[str, InboundDocument] = {}
        cursor: str | None = None
        for _page in range(self.settings.max_pages):
            params: dict[str, Any] = {"limit": self.settings.page_size}
            if cursor:
                params["cursor"] = cursor
            response = self._request("GET", "/v1/responses", "reading the response feed",
                                     params=params)
            if response.status_code != 200:
                raise self._refused(response, "reading the response feed")
            data = response.json()
            for item in data.get("documents", []):
                if item["document_id"] not in found:
                    found[item["document_id"]] = self._document(item)
            cursor = data.get("next_cursor")
            if not data.get("has_more") or not cursor:
                break
        return sorted(found.values(), key=lambda d: int(d.cursor or 0))

    def acknowledge(self, document: InboundDocument) -> None:
        self.acknowledge_many([document])

    def acknowledge_many(self, documents: Sequence[InboundDocument]) -> None:
        """Acknowledge several documents in one request (already acknowledged is fine)."""
        ids = [d.document_id for d in documents]
        if not ids:
            return
        what = f"acknowledging {len(ids)} document(s)"
        response = self._request("POST", "/v1/responses/ack", what, json={"document_ids": ids})
        if response.status_code != 200:
            raise self._refused(response, what)
        unknown = response.json().get("unknown", [])
        if unknown:
            raise SubmissionError(f"clearinghouse: {len(unknown)} document(s) to acknowledge "
                                  f"are unknown to it: {', '.join(unknown[:5])}")

    def exchange(self, kind: str, content: str) -> InboundDocument:
        """Send a 270 or 276; return the 271/277, or the TA1/999 that rejected the request."""
        path = _REALTIME_PATHS.get(kind)
        if path is None:
            raise SubmissionError(f"clearinghouse: real-time {kind!r} is not offered "
                                  "(270 or 276)")
        what = f"real-time {kind}"
        response = self._request("POST", path, what, content=content.encode("utf-8"),
                                 headers={"Content-Type": X12_MEDIA_TYPE})
        if response.status_code not in (200, 422) or not response.headers.get("x-document-kind"):
            raise self._refused(response, what)
        return InboundDocument(
            channel=self.identifier,
            document_id=f"rt-{response.headers.get('x-request-id') or id(response)}",
            kind=_kind(response.headers["x-document-kind"]), content=response.text,
            received_at=datetime.now().astimezone())

    # -- extras -----------------------------------------------------------------------------------
    def submission_status(self, submission_id: str) -> dict[str, Any]:
        """The clearinghouse's view of one submission (claim numbers and states, no PHI)."""
        what = f"status of submission {submission_id}"
        response = self._request("GET", f"/v1/claims/batches/{submission_id}", what)
        if response.status_code != 200:
            raise self._refused(response, what)
        return dict(response.json())

    def run_payments(self) -> list[dict[str, Any]]:
        """Ask the simulator for a payment cycle now (835s appear in the feed)."""
        response = self._request("POST", "/v1/payment-runs", "a payment run")
        if response.status_code != 200:
            raise self._refused(response, "a payment run")
        return list(response.json()["remittances"])

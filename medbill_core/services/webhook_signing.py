"""Signing webhook deliveries, and checking a signature (for receivers).

Every delivery carries ``Medbill-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 keyed with the subscription's secret over ``"<t>.<raw body>"``. The timestamp is
signed with the body, so a captured request replayed later fails the receiver's tolerance
check; a receiver compares in constant time and may see several ``v1=`` values while a
secret is being rotated (any one matching is enough).
"""

from __future__ import annotations

import hashlib
import hmac
import time

#: the header that carries the signature
SIGNATURE_HEADER = "Medbill-Signature"
#: how far a signature's timestamp may be from the receiver's clock by default (seconds)
DEFAULT_TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of the ``Medbill-Signature`` header for ``body`` sent now (or at
    ``timestamp``)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={signature(secret, moment, body)}"


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = DEFAULT_TOLERANCE,
                     *, now: float | None = None) -> bool:
    """Whether ``header`` (a ``Medbill-Signature`` value) signs ``body`` with ``secret``
    within ``tolerance`` seconds of now: for receivers of medbill's webhooks.

    ``body`` must be the raw bytes received, before any JSON parsing (a re-encoded body
    differs). Returns ``False`` for a malformed header, a stale or future timestamp, or no
    matching ``v1`` signature; never raises for bad input.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    moment = time.time() if now is None else now
    if abs(moment - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)

"""Fault injection: latency, 5xx, dropped connections, timeouts, duplicate and reordered feeds.

Faults come from the configuration (:class:`~.config.FaultRule`, replaceable at run time through
``PUT /v1/test/faults``) or from one request's ``X-Mock-Fault`` header, and only in test mode.

Header syntax: ``KIND[=VALUE][;first=N][;phase=before|after]``, for example ``status=503``,
``status=503;first=2`` (the first two attempts with this idempotency key fail, the third goes
through), ``timeout=5;phase=after`` (processed, then the answer comes 5 s late), ``drop``,
``latency=0.2``, ``duplicate``, ``reorder``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from medbill_clearinghouse_mock.simulator.config import FaultRule

DEFAULT_TIMEOUT_SECONDS = 30.0


class DropConnection(Exception):
    """Raised after the response has started: the server closes the connection mid-answer."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    status: int = 503
    seconds: float = 0.0
    phase: str = "before"

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.phase}"


class FaultSpecError(ValueError):
    pass


def parse_header(value: str) -> tuple[Fault, int | None]:
    """A fault and its optional ``first`` count from an ``X-Mock-Fault`` header value."""
    parts = [p.strip() for p in value.split(";") if p.strip()]
    if not parts:
        raise FaultSpecError("empty fault")
    kind, _, argument = parts[0].partition("=")
    kind = kind.strip().lower()
    options = {}
    for part in parts[1:]:
        key, _, option = part.partition("=")
        options[key.strip().lower()] = option.strip()
    phase = options.get("phase", "before")
    if phase not in ("before", "after"):
        raise FaultSpecError("phase is before or after")
    first = None
    if "first" in options:
        if not options["first"].isdigit() or int(options["first"]) < 1:
            raise FaultSpecError("first is a positive whole number")
        first = int(options["first"])
    try:
        if kind == "status":
            status = int(argument or "503")
            if not 500 <= status <= 599:
                raise FaultSpecError("status is 500 to 599")
            return Fault("status", status=status, phase=phase), first
        if kind in ("latency", "timeout"):
            default = "0.1" if kind == "latency" else str(DEFAULT_TIMEOUT_SECONDS)
            seconds = float(argument or default)
            if not 0 <= seconds <= 120:
                raise FaultSpecError("seconds are 0 to 120")
            return Fault(kind, seconds=seconds, phase=phase), first
        if kind in ("drop", "duplicate", "reorder"):
            return Fault(kind, phase="after" if kind != "drop" else phase), first
    except ValueError as exc:
        raise FaultSpecError(str(exc)) from None
    raise FaultSpecError(f"unknown fault kind {kind!r}")


class FaultPlan:
    """Decides, request by request, which fault (if any) applies. Thread-safe."""

    def __init__(self, rules: list[FaultRule], seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._seed = seed
        self.replace(rules)
        self._header_counts: dict[tuple[str, str, str], int] = {}

    def replace(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self.rules = list(rules)
            self._counts = [0] * len(self.rules)
            self._random = random.Random(self._seed)

    def from_rules(self, endpoint: str) -> Fault | None:
        with self._lock:
            for index, rule in enumerate(self.rules):
                if rule.kind == "republish" or rule.endpoint not in ("any", endpoint):
                    continue
                self._counts[index] += 1
                count = self._counts[index]
                if rule.first is not None and count > rule.first:
                    continue
                if rule.every is not None and count % rule.every:
                    continue
                if rule.probability is not None and self._random.random() >= rule.probability:
                    continue
                seconds = rule.seconds or (DEFAULT_TIMEOUT_SECONDS if rule.kind == "timeout"
                                           else 0.0)
                phase = "after" if rule.kind in ("duplicate", "reorder") else rule.phase
                return Fault(rule.kind, rule.status, seconds, phase)
        return None

    def from_header(self, value: str, endpoint: str, key: str) -> Fault | None:
        """The header's fault, unless its ``first`` attempts for ``key`` are used up."""
        fault, first = parse_header(value)
        if first is None:
            return fault
        with self._lock:
            counter = (endpoint, key, value)
            count = self._header_counts.get(counter, 0) + 1
            self._header_counts[counter] = count
        return fault if count <= first else None

"""Failed tries per client address, in this process (the link's own count of wrong dates of
birth is in the database, for every process): a guesser cycling through codes, or through
links, from one address is slowed here before any link locks."""

from __future__ import annotations

import threading
import time
from collections import deque


class ClientThrottle:
    """At most ``limit`` failed tries per address within ``window`` seconds."""

    def __init__(self, limit: int = 10, window: float = 900.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.limit

    def failed(self, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(address, now).append(now)
            if len(self._failures) > 10_000:  # forget addresses whose tries are all old
                for key in [k for k, v in self._failures.items() if not v or
                            v[-1] <= now - self.window]:
                    del self._failures[key]

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()

"""A webhook receiver for tests: a real threaded HTTP server on 127.0.0.1.

Each event (by its ``Medbill-Event-Id``) is refused on its first ``fail_first`` attempts --
first with a 500, then by closing the connection without an answer -- and accepted after.
Every request is kept with its headers and raw body, so tests can check signatures and
count what was accepted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    event_id: str
    headers: dict[str, str]
    body: bytes
    answer: str  # "500", "closed" or "200"


@dataclass
class Receiver:
    fail_first: int = 2
    #: seconds each request waits before it is answered (to overlap concurrent senders)
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/medbill"

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.answer == "200"]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                event_id = self.headers.get("Medbill-Event-Id", "")
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.attempts[event_id] += 1
                    attempt = receiver.attempts[event_id]
                    answer = ("500" if attempt == 1 else "closed") \
                        if attempt <= receiver.fail_first else "200"
                    receiver.requests.append(Received(event_id, dict(self.headers.items()),
                                                      body, answer))
                if answer == "closed":
                    self.close_connection = True
                    return  # no status line: the sender sees the connection dropped
                code = int(answer)
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

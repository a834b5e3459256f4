"""A resolver for the webhook tests: names answer what the test says (and may answer something
else later, as DNS rebinding does); addresses resolve as the system resolves them (without
DNS); any other name does not resolve. Nothing asks the network."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class FakeDNS:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: dict[str, list[str]] = {}
        #: what a name resolves to after its next lookup (see :meth:`rebind`)
        self.rebinds: dict[str, list[str]] = {}
        #: the names looked up, in order
        self.asked: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0,
                        proto: int = 0, flags: int = 0) -> list[Any]:
            name = host.decode() if isinstance(host, bytes) else str(host)
            self.asked.append(name)
            key = name.lower().rstrip(".")
            if key in self.names:
                addresses = self.names[key]
                if key in self.rebinds:
                    self.names[key] = self.rebinds.pop(key)
                return [(socket.AF_INET6 if ":" in address else socket.AF_INET,
                         socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                         (address, int(port or 0)) if ":" not in address
                         else (address, int(port or 0), 0, 0))
                        for address in addresses]
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def answer(self, name: str, *addresses: str) -> None:
        """``name`` resolves to ``addresses`` from now on."""
        self.names[name.lower()] = list(addresses)

    def rebind(self, name: str, *addresses: str) -> None:
        """After its next lookup, ``name`` resolves to ``addresses`` (DNS rebinding: one
        answer for whoever checks, another for whoever connects)."""
        self.rebinds[name.lower()] = list(addresses)

"""What the pay page's tests share besides fixtures (a name no other suite uses)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from medbill_payments_mock.simulator.server import BackgroundServer

from medbill_core.api.workspace import Medbill


@dataclass
class Site:
    """An installation with the pay page, its app, the live server's address and the
    gateway simulator."""

    medbill: Medbill
    app: FastAPI
    url: str
    gateway: BackgroundServer

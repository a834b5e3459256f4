"""The demo's whole cycle (X12 plugins, the clearinghouse simulator on loopback) with a
webhook subscription: the receiver on 127.0.0.1 gets each event once, signed, with the
event types of the cycle -- and none of the patients' names, birth dates or member ids."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

from medbill_demo.data import demo_patients
from medbill_demo.runner import run_demo
from rich.console import Console

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.services import webhooks
from medbill_core.services.webhook_signing import verify_signature
from medbill_core.storage.schema import utcnow
from medbill_core.testing.webhook_receiver import Receiver


def test_the_demo_cycle_sends_its_events_once_and_signed(tmp_path: Path) -> None:
    receiver = Receiver(fail_first=2).start()
    url = f"sqlite:///{tmp_path / 'webhooks-demo.db'}"
    try:
        app = Medbill.open(MedbillConfig(database_url=url), load_installed=False, upgrade=True)
        with app.unit_of_work() as work:
            created = webhooks.add_subscription(
                work, receiver.url, [t for t in webhooks.EVENT_TYPES if t != "ping"])
        app.close()
        run_demo(tmp_path / "out", 12, console=Console(file=io.StringIO(), width=120),
                 database_url=url)
        app = Medbill.open(MedbillConfig(database_url=url), load_installed=False)
        try:
            rounds = []
            for minutes in (0, 2, 10):  # the receiver refuses each event's first two attempts
                moment = utcnow() + timedelta(minutes=minutes)
                rounds.append(webhooks.deliver_due(app, now=moment, limit=10000))
        finally:
            app.close()
    finally:
        receiver.stop()
    assert [{o.status for o in outcomes} for outcomes in rounds] == [
        {"failed"}, {"failed"}, {"delivered"}]
    accepted = receiver.accepted()
    assert len(accepted) == len(rounds[2]) and len(receiver.requests) == 3 * len(accepted)
    assert max(Counter(r.event_id for r in accepted).values()) == 1
    assert all(verify_signature(created.secret, r.headers["Medbill-Signature"], r.body)
               for r in receiver.requests)
    types = Counter(json.loads(r.body)["type"] for r in accepted)
    assert {"claim.submitted", "claim.accepted", "claim.paid", "remittance.posted",
            "statement.produced"} <= set(types), types
    bodies = b"\n".join(r.body for r in receiver.requests).decode()
    for demo in demo_patients():
        for value in (demo.patient.last_name, demo.patient.birth_date.isoformat(),
                      *(coverage.member_id for coverage in demo.coverages)):
            assert value not in bodies

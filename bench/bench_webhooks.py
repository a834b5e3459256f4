"""Webhooks: what the outbox costs a batch of claim transitions, and delivery throughput.

Per backend (SQLite file, PostgreSQL when it can be started): N claims moved through
validated -> submitted -> accepted in one ``transition_many`` per 500 claims, first without
the core's webhook plugin (the cost before webhooks), then with it and no
subscription (the events are recorded in memory and dropped at commit: one SELECT of the
subscriptions per commit), then with one subscription to claim.submitted and claim.accepted
(2 events and 2 deliveries per claim, one executemany each per commit); then every delivery
sent to a receiver on 127.0.0.1 (a threaded http.server answering 200). Prints claims/s,
the outbox's share, and deliveries/s. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import ClaimState
from medbill_core.services import webhooks
from medbill_core.services.claims import ClaimMove
from medbill_core.testing.factories import make_claim, make_coverage, make_patient, make_payer
from medbill_core.testing.factories import make_practice as practice
from medbill_core.testing.webhook_receiver import Receiver

CHUNK = 500
PATH = (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED)


def _claims(app: Medbill, claims: int, prefix: str) -> list[int]:
    with app.unit_of_work() as work:
        patient = work.patients.register(make_patient(len(prefix)))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
        return [c.id for c in work.claims.create_many(
            [make_claim(patient.id, coverage_id=coverage.id, number=f"{prefix}{n:07d}",
                        lines=1) for n in range(claims)]) if c.id is not None]


def _move(app: Medbill, ids: list[int]) -> float:
    started = time.perf_counter()
    for start in range(0, len(ids), CHUNK):
        with app.unit_of_work() as work:
            work.claims.transition_many([ClaimMove(i, target) for target in PATH
                                         for i in ids[start:start + CHUNK]])
    return time.perf_counter() - started


def run(url: str, claims: int) -> dict[str, float]:
    config = MedbillConfig(database_url=url, practice=practice(),
                           payers={"acme": make_payer("acme")}, actor="bench")
    app = Medbill.open(config, load_installed=False, upgrade=True)
    receiver = Receiver(fail_first=0).start()
    try:
        # the baseline: the core's webhook plugin unregistered (what the cycle cost before)
        plugin = app.hooks.manager.unregister(name="core:webhook_events")
        bare = _move(app, _claims(app, claims, "W"))
        app.hooks.manager.register(plugin, name="core:webhook_events")
        plain = _move(app, _claims(app, claims, "A"))
        with app.unit_of_work() as work:
            webhooks.add_subscription(work, receiver.url, ["claim.submitted", "claim.accepted"])
        with_outbox = _move(app, _claims(app, claims, "BB"))
        started = time.perf_counter()
        sent = 0
        while batch := webhooks.deliver_due(app, limit=1000):
            sent += len(batch)
        delivered = time.perf_counter() - started
    finally:
        receiver.stop()
        app.close()
    return {"claims/s bare": claims / bare, "claims/s": claims / plain,
            "claims/s outbox": claims / with_outbox,
            "outbox share": 1 - plain / with_outbox, "deliveries/s": sent / delivered,
            "deliveries": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=2000)
    args, _ = parser.parse_known_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.claims)
    try:
        from medbill_core.testing.postgres import PostgresServer

        with PostgresServer() as server:
            results["postgresql"] = run(server.create_database("bench"), args.claims)
    except Exception as exc:  # the figure is skipped, the reason printed
        print(f"postgresql: not measured ({type(exc).__name__}: {exc})")
    print(f"{args.claims} claims, 3 transitions each ({CHUNK} claims per transaction); "
          "then every delivery to a loopback receiver")
    print(f"{'backend':<12}{'no plugin':>10}{'no subscr.':>11}{'with outbox':>13}"
          f"{'outbox share':>14}{'deliveries':>12}{'deliveries/s':>14}")
    for backend, f in results.items():
        print(f"{backend:<12}{f['claims/s bare']:>10.0f}{f['claims/s']:>11.0f}"
              f"{f['claims/s outbox']:>13.0f}"
              f"{f['outbox share']:>13.0%} {f['deliveries']:>11.0f}{f['deliveries/s']:>14.0f}")


if __name__ == "__main__":
    main()

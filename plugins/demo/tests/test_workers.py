"""``medbill worker`` processes over one PostgreSQL database (issue 14, "Scale-out" and "Proof").

- the fault test: four real worker processes run the demo practice's cycle through the job
  queue (scrub, submit, send, fetch, 835 posting, statements) while a random one is killed
  with SIGKILL every few seconds and restarted; afterwards the simulator received every claim
  exactly once, every 835 is posted once, every claim is in a final or actionable state, the
  ledger balances to the cent and no job is left stuck;
- with four workers and no faults the guarantees of the concurrency tests hold (no claim
  batched or sent twice, no raw integrity error, no job failed);
- ``db upgrade`` applies procrastinate's schema once; ``jobs enqueue`` keeps one job of a kind
  waiting.

The size of the fault test: ``MEDBILL_FAULT_CLAIMS`` (default :data:`FAULT_CLAIMS`: the issue's
5,000 claims, 4 min 13 s on this 2-core machine with a make test running beside it; 500 claims
took 36 s).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from workers_support import WAITING, WorkerPractice

FAULT_CLAIMS = int(os.environ.get("MEDBILL_FAULT_CLAIMS", "5000"))
#: seconds between two kills (drawn uniformly)
KILL_EVERY = (1.0, 3.0)
WORKERS = 4

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (see conftest)."""


@pytest.fixture
def clearinghouse(tmp_path: Path) -> Iterator[Any]:
    from medbill_demo.simulation import DemoClearinghouse

    with DemoClearinghouse(tmp_path) as server:
        yield server


@pytest.fixture
def database(medbill_postgres: Any) -> Iterator[str]:
    name = f"medbill_workers_{uuid.uuid4().hex[:10]}"
    url: str = medbill_postgres.create_database(name)
    try:
        yield url
    finally:
        medbill_postgres.drop_database(name)


@contextlib.contextmanager
def _practice(tmp_path: Path, database: str, clearinghouse: Any, claims: int
              ) -> Iterator[WorkerPractice]:
    practice = WorkerPractice.create(tmp_path, database, clearinghouse, claims)
    try:
        yield practice
    finally:
        practice.stop_workers()


def _check_outcome(practice: WorkerPractice) -> None:
    """What must hold after any cycle, killed workers or not."""
    # each claim batched into one outbox file, every file sent (and answered)
    files = practice.sql("select claim_numbers, status from submissions")
    batched = Counter(number for numbers, _ in files
                      for number in (json.loads(numbers) if isinstance(numbers, str)
                                     else numbers))
    assert batched and set(batched.values()) == {1}
    assert not {status for _, status in files} & {"pending", "sending", "refused"}, files
    # the simulator received every claim exactly once (replays of a file are not stored)
    received = Counter(number for (number,) in practice.simulator(
        "select claim_number from claims"))
    assert received == batched
    # every 835 stored and posted once; each remittance once; the money the payers sent is
    # the money posted
    fed = {document for (document,) in practice.simulator(
        "select document_id from documents where kind = '835'")}
    stored = practice.sql("select document_id, status from inbound_documents "
                          "where kind = '835'")
    assert sorted(document for document, _ in stored) == sorted(fed)
    assert {status for _, status in stored} == {"applied"}
    # (medbill keeps money in cents)
    remittances = [(trace, int(Decimal(amount) * 100)) for trace, amount in
                   practice.simulator("select trace_number, amount from remittances")]
    posted = practice.sql("select trace_number, payment_amount from remittances")
    assert sorted(remittances) == sorted(posted)
    paid = practice.sql("select coalesce(sum(amount), 0) from ledger_entries "
                        "where kind = 'payer_payment'")[0][0]
    # an 835 pays its claims less its PLB provider adjustments (BPR02 = claim payments -
    # PLB: a recoupment lowers it, interest raises it); the claims' payments are in the
    # ledger, the PLB amounts in provider_adjustments, each posted once (unique key)
    adjusted = practice.sql("select coalesce(sum(amount), 0) from provider_adjustments")[0][0]
    assert abs(paid) == sum(cents for _, cents in remittances) + adjusted
    # no claim waits: each is final or names who acts next
    states = dict(practice.sql("select state, count(*) from claims group by state"))
    assert not set(states) & set(WAITING), states
    # the ledger balances to the cent
    from medbill_core.app import Medbill
    from medbill_core.config import load_config

    app = Medbill.open(load_config(str(practice.config)))
    try:
        with app.unit_of_work(read_only=True) as work:
            assert work.ledger.totals().is_balanced()
    finally:
        app.close()
    # no job stuck (what the stopped workers left queued was done by finish_queue); none
    # failed but those of a killed worker whose twin (same key) was waiting already, and did
    # the work
    jobs = dict(practice.sql("select status::text, count(*) from procrastinate_jobs "
                             "group by status"))
    assert set(jobs) <= {"succeeded", "failed"}, jobs
    orphans = practice.sql(
        "select id, task_name from procrastinate_jobs failed where status = 'failed' and "
        "not exists (select 1 from procrastinate_jobs twin where twin.status = 'succeeded' "
        "and twin.queueing_lock = failed.queueing_lock and twin.id > failed.id)")
    assert not orphans, orphans
    logs = practice.logs()
    for word in ("IntegrityError", "UniqueViolation", "internal error"):
        assert word not in logs, logs[-3000:]


@pytest.mark.slow
def test_a_cycle_survives_workers_killed_at_random(tmp_path: Path, database: str,
                                                    clearinghouse: Any) -> None:
    with _practice(tmp_path, database, clearinghouse, FAULT_CLAIMS) as practice:
        for _ in range(WORKERS):
            practice.start_worker()
        chance = random.Random(14)
        kills: list[float] = []
        next_kill = [time.monotonic() + chance.uniform(*KILL_EVERY)]

        def maybe_kill() -> None:
            if time.monotonic() >= next_kill[0]:
                practice.kill_one(chance.randrange(len(practice.workers)))
                kills.append(time.monotonic())
                next_kill[0] = time.monotonic() + chance.uniform(*KILL_EVERY)

        practice.run_cycle(timeout=max(300, FAULT_CLAIMS * 0.2), tick=maybe_kill)
        practice.enqueue("statements", "--out", str(tmp_path / "statements"))
        # the statement run (~3,000 statements for 5,000 claims) keeps what each attempt
        # committed; on a loaded machine, its worker killed every ~8 s, it needed over 120 s
        practice.drain(max(120, FAULT_CLAIMS * 0.06), maybe_kill)
        practice.stop_workers()
        assert len(kills) >= 4, f"only {len(kills)} workers were killed"
        practice.finish_queue()
        _check_outcome(practice)
        statements = practice.sql("select filename from statements")
        assert statements
        assert len({name for (name,) in statements}) == len(statements)


@pytest.mark.slow
def test_four_workers_do_each_piece_of_work_once(tmp_path: Path, database: str,
                                                 clearinghouse: Any) -> None:
    with _practice(tmp_path, database, clearinghouse, 120) as practice:
        # one job of a kind waits: enqueued again (no worker has taken it yet), it is not
        # enqueued twice
        practice.enqueue("scrub")
        again = practice.medbill("jobs", "enqueue", "scrub")
        assert again.returncode == 0 and "already waiting" in again.stdout
        for _ in range(WORKERS):
            practice.start_worker()
        practice.drain(180)
        practice.run_cycle(timeout=180)
        # the scheduled jobs, asked for now: eligibility re-checks of coverages never checked
        # (a 270/271 each, audited), status follow-ups (no claim waits at a payer: none asked)
        practice.enqueue("eligibility", "--days", "1")
        practice.enqueue("followups", "--days", "1")
        practice.drain(180)
        practice.stop_workers()
        practice.finish_queue()
        _check_outcome(practice)
        checked = practice.sql("select count(distinct entity_id) from audit_events "
                               "where action = 'eligibility.check'")[0][0]
        patients = practice.sql("select count(distinct patient_id) from coverages")[0][0]
        assert 0 < checked <= patients
        assert practice.sql("select count(*) from audit_events "
                            "where action = 'claim.status_followup'") == [(0,)]


def test_db_upgrade_applies_the_job_tables_once(tmp_path: Path, database: str,
                                                clearinghouse: Any) -> None:
    with _practice(tmp_path, database, clearinghouse, 1) as practice:
        assert practice.sql("select count(*) from procrastinate_jobs") == [(0,)]
        again = practice.medbill("db", "upgrade")
        assert again.returncode == 0, again.stderr
        listed = practice.medbill("jobs", "list", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout) == []

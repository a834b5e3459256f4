"""Several medbill processes at the same time (issue 11, items 1 and 2).

Real processes (``medbill`` commands, started together behind a barrier: see
``concurrent_cli.py``) against a real PostgreSQL database or SQLite file, with the clearinghouse
simulator on loopback:

- any number of ``claims submit`` batch each validated claim once and send each outbox file
  once (the simulator counts the POSTs);
- a sender killed mid-send leaves its file "sending" under a lease: nobody sends it again until
  the lease expires, then the next run does (same bytes, same idempotency key);
- concurrent ``responses fetch``, ``remit post`` of one file and ``statements run``: one process
  does the work, the others say in one line that it is already done, exit 0, no traceback.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from medbill_core.testing.cli import ok

SAMPLES = Path(__file__).resolve().parents[3] / "docs" / "samples"
RUNNER = Path(__file__).with_name("concurrent_cli.py")
API_KEY = "concurrency-test-key-0001"
SEEN = date.today() - timedelta(days=10)
PROCESSES = 4
#: (patient account, payer) of each visit: three acme patients and a Medicare one, two files
VISITS = [(account, payer) for account, payer in (
    ("RB10001", "acme"), ("RB10002", "acme"), ("RB10003", "acme"), ("RB10005", "medicare"))
    for _ in range(4)]


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (see conftest)."""


@dataclass
class Office:
    """A practice set up through the command line, its database and its clearinghouse."""

    config: Path
    database_url: str
    clearinghouse: Any
    folder: Path

    def sql(self, statement: str, **values: Any) -> list[tuple]:
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as connection:
                result = connection.execute(text(statement), values)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def expire_leases(self) -> None:
        """As if the leases of files being sent were taken an hour ago."""
        from sqlalchemy import update

        from medbill_core.storage.schema import SubmissionRow

        engine = create_engine(self.database_url)
        try:
            with engine.begin() as connection:
                connection.execute(update(SubmissionRow).where(
                    SubmissionRow.status == "sending").values(
                    lease_until=datetime.now(UTC) - timedelta(minutes=1)))
        finally:
            engine.dispose()

    def simulator(self, statement: str) -> list[tuple]:
        with sqlite3.connect(self.clearinghouse.state) as connection:
            return connection.execute(statement).fetchall()

    def batch_posts(self) -> int:
        """Claim files POSTed to the clearinghouse (every attempt, replayed or not)."""
        return self.simulator("select count(*) from request_log where method = 'POST' "
                              "and path = '/v1/claims/batches'")[0][0]

    def claim_states(self) -> dict[str, str]:
        listed = json.loads(ok(self.config, "claims", "list", "--limit", "500", "--json")
                            .stdout)["claims"]
        return {claim["claim_number"]: claim["state"] for claim in listed}

    def payment_run(self) -> None:
        httpx.post(f"{self.clearinghouse.base_url}/v1/payment-runs",
                   headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30
                   ).raise_for_status()


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str


def together(office: Office, *args: str, processes: int = PROCESSES) -> list[Finished]:
    """``medbill ARGS`` in ``processes`` processes that start their command at the same
    moment; what each printed and its exit code."""
    go = office.folder / f"go-{uuid.uuid4().hex[:8]}"
    environment = {**os.environ, "MEDBILL_TRACEBACK": "1", "COLUMNS": "200"}
    started = [subprocess.Popen([sys.executable, str(RUNNER), str(go), "--config",
                                 str(office.config), *args],
                                cwd=office.folder, env=environment, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(processes)]
    deadline = time.monotonic() + 60
    while len(list(office.folder.glob(f"{go.name}.ready-*"))) < processes:
        assert time.monotonic() < deadline, "the processes never got ready"
        assert all(p.poll() is None for p in started), [p.communicate() for p in started]
        time.sleep(0.01)
    go.touch()
    finished = []
    for process in started:
        stdout, stderr = process.communicate(timeout=120)
        finished.append(Finished(process.returncode, stdout, stderr))
    return finished


def no_tracebacks(finished: list[Finished]) -> None:
    for result in finished:
        assert "Traceback" not in result.stderr + result.stdout, result.stderr
        assert "internal error" not in result.stderr, result.stderr
        assert result.code == 0, (result.code, result.stdout, result.stderr)


def _visits() -> list[dict[str, Any]]:
    visits = []
    for index, (account, payer) in enumerate(VISITS, start=1):
        seen = (SEEN - timedelta(days=index)).isoformat()
        diagnosis = "I10" if payer == "medicare" else "E11.9"
        visits.append({
            "claim_number": f"RACE-{index}", "account_number": account, "payer_key": payer,
            "billing_provider_npi": "1234567893", "place_of_service": "11",
            "service_date_from": seen, "service_date_to": seen, "diagnoses": [diagnosis],
            "lines": [{"line_number": 1, "procedure_code": "99213", "units": "1",
                       "charge": "125.00", "diagnosis_pointers": [1],
                       "service_date_from": seen}]})
    return visits


def _office(database_url: str, folder: Path, clearinghouse: Any) -> Office:
    """`medbill init`, pointed at the database and the simulator, with the sample patients and
    sixteen validated claims."""
    config = folder / "medbill.toml"
    ok(config, "init")
    settings = config.read_text(encoding="utf-8")
    settings = re.sub(r'(?m)^database_url = ".*"$', f'database_url = "{database_url}"',
                      settings, count=1)
    settings = re.sub(r'(?m)^base_url = ".*"$', f'base_url = "{clearinghouse.base_url}"',
                      settings, count=1)
    settings, keys = re.subn(r'(?m)^api_key = ".*"$', f'api_key = "{API_KEY}"', settings,
                             count=1)
    if not keys:
        settings = settings.replace(f'base_url = "{clearinghouse.base_url}"',
                                    f'base_url = "{clearinghouse.base_url}"\n'
                                    f'api_key = "{API_KEY}"')
    config.write_text(settings, encoding="utf-8")
    ok(config, "db", "upgrade")
    ok(config, "patients", "import", str(SAMPLES / "patients.csv"))
    ok(config, "coverages", "import", str(SAMPLES / "coverages.csv"))
    visits = folder / "visits.json"
    visits.write_text(json.dumps(_visits()), encoding="utf-8")
    ok(config, "claims", "import", str(visits))
    scrub = json.loads(ok(config, "claims", "scrub", "--json").stdout)
    assert scrub["clean"] == len(VISITS), scrub
    return Office(config, database_url, clearinghouse, folder)


@pytest.fixture
def clearinghouse(tmp_path: Path) -> Iterator[Any]:
    from medbill_clearinghouse_mock.simulator.config import ApiKey, default_config
    from medbill_clearinghouse_mock.simulator.server import BackgroundServer

    config = default_config().model_copy(
        update={"api_keys": [ApiKey(key=API_KEY, account="demo")]})
    with BackgroundServer(config, tmp_path / "clearinghouse.db") as server:
        yield server


@pytest.fixture
def office(medbill_db_url: str, tmp_path: Path, clearinghouse: Any) -> Office:
    """On each backend: SQLite file and PostgreSQL."""
    return _office(medbill_db_url, tmp_path, clearinghouse)


@pytest.fixture
def pg_office(medbill_postgres: Any, tmp_path: Path, clearinghouse: Any) -> Iterator[Office]:
    """On PostgreSQL only (where losers used to meet a unique key)."""
    name = f"medbill_race_{uuid.uuid4().hex[:10]}"
    url = medbill_postgres.create_database(name)
    try:
        yield _office(url, tmp_path, clearinghouse)
    finally:
        medbill_postgres.drop_database(name)


# -- item 1: submitting ---------------------------------------------------------------------------

def test_concurrent_submitters_batch_and_send_each_claim_once(office: Office) -> None:
    finished = together(office, "claims", "submit", "--json")
    no_tracebacks(finished)
    # each claim is in exactly one outbox file
    files = office.sql("select id, claim_numbers, status from submissions order by id")
    in_files = Counter(number for _, numbers, _ in files
                       for number in (json.loads(numbers) if isinstance(numbers, str)
                                      else numbers))
    assert in_files == Counter({f"RACE-{i}": 1 for i in range(1, len(VISITS) + 1)})
    assert len(files) == 2 and {status for _, _, status in files} == {"sent"}
    # the clearinghouse received each file exactly once: one POST each, one claim each
    assert office.batch_posts() == len(files)
    assert office.simulator("select count(*) from submissions")[0][0] == len(files)
    received = Counter(number for (number,) in office.simulator(
        "select claim_number from claims"))
    assert set(received.values()) == {1} and len(received) == len(VISITS)
    # what each process reports adds up to the files: none sent twice
    reported = [outcome for result in finished for outcome in json.loads(result.stdout)]
    assert sorted(o["submission"] for o in reported) == sorted(i for i, _, _ in files)
    assert set(office.claim_states().values()) == {"submitted"}
    # and the payer adjudicates each claim once: no duplicate (CO-18) denials
    office.payment_run()
    ok(office.config, "responses", "fetch")
    assert "denied" not in set(office.claim_states().values())
    assert office.simulator("select count(*) from claims")[0][0] == len(VISITS)


def _sending(office: Office) -> list[tuple]:
    return office.sql("select id, status from submissions where status = 'sending'")


def test_a_killed_sender_is_resent_after_its_lease_expires_and_not_before(
        office: Office) -> None:
    from medbill_clearinghouse_mock.simulator.config import FaultRule

    # the clearinghouse takes the first file, then answers a long time later: the sender is
    # killed while it waits (the file was received; medbill does not know it). The request log
    # of that POST is written when its answer ends, after this test: only later POSTs count.
    office.clearinghouse.simulator.faults.replace([FaultRule(
        endpoint="submit", kind="latency", seconds=120, phase="after")])
    environment = {**os.environ, "MEDBILL_TRACEBACK": "1"}
    sender = subprocess.Popen([sys.executable, "-c", "from medbill_core.cli.main import run; run()",
                               "--config", str(office.config), "claims", "submit"],
                              cwd=office.folder, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not office.simulator("select count(*) from submissions")[0][0]:
            assert time.monotonic() < deadline and sender.poll() is None
            time.sleep(0.05)
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
    office.clearinghouse.simulator.faults.replace([])
    [(file_id, _)] = _sending(office)
    posts = office.batch_posts()
    # another run while the lease holds: the file is left alone (it may still be on its way);
    # the other payer's file, never taken by the killed sender, is sent
    held = ok(office.config, "claims", "submit")
    assert office.batch_posts() == posts + 1
    assert _sending(office) == [(file_id, "sending")]
    assert "being sent by another medbill process, left to it" in " ".join(held.stderr.split())
    outbox = json.loads(ok(office.config, "claims", "outbox", "--json").stdout)
    [shown] = [item for item in outbox if item["submission_id"] == file_id]
    assert shown["status"] == "sending" and shown["lease_until"]
    listing = ok(office.config, "claims", "outbox").stdout
    assert "sending (until" in listing
    # the lease runs out (the sender is gone): the next run sends the file again, with the same
    # idempotency key, and the clearinghouse answers with its first receipt
    office.expire_leases()
    assert "sending (lease expired" in ok(office.config, "claims", "outbox").stdout
    ok(office.config, "claims", "submit")
    assert office.batch_posts() == posts + 2
    assert _sending(office) == []
    assert {status for (status,) in office.sql("select status from submissions")} == {"sent"}
    assert office.simulator("select count(*) from submissions")[0][0] == 2
    assert set(office.claim_states().values()) == {"submitted"}


# -- item 2: the losers of a race exit cleanly ----------------------------------------------------

def _answered(office: Office) -> None:
    """Claims sent, and the payer has answered: 999s, 277CAs and 835s wait in the feed."""
    ok(office.config, "claims", "submit")
    office.payment_run()


def _postings(office: Office) -> list[tuple]:
    return office.sql("select posting_key from postings order by posting_key")


def test_concurrent_fetches_apply_each_document_once(pg_office: Office) -> None:
    _answered(pg_office)
    finished = together(pg_office, "responses", "fetch", "--json")
    no_tracebacks(finished)
    documents = pg_office.sql("select document_id, status from inbound_documents")
    fed = {document_id for (document_id,) in pg_office.simulator(
        "select document_id from documents")}
    # every document stored once (the unique key) and applied once, by one of the processes
    assert sorted(d for d, _ in documents) == sorted(fed)
    assert {status for _, status in documents} == {"applied"}
    reports = [item for result in finished for item in json.loads(result.stdout)]
    applied = Counter(item["document_id"] for item in reports if item["status"] == "applied")
    assert applied == Counter(dict.fromkeys(fed, 1))
    # the others say so in words: done by another process, not an error
    for item in reports:
        if item["status"] != "applied":
            assert item["status"] == "duplicate", item
    states = pg_office.claim_states()
    assert "denied" not in states.values() and "submitted" not in states.values(), states
    # posting again changes nothing: everything was posted exactly once
    before = _postings(pg_office)
    ok(pg_office.config, "responses", "fetch")
    assert _postings(pg_office) == before


def test_concurrent_posts_of_one_835_post_it_once(office: Office) -> None:
    _answered(office)
    [(content,)] = office.simulator(
        "select content from documents where content like '%~ST*835*%' order by seq limit 1")
    remittance = office.folder / "era.835"
    remittance.write_text(content, encoding="utf-8")
    finished = together(office, "remit", "post", str(remittance))
    no_tracebacks(finished)
    lines = [result.stdout.strip() for result in finished]
    assert all(len(line.splitlines()) == 1 for line in lines), lines
    posted = [line for line in lines if line.startswith("era.835: applied")]
    assert len(posted) == 1, lines
    for line in lines:
        if line not in posted:
            assert line.startswith("era.835: duplicate — already"), line
    assert office.sql("select count(*) from inbound_documents")[0][0] == 1
    assert len(office.sql("select id from remittances")) == 1
    before = _postings(office)
    assert before
    again = ok(office.config, "remit", "post", str(remittance)).stdout
    assert "duplicate" in again and _postings(office) == before


def test_concurrent_statement_runs_produce_each_statement_once(pg_office: Office) -> None:
    _answered(pg_office)
    ok(pg_office.config, "responses", "fetch")
    cycle = date.today().strftime("%Y-%m")
    out = pg_office.folder / "statements"
    finished = together(pg_office, "statements", "run", "--cycle", cycle, "--out", str(out))
    no_tracebacks(finished)
    statements = pg_office.sql("select statement_number, filename from statements")
    assert statements, "nothing to bill: the test needs patient balances"
    # one statement per guarantor, each rendered once, whichever process produced it
    assert sorted(path.name for path in out.iterdir()) == sorted(f for _, f in statements)
    produced = [int(re.search(r"(\d+) statements produced", result.stdout).group(1))
                for result in finished]
    assert sum(produced) == len(statements), [r.stdout for r in finished]
    # a run that found a statement done by another says so (which way depends on timing:
    # refused by the unique key as the other committed, or -- when the machine is so busy
    # that one run started after the other had finished -- done before it looked, which it
    # cannot tell from a run earlier today)
    for result, count in zip(finished, produced, strict=True):
        if not count:
            assert "already" in result.stdout, result.stdout
    again = json.loads(ok(pg_office.config, "statements", "run", "--cycle", cycle, "--out",
                          str(out), "--json").stdout)
    assert again["produced"] == []


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([__file__, "-q"]))

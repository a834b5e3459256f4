"""A long 835 on SQLite posts in parts that commit on their own (issue 11, item 3).

Real processes on a real SQLite file: ``medbill remit post`` of a 300-claim 835 while other
processes read (``claims list``) and write; a posting killed after its first part committed
and started again ends with the same money as a posting never interrupted. What is checked
is what each process saw, never how long it took: a reader that saw the posting half done
was not blocked by it, a writer that wrote while the posting was half done did not wait for
the whole of it (and none failed with "database is locked").
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from remit_support import (
    claim_number,
    open_app,
    paid,
    posted_claim_payments,
    remittance,
    seed_claims,
    write_config,
)
from remit_support import x12_835 as make_835

CLAIMS = 300
MEDBILL = Path(sys.executable).with_name("medbill")
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a database of CLAIMS accepted claims and an 835 paying each of them."""
    folder = tmp_path_factory.mktemp("seeded")
    app = open_app(write_config(folder, folder / "medbill.db"))
    try:
        seed_claims(app, CLAIMS)
    finally:
        app.close()
    payments = [paid(claim_number(index)) for index in range(CLAIMS)]
    (folder / "big.835").write_text(make_835(remittance("EFT-CHUNKS", payments)),
                                    encoding="utf-8")
    return folder


def practice(seeded: Path, folder: Path) -> Path:
    """A copy of the seeded practice in ``folder``; its configuration file."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(seeded / "medbill.db", folder / "medbill.db")
    shutil.copy(seeded / "big.835", folder / "big.835")
    return write_config(folder, folder / "medbill.db")


def env(part_claims: int = 50) -> dict[str, str]:
    """The environment of every process; parts of 50 claim payments at most, so that the
    posting has several parts on a fast machine too."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDBILL_")}
    return {**clean, "MEDBILL_POSTING_PART_CLAIMS": str(part_claims)}


def start_posting(config: Path, part_claims: int = 50) -> subprocess.Popen[str]:
    return subprocess.Popen([str(MEDBILL), "--config", str(config), "remit", "post",
                             str(config.parent / "big.835")], cwd=config.parent,
                            env=env(part_claims),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# A process reading (claims list through the real command) or writing (one audit event per
# transaction) in a loop until the stop file appears; one JSON line per attempt.
WORKER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    config, mode, out, stop = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    from sqlalchemy import select
    from typer.testing import CliRunner
    from medbill_core import audit
    from medbill_core.cli.main import build_app
    from medbill_core.storage.schema import InboundDocumentRow
    from remit_support import open_app, posted_claim_payments
    app, cli, runner = open_app(config), build_app(), CliRunner()
    database = config.parent / "medbill.db"
    with out.open("w") as report:
        for attempt in range(10000):
            if stop.exists() and attempt >= 3:
                break
            if mode == "read":
                result = runner.invoke(cli, ["--config", str(config), "claims", "list",
                                             "--limit", "10000", "--json"])
                line = {{"exit": result.exit_code, "error": result.stderr[-300:]}}
                if result.exit_code == 0:
                    claims = json.loads(result.stdout)["claims"]
                    line["paid"] = sum(c["state"] != "accepted" for c in claims)
                # The command above takes long enough to miss a fast posting between two
                # reads; plain counts in between sample the ledger often (read-only, WAL).
                line["payments"] = []
                for _ in range(20):
                    line["payments"].append(posted_claim_payments(database))
                    time.sleep(0.01)
            else:
                try:
                    with app.unit_of_work() as work:
                        line = {{"exit": 0, "document": work.session.scalar(
                            select(InboundDocumentRow.status))}}
                        audit.record(work.session, actor="writer", action="test.write",
                                     entity_type="test", entity_id=attempt)
                except Exception as exc:
                    line = {{"exit": 1, "error": type(exc).__name__ + ": " + str(exc)[:200]}}
                time.sleep(0.02)
            report.write(json.dumps(line) + "\\n")
            report.flush()
""").format(tests=str(TESTS))


def start_worker(config: Path, mode: str, stop: Path) -> tuple[subprocess.Popen[str], Path]:
    out = config.parent / f"{mode}.jsonl"
    process = subprocess.Popen([sys.executable, "-c", WORKER, str(config), mode, str(out),
                                str(stop)], env=env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    return process, out


def test_readers_and_writers_are_not_locked_out_by_a_long_posting(seeded: Path,
                                                                  tmp_path: Path) -> None:
    config = practice(seeded, tmp_path / "busy")
    stop = tmp_path / "stop"
    reader, read_log = start_worker(config, "read", stop)
    writer, write_log = start_worker(config, "write", stop)
    try:
        while not (read_log.exists() and write_log.exists()):  # both started their loops
            time.sleep(0.1)
        # small parts: many commits, so that the posting lasts long enough to be seen half
        # done by the loops around it on a fast machine too
        posting = start_posting(config, part_claims=5)
        out, err = posting.communicate(timeout=300)
    finally:
        stop.touch()
        for worker in (reader, writer):
            worker.communicate(timeout=300)
    assert posting.returncode == 0, err
    assert f"{CLAIMS} posted, 0 already posted" in out
    reads = [json.loads(line) for line in read_log.read_text().splitlines()]
    writes = [json.loads(line) for line in write_log.read_text().splitlines()]
    assert [r for r in reads if r["exit"] != 0] == []  # never "database is locked"
    assert [w for w in writes if w["exit"] != 0] == []
    # a reader saw the posting half done: it ran while the posting held the write lock
    every_payment = posted_claim_payments(config.parent / "medbill.db")
    assert every_payment > 0
    assert any(0 < r.get("paid", 0) < CLAIMS or any(0 < n < every_payment for n in r["payments"])
               for r in reads), reads
    # a writer wrote while the 835 was half posted: it waited for a part, not the whole
    assert "posting" in {w["document"] for w in writes}, writes


def balances(config: Path) -> list[tuple[str, str, str, str]]:
    app = open_app(config)
    try:
        with app.unit_of_work(read_only=True) as work:
            result = []
            for claim in work.claims.list(limit=10000):
                balance = work.ledger.claim_balance(claim.id)
                result.append((claim.claim_number, claim.state.value, str(balance.insurance),
                               str(balance.patient)))
            totals = work.ledger.totals()
            result.append(("ledger", str(totals.charges), str(totals.payments),
                           str(totals.adjustments)))
            return result
    finally:
        app.close()


def register_row(config: Path) -> tuple[object, ...]:
    with sqlite3.connect(config.parent / "medbill.db") as connection:
        return connection.execute(
            "SELECT status, payment_amount, posted_count, posted_total, duplicate_count, "
            "exception_count FROM remittances").fetchone()


def test_a_posting_killed_midway_finishes_when_posted_again(seeded: Path,
                                                             tmp_path: Path) -> None:
    whole = practice(seeded, tmp_path / "whole")
    result = subprocess.run([str(MEDBILL), "--config", str(whole), "remit", "post",
                             str(whole.parent / "big.835")], env=env(), capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr

    broken = practice(seeded, tmp_path / "broken")
    database = broken.parent / "medbill.db"
    posting = start_posting(broken)
    try:
        while posting.poll() is None and posted_claim_payments(database) == 0:
            time.sleep(0.02)
        posting.send_signal(signal.SIGKILL)  # right after its first part committed
    finally:
        posting.communicate(timeout=60)
    assert posting.returncode == -signal.SIGKILL
    done = posted_claim_payments(database)
    assert 0 < done < CLAIMS
    with sqlite3.connect(database) as connection:
        status, detail = connection.execute(
            "SELECT status, detail FROM inbound_documents").fetchone()
    assert status == "posting"
    assert detail.startswith("posting: ") and f" of {CLAIMS} claim payments done" in detail
    assert register_row(broken)[0] == "posting"

    again = subprocess.run([str(MEDBILL), "--config", str(broken), "remit", "post",
                            str(broken.parent / "big.835")], env=env(), capture_output=True,
                           text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert f"{CLAIMS - done} posted, {done} already posted, 0 unmatched" in again.stdout
    assert posted_claim_payments(database) == CLAIMS
    assert balances(broken) == balances(whole)
    assert balances(whole)[0] == (claim_number(0), "patient_balance", "0.00", "20.00")
    assert register_row(broken) == register_row(whole) == ("balanced", 3000000, CLAIMS,
                                                           3000000, 0, 0)
    # and once finished, the file is a duplicate like any other
    third = subprocess.run([str(MEDBILL), "--config", str(broken), "remit", "post",
                            str(broken.parent / "big.835")], env=env(), capture_output=True,
                           text=True, timeout=300, check=False)
    assert (third.returncode, third.stdout.strip()) == (0, "big.835: duplicate — already received")


def test_a_locked_database_is_one_line_not_a_traceback(seeded: Path, tmp_path: Path) -> None:
    config = practice(seeded, tmp_path / "locked")
    holder = sqlite3.connect(config.parent / "medbill.db", isolation_level=None)
    holder.execute("PRAGMA busy_timeout=1")
    holder.execute("BEGIN IMMEDIATE")  # another program keeps the write lock
    try:
        reading = subprocess.run([str(MEDBILL), "--config", str(config), "claims", "list",
                                  "--limit", "1"], env=env(), capture_output=True, text=True,
                                 timeout=120, check=False)
        posting = subprocess.run([str(MEDBILL), "--config", str(config), "remit", "post",
                                  str(config.parent / "big.835")], env=env(),
                                 capture_output=True, text=True, timeout=120, check=False)
    finally:
        holder.rollback()
        holder.close()
    assert reading.returncode == 0, reading.stderr  # a reader does not need the lock
    assert posting.returncode == 1
    assert posting.stderr.strip().splitlines() == [
        "error: the database is busy with another medbill command (database is locked): "
        "run this again when it has finished"]
    assert posted_claim_payments(config.parent / "medbill.db") == 0

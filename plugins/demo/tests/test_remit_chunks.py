"""A long 835 on SQLite posts in parts that commit on their own (issue 11, item 3).

Real processes on a real SQLite file: a 300-claim 835 posted while other processes read
(``claims list``) and write; a posting killed after its first part committed and started
again ends with the same money as a posting never interrupted. What is checked is what each
process saw, never how long it took: a reader that ran while the posting held the write lock
saw the posting half done (it was not blocked by it), a writer that asked for the lock while
a part held it wrote while the 835 was half posted (it waited for the part, not the whole),
and none failed with "database is locked". The posting is held at known points by a test
plugin (its lifecycle hooks), so no check depends on a sample falling in the right moment
of a loaded machine.
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


# The posting process: ``remit post``'s service (``ingest_document``) with a plugin that
# holds the posting twice at the claim ``hold`` (argv: a claim of a part in the middle): inside
# its part, where the part's transaction holds SQLite's write lock (the claim's transition
# precommit hook), and once that part has committed, before the next part begins (its
# postcommit hook). Each hold waits for the test's go-ahead file (at most 120 s: a test that
# died does not leave it hanging).
POSTING = textwrap.dedent("""
    import hashlib, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    config, signals, hold = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    from medbill_core.api import hookimpl
    from medbill_core.app import Medbill
    from medbill_core.config import load_config
    from medbill_core.domain import InboundDocument
    from medbill_core.services.responses import ingest_document, route_file

    def wait(point):
        (signals / point).touch()
        deadline = time.monotonic() + 120
        while not (signals / (point + ".go")).exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    class Hold:
        @hookimpl
        def medbill_claim_transition_precommit(self, claim, transition, context):
            if claim.claim_number == hold:
                wait("in-part")

        @hookimpl
        def medbill_claim_transition_postcommit(self, claim, transition, context):
            if claim.claim_number == hold:
                wait("between-parts")

    app = Medbill.open(load_config(config), extra_plugins=[("hold", Hold())])
    content = (config.parent / "big.835").read_text(encoding="utf-8")
    document = InboundDocument(channel="file", kind=route_file(content).kind,
                               document_id=hashlib.sha256(content.encode()).hexdigest()[:32],
                               content=content)
    result = ingest_document(app, document)
    print(result.status, "-", result.detail)
""").format(tests=str(TESTS))

# A writer: opens medbill, waits for the test's signal, then writes one audit event in a
# transaction that first reads the 835's status (what the posting had done when the writer
# got the write lock).
WRITER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    config, signals = Path(sys.argv[1]), Path(sys.argv[2])
    from sqlalchemy import select
    from medbill_core import audit
    from medbill_core.storage.schema import InboundDocumentRow
    from remit_support import open_app
    app = open_app(config)
    (signals / "writer-ready").touch()
    while not (signals / "write").exists():
        time.sleep(0.01)
    (signals / "writer-asking").touch()
    with app.unit_of_work() as work:
        status = work.session.scalar(select(InboundDocumentRow.status))
        audit.record(work.session, actor="writer", action="test.write", entity_type="test",
                     entity_id=1)
    print(json.dumps({{"document": status}}))
""").format(tests=str(TESTS))


def wait_for(path: Path, *processes: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until ``path`` exists; fails when one of ``processes`` ended first, or after
    ``timeout`` seconds (only a hang takes that long)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        for process in processes:
            if process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(f"ended before {path.name}: {out}\n{err}")
        assert time.monotonic() < deadline, f"no {path.name} after {timeout:.0f} s"
        time.sleep(0.01)


def write_lock_is_held(database: Path) -> bool:
    connection = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc), exc
        return True
    finally:
        connection.close()
    return False


def test_readers_and_writers_are_not_locked_out_by_a_long_posting(seeded: Path,
                                                                  tmp_path: Path) -> None:
    """The posting is held at known points rather than sampled on a clock: what is checked
    holds however loaded the machine is."""
    config = practice(seeded, tmp_path / "busy")
    database = config.parent / "medbill.db"
    signals = tmp_path / "signals"
    signals.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(config), str(signals)],
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    posting: subprocess.Popen[str] | None = None
    try:
        # the writer opens medbill with upgrade=True (Alembic's look at the schema takes the
        # write lock): done before the posting starts, which then holds that lock as long as
        # the test wants
        wait_for(signals / "writer-ready", writer)
        # small parts, so that the held part is one of many
        posting = subprocess.Popen([sys.executable, "-c", POSTING, str(config), str(signals),
                                    claim_number(CLAIMS // 2)], env=env(part_claims=5),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # 1. held inside a part: the posting holds the write lock, its earlier parts are
        # committed; a reader (the real command) is not blocked and sees them
        wait_for(signals / "in-part", posting)
        assert write_lock_is_held(database)
        reading = subprocess.run([str(MEDBILL), "--config", str(config), "claims", "list",
                                  "--limit", "10000", "--json"], env=env(),
                                 capture_output=True, text=True, timeout=300, check=False)
        assert reading.returncode == 0, reading.stderr  # never "database is locked"
        claims = json.loads(reading.stdout)["claims"]
        paid = sum(claim["state"] != "accepted" for claim in claims)
        assert 0 < paid < CLAIMS
        half_posted = posted_claim_payments(database)
        # 2. a writer asks for the write lock while the part holds it, then the part goes on
        (signals / "write").touch()
        wait_for(signals / "writer-asking", writer)
        assert write_lock_is_held(database)
        (signals / "in-part.go").touch()
        # 3. the part committed, the rest of the 835 not posted yet: the waiting writer gets
        # in (it waited for a part, not the whole posting) and saw the 835 half posted
        wait_for(signals / "between-parts", posting)
        written, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors
        assert json.loads(written) == {"document": "posting"}
        (signals / "between-parts.go").touch()
        out, err = posting.communicate(timeout=300)
    finally:
        for process in (writer, posting):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    assert posting.returncode == 0, err
    assert f"{CLAIMS} posted, 0 already posted" in out
    assert 0 < half_posted < posted_claim_payments(database)
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT status FROM inbound_documents").fetchone() == (
            "applied",)


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

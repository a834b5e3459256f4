"""Fuzzing the X12 commands: hundreds of mutants of real 835, 837P, 999 and 277CA documents
(and some 271s and 277s) through ``medbill x12 parse`` (strict and ``--lenient``), ``medbill
x12 validate`` and ``medbill remit post``.

Every run draws new mutants (hypothesis, not derandomized) of two kinds of seed: documents
written by others (the generic X12 plugin's fixtures) and documents the engine and the
clearinghouse simulator write (the demo's 837P batches, their 999s and 277CAs, and the 835s
that pay them). Most mutations break the structure (segments deleted, repeated, swapped;
elements replaced with hostile text; delimiters, counts, control numbers and bytes changed); a
fifth of the mutants are well-formed 835s saying odd things (valid but absurd amounts,
statuses, codes and dates; claim payments repeated or pointed at another claim), which reach
the posting rules. Each mutant must give, for each command:

- no traceback (an exception escaping a command, or the last-resort guard's "internal error"),
- an answer within 10 s,
- on failure, a one-line ``error: ...`` on stderr (or the command's own answer on stdout),
- for ``remit post``, against a database holding the claims the demo's 835s pay: when the
  command fails, the ledger, the claim states and the remittance records exactly as before.

On failure hypothesis prints the mutant (seed, mutation steps and bytes) and a
``@reproduce_failure`` blob; ``X12_FUZZ_EXAMPLES=5000`` runs longer. What it found is kept
in ``test_fuzz_regressions.py``. It also found what issue 11 items 8 and 9 fix elsewhere
(payer text printed as console markup, control characters in an 835's trace number printed to
the terminal): on a branch without those fixes this test fails on them, now and then.
"""

from __future__ import annotations

import io
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer
import typer.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from medbill_demo.runner import (
    CHANNEL,
    DemoReport,
    demo_config,
    load_data,
    poll,
    scrub_and_submit,
)
from medbill_demo.simulation import API_KEY, DemoClearinghouse
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner, Result
from x12_fuzzing import (
    CRASH_MARKERS,
    CaseTimeout,
    Mutant,
    ledger_snapshot,
    mutants,
    posting_mutants,
    restore_database,
    sample_seeds,
    time_limit,
)

from medbill_core.app import Medbill
from medbill_core.cli.main import application
from medbill_core.config import config_toml
from medbill_core.storage.schema import DocumentStatus, InboundDocumentRow, SubmissionRow

#: Mutants per run of 835, 837P, 999 and 277CA documents (the issue asks for at least 500);
#: 271s and 277s add a fifth as many.
TOTAL_EXAMPLES = int(os.environ.get("X12_FUZZ_EXAMPLES", "500"))
#: Each kind's share of the mutants: the 835 is the one that moves money.
SHARES = {"835": 0.25, "837": 0.2, "999": 0.175, "277CA": 0.175}
#: Well-formed 835s of the engine saying odd things (see ``posting_mutants``): the mutants
#: that reach the posting rules.
POSTING_SHARE = 0.2
#: The other documents ``x12 parse`` reads (eligibility 271, claim status 277, and the
#: requests 270 and 276 a clearinghouse-side user receives), from the samples only, on top: a
#: tenth as many each for the responses, a twentieth for the requests.
EXTRA_SHARES = {"271": 0.1, "277": 0.1, "270": 0.05, "276": 0.05}
#: ``remit post`` is given the responses (an 837 is refused before anything is opened).
POSTED_KINDS = {"835", "999", "277CA", "277"}


@dataclass
class FuzzWorld:
    root: Path
    config: Path
    database: Path
    template: Path
    seeds: dict[str, dict[str, str]]
    app: Any
    command: Any
    before: dict[str, tuple[Any, ...]]


def _engine_documents(out: Path) -> tuple[dict[str, dict[str, str]], Path]:
    """The demo's practice after its claims were sent and acknowledged and the payers ran
    their payments: the 835s fetched but not posted. Returns the documents by kind and the
    database (the claims those 835s pay, in state accepted)."""
    written: dict[str, dict[str, str]] = {kind: {} for kind in SHARES}
    with DemoClearinghouse(out) as clearinghouse:
        config = demo_config(out, clearinghouse.base_url, API_KEY)
        app = Medbill.open(config, upgrade=True)
        try:
            load_data(app, 12, Console(file=io.StringIO()))
            report = DemoReport()
            scrub_and_submit(app, report, "fuzz")
            poll(app, report, "acknowledgments")
            clearinghouse.payment_run()
            remittances = list(app.hooks.fetch_responses(channel=CHANNEL))
            with app.database.reader() as session:
                for row in session.scalars(select(SubmissionRow).order_by(SubmissionRow.id)):
                    written["837"][f"engine/{row.filename}"] = row.content
                for row in session.scalars(select(InboundDocumentRow)
                                           .order_by(InboundDocumentRow.id)):
                    written[row.kind][f"engine/{row.id}.{row.kind}"] = row.content
        finally:
            app.close()
    for number, document in enumerate(remittances, start=1):
        written["835"][f"engine/remittance-{number}.835"] = document.content
    assert all(written.values()), {kind: len(docs) for kind, docs in written.items()}
    assert len(written["835"]) >= 2
    database = out / "medbill-demo.db"
    with closing(sqlite3.connect(database)) as db:  # one file to copy: no write-ahead log
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return written, database


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    saved_env = {name: value for name, value in os.environ.items()
                 if name.startswith("MEDBILL_")}
    for name in saved_env:
        del os.environ[name]
    loggers = [logging.getLogger(name) for name in ("medbill", "medbill_core")]
    saved_loggers = [(logger.level, list(logger.handlers)) for logger in loggers]
    root = tmp_path_factory.mktemp("fuzz")
    cwd = Path.cwd()
    os.chdir(root)
    try:
        written, template = _engine_documents(root)
        seeds = {kind: {**sample_seeds(kind), **written.get(kind, {})}
                 for kind in [*SHARES, *EXTRA_SHARES]}
        database = root / "posting.db"
        restore_database(template, database)
        config = root / "medbill.toml"
        config.write_text(config_toml(demo_config(root, "http://127.0.0.1:9", API_KEY)
                                      .model_copy(update={
                                          "database_url": f"sqlite:///{database}"})),
                          encoding="utf-8")
        app = application(["-c", str(config), "remit", "post"])
        yield FuzzWorld(root, config, database, template, seeds, app,
                        typer.main.get_command(app), ledger_snapshot(template))
    finally:
        os.chdir(cwd)
        os.environ.update(saved_env)
        for logger, (level, handlers) in zip(loggers, saved_loggers, strict=True):
            logger.setLevel(level)
            logger.handlers[:] = handlers


def invoke(world: FuzzWorld, *args: str) -> Result:
    """``medbill -c CONFIG ARGS`` in-process, within the per-case time limit.

    The runner would rebuild the click command tree from the Typer application on every call
    (a tenth of a second, most of a case): it is given the tree built once."""
    with mock.patch.object(typer.testing, "_get_command", lambda _app: world.command), \
            time_limit():
        return CliRunner().invoke(world.app, ["-c", str(world.config), *args])


def check_answer(result: Result, command: str, mutant: Mutant) -> None:
    """No traceback; a failure is one ``error:`` line on stderr or an answer on stdout."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{command}: {type(result.exception).__name__} escaped on "
                             f"{mutant!r}") from result.exception
    assert not CRASH_MARKERS.search(result.output), f"{command}: {result.output}"
    # text from the file reaches a terminal: no escape sequence, no hidden line break
    unprintable = {char for char in result.output if not char.isprintable() and char != "\n"}
    assert not unprintable, f"{command} printed {sorted(unprintable)!r}: {result.output!r}"
    assert result.exit_code in (0, 1, 2), f"{command}: exit {result.exit_code}\n{result.output}"
    if result.exit_code == 0:
        return
    problems = result.stderr.strip().splitlines()
    if problems:
        assert len(problems) == 1 and problems[0].startswith("error: "), \
            f"{command}: {result.stderr}"
    else:
        assert result.stdout.strip(), f"{command}: exit {result.exit_code} without a word"


def run_mutant(world: FuzzWorld, kind: str, mutant: Mutant) -> None:
    path = world.root / "mutant.x12"
    path.write_bytes(mutant.data)
    for command in (("x12", "parse", "--json"), ("x12", "parse", "--lenient", "--json"),
                    ("x12", "validate")):
        check_answer(invoke(world, *command, str(path)), " ".join(command), mutant)
    if kind not in POSTED_KINDS:
        return
    restore_database(world.template, world.database)
    result = invoke(world, "remit", "post", str(path))
    check_answer(result, "remit post", mutant)
    if result.exit_code != 0:
        assert ledger_snapshot(world.database) == world.before, (
            f"remit post failed (exit {result.exit_code}: {result.output.strip()}) but changed "
            "the ledger or claim states")


def _settings(share: float) -> settings:
    return settings(max_examples=max(1, round(TOTAL_EXAMPLES * share)), deadline=None,
                    derandomize=False, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def _fuzz(kind: str) -> Any:
    @_settings(SHARES.get(kind) or EXTRA_SHARES[kind])
    @given(data=st.data())
    def test(world: FuzzWorld, data: Any) -> None:
        mutant = data.draw(mutants(world.seeds[kind]), label="mutant")
        run_mutant(world, kind, mutant)

    test.__name__ = f"test_mutants_of_{kind}_documents_never_crash_hang_or_half_post"
    return test


test_mutants_of_835_documents_never_crash_hang_or_half_post = _fuzz("835")
test_mutants_of_837_documents_never_crash_hang_or_half_post = _fuzz("837")
test_mutants_of_999_documents_never_crash_hang_or_half_post = _fuzz("999")
test_mutants_of_277CA_documents_never_crash_hang_or_half_post = _fuzz("277CA")
test_mutants_of_271_documents_never_crash_hang_or_half_post = _fuzz("271")
test_mutants_of_277_documents_never_crash_hang_or_half_post = _fuzz("277")
test_mutants_of_270_documents_never_crash_hang_or_half_post = _fuzz("270")
test_mutants_of_276_documents_never_crash_hang_or_half_post = _fuzz("276")


@_settings(POSTING_SHARE)
@given(data=st.data())
def test_well_formed_835s_saying_odd_things_post_or_fail_whole(world: FuzzWorld,
                                                               data: Any) -> None:
    mutant = data.draw(posting_mutants(world.seeds["835"]), label="mutant")
    run_mutant(world, "835", mutant)


def test_the_seeds_are_real_documents_the_commands_accept(world: FuzzWorld) -> None:
    """The fuzzer starts from documents that parse (else it would only fuzz the first
    check): every engine-written seed parses strictly, and an unmutated 835 of the demo
    posts its claim payments."""
    for kind, documents in world.seeds.items():
        assert len(documents) >= 3, kind
        assert any(name.startswith("engine/") for name in documents) == (kind in SHARES)
        for name, text in documents.items():
            if not name.startswith("engine/"):
                continue
            path = world.root / "seed.x12"
            path.write_text(text, encoding="utf-8")
            result = invoke(world, "x12", "parse", str(path))
            assert result.exit_code == 0, (name, result.output)
    restore_database(world.template, world.database)
    path = world.root / "seed.x12"
    path.write_text(world.seeds["835"]["engine/remittance-1.835"], encoding="utf-8")
    result = invoke(world, "remit", "post", str(path))
    assert result.exit_code == 0, result.output
    assert "applied" in result.stdout
    assert ledger_snapshot(world.database)["ledger"] != world.before["ledger"]


def test_the_checks_see_a_crash_a_hang_and_a_half_post(world: FuzzWorld,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzer finds little on today's code: its three checks are shown to fire on a
    planted defect each (a decoder raising, a command sleeping, a failed post that kept
    its postings)."""
    import time

    from medbill_payer_generic_x12 import cli as x12_cli

    from medbill_core.cli import cycle_cmd
    from medbill_core.services import responses

    seed = Mutant("engine/remittance-1.835", [],
                  world.seeds["835"]["engine/remittance-1.835"].encode("utf-8"))

    def crashing(text: str, **options: Any) -> Any:
        raise ValueError("planted")

    with monkeypatch.context() as patch:
        patch.setattr(x12_cli, "read_document", crashing)
        with pytest.raises(AssertionError, match="ValueError escaped"):
            run_mutant(world, "835", seed)

    with pytest.raises(CaseTimeout), time_limit(1):
        time.sleep(3)

    def posted_but_failed(*args: Any, **kwargs: Any) -> responses.IngestResult:
        result = responses.ingest_document(*args, **kwargs)
        assert result.status == DocumentStatus.APPLIED
        return responses.IngestResult(result.document_id, DocumentStatus.FAILED, result.kind)

    with monkeypatch.context() as patch:
        patch.setattr(cycle_cmd, "ingest_document", posted_but_failed)
        with pytest.raises(AssertionError, match="changed the ledger"):
            run_mutant(world, "835", seed)

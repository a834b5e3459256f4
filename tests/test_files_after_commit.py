"""A file that goes with a database change is written before the commit and put in place
after it (issue 11 item 10): a letter or statement that cannot be written leaves no row and
no audit event behind, and a transaction that fails leaves no file behind."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from cli_support import BLUECROSS, cli, config_text, ok
from inproc_plugins import make_line_plugin
from sqlalchemy import func, select
from sqlalchemy.orm import SessionTransaction
from test_appeals import ago, denied_claim

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.privatefiles import write_private
from medbill_core.services.statements import run_statements
from medbill_core.storage.schema import AppealRow, StatementRow
from medbill_core.testing import factories


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, object]]:
    return [("lineplug", make_line_plugin())]  # renders statements as text


def self_pay(app: Medbill, number: int, charge: str) -> int:
    """A patient without coverage owing ``charge`` on one claim; the patient's id."""
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        claim = factories.make_claim(patient.id, coverage_id=None, number=f"SP{number}")
        claim = claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=claim.service_date_from, charge=Decimal(charge))]})
        work.claims.create(claim)
    return patient.id


@pytest.fixture
def denied_config(cli_isolation: None, tmp_path: Path) -> tuple[Path, int]:
    """A SQLite instance with a denied claim: (configuration, claim id)."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", extra=BLUECROSS),
                    encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        denied, _ = denied_claim(app, payer="bluecross", on=ago(20))
    finally:
        app.close()
    return path, denied


def _appeal_rows_and_letter_events(config: Path) -> tuple[int, int]:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            rows = work.session.scalar(select(func.count()).select_from(AppealRow))
            events = len(audit.query(work.session, action="appeal.letter"))
    finally:
        app.close()
    return rows, events


def _one_line_error(result: object) -> str:
    assert result.exit_code == 1, result.output  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    return lines[0]


@pytest.mark.parametrize("command", ["appeals", "denials"])
def test_a_letter_that_cannot_be_written_leaves_no_appeal_and_no_audit_event(
        denied_config: tuple[Path, int], tmp_path: Path, command: str) -> None:
    config, denied = denied_config
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("someone's file", encoding="utf-8")
    if command == "appeals":
        args = ["appeals", "open", str(denied)]
    else:
        denial = json.loads(ok(config, "denials", "list", "--json").stdout)[0]["id"]
        args = ["denials", "appeal", str(denial)]

    error = _one_line_error(cli(config, *args, "--reason", "notes", "--letter", str(blocker)))
    assert str(blocker) in error
    assert _appeal_rows_and_letter_events(config) == (0, 0)
    assert blocker.read_text(encoding="utf-8") == "someone's file"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []

    # nothing was opened, so the appeal can be opened (with its letter) now
    letters = tmp_path / "letters"
    out = ok(config, *args, "--reason", "notes", "--letter", str(letters)).stdout
    assert "appeal 1: claim" in out
    assert [p.name.startswith("appeal-1-") for p in letters.iterdir()] == [True]
    assert _appeal_rows_and_letter_events(config) == (1, 1)


def test_a_statement_whose_transaction_fails_leaves_no_file(
        medbill_app: Medbill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    self_pay(medbill_app, 41, "60.00")
    out = tmp_path / "statements"

    real_commit = SessionTransaction.commit

    def refuse_statements(self: SessionTransaction, *args: object, **kwargs: object) -> object:
        outer = self._parent is None  # a flush commits a subtransaction of its own
        # a transaction that recorded statements (inserted as rows, not always as objects of
        # the session): there was none before
        if outer and self.session.scalar(select(func.count()).select_from(StatementRow)):
            raise RuntimeError("the database went away at commit")
        return real_commit(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(SessionTransaction, "commit", refuse_statements)
        with pytest.raises(RuntimeError):
            run_statements(medbill_app, cycle="C9", out_dir=out, renderer="text")
    assert list(out.iterdir()) == []
    with medbill_app.unit_of_work() as work:
        assert work.session.scalar(select(func.count()).select_from(StatementRow)) == 0

    produced = run_statements(medbill_app, cycle="C9", out_dir=out, renderer="text")
    assert [p.name for p in out.iterdir()] == [f.name for f in produced.files]
    assert len(produced.files) == 1


def test_a_statement_that_cannot_be_written_leaves_no_row(
        medbill_app: Medbill, tmp_path: Path) -> None:
    patient_id = self_pay(medbill_app, 42, "60.00")
    out = tmp_path / "statements"
    out.mkdir()
    (out / f"statement-C8-P{patient_id:07d}.txt").mkdir()  # a folder where the file goes
    with pytest.raises(IsADirectoryError):
        run_statements(medbill_app, cycle="C8", out_dir=out, renderer="text")
    with medbill_app.unit_of_work() as work:
        assert work.session.scalar(select(func.count()).select_from(StatementRow)) == 0


def test_files_are_published_only_when_the_block_succeeds(tmp_path: Path) -> None:
    from medbill_core.privatefiles import publish_after

    with pytest.raises(ValueError), publish_after() as files:
        files.write(tmp_path / "a.txt", "first")
        raise ValueError("rolled back")
    assert list(tmp_path.iterdir()) == []
    with publish_after() as files:
        files.write(tmp_path / "a.txt", "second")
        assert [p.name.endswith(".partial") for p in tmp_path.iterdir()] == [True]
    assert [(p.name, p.read_text()) for p in tmp_path.iterdir()] == [("a.txt", "second")]


def test_a_failed_write_keeps_the_old_file_whole(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "statement.txt"
    write_private(target, "old balance 10.00")

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError):
        write_private(target, "new balance 99.00")
    assert [(p.name, p.read_text()) for p in tmp_path.iterdir()] == [
        ("statement.txt", "old balance 10.00")]


def test_files_written_together_are_published_all_or_none(tmp_path: Path) -> None:
    """``write_many`` (a statement run's transaction of statements): every file staged and
    flushed to disk before the block ends, published after it; one that cannot be written
    leaves none of the others behind."""
    from medbill_core.privatefiles import publish_after

    names = [f"s{n}.txt" for n in range(12)]
    with publish_after() as files:
        files.write_many([(tmp_path / name, f"balance {n}") for n, name in enumerate(names)])
        assert all(p.name.endswith(".partial") for p in tmp_path.iterdir())
    assert sorted((p.name, p.read_text()) for p in tmp_path.iterdir()) == sorted(
        (name, f"balance {n}") for n, name in enumerate(names))
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in tmp_path.iterdir())
    later = tmp_path / "later"
    later.mkdir()
    (later / "b.txt").mkdir()  # a folder where the second file goes
    with pytest.raises(IsADirectoryError), publish_after() as files:
        files.write_many([(later / "a.txt", "1"), (later / "b.txt", "2"),
                          (later / "c.txt", "3")])
    assert [p.name for p in later.iterdir()] == ["b.txt"]

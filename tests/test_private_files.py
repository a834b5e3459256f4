"""Files holding PHI are owner-only from their creation, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from medbill_core.privatefiles import create_private, private_dir, write_private
from medbill_core.storage.database import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: anything not owner-only is medbill's doing."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_written_files_and_created_folders_are_owner_only(tmp_path: Path) -> None:
    folder = private_dir(tmp_path / "out" / "statements")
    write_private(folder / "s.pdf", b"%PDF-")
    write_private(folder / "s.txt", "balance due")
    assert (mode(folder), mode(folder / "s.pdf"), mode(folder / "s.txt")) == (0o700, 0o600, 0o600)
    assert (folder / "s.txt").read_text() == "balance due"


@pytest.mark.usefixtures("open_umask")
def test_an_existing_file_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared.txt"
    shared.write_text("old")
    shared.chmod(0o640)  # a billing office sharing with its group on purpose
    write_private(shared, "new")
    create_private(shared)
    assert (mode(shared), shared.read_text()) == (0o640, "new")


@pytest.mark.usefixtures("open_umask")
@pytest.mark.parametrize(("before", "after"), [(0o644, 0o640), (0o666, 0o660),
                                                (0o604, 0o600), (0o755, 0o750)])
def test_a_file_written_over_is_never_left_open_to_everyone(tmp_path: Path, before: int,
                                                           after: int) -> None:
    """A claim form or an estimate (PHI) written over a world-readable file: the group keeps
    what its owner gave it, everyone else loses it (found writing a claim form over a 0644
    file)."""
    target = tmp_path / "form.pdf"
    target.write_text("old")
    target.chmod(before)
    write_private(target, "PHI")
    assert (mode(target), target.read_text()) == (after, "PHI")


def test_a_link_written_over_becomes_a_private_file_and_its_target_is_untouched(
        tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("theirs")
    target.chmod(0o644)
    link = tmp_path / "form.pdf"
    link.symlink_to(target)
    write_private(link, "PHI")
    assert not link.is_symlink() and (mode(link), link.read_text()) == (0o600, "PHI")
    assert (mode(target), target.read_text()) == (0o644, "theirs")


def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "medbill.db"
    database = Database(f"sqlite:///{path}")
    try:
        with database.transaction() as session:
            session.execute(text("create table t (x integer)"))
            session.execute(text("insert into t values (1)"))
        wal = path.with_name(path.name + "-wal")
        assert mode(path) == 0o600
        assert wal.exists() and mode(wal) == 0o600  # SQLite copies the database's mode
    finally:
        database.dispose()


def test_a_new_file_is_owner_read_write_under_a_narrow_umask(tmp_path: Path) -> None:
    """The temporary file is created 0600 less the umask: its mode is set only when that
    is not the mode it must have (a new file 0600, a replaced one the mode it had)."""
    from medbill_core.privatefiles import FilesAfterCommit

    previous = os.umask(0o277)  # the temporary file would be created read-only (0400)
    try:
        write_private(tmp_path / "new.txt", "a")
        files = FilesAfterCommit()
        files.write_many([(tmp_path / "many-1.txt", "b"), (tmp_path / "many-2.txt", b"c")])
        files._publish()
    finally:
        os.umask(previous)
    write_private(tmp_path / "plain.txt", "d")  # the umask of the tests: created 0600
    (tmp_path / "shared.txt").write_text("old")
    (tmp_path / "shared.txt").chmod(0o640)
    write_private(tmp_path / "shared.txt", "e")
    assert {name: (mode(tmp_path / name), (tmp_path / name).read_text()) for name in (
        "new.txt", "many-1.txt", "many-2.txt", "plain.txt", "shared.txt")} == {
        "new.txt": (0o600, "a"), "many-1.txt": (0o600, "b"), "many-2.txt": (0o600, "c"),
        "plain.txt": (0o600, "d"), "shared.txt": (0o640, "e")}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "many-1.txt", "many-2.txt", "new.txt", "plain.txt", "shared.txt"]

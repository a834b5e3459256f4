"""Files that hold PHI are created readable by their owner only (HIPAA: least access).

The SQLite database, rendered statements and estimates, the demo's X12 archives, the
configuration and secrets (a clearinghouse API key file) are created with mode ``0600``,
and the folders medbill creates for them with ``0700``, whatever the process umask allows.
An existing file or folder keeps the mode its owner gave it as far as its owner and group go
(a billing office that shares a folder with a group on purpose keeps doing so), but a file
medbill writes over is never left readable or writable by everyone else: the bits for
"others" are dropped (a claim form written over a ``0644`` file is ``0640``). (On Windows the
modes are not enforced: there, folder ACLs decide.)

A file is never half-written: it is written to a temporary name in its folder and renamed
into place. A file that goes with a database change (an appeal letter, a statement) is
staged before the transaction commits and put in place after it (:func:`publish_after`):
a file that cannot be written rolls the transaction back, and a transaction that fails
leaves no file behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
#: read, write and execute for everyone but the owner and the group
_OTHERS = stat.S_IRWXO


def private_dir(path: Path) -> Path:
    """``path`` created (with its parents) if missing; the folder itself owner-only."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    return path


def write_private(path: Path, content: bytes | str, *, encoding: str = "utf-8") -> None:
    """Write ``content`` to ``path`` whole or not at all, creating it owner-only when it does
    not exist yet (an existing file keeps its mode)."""
    stage_private(path, content, encoding=encoding).publish()


@dataclass(frozen=True)
class StagedFile:
    """Content written under a temporary name beside :attr:`path`, not yet in place."""

    path: Path
    temporary: Path

    def publish(self) -> None:
        """Put the file in place (a rename in one folder: atomic)."""
        try:
            os.replace(self.temporary, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def stage_private(path: Path, content: bytes | str, *, encoding: str = "utf-8") -> StagedFile:
    """Write ``content`` owner-only under a temporary name in ``path``'s folder (``path`` is
    untouched until :meth:`StagedFile.publish`).

    :raises OSError: the folder does not exist or cannot be written, or ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    data = content.encode(encoding) if isinstance(content, str) else content
    # mkstemp creates the file 0600 whatever the umask
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                        dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            created = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        try:
            found = path.lstat()
        except FileNotFoundError:
            existing = PRIVATE_FILE_MODE
        else:
            # what the owner gave its group stays, what it gave everyone else does not (PHI);
            # a link is replaced by a file of its own (its target is not written): a new one
            existing = PRIVATE_FILE_MODE if stat.S_ISLNK(found.st_mode) \
                else stat.S_IMODE(found.st_mode) & ~_OTHERS
        if existing != created:  # a change of mode is a write to the file system: only if due
            os.chmod(temporary, existing)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return StagedFile(path, temporary)


#: files staged at once by :func:`_stage_together`
_STAGING_THREADS = 8


def _stage_together(files: Sequence[tuple[Path, bytes | str]]) -> list[StagedFile]:
    """Stage ``files``, several at once, each created, written and flushed to disk in a thread
    of its own: the file system commits concurrent fsyncs together (one journal write for
    many files), and a file's creation, which waits for the journal while the disk is busy
    (a database committing beside it: ~0.6 ms a file in a 10,000-claim cycle, ~0.02 ms
    on an idle disk), waits beside the others instead of one after another. All staged, or
    (raising the first error, in ``files``' order) none."""
    if len(files) <= 1:
        return [stage_private(path, content) for path, content in files]
    with ThreadPoolExecutor(max_workers=min(_STAGING_THREADS, len(files))) as pool:
        futures = [pool.submit(stage_private, path, content) for path, content in files]
    staged = [future.result() for future in futures if future.exception() is None]
    failed = next((future.exception() for future in futures if future.exception()), None)
    if failed is not None:
        for item in staged:
            item.discard()
        raise failed
    return staged


class FilesAfterCommit:
    """Files staged now and put in place by :func:`publish_after` once the work succeeded."""

    def __init__(self) -> None:
        self._staged: list[StagedFile] = []

    def write(self, path: Path, content: bytes | str) -> Path:
        """Stage ``content`` for ``path`` (raises now if it cannot be written); ``path``."""
        self._staged.append(stage_private(path, content))
        return path

    def write_many(self, files: Sequence[tuple[Path, bytes | str]]) -> list[Path]:
        """:meth:`write` for several files, written and flushed to disk together
        (:func:`_stage_together`): all staged, or (raising) none."""
        staged = _stage_together(files)
        self._staged.extend(staged)
        return [item.path for item in staged]

    def _publish(self) -> None:
        for index, staged in enumerate(self._staged):
            try:
                staged.publish()
            except BaseException:
                for left in self._staged[index + 1:]:
                    left.discard()
                raise

    def _discard(self) -> None:
        for staged in self._staged:
            staged.discard()


@contextmanager
def publish_after() -> Iterator[FilesAfterCommit]:
    """Stage files inside a transaction, publish them after it commits::

        with publish_after() as files, app.unit_of_work() as work:
            ...                                  # database changes
            files.write(folder / "letter.txt", text)   # an OSError here rolls back
        # committed: the letter is in place; an error in the block: no file, no row
    """
    files = FilesAfterCommit()
    try:
        yield files
    except BaseException:
        files._discard()
        raise
    files._publish()


def create_private(path: Path) -> None:
    """Create ``path`` empty and owner-only unless it exists (before SQLite opens it: SQLite
    gives its -wal and -shm files the database file's mode)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def create_secret_file(path: Path) -> bool:
    """Write a new random secret (256 bits, URL-safe text) to ``path``, owner-only, unless the
    file exists. ``True`` when it was created. Never overwrites: whoever already reads the
    existing secret (a running service, another configuration) keeps working."""
    import secrets

    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return True

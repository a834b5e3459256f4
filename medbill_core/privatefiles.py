"""Files that hold PHI are created readable by their owner only (HIPAA: least access).

The SQLite database, rendered statements and estimates, the demo's X12 archives, the
configuration and secrets (a clearinghouse API key file) are created with mode ``0600``,
and the folders medbill creates for them with ``0700``, whatever the process umask allows.
An existing file or folder keeps the mode its owner gave it: a billing office that shares a
folder with a group on purpose keeps doing so. (On Windows the modes are not enforced: there,
folder ACLs decide.)
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """``path`` created (with its parents) if missing; the folder itself owner-only."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    return path


def write_private(path: Path, content: bytes | str, *, encoding: str = "utf-8") -> None:
    """Write ``content`` to ``path``, creating it owner-only when it does not exist yet."""
    data = content.encode(encoding) if isinstance(content, str) else content
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


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

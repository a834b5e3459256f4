"""The API key file the channel and the simulator share: one secret per installation.

There is no built-in key. ``medbill init`` writes ``clearinghouse-mock.key`` next to
``medbill.toml`` (``api_key_file`` in ``[plugins.clearinghouse_mock]``), and
``medbill clearinghouse serve`` creates the file it is told to use when it is missing: 256
random bits, readable by the owner only. The channel sends the key; the simulator accepts it.
A key file other users can read is refused: whoever reads it can read the response feed (PHI)
and acknowledge documents away.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from medbill_core.api import ConfigurationError, create_secret_file

#: The name ``medbill init`` and ``clearinghouse serve`` give the key file.
DEFAULT_KEY_FILE = "clearinghouse-mock.key"
#: The key earlier versions documented and accepted by default: never accepted again.
RETIRED_KEYS = frozenset({"test-key-medbill"})


def read_key_file(path: str | Path) -> str:
    """The key in ``path`` (one line).

    :raises ConfigurationError: missing, unreadable, empty, or readable by other users.
    """
    file = Path(path)
    try:
        mode = file.stat().st_mode
        text = file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ConfigurationError(f"{file}: no such API key file (medbill init or "
                                 "'medbill clearinghouse serve' creates it)") from None
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{file}: not an API key (ASCII text expected)") from None
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        raise ConfigurationError(f"{file}: other users can read this API key file "
                                 f"(mode {stat.S_IMODE(mode):o}); run 'chmod 600 {file}'")
    if len(text) < 16 or len(text.splitlines()) != 1:
        raise ConfigurationError(f"{file}: not an API key (one line of at least 16 "
                                 "characters expected)")
    return text


def ensure_key_file(path: str | Path) -> tuple[str, bool]:
    """The key in ``path``, creating the file with a new random key when it is missing.
    Returns the key and whether the file was created now."""
    file = Path(path)
    if file.parent and not file.parent.is_dir():
        raise ConfigurationError(f"{file}: its folder does not exist")
    created = create_secret_file(file)
    return read_key_file(file), created

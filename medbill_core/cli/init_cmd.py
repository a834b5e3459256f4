"""``medbill init``: write a commented starter configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, console, state
from medbill_core.config import CLEARINGHOUSE_KEY_FILE, DEFAULT_CONFIG_NAME, starter_config
from medbill_core.errors import ConfigurationError
from medbill_core.loading import installed_plugins
from medbill_core.privatefiles import create_secret_file, write_private


@cli_errors
def init(
    path: Annotated[Path | None, typer.Argument(help="Where to write it")] = None,
    plugins: Annotated[str | None, typer.Option(
        help="Comma-separated plugins to enable (default: every installed plugin)")] = None,
    actor: Annotated[str | None, typer.Option(
        help="Actor name recorded in the audit trail (default: the OS user running medbill)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file")] = False,
) -> None:
    """Write a commented starter medbill.toml."""
    target = path or Path(state.config_path or DEFAULT_CONFIG_NAME)
    if target.exists() and not force:
        raise ConfigurationError(f"{target} already exists (use --force to overwrite)")
    installed = [plugin.name for plugin in installed_plugins()]
    if plugins is None:
        enabled = installed
    else:
        enabled = [name.strip() for name in plugins.split(",") if name.strip()]
        unknown = sorted(set(enabled) - set(installed))
        if unknown:
            raise ConfigurationError(f"not installed: {', '.join(unknown)} "
                                     f"(installed: {', '.join(installed) or 'none'})")
    target.parent.mkdir(parents=True, exist_ok=True)
    # owner-only: it will hold the database URL (and perhaps credentials)
    write_private(target, starter_config(enabled, actor))
    console.print(f"wrote {target} (enabled plugins: {', '.join(enabled) or 'none'})",
                  soft_wrap=True, markup=False)
    if "clearinghouse_mock" in enabled:
        # a key of this installation only, never a documented default; an existing file is
        # kept (--force too): a simulator already started with it keeps accepting the channel
        key_file = target.parent / CLEARINGHOUSE_KEY_FILE
        created = create_secret_file(key_file)
        console.print(f"{'wrote' if created else 'kept'} {key_file} (the clearinghouse API "
                      "key, readable by you only)", soft_wrap=True, markup=False)
    console.print("next: edit the practice and payers sections, then run 'medbill db upgrade'")

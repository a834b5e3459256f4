"""``medbill db``: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, console, load_cli_config, open_app, print_json
from medbill_core.storage.database import Database

app = typer.Typer(help="Database schema.", no_args_is_help=True)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command("upgrade")
@cli_errors
def upgrade(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Create or migrate the database schema to the newest version."""
    config = load_cli_config()
    database = Database(config.database_url)
    before = database.current_revision()
    database.dispose()
    # opened with upgrade: the schema, then the [practice] configuration as a practice row
    app = open_app(upgrade=True)
    try:
        after = app.database.current_revision()
    finally:
        app.close()
    if as_json:
        print_json({"database": _redacted(config.database_url), "before": before,
                    "after": after})
        return
    # soft_wrap: a path or URL broken over two lines cannot be copied
    console.print(f"database {_redacted(config.database_url)}: {before or 'empty'} -> {after}",
                  soft_wrap=True, markup=False)


@app.command("current")
@cli_errors
def current(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the schema version of the database and the newest available."""
    config = load_cli_config()
    database = Database(config.database_url)
    now, newest = database.current_revision(), database.head_revision()
    if as_json:
        print_json({"current": now, "newest": newest, "up_to_date": now == newest})
        return
    console.print(f"current: {now or 'empty'}; newest: {newest}", markup=False)

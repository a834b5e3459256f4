"""``medbill db``: schema migrations, and the balances the ledger keeps checked."""

from __future__ import annotations

from typing import Annotated

import typer

from medbill_core.cli.common import (
    cli_errors,
    console,
    fail,
    load_cli_config,
    open_app,
    print_json,
)
from medbill_core.storage.database import Database

app = typer.Typer(help="Database schema, and the balances the ledger keeps.", no_args_is_help=True)


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


@app.command("check-balances")
@cli_errors
def check_balances(
    repair: Annotated[bool, typer.Option(
        help="Compute the practice's balances from the ledger entries again when any differ")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check the balances the ledger keeps per account (what the A/R aging reads) against
    the ledger entries, in the configured practice: exit 1 when some differ (the first 100
    are named by account key), unless --repair rebuilt them."""
    from medbill_core.services.ledger_upkeep import check_balances as check

    medbill = open_app()
    try:
        with medbill.unit_of_work(read_only=not repair) as work:
            result = check(work, repair=repair)
    finally:
        medbill.close()
    if as_json:
        print_json(result.as_json())
    elif not result.problems:
        console.print("ledger balances match the entries", markup=False)
    else:
        for problem in result.problems:
            console.print(problem, markup=False, soft_wrap=True)
        if result.rebuilt_rows is not None:
            console.print(f"rebuilt from the entries: {result.rebuilt_rows} rows",
                          markup=False)
    if not result.consistent:
        if not as_json:
            raise fail(f"{len(result.problems)} account balances differ from the ledger "
                       "entries; run 'medbill db check-balances --repair'")
        raise typer.Exit(1)

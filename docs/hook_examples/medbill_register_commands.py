"""Add ``medbill acme ping`` to the command line."""

import typer

from medbill_core.api import hookimpl

acme_app = typer.Typer(help="Acme Health Plan tools.", no_args_is_help=True)


@acme_app.command("ping")
def ping(timeout: float = typer.Option(5.0, help="Seconds to wait")) -> None:
    """Check that Acme's endpoint answers."""
    typer.echo("acme: ok")
    # on bad input: print one line to stderr and raise typer.Exit(code=1), never a traceback


@hookimpl
def medbill_register_commands(app):
    app.add_typer(acme_app, name="acme")

"""Shared CLI plumbing: consoles, the error rule, and opening the application.

The error rule: a :class:`~medbill_core.errors.MedbillError` becomes one line on
stderr and a non-zero exit (its ``exit_code``), never a traceback. Plugin
commands use :func:`cli_errors` too.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from medbill_core.errors import MedbillError

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)


class CliState:
    """Per-invocation settings from the root callback (``--config``)."""

    config_path: str | None = None


state = CliState()


def print_problem(message: str, label: str = "[bold red]error:[/]") -> None:
    """One line on stderr. The message is escaped: "[payers]" is text, not rich markup."""
    err_console.print(f"{label} {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    print_problem(message)
    return typer.Exit(code)


def parse_date_option(value: str | None, option: str = "--date") -> date | None:
    """A ``YYYY-MM-DD`` option value; a bad one is a one-line usage error (exit 2)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} must be a date as YYYY-MM-DD, got {value!r}", 2) from None


def cli_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors raised by a command into one line and an exit code."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except MedbillError as exc:
            raise fail(exc.message, exc.exit_code) from None

    return wrapper


def load_cli_config() -> Any:
    from medbill_core.config import load_config

    return load_config(state.config_path)


def open_app(*, upgrade: bool = False) -> Any:
    """Open the configured medbill instance; the schema must be current unless ``upgrade``."""
    from medbill_core.app import Medbill
    from medbill_core.logs import configure_logging

    config = load_cli_config()
    configure_logging(config.log_level)
    app = Medbill.open(config, upgrade=upgrade)
    if not upgrade:
        app.database.require_current()
    return app


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (no colour, no wrapping)."""
    typer.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


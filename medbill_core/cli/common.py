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
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from medbill_core.errors import MedbillError
from medbill_core.money import to_money

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


def parse_date_option(value: str | None, option: str = "--date", *,
                      future_days: int | None = None, past_days: int | None = None,
                      confirmed: bool = False, confirm_flag: str = "--confirm-date"
                      ) -> date | None:
    """A ``YYYY-MM-DD`` option value; a bad one is a one-line usage error (exit 2).

    ``future_days`` / ``past_days`` bound what is plausible for this option (a payment
    received six months ahead is a typo far more often than a fact): a date outside them
    is refused unless the user ``confirmed`` it with ``confirm_flag``.
    """
    if value is None:
        return None
    try:
        when = date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        when = None
    if when is None:
        raise fail(f"{option} must be a date as YYYY-MM-DD, got {value!r}", 2)
    if not confirmed:
        check_plausible_date(when, option, future_days=future_days, past_days=past_days,
                             confirm_flag=confirm_flag)
    return when


def check_plausible_date(when: date, option: str, *, future_days: int | None = None,
                         past_days: int | None = None,
                         confirm_flag: str = "--confirm-date") -> None:
    """Refuse (exit 2) a date further ahead or back than the option allows."""
    today = date.today()
    if future_days is not None and (when - today).days > future_days:
        raise fail(f"{option} {when.isoformat()} is {(when - today).days} days in the future; "
                   f"check it, or pass {confirm_flag} if it is right", 2)
    if past_days is not None and (today - when).days > past_days:
        raise fail(f"{option} {when.isoformat()} is {(today - when).days} days in the past; "
                   f"check it, or pass {confirm_flag} if it is right", 2)


def parse_money_option(value: str | None, option: str, *, allow_zero: bool = True,
                       allow_negative: bool = False) -> Decimal | None:
    """An amount option (``25.00``): plain digits, at most two places, never rounded.

    A bad one is a one-line usage error (exit 2) naming the option.
    """
    if value is None:
        return None
    try:
        amount = to_money(value)
    except ValueError as exc:
        raise fail(f"{option}: {exc}", 2) from None
    if amount < 0 and not allow_negative:
        raise fail(f"{option} must not be negative", 2)
    if amount == 0 and not allow_zero:
        raise fail(f"{option} must be more than 0.00", 2)
    return amount


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


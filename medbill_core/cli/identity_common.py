"""What ``medbill users`` and ``medbill keys`` share: acting as the local user, the role and
practice options, timestamps in output."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from medbill_core.cli.common import open_app, parse_choice_option
from medbill_core.domain.identity import Principal, Role

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork

T = TypeVar("T")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
PracticeCode = Annotated[str | None, typer.Option(
    "--practice", help="The practice's code (default: the one the command line acts in)")]
RoleOption = Annotated[str, typer.Option(
    "--role", help="administrator, billing_manager, biller, front_desk or auditor")]


def parse_role(value: str) -> Role:
    return parse_choice_option(value, "--role", Role)


def as_local_user(action: Callable[[UnitOfWork, Principal], T], *, write: bool) -> T:
    """Run ``action`` in one unit of work as the command line's local user
    (:func:`~medbill_core.services.identity.local_principal`)."""
    medbill = open_app()
    try:
        with medbill.unit_of_work(read_only=not write) as work:
            assert work.principal is not None  # open_app chose the local user
            return action(work, work.principal)
    finally:
        medbill.close()


def moment(value: datetime | None) -> str:
    """A stored time for a table, to the minute in UTC ("-" for none)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

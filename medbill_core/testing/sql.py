"""Recording the SQL an engine sends, for tests that bound a service's statements."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def sent_statements(engine: Engine, keep: Callable[[str], bool] = lambda _statement: True,
                    ) -> Iterator[list[str]]:
    """The statements ``engine`` sends inside the block for which ``keep`` is true, in order
    (one per round trip to the driver: an executemany of many rows is one)."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if keep(statement):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)

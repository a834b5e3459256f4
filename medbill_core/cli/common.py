"""Shared CLI plumbing: consoles, the error rule, option parsers, output helpers, and
opening the application.

The error rule: a :class:`~medbill_core.errors.MedbillError` becomes one line on
stderr and a non-zero exit (its ``exit_code``), never a traceback. Plugin
commands use :func:`cli_errors` too.

Every command reads its options with the same parsers: :func:`parse_date_option`
(with plausibility bounds and a ``--confirm-date`` flag), :func:`parse_money_option`,
:func:`parse_choice_option`. Output goes through :func:`data_table` / :func:`print_table`
(ids, claim numbers and dates never cut), :func:`warn` (stderr) and :func:`progress`
(stderr, only on a terminal).
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar, overload

import typer
from rich.console import Console, ConsoleDimensions
from rich.errors import MarkupError
from rich.markup import escape
from rich.table import Row, Table
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from medbill_core.cli.plain_table import PLAIN_FROM_ROWS, plain_table_text
from medbill_core.errors import MedbillError
from medbill_core.money import MAX_AMOUNT, parse_amount, to_money

if TYPE_CHECKING:
    from rich.text import Text

P = ParamSpec("P")
R = TypeVar("R")

#: The width of output that is not a terminal (a file, a pipe, a test): wide enough that
#: tables print every value in full, whatever ``COLUMNS`` or the terminal the process
#: happens to have been started from.
UNWRAPPED_WIDTH = 1000


def printable(text: str) -> str:
    """``text`` with each character a terminal would not show as itself (control characters,
    separators, format characters such as a right-to-left override) written as its Python
    escape (``\\x80``, ``\\u202e``); line breaks and tabs stay."""
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return "".join(char if char.isprintable() or char in "\n\t" else repr(char)[1:-1]
                   for char in text)


def literal(text: str) -> Text:
    """``text`` as a :class:`~rich.text.Text` printed as it is: never read as console markup,
    each character a terminal would not show as itself escaped (:func:`printable`). A
    ``Text`` does not pass the console's ``render_str``: one made of outside text (a name,
    an address) is made here."""
    from rich.text import Text

    return Text(printable(text))


def _printable_text(text: Text) -> Text:
    """``text`` with :func:`printable` applied, or ``text`` itself when it needs nothing; an
    escaped copy keeps the text's own style, not the styles of parts of it."""
    from rich.text import Text

    shown = printable(text.plain)
    if shown is text.plain:
        return text
    return Text(shown, style=text.style, justify=text.justify, overflow=text.overflow,
                no_wrap=text.no_wrap, end=text.end, tab_size=text.tab_size)


def _escaped_texts(renderable: Any) -> Any:
    """``renderable`` with each :class:`~rich.text.Text` in it (itself; a table's title,
    headers and cells, nested tables too) through :func:`_printable_text`, before anything
    measures it: a table sizes its columns by what its cells will show."""
    from rich.text import Text

    if isinstance(renderable, Text):
        return _printable_text(renderable)
    if isinstance(renderable, Table):
        for column in renderable.columns:
            cells = column._cells
            for index, cell in enumerate(cells):
                if type(cell) is not str:  # most cells (every one of a data_table) are
                    cells[index] = _escaped_texts(cell)
            column.header = _escaped_texts(column.header)
            column.footer = _escaped_texts(column.footer)
        renderable.title = _escaped_texts(renderable.title)
        renderable.caption = _escaped_texts(renderable.caption)
    return renderable


class _CliConsole(Console):
    """A console that wraps long lines only on a terminal: into a file, a pipe or a test,
    a line stays one line and a table row one row, whatever ``COLUMNS`` or the length of a
    path in it."""

    unwrapped_width = UNWRAPPED_WIDTH

    @property
    def size(self) -> ConsoleDimensions:
        size: ConsoleDimensions = Console.size.fget(self)  # type: ignore[attr-defined]
        if self.is_terminal:
            return size
        return ConsoleDimensions(self.unwrapped_width, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def print(self, *objects: Any, **kwargs: Any) -> None:
        # a table lays itself out (its title centred over it); soft wrapping is for text
        if kwargs.get("soft_wrap") is None and any(isinstance(o, Table) for o in objects):
            kwargs["soft_wrap"] = False
        objects = tuple(_escaped_texts(o) for o in objects)
        try:
            super().print(*objects, **kwargs)
        except MarkupError:
            # Last line of defence: outside text that reached the console unescaped ("[/x]"
            # from a payer's file) is printed as it is rather than crashing the command
            # after its work is done. Nothing was written: rich renders before it writes.
            saved, self._markup = self._markup, False
            try:
                super().print(*objects, **{**kwargs, "markup": False})
            finally:
                self._markup = saved

    def render_str(self, text: str, **kwargs: Any) -> Any:
        # Every string the console shows passes here (table cells too): outside text holding
        # control characters (a C1 byte or a bidi override in a payer's TRN02) would break
        # the line or reorder it on the terminal; such a character is shown as its escape.
        return super().render_str(printable(text), **kwargs)

    def render(self, renderable: Any, options: Any = None) -> Any:
        # A Text (a table cell, a title, a line printed as it is) is rendered without
        # render_str: escaped here too, whatever made it and however deep (a panel's
        # content). literal() and print() escape them before a table measures its columns;
        # this is the last net.
        from rich.text import Text

        if isinstance(renderable, Text):
            renderable = _printable_text(renderable)
        return super().render(renderable, options)

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap if self._soft_wrap is not None else not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool | None) -> None:
        self._soft_wrap = value


#: ``emoji=False``: ":pill:" in a name or a payer's message is text, not a picture.
console = _CliConsole(soft_wrap=None, emoji=False)  # type: ignore[arg-type]
err_console = _CliConsole(stderr=True, soft_wrap=None, emoji=False)  # type: ignore[arg-type]


class CliState:
    """Per-invocation settings from the root callback (``--config``), and the plugins the
    command line started to add their commands (``started``: configuration and hooks), which
    :func:`open_app` takes over instead of starting them a second time."""

    config_path: str | None = None
    started: tuple[Any, Any] | None = None


state = CliState()


def print_problem(message: str, label: str = "[bold red]error:[/]") -> None:
    """One line on stderr. The message is escaped: "[payers]" is text, not rich markup."""
    err_console.print(f"{label} {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    print_problem(message)
    return typer.Exit(code)


def parse_date_option(value: str | None, option: str = "--date", *,
                      future_days: int | None = None, past_days: int | None = None,
                      confirmed: bool | None = None, confirm_flag: str = "--confirm-date"
                      ) -> date | None:
    """A ``YYYY-MM-DD`` option value; a bad one is a one-line usage error (exit 2).

    ``future_days`` / ``past_days`` bound what is plausible for this option (a payment
    received six months ahead is a typo far more often than a fact): a date outside them
    is refused unless the user ``confirmed`` it with ``confirm_flag``. A command without
    such a flag leaves ``confirmed`` out (``None``): its bounds are firm (a birth date is
    never in the future), and the error does not offer a flag the command does not have.
    """
    if value is None:
        return None
    try:
        when = date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        when = None
    if when is None:
        # never the value typed: it may be a birth date (PHI), and the user can see it
        raise fail(f"{option} must be a date as YYYY-MM-DD", 2)
    from medbill_core.services.date_rules import out_of_range

    reason = out_of_range(when)  # firm: no confirmation makes 9999-12-31 a billing date
    if reason is not None:
        raise fail(f"{option} {reason}", 2)
    if not confirmed:
        check_plausible_date(when, option, future_days=future_days, past_days=past_days,
                             confirm_flag=confirm_flag if confirmed is not None else None)
    return when


def check_plausible_date(when: date, option: str, *, future_days: int | None = None,
                         past_days: int | None = None,
                         confirm_flag: str | None = "--confirm-date") -> None:
    """Refuse (exit 2) a date further ahead or back than the option allows; the error offers
    ``confirm_flag`` when there is one."""
    from medbill_core.services.date_rules import DateWindow, outside

    reason = outside(when, DateWindow(future_days=future_days, past_days=past_days))
    if reason is not None:
        advice = f"check it, or pass {confirm_flag} if it is right" if confirm_flag \
            else "check it"
        # the distance, never the date (a birth date is PHI)
        raise fail(f"{option} is {reason}; {advice}", 2)


@overload
def parse_money_option(value: str, option: str, *, allow_zero: bool = True,
                       allow_negative: bool = False) -> Decimal: ...
@overload
def parse_money_option(value: str | None, option: str, *, allow_zero: bool = True,
                       allow_negative: bool = False) -> Decimal | None: ...
def parse_money_option(value: str | None, option: str, *, allow_zero: bool = True,
                       allow_negative: bool = False) -> Decimal | None:
    """An amount option (``25.00``): plain digits, at most two places, never rounded.

    A bad one is a one-line usage error (exit 2) naming the option.
    """
    if value is None:
        return None
    try:
        amount = parse_amount(value)
    except ValueError as exc:
        raise fail(f"{option}: {exc}", 2) from None
    if amount < 0 and not allow_negative:
        raise fail(f"{option} must not be negative", 2)
    if amount == 0 and not allow_zero:
        raise fail(f"{option} must be more than 0.00", 2)
    # no one amount is larger (medbill_core.money.MAX_AMOUNT): a slip of the keyboard
    if abs(amount) > MAX_AMOUNT:
        raise fail(f"{option} is more than {MAX_AMOUNT:,}: check it", 2)
    return to_money(amount)


E = TypeVar("E", bound=enum.Enum)


@overload
def parse_choice_option(value: str, option: str, choices: type[E]) -> E: ...
@overload
def parse_choice_option(value: str | None, option: str, choices: type[E]) -> E | None: ...
def parse_choice_option(value: str | None, option: str, choices: type[E]) -> E | None:
    """One of an enum's values (case-insensitive); anything else is a usage error (exit 2)."""
    if value is None:
        return None
    wanted = value.strip().lower()
    for choice in choices:
        if str(choice.value).lower() == wanted:
            return choice
    allowed = ", ".join(str(choice.value) for choice in choices)
    raise fail(f"{option} must be one of {allowed}, got {value!r}", 2)


#: The largest whole number a command accepts (a PostgreSQL ``integer`` id): a bigger one
#: is a typo, and would otherwise overflow the database driver or date arithmetic.
MAX_WHOLE_NUMBER = 2**31 - 1


def _parameter_label(name: str) -> str:
    """How the user typed the parameter ``name``: its option (``--claim``) or METAVAR."""
    ctx = click_context()
    for param in getattr(getattr(ctx, "command", None), "params", ()):
        if param.name == name:
            opts = getattr(param, "opts", None) or [name]
            return opts[0] if param.param_type_name == "option" else name.upper()
    return name


def click_context() -> Any:
    from typer._click.globals import get_current_context  # typer vendors click

    return get_current_context(silent=True)


def _check_whole_numbers(kwargs: dict[str, Any]) -> None:
    for name, value in kwargs.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if (isinstance(item, int) and not isinstance(item, bool)
                    and abs(item) > MAX_WHOLE_NUMBER):
                raise fail(f"{_parameter_label(name)}: {item} is too large "
                           f"(at most {MAX_WHOLE_NUMBER})", 2)


def _check_control_characters(kwargs: dict[str, Any]) -> None:
    """No option or argument carries a control character (NUL, escape, a line break): such
    text would be stored in names and notes, or break the files medbill writes."""
    from medbill_core.domain.base import has_control_character

    for name, value in kwargs.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, str) and has_control_character(item):
                raise fail(f"{_parameter_label(name)}: contains a control character (such as "
                           "NUL or a line break)", 2)


def cli_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn errors a user can fix into one line and an exit code, never a traceback.

    Domain errors keep their message and exit code. Besides them: a whole number too large
    for the database (exit 2); a file or folder that cannot be read or written (exit 1,
    naming the path and the system's reason); a record that fails validation (exit 1,
    naming fields, never values: they may be PHI).
    """
    from pydantic import ValidationError

    from medbill_core.domain.base import problems_from

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _check_whole_numbers(kwargs)
        _check_control_characters(kwargs)
        try:
            return function(*args, **kwargs)
        except MedbillError as exc:
            raise fail(exc.message, exc.exit_code) from None
        except ValidationError as exc:
            detail = "; ".join(f"{field}: {reason}" for field, reason in problems_from(exc))
            raise fail(f"{exc.title}: {detail}") from None
        except OverflowError:
            raise fail("a number or date given is out of range", 2) from None
        except OperationalError as exc:
            raise fail(database_problem(exc)) from None
        except StatementError as exc:  # not a DBAPIError: a column default's refusal
            if isinstance(exc, DBAPIError) or not isinstance(exc.orig, MedbillError):
                raise
            raise fail(exc.orig.message, exc.orig.exit_code) from None
        except BrokenPipeError:
            raise  # `medbill ... | head`: the reader left; nothing to report
        except OSError as exc:
            if isinstance(exc, ConnectionError) or exc.filename is None:
                raise fail(f"{exc.strerror or type(exc).__name__}") from None
            raise fail(f"{exc.filename}: {exc.strerror or 'cannot be used'}") from None

    return wrapper


def database_problem(exc: OperationalError) -> str:
    """One line for a database that could not do what was asked (locked by a long posting
    of another process, gone away): the driver's first line only, as later ones may quote
    values."""
    from medbill_core.storage.database import driver_reason

    reason = driver_reason(exc)
    if "database is locked" in reason:
        return ("the database is busy with another medbill command (database is locked): "
                "run this again when it has finished")
    return f"the database could not be used: {reason}"


def load_cli_config() -> Any:
    from medbill_core.config import load_config

    return load_config(state.config_path)


def open_app(*, upgrade: bool = False, as_installation: bool = False) -> Any:
    """Open the configured medbill instance; the schema must be current unless ``upgrade``.

    Its units of work act as the command line's local user (roles checked, the audit trail
    names the user); with ``upgrade`` (the installation's own commands: ``init``, ``db``,
    ``demo``) or ``as_installation`` (``worker``, ``serve``: each job or request names its
    own principal) they act as the installation.
    """
    from medbill_core.app import Medbill
    from medbill_core.logs import configure_logging

    config = load_cli_config()
    configure_logging(config.log_level)
    started, state.started = state.started, None
    hooks = started[1] if started is not None and started[0] == config else None
    app = Medbill.open(config, upgrade=upgrade, hooks=hooks)
    if not upgrade:
        app.database.require_current()
    if not upgrade and not as_installation:
        try:
            app.acting_as = app.local_principal()
        except BaseException:
            app.close()
            raise
    return app


#: Words naming columns whose values are looked up or copied (claim numbers, ids, dates):
#: :func:`data_table` never wraps or cuts them.
KEY_COLUMN_WORDS = ("id", "claim", "number", "account", "date", "dos", "due", "trace", "npi",
                    "code", "as of", "plan", "installment", "submission", "document", "check",
                    "reference", "payer", "patient", "mbi", "member")


def escaped(text: str) -> str:
    """:func:`rich.markup.escape` of ``text``, without its regular expression when the text
    holds nothing it would change (no ``[``, no backslash at the end): most cells of a long
    list (three a row, 88,504 rows of ``ar followup``)."""
    if "[" not in text and not text.endswith("\\"):
        return text
    return escape(text)


def shown_of(shown: int, found: int) -> str:
    """A list's count for its title: ``3``, or ``3 of 88504`` when ``--limit`` left some
    out."""
    return str(found) if shown == found else f"{shown} of {found}"


#: ``--limit`` of the long work lists (``ar followup``, ``denials list``): all when not given
Limit = Annotated[int | None, typer.Option(
    min=1, help="Only the first N, most urgent first (the title still counts them all)")]


def add_text_rows(table: Table, rows: Iterable[Sequence[str]]) -> None:
    """``table.add_row(*row)`` for each row of text cells (one per column), added column by
    column: rich's add_row checks and appends each cell in Python (half a second for 88,504
    rows), a list extension per column does the same. A row of another length is added by
    ``add_row`` (which pads it)."""
    rows = list(rows)
    columns = table.columns
    if not rows:
        return
    if any(len(row) != len(columns) for row in rows):
        for row in rows:
            table.add_row(*row)
        return
    for column, cells in zip(columns, zip(*rows, strict=True), strict=True):
        column._cells.extend(cells)
    table.rows.extend(Row() for _ in rows)


def data_table(*columns: str, title: str | Text | None = None,
               keys: Iterable[str] | None = None, numeric: Iterable[str] = ()) -> Table:
    """A table for :func:`print_table`: ``keys`` columns (default: those whose names hold a
    :data:`KEY_COLUMN_WORDS` word) are never wrapped or cut; other columns wrap.
    ``numeric`` columns are right-aligned."""
    key_set = set(keys) if keys is not None else {
        name for name in columns if any(word in name.lower().replace("_", " ").split()
                                        or word == name.lower() for word in KEY_COLUMN_WORDS)}
    numeric_set = set(numeric)
    table = Table(title=title)
    for name in columns:
        if name in key_set:
            table.add_column(name, no_wrap=True, overflow="ignore",
                             justify="right" if name in numeric_set else "left")
        else:
            table.add_column(name, overflow="fold",
                             justify="right" if name in numeric_set else "left")
    return table


class LiteralTable(Table):
    """A table whose text cells are printed as they are, never read as console markup: for
    a record's fields (names, addresses), which come from outside."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(literal(cell) if isinstance(cell, str) else cell
                          for cell in renderables), **kwargs)


def record_table(title: str) -> LiteralTable:
    """A two-column field/value table for one record (``patients show``); the title is
    printed as it is too."""
    return LiteralTable("field", "value", title=literal(title), show_header=False)


def _cell_width(cell: Any) -> int:
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.cell_len
    if isinstance(cell, str):
        return Text.from_markup(cell).cell_len
    return 0


def _literal_cells(table: Table) -> None:
    """Every text cell of ``table`` as plain text (no markup read)."""
    for column in table.columns:
        column._cells = [literal(cell) if isinstance(cell, str) else cell
                         for cell in column._cells]


def print_table(table: Table, target: Console | None = None) -> None:
    """Print ``table`` without cutting what must stay whole.

    On a terminal, columns that do not wrap (claim numbers, ids, dates) get the width of
    their longest value and the other columns share what is left. Into a file or a pipe
    the table is printed at its natural width, every value in full, whatever ``COLUMNS``.
    """
    _escaped_texts(table)  # before the columns are measured
    try:
        _print_table(table, target)
    except MarkupError:
        # outside text that reached a cell unescaped: print every cell as it is (rather
        # than crash after the command's work is done); nothing was printed yet
        _literal_cells(table)
        _print_table(table, target)


def _print_plain(table: Table, out: Console) -> bool:
    """``table`` written by :func:`plain_table_text`, as rich would print it into a file;
    False (nothing printed) when it is not a table that writer knows."""
    # a console that replaces :codes: (rich keeps the setting private; unknown: assume so)
    text = plain_table_text(table, emoji=getattr(out, "_emoji", True))
    if text is None:
        return False
    if out.quiet:
        return True
    if out.record:  # kept for export: through the console, as text without layout
        out.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True,
                  crop=False, end="")
        return True
    out.file.write(text)
    out.file.flush()
    return True


def _print_table(table: Table, target: Console | None) -> None:
    from rich.measure import Measurement

    out = target or console
    if not out.is_terminal and table.row_count >= PLAIN_FROM_ROWS and _print_plain(table, out):
        return  # rich lays out ~1,400 rows a second; the plain writer sizes every column
    for column in table.columns:
        if column.no_wrap:
            widest = max([_cell_width(cell) for cell in column.cells]
                         + [_cell_width(column.header)], default=0)
            column.min_width = max(column.min_width or 0, widest)
    if out.is_terminal:
        out.print(table)
        return
    natural = Measurement.get(out, out.options.update_width(100_000), table).maximum
    if isinstance(out, _CliConsole):
        saved = out.unwrapped_width
        out.unwrapped_width = max(natural, saved)
        try:
            out.print(table, crop=False)
        finally:
            out.unwrapped_width = saved
        return
    saved = out.width
    out.width = max(natural, saved)  # print(width=) cannot exceed the console's width
    try:
        out.print(table, crop=False)
    finally:
        out.width = saved


def warn(message: str) -> None:
    """A warning on stderr, one line: print it before or after a table, never in between."""
    print_problem(message, "[yellow]warning:[/]")


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr while a long command works, only when stderr is a
    terminal (files, pipes and tests get nothing). Yields ``advance(n)``."""
    from rich.progress import Progress

    if not err_console.is_terminal:
        def ignore_steps(_steps: int = 1) -> None:
            return None

        yield ignore_steps
        return
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        def advance(steps: int = 1) -> None:
            bar.advance(task, steps)

        yield advance


def print_json(data: Any) -> None:
    """Machine-readable output on stdout (no colour, no wrapping)."""
    typer.echo(json.dumps(data, indent=2, default=str, sort_keys=False))



@contextmanager
def progress_callback(description: str) -> Iterator[Callable[[int, int], None]]:
    """:func:`progress` for a service that reports ``on_progress(done, total)`` (its total is
    known only once it has read its input): the same bar, on stderr, only on a terminal."""
    from rich.progress import Progress

    if not err_console.is_terminal:
        yield lambda _done, _total: None
        return
    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)

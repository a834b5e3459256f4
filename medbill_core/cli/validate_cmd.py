"""``medbill validate KIND VALUE``: answer one identifier or code.

Exit 0 and what it is when valid; exit 1 and why when not (both on stdout: the
answer is the output). A code of a release-based code set on a date no loaded release
answers is "not checked" (exit 1), naming the loaded releases' windows and the release to
load. A malformed option is a usage error (exit 2, stderr).
Plugins add kinds of their own (the Medicare plugin adds ``mbi``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.common import cli_errors, console, parse_date_option, print_json
from medbill_core.codesets import CodeSets, Verdict
from medbill_core.codesets.releases import lookup_coverage, not_checked, without_gap_note
from medbill_core.domain.identifiers import is_valid_npi, luhn_check_digit

app = typer.Typer(
    help="Check one identifier or code: exit 0 and what it is when valid, exit 1 and why not"
         " (or why it could not be checked on the date).",
    no_args_is_help=True,
)

DateOption = Annotated[str | None, typer.Option(
    "--date", "-d", help="Date of service (YYYY-MM-DD; default today)")]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="The answer as JSON: valid, message, notes (exit codes unchanged)")]


def _answer(valid: bool, message: str, notes: tuple[str, ...] = (), *,
            as_json: bool = False, release: str = "", checked: bool = True) -> None:
    """``checked=False``: no loaded release answers the date (exit 1, "not checked")."""
    if as_json:
        print_json({"valid": valid, "message": message, "notes": [n for n in notes if n],
                    **({"release": release} if release else {}),
                    **({} if checked else {"checked": False})})
        if not valid:
            raise typer.Exit(1)
        return
    label = ("[bold green]valid:[/]" if valid else "[bold red]invalid:[/]" if checked
             else "[bold red]not checked:[/]")
    console.print(f"{label} {escape(message)}", highlight=False, soft_wrap=True)
    for note in notes:
        if note:
            console.print(f"[dim]note: {escape(note)}[/]", highlight=False, soft_wrap=True)
    if not valid:
        raise typer.Exit(1)


def _code(check: Callable[[CodeSets, str, date | None], Verdict], value: str,
          on: str | None, as_json: bool) -> None:
    """A code on a date of service. A date no loaded release of the code set answers is not
    a pass: the answer is "not checked" (exit 1), naming every loaded release's window and
    the release to load, as the scrubber's ``*.release_gap`` findings do. A code already
    invalid (format, unknown, ...) keeps its own reason, with the gap line as a note."""
    when = parse_date_option(on) or date.today()
    codesets = CodeSets()
    verdict = check(codesets, value, when)
    unchecked = not_checked(verdict, codesets.data_dir)
    if unchecked is not None:
        _answer(False, unchecked.message, (unchecked.to_load,), as_json=as_json,
                checked=False)
    found = lookup_coverage(verdict.system.value, verdict.code, when, codesets.data_dir)
    if found is not None and not found.covered:
        # an invalid code: the gap line names the release used and the one missing
        notes = (without_gap_note(verdict.note), found.missing)
    else:
        notes = (verdict.note, f"checked against {verdict.release}" if verdict.release else "")
    _answer(verdict.ok, verdict.message, notes, as_json=as_json, release=verdict.release)


@app.command("npi")
@cli_errors
def npi(value: Annotated[str, typer.Argument(help="National Provider Identifier")],
        as_json: JsonOption = False) -> None:
    """A National Provider Identifier: 10 digits with a Luhn check digit (over 80840 + 9)."""
    value = value.strip()
    if not (len(value) == 10 and value.isascii() and value.isdigit()):
        got = (f"{len(value)} characters" if len(value) != 10
               else "characters other than the digits 0-9")
        _answer(False, f"{value!r}: an NPI is 10 digits (got {got})", as_json=as_json)
    if not is_valid_npi(value):
        expected = luhn_check_digit("80840" + value[:9])
        _answer(False, f"{value}: check digit is {value[9]}, the Luhn check over 80840 +"
                       f" the first nine digits gives {expected}", as_json=as_json)
    _answer(True, f"{value}: NPI, check digit correct",
            ("the format is valid; whether the NPI is assigned is only known to NPPES",),
            as_json=as_json)


@app.command("icd10")
@cli_errors
def icd10(value: Annotated[str, typer.Argument(help="ICD-10-CM code, with or without the dot")],
          on: DateOption = None, as_json: JsonOption = False) -> None:
    """An ICD-10-CM diagnosis code: exists and is billable on the date of service."""
    _code(CodeSets.icd10cm, value, on, as_json)


@app.command("icd10pcs")
@cli_errors
def icd10pcs(value: Annotated[str, typer.Argument(help="ICD-10-PCS procedure code, 7 characters")],
             on: DateOption = None, as_json: JsonOption = False) -> None:
    """An ICD-10-PCS procedure code: a complete 7-character code of the release governing the
    date (the procedure date); the start of a code, or one added or deleted across fiscal
    years, says so."""
    _code(CodeSets.icd10pcs, value, on, as_json)


@app.command("hcpcs")
@cli_errors
def hcpcs(value: Annotated[str, typer.Argument(help="HCPCS Level II or CPT code")],
          on: DateOption = None, as_json: JsonOption = False) -> None:
    """A HCPCS procedure code: Level II by its add/termination dates, CPT by format."""
    _code(CodeSets.hcpcs, value, on, as_json)


@app.command("modifier")
@cli_errors
def modifier(value: Annotated[str, typer.Argument(help="Two-character procedure modifier")],
             on: DateOption = None, as_json: JsonOption = False) -> None:
    """A procedure modifier: HCPCS Level II by its dates, CPT (22-99) by number."""
    _code(CodeSets.modifier, value, on, as_json)


@app.command("pos")
@cli_errors
def pos(value: Annotated[str, typer.Argument(help="Two-digit place of service code")],
        on: DateOption = None, as_json: JsonOption = False) -> None:
    """A CMS place of service code (assigned, effective on the date)."""
    _code(CodeSets.place_of_service, value, on, as_json)

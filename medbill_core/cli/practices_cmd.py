"""``medbill practices``: the practices (tenants) of the installation — a billing company's
clients. Each practice's records are seen only by its members and keys."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medbill_core.cli.common import cli_errors, console, data_table, fail, print_json, print_table
from medbill_core.cli.identity_common import AsJson, PracticeCode, as_local_user

if TYPE_CHECKING:
    from medbill_core.domain import Practice

app = typer.Typer(help="Practices (tenants): add a client practice, list them, set billing "
                       "details.", no_args_is_help=True)

DetailsFile = Annotated[Path, typer.Option(
    "--details", help="A TOML file with a \\[practice] section (name, npi, tax_id, taxonomy, "
                      "\\[practice.address] ...), as in medbill.toml")]


def _details(path: Path) -> Practice:
    from pydantic import ValidationError

    from medbill_core.domain import Practice
    from medbill_core.errors import ValidationFailed

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or 'cannot be read'}", 2) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: not TOML ({str(exc).splitlines()[0]})", 2) from None
    section: Any = document.get("practice", document)
    try:
        return Practice.model_validate(section)
    except ValidationError as exc:
        raise ValidationFailed(f"{path.name} [practice]", [
            (".".join(str(part) for part in error["loc"]) or "practice", error["msg"])
            for error in exc.errors()]) from None


def _json(practice: Any) -> dict[str, Any]:
    return {"id": practice.id, "code": practice.code, "name": practice.name,
            "active": practice.active}


@app.command("add")
@cli_errors
def add(code: Annotated[str, typer.Argument(help="A short lower-case code (smith-peds)")],
        name: Annotated[str, typer.Option("--name", help="The practice's name")],
        details: Annotated[Path | None, typer.Option(
            "--details", help="A TOML file with its \\[practice] section (billing provider)")]
        = None,
        as_json: AsJson = False) -> None:
    """Add a practice; you become its administrator. Its records are separate from every
    other practice's: act in it with MEDBILL_PRACTICE_CODE=CODE."""
    from medbill_core.services.identity import add_practice

    profile = _details(details) if details is not None else None
    practice = as_local_user(lambda work, me: add_practice(work, me, code, name,
                                                           details=profile), write=True)
    if as_json:
        print_json(_json(practice))
        return
    console.print(f"practice {practice.code} added (id {practice.id}); act in it with "
                  f"MEDBILL_PRACTICE_CODE={practice.code}", markup=False, highlight=False)
    if profile is None:
        console.print(f"it cannot bill until its details are set: medbill practices "
                      f"set-details --practice {practice.code} --details FILE", markup=False,
                      highlight=False)


@app.command("list")
@cli_errors
def list_(as_json: AsJson = False) -> None:
    """The practices you may act in."""
    from medbill_core.services.identity import practices_of

    practices = as_local_user(lambda work, me: practices_of(work, me), write=False)
    if as_json:
        print_json([_json(practice) for practice in practices])
        return
    table = data_table("id", "code", "name", "active")
    for practice in practices:
        table.add_row(str(practice.id), practice.code, practice.name,
                      "yes" if practice.active else "no")
    print_table(table)


@app.command("set-details")
@cli_errors
def set_details(details: DetailsFile, practice: PracticeCode = None,
                as_json: AsJson = False) -> None:
    """Set a practice's billing provider details (name, NPI, tax id, address)."""
    from medbill_core.services.identity import set_practice_details

    profile = _details(details)
    info = as_local_user(lambda work, me: set_practice_details(
        work, me, profile, practice_code=practice), write=True)
    if as_json:
        print_json(_json(info))
        return
    console.print(f"practice {info.code}: billing details set", markup=False, highlight=False)

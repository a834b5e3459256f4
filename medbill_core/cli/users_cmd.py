"""``medbill users``: the people who sign in, and their role in each practice.

Every command acts as the command line's local user (``[medbill] user`` / ``MEDBILL_USER``;
while the database has no user, a bootstrap administrator named after the OS account).
Passwords are read from standard input only (``--password-stdin``), never from an option:
options end up in shell histories and process lists.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    print_json,
    print_table,
)
from medbill_core.cli.identity_common import (
    AsJson,
    PracticeCode,
    RoleOption,
    as_local_user,
    iso,
    moment,
    parse_role,
)

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork
    from medbill_core.domain.identity import Principal
    from medbill_core.services.identity import UserInfo

app = typer.Typer(help="Users: who signs in, and their role in each practice.",
                  no_args_is_help=True)

UserName = Annotated[str, typer.Argument(help="The user's name (letters, digits, . _ @ -)")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (its first line)")]


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise fail("--password-stdin: standard input held no password", 2)
    return password


def _user_json(user: Any) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "practice": user.practice_code,
            "role": user.role.value if user.role else None, "status": user.status,
            "has_password": user.has_password, "created_at": iso(user.created_at),
            "last_login_at": iso(user.last_login_at), "disabled_at": iso(user.disabled_at),
            "locked_until": iso(user.locked_until)}


def _report(user: Any, what: str, as_json: bool) -> None:
    if as_json:
        print_json(_user_json(user))
        return
    role = user.role.value if user.role else "no role"
    console.print(f"user {user.name} {what} ({role} in practice {user.practice_code}, "
                  f"{user.status})", markup=False, highlight=False)


@app.command("add")
@cli_errors
def add(name: UserName, role: RoleOption, practice: PracticeCode = None,
        password_stdin: PasswordStdin = False, as_json: AsJson = False) -> None:
    """Add a user with a role in a practice (the first user must be an administrator)."""
    from medbill_core.audit import os_user
    from medbill_core.services.identity import add_user

    chosen = parse_role(role)
    password = _read_password() if password_stdin else None
    acted_as: list[Principal] = []

    def add_as(work: UnitOfWork, me: Principal) -> UserInfo:
        acted_as.append(me)
        return add_user(work, me, name, chosen, practice_code=practice, password=password)

    user = as_local_user(add_as, write=True)
    _report(user, "added", as_json)
    if acted_as[0].bootstrap and not as_json and user.name != os_user().lower():
        # the bootstrap administrator ends with the first user: without this line the next
        # command's refusal is the first the newcomer hears of it
        console.print(f"the command line now acts as a named user: set MEDBILL_USER={user.name} "
                      f"(or [medbill] user = \"{user.name}\" in medbill.toml)", markup=False)


@app.command("list")
@cli_errors
def list_command(practice: PracticeCode = None, as_json: AsJson = False) -> None:
    """The users of a practice, their role and whether they may sign in."""
    from medbill_core.services.identity import list_users

    users = as_local_user(lambda work, me: list_users(work, me, practice_code=practice),
                          write=False)
    if as_json:
        print_json([_user_json(user) for user in users])
        return
    if not users:
        console.print("no users: the command line acts as a bootstrap administrator until "
                      "'medbill users add NAME --role administrator'", markup=False)
        return
    table = data_table("id", "name", "role", "status", "password", "last login", "created",
                       keys=("id", "name", "role", "status", "last login", "created"))
    for user in users:
        table.add_row(str(user.id), user.name, user.role.value if user.role else "-",
                      user.status, "yes" if user.has_password else "no",
                      moment(user.last_login_at), moment(user.created_at))
    print_table(table)


@app.command("disable")
@cli_errors
def disable(name: UserName, as_json: AsJson = False) -> None:
    """Stop a user from signing in or acting (its records and audit trail stay)."""
    from medbill_core.services.identity import disable_user

    user = as_local_user(lambda work, me: disable_user(work, me, name), write=True)
    _report(user, "disabled", as_json)


@app.command("enable")
@cli_errors
def enable(name: UserName, as_json: AsJson = False) -> None:
    """Let a disabled or locked-out user sign in again."""
    from medbill_core.services.identity import enable_user

    user = as_local_user(lambda work, me: enable_user(work, me, name), write=True)
    _report(user, "enabled", as_json)


@app.command("grant")
@cli_errors
def grant(name: UserName, role: RoleOption, practice: PracticeCode = None,
          as_json: AsJson = False) -> None:
    """Give a user a role in a practice (or change the role it has there)."""
    from medbill_core.services import identity

    chosen = parse_role(role)
    user = as_local_user(lambda work, me: identity.grant(work, me, name, chosen,
                                                         practice_code=practice), write=True)
    _report(user, "granted", as_json)


@app.command("revoke")
@cli_errors
def revoke(name: UserName, practice: PracticeCode = None, as_json: AsJson = False) -> None:
    """Take a user's role in a practice away."""
    from medbill_core.services import identity

    user = as_local_user(lambda work, me: identity.revoke(work, me, name,
                                                          practice_code=practice), write=True)
    _report(user, "revoked", as_json)


@app.command("password")
@cli_errors
def password(name: UserName, password_stdin: PasswordStdin = False,
             as_json: AsJson = False) -> None:
    """Set a user's password, read from standard input (your own, or any as administrator)."""
    from medbill_core.services.identity import set_password

    if not password_stdin:
        raise fail("give the password on standard input with --password-stdin "
                   "(never as an option: shell histories keep those)", 2)
    secret = _read_password()
    as_local_user(lambda work, me: set_password(work, me, name, secret), write=True)
    if as_json:
        print_json({"name": name.strip().lower(), "password_set": True})
        return
    console.print(f"password of user {name.strip().lower()} set", markup=False,
                  highlight=False)

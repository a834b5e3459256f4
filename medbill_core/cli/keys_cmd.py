"""``medbill keys``: API keys for systems (an EHR, a vendor's integration), each scoped to one
practice and one role. A key's token is printed once, when it is created; medbill keeps only
its hash."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import typer

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    parse_date_option,
    print_json,
    print_table,
    warn,
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

app = typer.Typer(help="API keys: create (the token is shown once), list, revoke.",
                  no_args_is_help=True)

#: The longest a key may be made to live (a longer one: no expiry at all is more honest).
MAX_EXPIRY_DAYS = 3 * 366


def _key_json(key: Any) -> dict[str, Any]:
    return {"id": key.id, "practice": key.practice_code, "role": key.role.value,
            "label": key.label, "prefix": key.prefix, "status": key.status,
            "created_at": iso(key.created_at), "created_by": key.created_by,
            "last_used_at": iso(key.last_used_at), "expires_at": iso(key.expires_at),
            "revoked_at": iso(key.revoked_at)}


@app.command("create")
@cli_errors
def create(
    label: Annotated[str, typer.Option(
        "--label", help="What the key is for (the audit trail shows key:LABEL)")],
    role: RoleOption,
    practice: PracticeCode = None,
    expires: Annotated[str | None, typer.Option(
        "--expires", help="The day it stops working (YYYY-MM-DD, from 00:00 UTC)")] = None,
    as_json: AsJson = False,
) -> None:
    """Create an API key; its token is printed once: store it at once."""
    from medbill_core.services.identity import create_key

    chosen = parse_role(role)
    until = parse_date_option(expires, "--expires", future_days=MAX_EXPIRY_DAYS)
    if until is not None and until <= date.today():
        raise fail("--expires must be a day after today", 2)
    expires_at = datetime.combine(until, time(0), tzinfo=UTC) if until else None
    created = as_local_user(lambda work, me: create_key(
        work, me, label, chosen, practice_code=practice, expires_at=expires_at), write=True)
    key = created.key
    warn("store this token now: it is shown only this once and cannot be recovered (if it "
         "is lost, revoke the key and create another)")
    if as_json:
        print_json({**_key_json(key), "token": created.token})
        return
    console.print(f"key {key.id} ({key.label}, {key.role.value} in practice "
                  f"{key.practice_code}) created; its token:", markup=False, highlight=False)
    console.print(created.token, markup=False, highlight=False, soft_wrap=True)


@app.command("list")
@cli_errors
def list_command(practice: PracticeCode = None, as_json: AsJson = False) -> None:
    """A practice's API keys, revoked ones too (never their tokens)."""
    from medbill_core.services.identity import list_keys

    keys = as_local_user(lambda work, me: list_keys(work, me, practice_code=practice),
                         write=False)
    if as_json:
        print_json([_key_json(key) for key in keys])
        return
    if not keys:
        console.print("no API keys ('medbill keys create --label L --role R')", markup=False)
        return
    table = data_table("id", "prefix", "label", "role", "status", "last used", "expires",
                       "created", "by",
                       keys=("id", "prefix", "label", "role", "status", "last used",
                             "expires", "created"))
    for key in keys:
        table.add_row(str(key.id), key.prefix, key.label, key.role.value, key.status,
                      moment(key.last_used_at), moment(key.expires_at), moment(key.created_at),
                      key.created_by)
    print_table(table)


@app.command("revoke")
@cli_errors
def revoke(
    key: Annotated[str, typer.Argument(metavar="ID_OR_PREFIX",
                                       help="The key's id or prefix (as 'keys list' shows)")],
    as_json: AsJson = False,
) -> None:
    """Revoke an API key: every call with it fails from now on."""
    from medbill_core.services.identity import revoke_key

    revoked = as_local_user(lambda work, me: revoke_key(work, me, key), write=True)
    if as_json:
        print_json(_key_json(revoked))
        return
    console.print(f"key {revoked.id} ({revoked.label}, prefix {revoked.prefix}) revoked",
                  markup=False, highlight=False)

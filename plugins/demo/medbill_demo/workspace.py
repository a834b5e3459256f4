"""The end of ``make demo``: a demo-only account on the demo's database and how to open the
workspace (the ``workspace_web`` plugin's pages, ``medbill serve``) on the demo data.

The account is made for the demo database alone, with a password drawn at random on each
run (printed, and kept in ``workspace-login.txt`` beside the database, owner-only like every
file there): it is no default password, and no real user's. The saved ``medbill.toml`` names
it as the command line's user, so ``medbill -c demo-out/medbill.toml ...`` keeps working
once the database has a user.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from rich.console import Console

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.privatefiles import write_private
from medbill_core.services.identity import add_user
from medbill_demo.pay_online import GATEWAY_API_KEY, GATEWAY_WEBHOOK_SECRET, SERVE_URL

#: The demo-only account (an administrator: the first user of a database must be one).
DEMO_USER = "demo"
#: Where ``medbill serve`` listens by default.
LOGIN_FILE = "workspace-login.txt"


def add_demo_account(out: Path) -> str:
    """Create the demo-only account on ``out``'s database, name it as the command line's
    user in ``out/medbill.toml``; its password."""
    config_path = out / "medbill.toml"
    config = load_config(config_path)
    password = secrets.token_urlsafe(12)
    medbill = Medbill.open(config)
    try:
        practice = medbill.default_practice_id()
        assert practice is not None, "the demo made its practice"
        installer = Principal(kind=PrincipalKind.USER, id=0, name="demo-setup",
                              practice_id=practice, role=Role.ADMINISTRATOR, bootstrap=True)
        with medbill.unit_of_work(principal=installer) as work:
            add_user(work, installer, DEMO_USER, Role.ADMINISTRATOR, password=password)
    finally:
        medbill.close()
    # the saved configuration's own text (its paths relative to it), the user added
    write_private(config_path, _with_user(config_path.read_text("utf-8"), DEMO_USER))
    assert load_config(config_path).user == DEMO_USER
    write_private(out / LOGIN_FILE, f"workspace: {SERVE_URL}/workspace/\nuser: {DEMO_USER}\n"
                                    f"password: {password}\n(a demo-only account of this "
                                    "demo database)\n")
    return password


def _with_user(toml_text: str, user: str) -> str:
    """``toml_text`` with ``user = "<user>"`` in its ``[medbill]`` table."""
    lines = toml_text.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "[medbill]":
            lines.insert(index + 1, f'user = "{user}"')
            return "\n".join(lines) + "\n"
    raise ValueError("the demo's medbill.toml has no [medbill] table")


def print_workspace_instructions(out: Path, password: str, console: Console) -> None:
    console.print()
    console.print("[bold]Open the workspace on the demo data[/bold]")
    # soft_wrap: a narrow terminal must not break the command or the password in two
    console.print(f"  medbill -c {out / 'medbill.toml'} serve", soft_wrap=True)
    console.print(f"  then open {SERVE_URL}/workspace/ and sign in as [bold]{DEMO_USER}[/bold] "
                  f"with the password [bold]{password}[/bold]", soft_wrap=True)
    console.print(f"  (a demo-only account of this demo database; also in {out / LOGIN_FILE})",
                  soft_wrap=True)
    console.print("[bold]Pay a statement as a patient would[/bold]")
    console.print(f"  open {SERVE_URL}/pay and type the code printed on a statement in "
                  f"{out / 'statements'} (the patient's date of birth opens it); to pay by "
                  "card, run the gateway simulator beside it:", soft_wrap=True)
    console.print(f"  medbill -c {out / 'medbill.toml'} payments-mock serve --api-key "
                  f"{GATEWAY_API_KEY} --webhook-secret {GATEWAY_WEBHOOK_SECRET} --webhook-url "
                  f"{SERVE_URL}/v1/payment-gateways/mock/webhooks", soft_wrap=True)


"""``medbill``: the command line. Sub-commands live in one module each."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from medbill_core.cli import (
    accounts_cmd,
    appeals_cmd,
    audit_cmd,
    claims_cmd,
    cycle_cmd,
    db_cmd,
    demo_cmd,
    denials_cmd,
    fees_cmd,
    guarantors_cmd,
    init_cmd,
    patients_cmd,
    plugins_cmd,
    receivables_cmd,
)
from medbill_core.cli.common import print_problem, state
from medbill_core.errors import MedbillError

CORE_COMMANDS = {"init", "plugins", "demo"}


def _root(config: Annotated[str | None, typer.Option(
        "--config", "-c", help="Configuration file (default: $MEDBILL_CONFIG or ./medbill.toml)",
        envvar="MEDBILL_CONFIG")] = None) -> None:
    """medbill: plugin-based medical billing — claims, eligibility, remittance, ledger, audit."""
    state.config_path = config


def build_app() -> typer.Typer:
    """The root application with the core's commands (plugins add theirs in :func:`run`)."""
    app = typer.Typer(no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, rich_markup_mode="rich")
    app.callback()(_root)
    app.command("init")(init_cmd.init)
    app.add_typer(plugins_cmd.app, name="plugins")
    app.add_typer(db_cmd.app, name="db")
    app.add_typer(patients_cmd.app, name="patients")
    app.add_typer(patients_cmd.coverages_app, name="coverages")
    app.add_typer(patients_cmd.providers_app, name="providers")
    app.add_typer(guarantors_cmd.app, name="guarantors")
    app.add_typer(claims_cmd.app, name="claims")
    app.add_typer(cycle_cmd.eligibility_app, name="eligibility")
    app.add_typer(cycle_cmd.responses_app, name="responses")
    app.add_typer(cycle_cmd.remit_app, name="remit")
    app.add_typer(accounts_cmd.payments_app, name="payments")
    app.add_typer(accounts_cmd.plans_app, name="plans")
    app.add_typer(accounts_cmd.statements_app, name="statements")
    app.add_typer(accounts_cmd.collections_app, name="collections")
    app.add_typer(receivables_cmd.app, name="ar")
    app.add_typer(appeals_cmd.app, name="appeals")
    app.add_typer(denials_cmd.app, name="denials")
    app.add_typer(fees_cmd.fees_app, name="fees")
    app.add_typer(fees_cmd.chargemaster_app, name="chargemaster")
    app.command("estimate")(accounts_cmd.estimate_command)
    app.command("audit")(audit_cmd.audit)
    app.command("demo")(demo_cmd.demo)
    _add_optional_apps(app)
    return app


def _add_optional_apps(app: typer.Typer) -> None:
    """Core command groups that live in their own modules (code sets, validation)."""
    import importlib

    for module_name, command in (("medbill_core.cli.codes", "codes"),
                                 ("medbill_core.cli.validate_cmd", "validate")):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        app.add_typer(module.app, name=command)


def _config_option(argv: list[str]) -> str | None:
    """The root ``--config`` value: only options before the command are the root's
    (``medbill clearinghouse serve --config sim.toml`` is the simulator's own option)."""
    for index, arg in enumerate(argv):
        if arg in ("--config", "-c") and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if not arg.startswith("-"):
            return None  # the command: what follows belongs to it
    return None


def _first_command(argv: list[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--config", "-c"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def register_plugin_commands(app: typer.Typer, argv: list[str]) -> None:
    """Let enabled plugins add commands. A broken configuration only matters to commands
    that need it: ``init`` and ``plugins`` still run, so a user can repair it."""
    from medbill_core.config import load_config
    from medbill_core.plugins import PluginHooks

    command = _first_command(argv)
    config_value = _config_option(argv)
    try:
        config = load_config(config_value)
        if not config.plugins:
            return
        PluginHooks.start(config).register_commands(app=app)
    except MedbillError as exc:
        if command in CORE_COMMANDS or command is None:
            return
        print_problem(exc.message)
        raise SystemExit(exc.exit_code) from None


def run() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    app = build_app()
    register_plugin_commands(app, argv)
    app()

"""``medbill``: the command line. Sub-commands live in one module each."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer._click import exceptions as click_errors  # typer vendors click: its classes
from typer._click.core import Command, Context
from typer.core import TyperGroup

from medbill_core.cli.common import print_problem, state
from medbill_core.cli.help_texts import CODES_HELP
from medbill_core.errors import MedbillError

CORE_COMMANDS = {"init", "plugins", "demo"}
#: Stand-alone utilities: a broken configuration does not stop them (nor plugins' additions
#: to them, such as ``validate mbi``).
CONFIG_FREE_COMMANDS = {"validate"}
#: Commands that read only the code sets: no plugin adds to them, so none is started (a
#: plugin's start-up -- the PDF renderer's fonts, the X12 engine -- would double theirs).
PLUGIN_FREE_COMMANDS = {"codes"}
#: Exit code of the last-resort guard in :func:`run` (EX_SOFTWARE: an internal error).
INTERNAL_ERROR_EXIT = 70
#: Set to see the traceback the last-resort guard hides (for a bug report).
TRACEBACK_ENV = "MEDBILL_TRACEBACK"


class MedbillGroup(TyperGroup):
    """The root command. Usage errors (a missing option, a bad choice, a file that does not
    exist) follow the same rule as every other error: one line on stderr, exit 2. Typer's
    boxed, width-wrapped panel would break a message across lines (and tests reading it)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False,
                                  windows_expand_args=windows_expand_args, **extra)
        except click_errors.ClickException as exc:
            if not standalone_mode:
                raise
            if type(exc).__name__ != "NoArgsIsHelpError":  # its help is already printed
                print_problem(usage_error_line(exc))
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            print_problem("aborted")
            sys.exit(1)
        if not standalone_mode:
            return result
        # non-standalone click returns the exit code of a typer.Exit, else the command's value
        sys.exit(result if isinstance(result, int) else 0)


def usage_error_line(exc: click_errors.ClickException) -> str:
    """A click error as one line, pointing at the command's help."""
    # an option typed as an enum is converted by pydantic, whose "Value error, " is noise
    message = " ".join(exc.format_message().split()).replace(": Value error, ", ": ")
    ctx: Context | None = getattr(exc, "ctx", None)
    if ctx is None:
        return message
    return f"{message} (see '{ctx.command_path} --help')"


def _root(config: Annotated[str | None, typer.Option(
        "--config", "-c", help="Configuration file (default: $MEDBILL_CONFIG or ./medbill.toml)",
        envvar="MEDBILL_CONFIG")] = None) -> None:
    """medbill: plugin-based medical billing — claims, eligibility, remittance, ledger, audit."""
    state.config_path = config


def _own(group: typer.Typer) -> typer.Typer:
    """A copy of a module's command group for one application: plugins add commands to
    groups (``validate mbi``), and must not change the module's (shared) instance."""
    import copy

    own = copy.copy(group)
    own.registered_commands = list(group.registered_commands)
    own.registered_groups = list(group.registered_groups)
    return own


#: The core's commands: name -> (module in medbill_core.cli, attribute, kind): a group
#: (``typer.Typer``) or a single command (a function). Modules are imported only for the
#: commands an invocation needs (see :func:`build_app`): importing all of them (the domain,
#: the ORM schema, every service) costs most of a second, which `medbill codes show` should
#: not pay. A group another module adds commands to is named by that module (cycle_cmd adds
#: `claims submit`, `status`, `void`, ... to claims_cmd's group).
CORE_COMMAND_TABLE: dict[str, tuple[str, str, str]] = {
    "init": ("init_cmd", "init", "command"),
    "estimate": ("accounts_cmd", "estimate_command", "command"),
    "demo": ("demo_cmd", "demo", "command"),
    "worker": ("worker_cmd", "worker", "command"),
    "serve": ("serve_cmd", "serve", "command"),
    "plugins": ("plugins_cmd", "app", "group"),
    "db": ("db_cmd", "app", "group"),
    "patients": ("patients_cmd", "app", "group"),
    "coverages": ("patients_cmd", "coverages_app", "group"),
    "providers": ("patients_cmd", "providers_app", "group"),
    "guarantors": ("guarantors_cmd", "app", "group"),
    "assistance": ("assistance_cmd", "app", "group"),
    "claims": ("cycle_cmd", "claims_app", "group"),
    "eligibility": ("cycle_cmd", "eligibility_app", "group"),
    "responses": ("cycle_cmd", "responses_app", "group"),
    "remit": ("cycle_cmd", "remit_app", "group"),
    "payments": ("accounts_cmd", "payments_app", "group"),
    "plans": ("accounts_cmd", "plans_app", "group"),
    "statements": ("accounts_cmd", "statements_app", "group"),
    # collections_cmd adds the agencies' commands to accounts_cmd's group
    "collections": ("collections_cmd", "collections_app", "group"),
    # issue 18: patient credits, write-offs, insurance overpayments
    "credits": ("credits_cmd", "app", "group"),
    "writeoffs": ("writeoffs_cmd", "app", "group"),
    "overpayments": ("overpayments_cmd", "app", "group"),
    "paylinks": ("paylinks_cmd", "app", "group"),
    "ar": ("receivables_cmd", "app", "group"),
    # issue 18: journal entries for the books
    "accounting": ("accounting_cmd", "app", "group"),
    # issue 18: texts and e-mails about statements; patient financing
    "notifications": ("notifications_cmd", "app", "group"),
    "financing": ("financing_cmd", "app", "group"),
    # issue 16: the KPIs of the dashboard, on the command line
    "report": ("report_cmd", "app", "group"),
    "appeals": ("appeals_cmd", "app", "group"),
    "denials": ("denials_cmd", "app", "group"),
    "queues": ("queues_cmd", "app", "group"),
    "fees": ("fees_cmd", "fees_app", "group"),
    "chargemaster": ("fees_cmd", "chargemaster_app", "group"),
    "audit": ("audit_cmd", "app", "group"),
    "audit-coding": ("coding_audit_cmd", "app", "group"),
    "codes": ("codes", "app", "group"),
    "validate": ("validate_cmd", "app", "group"),
    "jobs": ("worker_cmd", "jobs_app", "group"),
    "users": ("users_cmd", "app", "group"),
    "keys": ("keys_cmd", "app", "group"),
    "practices": ("practices_cmd", "app", "group"),
    "webhooks": ("webhooks_cmd", "app", "group"),
}

#: What ``medbill --help`` lists beside each core command, so that listing is printed
#: without importing every module (a test keeps it equal to the commands' own help).
CORE_COMMAND_SUMMARIES: dict[str, str] = {
    "init": "Write a commented starter medbill.toml.",
    "estimate": "Estimate what the patient will owe for planned services (before the visit).",
    "demo": "Run the whole cycle: eligibility, claims, acknowledgments, remittances,"
            " statements.",
    "plugins": "Installed and enabled plugins.",
    "db": "Database schema, and the balances the ledger keeps.",
    "patients": "Patients.",
    "coverages": "Insurance coverages.",
    "providers": "Rendering and referring providers.",
    "guarantors": "Guarantors: who pays a patient's bills and receives the statements.",
    "assistance": "Financial assistance: sliding fee discounts measured against the HHS "
                  "poverty guidelines.",
    "claims": "Claims.",
    "eligibility": "Eligibility and benefits (270/271).",
    "responses": "Acknowledgments, status responses and remittances.",
    "remit": "Remittance advice (835).",
    "payments": "Patient payments.",
    "plans": "Payment plans.",
    "statements": "Patient statements.",
    "collections": "Follow-up of unpaid patient balances.",
    "credits": "Patient credits: who has one, refund by check, hold, apply to the family; the"
               " refund check register.",
    "writeoffs": "Write-offs of patient balances: small balances and bad debt, with a"
                 " manager's approval.",
    "overpayments": "Insurance overpayments: refund requests to payers, refunds and"
                    " recoupments.",
    "paylinks": "Pay links: the short code a patient types (or scans) to pay online.",
    "ar": "Accounts receivable: aging, insurance follow-up, remittance exceptions.",
    "accounting": "Accounting export: journal entries for QuickBooks and other books.",
    "notifications": "Texts and e-mails about statements: the outbox, and how each guarantor"
                     " agreed to be reached.",
    "financing": "Patient financing: refer a guarantor's balance to a lender; the approved"
                 " amount posts as a payment from the lender.",
    "report": "Reports: the revenue-cycle KPIs and the claims behind them.",
    "appeals": "Appeals of denied claims: open, list, sent, outcome, withdraw.",
    "denials": "Denials kept open as insurance A/R: list them and decide each one.",
    "queues": "Work queues: what needs doing, assign it, note it, snooze it; the team's "
              "productivity.",
    "fees": "Payers' contracted fee schedules (allowed amount per code and date of service):"
            " used by estimates and to flag payments allowed below the contract.",
    "chargemaster": "The practice's charge master (price per code and date of service): used"
                    " when a planned service or claim line gives no charge.",
    "audit": "Who changed which billing record, and when (newest first).",
    "audit-coding": "Coding audit: E/M levels, modifiers, NCCI bypasses, denials by code;"
                    " review samples and accuracy.",
    "codes": CODES_HELP,
    "validate": "Check one identifier or code: exit 0 and what it is when valid, exit 1 and"
                " why not (or why it could not be checked on the date).",
    "worker": "Run background jobs (submission, responses, 835 posting, statements, scheduled"
              " follow-ups) from the configured PostgreSQL database, until stopped (Ctrl-C,"
              " SIGTERM).",
    "jobs": "Background jobs for medbill worker processes (PostgreSQL).",
    "users": "Users: who signs in, and their role in each practice.",
    "keys": "API keys: create (the token is shown once), list, revoke.",
    "practices": "Practices (tenants): add a client practice, list them, set billing details.",
    "webhooks": "Webhook subscriptions and deliveries.",
    "serve": "Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) until stopped"
             " (Ctrl-C, SIGTERM).",
}


def build_app(only: str | None = None, *, help_only: bool = False) -> typer.Typer:
    """The root application with the core's commands (plugins add theirs in :func:`run`).

    ``only``: the core command the invocation names; just that one is built (its module
    imported), so a command's start-up does not pay for every other module. ``None``
    (a plugin's command, an unknown word) builds them all. ``help_only``: the root's help
    is all that will be printed (``medbill``, ``medbill --help``): each core command is a
    stand-in carrying its summary, and no command module is imported.
    """
    import importlib

    if help_only:
        return _help_app()

    wanted = {name: entry for name, entry in CORE_COMMAND_TABLE.items()
              if only is None or name == only}
    # every module first: a module may add commands to another's group, and a group is
    # copied (``_own``) when it is added
    modules = {module_name: importlib.import_module(f"medbill_core.cli.{module_name}")
               for module_name, _, _ in wanted.values()}
    app = typer.Typer(cls=MedbillGroup, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, rich_markup_mode="rich")
    app.callback()(_root)
    for name, (module_name, attribute, kind) in wanted.items():
        target = getattr(modules[module_name], attribute)
        if kind == "command":
            app.command(name)(target)
        else:
            app.add_typer(_own(target), name=name)
    return app


def _help_app() -> typer.Typer:
    app = typer.Typer(cls=MedbillGroup, no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, rich_markup_mode="rich")
    app.callback()(_root)
    for name, (_, _, kind) in CORE_COMMAND_TABLE.items():
        summary = CORE_COMMAND_SUMMARIES[name]
        if kind == "command":
            app.command(name, help=summary)(_stand_in)
        else:
            app.add_typer(typer.Typer(help=summary), name=name)
    return app


def _stand_in() -> None:  # pragma: no cover - never invoked: only its help is printed
    """A command listed in the root's help; running one builds the real application."""


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


def _command_words(argv: list[str]) -> list[str]:
    """The words naming the command (``["validate", "mbi", "X"]``), root options skipped."""
    words: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--config", "-c") and not words:
            skip = True
        elif arg.startswith("-"):
            if words:
                break  # the command's own options: its path is complete
        else:
            words.append(arg)
    return words


def _missing_path(app: typer.Typer, words: list[str]) -> tuple[str, ...] | None:
    """The command path the words ask for when ``app`` has no such command, else None."""
    node: Command = typer.main.get_command(app)
    for index, word in enumerate(words):
        commands = getattr(node, "commands", None)
        if commands is None:
            return None  # a leaf command: the rest are its arguments
        child = commands.get(word)
        if child is None:
            return tuple(words[:index + 1])
        node = child
    return None


def _plugins_providing(path: tuple[str, ...], enabled: Sequence[str]) -> list[tuple[str, Any]]:
    """Installed plugins, not enabled, whose ``medbill_register_commands`` adds ``path``.
    Only asked when a command is missing, so plugins are imported only then."""
    from medbill_core.loading import installed_plugins, load_enabled

    found = []
    for plugin in installed_plugins():
        if plugin.name in enabled:
            continue
        try:
            [(name, module)] = load_enabled([plugin.name])
        except Exception:  # a broken plugin only fails to offer its commands
            continue
        register = getattr(module, "medbill_register_commands", None)
        if register is None:
            continue
        scratch = build_app()
        try:
            register(app=scratch)
        except Exception:  # same: it cannot be offered
            continue
        if _missing_path(scratch, list(path)) is None:
            found.append((name, register))
    return found


def register_plugin_commands(app: typer.Typer, argv: list[str]) -> None:
    """Let enabled plugins add commands. A broken configuration only matters to commands
    that need it: ``init`` and ``plugins`` still run, so a user can repair it.

    A command of a plugin that is installed but not enabled is named as such (instead of
    "No such command"); without any configuration file, the plugin's commands are offered
    as they are (``medbill x12 parse``, ``medbill validate mbi``: stand-alone utilities).
    """
    from medbill_core.config import load_config
    from medbill_core.plugins import PluginHooks

    command = _first_command(argv)
    if command in PLUGIN_FREE_COMMANDS:
        return
    config_value = _config_option(argv)
    config = None
    try:
        config = load_config(config_value)
        if config.plugins:
            hooks = PluginHooks.start(config)
            hooks.register_commands(app=app)
            state.started = (config, hooks)  # open_app takes them over: started once
    except MedbillError as exc:
        if command in CORE_COMMANDS or command is None:
            return
        if command not in CONFIG_FREE_COMMANDS:
            print_problem(exc.message)
            raise SystemExit(exc.exit_code) from None
    path = _missing_path(app, _command_words(argv))
    if path is None:
        return
    providers = _plugins_providing(path, config.plugins if config else [])
    if not providers:
        return  # click says "No such command" in one line
    if config is None or config.source is None:
        for _name, register in providers:
            register(app=app)
        return
    name = providers[0][0]
    print_problem(f"'{' '.join(path)}' comes from plugin {name}, installed but not enabled "
                  f"in {config_value or config.source.name}: add \"{name}\" to plugins in "
                  "[medbill] (see 'medbill plugins list')")
    raise SystemExit(2)


def application(argv: list[str]) -> typer.Typer:
    """The command line for ``argv``: the core command it names (all of them when it names
    none, or asks for the root's help) and the commands of enabled plugins."""
    command = _first_command(argv)
    root_help = command is None and (not argv or "--help" in argv)
    app = build_app(command if command in CORE_COMMAND_TABLE else None, help_only=root_help)
    register_plugin_commands(app, argv)
    return app


def run() -> None:
    """Console-script entry point.

    The last-resort guard: an exception no command turned into a one-line error is a bug,
    but the user still gets one line (the exception's type only: its text may hold PHI)
    and exit 70, never a traceback. Tests call the commands without this guard, so a bug
    still fails them with its traceback.
    """
    argv = sys.argv[1:]
    try:
        application(argv)(prog_name="medbill")
    except KeyboardInterrupt:
        print_problem("interrupted")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(TRACEBACK_ENV):
            raise
        print_problem(f"internal error ({type(exc).__name__}): the command stopped, its open "
                      f"transaction was rolled back; set {TRACEBACK_ENV}=1 to see where, "
                      "and report it")
        sys.exit(INTERNAL_ERROR_EXIT)

"""Every command that prints data has ``--json`` (issue 10: "--json on every command that
prints data").

The commands are found by walking the Typer/click tree of the whole application (core and
every shipped plugin, as test_cli_malformed.py does), so a command added later without
``--json`` fails this test unless it is listed below with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from medbill_core.cli.main import build_app
from medbill_core.config import MedbillConfig
from medbill_core.plugins import PluginHooks

SHIPPED = ("payer_generic_x12", "payer_medicare", "clearinghouse_mock", "statements_pdf")

#: Commands that only act, or whose output is a file's text rather than data: no ``--json``.
ACTS_ONLY = {
    ("init",),                             # writes medbill.toml; prints where
    ("db", "upgrade"),                     # migrates the schema; prints the revision reached
    ("clearinghouse", "serve"),            # a foreground server, runs until interrupted
    ("clearinghouse", "default-config"),   # prints a TOML file to redirect into a file
    ("worker",),                           # runs job-queue workers until interrupted
    ("serve",),                            # serves the HTTP API until interrupted
}

#: Commands of modules another engineer finishes in this same pass (patients, guarantors,
#: accounts, fees, codes, audit, init/db/plugins/demo). The lead empties this set after
#: merging that work: a command still listed then fails test_pending_list_is_not_stale.
PENDING_OTHER_MODULES: set[tuple[str, ...]] = set()

#: Commands neither half of this pass owns (the validators and a plugin's X12 check): each
#: prints a verdict, so each should get ``--json``; listed so the lead can assign them.
PENDING_UNASSIGNED: set[tuple[str, ...]] = set()


def _full_app() -> typer.Typer:
    app = build_app()
    PluginHooks.start(MedbillConfig(plugins=list(SHIPPED))).register_commands(app=app)
    return app


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    commands = getattr(node, "commands", None)
    if commands is None:
        yield path, node
        return
    for name, child in sorted(commands.items()):
        yield from _leaves(child, (*path, name))


COMMANDS = dict(_leaves(typer.main.get_command(_full_app())))


def _has_json(command: Any) -> bool:
    return any("--json" in getattr(param, "opts", ()) for param in command.params)


def test_every_command_that_prints_data_has_json() -> None:
    excused = ACTS_ONLY | PENDING_OTHER_MODULES | PENDING_UNASSIGNED
    missing = sorted(" ".join(path) for path, command in COMMANDS.items()
                     if path not in excused and not _has_json(command))
    assert missing == []


def test_every_claim_side_command_has_json() -> None:
    """The claim side of issue 10: no command of these groups may be excused."""
    groups = {"claims", "eligibility", "responses", "remit", "ar", "appeals", "denials",
              "queues"}
    claim_side = {path: command for path, command in COMMANDS.items() if path[0] in groups}
    assert ("claims", "void") in claim_side and ("responses", "fetch") in claim_side
    assert ("claims", "form") in claim_side and ("claims", "reprint") in claim_side  # paper
    assert sorted(" ".join(path) for path, command in claim_side.items()
                  if not _has_json(command)) == []


def test_pending_list_is_not_stale() -> None:
    """Each excused command exists (a renamed command must not hide here), and a pending one
    that gained --json must leave the list."""
    for path in ACTS_ONLY | PENDING_OTHER_MODULES | PENDING_UNASSIGNED:
        assert path in COMMANDS, path
    assert sorted(" ".join(path) for path in PENDING_OTHER_MODULES | PENDING_UNASSIGNED
                  if _has_json(COMMANDS[path])) == []


def test_report_commands_have_json() -> None:
    """The KPIs (issue 16): the same figures as the API's, so ``--json`` is their contract."""
    report = {path: command for path, command in COMMANDS.items() if path[0] == "report"}
    assert sorted(report) == [("report", "kpi"), ("report", "kpi-claims")]
    assert all(_has_json(command) for command in report.values())


def test_accounting_commands_have_json() -> None:
    """The accounting export (issue 18): batches and the chart are read by scripts too."""
    accounting = {path: command for path, command in COMMANDS.items()
                  if path[0] == "accounting"}
    assert sorted(accounting) == [("accounting", name) for name in (
        "accounts", "batches", "export", "reexport", "set-account")]
    assert all(_has_json(command) for command in accounting.values())


def test_notification_and_financing_commands_have_json() -> None:
    """Texts and e-mails, financing referrals (issue 18): every command, scripts read them."""
    wanted = {path: command for path, command in COMMANDS.items()
              if path[0] in ("notifications", "financing")}
    assert sorted(wanted) == sorted([
        ("financing", "check"), ("financing", "check-pending"), ("financing", "list"),
        ("financing", "refer"),
        ("financing", "show"), ("notifications", "contact", "set"),
        ("notifications", "contact", "show"), ("notifications", "deliver"),
        ("notifications", "list"), ("notifications", "send-link"),
        ("notifications", "show")])
    assert all(_has_json(command) for command in wanted.values())

"""Every command of the CLI, fed malformed values: a one-line error, a non-zero exit, never
a traceback.

The commands are found by walking the Typer/click tree of the whole application (core
and every shipped plugin), so a new command or option is covered without touching this
file. Each option or argument gets, one at a time, values of the kinds people mistype
(an impossible date, a US-style date, an amount with three places or an exponent, a
negative or huge number, an empty value, a path that cannot exist or cannot be written,
an unknown choice) while the others hold plausible values, against an initialised
database with a little data.

The commands run in-process without the console script's last-resort guard: an
exception escaping a command fails this test with its traceback (the root cause to fix),
where the installed ``medbill`` would have printed one line and exited 70.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer
from medbill_demo.runner import saved_demo_config
from typer.testing import CliRunner, Result

from medbill_core.cli.main import application, build_app
from medbill_core.config import MedbillConfig, config_toml
from medbill_core.plugins import PluginHooks
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

SHIPPED = ("payer_generic_x12", "payer_medicare", "clearinghouse_mock", "statements_pdf")

#: Commands left out, and why.
SKIPPED = {
    # a foreground server: plausible values for its other options would start it
    ("clearinghouse", "serve"): "runs until interrupted",
    ("serve",): "runs until interrupted (its options' errors: tests/test_http_serve.py)",
}

#: Commands whose answer is on stdout with exit 1 (``validate npi X``: "invalid: ...").
ANSWERS_ON_STDOUT = {("validate",), ("x12", "validate"), ("claims", "scrub"),
                     ("claims", "submit"), ("remit", "post")}

#: Options for which a path that does not exist is not an error: where to look, if there.
#: Folders only read from, where a missing one means "nothing loaded there" (the packaged
#: code sets still answer), not an error.
OPTIONAL_FOLDERS = {("codes", "show", "data_dir"), ("codes", "search", "data_dir"),
                    ("codes", "status", "data_dir")}

DATE_NAMES = {"on", "as_of", "start", "received", "date_from", "date_to", "effective",
              "through", "since", "due", "until"}
AMOUNT_NAMES = {"amount", "total", "min_balance", "charge", "fee", "allowed"}

BAD_DATES = ["2026-02-30", "01/01/2027", "banana", ""]
BAD_AMOUNTS = ["12.345", "1e3", "-5.00", "banana", "", "99999999999999999999.99"]
BAD_INTEGERS = ["banana", "-1", "99999999999999999999", ""]
BAD_CHOICES = ["banana", ""]
BAD_TEXT = ["", "x" * 5000]

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601
P2,Hartmann,Greta,1983-08-19,F,22 Dune Road,Evanston,IL,60201
"""
COVERAGES_CSV = """\
account_number,payer_key,order,member_id,group_number
P1,acme,P,ACME00001,G100
P2,medicare,P,1EG4TE5MK73,
"""


def _claims_json() -> str:
    day = (date.today() - timedelta(days=7)).isoformat()
    claims = []
    for number, account, coverage, payer in (("CLM-1", "P1", 1, "acme"),
                                             ("CLM-2", "P2", 2, "medicare")):
        claims.append({
            "claim_number": number, "account_number": account, "coverage_id": coverage,
            "payer_key": payer, "billing_provider_npi": PRACTICE_NPI,
            "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
            "service_date_from": day, "service_date_to": day, "diagnoses": ["E11.9"],
            "lines": [{"line_number": 1, "procedure_code": "99213", "units": "1",
                       "charge": "125.00", "diagnosis_pointers": [1],
                       "service_date_from": day}]})
    return json.dumps(claims)


# -- the command tree -------------------------------------------------------------------------

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


COMMANDS = [(path, command) for path, command in _leaves(typer.main.get_command(_full_app()))
            if path not in SKIPPED]


def _annotation(param: Any) -> Any:
    annotation = param.type_descriptor.annotation
    return getattr(annotation, "__args__", (annotation,))[0] if annotation is list else annotation


def _kind(param: Any) -> str:
    """What kind of value the parameter takes: decides what is malformed for it."""
    annotation = param.type_descriptor.annotation
    inner = getattr(annotation, "__args__", None)
    if inner:
        annotation = inner[0]
    help_text = (getattr(param, "help", None) or "").lower()
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "choice"
    if annotation is bool:
        return "flag"
    if annotation is int:
        return "integer"
    if annotation is Path:
        return "path"
    if param.name in DATE_NAMES or "yyyy-mm-dd" in help_text:
        return "date"
    if param.name in AMOUNT_NAMES or (annotation is str and "amount" in help_text
                                      and "method" not in help_text):
        return "amount"
    return "text"


# -- the data the commands run against ---------------------------------------------------------

class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "medbill.toml"
        # the demo's practice and payers (every shipped plugin enabled, payer options set);
        # the clearinghouse is a closed port, answered at once
        config = saved_demo_config("a-key-of-this-test-only")
        self.config.write_text(config_toml(config.model_copy(update={
            "database_url": f"sqlite:///{root / 'medbill.db'}", "actor": "clerk",
            "plugin_settings": {"clearinghouse_mock": {
                "base_url": "http://127.0.0.1:9", "max_retries": 0, "connect_timeout": 0.2}},
        })), encoding="utf-8")
        self.files = {name: self._write(name, text) for name, text in (
            ("patients.csv", PATIENTS_CSV), ("coverages.csv", COVERAGES_CSV),
            ("claims.json", _claims_json()), ("changes.json", "{}"),
            ("codes.csv", "code,description\nE119,Type 2 diabetes\n"),
            ("remit.835", "ISA*00~"), ("garbage.bin", "\x00\x01 not what was asked for"))}
        (root / "a-folder").mkdir()
        self.app = application(["-c", str(self.config)])

    def _write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(self.app, ["-c", str(self.config), *args])

    def plausible(self, path: tuple[str, ...], param: Any) -> str:
        """A value the parameter accepts, for the parameters not under test."""
        name, kind = param.name, _kind(param)
        by_name = {
            "patient": "P1", "amount": "25.00", "total": "300.00", "installments": "6",
            "start": (date.today() + timedelta(days=10)).isoformat(), "reason": "typo",
            "note": "called the payer", "cycle": date.today().strftime("%Y-%m"),
            "npi": RENDERING_NPI, "last_name": "Doe", "service": "99213=100.00",
            "trace": "EFT0001", "code": "E119", "table": "ptp", "value": "1234567893",
            "changes": str(self.files["changes.json"]),
        }
        if name in by_name:
            return by_name[name]
        if kind == "choice":
            return _first_choice(param)
        if kind == "integer":
            return "1"
        if kind == "date":
            return date.today().isoformat()
        if kind == "amount":
            return "10.00"
        if kind == "path":
            file_for = {("patients", "import"): "patients.csv",
                        ("coverages", "import"): "coverages.csv",
                        ("claims", "import"): "claims.json", ("codes", "load"): "codes.csv"}
            return str(self.files[file_for.get(path, "remit.835")])
        return "x"

    def malformed(self, param: Any) -> list[str]:
        kind = _kind(param)
        if kind == "path":
            return ["/proc/nope/x", str(self.root / "a-folder"), str(self.files["garbage.bin"])]
        return {"date": BAD_DATES, "amount": BAD_AMOUNTS, "integer": BAD_INTEGERS,
                "choice": BAD_CHOICES, "text": BAD_TEXT, "flag": []}[kind]


def _first_choice(param: Any) -> str:
    annotation = param.type_descriptor.annotation
    inner = getattr(annotation, "__args__", None)
    enum = inner[0] if inner else annotation
    return str(next(iter(enum)).value)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    saved = {name: value for name, value in os.environ.items() if name.startswith("MEDBILL_")}
    for name in saved:
        del os.environ[name]
    root = tmp_path_factory.mktemp("malformed")
    cwd = Path.cwd()
    os.chdir(root)
    try:
        space = Workspace(root)
        for args in (("db", "upgrade"), ("patients", "import", "patients.csv"),
                     ("coverages", "import", "coverages.csv"),
                     ("claims", "import", "claims.json")):
            result = space.invoke(*args)
            assert result.exit_code == 0, (args, result.output)
        yield space
    finally:
        os.chdir(cwd)
        os.environ.update(saved)


# -- the walk ---------------------------------------------------------------------------------

def _arguments(space: Workspace, path: tuple[str, ...], command: Any,
               under_test: Any | None = None, value: str | None = None) -> list[str]:
    """``path`` plus a value for every required parameter (``value`` for ``under_test``)."""
    options: list[str] = []
    positional: list[str] = []
    for param in command.params:
        if _kind(param) == "flag":
            continue
        if param is under_test:
            chosen = value
        elif param.required:
            chosen = space.plausible(path, param)
        else:
            continue
        if param.param_type_name == "option":
            options += [param.opts[0], chosen]
        else:
            positional.append(chosen)
    return [*path, *positional, *options]


def _check(result: Result, args: list[str], path: tuple[str, ...], *,
           must_fail: bool) -> None:
    shown = " ".join(a if len(a) < 40 else a[:37] + "..." for a in args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"medbill {shown}: uncaught {type(result.exception).__name__}"
                             " (the console script's guard would have fired)"
                             ) from result.exception
    assert "Traceback" not in result.output, shown
    if must_fail:
        assert result.exit_code != 0, f"medbill {shown}: accepted\n{result.output}"
    if result.exit_code == 0:
        return
    lines = result.stderr.strip().splitlines()
    if not lines and any(path[:len(p)] == p for p in ANSWERS_ON_STDOUT):
        assert result.stdout.strip(), shown
        return
    assert len(lines) == 1 and lines[0].startswith("error: "), f"medbill {shown}:\n{result.stderr}"


@pytest.mark.parametrize(("path", "command"), COMMANDS,
                         ids=[" ".join(path) for path, _ in COMMANDS])
def test_every_command_refuses_malformed_values_in_one_line(
        workspace: Workspace, path: tuple[str, ...], command: Any) -> None:
    unknown = [*path, "--no-such-option"]
    _check(workspace.invoke(*unknown), unknown, path, must_fail=True)
    for param in command.params:
        for value in workspace.malformed(param):
            args = _arguments(workspace, path, command, param, value)
            # free text and existing paths may be acceptable; typed values never are
            must_fail = _kind(param) in ("date", "amount", "integer", "choice") or (
                _kind(param) == "path" and value.startswith("/proc/")
                and (*path, param.name) not in OPTIONAL_FOLDERS)
            if _kind(param) == "integer" and value == "-1":
                must_fail = False  # an id that does not exist ("claim -1 not found") may be
            _check(workspace.invoke(*args), args, path, must_fail=must_fail)


def test_the_walk_finds_every_kind_of_command() -> None:
    """The tree walk sees plugin commands and nested groups (or it would test nothing)."""
    paths = {path for path, _ in COMMANDS}
    assert {("x12", "parse"), ("validate", "mbi"), ("plans", "create"), ("estimate",),
            ("claims", "status")} <= paths
    assert len(paths) > 40

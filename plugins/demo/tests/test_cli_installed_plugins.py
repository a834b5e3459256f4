"""The command line with the shipped plugins installed: `medbill init` enables what is
installed, `plugins list` shows it, plugins' commands (`x12`, `validate mbi`) answer, and a
starter configuration submits claims through the clearinghouse simulator. (The core's own
command-line tests, which need no plugin, are tests/test_cli.py.)"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from medbill_core.config import load_config
from medbill_core.storage.database import Database
from medbill_core.testing.cli import (
    CONSOLE_SCRIPT,
    cli,
    config_text,
    ok,
    one_line_error,
    run_like_the_console_script,
)
from medbill_core.testing.cli import console_script as medbill
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

ACME_OPTIONS = '\n[payers.acme.options]\nsubmitter_id = "SUB1"\nreceiver_id = "RCV1"\n'
SHIPPED = ("clearinghouse_mock", "payer_generic_x12", "payer_medicare", "statements_pdf",
           "workspace_web", "claim_forms_pdf")
PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code,phone
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601,3125550101
P2,Hartmann,Greta,1983-08-19,F,22 Dune Road,Evanston,IL,60201,
"""


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """Every test here runs the command line isolated (see the core's test kit)."""


def head() -> str | None:
    return Database("sqlite://").head_revision()


def write_config(tmp_path: Path, **options: Any) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", **options),
                    encoding="utf-8")
    return path


def data_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def claim_record(number: str, account: str, coverage_id: int, payer: str,
                 charge: str) -> dict[str, Any]:
    """A one-line office visit a week ago."""
    day = (date.today() - timedelta(days=7)).isoformat()
    return {
        "claim_number": number, "account_number": account, "coverage_id": coverage_id,
        "payer_key": payer, "billing_provider_npi": PRACTICE_NPI,
        "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
        "service_date_from": day, "service_date_to": day, "diagnoses": ["E11.9", "I10"],
        "lines": [{"line_number": 1, "procedure_code": "99213", "units": "1",
                   "charge": charge, "diagnosis_pointers": [1], "service_date_from": day}],
    }


def test_console_script_init_plugins_list_and_db_upgrade(tmp_path: Path) -> None:
    newest = head()
    assert CONSOLE_SCRIPT.exists(), "the console script is not installed in this environment"
    done = medbill(tmp_path, "init")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "medbill.toml").exists()

    listing = medbill(tmp_path, "plugins", "list")
    assert listing.returncode == 0, listing.stderr
    for name in SHIPPED:
        row = next(line for line in listing.stdout.splitlines() if f" {name} " in line)
        assert " yes " in row and "0.1.0" in row

    as_json = medbill(tmp_path, "plugins", "list", "--json")
    data = json.loads(as_json.stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert set(SHIPPED) <= set(plugins)
    assert all(plugins[name]["enabled"] and plugins[name]["error"] is None for name in SHIPPED)
    assert data["enabled_but_not_installed"] == []

    upgraded = medbill(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"empty -> {newest}" in upgraded.stdout
    assert (tmp_path / "medbill.db").exists()
    listed = medbill(tmp_path, "claims", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["claims"] == []


def test_console_script_shows_enabled_yes_and_no(tmp_path: Path) -> None:
    assert medbill(tmp_path, "init", "--plugins", "payer_medicare").returncode == 0
    listing = medbill(tmp_path, "plugins", "list")
    rows = {name: next(line for line in listing.stdout.splitlines() if f" {name} " in line)
            for name in SHIPPED}
    assert " yes " in rows["payer_medicare"]
    for name in set(SHIPPED) - {"payer_medicare"}:
        assert " no " in rows[name]


def test_init_writes_a_starter_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "conf" / "medbill.toml"
    result = ok(None, "init", str(target), "--plugins", "payer_medicare, statements_pdf",
                "--actor", "front-desk")
    assert "enabled plugins: payer_medicare, statements_pdf" in result.stdout
    loaded = load_config(target)
    assert loaded.plugins == ["payer_medicare", "statements_pdf"]
    assert loaded.actor == "front-desk"
    assert loaded.practice is not None and "acme" in loaded.payers
    assert loaded.database_url == f"sqlite:///{(target.parent / 'medbill.db').resolve()}"
    assert "# " in target.read_text(encoding="utf-8")  # commented for humans
    assert target.stat().st_mode & 0o077 == 0  # it will hold credentials: owner-only


def test_init_uses_the_config_option_and_enables_every_installed_plugin(tmp_path: Path) -> None:
    target = tmp_path / "site.toml"
    ok(target, "init")
    assert set(SHIPPED) <= set(load_config(target).plugins)


def test_init_with_an_unknown_plugin_names_it(tmp_path: Path) -> None:
    line = one_line_error(cli(None, "init", "--plugins", "payer_medicare,payer_atlantis"), 2)
    assert "not installed: payer_atlantis" in line
    assert "payer_medicare" in line.split("installed:", 2)[-1]  # lists what is installed
    assert not (tmp_path / "medbill.toml").exists()


def test_plugins_list_marks_only_configured_plugins_enabled(tmp_path: Path) -> None:
    path = write_config(tmp_path, plugins=["clearinghouse_mock", "payer_lost"])
    data = json.loads(ok(path, "plugins", "list", "--json").stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert {name: plugins[name]["enabled"] for name in SHIPPED} == {
        name: name == "clearinghouse_mock" for name in SHIPPED}
    mock = plugins["clearinghouse_mock"]
    assert mock["version"] == "0.1.0"
    assert mock["distribution"] == "medbill-clearinghouse-mock"
    assert mock["module"].startswith("medbill_clearinghouse_mock")
    assert isinstance(mock["hooks"], list)
    assert all(hook.startswith("medbill_") for p in plugins.values() for hook in p["hooks"])
    assert data["enabled_but_not_installed"] == ["payer_lost"]
    listed = ok(path, "plugins", "list")
    # a warning goes to stderr, never into (or over) the table on stdout
    assert listed.stderr.strip() == "warning: enabled but not installed: payer_lost"
    assert "payer_lost" not in listed.stdout


def test_plugins_list_works_without_any_configuration(tmp_path: Path) -> None:
    data = json.loads(ok(None, "plugins", "list", "--json").stdout)
    assert set(SHIPPED) <= {p["name"] for p in data["plugins"]}
    assert not any(p["enabled"] for p in data["plugins"])


def test_stand_alone_utilities_work_without_a_configuration_file(tmp_path: Path) -> None:
    assert not (tmp_path / "medbill.toml").exists()
    result = run_like_the_console_script("validate", "mbi", "1EG4-TE5-MK73")
    assert result.exit_code == 0 and result.stdout.startswith("valid:"), result.output
    (tmp_path / "ack.999").write_text(
        "ISA*00*          *00*          *ZZ*MOCKCH         *ZZ*EXAMPLESUB01   *261101*1200*^*"
        "00501*000000001*0*T*:~GS*FA*MOCKCH*EXAMPLESUB01*20261101*1200*1*X*005010X231A1~"
        "ST*999*0001*005010X231A1~AK1*HC*1*005010X222A1~AK9*A*1*1*1~SE*4*0001~GE*1*1~"
        "IEA*1*000000001~", encoding="ascii")
    result = run_like_the_console_script("x12", "parse", "ack.999")
    assert result.exit_code == 0 and "ack.999" in result.stdout, result.output
    assert not (tmp_path / "medbill.db").exists()


def test_a_command_of_an_installed_plugin_not_enabled_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path)  # enables no plugin
    with pytest.raises(SystemExit) as exited:
        run_like_the_console_script("-c", str(config), "x12", "parse", "file.835")
    assert exited.value.code == 2
    with pytest.raises(SystemExit):
        run_like_the_console_script("-c", str(config), "validate", "mbi", "1EG4TE5MK73")


def test_the_not_enabled_message_names_the_plugin(tmp_path: Path) -> None:
    write_config(tmp_path)
    done = medbill(tmp_path, "x12", "parse", "file.835")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: 'x12' comes from plugin payer_generic_x12, installed but not enabled in "
        "medbill.toml: add \"payer_generic_x12\" to plugins in [medbill] "
        "(see 'medbill plugins list')")


def test_init_writes_a_configuration_that_submits_claims(tmp_path: Path) -> None:
    """Submitter name, contact and phone, a Medicare payer, an API key file of its own: claims
    to both payers go out through the clearinghouse simulator (started with that key, as
    `medbill clearinghouse serve` does) with nothing edited but its URL."""
    from medbill_clearinghouse_mock.simulator.config import default_config
    from medbill_clearinghouse_mock.simulator.server import BackgroundServer
    from typer.testing import CliRunner

    from medbill_core.cli.main import application

    target = tmp_path / "medbill.toml"
    ok(None, "init", str(target))
    text = target.read_text(encoding="utf-8")
    assert 'submitter_contact_name = "Billing Office"' in text
    assert 'api_key_file = "clearinghouse-mock.key"' in text and "[payers.medicare]" in text
    key = (tmp_path / "clearinghouse-mock.key").read_text(encoding="ascii").strip()
    with BackgroundServer(default_config().with_key(key), tmp_path / "sim.db") as server:
        env = {"MEDBILL_PLUGINS__CLEARINGHOUSE_MOCK__BASE_URL": server.base_url}

        def run(*args: str) -> Any:
            argv = ["-c", str(target), *args]
            os.environ.update(env)
            try:
                result = CliRunner().invoke(application(argv), argv, catch_exceptions=False)
            finally:
                for name in env:
                    os.environ.pop(name, None)
            assert result.exit_code == 0, result.output
            return result

        run("db", "upgrade")
        run("providers", "add", "--npi", RENDERING_NPI, "--last-name", "Rivera",
            "--first-name", "Ana", "--taxonomy", "207Q00000X")
        run("patients", "import", str(data_file(tmp_path, "p.csv", PATIENTS_CSV)))
        run("coverages", "import", str(data_file(tmp_path, "c.csv", (
            "account_number,payer_key,order,member_id\nP1,acme,P,ACME00001\n"
            "P2,medicare,P,1EG4TE5MK73\n"))))
        claims = [claim_record("CLM-1", "P1", 1, "acme", "125.00"),
                  claim_record("CLM-2", "P2", 2, "medicare", "80.00")]
        run("claims", "import", str(data_file(tmp_path, "claims.json", json.dumps(claims))))
        scrubbed = json.loads(run("claims", "scrub", "--json").stdout)
        assert scrubbed["blocked"] == 0, scrubbed
        sent = json.loads(run("claims", "submit", "--json").stdout)
        assert sorted((row["payer"], row["status"]) for row in sent) == [
            ("acme", "sent"), ("medicare", "sent")]


def test_payer_option_errors_name_the_file_section_and_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, plugins=["payer_generic_x12"])
    line = one_line_error(cli(path, "claims", "list"), 2)
    assert line == ("error: medbill.toml: [payers.acme.options] submitter_id: field required; "
                    "receiver_id: field required")


def test_validate_works_next_to_a_broken_configuration(tmp_path: Path) -> None:
    (tmp_path / "medbill.toml").write_text("[medbill\n", encoding="utf-8")
    result = run_like_the_console_script("validate", "npi", "1234567893")
    assert result.exit_code == 0 and result.stdout.startswith("valid:"), result.output
    result = run_like_the_console_script("validate", "mbi", "1EG4-TE5-MK73")
    assert result.exit_code == 0 and result.stdout.startswith("valid:"), result.output
    with pytest.raises(SystemExit) as exited:  # a command that needs it still says why
        run_like_the_console_script("claims", "list")
    assert exited.value.code == 2


def test_plugins_start_once_per_command(tmp_path: Path, cli_isolation: None,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line starts the enabled plugins to add their commands; the command then
    opens the app with those hooks, not with a second start."""
    from typer.testing import CliRunner

    from medbill_core.cli.main import application
    from medbill_core.plugins import PluginHooks

    config = write_config(tmp_path, plugins=["payer_generic_x12", "payer_medicare"],
                          extra=ACME_OPTIONS)
    started: list[object] = []
    real_start = PluginHooks.start.__func__  # type: ignore[attr-defined]

    def counting(cls: type[PluginHooks], *args: object, **kwargs: object) -> PluginHooks:
        hooks = real_start(cls, *args, **kwargs)
        started.append(hooks)
        return hooks

    monkeypatch.setattr(PluginHooks, "start", classmethod(counting))
    for argv in (["-c", str(config), "db", "upgrade"], ["-c", str(config), "claims", "list"]):
        started.clear()
        result = CliRunner().invoke(application(argv), argv, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert len(started) == 1, argv

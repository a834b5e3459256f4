"""Configuration: the file, environment overrides and clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from medbill_core.config import build_config, load_config, starter_config
from medbill_core.errors import ConfigurationError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(text)
    return path


def test_starter_file_is_valid_and_commented(tmp_path: Path) -> None:
    text = starter_config(["payer_generic_x12", "statements_pdf"], actor="frontdesk")
    assert text.count("#") > 10
    config = load_config(write(tmp_path, text), environ={})
    assert config.plugins == ["payer_generic_x12", "statements_pdf"]
    assert config.actor == "frontdesk"
    assert config.practice.npi == "1234567893" and config.practice.tax_id == "123456789"
    assert config.payers["acme"].key == "acme"
    assert config.payers["acme"].timely_filing_days == 180
    # a relative SQLite path is relative to the file, not the working directory
    assert config.database_url == f"sqlite:///{tmp_path.resolve() / 'medbill.db'}"


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, starter_config(["a"]))
    config = load_config(path, environ={
        "MEDBILL_DATABASE_URL": "postgresql+psycopg://u@db/medbill",
        "MEDBILL_PLUGINS": "x, y",
        "MEDBILL_PRACTICE__NAME": "Renamed Clinic",
        "MEDBILL_PAYERS__ACME__TIMELY_FILING_DAYS": "90",
        "MEDBILL_PLUGINS__CLEARINGHOUSE_MOCK__BASE_URL": "http://127.0.0.1:9",
        "MEDBILL_ACTOR": "ci",
    })
    assert config.database_url == "postgresql+psycopg://u@db/medbill"
    assert config.plugins == ["x", "y"]
    assert config.practice.name == "Renamed Clinic"
    assert config.payers["acme"].timely_filing_days == 90
    assert config.plugin_settings["clearinghouse_mock"] == {"base_url": "http://127.0.0.1:9"}
    assert config.actor == "ci"


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, starter_config(["only_me"]))
    assert load_config(environ={"MEDBILL_CONFIG": str(path)}).plugins == ["only_me"]
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={}).plugins == ["only_me"]


@pytest.mark.parametrize(("text", "message"), [
    ("[medbill\n", "not valid TOML"),
    ("[nonsense]\nx = 1\n", "unknown section(s): nonsense"),
    ("[medbill]\nplugins = ['a', 'a']\n", "plugin 'a' is listed twice"),
    ("[medbill]\nlog_level = 'LOUD'\n", "log_level"),
    ("[practice]\nname='X'\nnpi='1234567890'\ntax_id='12-3456789'\n"
     "[practice.address]\nline1='1 A St'\ncity='Town'\nstate='IL'\npostal_code='62701'\n",
     "[practice] npi: NPI check digit is wrong"),
    ("[payers.acme]\npayer_id='A1'\nname='Acme'\n", "[payers.acme] adapter: field required"),
    ("[practice]\nname='X'\nnpi='1234567893'\ntax_id='12-3456789'\n"
     "[practice.address]\nline1='1 A St'\nstate='IL'\npostal_code='62701'\n",
     "[practice.address] city: field required"),
    ("[medbill]\nactor = ''\n", "[medbill] actor: string should have at least 1 character"),
    ("[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\n"
     "[payers.acme.options.fee_schedule]\n'99213' = 92.505\n",
     "[payers.acme.options.fee_schedule] 99213: more than two decimal places"),
    ("[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\n"
     "[payers.acme.options.fee_schedule]\n'99213' = 1e3\n",
     "[payers.acme.options.fee_schedule] 99213: not an amount"),
    ("[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\n"
     "[payers.acme.options.fee_schedule]\n'99213' = '12.345'\n",
     "[payers.acme.options.fee_schedule] 99213: more than two decimal places"),
    ("[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\n"
     "[payers.acme.fee_schedule]\n'99213' = '12.345'\n",
     "[payers.acme.fee_schedule] 99213: more than two decimal places"),
    ("[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\nprogram='medicare-ish'\n",
     "[payers.acme] program: input should be 'medicare', 'medicaid' or 'commercial'"),
    ("[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\nduplicate_claims='block'\n",
     "[payers.acme] duplicate_claims: input should be 'warning' or 'error'"),
    ("[payers]\nacme = 3\n", "payers.acme must be a table"),
])
def test_broken_configuration_names_file_and_field(tmp_path: Path, text: str,
                                                   message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as raised:
        load_config(path, environ={})
    assert message in str(raised.value)
    assert str(path) in str(raised.value)
    assert raised.value.exit_code == 2


def test_missing_default_file_gives_defaults_unless_required(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.plugins == [] and config.practice is None
    with pytest.raises(ConfigurationError, match="no such configuration file"):
        load_config(required=True, environ={})
    with pytest.raises(ConfigurationError, match="no \\[practice\\] section"):
        config.require_practice()


def test_a_named_configuration_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    """``-c nothere.toml`` used to fall back to defaults and create a new empty database."""
    with pytest.raises(ConfigurationError, match="absent.toml: no such configuration file"):
        load_config(tmp_path / "absent.toml", environ={})
    with pytest.raises(ConfigurationError, match="no such configuration file"):
        load_config(environ={"MEDBILL_CONFIG": str(tmp_path / "absent.toml")})
    assert not (tmp_path / "medbill.db").exists()


def test_fee_schedule_amounts_written_exactly_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\n"
                           "[payers.acme.options.fee_schedule]\n'99213' = 92.50\n"
                           "'99214' = '110.00'\n'99215' = 150\n")
    payer = load_config(path, environ={}).payers["acme"]
    # the core's table, out of the adapter's options (written there by older configurations)
    assert "fee_schedule" not in payer.options
    assert [str(value) for value in payer.fee_schedule.values()] == ["92.50", "110.00", "150.00"]


def test_paths_in_the_configuration_are_relative_to_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "demo-out"
    folder.mkdir()
    (folder / "medbill.toml").write_text(
        '[medbill]\ndatabase_url = "sqlite:///medbill-demo.db"\n'
        '[plugins.payer_generic_x12]\ncontrol_numbers_path = "control-numbers.db"\n'
        '[plugins.statements_pdf]\nfont_path = "/usr/share/fonts/x.ttf"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config("../demo-out/medbill.toml", environ={})
    assert config.database_url == f"sqlite:///{folder.resolve() / 'medbill-demo.db'}"
    assert config.plugin_settings["payer_generic_x12"] == {
        "control_numbers_path": str(folder.resolve() / "control-numbers.db")}
    assert config.plugin_settings["statements_pdf"] == {"font_path": "/usr/share/fonts/x.ttf"}


def test_bad_environment_path_is_named() -> None:
    with pytest.raises(ConfigurationError, match="MEDBILL_PRACTICE____NAME"):
        build_config(tomllib.loads(""), environ={"MEDBILL_PRACTICE____NAME": "x"})


def test_config_written_as_toml_reads_back_the_same(tmp_path: Path) -> None:
    from medbill_core.config import config_toml

    original = load_config(write(tmp_path, starter_config(["payer_generic_x12"])), environ={})
    original = original.model_copy(update={"plugin_settings": {
        "clearinghouse_mock": {"base_url": "http://127.0.0.1:9", "max_retries": 2}}})
    path = tmp_path / "copy.toml"
    path.write_text(config_toml(original))
    again = load_config(path, environ={})
    assert again.model_dump(exclude={"source"}) == original.model_dump(exclude={"source"})


def test_errors_in_the_default_file_name_it_as_the_user_knows_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "[payers.acme]\npayer_id='A1'\nname='Acme'\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as raised:
        load_config(environ={})
    assert str(raised.value) == "medbill.toml: [payers.acme] adapter: field required"

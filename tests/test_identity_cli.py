"""``medbill users`` and ``medbill keys``: the bootstrap administrator, the named local user,
the token shown once, and a one-line error for every wrong input."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from cli_support import config_text, one_line_error
from typer.testing import CliRunner, Result

from medbill_core.cli.main import build_app

PASSWORD = "a long enough passphrase"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    assert run(path, "db", "upgrade").exit_code == 0
    return path


def run(config: Path, *args: str, user: str | None = None, stdin: str | None = None) -> Result:
    env = {"MEDBILL_USER": user} if user else None
    return CliRunner().invoke(build_app(), ["--config", str(config), *args], env=env,
                              input=stdin, catch_exceptions=False)


def ok(config: Path, *args: str, user: str | None = None, stdin: str | None = None) -> Result:
    result = run(config, *args, user=user, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def with_alice(config: Path) -> Path:
    ok(config, "users", "add", "alice", "--role", "administrator", "--password-stdin",
       stdin=PASSWORD + "\n")
    return config


def test_the_bootstrap_administrator_adds_the_first_user(config: Path) -> None:
    assert "bootstrap administrator" in ok(config, "users", "list").stdout
    assert json.loads(ok(config, "users", "list", "--json").stdout) == []
    line = one_line_error(run(config, "users", "add", "bob", "--role", "biller"))
    assert line == "error: user bob: role: the first user must be an administrator (no one " \
                   "could manage users otherwise)"
    added = ok(config, "users", "add", "alice", "--role", "administrator", "--password-stdin",
               stdin=PASSWORD + "\n")
    assert added.stdout.strip().splitlines() == [
        "user alice added (administrator in practice default, active)",
        'the command line now acts as a named user: set MEDBILL_USER=alice (or [medbill] user '
        '= "alice" in medbill.toml)']
    assert PASSWORD not in added.output
    # users exist now: the command line acts as a named user
    line = one_line_error(run(config, "users", "list"), 2)
    assert "set [medbill] user (or MEDBILL_USER)" in line
    [alice] = json.loads(ok(config, "users", "list", "--json", user="alice").stdout)
    assert {key: alice[key] for key in ("name", "practice", "role", "status", "has_password")} \
        == {"name": "alice", "practice": "default", "role": "administrator",
            "status": "active", "has_password": True}


def test_users_are_managed_by_administrators(with_alice: Path) -> None:
    config = with_alice
    ok(config, "users", "add", "bob", "--role", "biller", user="alice")
    line = one_line_error(run(config, "users", "add", "eve", "--role", "auditor", user="bob"),
                          3)
    assert line == "error: biller may not users.manage"
    assert ok(config, "users", "grant", "bob", "--role", "billing_manager", user="alice"
              ).stdout.strip() == "user bob granted (billing_manager in practice default, " \
                                  "active)"
    table = ok(config, "users", "list", user="bob").stdout  # a manager may read users
    assert "billing_manager" in table and "alice" in table
    ok(config, "users", "disable", "bob", user="alice")
    line = one_line_error(run(config, "users", "list", user="bob"), 3)
    assert line == "error: local user 'bob' is disabled"
    ok(config, "users", "enable", "bob", user="alice")
    ok(config, "users", "revoke", "bob", user="alice")
    assert [u["name"] for u in json.loads(ok(config, "users", "list", "--json",
                                             user="alice").stdout)] == ["alice"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("users", "add", "bob", "--role", "boss"), 2,
     "error: --role must be one of administrator, billing_manager, biller, front_desk, "
     "auditor, got 'boss'"),
    (("users", "add", "ALICE", "--role", "biller"), 1, "error: user alice: name: already exists"),
    (("users", "add", "bob", "--role", "biller", "--practice", "zzz"), 1,
     "error: practice 'zzz' not found"),
    (("users", "add", "no spaces", "--role", "biller"), 1,
     "error: user: name: 1-64 letters, digits or . _ @ -, starting with a letter or digit"),
    (("users", "disable", "nobody"), 1, "error: user 'nobody' not found"),
    (("users", "disable", "alice"), 1, "error: user alice: you cannot disable yourself"),
    (("users", "revoke", "alice"), 1,
     "error: user alice is the last active administrator of practice default: make another "
     "user administrator first"),
    (("users", "password", "alice"), 2,
     "error: give the password on standard input with --password-stdin (never as an option: "
     "shell histories keep those)"),
    (("users", "password", "alice", "--password-stdin"), 2,
     "error: --password-stdin: standard input held no password"),
    (("users", "add", "bob", "--role", "biller", "--password-stdin"), 2,
     "error: --password-stdin: standard input held no password"),
    (("keys", "create", "--label", "ehr", "--role", "root"), 2,
     "error: --role must be one of administrator, billing_manager, biller, front_desk, "
     "auditor, got 'root'"),
    (("keys", "create", "--label", "ehr", "--role", "biller", "--expires", "tomorrow"), 2,
     "error: --expires must be a date as YYYY-MM-DD"),
    (("keys", "create", "--label", "ehr", "--role", "biller", "--expires",
      date.today().isoformat()), 2, "error: --expires must be a day after today"),
    (("keys", "create", "--label", "[/x]", "--role", "biller"), 1,
     "error: key: name: 1-64 letters, digits or . _ @ -, starting with a letter or digit"),
    (("keys", "revoke", "42"), 1, "error: key '42' not found"),
    (("keys", "list", "--practice", "other"), 1, "error: practice 'other' not found"),
])
def test_one_line_errors(with_alice: Path, args: tuple[str, ...], code: int,
                         message: str) -> None:
    assert one_line_error(run(with_alice, *args, user="alice", stdin=""), code) == message


def test_a_password_set_from_stdin_signs_in(with_alice: Path) -> None:
    from medbill_core.app import Medbill
    from medbill_core.config import load_config
    from medbill_core.services.identity import authenticate_password

    result = ok(with_alice, "users", "password", "alice", "--password-stdin", user="alice",
                stdin="another long passphrase\r\n")
    assert result.stdout.strip() == "password of user alice set"
    app = Medbill.open(load_config(with_alice), load_installed=False)
    try:
        assert authenticate_password(app, "alice", "another long passphrase").name == "alice"
    finally:
        app.close()


def test_a_key_token_is_printed_once(with_alice: Path) -> None:
    config = with_alice
    expires = (date.today() + timedelta(days=30)).isoformat()
    created = ok(config, "keys", "create", "--label", "ehr-sync", "--role", "biller",
                 "--expires", expires, user="alice")
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("mbk_") and len(token) == 4 + 12 + 1 + 43
    assert created.stdout.splitlines()[0] == ("key 1 (ehr-sync, biller in practice default) "
                                              "created; its token:")
    assert "store this token now" in created.stderr
    listed = ok(config, "keys", "list", "--json", user="alice").stdout
    secret = token.split("_", 2)[2]
    assert secret not in listed and secret not in ok(config, "keys", "list", user="alice").stdout
    [key] = json.loads(listed)
    assert (key["label"], key["role"], key["status"], key["prefix"], key["created_by"],
            key["expires_at"][:10]) == ("ehr-sync", "biller", "active", token[4:16],
                                        "user:alice", expires)
    as_json = json.loads(ok(config, "keys", "create", "--label", "vendor", "--role", "auditor",
                            "--json", user="alice").stdout)
    assert as_json["token"].startswith(f"mbk_{as_json['prefix']}_")
    revoked = ok(config, "keys", "revoke", token[4:16], user="alice")
    assert revoked.stdout.strip() == f"key 1 (ehr-sync, prefix {token[4:16]}) revoked"
    statuses = {k["label"]: k["status"] for k in
                json.loads(ok(config, "keys", "list", "--json", user="alice").stdout)}
    assert statuses == {"ehr-sync": "revoked", "vendor": "active"}
    line = one_line_error(run(config, "keys", "revoke", "1", user="alice"))
    assert line == "error: key 1 (ehr-sync) is already revoked"


def test_only_administrators_manage_keys(with_alice: Path) -> None:
    ok(with_alice, "users", "add", "meg", "--role", "billing_manager", user="alice")
    line = one_line_error(run(with_alice, "keys", "create", "--label", "x", "--role", "biller",
                              user="meg"), 3)
    assert line == "error: billing_manager may not keys.manage"
    assert "no API keys" in ok(with_alice, "keys", "list", user="meg").stdout


def test_the_local_user_and_practice_settings(tmp_path: Path) -> None:
    from medbill_core.config import build_config, config_toml, load_config, starter_config
    from medbill_core.errors import ConfigurationError

    config = build_config({"medbill": {"user": "alice"}},
                          environ={"MEDBILL_USER": "bob", "MEDBILL_PRACTICE_CODE": "north"})
    assert (config.user, config.practice_code) == ("bob", "north")
    path = tmp_path / "again.toml"
    path.write_text(config_toml(config), encoding="utf-8")
    assert (load_config(path, environ={}).user, load_config(path, environ={}).practice_code) \
        == ("bob", "north")
    with pytest.raises(ConfigurationError, match=r"\[medbill\] user: string should match"):
        build_config({"medbill": {"user": "no spaces"}}, environ={})
    with pytest.raises(ConfigurationError, match=r"\[medbill\] practice_code: string should"):
        build_config({}, environ={"MEDBILL_PRACTICE_CODE": "Upper Case"})
    assert '# user = "alice"' in starter_config([])

"""``medbill payments card``: refusals before anything is asked or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import cli, config_text, ok, one_line_error


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


def test_without_a_configured_gateway_no_card_number_is_asked(config: Path) -> None:
    """The practice has named no gateway: one line saying so, before the card prompt (the
    runner has no input to give it: a prompt would abort instead)."""
    result = cli(config, "payments", "card", "create", "--patient", "RB10001",
                 "--amount", "10.00")
    assert "no payment gateway is configured" in one_line_error(result)
    assert "Card number" not in result.output

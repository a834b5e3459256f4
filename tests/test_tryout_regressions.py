"""Defects found by trying medbill as a new billing specialist would (issue 10), each kept
fixed by a test: the starter configuration from ``medbill init``, the sample files, and the
clearinghouse simulator on loopback, driven through the command line only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli_support import ok

SAMPLES = Path(__file__).resolve().parents[1] / "docs" / "samples"
SEEN = date.today() - timedelta(days=3)


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (see conftest)."""


@pytest.fixture
def clearinghouse(tmp_path: Path) -> Iterator[Any]:
    from medbill_clearinghouse_mock.simulator.config import default_config
    from medbill_clearinghouse_mock.simulator.server import BackgroundServer

    with BackgroundServer(default_config(), tmp_path / "clearinghouse.db") as server:
        yield server


@pytest.fixture
def practice(tmp_path: Path, clearinghouse: Any) -> Path:
    """A practice as `medbill init` starts it (SQLite), its patients and coverages imported
    from the documented samples; the configuration's path."""
    config = tmp_path / "medbill.toml"
    ok(config, "init")
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("http://127.0.0.1:8035", clearinghouse.base_url),
                      encoding="utf-8")
    ok(config, "db", "upgrade")
    ok(config, "patients", "import", str(SAMPLES / "patients.csv"))
    ok(config, "coverages", "import", str(SAMPLES / "coverages.csv"))
    return config


def as_json(config: Path, *args: str) -> Any:
    return json.loads(ok(config, *args, "--json").stdout)


def visit(number: str, account: str, payer: str | None, *services: tuple[str, str]
          ) -> dict[str, Any]:
    return {
        "claim_number": number, "account_number": account, "payer_key": payer,
        "billing_provider_npi": "1234567893", "place_of_service": "11",
        "service_date_from": SEEN.isoformat(), "service_date_to": SEEN.isoformat(),
        "diagnoses": ["I10"],
        "lines": [{"line_number": index, "procedure_code": code, "units": "1",
                   "charge": charge, "diagnosis_pointers": [1],
                   "service_date_from": SEEN.isoformat()}
                  for index, (code, charge) in enumerate(services, start=1)],
    }


def import_claims(config: Path, *visits: dict[str, Any]) -> None:
    path = config.parent / "visits.json"
    path.write_text(json.dumps(list(visits)), encoding="utf-8")
    ok(config, "claims", "import", str(path))


def test_a_999_acknowledges_the_batch_the_x12_plugin_sent(practice: Path) -> None:
    """The 999 names the 837's group (GS06, "4"); the batch was recorded under its
    interchange number (ISA13, "000000004"): the 999 was reported for an "unknown group",
    the batch stayed "sent" and a rejected batch would never have rejected its claims."""
    import_claims(practice, visit("V-1", "RB10001", "acme", ("99213", "125.00")),
                  visit("V-2", "RB10005", "medicare", ("99213", "125.00")))
    ok(practice, "claims", "scrub")
    ok(practice, "claims", "submit")
    fetched = " ".join(ok(practice, "responses", "fetch").stdout.split())
    assert "unknown group" not in fetched
    accepted = re.findall(r"999 accepted \(batch \d+\): 1 claims acknowledged", fetched)
    assert len(accepted) == 2, fetched
    outbox = as_json(practice, "claims", "outbox")
    assert sorted(s["status"] for s in outbox) == ["accepted", "accepted"]

"""The outbox through the command line when the clearinghouse is down: the channel does not
take the batch, so its claims stay queued (not sent), and a retry counts the attempt.
(Moved from the core's tests/test_claims_cli.py: it needs clearinghouse_mock and the X12
plugin.)"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState
from medbill_core.testing.cli import cli, config_text, ok, one_line_error
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

DAY = (date.today() - timedelta(days=7)).isoformat()
PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601
"""
COVERAGES_CSV = "account_number,payer_key,order,member_id,group_number\nP1,acme,P,ACME00001,G100\n"


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (the core's test kit)."""


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    return path


def claim_record(number: str, account: str, coverage_id: int, payer: str,
                 charges: list[str]) -> dict[str, Any]:
    return {
        "claim_number": number, "account_number": account, "coverage_id": coverage_id,
        "payer_key": payer, "billing_provider_npi": PRACTICE_NPI,
        "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
        "service_date_from": DAY, "service_date_to": DAY, "diagnoses": ["E11.9", "I10"],
        "lines": [{"line_number": 1, "procedure_code": "99213", "units": "1",
                   "charge": charges[0], "diagnosis_pointers": [1], "service_date_from": DAY}],
    }


def import_claims(config: Path, tmp_path: Path, *records: dict[str, Any]) -> None:
    ok(config, "claims", "import", str(write(tmp_path, "claims.json", list(records))))


def show(config: Path, reference: str) -> dict[str, Any]:
    return json.loads(ok(config, "claims", "show", reference, "--json").stdout)


def listing(config: Path) -> dict[str, Any]:
    return json.loads(ok(config, "claims", "list", "--json").stdout)


def move(config: Path, number: str, state: ClaimState) -> None:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            work.claims.transition(work.claims.by_number(number).id, state)
    finally:
        app.close()


def test_claims_of_a_batch_the_channel_did_not_take_stay_queued(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on: the clearinghouse is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    extra = f"""
[plugins.clearinghouse_mock]
base_url = "http://127.0.0.1:{port}"
max_retries = 0
connect_timeout = 0.5

[payers.acme.options]
submitter_id = "SUB123"
receiver_id = "CLEARHOUSE"
submitter_name = "LAKESIDE BILLING"
submitter_contact_name = "BILLING OFFICE"
submitter_phone = "3125550100"
"""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                plugins=["payer_generic_x12", "clearinghouse_mock"],
                                extra=extra).replace(
        'adapter = "generic_x12"\n', 'adapter = "generic_x12"\nchannel = "clearinghouse_mock"\n',
        1), encoding="utf-8")
    ok(path, "db", "upgrade")
    ok(path, "patients", "import", str(write(tmp_path, "p.csv", PATIENTS_CSV)))
    ok(path, "coverages", "import", str(write(tmp_path, "c.csv", COVERAGES_CSV)))
    ok(path, "providers", "add", "--npi", RENDERING_NPI, "--last-name", "Rivera",
       "--first-name", "Ana")
    import_claims(path, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]))
    move(path, "CLM-1", ClaimState.VALIDATED)
    submitted = cli(path, "claims", "submit", "--json")
    assert submitted.exit_code == 1, submitted.output
    assert [(o["status"], o["claims"]) for o in json.loads(submitted.stdout)] == [("pending", 1)]
    assert "1 claims stay queued (not sent)" in " ".join(submitted.stderr.split())
    claim = show(path, "CLM-1")
    assert (claim["state"], claim["state_label"]) == ("queued", "queued (not sent)")
    assert [c["state_label"] for c in listing(path)["claims"]] == ["queued (not sent)"]
    outbox = json.loads(ok(path, "claims", "outbox", "--json", "--pending").stdout)
    assert [(o["payer_key"], o["claims"], o["status"], o["attempts"]) for o in outbox] == [
        ("acme", 1, "pending", 1)]
    retried = cli(path, "claims", "outbox", "--retry", "--json")
    assert retried.exit_code == 1
    assert json.loads(retried.stdout)[0]["attempts"] == 2
    assert show(path, "CLM-1")["state"] == "queued"
    # a status inquiry has nothing to ask about either
    assert "queued (not sent): never sent to the payer" in one_line_error(
        cli(path, "claims", "status", "CLM-1"))

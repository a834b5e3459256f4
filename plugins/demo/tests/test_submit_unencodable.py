"""A claim the 837 cannot carry (X12 delimiters in a name or an address, a name with nothing
left once transliterated) with the real X12 plugin and the clearinghouse simulator: the scrub
blocks it, and a claim that reaches ``claims submit`` anyway (validated before the scrub knew
better) goes back to draft with its reason while the payer's other claim is sent. It used to
stop the payer's whole batch: "error: claim BAD-1: segment NM1, element NM103: ...", the good
claim left validated, unsent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState
from medbill_core.storage.schema import SubmissionRow
from medbill_core.testing.cli import cli, config_text, ok
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

DAY = (date.today() - timedelta(days=7)).isoformat()
KEY = "test-key-unencodable-0001"
PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601
P2,李*~:^,Mei,1980-02-02,F,1 Main~St*,Chicago,IL,60601
"""
COVERAGES_CSV = ("account_number,payer_key,order,member_id,group_number\n"
                 "P1,acme,P,ACME00001,G100\nP2,acme,P,ACME00002,G100\n")


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (the core's test kit)."""


def claim_record(number: str, account: str, coverage_id: int) -> dict[str, Any]:
    return {
        "claim_number": number, "account_number": account, "coverage_id": coverage_id,
        "payer_key": "acme", "billing_provider_npi": PRACTICE_NPI,
        "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
        "service_date_from": DAY, "service_date_to": DAY, "diagnoses": ["E11.9", "I10"],
        "lines": [{"line_number": 1, "procedure_code": "99213", "units": "1",
                   "charge": "125.00", "diagnosis_pointers": [1], "service_date_from": DAY}],
    }


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    """acme through the clearinghouse simulator (running); P1 (good) and P2, whose last name
    and address hold X12 delimiters, each with a claim: GOOD-1 and BAD-1."""
    from medbill_clearinghouse_mock.simulator.config import default_config
    from medbill_clearinghouse_mock.simulator.server import BackgroundServer

    with BackgroundServer(default_config().with_key(KEY), tmp_path / "sim.db") as server:
        extra = f"""
[plugins.clearinghouse_mock]
base_url = "{server.base_url}"
api_key = "{KEY}"

[payers.acme.options]
submitter_id = "SUB123"
receiver_id = "CLEARHOUSE"
submitter_name = "LAKESIDE BILLING"
submitter_contact_name = "BILLING OFFICE"
submitter_phone = "3125550100"
"""
        path = tmp_path / "medbill.toml"
        path.write_text(config_text(
            f"sqlite:///{tmp_path / 'medbill.db'}",
            plugins=["payer_generic_x12", "clearinghouse_mock"], extra=extra).replace(
            'adapter = "generic_x12"\n',
            'adapter = "generic_x12"\nchannel = "clearinghouse_mock"\n', 1), encoding="utf-8")
        ok(path, "db", "upgrade")
        for name, text in (("p.csv", PATIENTS_CSV), ("c.csv", COVERAGES_CSV)):
            (tmp_path / name).write_text(text, encoding="utf-8")
        ok(path, "patients", "import", str(tmp_path / "p.csv"))
        ok(path, "coverages", "import", str(tmp_path / "c.csv"))
        ok(path, "providers", "add", "--npi", RENDERING_NPI, "--last-name", "Rivera",
           "--first-name", "Ana", "--taxonomy", "207Q00000X")
        claims = tmp_path / "claims.json"
        claims.write_text(json.dumps([claim_record("GOOD-1", "P1", 1),
                                      claim_record("BAD-1", "P2", 2)]), encoding="utf-8")
        ok(path, "claims", "import", str(claims))
        yield path


def show(config: Path, reference: str) -> dict[str, Any]:
    return json.loads(ok(config, "claims", "show", reference, "--json").stdout)


def outbox_rows(config: Path) -> list[tuple[list[str], str, str]]:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work(read_only=True) as work:
            return [(list(row.claim_numbers), row.status, row.content) for row in
                    work.session.scalars(select(SubmissionRow).order_by(SubmissionRow.id))]
    finally:
        app.close()


def validate_behind_the_scrubs_back(config: Path, number: str) -> None:
    """As a claim validated before the scrub refused such values (or by another tool)."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            work.claims.transition(work.claims.by_number(number).id, ClaimState.VALIDATED)
    finally:
        app.close()


def scrub_findings(config: Path, *args: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    scrubbed = json.loads(cli(config, "claims", "scrub", *args, "--json").stdout)
    return {(f["claim_number"], f["code"], f["field"]): f
            for result in scrubbed["results"] for f in result["findings"]}


def test_scrub_blocks_the_claim_whose_values_the_837p_cannot_carry(config: Path) -> None:
    findings = scrub_findings(config)
    assert findings[("BAD-1", "x12.unwritable", "patient.last_name")]["message"] == (
        "patient.last_name cannot be written in an 837P: data must not contain the element "
        "separator '*'")
    assert findings[("BAD-1", "x12.unwritable", "patient.address.line1")]["message"] == (
        "patient.address.line1 cannot be written in an 837P: data must not contain the "
        "segment terminator '~'")
    assert not any(number == "GOOD-1" and f["severity"] == "error"
                   for (number, _, _), f in findings.items())
    assert (show(config, "GOOD-1")["state"], show(config, "BAD-1")["state"]) == (
        "validated", "draft")
    sent = ok(config, "claims", "submit", "--json")
    assert [(row["payer"], row["claims"], row["status"]) for row in json.loads(sent.stdout)] \
        == [("acme", 1, "sent")]
    assert show(config, "GOOD-1")["state"] == "submitted"


def test_submit_sends_the_good_claim_and_holds_back_the_one_it_cannot_encode(
        config: Path) -> None:
    ok(config, "claims", "scrub", "--claim", "GOOD-1")
    validate_behind_the_scrubs_back(config, "BAD-1")
    result = cli(config, "claims", "submit", "--json")
    assert result.exit_code == 1, result.output
    # the good claim left; the table (here JSON) has its file only
    assert [(row["payer"], row["claims"], row["status"]) for row in json.loads(result.stdout)] \
        == [("acme", 1, "sent")]
    # one line says which claim stayed and why (segment and element, never the value)
    assert result.stderr.strip().splitlines() == [
        "error: claim BAD-1 (payer acme) not sent, back to draft: segment NM1, element NM103: "
        "data must not contain the element separator '*'; correct it, then medbill claims "
        "scrub and submit"]
    assert "李" not in result.output and "Main~St" not in result.output
    good, bad = show(config, "GOOD-1"), show(config, "BAD-1")
    assert (good["state"], bad["state"]) == ("submitted", "draft")
    # the reason is in the claim's history, where the biller finds it
    assert "not sent, the payer's file cannot carry it: segment NM1, element NM103: data " \
           "must not contain the element separator '*'" in json.dumps(bad)
    # nothing half-written: one file, carrying the good claim only, sent
    [(numbers, status, content)] = outbox_rows(config)
    assert (numbers, status) == (["GOOD-1"], "sent")
    assert "CLM*GOOD-1*" in content and "BAD-1" not in content
    # scrubbed again, it stays a draft and says why (the scrub knows what the 837P refuses)
    again = scrub_findings(config, "--claim", "BAD-1")
    assert {field for _, code, field in again if code == "x12.unwritable"} == {
        "patient.last_name", "patient.address.line1"}
    assert show(config, "BAD-1")["state"] == "draft"

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

from medbill_core.testing.cli import cli, ok, one_line_error

SAMPLES = Path(__file__).resolve().parents[3] / "docs" / "samples"
SEEN = date.today() - timedelta(days=3)


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (see conftest)."""


@pytest.fixture
def clearinghouse(tmp_path: Path) -> Iterator[Any]:
    """The simulator with the installation's key file (`medbill init` keeps it)."""
    from medbill_clearinghouse_mock.secret import ensure_key_file
    from medbill_clearinghouse_mock.simulator.config import default_config
    from medbill_clearinghouse_mock.simulator.server import BackgroundServer

    key, _ = ensure_key_file(tmp_path / "clearinghouse-mock.key")
    with BackgroundServer(default_config().with_key(key),
                          tmp_path / "clearinghouse.db") as server:
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


def balance(config: Path, number: str) -> tuple[str, str, str]:
    claim = as_json(config, "claims", "show", number)
    return claim["state"], claim["balance"]["insurance"], claim["balance"]["patient"]


def test_a_self_pay_visit_billed_in_error_is_voided_and_its_charge_reversed(
        practice: Path) -> None:
    """A self-pay claim is billed to the patient at submit and never goes to a payer: it
    could be neither deleted (not a draft) nor voided ("needs the payer's claim control
    number"), so a charge entered on the wrong patient stayed owed forever."""
    import_claims(practice, visit("SP-1", "RB10004", None, ("99213", "125.00")))
    ok(practice, "claims", "scrub")
    ok(practice, "claims", "submit")
    assert balance(practice, "SP-1") == ("patient_balance", "0.00", "125.00")
    ok(practice, "payments", "record", "--patient", "RB10004", "--amount", "25.00")
    fix = practice.parent / "fix.json"
    fix.write_text('{"diagnoses": ["J06.9"]}', encoding="utf-8")
    refused = one_line_error(cli(practice, "claims", "correct", "SP-1", "--from", str(fix),
                                 "--reason", "wrong diagnosis"))
    assert "claim 1: payer_key: self-pay" in refused and "void it" in refused
    voided = " ".join(ok(practice, "claims", "void", "SP-1", "--reason",
                         "entered on the wrong patient").stdout.split())
    assert "self-pay" in voided and "nothing is sent" in voided
    # the charge is gone; what the patient paid on it is their credit now
    assert balance(practice, "SP-1") == ("voided", "0.00", "-25.00")
    assert as_json(practice, "claims", "list", "--state", "voided")["claims"][0][
        "claim_number"] == "SP-1"
    # voided twice: said "cannot move from 'voided' to 'voided'"
    assert one_line_error(cli(practice, "claims", "void", "SP-1", "--reason", "again")) == (
        "error: claim 1: state: already voided")


def test_statements_run_twice_counts_statements_and_patients_apart(practice: Path) -> None:
    """A family statement covers several patients: the second run of a cycle said "0
    produced, 3 already produced earlier" after the first had produced 2 statements."""
    import_claims(practice, visit("F-1", "RB10002", None, ("99213", "125.00")),
                  visit("F-2", "RB10003", None, ("99213", "125.00")),
                  visit("F-3", "RB10004", None, ("99213", "125.00")))
    ok(practice, "claims", "scrub")
    ok(practice, "claims", "submit")
    out = practice.parent / "statements"
    first = " ".join(ok(practice, "statements", "run", "--cycle", "2026-11", "--out",
                        str(out)).stdout.split())
    assert first.startswith("cycle 2026-11: 2 statements produced; 0 patients already"), first
    again = " ".join(ok(practice, "statements", "run", "--cycle", "2026-11", "--out",
                        str(out)).stdout.split())
    assert again == ("cycle 2026-11: 0 statements produced; 3 patients already on a "
                     "statement of this cycle"), again


def test_a_claim_the_patient_paid_in_full_is_closed_and_reopened_when_the_check_returns(
        practice: Path) -> None:
    """A patient balance paid in full stayed "patient balance (next: patient)" with nothing
    owed, so it was never off the patient's to-do list."""
    import_claims(practice, visit("PB-1", "RB10004", None, ("99213", "125.00")),
                  visit("PB-2", "RB10004", None, ("99213", "80.00")))
    ok(practice, "claims", "scrub")
    ok(practice, "claims", "submit")
    paid = as_json(practice, "payments", "record", "--patient", "RB10004", "--amount",
                   "150.00", "--method", "check", "--reference", "1001")
    state = {c["claim_number"]: (c["state"], c["next_actor"])
             for c in as_json(practice, "claims", "list")["claims"]}
    assert state == {"PB-1": ("closed", "nobody"), "PB-2": ("patient_balance", "patient")}
    ok(practice, "payments", "reverse", str(paid["payment_id"]), "--reason", "returned check")
    assert balance(practice, "PB-1") == ("patient_balance", "0.00", "125.00")
    # the credit of another payment closes what it pays off, too
    ok(practice, "payments", "record", "--patient", "RB10004", "--amount", "300.00",
       "--method", "card", "--overpayment", "credit")
    assert {c["state"] for c in as_json(practice, "claims", "list")["claims"]} == {"closed"}


def test_a_payment_beyond_the_balance_says_how_to_decide(practice: Path) -> None:
    """"decide: keep the rest as a credit or refund it" named no way to decide."""
    import_claims(practice, visit("OP-1", "RB10004", None, ("99213", "125.00")))
    ok(practice, "claims", "scrub")
    ok(practice, "claims", "submit")
    refused = one_line_error(cli(practice, "payments", "record", "--patient", "RB10004",
                                 "--amount", "200.00", "--method", "cash"))
    assert refused == ("error: payment of 200.00 exceeds the 125.00 owed; decide what happens "
                       "to the rest: keep it as a credit (--overpayment credit) or refund it "
                       "(--overpayment refund)")
    assert as_json(practice, "payments", "list") == []
    kept = as_json(practice, "payments", "record", "--patient", "RB10004", "--amount",
                   "200.00", "--method", "cash", "--overpayment", "credit")
    assert (kept["credit"], kept["refunded"]) == ("75.00", "0.00")


def test_eligibility_asks_the_payer_of_the_coverage_active_on_the_date(practice: Path) -> None:
    """Eligibility asked the first primary coverage on file, even one that had ended: a
    patient who changed plans was checked with their old payer. The secondary (a Medigap
    plan) could not be asked at all."""
    year = date.today().year
    changed = practice.parent / "changed.csv"
    changed.write_text(
        "account_number,payer_key,order,member_id,relationship,start_date,end_date\n"
        f"RB10004,acme,P,ACM100200300,18,{year - 2}-01-01,{year - 1}-12-31\n"
        f"RB10004,medicare,P,1EG4TE5MK73,18,{year}-01-01,\n", encoding="utf-8")
    ok(practice, "coverages", "import", str(changed))
    checked = as_json(practice, "eligibility", "check", "--patient", "RB10004")
    assert checked["payer"] == "medicare"
    old = next(c["id"] for c in as_json(practice, "coverages", "list", "--patient", "RB10004")
               if c["payer_key"] == "acme")
    asked = json.loads(cli(practice, "eligibility", "check", "--patient", "RB10004",
                           "--coverage", str(old), "--json").stdout)
    assert (asked["payer"], asked["coverage_id"]) == ("acme", old)
    # another patient's coverage is not this patient's
    mine = as_json(practice, "coverages", "list", "--patient", "RB10001")[0]["id"]
    refused = one_line_error(cli(practice, "eligibility", "check", "--patient", "RB10004",
                                 "--coverage", str(mine)))
    assert refused == (f"error: patient account RB10004: coverage: {mine} is not a coverage "
                       "of this patient (medbill coverages list --patient ...)")
    last_year = f"{year - 3}-06-01"
    nothing = one_line_error(cli(practice, "eligibility", "check", "--patient", "RB10004",
                                 "--date", last_year, "--confirm-date"))
    assert f"coverage: none active on {last_year}" in nothing


def test_voiding_a_voided_or_replaced_claim_says_what_became_of_it(practice: Path) -> None:
    import_claims(practice, visit("VV-1", "RB10001", "acme", ("99213", "125.00")),
                  visit("VV-2", "RB10001", "acme", ("99214", "165.00")))
    ok(practice, "claims", "scrub")
    ok(practice, "claims", "submit")
    ok(practice, "responses", "fetch")
    ok(practice, "claims", "void", "VV-1", "--reason", "not our patient")
    assert one_line_error(cli(practice, "claims", "void", "VV-1", "--reason", "again")) == (
        "error: claim 1: state: already voided (see VV-1-V1)")
    fix = practice.parent / "fix.json"
    fix.write_text('{"diagnoses": ["E11.9"]}', encoding="utf-8")
    ok(practice, "claims", "correct", "VV-2", "--from", str(fix), "--reason", "diagnosis")
    assert one_line_error(cli(practice, "claims", "void", "VV-2", "--reason", "x")) == (
        "error: claim 2: state: replaced (see VV-2-R1): void the replacement instead")


def test_a_date_error_offers_confirm_date_only_where_the_command_has_it(
        practice: Path) -> None:
    """`patients edit --birth-date 2030-01-01` said "pass --confirm-date if it is right";
    the command has no such option (and a birth date is never in the future)."""
    future = (date.today() + timedelta(days=10)).isoformat()
    for command in (("patients", "edit", "RB10001", "--birth-date", future),
                    ("patients", "search", "--dob", future)):
        assert one_line_error(cli(practice, *command), 2) == (
            f"error: {command[-2]} is 10 days in the future; check it")
    # where the flag exists it is offered, and it works
    assert one_line_error(cli(practice, "payments", "record", "--patient", "RB10001",
                              "--amount", "5.00", "--received", future), 2).endswith(
        "check it, or pass --confirm-date if it is right")


def test_ending_a_coverage_names_the_claims_billed_to_it_for_later_services(
        practice: Path) -> None:
    """The front desk learns late that a plan ended: the visits since were billed to it and
    its payer will deny them, but `coverages terminate` said nothing about them."""
    import_claims(practice, visit("CE-1", "RB10001", "acme", ("99213", "125.00")),
                  visit("CE-2", "RB10001", "acme", ("99214", "165.00")))
    coverage = as_json(practice, "coverages", "list", "--patient", "RB10001")[0]["id"]
    last_day = (SEEN - timedelta(days=1)).isoformat()
    ended = cli(practice, "coverages", "terminate", str(coverage), "--end", last_day)
    assert ended.exit_code == 0, ended.output
    warning = " ".join(ended.stderr.split())
    assert warning.startswith(f"warning: 2 claims for services after {last_day} are billed "
                              "to this coverage: CE-1, CE-2;"), warning
    data = as_json(practice, "coverages", "terminate", str(coverage), "--end", last_day)
    assert data["claims_after_end"] == ["CE-1", "CE-2"]
    # ended after the visits: nothing to say
    assert as_json(practice, "coverages", "terminate", str(coverage), "--end",
                   SEEN.isoformat())["claims_after_end"] == []


def test_a_999_fetched_then_posted_from_a_file_is_applied_once(practice: Path) -> None:
    """The 999 fetched from the clearinghouse and then given to `remit post` (a copy saved
    from the portal) was applied a second time: an old rejection replayed so would reject
    the claims sent again since."""
    import sqlite3

    import_claims(practice, visit("DU-1", "RB10001", "acme", ("99213", "125.00")))
    ok(practice, "claims", "scrub")
    ok(practice, "claims", "submit")
    ok(practice, "responses", "fetch")
    with sqlite3.connect(practice.parent / "medbill.db") as db:
        (content,) = db.execute("SELECT content FROM inbound_documents WHERE kind = '999'"
                                ).fetchone()
    saved = practice.parent / "portal.999"
    saved.write_text(content, encoding="utf-8")
    posted = json.loads(ok(practice, "remit", "post", str(saved), "--json").stdout)
    assert posted["status"] == "duplicate", posted
    with sqlite3.connect(practice.parent / "medbill.db") as db:
        assert db.execute("SELECT status FROM inbound_documents WHERE kind = '999' "
                          "ORDER BY id").fetchall() == [("applied",), ("duplicate",)]


def test_remit_post_of_a_file_that_is_not_x12_says_so(tmp_path: Path) -> None:
    """It used to answer on stdout 'undecodable — ... document <content hash>'."""
    from medbill_core.testing.cli import config_text

    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    cli(config, "db", "upgrade")
    notes = tmp_path / "notes.json"
    notes.write_text('[{"claim_number": "X"}]', encoding="utf-8")
    assert one_line_error(cli(config, "remit", "post", str(notes))) == (
        "error: notes.json: not an X12 file (an interchange starts with ISA); nothing was posted")

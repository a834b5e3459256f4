"""``medbill claims``: references by id or number, import checks, drafts edited and deleted,
the listing's filters, pages and totals, and status inquiries only for claims that left."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601
P2,Hartmann,Greta,1983-08-19,F,22 Dune Road,Evanston,IL,60201
P3,Silva,Mateus,1999-12-31,M,5 Elm St,Oak Park,IL,60301
"""
COVERAGES_CSV = """\
account_number,payer_key,order,member_id,group_number
P1,acme,P,ACME00001,G100
P2,acme,P,ACME00002,G100
P2,medicare,S,1EG4TE5MK73,
"""
DAY = date.today() - timedelta(days=7)


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """Every test here runs the command line isolated (see conftest)."""


def claim_record(number: str, account: str, coverage_id: int | None, payer: str | None,
                 charges: Sequence[str], **extra: Any) -> dict[str, Any]:
    codes = ["99213", "36415", "81002"]
    return {
        "claim_number": number, "account_number": account, "coverage_id": coverage_id,
        "payer_key": payer, "billing_provider_npi": PRACTICE_NPI,
        "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
        "service_date_from": DAY.isoformat(), "service_date_to": DAY.isoformat(),
        "diagnoses": ["E11.9", "I10"],
        "lines": [{"line_number": i, "procedure_code": codes[i - 1], "units": "1",
                   "charge": charge, "diagnosis_pointers": [1],
                   "service_date_from": DAY.isoformat()}
                  for i, charge in enumerate(charges, start=1)],
        **extra,
    }


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Three patients, P1 with acme, P2 with acme and medicare; no claims yet."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    ok(path, "patients", "import", str(write(tmp_path, "p.csv", PATIENTS_CSV)))
    ok(path, "coverages", "import", str(write(tmp_path, "c.csv", COVERAGES_CSV)))
    return path


def import_claims(config: Path, tmp_path: Path, *records: dict[str, Any]) -> str:
    return ok(config, "claims", "import", str(write(tmp_path, "claims.json",
                                                    list(records)))).stdout


def show(config: Path, reference: str) -> dict[str, Any]:
    return json.loads(ok(config, "claims", "show", reference, "--json").stdout)


def listing(config: Path, *options: str) -> dict[str, Any]:
    return json.loads(ok(config, "claims", "list", "--json", *options).stdout)


def move(config: Path, number: str, *states: ClaimState) -> int:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            claim = work.claims.by_number(number)
            for state in states:
                work.claims.transition(claim.id, state)
            return claim.id
    finally:
        app.close()


# -- item 1: a payer without a coverage ---------------------------------------------------------

def test_import_refuses_a_payer_without_a_coverage_it_cannot_pick(config: Path,
                                                                  tmp_path: Path) -> None:
    """P3 has no coverage with acme: the claim would be booked to the patient and billed to
    acme at once. Refused, naming the record and the field; nothing is imported."""
    records = [claim_record("CLM-1", "P1", 1, "acme", ["50.00"]),
               claim_record("CLM-2", "P3", None, "acme", ["80.00"])]
    line = one_line_error(cli(config, "claims", "import",
                              str(write(tmp_path, "claims.json", records))))
    assert line.startswith("error: record 2: coverage_id: required: the patient has no "
                           "coverage with payer acme"), line
    assert listing(config)["claims"] == []


def test_import_takes_the_one_active_coverage_with_the_payer_and_says_so(
        config: Path, tmp_path: Path) -> None:
    out = import_claims(config, tmp_path, claim_record("CLM-1", "P2", None, "medicare",
                                                       ["50.00"]))
    assert " ".join(out.split()) == (
        "record 1: coverage_id: taken as 3, the patient's one active coverage with payer "
        "medicare imported 1 claims")
    claim = show(config, "CLM-1")
    assert (claim["coverage_id"], claim["payer_key"]) == (3, "medicare")
    # booked to the insurance, not to the patient
    assert claim["balance"] == {"insurance": "50.00", "patient": "0.00"}


def test_the_service_refuses_a_payer_without_a_coverage(config: Path) -> None:
    from medbill_core.errors import ValidationFailed
    from medbill_core.testing.factories import make_claim

    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with pytest.raises(ValidationFailed, match="coverage_id: required when payer_key"), \
                app.unit_of_work() as work:
            work.claims.create(make_claim(1, coverage_id=None).model_copy(
                update={"payer_key": "acme"}))
    finally:
        app.close()


def test_import_reports_every_bad_record_not_only_the_first(config: Path,
                                                            tmp_path: Path) -> None:
    records = [claim_record("CLM-1", "P1", 1, "acme", ["50.00"], place_of_service="1"),
               claim_record("CLM-2", "P1", 1, "acme", ["50.00"]),
               claim_record("CLM-3", "P404", 1, "acme", ["50.00"]),
               claim_record("CLM-4", "P3", None, "acme", ["50.00"])]
    result = cli(config, "claims", "import", str(write(tmp_path, "claims.json", records)))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines[:3]] == [
        "record 1", "record 3", "record 4"]
    assert lines[1] == "error: record 3: account_number: no patient has this account number"
    assert lines[3] == "error: claims.json: 3 bad records; nothing was imported"
    assert "Traceback" not in result.output
    assert listing(config)["claims"] == []

    kept = cli(config, "claims", "import", str(write(tmp_path, "claims.json", records)),
               "--keep-good")
    assert kept.exit_code == 1
    assert "imported 1 claims" in kept.stdout
    assert [c["claim_number"] for c in listing(config)["claims"]] == ["CLM-2"]


def test_import_stops_listing_bad_records_at_the_limit(config: Path, tmp_path: Path) -> None:
    records = [claim_record(f"CLM-{n}", "P404", 1, "acme", ["5.00"]) for n in range(55)]
    result = cli(config, "claims", "import", str(write(tmp_path, "claims.json", records)))
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 52  # the same limit as every import: 50 listed, then a count
    assert lines[-2:] == ["error: ... and 5 more bad records",
                          "error: claims.json: 55 bad records; nothing was imported"]


# -- references by id or number -------------------------------------------------------------------

def test_every_claim_command_takes_an_id_or_a_number(config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]),
                  claim_record("CLM-2", "P2", 2, "acme", ["60.00"]))
    assert show(config, "CLM-2")["id"] == 2 and show(config, "2")["claim_number"] == "CLM-2"
    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.REJECTED)
    ok(config, "claims", "reopen", "CLM-1")
    assert show(config, "1")["state"] == "draft"
    fix = write(tmp_path, "fix.json", {"place_of_service": "22"})
    ok(config, "claims", "edit", "CLM-2", "--from", str(fix))
    assert show(config, "CLM-2")["place_of_service"] == "22"
    ok(config, "claims", "delete", "CLM-2", "--reason", "entered twice")
    assert show(config, "2")["state"] == "deleted"


def test_an_all_digit_reference_that_is_both_an_id_and_a_number_is_ambiguous(
        config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("2", "P1", 1, "acme", ["50.00"]),
                  claim_record("CLM-2", "P2", 2, "acme", ["60.00"]))
    line = one_line_error(cli(config, "claims", "show", "2"))
    assert line == ("error: claim 2: reference: is both claim id 2 and the number of claim "
                    "id 1; say id:2 or number:2")
    assert show(config, "id:2")["claim_number"] == "CLM-2"
    assert show(config, "number:2")["id"] == 1
    assert show(config, "1")["claim_number"] == "2"  # no claim is numbered "1"
    assert one_line_error(cli(config, "claims", "show", "number:9")) == (
        "error: claim number 9 not found")
    assert one_line_error(cli(config, "claims", "show", "id:x")) == (
        "error: claim reference: id: must be digits")


# -- amounts in JSON: text or an integer, never a float -------------------------------------------

FLOAT_REFUSED = "money must be a Decimal, an integer or a numeric string, not a float"


@pytest.mark.parametrize("number", ["165.0", "0.1", "125.10", "12.345", "1e3", "1E2"])
def test_import_refuses_a_json_float_as_an_amount_as_edit_does(config: Path, tmp_path: Path,
                                                               number: str) -> None:
    """A JSON number with a fraction or an exponent is a float: `claims import` refuses it
    as `claims edit` (and the HTTP API) do, with the same words; nothing is imported."""
    text = json.dumps([claim_record("CLM-1", "P1", 1, "acme", ["CHARGE"])])
    line = one_line_error(cli(config, "claims", "import", str(write(
        tmp_path, "claims.json", text.replace('"CHARGE"', number)))))
    assert line == f"error: record 1: lines[0].charge: {FLOAT_REFUSED}"
    assert listing(config)["claims"] == []
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]))
    lines = json.dumps(show(config, "CLM-1")["lines"])
    fix = write(tmp_path, "fix.json", '{"lines": ' + lines.replace('"50.00"', number) + "}")
    line = one_line_error(cli(config, "claims", "edit", "CLM-1", "--from", str(fix)))
    assert line == f"error: fix.json: lines[0].charge: {FLOAT_REFUSED}"


def test_import_and_edit_read_a_json_integer_as_whole_dollars(config: Path,
                                                              tmp_path: Path) -> None:
    text = json.dumps([claim_record("CLM-1", "P1", 1, "acme", ["CHARGE", "18.50"])])
    ok(config, "claims", "import", str(write(tmp_path, "claims.json",
                                             text.replace('"CHARGE"', "125"))))
    claim = show(config, "CLM-1")
    assert [line["charge"] for line in claim["lines"]] == ["125.00", "18.50"]
    lines = json.dumps(claim["lines"]).replace('"18.50"', "20")
    ok(config, "claims", "edit", "CLM-1", "--from", str(write(tmp_path, "fix.json",
                                                             '{"lines": ' + lines + "}")))
    assert [line["charge"] for line in show(config, "CLM-1")["lines"]] == ["125.00", "20.00"]


# -- drafts: edit and delete ----------------------------------------------------------------------

def test_editing_a_draft_to_bill_a_coverage_moves_its_charges_to_the_insurance(
        config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P2", None, None, ["50.00"]))
    assert show(config, "CLM-1")["balance"] == {"insurance": "0.00", "patient": "50.00"}
    fix = write(tmp_path, "fix.json", {"coverage_id": 2, "payer_key": "acme",
                                       "lines": show(config, "CLM-1")["lines"] * 1})
    ok(config, "claims", "edit", "CLM-1", "--from", str(fix))
    claim = show(config, "CLM-1")
    assert (claim["payer_key"], claim["balance"]) == (
        "acme", {"insurance": "50.00", "patient": "0.00"})
    bad = write(tmp_path, "bad.json", {"payer_key": "acme", "coverage_id": None})
    assert "coverage_id: required when payer_key is given" in one_line_error(
        cli(config, "claims", "edit", "CLM-1", "--from", str(bad)))


def test_only_drafts_are_edited(config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]))
    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED)
    fix = write(tmp_path, "fix.json", {"place_of_service": "22"})
    assert "only draft claims can be edited, not submitted" in one_line_error(
        cli(config, "claims", "edit", "CLM-1", "--from", str(fix)))


def test_editing_a_validated_claim_sends_it_back_to_draft(config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]))
    move(config, "CLM-1", ClaimState.VALIDATED)
    fix = write(tmp_path, "fix.json", {"place_of_service": "22"})
    ok(config, "claims", "edit", "CLM-1", "--from", str(fix))
    claim = show(config, "CLM-1")
    assert (claim["state"], claim["place_of_service"]) == ("draft", "22")
    assert [(h["source"], h["target"], h["reason"]) for h in claim["history"]][-1] == (
        "validated", "draft", "edited")


def test_deleting_a_draft_reverses_its_charges_and_hides_it(config: Path,
                                                            tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]),
                  claim_record("CLM-2", "P3", None, None, ["80.00"]))
    out = ok(config, "claims", "delete", "CLM-2", "--reason", "wrong patient").stdout
    assert " ".join(out.split()) == "draft claim CLM-2 (id 2) deleted and its charges reversed"
    deleted = show(config, "CLM-2")
    assert deleted["state"] == "deleted"
    assert deleted["ledger"] == {"charge": "0.00"}
    assert deleted["balance"] == {"insurance": "0.00", "patient": "0.00"}
    assert [(h["source"], h["target"], h["reason"]) for h in deleted["history"]] == [
        ("draft", "deleted", "wrong patient")]
    assert [c["claim_number"] for c in listing(config)["claims"]] == ["CLM-1"]
    assert [c["claim_number"] for c in listing(config, "--state", "deleted")["claims"]] == [
        "CLM-2"]
    audit = ok(config, "audit", "--entity", "claim", "--id", "2").stdout
    assert "claim.transition" in audit


@pytest.mark.parametrize("blank", ["", "  "])
def test_deleting_or_voiding_needs_a_reason(config: Path, tmp_path: Path, blank: str) -> None:
    """The reason is kept in the claim's history ("voided by user:demo (why)"): a blank one
    is refused in one line naming the field, and nothing moves."""
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]),
                  claim_record("CLM-2", "P3", None, None, ["80.00"]))
    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.REJECTED)
    line = one_line_error(cli(config, "claims", "delete", "CLM-2", "--reason", blank))
    assert line == "error: claim 2: reason: required: say why the draft is deleted"
    line = one_line_error(cli(config, "claims", "void", "CLM-1", "--reason", blank))
    assert line == "error: claim 1: reason: required: say why the claim is voided"
    assert [(show(config, n)["state"], len(show(config, n)["history"]))
            for n in ("CLM-1", "CLM-2")] == [("rejected", 3), ("draft", 0)]


def test_a_claim_that_ever_left_is_not_deleted(config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]))
    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.REJECTED,
         ClaimState.DRAFT)
    line = one_line_error(cli(config, "claims", "delete", "CLM-1", "--reason", "x"))
    assert line == ("error: claim 1: state: it was sent to the payer before: void it "
                    "(medbill claims void) instead")
    assert show(config, "CLM-1")["balance"]["insurance"] == "50.00"


def test_voiding_a_draft_that_never_left_says_to_delete_it(config: Path,
                                                           tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]))
    line = one_line_error(cli(config, "claims", "void", "CLM-1", "--reason", "x"))
    assert line == ("error: claim 1: state: draft: never sent to the payer, so there is "
                    "nothing to void; delete it (medbill claims delete) instead")


# -- the listing ----------------------------------------------------------------------------------

def test_claims_list_pages_filters_and_totals_every_match(config: Path, tmp_path: Path) -> None:
    earlier = (DAY - timedelta(days=30)).isoformat()
    old_visit = claim_record("CLM-4", "P1", 1, "acme", ["10.00"], service_date_from=earlier,
                             service_date_to=earlier)
    old_visit["lines"][0]["service_date_from"] = earlier
    import_claims(config, tmp_path,
                  claim_record("CLM-1", "P1", 1, "acme", ["50.00"]),
                  claim_record("CLM-2", "P2", 2, "acme", ["60.00"]),
                  claim_record("CLM-3", "P3", None, None, ["70.00"]), old_visit)
    page = listing(config, "--limit", "2", "--page", "2")
    assert [c["claim_number"] for c in page["claims"]] == ["CLM-3", "CLM-4"]
    assert page["total"] == {"claims": 4, "visits": 4, "charge": "190.00",
                             "insurance_balance": "120.00", "patient_balance": "70.00",
                             "set_apart": {"claims": 0, "charge": "0.00"}}
    assert listing(config, "--patient", "P1")["total"]["claims"] == 2
    recent = listing(config, "--from", DAY.isoformat(), "--payer", "acme")
    assert [c["claim_number"] for c in recent["claims"]] == ["CLM-1", "CLM-2"]
    old = listing(config, "--to", earlier)
    assert [c["claim_number"] for c in old["claims"]] == ["CLM-4"]
    table = cli(config, "claims", "list", "--limit", "2")
    assert "1-2 of 4 claims" in table.stdout and "190.00" in table.stdout
    assert "--page 2" in table.stderr
    assert one_line_error(cli(config, "claims", "list", "--from", "2026-02-30"), 2) == (
        "error: --from must be a date as YYYY-MM-DD")
    assert one_line_error(cli(config, "claims", "list", "--patient", "P404")) == (
        "error: no patient with that account number")


# -- status inquiries -----------------------------------------------------------------------------

@pytest.mark.parametrize(("coverage", "payer", "expected"), [
    (None, None, "error: claim CLM-1: payer_key: self-pay: no payer to ask (a status inquiry "
                 "needs a coverage)"),
    (1, "acme", "error: claim CLM-1: state: draft: never sent to the payer, so there is no "
                "status to ask for; submit it first"),
])
def test_no_status_inquiry_for_a_claim_that_never_left(config: Path, tmp_path: Path,
                                                      coverage: int | None, payer: str | None,
                                                      expected: str) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", coverage, payer, ["50.00"]))
    assert one_line_error(cli(config, "claims", "status", "CLM-1")) == expected


# -- eligibility ----------------------------------------------------------------------------------

@pytest.fixture
def payer_answers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The 271 the payer answers, instead of a channel."""
    from medbill_core.plugins import PluginHooks

    answers: list[Any] = []
    monkeypatch.setattr(PluginHooks, "check_eligibility",
                        lambda self, request: answers.pop(0))
    return answers


def test_a_rejected_eligibility_check_fails_with_the_reason_in_words(
        config: Path, payer_answers: list[Any]) -> None:
    from medbill_core.domain import CoverageStatus, EligibilityIssue, EligibilityResponse

    payer_answers.append(EligibilityResponse(status=CoverageStatus.ERROR, issues=[
        EligibilityIssue(loop="2100C", reject_reason="75", follow_up="C")]))
    result = cli(config, "eligibility", "check", "--patient", "P1")
    assert one_line_error(result) == (
        "error: Acme Health Plan rejected the eligibility request: 75 Subscriber/insured not "
        "found. (check member ID, name and date of birth against the card); payer says: please "
        "correct and resubmit")
    assert "payer reject reason 75 Subscriber/insured not found." in result.stdout

    payer_answers.append(EligibilityResponse(status=CoverageStatus.ACTIVE, plan_name="Gold"))
    assert "active" in ok(config, "eligibility", "check", "--patient", "P1").stdout


def test_eligibility_date_is_read_strictly(config: Path, payer_answers: list[Any]) -> None:
    assert one_line_error(cli(config, "eligibility", "check", "--patient", "P1", "--date",
                              "2026-02-30"), 2) == (
        "error: --date must be a date as YYYY-MM-DD")
    far = (date.today() + timedelta(days=400)).isoformat()
    assert "pass --confirm-date" in one_line_error(cli(
        config, "eligibility", "check", "--patient", "P1", "--date", far), 2)


def test_payments_and_appeals_name_the_claim_by_number_too(config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P3", None, None, ["70.00"]),
                  claim_record("CLM-2", "P3", None, None, ["30.00"]))
    out = ok(config, "payments", "record", "--patient", "P3", "--amount", "20.00",
             "--claim", "CLM-2").stdout
    assert "claim 2: 20.00" in out
    assert show(config, "CLM-2")["balance"]["patient"] == "10.00"
    assert show(config, "CLM-1")["balance"]["patient"] == "70.00"
    # an appeal is refused for a claim that was not denied, but the claim was found by number
    message = one_line_error(cli(config, "appeals", "open", "CLM-1", "--reason", "x"))
    assert message == ("error: claim 1: state: is draft; only denied or partially paid claims "
                       "can be appealed")


def test_import_refuses_fields_medbill_sets_itself(config: Path, tmp_path: Path) -> None:
    records = [claim_record("CLM-1", "P1", 1, "acme", ["50.00"], state="paid"),
               claim_record("CLM-2", "P1", 1, "acme", ["50.00"], account_claim_id=1,
                            payer_claim_number="ICN-1"),
               claim_record("CLM-3", "P1", 1, "acme", ["50.00"], state="draft")]
    result = cli(config, "claims", "import", str(write(tmp_path, "claims.json", records)))
    assert result.stderr.strip().splitlines() == [
        "error: record 1: state: set by medbill, not by an import",
        "error: record 2: account_claim_id: set by medbill, not by an import; "
        "payer_claim_number: set by medbill, not by an import",
        "error: claims.json: 2 bad records; nothing was imported"]


def test_an_edit_keeps_what_ties_the_claim_to_its_account(config: Path, tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]),
                  claim_record("CLM-2", "P1", 1, "acme", ["60.00"]))
    fix = write(tmp_path, "fix.json", {"account_claim_id": 1, "payer_claim_number": "X1",
                                       "state": "paid", "place_of_service": "22"})
    ok(config, "claims", "edit", "CLM-2", "--from", str(fix))
    claim = show(config, "CLM-2")
    assert (claim["account_claim_id"], claim["payer_claim_number"], claim["state"],
            claim["place_of_service"]) == (None, None, "draft", "22")
    assert claim["balance"] == {"insurance": "60.00", "patient": "0.00"}


def test_submitting_a_named_claim_that_is_not_validated_says_why(config: Path,
                                                                tmp_path: Path) -> None:
    import_claims(config, tmp_path, claim_record("CLM-1", "P1", 1, "acme", ["50.00"]),
                  claim_record("CLM-2", "P3", None, None, ["80.00"]))
    assert one_line_error(cli(config, "claims", "submit", "--claim", "CLM-1")) == (
        "error: claim CLM-1: state: draft: only validated claims are submitted (scrub a draft "
        "first: medbill claims scrub)")
    move(config, "CLM-2", ClaimState.VALIDATED)
    # a self-pay claim is not sent anywhere: it is billed to the patient (statements)
    ok(config, "claims", "submit", "--claim", "2")
    assert (show(config, "CLM-2")["state"], show(config, "CLM-2")["next_actor"]) == (
        "patient_balance", "patient")
    assert one_line_error(cli(config, "claims", "submit", "--claim", "CLM-9")) == (
        "error: claim number CLM-9 not found")


def test_a_line_without_a_charge_takes_the_charge_master_price(config: Path,
                                                               tmp_path: Path) -> None:
    prices = write(tmp_path, "cdm.csv", "code,amount,effective_from\n99213,110.00,2020-01-01\n")
    ok(config, "chargemaster", "load", str(prices))
    record = claim_record("CLM-1", "P1", 1, "acme", ["x", "18.50"])
    record["lines"][0].pop("charge")
    record["lines"][0]["units"] = "2"
    out = import_claims(config, tmp_path, record)
    assert "lines[0].charge: taken from the charge master (220.00)" in out
    assert show(config, "CLM-1")["total_charge"] == "238.50"
    # a code the price list does not have is refused, naming the line; nothing is imported
    other = claim_record("CLM-2", "P1", 1, "acme", ["x", "18.50"])
    other["lines"][1].pop("charge")
    result = cli(config, "claims", "import", str(write(tmp_path, "c2.json", [other])))
    assert result.exit_code == 1
    assert ("record 1: lines[1].charge: none given and the charge master has no price for "
            f"36415 on {DAY.isoformat()}") in " ".join(result.stderr.split())
    assert [c["claim_number"] for c in listing(config)["claims"]] == ["CLM-1"]


def test_a_line_without_its_own_date_takes_the_claims(config: Path, tmp_path: Path) -> None:
    """A line without service_date_from used to refuse the whole claim."""
    record = claim_record("CLM-1", "P1", 1, "acme", ["50.00", "18.50"])
    for line in record["lines"]:
        line.pop("service_date_from")
    import_claims(config, tmp_path, record)
    assert [line["service_date_from"] for line in show(config, "CLM-1")["lines"]] == [
        DAY.isoformat(), DAY.isoformat()]


def test_submitting_with_nothing_to_send_says_so_instead_of_an_empty_table(config: Path) -> None:
    result = ok(config, "claims", "submit")
    assert result.stdout.startswith("nothing sent: no validated claims to batch")
    assert "submissions" not in result.stdout
    assert json.loads(ok(config, "claims", "submit", "--json").stdout) == []

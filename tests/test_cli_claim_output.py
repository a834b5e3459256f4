"""Issue 10, the claim side's output: plain language beside every code printed (CARC, 277CA
status codes), --json on every command, tables that never cut claim numbers, progress
callbacks on the long commands."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import config_text, narrow_terminal, ok

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
    StatusCode,
)
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

D = Decimal
DAY = date.today() - timedelta(days=30)
#: a claim number longer than a narrow terminal's share for it
LONG_NUMBER = "LKS-2026-0000012345"

CO50 = ("CO-50 Contractual Obligations: These are non-covered services because this is not "
        "deemed a 'medical necessity' by the payer.")
CO50_BRIEF = "These are non-covered services because this is not deemed a…"
CO45 = ("CO-45 Contractual Obligations: Charge exceeds fee schedule/maximum allowable or "
        "contracted/legislated fee arrangement.")
N130 = ("N130 Consult plan benefit documents/guidelines for information about restrictions "
        "for this service.")
A3_33 = ("A3:33 — A3 Acknowledgement/Returned as unprocessable claim: the claim/encounter has "
         "been rejected and has not been entered into the adjudication system; 33 Subscriber "
         "and subscriber id not found.")

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601
"""
COVERAGES_CSV = """\
account_number,payer_key,order,member_id,group_number
P1,acme,P,ACME00001,G100
"""


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """Every test here runs the command line isolated (see conftest)."""


def claim_record(number: str, charge: str = "100.00") -> dict[str, Any]:
    return {"claim_number": number, "account_number": "P1", "coverage_id": 1,
            "payer_key": "acme", "billing_provider_npi": PRACTICE_NPI,
            "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
            "service_date_from": DAY.isoformat(), "service_date_to": DAY.isoformat(),
            "diagnoses": ["E11.9"],
            "lines": [{"line_number": 1, "procedure_code": "99213", "units": "1",
                       "charge": charge, "diagnosis_pointers": [1],
                       "service_date_from": DAY.isoformat()}]}


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """P1 covered by acme; claims CLM-1 and LONG_NUMBER imported as drafts."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    ok(path, "patients", "import", str(write(tmp_path, "p.csv", PATIENTS_CSV)))
    ok(path, "coverages", "import", str(write(tmp_path, "c.csv", COVERAGES_CSV)))
    out = json.loads(ok(path, "claims", "import", "--json", str(write(
        tmp_path, "claims.json", [claim_record("CLM-1"), claim_record(LONG_NUMBER)]))).stdout)
    assert out == {"file": "claims.json", "imported": 2, "notes": [], "skipped": []}
    return path


def opened(config: Path) -> Medbill:
    return Medbill.open(load_config(config), load_installed=False)


def move(config: Path, number: str, *states: ClaimState, reason: str | None = None) -> int:
    app = opened(config)
    try:
        with app.unit_of_work() as work:
            claim = work.claims.by_number(number)
            for state in states:
                work.claims.transition(claim.id, state, reason=reason)
            return claim.id
    finally:
        app.close()


def deny(config: Path, number: str) -> str:
    """Post an 835 denying ``number`` (CO-45 20.00, CO-50 80.00, remark N130); returns its
    trace."""
    move(config, number, ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED)
    payment = ClaimPayment(claim_number=number, status=ClaimStatusCode.DENIED,
                           charge=D("100.00"), paid=D("0.00"), payer_claim_number="PCN-1",
                           remark_codes=["N130"],
                           adjustments=[Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                                   reason_code=code, amount=D(amount))
                                        for code, amount in (("45", "20.00"), ("50", "80.00"))])
    remittance = Remittance(trace_number="TRN-OUT1", payment_amount=D("0.00"),
                            payer_name="Acme", payer_id="ACME1", payee_name="Clinic",
                            payment_date=date.today() - timedelta(days=5), claims=[payment])
    app = opened(config)
    try:
        from medbill_core.services.remittance import post_remittance

        with app.unit_of_work() as work:
            post_remittance(work, remittance)
    finally:
        app.close()
    return "TRN-OUT1"


def flat(text: str) -> str:
    return " ".join(text.split())


# -- plain language beside the codes -----------------------------------------------------------

def test_remit_show_explains_each_adjustment(config: Path) -> None:
    trace = deny(config, "CLM-1")
    data = json.loads(ok(config, "remit", "show", trace, "--json").stdout)
    adjustments = data["claims"][0]["adjustments"]
    assert [(a["code"], a["action"], a["meaning"]) for a in adjustments] == [
        ("CO-45", "adjust", CO45), ("CO-50", "deny", CO50)]
    assert [(k["code"], k["meaning"]) for k in data["kept_open"]] == [("CO-50", CO50)]
    assert (data["claims"][0]["remark_codes"], data["claims"][0]["remark_meanings"]) == (
        ["N130"], [N130])
    out = flat(ok(config, "remit", "show", trace).stdout)
    assert f"CLM-1 │ N130 │ {N130.removeprefix('N130 ')}" in out
    assert f"CO-50 │ 80.00 │ deny │ CO-50 (built-in) │ {CO50_BRIEF}" in out
    assert "Charge exceeds fee schedule/maximum allowable or contracted…" in out


def test_ar_followup_explains_the_denial_codes(config: Path) -> None:
    deny(config, "CLM-1")
    items = json.loads(ok(config, "ar", "followup", "--json").stdout)
    denied = [item for item in items if item["claim_number"] == "CLM-1"]
    assert [(i["carc_codes"], i["meanings"]) for i in denied] == [
        (["CO-45", "CO-50"], [CO45, CO50])]
    out = flat(ok(config, "ar", "followup").stdout)
    assert ("(CO-45 Charge exceeds fee schedule/maximum allowable or contracted/legislated fee "
            "arrangement; CO-50 These are non-covered services because this is not deemed a "
            "'medical necessity' by the payer)") in out


def test_appeals_open_and_list_explain_the_denial_codes(config: Path, tmp_path: Path) -> None:
    deny(config, "CLM-1")
    appeal = json.loads(ok(config, "appeals", "open", "CLM-1", "--reason", "necessary",
                           "--json").stdout)
    assert (appeal["claim_number"], appeal["level"], appeal["status"], appeal["denial_codes"],
            appeal["denial_meanings"], appeal["letter"]) == (
        "CLM-1", 1, "open", ["CO-45", "CO-50"], [CO45, CO50], None)
    listed = json.loads(ok(config, "appeals", "list", "--json").stdout)
    assert [a["denial_meanings"] for a in listed] == [[CO45, CO50]]
    assert f"CO-45, CO-50 │ Charge exceeds fee schedule/maximum allowable or contracted…; " \
           f"{CO50_BRIEF}" in flat(ok(config, "appeals", "list").stdout)
    sent = json.loads(ok(config, "appeals", "sent", str(appeal["id"]), "--json").stdout)
    assert (sent["status"], sent["sent_on"]) == ("sent", date.today().isoformat())
    lost = json.loads(ok(config, "appeals", "outcome", str(appeal["id"]), "--lost", "--note",
                         "upheld", "--json").stdout)
    assert lost["status"] == "lost" and "upheld" not in json.dumps(lost)
    again = ok(config, "appeals", "open", "CLM-1", "--reason", "second level").stdout
    assert [flat(line) for line in again.splitlines()[1:]] == [CO45, CO50]


def test_claims_show_explains_277ca_codes_in_the_history(config: Path) -> None:
    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED)
    move(config, "CLM-1", ClaimState.REJECTED, reason="277CA A3:33 member not found")
    shown = json.loads(ok(config, "claims", "show", "CLM-1", "--json").stdout)
    assert [(step["reason"], step["meanings"]) for step in shown["history"]] == [
        (None, []), (None, []), ("277CA A3:33 member not found", [A3_33])]
    assert A3_33 in flat(ok(config, "claims", "show", "CLM-1").stdout)


def test_claims_status_explains_the_stc_codes(config: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.domain import ClaimStatus, ClaimStatusResponse
    from medbill_core.plugins import PluginHooks

    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED)
    monkeypatch.setattr(PluginHooks, "check_claim_status", lambda self, request: (
        ClaimStatusResponse(claims=[ClaimStatus(claim_number="CLM-1", status_codes=[
            StatusCode(category="A3", code="33")])])))
    data = json.loads(ok(config, "claims", "status", "CLM-1", "--json").stdout)
    assert [(s["status_codes"][0]["code"], s["meanings"]) for s in data["statuses"]] == [
        ("33", [A3_33])]
    out = flat(ok(config, "claims", "status", "CLM-1").stdout)
    assert out == f"claim CLM-1: A3:33 {A3_33}"


def test_responses_fetch_lists_each_rejection_with_its_meaning(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.cli import cycle_cmd
    from medbill_core.services.responses import IngestResult, rejections_in

    batch = ClaimAcknowledgmentBatch(claims=[
        ClaimAcknowledgment(claim_number="CLM-1", status=ClaimAckStatus.REJECTED,
                            status_codes=[StatusCode(category="A3", code="33")]),
        ClaimAcknowledgment(claim_number="CLM-2", status=ClaimAckStatus.ACCEPTED,
                            status_codes=[StatusCode(category="A1", code="20")])])
    result = IngestResult("DOC-1", "applied", "277CA", "277CA: 1 accepted, 1 rejected, "
                          "0 not applicable", rejections_in([batch]))
    monkeypatch.setattr(cycle_cmd, "fetch_and_apply",
                        lambda app, name, on_progress=None: [result])
    config.write_text(config.read_text().replace(
        'adapter = "generic_x12"\n', 'adapter = "generic_x12"\nchannel = "mock"\n', 1))
    data = json.loads(ok(config, "responses", "fetch", "--json").stdout)
    assert data == [{"channel": "mock", "document_id": "DOC-1", "kind": "277CA",
                     "status": "applied", "detail": result.detail,
                     "rejections": [{"claim_number": "CLM-1", "codes": [
                         {"code": "A3:33", "meaning": A3_33.partition(" — ")[2]}]}],
                     "differing": []}]
    out = flat(ok(config, "responses", "fetch").stdout)
    assert "claims rejected (277CA)" in out
    assert "CLM-1 │ A3:33 │ A3 Acknowledgement/Returned as unprocessable claim" in out


# -- --json on the commands that act --------------------------------------------------------------

def test_claim_commands_answer_in_json(config: Path, tmp_path: Path) -> None:
    shown = json.loads(ok(config, "claims", "show", "CLM-1", "--json").stdout)
    shown["lines"][0]["charge"] = "120.00"
    edited = json.loads(ok(config, "claims", "edit", "CLM-1", "--from",
                           str(write(tmp_path, "e.json", shown)), "--json").stdout)
    assert (edited["claim_number"], edited["state"], edited["total_charge"]) == (
        "CLM-1", "draft", "120.00")
    deleted = json.loads(ok(config, "claims", "delete", LONG_NUMBER, "--reason", "typo",
                            "--json").stdout)
    assert (deleted["claim_number"], deleted["state"], deleted["charges_reversed"]) == (
        LONG_NUMBER, "deleted", True)
    claim_id = move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED,
                    ClaimState.REJECTED)
    reopened = json.loads(ok(config, "claims", "reopen", "CLM-1", "--json").stdout)
    assert reopened == {"id": claim_id, "claim_number": "CLM-1", "state": "draft"}
    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED)
    app = opened(config)
    try:
        with app.unit_of_work() as work:
            work.claims.record_payer_claim_number(claim_id, "ICN-1")
    finally:
        app.close()
    replacement = json.loads(ok(config, "claims", "correct", "CLM-1", "--from",
                                str(write(tmp_path, "fix.json", {})), "--reason", "x",
                                "--json").stdout)
    assert (replacement["original_claim_number"], replacement["replacement_claim_number"],
            replacement["state"], replacement["total_charge"]) == (
        "CLM-1", "CLM-1-R1", "draft", "120.00")


def test_denial_decisions_answer_in_json(config: Path) -> None:
    deny(config, "CLM-1")
    [item] = json.loads(ok(config, "denials", "list", "--json").stdout)
    resend = json.loads(ok(config, "denials", "resend", str(item["id"]), "--json").stdout)
    assert [(i["id"], i["code"], i["meaning"]) for i in resend] == [(item["id"], "CO-50", CO50)]
    written = json.loads(ok(config, "denials", "write-off", str(item["id"]), "--reason",
                            "small balance", "--json").stdout)
    assert (written["id"], written["status"], written["amount"]) == (
        item["id"], "written_off", "80.00")
    assert "small balance" not in json.dumps(written)


# -- tables never cut claim numbers ---------------------------------------------------------------

def test_tables_keep_claim_numbers_and_dates_whole_on_a_narrow_terminal(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = deny(config, LONG_NUMBER)
    narrow_terminal(monkeypatch, 60)
    listing = ok(config, "claims", "list").stdout
    assert LONG_NUMBER in listing and DAY.isoformat() in listing
    assert LONG_NUMBER in ok(config, "remit", "show", trace).stdout
    assert LONG_NUMBER in ok(config, "denials", "list").stdout
    assert LONG_NUMBER in ok(config, "ar", "followup").stdout


# -- progress: the services report each item ------------------------------------------------------

def test_scrub_and_import_report_progress(config: Path, tmp_path: Path) -> None:
    from medbill_core.services.importing import import_claims
    from medbill_core.services.scrubbing import scrub_claims

    app = opened(config)
    calls: list[tuple[int, int]] = []
    try:
        with app.unit_of_work() as work:
            ids = [work.claims.by_number(n).id for n in ("CLM-1", LONG_NUMBER)]
            scrub_claims(work, ids, validate=False, on_progress=lambda d, t: calls.append((d, t)))
        assert calls == [(1, 2), (2, 2)]
        calls.clear()
        path = write(tmp_path, "more.json", [claim_record("CLM-3"), claim_record("CLM-4"),
                                              claim_record("CLM-5")])
        with app.unit_of_work() as work:
            report = import_claims(work, path, on_progress=lambda d, t: calls.append((d, t)))
        assert (report.imported, calls) == (3, [(1, 3), (2, 3), (3, 3)])
    finally:
        app.close()


def test_posting_an_835_reports_each_claim_payment(config: Path) -> None:
    from medbill_core.services.remittance import post_remittance

    move(config, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED)
    payments = [ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY,
                             charge=D("100.00"), paid=D("100.00"))
                for number in ("CLM-1", "NOT-OURS")]
    remittance = Remittance(trace_number="TRN-P", payment_amount=D("200.00"),
                            payer_name="Acme", payer_id="ACME1", payee_name="Clinic",
                            payment_date=date.today(), claims=payments)
    calls: list[tuple[int, int]] = []
    app = opened(config)
    try:
        with app.unit_of_work() as work:
            post_remittance(work, remittance, on_progress=lambda d, t: calls.append((d, t)))
    finally:
        app.close()
    assert calls == [(1, 2), (2, 2)]


def test_progress_bars_draw_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.cli import common

    with common.progress_callback("working") as on_progress:
        on_progress(1, 2)  # not a terminal (a test): nothing drawn, nothing raised
    assert common.err_console.is_terminal is False
    screen = io.StringIO()
    terminal = common._CliConsole(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(common, "err_console", terminal)
    with common.progress_callback("posting") as on_progress:
        on_progress(1, 2)
        on_progress(2, 2)
    assert "posting" in screen.getvalue()



def test_eligibility_prints_coinsurance_as_a_percentage(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.domain import Benefit, BenefitKind, CoverageStatus, EligibilityResponse
    from medbill_core.plugins import PluginHooks

    answer = EligibilityResponse(status=CoverageStatus.ACTIVE, plan_name="Gold", benefits=[
        Benefit(kind=BenefitKind.CO_INSURANCE, code="A", percent=D("0.125"))])
    monkeypatch.setattr(PluginHooks, "check_eligibility", lambda self, request: answer)
    data = json.loads(ok(config, "eligibility", "check", "--patient", "P1", "--json").stdout)
    # the rate stays as the payer sent it; the percentage is beside it
    assert (data["summary"]["coinsurance"], data["summary"]["coinsurance_percent"]) == (
        "0.125", "12.5%")
    assert "coinsurance: 12.5%" in ok(config, "eligibility", "check", "--patient", "P1").stdout


def test_fetching_responses_reports_each_document(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from medbill_core.services import responses

    acknowledged: list[str] = []
    documents = [SimpleNamespace(document_id=f"DOC-{n}") for n in (1, 2, 3)]
    channel = SimpleNamespace(acknowledge=lambda document: acknowledged.append(
        document.document_id))
    app = SimpleNamespace(hooks=SimpleNamespace(
        fetch_responses=lambda channel: iter(documents),  # a generator has no len()
        acknowledge=lambda channel, document: channel.acknowledge(document),
        context=SimpleNamespace(channel=lambda name: channel)),
        require=lambda action, **_: None)  # Medbill.require: the role check passes
    monkeypatch.setattr(responses, "ingest_document", lambda app, document: (
        responses.IngestResult(document.document_id, "applied", "999")))
    calls: list[tuple[int, int]] = []
    results = responses.fetch_and_apply(app, "mock", on_progress=lambda d, t: calls.append((d, t)))
    assert [r.document_id for r in results] == acknowledged == ["DOC-1", "DOC-2", "DOC-3"]
    assert calls == [(1, 3), (2, 3), (3, 3)]

"""What the registration, patient-account and reference commands print: codes in words,
``--json`` on every command that prints data, tables that never cut account numbers, ids,
dates or amounts, and progress bars (stderr, only on a terminal) on the long commands."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from medbill_core.app import Medbill
from medbill_core.cli import common
from medbill_core.config import load_config
from medbill_core.testing import factories
from medbill_core.testing.cli import cli, config_text, narrow_terminal, ok, one_line_error

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex
M1,Okafor,Chidi,1951-05-05,M
C1,Hartmann,Greta,1983-08-19,F
"""
COVERAGES_CSV = """\
account_number,payer_key,order,member_id,group_number
M1,medicare,P,1EG4TE5MK73,
C1,acme,P,ACME00002,G100
"""
MEDICARE_HOUSTON = """
[payers.medicare.options]
locality = "18"

[payers.acme.options]
submitter_id = "SUB1"
receiver_id = "RCV1"
"""
TODAY = date.today()


def words(text: str) -> str:
    """Output with whitespace collapsed: independent of column widths."""
    return " ".join(text.split())


def cells(text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in text.splitlines():
        parts = [cell.strip() for cell in line.split("│")[1:-1]]
        if parts and parts[0] == first:
            return parts
    raise AssertionError(f"no row {first!r} in:\n{text}")


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                plugins=("payer_generic_x12", "payer_medicare",
                                         "statements_pdf"),
                                extra=MEDICARE_HOUSTON), encoding="utf-8")
    ok(path, "db", "upgrade")
    (tmp_path / "p.csv").write_text(PATIENTS_CSV, encoding="utf-8")
    (tmp_path / "c.csv").write_text(COVERAGES_CSV, encoding="utf-8")
    ok(path, "patients", "import", str(tmp_path / "p.csv"))
    ok(path, "coverages", "import", str(tmp_path / "c.csv"))
    return path


def open_app(config: Path) -> Medbill:
    return Medbill.open(load_config(config))


def owing(config: Path, days_ago: int, charge: str = "100.00") -> str:
    """A new self-pay patient owing ``charge`` for a service ``days_ago``; their account."""
    app = open_app(config)
    try:
        with app.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(7))
            day = TODAY - timedelta(days=days_ago)
            claim = factories.make_claim(patient.id, coverage_id=None, number="OUT2-1",
                                         service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=Decimal(charge))]}))
            return patient.account_number
    finally:
        app.close()


@pytest.fixture
def terminal_stderr(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stderr as a terminal, captured: progress bars draw there."""
    err = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=err, force_terminal=True,
                                                       width=100))
    return err


# -- codes in words -----------------------------------------------------------------------------

def test_estimate_table_and_json_show_coinsurance_as_a_percentage(config: Path) -> None:
    args = ("estimate", "--patient", "M1", "--service", "99214=165.00", "--date", "2026-03-02",
            "--confirm-date",
            "--no-eligibility")
    text = ok(config, *args).stdout
    header = next(line for line in text.splitlines() if "charge" in line)
    assert "coinsurance 20%" in words(header)
    assert "0.2 " not in words(text)
    row = cells(text, "99214")
    assert (row[2], row[3]) == ("165.00", "134.70")  # charge, Medicare's 2026 allowed
    data = json.loads(ok(config, *args, "--json").stdout)
    assert data["benefits"]["coinsurance_percent"] == "20%"
    assert Decimal(data["benefits"]["coinsurance"]) == Decimal("0.2")


def test_coverages_print_order_and_relationship_codes_in_words(config: Path) -> None:
    [coverage] = json.loads(ok(config, "coverages", "list", "--patient", "M1",
                               "--json").stdout)
    row = cells(ok(config, "coverages", "list", "--patient", "M1").stdout, str(coverage["id"]))
    assert row[1:4] == ["medicare", "P (primary)", "1EG4TE5MK73"]
    assert row[5] == "18 (self)"
    listing = ok(config, "patients", "list").stdout
    assert cells(listing, "1")[1:] == ["M1", "Okafor, Chidi", "medicare (primary)"]


def test_collections_worklist_names_the_dunning_stage(config: Path) -> None:
    account = owing(config, 65)
    [item] = json.loads(ok(config, "collections", "worklist", "--json").stdout)
    assert (item["account_number"], item["balance"], item["stage"], item["stage_name"]) == (
        account, "100.00", 2, "60+ days past due")
    assert item["oldest_days"] == 65 and item["on_plan"] is False
    row = cells(ok(config, "collections", "worklist").stdout, account)
    assert row[2:5] == ["100.00", "65", "2 60+ days past due"]


def test_dunning_stage_names_cover_every_stage() -> None:
    from medbill_core.services.statements import dunning_stage, dunning_stage_name

    assert [dunning_stage_name(dunning_stage(days)) for days in (0, 31, 61, 95, 130)] == [
        "current", "30+ days: reminder", "60+ days past due", "90+ days past due",
        "120+ days: final notice"]


# -- tables never cut what is looked up ---------------------------------------------------------

def test_narrow_terminal_keeps_accounts_dates_and_amounts_whole(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = owing(config, 10, "1234.56")
    ok(config, "payments", "record", "--patient", account, "--amount", "1000.00",
       "--method", "check", "--reference", "CHECK-000123456")
    ok(config, "plans", "create", "--patient", account, "--total", "234.56",
       "--installments", "3", "--start", (TODAY + timedelta(days=20)).isoformat())
    narrow_terminal(monkeypatch, 100)  # narrower than the tables' natural width
    payments = ok(config, "payments", "list").stdout
    plans = ok(config, "plans", "list").stdout
    coverages = ok(config, "coverages", "list", "--patient", "M1").stdout
    for text, whole in ((payments, [account, TODAY.isoformat(), "CHECK-000123456",
                                    "1000.00"]),
                        (plans, [account, "234.56", "78.18"]),
                        (coverages, ["1EG4TE5MK73"])):
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= 100
        for value in whole:
            assert any(value in line for line in lines), (value, text)
        assert "…" not in text


def test_audit_table_keeps_the_time_and_entity_whole(config: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    [event] = json.loads(ok(config, "audit", "--entity", "coverage", "--limit", "1",
                            "--json").stdout)
    narrow_terminal(monkeypatch, 70)
    text = ok(config, "audit", "--entity", "coverage", "--limit", "1").stdout
    stamp = event["at"][:19].replace("T", " ")
    assert any(stamp in line for line in text.splitlines())
    assert any(f"coverage {event['entity_id']}" in line for line in text.splitlines())


# -- --json everywhere data is printed ----------------------------------------------------------

def test_providers_plans_cancel_and_db_print_json(config: Path) -> None:
    added = json.loads(ok(config, "providers", "add", "--npi", "1234567893", "--last-name",
                          "Rivera", "--first-name", "Ana", "--json").stdout)
    assert (added["npi"], added["last_name"], added["first_name"]) == (
        "1234567893", "Rivera", "Ana")
    listed = json.loads(ok(config, "providers", "list", "--json").stdout)
    assert [(p["id"], p["npi"]) for p in listed] == [(added["id"], "1234567893")]
    assert cells(ok(config, "providers", "list").stdout, str(added["id"]))[1:3] == [
        "1234567893", "Rivera, Ana"]
    account = owing(config, 3)
    plan = json.loads(ok(config, "plans", "create", "--patient", account, "--total", "90",
                         "--installments", "3", "--start",
                         (TODAY + timedelta(days=5)).isoformat(), "--json").stdout)
    assert json.loads(ok(config, "plans", "cancel", str(plan["id"]), "--reason", "paid",
                         "--json").stdout) == {"plan_id": plan["id"], "status": "cancelled"}
    current = json.loads(ok(config, "db", "current", "--json").stdout)
    assert current["current"] == current["newest"] and current["up_to_date"] is True
    upgraded = json.loads(ok(config, "db", "upgrade", "--json").stdout)
    assert upgraded["before"] == upgraded["after"] == current["newest"]
    assert upgraded["database"].startswith("sqlite:///")


def test_codes_load_and_load_ncci_print_json(cli_isolation: None, tmp_path: Path) -> None:
    update = tmp_path / "hcpcs_update.csv"
    update.write_text("code,long_description,short_description,add_date,termination_date\n"
                      "G0999,Test new code for an update,Test new code,2025-01-01,\n",
                      encoding="utf-8")
    user = tmp_path / "user-codesets"
    loaded = json.loads(ok(None, "codes", "load", "hcpcs", str(update), "--data-dir",
                           str(user), "--json").stdout)
    assert (loaded["system"], loaded["rows"], loaded["file"]) == ("hcpcs", 1,
                                                                  "hcpcs_update.csv")
    assert loaded["stored_at"] == str(user / "hcpcs.csv")
    mue = tmp_path / "mue.csv"
    mue.write_text('"HCPCS/CPT Code","Practitioner Services MUE Values",'
                   '"MUE Adjudication Indicator","MUE Rationale"\n'
                   '36415,3,"3 Date of Service Edit: Clinical","CMS Policy"\n',
                   encoding="utf-8")
    ncci = json.loads(ok(None, "codes", "load-ncci", "mue", str(mue), "--data-dir", str(user),
                         "--json").stdout)
    assert (ncci["table"], ncci["rows"], ncci["files"]) == ("mue", 1, ["mue.csv"])
    from medbill_core.codesets.ncci import reset_default_ncci
    from medbill_core.codesets.registry import reset_default_codesets

    reset_default_ncci()
    reset_default_codesets()


# -- progress ----------------------------------------------------------------------------------

def test_services_report_progress_to_the_end(config: Path, tmp_path: Path) -> None:
    from medbill_core.services.fees import load_price_list
    from medbill_core.services.importing import import_patients
    from medbill_core.services.statements import run_statements

    more = tmp_path / "more.csv"
    more.write_text(PATIENTS_CSV + "N1,Nakamura,Ren,1990-01-02,M\n", encoding="utf-8")
    prices = tmp_path / "prices.csv"
    prices.write_text("code,amount,effective_from\n"
                      + "".join(f"99{n:03d},{n}.00,2026-01-01\n" for n in range(200, 212)),
                      encoding="utf-8")
    owing(config, 40)
    calls: dict[str, list[tuple[int, int]]] = {"import": [], "prices": [], "statements": []}
    app = open_app(config)
    try:
        with app.unit_of_work() as work:
            report = import_patients(work, more, on_progress=lambda d, t: calls["import"].append(
                (d, t)))
            load_price_list(work, prices, on_progress=lambda d, t: calls["prices"].append(
                (d, t)))
        result = run_statements(app, cycle="2026-12", out_dir=tmp_path / "statements",
                                renderer="text",
                                on_progress=lambda d, t: calls["statements"].append((d, t)))
    finally:
        app.close()
    assert report.imported == 3
    assert calls["import"] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert calls["prices"] == [(12, 12)]
    assert len(result.produced) == 1
    assert calls["statements"][-1] == (1, 1) and calls["statements"][0] == (0, 1)


def test_code_loads_report_progress(tmp_path: Path) -> None:
    from medbill_core.codesets.loaders import load_file
    from medbill_core.codesets.ncci import load_mue, reset_default_ncci
    from medbill_core.codesets.registry import reset_default_codesets

    update = tmp_path / "modifiers.csv"
    update.write_text("code,description\nZZ,Test modifier\n", encoding="utf-8")
    mue = tmp_path / "mue.csv"
    mue.write_text("code,value,indicator\n36415,3,3\n", encoding="utf-8")
    steps: list[tuple[int, int]] = []
    mue_steps: list[tuple[int, int]] = []
    try:
        load_file("modifier", update, data_dir=tmp_path / "user",
                  on_progress=lambda d, t: steps.append((d, t)))
        load_mue(mue, data_dir=tmp_path / "user",
                 on_progress=lambda d, t: mue_steps.append((d, t)))
    finally:
        reset_default_ncci()
        reset_default_codesets()
    assert steps == [(1, 2), (2, 2)]
    assert mue_steps == [(1, 2), (2, 2)]


@pytest.mark.parametrize(("command", "bar"), [
    (("patients", "import", "{tmp}/more.csv"), "importing patients"),
    (("coverages", "import", "{tmp}/c.csv"), "importing coverages"),
    (("chargemaster", "load", "{tmp}/prices.csv"), "loading the charge master"),
    (("fees", "load", "acme", "{tmp}/prices.csv"), "loading the fee schedule of acme"),
    (("statements", "run", "--cycle", "2026-12", "--renderer", "text", "--out",
      "{tmp}/statements"), "statements 2026-12"),
])
def test_long_commands_draw_a_progress_bar_on_a_terminal_only(
        config: Path, tmp_path: Path, terminal_stderr: io.StringIO, command: tuple[str, ...],
        bar: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "more.csv").write_text(PATIENTS_CSV, encoding="utf-8")
    (tmp_path / "prices.csv").write_text("code,amount,effective_from\n99214,180.00,2026-01-01\n",
                                         encoding="utf-8")
    owing(config, 40)
    args = [part.format(tmp=tmp_path) for part in command]
    result = ok(config, *args)
    assert bar in terminal_stderr.getvalue()
    assert bar not in result.stdout  # never between the lines of what the command prints
    # into a file or a pipe: no bar at all
    plain = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=plain))
    ok(config, *args)
    assert plain.getvalue() == ""


# -- codes show: every kind of code the app prints ----------------------------------------------

def test_explain_ta1_notes_and_277ca_pairs() -> None:
    from medbill_core.codesets.explain import explain_claim_status_pair, explain_ta1_note

    assert explain_ta1_note("25") == explain_ta1_note("025") == (
        "025 Duplicate interchange control number. (the ISA13 was used before: check the "
        "control-number file and send again)")
    assert explain_ta1_note("000") == "000 No error."
    assert explain_ta1_note("032") == "032: not in medbill's TA1 note code list"
    assert explain_claim_status_pair("a7:21") == (
        "A7:21 — A7 Acknowledgement/Rejected for Invalid Information: the claim/encounter has "
        "invalid information as specified in the Status details and has been rejected; 21 "
        "Missing or invalid information (another status code says which).")
    assert explain_claim_status_pair("A7") is None


def test_codes_show_explains_ta1_notes_and_the_277ca_pairs_claims_record(
        cli_isolation: None, tmp_path: Path) -> None:
    empty = str(tmp_path / "no-user-codesets")

    def meanings(code: str) -> dict[str, str]:
        data = json.loads(ok(None, "codes", "show", code, "--data-dir", empty,
                             "--json").stdout)
        return {m["list"]: m["text"] for m in data["meanings"]}

    assert meanings("025")["TA1 note code"].startswith("025 Duplicate interchange control")
    assert "TA1 note code" not in meanings("21")  # TA1 notes are printed with three digits
    pair = meanings("A7:21")["277CA claim status"]
    assert pair.startswith("A7:21 — A7 Acknowledgement/Rejected for Invalid Information")
    assert "; 21 Missing or invalid information" in pair
    text = words(ok(None, "codes", "show", "A3:21", "--data-dir", empty).stdout)
    assert text.startswith(
        "277CA claim status A3:21 — A3 Acknowledgement/Returned as unprocessable")
    assert one_line_error(cli(None, "codes", "show", "ZZ:999", "--data-dir", empty)) == (
        "error: ZZ:999: neither part is a 277CA category or status code")


def test_statements_say_in_words_why_the_patient_owes_each_pr_code() -> None:
    from medbill_core.services.statements import patient_reason

    assert [patient_reason(code) for code in ("1", "2", "3", "66", "100", "119", "242")] == [
        "Deductible", "Coinsurance", "Copay", "Blood deductible",
        "Your plan paid you for this service", "Your plan's benefit maximum was reached",
        "Provider outside your plan's network"]
    # PR-96, PR-204 and codes not listed: what they mean to a patient
    assert {patient_reason(code) for code in ("96", "204", "B1")} == {"Not covered by your plan"}


def test_codes_search_warns_on_stderr_when_the_release_does_not_cover_the_date(
        cli_isolation: None, tmp_path: Path) -> None:
    result = ok(None, "codes", "search", "type", "2", "diabetes", "--date", "2025-01-15",
                "--system", "icd10cm", "--data-dir", str(tmp_path / "none"))
    assert result.stderr.startswith("warning: ICD-10-CM searched in the ")
    assert "searched in the" not in result.stdout
    assert "E11.9" in result.stdout
    # nothing found: the error alone, one line
    assert one_line_error(cli(None, "codes", "search", "zzzqqq", "--date", "2025-01-15",
                              "--data-dir", str(tmp_path / "none"))) == (
        "error: no code matches 'zzzqqq' on 2025-01-15")

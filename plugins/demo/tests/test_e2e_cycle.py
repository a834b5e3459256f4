"""The whole revenue cycle against the real clearinghouse simulator on loopback (HTTP + X12),
with and without injected faults."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_demo.data import PROVIDERS, demo_patients
from medbill_demo.runner import demo_config, run_demo
from medbill_demo.simulation import API_KEY, DemoClearinghouse
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from rich.console import Console

from medbill_core.app import Medbill
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import prepare_batches, send_pending

SETTLED = {"paid", "patient_balance", "closed", "replaced", "denied", "partially_paid"}


def quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def _money(summary: dict) -> dict[str, Decimal]:
    return {key: Decimal(value) for key, value in summary["money"].items()}


def _negative_accounts(out: Path) -> list[tuple]:
    with sqlite3.connect(out / "medbill-demo.db") as db:
        return db.execute(
            "select claim_id, sum(insurance_delta), sum(patient_delta) from ledger_entries "
            "where claim_id is not null group by claim_id "
            "having sum(insurance_delta) < 0 or sum(patient_delta) < 0").fetchall()


def _open_denials(out: Path) -> dict[str, Decimal]:
    """Payer key -> the denial work items still owed by that payer (amounts in cents)."""
    with sqlite3.connect(out / "medbill-demo.db") as db:
        rows = db.execute("select payer_key, sum(amount) from denials where status in "
                          "('open', 'appealed', 'resend') group by payer_key").fetchall()
    return {payer: Decimal(cents) / 100 for payer, cents in rows}


def _remittance_statuses(out: Path) -> dict[str, str]:
    """Trace number -> reconciliation status of every remittance in the register."""
    with sqlite3.connect(out / "medbill-demo.db") as db:
        return dict(db.execute("select trace_number, status from remittances").fetchall())


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, 40, console=quiet())


def test_cycle_settles_every_claim_and_balances(clean_run) -> None:
    out, summary = clean_run
    assert summary["ledger_balanced"] is True
    money = _money(summary)
    # 9,148.00 billed, plus one unit added to a paid claim by its replacement (frequency 7),
    # plus the hospital case: 1,655.00 outpatient and 12,280.00 inpatient (medbill_demo.hospital)
    assert money["charges"] == Decimal("23208.00")
    # every payer answered everything: what insurance still owes is exactly the denials kept
    # open for someone to work (issue 10 item 3: denials are no longer written off at once)
    open_denials = _open_denials(out)
    assert money["insurance_balance"] == sum(open_denials.values(), Decimal("0.00")) > 0
    assert {payer: Decimal(amount) for payer, amount in summary["ar_by_payer"].items()
            if Decimal(amount)} == open_denials
    assert summary["claims_by_state"]["denied"] >= 1
    assert money["charges"] == (money["paid_by_payers"] + money["paid_by_patients"]
                                + money["adjusted"] + money["insurance_balance"]
                                + money["patient_balance"])
    assert money["paid_by_payers"] > Decimal("1000")
    assert set(summary["claims_by_state"]) <= SETTLED, summary["claims_by_state"]
    # the paid claim corrected by a replacement; the rejected member-ID claims were resent
    # as originals, not replaced (the payer never adjudicated them)
    assert summary["claims_by_state"].get("replaced") == 1
    assert "rejected" not in summary["claims_by_state"]
    assert _negative_accounts(out) == []
    assert json.loads((out / "summary.json").read_text()) == summary
    # every 835 of the demo is in the register and adds up (BPR02 = CLP04s - PLBs), every
    # claim payment matched a claim
    statuses = _remittance_statuses(out)
    assert len(statuses) >= summary["files"]["835"]
    assert set(statuses.values()) == {"balanced"}, statuses


def test_every_file_is_left_behind_and_every_837_is_pyx12_clean(clean_run) -> None:
    out, summary = clean_run
    files = summary["files"]
    assert files["837"] >= 4 and files["999"] == files["837"] and files["277CA"] >= 4
    assert files["835"] >= 2 and files["statements"] > 0
    claims_837 = sorted((out / "837").iterdir())
    assert len(claims_837) == files["837"]
    for path in claims_837:
        ok, errors = pyx12_verdict(path.read_text())
        assert ok, f"{path.name}: {errors[:3]}"
    assert any(":B:7*" in p.read_text() for p in claims_837), "no frequency-7 replacement sent"
    pdfs = list((out / "statements").glob("*.pdf"))
    assert len(pdfs) == files["statements"] and all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)


def _claim_segments(out: Path) -> dict[str, list[list[str]]]:
    """Claim number -> its segments (CLM up to the next HL or SE), from every 837 sent."""
    claims: dict[str, list[list[str]]] = {}
    for path in (out / "837").iterdir():
        current: list[list[str]] | None = None
        for segment in path.read_text().replace("\n", "").split("~"):
            elements = segment.split("*")
            if elements[0] == "CLM":
                current = claims.setdefault(elements[1], [])
            elif elements[0] in ("HL", "SE"):
                current = None
            if current is not None:
                current.append(elements)
    return claims


def test_secondary_claims_carry_the_primary_line_adjudications(clean_run) -> None:
    out, _ = clean_run
    with sqlite3.connect(out / "medbill-demo.db") as db:
        secondary = {number for (number,) in db.execute(
            "select claim_number from claims where account_claim_id is not null "
            "and replaces_claim_id is null")}
    sent = _claim_segments(out)
    assert secondary and secondary <= set(sent)
    for number in secondary:
        segments = sent[number]
        tags = [s[0] for s in segments]
        other_payer = next(s[9] for s in segments if s[:2] == ["NM1", "PR"])  # 2330B NM109
        svds = [s for s in segments if s[0] == "SVD"]
        # the primary (Medicare) adjudicated every line: one 2430 under each 2400
        assert len(svds) == tags.count("LX") > 0, number
        assert all(s[1] == other_payer for s in svds)
        # the line adjustments moved from 2320 to 2430, and the 2330B DTP*573 date with them
        first_line = tags.index("LX")
        assert "CAS" not in tags[:first_line]
        assert not any(s[:2] == ["DTP", "573"] for s in segments[:first_line])
        for index, tag in enumerate(tags):
            if tag == "SVD":
                after = index + 1
                while tags[after] == "CAS":
                    after += 1
                assert segments[after][:3] == ["DTP", "573", "D8"], number


def test_the_replacement_reverses_the_original_payment(clean_run) -> None:
    out, _ = clean_run
    with sqlite3.connect(out / "medbill-demo.db") as db:
        original, replacement = db.execute(
            "select o.id, r.id from claims r join claims o on o.id = r.replaces_claim_id"
        ).fetchone()
        paid = dict(db.execute(
            "select p.posting_key like '%-R1:%', sum(e.amount) from ledger_entries e "
            "join postings p on p.id = e.posting_id where e.claim_id = ? and "
            "e.kind = 'payer_payment' group by 1", (original,)).fetchall())
        states = dict(db.execute("select id, state from claims where id in (?, ?)",
                                 (original, replacement)).fetchall())
    # cents: the original's payment and its reversal cancel out; the replacement's remains
    assert paid[0] == 0 and paid[1] > 0, paid
    assert states[original] == "replaced" and states[replacement] != "replaced"
    sent = "".join(p.read_text() for p in (out / "837").iterdir())
    assert sent.count(":B:7*") == 1 and "CLP*" not in sent


def test_everything_holding_phi_is_owner_only(clean_run) -> None:
    out, _ = clean_run
    private = [out, out / "medbill-demo.db", out / "medbill.toml", out / "837",
               *(out / "837").iterdir(), *(out / "835").iterdir(), out / "statements",
               *(out / "statements").iterdir()]
    assert [p.name for p in private if p.stat().st_mode & 0o077] == []


def test_summary_and_file_names_carry_no_phi(clean_run) -> None:
    out, _ = clean_run
    text = (out / "summary.json").read_text()
    names = [path.name for path in out.rglob("*")]
    for demo in demo_patients(25):
        for value in (demo.patient.last_name, demo.patient.birth_date.isoformat()):
            assert value not in text
            assert not any(value in name for name in names)


def test_the_simulator_ran_in_its_own_process_and_logged_no_phi(clean_run) -> None:
    """Issue 14: the clearinghouse is another system (a process of its own, its CPU not
    medbill's); its log, beside its state, says what it did and names no patient."""
    out, _ = clean_run
    log = out / "clearinghouse-state.log"
    assert log.stat().st_mode & 0o077 == 0
    text = log.read_text()
    started = [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", text)]
    assert len(started) == 1 and started[0] != os.getpid()
    assert re.search(r"account=riverbend POST /v1/claims/batches -> 202", text)
    assert text.count("account=riverbend POST /v1/payment-runs -> 200") >= 2
    for demo in demo_patients(25):
        for value in (demo.patient.last_name, demo.patient.first_name,
                      demo.patient.birth_date.strftime("%Y%m%d"),
                      *(coverage.member_id for coverage in demo.coverages)):
            assert not re.search(rf"\b{re.escape(value.upper())}\b", text.upper()), value


def test_the_clearinghouse_runs_in_a_thread_for_who_needs_the_simulator(tmp_path: Path) -> None:
    from medbill_clearinghouse_mock.simulator.server import BackgroundServer

    with DemoClearinghouse(tmp_path, in_process=True) as clearinghouse:
        server = clearinghouse.server
        assert isinstance(server, BackgroundServer)
        assert server.simulator.config.account_for(API_KEY) == "riverbend"
        assert clearinghouse.payment_run() == 0  # over HTTP too: nothing adjudicated yet
    assert clearinghouse.cpu_seconds is None  # its CPU was this process's
    assert not (tmp_path / "clearinghouse-state.log").exists()


def test_faults_change_nothing_in_the_outcome(tmp_path: Path, clean_run) -> None:
    faults = [
        {"endpoint": "submit", "kind": "status", "status": 503, "first": 2},
        {"endpoint": "submit", "kind": "drop", "phase": "after", "every": 2},
        {"endpoint": "responses", "kind": "duplicate"},
        {"endpoint": "responses", "kind": "reorder"},
        {"endpoint": "any", "kind": "republish"},
    ]
    summary = run_demo(tmp_path, 40, console=quiet(), faults=faults)
    _, clean = clean_run
    assert summary["money"] == clean["money"]  # no double posting, nothing lost
    assert summary["claims_by_state"] == clean["claims_by_state"]
    with sqlite3.connect(tmp_path / "clearinghouse-state.db") as sim, \
            sqlite3.connect(tmp_path / "medbill-demo.db") as db:
        received = sim.execute("select count(*) from submissions").fetchone()[0]
        sent = db.execute("select count(*) from submissions").fetchone()[0]
        republished = db.execute("select count(*) - count(distinct content_sha256) "
                                 "from inbound_documents").fetchone()[0]
    assert received == sent  # zero duplicate submissions despite retries
    assert republished > 0  # the same 835 did arrive twice ...
    assert _negative_accounts(tmp_path) == []  # ... and was posted once
    assert _remittance_statuses(tmp_path) == _remittance_statuses(clean_run[0])  # one row each


def test_small_pages_change_nothing_in_the_outcome(tmp_path: Path, clean_run,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The cycle streams: drafts scrubbed and sent 7 at a time, eligibility asked 7 patients
    at a time, feed polls of 3 documents; the outcome is the one of a single page."""
    import medbill_demo.runner as runner

    monkeypatch.setattr(runner, "PAGE", 7)
    monkeypatch.setattr(runner, "FETCH_PAGES", 1)
    monkeypatch.setattr(runner, "FEED_PAGE_SIZE", 3)
    summary = run_demo(tmp_path, 40, console=quiet())
    _, clean = clean_run
    assert summary["money"] == clean["money"]
    assert summary["claims_by_state"] == clean["claims_by_state"]
    assert summary["clean_claim_rate"] == clean["clean_claim_rate"]
    steps = {s["step"]: s["result"] for s in summary["steps"]}
    clean_steps = {s["step"]: s["result"] for s in clean["steps"]}
    for step in ("eligibility 270/271", "scrub (first pass)", "fix rejected claims",
                 "patient statements"):
        assert steps[step] == clean_steps[step], step
    batches = int(steps["submit 837P (first pass)"].split()[0])
    assert batches > int(clean_steps["submit 837P (first pass)"].split()[0])  # a page each
    assert _remittance_statuses(tmp_path) == _remittance_statuses(clean_run[0])


def test_a_crash_between_send_and_record_resends_nothing(tmp_path: Path) -> None:
    with DemoClearinghouse(tmp_path) as clearinghouse:
        app = Medbill.open(demo_config(tmp_path, clearinghouse.base_url, API_KEY), upgrade=True)
        try:
            from medbill_demo.runner import load_data

            load_data(app, 6, quiet())
            with app.unit_of_work() as work:
                scrub_claims(work, [c.id for c in work.claims.list()])
                prepare_batches(work)
            real = app.unit_of_work

            def killed(*args, **kwargs):
                raise KeyboardInterrupt("killed after the clearinghouse answered")

            app.unit_of_work = killed
            with pytest.raises(KeyboardInterrupt):
                # a lease that has run out by the next run: the killed sender is gone
                send_pending(app, lease=timedelta(0))
            app.unit_of_work = real
            outcomes = send_pending(app)
            assert [o.status for o in outcomes].count("sent") == len(outcomes) > 0
        finally:
            app.close()
        with sqlite3.connect(clearinghouse.state) as sim:
            assert sim.execute("select count(*) from submissions").fetchone()[0] == len(outcomes)


def test_the_demo_configuration_works_from_any_folder_after_the_demo(
        clean_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in demo-out/medbill.toml are relative to it, and a simulator started with it
    accepts its API key (it used to name a key only the demo's own simulator knew)."""
    from medbill_core.cli.common import state
    from medbill_core.config import load_config
    from medbill_core.testing.cli import cli

    out, summary = clean_run
    for name in list(os.environ):
        if name.startswith("MEDBILL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    result = cli(out / "medbill.toml", "claims", "list", "--json", "--limit", "1000")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["claims"]) == sum(summary["claims_by_state"].values())
    assert not (tmp_path / "medbill.db").exists() and not (tmp_path / "medbill-demo.db").exists()
    config = load_config(out / "medbill.toml")
    assert config.plugin_settings["payer_generic_x12"]["control_numbers_path"] == str(
        (out / "control-numbers.db").resolve())
    key = config.plugin_settings["clearinghouse_mock"]["api_key"]

    from medbill_clearinghouse_mock.cli import _accepting_configured_key
    from medbill_clearinghouse_mock.simulator.config import load_simulator_config

    monkeypatch.setattr(state, "config_path", str(out / "medbill.toml"))
    assert _accepting_configured_key(load_simulator_config(None)).account_for(key)
    saved = load_simulator_config(out / "clearinghouse.json")
    assert saved.account_for(key)


def test_the_coding_audit_runs_on_the_demo(clean_run) -> None:
    """Issue 12: the demo ends with the coding audit report and a review sample."""
    _out, summary = clean_run
    report = summary["coding_audit"]["report"]
    providers = report["providers"]
    # each encounter once: the replaced original out, its replacement in, secondaries out
    # (and the hospital case's institutional claims: not a provider's coding)
    assert report["reference"] == {"kind": "practice average", "claims": 40,
                                   "text": "reference: practice average, 40 claims"}
    assert sorted(p["npi"] for p in providers) == sorted(p.npi for p in PROVIDERS)
    assert sum(p["claims"] for p in providers) == 40
    # the Medicare knee injection: 99213-25 beside 20610 bypasses an NCCI edit with 25
    assert any((pair["column_1"], pair["column_2"], pair["modifiers"])
               == ("20610", "99213", ["25"]) for p in providers
               for pair in p["ncci_bypassed_pairs"])
    # the Medigap plan's CO-197 line denials count in the denial rate by code
    assert any(carc["code"] == "CO-197" for rate in report["denials_by_code"]
               for carc in rate["top_carcs"])
    sample = summary["coding_audit"]["sample"]
    assert (sample["seed"], sample["per_provider"], len(sample["claims"])) == (2026, 2, 4)
    assert sorted(c["provider"] for c in sample["claims"]) == sorted(
        p.npi for p in PROVIDERS for _ in range(2))


def test_the_demo_says_which_code_sets_are_current_for_today(clean_run) -> None:
    """Issue 12: claims past a missing release get release-gap warnings, so the demo names
    the missing releases first (the same answer as `medbill codes status`)."""
    from medbill_core.codesets.loaders import user_data_dir
    from medbill_core.codesets.releases import status

    _out, summary = clean_run
    [step] = [s for s in summary["steps"] if s["step"] == "code sets (codes status)"]
    rows = status(date.today(), user_data_dir())
    expected = [coverage.wanted for _, _, coverage in rows if not coverage.covered]
    assert summary["code_sets_missing"] == expected
    assert step["result"].startswith(f"{len(rows) - len(expected)} of {len(rows)} current")
    assert all(name in step["result"] for name in expected)

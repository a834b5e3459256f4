"""``medbill assistance`` on the command line: apply, approve with the discount posted, the
letter (owner-only, addressed to the guarantor, no income), the schedule, and one-line
errors that write nothing."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from cli_support import cli, config_text, ok, one_line_error
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import GuarantorRelationship
from medbill_core.domain.base import saved_id
from medbill_core.services.guarantors import GuarantorService
from medbill_core.storage.schema import AssistanceApplicationRow, LedgerEntryRow
from medbill_core.testing import factories

TODAY = date.today()


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


@pytest.fixture
def family(config: Path) -> tuple[int, list[int]]:
    """(guarantor id, claim ids): a self-pay patient with a 100.00 and a 60.00 visit."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            patient_id = saved_id(work.patients.register(factories.make_patient(1)))
            claims = []
            for i, (charge, age) in enumerate([("100.00", 5), ("60.00", 2)]):
                day = TODAY - timedelta(days=age)
                claim = factories.make_claim(patient_id, coverage_id=None, number=f"C{i}",
                                             service_date=day)
                claims.append(saved_id(work.claims.create(claim.model_copy(update={"lines": [
                    factories.make_line(1, service_date=day, charge=D(charge))]}))))
            service = GuarantorService(work.session, actor="t")
            guarantor = service.guarantor_for_patient(patient_id)
            service.assign(patient_id, guarantor.id, GuarantorRelationship.SELF)
        return saved_id(guarantor), claims
    finally:
        app.close()


def _balances(config: Path, claims: list[int]) -> list[D]:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            return [work.ledger.claim_balance(c).patient for c in claims]
    finally:
        app.close()


def _count(config: Path, table: type) -> int:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            return work.session.scalar(select(func.count()).select_from(table)) or 0
    finally:
        app.close()


def test_apply_approve_letter_revoke(config: Path, family: tuple[int, list[int]],
                                     tmp_path: Path) -> None:
    guarantor, claims = family
    applied = ok(config, "assistance", "apply", "--guarantor", str(guarantor),
                 "--household-size", "3", "--income", "34154.80", "--state", "NY",
                 "--date", (TODAY - timedelta(days=10)).isoformat(), "--documents-received",
                 "--json")
    data = json.loads(applied.stdout)
    # 2026: 27,320 for three; 34,154.80 / 27,320 = 125.0176% -> 125.02%, 75% off
    assert (data["percent_of_guideline"], data["tier"]["discount_percent"]) == ("125.02", "75")
    number = str(data["id"])
    approved = ok(config, "assistance", "approve", number)
    assert "75% discount" in approved.stdout and "-25.00" not in approved.stdout
    assert _balances(config, claims) == [D("25.00"), D("15.00")]
    again = ok(config, "assistance", "discounts")
    assert "nothing to post" in again.stdout
    letter = tmp_path / "letter.txt"
    ok(config, "assistance", "letter", number, "--out", str(letter))
    text = letter.read_text(encoding="utf-8")
    assert stat.S_IMODE(letter.stat().st_mode) == 0o600
    assert "1 Elm Street" in text and "Springfield, IL" in text
    assert "125.02% of the" in text and "reduced by 75%" in text
    assert "34154" not in text and "34,154" not in text
    listed = json.loads(ok(config, "assistance", "list", "--status", "approved",
                           "--json").stdout)
    assert [a["id"] for a in listed] == [int(number)]
    revoked = ok(config, "assistance", "revoke", number, "--reason", "income misstated")
    assert "-75.00" in revoked.stdout and "-45.00" in revoked.stdout
    assert _balances(config, claims) == [D("100.00"), D("60.00")]


def test_schedule_set_and_shown(config: Path) -> None:
    shown = ok(config, "assistance", "schedule")
    assert "up to 100%" in shown.stdout and "approvals last 12 months" in shown.stdout
    ok(config, "assistance", "schedule", "--tier", "100:fee=20.00", "--tier", "250:40",
       "--tier", "above:0", "--expiry-months", "6")
    data = json.loads(ok(config, "assistance", "schedule", "--json").stdout)
    assert data["tiers"] == [
        {"up_to_percent": "100", "discount_percent": "100", "nominal_fee": "20.00"},
        {"up_to_percent": "250", "discount_percent": "40", "nominal_fee": None},
        {"up_to_percent": None, "discount_percent": "0", "nominal_fee": None}]
    assert data["expiry_months"] == 6
    error = one_line_error(cli(config, "assistance", "schedule", "--tier", "150:75",
                               "--tier", "100:100", "--tier", "above:0"))
    assert "increasing" in error


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--household-size", "0", "--income", "100.00", "--state", "NY"], 1, "household_size"),
    (["--household-size", "2", "--income", "100.001", "--state", "NY"], 2, "--income"),
    (["--household-size", "2", "--income", "100.00", "--state", "PR"], 1, "state"),
    (["--household-size", "2", "--income", "-5.00", "--state", "NY"], 2, "negative"),
])
def test_bad_applications_are_one_line_errors_that_write_nothing(
        config: Path, family: tuple[int, list[int]], args: list[str], code: int,
        words: str) -> None:
    guarantor, _ = family
    error = one_line_error(cli(config, "assistance", "apply", "--guarantor", str(guarantor),
                               *args), code)
    assert words in error
    assert _count(config, AssistanceApplicationRow) == 0


def test_refused_decisions_write_nothing(config: Path, family: tuple[int, list[int]]) -> None:
    guarantor, _ = family
    data = json.loads(ok(config, "assistance", "apply", "--guarantor", str(guarantor),
                         "--household-size", "1", "--income", "1000.00", "--state", "NY",
                         "--json").stdout)
    before = _count(config, LedgerEntryRow)
    error = one_line_error(cli(config, "assistance", "approve", str(data["id"])))
    assert error == (f"error: assistance application {data['id']}: documents: income "
                     "documents not received yet")
    assert "not found" in one_line_error(cli(config, "assistance", "show", "9999"))
    assert "pending" in one_line_error(cli(config, "assistance", "letter", str(data["id"]),
                                           "--out", "x.txt"))
    assert not Path("x.txt").exists()
    assert _count(config, LedgerEntryRow) == before


def test_prompt_pay_discount_settles_a_self_pay_claim_once(
        config: Path, family: tuple[int, list[int]]) -> None:
    _, claims = family
    assert "no prompt-pay discount" in one_line_error(cli(config, "assistance", "prompt-pay",
                                                          "C0"))
    ok(config, "assistance", "schedule", "--prompt-pay-percent", "10", "--prompt-pay-days",
       "30")
    offer = json.loads(ok(config, "assistance", "prompt-pay", "C0", "--json").stdout)
    assert (offer["balance"], offer["discount"], offer["pay_now"]) == (
        "100.00", "10.00", "90.00")
    assert offer["pay_by"] == (TODAY + timedelta(days=30)).isoformat()
    paid = ok(config, "assistance", "prompt-pay", "C0", "--pay", "--method", "cash")
    assert "90.00 paid claim C0 in full (10.00 prompt-pay discount)" in paid.stdout
    assert _balances(config, claims) == [D("0.00"), D("60.00")]
    again = one_line_error(cli(config, "assistance", "prompt-pay", "C0", "--pay",
                               "--method", "cash"))
    assert "already given" in again


def test_an_uninsured_patients_estimate_is_kept_and_compared_with_the_bill(
        config: Path, family: tuple[int, list[int]]) -> None:
    from medbill_core.storage.schema import GoodFaithEstimateRow

    # the family's claim of five days ago bills 100.00: 40.00 above this estimate
    ok(config, "estimate", "--patient", "A00001", "--service", "99213=60.00", "--date",
       (TODAY - timedelta(days=5)).isoformat(), "--confirm-date")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            kept = work.session.scalars(select(GoodFaithEstimateRow)).all()
            assert [(row.total, row.procedure_codes) for row in kept] == [
                (D("60.00"), ["99213"])]
    finally:
        app.close()
    assert json.loads(ok(config, "assistance", "estimate-overruns", "--json").stdout) == []

"""``claims list``'s totals count each visit once: a secondary claim or a replacement does not
add the visit's charge again, replaced / voided / deleted claims are counted apart; each row's
"payer owes" is what that claim's payer owes on the visit (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import update

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState, CoverageOrder
from medbill_core.domain.base import saved_id
from medbill_core.services.remittance import post_remittance
from medbill_core.storage.schema import ClaimRow
from medbill_core.testing import factories
from tests.cli_support import cli, config_text, ok
from tests.test_remit_balance import CO, PR, cas, payment, remittance

S = ClaimState
D = Decimal


def _visits(app: Medbill, second: str = "bluecross") -> dict[str, int]:
    """A visit billed to acme then to bluecross as secondary (charge 125.00), and one billed to
    acme and corrected by a replacement of 250.00 (its original 125.00 replaced)."""
    with app.unit_of_work() as work:
        patient = saved_id(work.patients.register(factories.make_patient(1)))
        acme = saved_id(work.patients.add_coverage(patient, factories.make_coverage()))
        blue = saved_id(work.patients.add_coverage(patient, factories.make_coverage(
            payer_key=second, order=CoverageOrder.SECONDARY, member_id="BC1234")))
        primary = saved_id(work.claims.create(factories.make_claim(
            patient, coverage_id=acme, payer_key="acme", number="TV00001")))
        secondary = saved_id(work.claims.create(factories.make_claim(
            patient, coverage_id=blue, payer_key=second, number="TV00001-S2",
            account_claim_id=primary)))
        original = saved_id(work.claims.create(factories.make_claim(
            patient, coverage_id=acme, payer_key="acme", number="TV00002")))
        for claim_id in (primary, original):
            for state in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(claim_id, state)
        work.session.execute(update(ClaimRow).where(ClaimRow.id == original)
                             .values(payer_claim_number="PCN2"))
        claim = work.claims.get(original)
        corrected = claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=claim.service_date_from, charge=D("250.00"))]})
        replacement = saved_id(work.claims.correct(original, corrected, reason="units"))
    return {"primary": primary, "secondary": secondary, "original": original,
            "replacement": replacement}


def test_the_totals_count_each_visit_once(medbill_app: Medbill) -> None:
    ids = _visits(medbill_app)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.claims.get(ids["original"]).state is S.REPLACED
        every = work.claims.summary()
        assert (every.count, every.visits, every.charges) == (4, 2, D("375.00"))
        assert (every.set_apart, every.set_apart_charges) == (1, D("125.00"))
        assert every.insurance_balance + every.patient_balance == D("375.00")
        # the secondary's payer alone: its visit, once, with its share of the visit (the
        # primary owes the 125.00 still: not the secondary's, as its row shows)
        blue = work.claims.summary(payer_key="bluecross")
        assert (blue.count, blue.visits, blue.charges, blue.insurance_balance,
                blue.payer_key) == (1, 1, D("125.00"), D("0.00"), "bluecross")
        assert every.payer_key is None
        replaced = work.claims.summary(state=S.REPLACED)
        assert (replaced.count, replaced.visits, replaced.charges, replaced.set_apart) == (
            1, 0, D("0.00"), 1)
        rows = {name: work.claims.row_balances(work.claims.get(claim_id))
                for name, claim_id in ids.items()}
    # what each row's payer owes on the visit; the patient's share on the visit's first claim
    assert rows == {"primary": (D("125.00"), D("0.00")), "secondary": (D("0.00"), D("0.00")),
                    "original": (D("0.00"), D("0.00")),
                    "replacement": (D("250.00"), D("0.00"))}


def test_the_command_says_what_its_totals_count(cli_isolation: None, tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        _visits(app, second="medicare")
    finally:
        app.close()
    total = json.loads(ok(config, "claims", "list", "--json").stdout)["total"]
    assert total == {"claims": 4, "visits": 2, "charge": "375.00",
                     "insurance_balance": "375.00", "patient_balance": "0.00",
                     "set_apart": {"claims": 1, "charge": "125.00"}}
    table = cli(config, "claims", "list").stdout
    assert "payer owes" in table and "patient owes" in table
    [visits] = [line for line in table.splitlines() if "total: 2 visits" in line]
    assert "375.00" in visits
    [apart] = [line for line in table.splitlines() if "not counted: 1 replaced" in line]
    assert "125.00" in apart
    helped = " ".join(cli(config, "claims", "list", "--help").stdout.split())
    assert "count each visit once" in helped


def _listed(config: Path, payer: str) -> tuple[dict[str, object], D]:
    """``claims list --payer`` as JSON: its totals, and its rows' "payer owes" added up."""
    data = json.loads(ok(config, "claims", "list", "--payer", payer, "--json").stdout)
    return data["total"], sum((D(row["insurance_balance"]) for row in data["claims"]), D(0))


def test_one_payers_totals_add_what_its_rows_show(cli_isolation: None, tmp_path: Path) -> None:
    """``--payer`` of a visit with a primary (acme) and a secondary (medicare) claim totalled
    the visits' whole insurance balance, the other payer's share included, while each row
    shows what the listed payer owes: the total now adds the rows, and says whose it is."""
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        _visits(app, second="medicare")
    finally:
        app.close()
    # nothing answered yet: acme owes both visits (125.00 + 250.00), medicare nothing
    total, rows = _listed(config, "medicare")
    assert (total["payer"], total["payer_balance"], rows) == ("medicare", "0.00", D("0.00"))
    assert "insurance_balance" not in total
    # acme answers the first visit: 80.00 paid, CO-45 20.00, PR-2 25.00 now medicare's
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            post_remittance(work, remittance("TRN-TV", payment(
                "TV00001", charge="125.00", paid="80.00",
                adjustments=(cas(CO, "45", "20.00"), cas(PR, "2", "25.00")))))
    finally:
        app.close()
    total, rows = _listed(config, "acme")
    assert total == {"claims": 3, "visits": 2, "charge": "375.00", "payer": "acme",
                     "payer_balance": "250.00", "patient_balance": "0.00",
                     "set_apart": {"claims": 1, "charge": "125.00"}}
    assert rows == D("250.00")  # the visits' whole balance was 275.00: medicare's 25.00 too
    total, rows = _listed(config, "medicare")
    assert (total["payer_balance"], rows, total["visits"]) == ("25.00", D("25.00"), 1)
    # every payer's listing is unchanged: what every payer of the visits owes
    every = json.loads(ok(config, "claims", "list", "--json").stdout)["total"]
    assert (every["insurance_balance"], "payer" in every) == ("275.00", False)
    table = cli(config, "claims", "list", "--payer", "acme").stdout
    [line] = [line for line in table.splitlines() if "total: 2 visits" in line]
    assert "(acme's share)" in line and "250.00" in line and "275.00" not in line

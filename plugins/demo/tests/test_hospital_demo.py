"""The demo's hospital case (medbill_demo.hospital): an outpatient visit (0131) and an
inpatient stay (0111) go out on one 837I, are acknowledged, paid on the 835 with MOA / MIA
and DRG, and posted line by line by revenue code."""

from __future__ import annotations

import io
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_demo.hospital import INPATIENT_CLAIM, OUTPATIENT_CLAIM
from medbill_demo.runner import run_demo
from medbill_payer_generic_x12.api import decode_835, decode_837i, pyx12_verdict
from rich.console import Console

D = Decimal


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hospital-demo")
    run_demo(out, 16, console=Console(file=io.StringIO(), width=120))
    return out


def test_both_claims_go_out_on_one_pyx12_clean_837i(demo_out: Path) -> None:
    (path,) = (demo_out / "837").glob("837I-*.x12")
    text = path.read_text()
    assert pyx12_verdict(text) == (True, [])
    claims = {bill.claim.claim_number: bill for bill in decode_837i(text)}
    assert set(claims) == {OUTPATIENT_CLAIM, INPATIENT_CLAIM}
    assert claims[OUTPATIENT_CLAIM].claim.type_of_bill == "0131"
    assert claims[INPATIENT_CLAIM].claim.type_of_bill == "0111"
    assert not any("X223" in p.read_text() for p in (demo_out / "837").glob("837P-*.x12"))


def test_the_835_pays_them_with_institutional_details(demo_out: Path) -> None:
    payments = {claim.claim_number: claim
                for path in (demo_out / "835").iterdir()
                for remittance in decode_835(path.read_text()) for claim in remittance.claims}
    outpatient, inpatient = payments[OUTPATIENT_CLAIM], payments[INPATIENT_CLAIM]
    # the simulator's Acme: MS-DRG 343 at 9,500.00, deductible 500.00 then 20 %
    assert (inpatient.facility_type, inpatient.drg_code) == ("11", "343")
    assert inpatient.inpatient is not None
    assert (inpatient.inpatient.covered_days, inpatient.inpatient.drg_amount) == (
        D("3"), D("9500.00"))
    assert (inpatient.paid, inpatient.patient_responsibility) == (D("7200.00"), D("2300.00"))
    assert [s.procedure_qualifier + ":" + s.procedure_code for s in inpatient.services] == [
        "NU:0120", "NU:0250", "NU:0360"]
    assert outpatient.facility_type == "13" and outpatient.outpatient is not None
    assert (outpatient.paid, outpatient.patient_responsibility) == (D("230.40"), D("557.60"))
    assert [s.revenue_code for s in outpatient.services] == ["0450", "0300", "0320"]


def test_the_payments_are_posted_to_the_hospital_claims(demo_out: Path) -> None:
    with sqlite3.connect(demo_out / "medbill-demo.db") as db:
        rows = db.execute(
            "select c.claim_number, e.kind, sum(e.amount) from claims c join ledger_entries e "
            "on e.claim_id = c.id where c.claim_number in (?, ?) group by 1, 2",
            (OUTPATIENT_CLAIM, INPATIENT_CLAIM)).fetchall()
        states = dict(db.execute("select claim_number, state from claims where claim_number "
                                 "in (?, ?)", (OUTPATIENT_CLAIM, INPATIENT_CLAIM)).fetchall())
    cents = {(number, kind): amount for number, kind, amount in rows}
    assert cents[(INPATIENT_CLAIM, "payer_payment")] == 720000
    assert cents[(INPATIENT_CLAIM, "transfer_to_patient")] == 230000
    assert cents[(INPATIENT_CLAIM, "contractual_adjustment")] == 278000
    assert cents[(OUTPATIENT_CLAIM, "payer_payment")] == 23040
    assert cents[(OUTPATIENT_CLAIM, "transfer_to_patient")] == 55760
    assert states == {OUTPATIENT_CLAIM: "patient_balance", INPATIENT_CLAIM: "patient_balance"}

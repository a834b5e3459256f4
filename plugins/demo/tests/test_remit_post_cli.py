"""`medbill remit post` of files the X12 engine wrote: a 999 is applied as an acknowledgment
(saying it is no 835), and an 835 with an amount nobody can believe posts the rest and
keeps that claim payment as an exception. (Moved from the core's test_denials.py and
test_remit_balance.py: they need the X12 plugin to
read the files.)"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from medbill_payer_generic_x12.transactions.acknowledgments import encode_999
from remit_support import (
    BILLED,
    claim_number,
    open_app,
    paid,
    remittance,
    seed_claims,
    write_config,
    x12_835,
)

from medbill_core.domain import (
    AckStatus,
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    FunctionalAcknowledgment,
)
from medbill_core.testing.cli import config_text, ok

TWELVE_TRILLION = Decimal("12345678901234.56")


def test_cli_remit_post_of_a_999_applies_it_as_an_acknowledgment_saying_so(
        cli_isolation: None, tmp_path: Path) -> None:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                plugins=["payer_generic_x12"]).replace(
        'adapter = "generic_x12"\n',
        'adapter = "generic_x12"\n[payers.acme.options]\nsubmitter_id = "SUB1"\n'
        'receiver_id = "RCV1"\n', 1), encoding="utf-8")
    ok(path, "db", "upgrade")
    ack = tmp_path / "ack.999"
    ack.write_text(encode_999([FunctionalAcknowledgment(
        group_control_number="4711", functional_id="HC", status=AckStatus.ACCEPTED)]),
        encoding="utf-8")
    data = json.loads(ok(path, "remit", "post", str(ack), "--json").stdout)
    assert (data["kind"], data["status"], data["note"]) == (
        "999", "applied", "a 999 acknowledgment, not an 835: applied as such")
    assert data["detail"] == "999 for unknown group 4711"


def test_remit_post_of_the_twelve_trillion_835(cli_isolation: None, tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "medbill.db")
    ok(config, "db", "upgrade")
    app = open_app(config)
    try:
        seed_claims(app, 2)
    finally:
        app.close()
    big, fine = claim_number(0), claim_number(1)
    bad = ClaimPayment(claim_number=big, status=ClaimStatusCode.PRIMARY, charge=BILLED,
                       paid=Decimal("100.00"), adjustments=[
                           Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                                      amount=Decimal("23.50")),
                           Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                      reason_code="1", amount=TWELVE_TRILLION)])
    (tmp_path / "era.835").write_text(x12_835(remittance("EFT-TRILLION", [bad, paid(fine)])),
                                      encoding="utf-8")
    posted = ok(config, "remit", "post", "era.835").stdout
    assert posted.strip() == (
        "era.835: applied — 835 EFT-TRILLION: 1 posted, 0 already posted, 0 unmatched, "
        "1 not balanced or not believable (exceptions, not posted)")
    [listed] = json.loads(ok(config, "remit", "list", "--json").stdout)
    assert listed["status"] == "exceptions"
    shown = json.loads(ok(config, "remit", "show", "EFT-TRILLION", "--json").stdout)
    assert [(e["claim_number"], e["reason"]) for e in shown["exceptions"]] == [
        (big, "an amount of 10,000,000.00 or more: not believable, not posted")]
    claims = {c["claim_number"]: c for c in json.loads(
        ok(config, "claims", "list", "--json").stdout)["claims"]}
    assert (claims[big]["state"], claims[big]["patient_balance"],
            claims[big]["insurance_balance"]) == ("accepted", "0.00", "143.50")
    assert claims[fine]["patient_balance"] == "20.00"


def _era(trace: str, number: str, clp: str, *loop: str) -> str:
    """An 835 from acme answering claim ``number`` (143.50: 99213 125.00, 36415 18.50) as
    ``clp`` (CLP03 onwards) then ``loop``, written as a payer writes one."""
    body = ["ST*835*0001", f"BPR*I*{clp.split('*')[2]}*C*ACH*CCP*01*999999999*DA*123456*"
            "1512345678**01*888888888*DA*654321*20260302", f"TRN*1*{trace}*1512345678",
            "DTM*405*20260302",
            "N1*PR*Acme Health Plan", "REF*2U*ACME1", "N1*PE*Lakeside Family Practice*XX*"
            "1234567893", "LX*1", f"CLP*{number}*{clp}", "NM1*QC*1*Doe*Jane****MI*M1", *loop]
    body.append(f"SE*{len(body) + 1}*0001")
    return "~".join(["ISA*00*          *00*          *ZZ*ACME1          *ZZ*SUB1           "
                     "*260302*1200*^*00501*000000001*0*P*:", "GS*HP*ACME1*SUB1*20260302*1200*1*X*"
                     "005010X221A1", *body, "GE*1*1", "IEA*1*000000001"]) + "~"


def test_an_answer_sent_again_with_its_cas_laid_out_otherwise_is_not_posted_twice(
        cli_isolation: None, tmp_path: Path, medbill_db_url: str) -> None:
    """Exploratory testing posted a payer's answer again under a new trace with its CAS at
    claim level (CO-45 47.00, PR-3 30.00 and PR-1 37.20 in one segment) instead of split over
    the service lines: the repeat was compared CAS row by CAS row, so it posted, the claim
    was paid twice and the patient billed twice. The same status, paid amount and amounts per
    group and CARC are the same answer, an exception for a person; an answer with other
    figures still posts."""
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(medbill_db_url, plugins=["payer_generic_x12"], extra=(
        '\n[payers.acme.options]\nsubmitter_id = "SUB1"\nreceiver_id = "RCV1"\n')),
        encoding="utf-8")
    ok(config, "db", "upgrade")
    app = open_app(config)
    try:
        seed_claims(app, 2)
    finally:
        app.close()
    number, other = claim_number(0), claim_number(1)
    clp = "1*143.5*90*35*12*PCN1*11*1"
    by_line = ("SVC*HC:99213*125*90**1", "DTM*472*20260215", "CAS*CO*45*10", "CAS*PR*3*25",
               "SVC*HC:36415*18.5*0**1", "DTM*472*20260215", "CAS*CO*45*8.5", "CAS*PR*1*10")
    at_claim_level = ("CAS*CO*45*18.5", "CAS*PR*3*25**1*10")

    def post(name: str, text: str) -> str:
        (tmp_path / name).write_text(text, encoding="utf-8")
        return str(ok(config, "remit", "post", name).stdout).strip()

    def balances(claim: str) -> tuple[str, str]:
        shown = json.loads(ok(config, "claims", "show", claim, "--json").stdout)
        return shown["balance"]["insurance"], shown["balance"]["patient"]

    assert post("first.835", _era("EFT-FIRST", number, clp, *by_line)) == (
        "first.835: applied — 835 EFT-FIRST: 1 posted, 0 already posted, 0 unmatched")
    assert balances(number) == ("0.00", "35.00")
    for trace, loop in (("EFT-AGAIN", at_claim_level),
                        ("EFT-SPLIT", (*at_claim_level[:1], "CAS*PR*1*4**3*25",
                                       "CAS*PR*1*6"))):
        assert post(f"{trace}.835", _era(trace, number, clp, *loop)) == (
            f"{trace}.835: applied — 835 {trace}: 0 posted, 0 already posted, 0 unmatched, "
            "1 not balanced or not believable (exceptions, not posted)"), trace
        shown = json.loads(ok(config, "remit", "show", trace, "--json").stdout)
        assert [(e["claim_number"], e["paid"], e["reason"]) for e in shown["exceptions"]] == [
            (number, "90.00", "repeats the answer posted on 2026-03-02 (paid 90.00, the same "
             "adjustments) with no reversal since: a duplicate, not posted twice")]
        shown = json.loads(ok(config, "claims", "show", number, "--json").stdout)
        assert (shown["ledger"]["payer_payment"], shown["ledger"]["transfer_to_patient"],
                shown["ledger"]["contractual_adjustment"]) == ("90.00", "35.00", "18.50")
        assert balances(number) == ("0.00", "35.00")  # paid once, the patient billed once
    # other figures are another answer: the other claim's first answer, then a second one
    # paying 5.00 more (5.00 less to the patient, more written off) posts as the payer said
    assert post("other.835", _era("EFT-OTHER", other, clp, *at_claim_level)).endswith(
        "1 posted, 0 already posted, 0 unmatched")
    assert post("more.835", _era("EFT-MORE", other, "1*143.5*5*30*12*PCN2*11*1",
                                 "CAS*CO*45*108.5", "CAS*PR*3*25**1*5")).endswith(
        "1 posted, 0 already posted, 0 unmatched")
    assert balances(other) == ("-143.50", "65.00")

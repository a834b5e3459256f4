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

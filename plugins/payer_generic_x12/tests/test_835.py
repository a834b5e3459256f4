"""835: every sample parses with its totals checked; decode -> encode -> decode is identity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.remittance_835 import (
    PayerContact,
    decode_835,
    encode_835,
    stream_835,
)
from medbill_payer_generic_x12.x12 import X12Error
from x12_factories import FIXTURES

from medbill_core.domain import Address, AdjustmentGroup, ClaimStatusCode, PaymentMethod, Remittance

SAMPLES = sorted((FIXTURES / "835").iterdir())
#: Sample files with real defects (see fixtures/SOURCES.md): read leniently, refused strictly.
DEFECTIVE = {
    "edi835__blue_cross_nc_sample.txt": "segment 28 (SVC), element SVC02",
    "lfh__cob-contractural-adjustment.835": "segment 21 (SVC), element SVC01",
    "lfh__managed-care.835": "segment 4 (BPR), element BPR16",
    "lfh__secondary-payment.835": "segment 29 (SVC), element SVC01",
    "lfh__tertiary-payment.835": "segment 20 (SVC), element SVC01",
}
MULTI = FIXTURES / "835" / "medbill__two-payers-reversal-plb.835"


def _decode(path: Path) -> list[Remittance]:
    return decode_835(path.read_text(encoding="latin-1"), strict=path.name not in DEFECTIVE)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_parses_and_balances(path: Path) -> None:
    remittances = _decode(path)
    assert remittances
    for remittance in remittances:
        # Claim payments minus provider adjustments make the check (BPR02)...
        assert remittance.balance_difference() == 0
        for claim in remittance.claims:
            # ...and each claim's charge minus payment equals its adjustments.
            assert claim.is_balanced(), claim.claim_number
        # The fast construction holds exactly what pydantic validation would.
        assert Remittance.model_validate(remittance.model_dump()) == remittance


@pytest.mark.parametrize("name", DEFECTIVE)
def test_defective_samples_are_refused_strictly_with_a_position(name: str) -> None:
    with pytest.raises(X12Error) as caught:
        decode_835((FIXTURES / "835" / name).read_text(encoding="latin-1"))
    assert str(caught.value).startswith(DEFECTIVE[name])


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_decode_encode_decode_is_identity(path: Path) -> None:
    remittances = _decode(path)
    strict = path.name not in DEFECTIVE  # an empty procedure code read leniently stays empty
    assert decode_835(encode_835(remittances), strict=strict) == remittances


def test_several_transactions_payers_reversal_and_plb() -> None:
    first, second = decode_835(MULTI.read_text())
    assert (first.payer_name, first.payer_id, first.payment_method) == (
        "ACME HEALTH PLAN", "60054", PaymentMethod.CHECK)
    assert (second.payer_name, second.payer_id, second.payment_method) == (
        "MEDICARE PART B", "MCRB1", PaymentMethod.ACH)
    assert first.payee_npi == "1234567893" and first.payee_tax_id == "431234567"
    assert second.payee_npi is None and second.payee_tax_id == "431234567"
    claims = {claim.claim_number: claim for claim in first.claims}
    regular = claims["CLM1001"]
    assert regular.interest == Decimal("2.50")
    assert regular.remark_codes == ["MA01", "N130"]
    assert regular.patient_share() == Decimal("40.00")
    line_one, line_two = regular.services
    assert (line_one.modifiers, line_one.line_control_number, line_one.allowed_amount) == (
        ["25"], "LCN001", Decimal("160.00"))
    assert line_one.remark_codes == ["N130", "M15"]
    assert len(line_two.adjustments) == 6 and line_two.is_balanced()
    reversal = claims["CLM0999"]
    assert reversal.is_reversal and reversal.status is ClaimStatusCode.REVERSAL
    assert (reversal.charge, reversal.paid) == (Decimal("-150.00"), Decimal("-100.00"))
    assert reversal.adjustments[0].group is AdjustmentGroup.CONTRACTUAL
    denied = claims["CLM1002"]
    assert denied.services == [] and denied.status is ClaimStatusCode.DENIED
    assert claims["CLM1003"].remark_codes == ["MA04"]  # from MIA05
    assert [(p.reason_code, p.reference, p.amount) for p in first.provider_adjustments] == [
        ("L6", "CLM1001", Decimal("-2.50")), ("WO", "XYZ", Decimal("2.50"))]
    assert second.provider_adjustments[0].amount == Decimal("25.00")
    assert second.balance_difference() == 0


def test_encoded_835_is_clean_in_pyx12() -> None:
    remittances = decode_835(MULTI.read_text())
    contact = PayerContact(address=Address(line1="PO BOX 1000", city="KANSAS CITY", state="MO",
                                           postal_code="64101"),
                           technical_contact_phone="8005550100")
    valid, errors = pyx12_verdict(encode_835(remittances, payer_contact=contact))
    assert valid, errors


def test_streaming_hands_out_claims_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "multi.835"
    path.write_text(MULTI.read_text())
    seen = []
    for stream in stream_835(path, chunk_size=64):  # tiny chunks: segments span chunk borders
        numbers = [claim.claim_number for claim in stream.claims()]
        seen.append((stream.header.payer_name, numbers, len(stream.provider_adjustments)))
    assert seen == [("ACME HEALTH PLAN", ["CLM1001", "CLM0999", "CLM1002", "CLM1003"], 2),
                    ("MEDICARE PART B", ["CLM1004"], 1)]


def test_line_breaks_between_segments_are_tolerated() -> None:
    text = MULTI.read_text().replace("~\n", "~\r\n")
    assert decode_835(text) == decode_835(MULTI.read_text())

"""TA1, 999 and 277CA: samples decode; encode -> decode is identity; our output passes pyx12."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.acknowledgments import (
    decode_277ca,
    decode_999,
    decode_ta1,
    encode_277ca,
    encode_999,
    encode_ta1,
)
from medbill_payer_generic_x12.x12 import X12EncodeError, X12EnvelopeError
from pydantic import ValidationError
from x12_factories import FIXTURES, claim

from medbill_core.api import (
    AckStatus,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    FunctionalAcknowledgment,
    InterchangeAcknowledgment,
    SegmentError,
    StatusCode,
    TransactionSetAck,
)

SAMPLES_999 = sorted((FIXTURES / "999").iterdir())
SAMPLES_277CA = sorted((FIXTURES / "277CA").iterdir())
DEFECTIVE_999 = {"imsweb__x12_999_accepted.txt"}  # IEA02 != ISA13 in the original


@pytest.mark.parametrize("path", SAMPLES_999, ids=lambda p: p.name)
def test_999_samples_decode_and_round_trip(path: Path) -> None:
    acks = decode_999(path.read_text(), strict=path.name not in DEFECTIVE_999)
    assert acks
    for ack in acks:
        accepted = sum(t.status.accepted for t in ack.transactions)
        assert ack.accepted_count == accepted  # totals: AK904 = accepted sets
        assert FunctionalAcknowledgment.model_validate(ack.model_dump()) == ack
    assert decode_999(encode_999(acks)) == acks


def test_defective_999_is_refused_strictly() -> None:
    with pytest.raises(X12EnvelopeError, match="IEA02"):
        decode_999((FIXTURES / "999" / "imsweb__x12_999_accepted.txt").read_text())


def test_rejected_999_details() -> None:
    (ack,) = decode_999((FIXTURES / "999" / "imsweb__x12_999_rejected.txt").read_text())
    assert ack.status is AckStatus.REJECTED and ack.accepted_count == 0
    (transaction,) = ack.transactions
    assert transaction.error_codes == ["5"]
    assert transaction.segment_errors[0].segment_position == 17
    assert ack.error_codes == []


def test_999_group_and_transaction_set_error_codes_are_decoded_and_round_trip() -> None:
    text = (FIXTURES / "999" / "imsweb__x12_999_rejected.txt").read_text()
    text = text.replace("IK5*R*5~", "IK5*R*5*1*2*3*4~").replace("AK9*R*1*1*0~",
                                                                "AK9*R*1*1*0*5*4*2*1*3~")
    (ack,) = decode_999(text)
    assert ack.error_codes == ["5", "4", "2", "1", "3"]  # AK905-AK909
    assert ack.transactions[0].error_codes == ["5", "1", "2", "3", "4"]  # IK502-IK506
    assert FunctionalAcknowledgment.model_validate(ack.model_dump()) == ack
    encoded = encode_999([ack])
    assert "IK5*R*5*1*2*3*4~" in encoded and "AK9*R*1*1*0*5*4*2*1*3~" in encoded
    assert decode_999(encoded) == [ack]


def test_more_than_five_syntax_error_codes_are_refused() -> None:
    with pytest.raises(ValidationError):
        FunctionalAcknowledgment(group_control_number="1", functional_id="HC",
                                 status=AckStatus.REJECTED, error_codes=["1"] * 6)
    six = REJECTION.model_copy(update={"transactions": [TransactionSetAck(
        transaction_set_id="837", control_number="0001", status=AckStatus.REJECTED,
        error_codes=["1", "2", "3", "4", "5", "6"])]})
    with pytest.raises(X12EncodeError, match="IK5"):
        encode_999([six])


REJECTION = FunctionalAcknowledgment(
    group_control_number="42", functional_id="HC", status=AckStatus.PARTIALLY_ACCEPTED,
    included_count=2, received_count=2, accepted_count=1,
    transactions=[
        TransactionSetAck(transaction_set_id="837", control_number="0001",
                          status=AckStatus.ACCEPTED),
        TransactionSetAck(transaction_set_id="837", control_number="0002",
                          status=AckStatus.REJECTED, error_codes=["5"], segment_errors=[
                              SegmentError(segment_id="NM1", segment_position=17,
                                           loop_id="2010", segment_error_code="8",
                                           element_position=9, element_error_code="7"),
                              SegmentError(segment_id="NM1", segment_position=17,
                                           loop_id="2010", segment_error_code="8",
                                           element_position=3, element_error_code="1"),
                              SegmentError(segment_id="SV1", segment_position=30,
                                           segment_error_code="8", element_position=1,
                                           component_position=2, element_error_code="7"),
                              SegmentError(segment_id="ZZZ", segment_position=31,
                                           segment_error_code="1"),
                          ]),
    ])


#: A group refused as a whole: GE01 did not match the transaction sets found (AK905 5).
GROUP_REJECTION = FunctionalAcknowledgment(
    group_control_number="43", functional_id="HC", status=AckStatus.REJECTED,
    included_count=3, received_count=2, accepted_count=0, error_codes=["5", "4"],
    transactions=[TransactionSetAck(transaction_set_id="837", control_number="0001",
                                    status=AckStatus.REJECTED, error_codes=["5", "3"])])


def test_999_with_segment_errors_round_trips_and_is_clean_in_pyx12() -> None:
    text = encode_999([REJECTION, GROUP_REJECTION])
    assert "AK9*R*3*2*0*5*4~" in text
    assert decode_999(text) == [REJECTION, GROUP_REJECTION]
    valid, errors = pyx12_verdict(text)
    assert valid, errors


def test_ta1_round_trip() -> None:
    acks = [InterchangeAcknowledgment(interchange_control_number="000000905",
                                      interchange_date=date(2024, 1, 2), accepted=False,
                                      note_code="022"),
            InterchangeAcknowledgment(interchange_control_number="000000906",
                                      interchange_date=date(2024, 1, 3), accepted=True,
                                      note_code="000")]
    assert decode_ta1(encode_ta1(acks)) == acks


@pytest.mark.parametrize("path", SAMPLES_277CA, ids=lambda p: p.name)
def test_277ca_samples_decode(path: Path) -> None:
    (batch,) = decode_277ca(path.read_text())
    assert batch.claims and batch.sender_name
    for ack in batch.claims:
        assert ack.status_codes and ack.claim_number
    assert ClaimAcknowledgmentBatch.model_validate(batch.model_dump()) == batch


def test_277ca_sample_statuses() -> None:
    (batch,) = decode_277ca((FIXTURES / "277CA" / "x12tr3__X214-payer-response.edi").read_text())
    statuses = {ack.claim_number: ack.status for ack in batch.claims}
    assert statuses["PATIENT22222"] is ClaimAckStatus.ACCEPTED
    assert statuses["JONES44444"] is ClaimAckStatus.REJECTED
    rejected = next(a for a in batch.claims if a.claim_number == "PATIENT33333")
    assert [(c.category, c.code) for c in rejected.status_codes] == [("A3", "21"), ("A3", "187")]


def test_277ca_round_trip_and_pyx12() -> None:
    claims = {"CLM1001": claim("CLM1001"), "CLM1002": claim("CLM1002")}
    batch = ClaimAcknowledgmentBatch(control_number="BATCH77", sender_name="ACME HEALTH PLAN",
                                     claims=[
        ClaimAcknowledgment(claim_number="CLM1001", status=ClaimAckStatus.ACCEPTED,
                            payer_claim_number="PCN0001",
                            status_codes=[StatusCode(category="A2", code="20")],
                            effective_date=date(2024, 3, 6), total_charge=Decimal("125.00")),
        ClaimAcknowledgment(claim_number="CLM1002", status=ClaimAckStatus.REJECTED,
                            status_codes=[StatusCode(category="A7", code="562", entity="85"),
                                          StatusCode(category="A7", code="21"),
                                          StatusCode(category="A7", code="249"),
                                          StatusCode(category="A7", code="164")],
                            effective_date=date(2024, 3, 6), total_charge=Decimal("125.00"),
                            message="NPI NOT ON FILE"),
    ])
    text = encode_277ca([batch], claims, payer_id="60054")
    assert decode_277ca(text) == [batch]
    valid, errors = pyx12_verdict(text)
    assert valid, errors

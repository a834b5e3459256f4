"""The generic adapter with institutional claims: one 837I file beside the 837P, edits, CLI."""

from __future__ import annotations

import json
from datetime import datetime

from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.cli import app
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837i import decode_837i, encode_837i
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p
from medbill_payer_generic_x12.x12 import MemoryControlNumbers
from typer.testing import CliRunner
from x12_factories import claim, payer
from x12_institutional_factories import inpatient, outpatient

from medbill_core.api import DocumentKind, InboundDocument

OPTIONS = {"submitter_id": "SUB123", "submitter_name": "SUNRISE BILLING",
           "submitter_phone": "8165550100", "receiver_id": "CLEARHOUSE",
           "receiver_name": "CLEARING HOUSE INC"}


def _adapter() -> GenericX12Adapter:
    return GenericX12Adapter(MemoryControlNumbers(start=100), clock=lambda: datetime(2024, 3, 5))


def _payer(**options: object):
    return payer().model_copy(update={"options": {**OPTIONS, **options}})


def test_a_mixed_batch_becomes_one_837p_and_one_837i_file() -> None:
    the_payer = _payer()
    claims = [claim("P1", the_payer=the_payer), outpatient("I1", the_payer=the_payer),
              claim("P2", the_payer=the_payer), inpatient("I2", the_payer=the_payer)]
    professional, institutional = _adapter().encode_claims(the_payer, claims)
    assert professional.kind is DocumentKind.CLAIM_837P
    assert professional.claim_numbers == ["P1", "P2"]
    assert institutional.kind is DocumentKind.CLAIM_837I
    assert institutional.claim_numbers == ["I1", "I2"]
    assert (professional.control_number, institutional.control_number) == \
        ("000000100", "000000101")
    assert institutional.filename == f"837I-{the_payer.key}-000000101.x12"
    assert "*005010X223A2~" in institutional.content
    assert [c.claim.claim_number for c in decode_837i(institutional.content)] == ["I1", "I2"]
    assert [c.claim.claim_number for c in decode_837p(professional.content)] == ["P1", "P2"]
    assert pyx12_verdict(institutional.content)[0] and pyx12_verdict(professional.content)[0]


def test_only_institutional_claims_give_only_an_837i() -> None:
    the_payer = _payer()
    (file,) = _adapter().encode_claims(the_payer, [inpatient("I1", the_payer=the_payer)])
    assert file.kind is DocumentKind.CLAIM_837I


def test_the_payer_line_limit_holds_for_institutional_claims() -> None:
    bill = inpatient("I1", the_payer=_payer(max_lines_per_claim=2))
    findings = _adapter().claim_edits(bill)
    assert [f.code for f in findings] == ["x12.too_many_lines"]


def test_claim_edits_name_a_provider_the_837i_cannot_send() -> None:
    bill = inpatient("I1", the_payer=_payer()).model_copy(
        update={"operating_provider": None})
    findings = _adapter().claim_edits(bill)
    assert [(f.code, f.field) for f in findings] == [
        ("x12.operating_provider", "claim.institutional.operating_provider_npi")]
    assert "837I" in findings[0].message


def test_our_own_837i_is_not_taken_for_a_response() -> None:
    text = encode_837i([outpatient()]).text
    document = InboundDocument(channel="test", document_id="out.837", content=text)
    assert _adapter().decode(document) is None


def test_cli_parse_reads_an_837i(tmp_path) -> None:
    path = tmp_path / "claims.837"
    path.write_text(encode_837i([outpatient(), inpatient()]).text)
    result = CliRunner().invoke(app, ["parse", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["kind"] == "837I" and payload["count"] == 2
    assert payload["documents"][1]["claim"]["institutional"]["drg"] == "343"

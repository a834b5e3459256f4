"""The generic adapter, the plugin's hooks and the ``x12`` commands."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pluggy
import pytest
import typer
from medbill_payer_generic_x12 import plugin
from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p
from medbill_payer_generic_x12.transactions.eligibility import encode_271
from medbill_payer_generic_x12.x12 import MemoryControlNumbers
from typer.testing import CliRunner
from x12_factories import FIXTURES, claim, eligibility_request, payer

from medbill_core.api import (
    PROJECT_NAME,
    ClaimStatusRequest,
    CoverageStatus,
    DecodeError,
    DocumentKind,
    InboundDocument,
    Remittance,
    SubmissionChannel,
)

OPTIONS = {"submitter_id": "SUB123", "submitter_name": "SUNRISE BILLING",
           "submitter_phone": "8165550100", "receiver_id": "CLEARHOUSE",
           "receiver_name": "CLEARING HOUSE INC"}


def _adapter() -> GenericX12Adapter:
    return GenericX12Adapter(MemoryControlNumbers(start=100), clock=lambda: datetime(2024, 3, 5))


def _payer(**options: object):
    return payer().model_copy(update={"options": {**OPTIONS, **options}})


def test_encode_claims_returns_one_clean_file_listing_its_claims() -> None:
    the_payer = _payer()
    claims = [claim("C1", the_payer=the_payer), claim("C2", the_payer=the_payer)]
    (file,) = _adapter().encode_claims(the_payer, claims)
    assert file.kind is DocumentKind.CLAIM_837P and file.claim_numbers == ["C1", "C2"]
    assert file.control_number == "000000100" and file.payer_key == the_payer.key
    assert "*ZZ*SUB123         *ZZ*CLEARHOUSE     *" in file.content
    assert pyx12_verdict(file.content)[0]


def test_payer_id_override_goes_into_2010bb() -> None:
    the_payer = _payer(payer_id="ALT99", claim_filing_indicator="BL")
    (file,) = _adapter().encode_claims(the_payer, [claim("C1", the_payer=the_payer)])
    (decoded,) = decode_837p(file.content)
    assert decoded.payer.payer_id == "ALT99" and decoded.payer.claim_filing_indicator == "BL"


def test_claim_edits() -> None:
    the_payer = _payer(max_lines_per_claim=1)
    from x12_factories import line

    findings = _adapter().claim_edits(claim("C1", the_payer=the_payer,
                                            lines=[line(1), line(2, code="85025")]))
    assert [f.code for f in findings] == ["x12.too_many_lines"]


def test_options_are_validated() -> None:
    assert _adapter().validate_payer_options(_payer()).submitter_id == "SUB123"
    with pytest.raises(ValueError):
        _adapter().validate_payer_options(payer().model_copy(update={"options": {"x": 1}}))


class _Channel(SubmissionChannel):
    identifier = "fake"

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.sent: list[tuple[str, str]] = []

    def exchange(self, kind: str, content: str) -> InboundDocument:
        self.sent.append((kind, content))
        return InboundDocument(channel="fake", document_id="1", content=self.answer)


def test_check_eligibility_sends_270_and_reads_271() -> None:
    from test_eligibility_status import RESPONSE

    request = eligibility_request()
    request = request.model_copy(update={"payer": _payer()})
    channel = _Channel(encode_271([(RESPONSE, request)]))
    response = _adapter().check_eligibility(request, channel)
    assert channel.sent[0][0] == "270" and "ST*270*" in channel.sent[0][1]
    assert response.status is CoverageStatus.ACTIVE
    assert response.summary("98").copay == Decimal("25.00")


def test_check_eligibility_refuses_a_non_271_answer() -> None:
    request = eligibility_request().model_copy(update={"payer": _payer()})
    channel = _Channel((FIXTURES / "999" / "imsweb__x12_999_rejected.txt").read_text())
    with pytest.raises(DecodeError, match="not a 271"):
        _adapter().check_eligibility(request, channel)


def test_check_claim_status_round_trip() -> None:
    from medbill_payer_generic_x12.transactions.claim_status import encode_277

    from medbill_core.api import ClaimStatus, ClaimStatusResponse, StatusCode

    the_payer = _payer()
    request = ClaimStatusRequest(trace_number="T1", claim=claim("C1", the_payer=the_payer))
    answer = ClaimStatusResponse(trace_number="T1", payer_name="ACME HEALTH PLAN", claims=[
        ClaimStatus(claim_number="C1", status_codes=[StatusCode(category="F1", code="65")])])
    channel = _Channel(encode_277([(answer, request)]))
    assert _adapter().check_claim_status(request, channel) == answer


def test_decode_inbound_documents() -> None:
    adapter = _adapter()
    text = (FIXTURES / "835" / "x12tr3__X221-multiple-claims-single-check.edi").read_text()
    decoded = adapter.decode(InboundDocument(channel="c", document_id="d", content=text))
    assert isinstance(decoded, Remittance) and len(decoded.claims) == 9
    assert adapter.decode(InboundDocument(channel="c", document_id="d", content="%PDF-1.4")) \
        is None
    multi = (FIXTURES / "835" / "medbill__two-payers-reversal-plb.835").read_text()
    both = adapter.decode(InboundDocument(channel="c", document_id="d", content=multi))
    assert isinstance(both, list) and [type(r) for r in both] == [Remittance, Remittance]
    assert len(adapter.decode_all(InboundDocument(channel="c", document_id="d",
                                                  content=multi))) == 2


def test_plugin_registers_adapter_settings_and_commands() -> None:
    from medbill_core.api.testing import hookspecs

    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name="payer_generic_x12")

    class _Context:
        def settings_for(self, name: str) -> object:
            return plugin.GenericX12Settings()

    (adapters,) = manager.hook.medbill_register_payer_adapters(context=_Context())
    assert [a.identifier for a in adapters] == ["generic_x12"]
    assert manager.hook.medbill_plugin_settings_model() == [plugin.GenericX12Settings]
    app = typer.Typer()
    manager.hook.medbill_register_commands(app=app)
    assert [group.name for group in app.registered_groups] == ["x12"]


runner = CliRunner()


def test_cli_parse_json() -> None:
    from medbill_payer_generic_x12.cli import app

    path = FIXTURES / "835" / "medbill__two-payers-reversal-plb.835"
    result = runner.invoke(app, ["parse", str(path), "--json"])
    assert result.exit_code == 0
    import json

    payload = json.loads(result.output)
    assert payload["kind"] == "835" and payload["count"] == 2
    assert payload["documents"][0]["payment_amount"] == "420.50"


def test_cli_parse_malformed_exits_non_zero_with_a_position(tmp_path) -> None:
    from medbill_payer_generic_x12.cli import app

    text = (FIXTURES / "835" / "medbill__two-payers-reversal-plb.835").read_text()
    bad = tmp_path / "bad.835"
    bad.write_text(text.replace("CLP*CLM1001*1*300", "CLP*CLM1001*1*3X0"))
    result = runner.invoke(app, ["parse", str(bad), "--json"])
    assert result.exit_code == 1
    assert "segment 15 (CLP), element CLP03" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_validate_reports_balancing(tmp_path) -> None:
    from medbill_payer_generic_x12.cli import app

    text = (FIXTURES / "835" / "medbill__two-payers-reversal-plb.835").read_text()
    good = runner.invoke(app, ["validate", str(FIXTURES / "835" /
                                               "medbill__two-payers-reversal-plb.835")])
    assert good.exit_code == 0 and "0 error(s)" in good.output
    unbalanced = tmp_path / "unbalanced.835"
    unbalanced.write_text(text.replace("BPR*I*420.5*", "BPR*I*421.5*")
                          .replace("CAS*CO*45*159.5", "CAS*CO*45*150.5"))
    result = runner.invoke(app, ["validate", str(unbalanced)])
    assert result.exit_code == 1
    assert "BPR02 421.50 is not claim payments 420.50" in result.output
    assert "claim CLM1003: charge 500.00 - paid 340.50 = 159.50" in result.output


def test_cli_validate_refuses_an_amount_with_fractions_of_a_cent(tmp_path) -> None:
    """CLP04 340.504 was read as 340.50, so the file balanced and validate said 0 errors."""
    from medbill_payer_generic_x12.cli import app

    text = (FIXTURES / "835" / "medbill__two-payers-reversal-plb.835").read_text()
    path = tmp_path / "subcent.835"
    path.write_text(text.replace("CLP*CLM1003*1*500*340.5*", "CLP*CLM1003*1*500*340.504*"))
    refused = ("segment 41 (CLP), element CLP04: CLP04 claim payment amount: more than two "
               "decimal places (amounts are in cents; never rounded)")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    # the positioned line, then what the lenient read without that claim finds (as for any
    # amount that cannot be read): the payment no longer balances
    assert result.output.splitlines() == [
        f"subcent.835: error: {refused}",
        "subcent.835: error: 835 transaction 1 (trace CHK1001): BPR02 420.50 is not claim "
        "payments 80.00 minus provider adjustments 0.00 (off by 340.50)",
        "subcent.835: 835: 2 error(s), 0 warning(s)"]
    parsed = runner.invoke(app, ["parse", str(path)])
    assert parsed.exit_code == 1 and parsed.output == f"error: subcent.835: {refused}\n"
    trailing = tmp_path / "trailing.835"  # 340.500 is 340.50: nothing to refuse
    trailing.write_text(text.replace("CLP*CLM1003*1*500*340.5*", "CLP*CLM1003*1*500*340.500*"))
    good = runner.invoke(app, ["validate", str(trailing)])
    assert good.exit_code == 0 and "0 error(s)" in good.output


def test_cli_validate_shows_a_stray_byte_in_a_quoted_value_as_its_escape(tmp_path) -> None:
    """The balancing findings quote the TRN02 and CLP01 read from the file: a C1 control
    byte there (found by the demo's 835 fuzz test) is printed as ``\\x80``, never as itself."""
    from medbill_payer_generic_x12.cli import app

    text = (FIXTURES / "835" / "medbill__two-payers-reversal-plb.835").read_text()
    unbalanced = tmp_path / "stray.835"
    unbalanced.write_bytes(text.replace("BPR*I*420.5*", "BPR*I*421.5*")
                           .replace("CAS*CO*45*159.5", "CAS*CO*45*150.5")
                           .replace("TRN*1*CHK1001*", "TRN*1*CHK\x80\x80*")
                           .replace("CLP*CLM1003*", "CLP*CLM\x9b1003*").encode("latin-1"))
    for command in (["validate"], ["parse"], ["parse", "--strict"]):
        result = runner.invoke(app, [*command, str(unbalanced)])
        assert result.exit_code == (0 if command == ["parse"] else 1), result.output
        assert "4 finding(s)" in result.output if command == ["parse"] else True
        assert not [char for char in result.output if not char.isprintable() and char != "\n"]
    result = runner.invoke(app, ["validate", str(unbalanced)])
    assert "(trace CHK\\x80\\x80): BPR02 421.50 is not claim payments 420.50" in result.output
    assert "claim CLM\\x9b1003: charge 500.00 - paid 340.50 = 159.50" in result.output

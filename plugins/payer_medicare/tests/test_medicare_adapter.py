"""The Medicare adapter: the contract suite, delegation to the X12 engine, pyx12-clean 837Ps."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import medbill_payer_medicare.plugin as medicare_plugin
import pytest
from medbill_payer_medicare.adapter import MedicareAdapter, find_generic_x12_adapter
from medbill_payer_medicare.split import Encounter, EncounterLine, split_encounter
from medbill_payer_medicare.testing import (
    EXAMPLE_MBI,
    EXAMPLE_MBI_PRINTED,
    make_medicare_billable_claim,
    make_medicare_payer,
    make_referring_provider,
)
from pydantic import BaseModel, ConfigDict

from medbill_core.api import (
    AdapterNotAvailable,
    BillableClaim,
    ClaimFinding,
    ClaimStatusRequest,
    ClaimStatusResponse,
    ConfigurationError,
    CoverageStatus,
    DecodedResponse,
    DocumentKind,
    EligibilityRequest,
    EligibilityResponse,
    InboundDocument,
    MedbillConfig,
    Payer,
    PayerAdapter,
    Severity,
    SubmissionChannel,
    SubmissionError,
    SubmissionFile,
)
from medbill_core.api.testing import PayerAdapterContract, PluginHooks, factories, phi_values

GENERIC = find_generic_x12_adapter()
needs_x12 = pytest.mark.skipif(GENERIC is None, reason="the generic X12 adapter is not installed")


def medicare_claims(payer: Payer) -> list[BillableClaim]:
    return [make_medicare_billable_claim(payer=payer),
            make_medicare_billable_claim(payer=payer, number="CLM0002", lines=2,
                                         member_id=EXAMPLE_MBI_PRINTED)]


# -- the contract suite --------------------------------------------------------------------------

class TestContractWithoutX12(PayerAdapterContract):
    """No X12 engine: claims/eligibility are unsupported and documents are declined."""

    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return MedicareAdapter(delegate=None)

    def test_capabilities_are_honest(self, adapter: MedicareAdapter) -> None:
        assert not adapter.supports_claims()
        assert not adapter.supports_eligibility()
        assert not adapter.supports_claim_status()
        with pytest.raises(AdapterNotAvailable, match="generic X12 adapter"):
            adapter.encode_claims(make_medicare_payer(), [])


class TestContractMedicareData(PayerAdapterContract):
    """The installed configuration (generic X12 when present) with Medicare payers and claims."""

    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return MedicareAdapter()

    @pytest.fixture
    def payer(self, adapter: PayerAdapter) -> Payer:
        return make_medicare_payer(claim_filing_indicator="CI")

    @pytest.fixture
    def claims(self, payer: Payer) -> list[BillableClaim]:
        return medicare_claims(payer)


class TestContractFactoryData(PayerAdapterContract):
    """The contract's own (commercial-looking) claims: findings, no crash, no PHI."""

    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return MedicareAdapter(delegate=None)


# -- delegation, with a recording stand-in for the X12 adapter ------------------------------------

class FakeX12Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    submitter_id: str
    receiver_id: str = "R"
    claim_filing_indicator: str | None = None


class RecordingX12(PayerAdapter):
    identifier = "generic_x12"
    payer_options_model = FakeX12Options

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def claim_edits(self, claim: BillableClaim) -> list[ClaimFinding]:
        self.calls.append(("edits", claim))
        return [ClaimFinding(severity=Severity.WARNING, code="x12.fake", message="fake edit",
                             claim_number=claim.claim.claim_number, source="generic_x12")]

    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        self.calls.append(("encode", (payer, list(claims))))
        return [SubmissionFile(payer_key=payer.key, kind=DocumentKind.CLAIM_837P, content="ISA*",
                               claim_numbers=[c.claim.claim_number for c in claims],
                               control_number="1", filename="837P-1.x12")]

    def check_eligibility(self, request: EligibilityRequest,
                          channel: SubmissionChannel) -> EligibilityResponse:
        self.calls.append(("270", request))
        return EligibilityResponse(status=CoverageStatus.ACTIVE,
                                   trace_number=request.trace_number)

    def check_claim_status(self, request: ClaimStatusRequest,
                           channel: SubmissionChannel) -> ClaimStatusResponse:
        self.calls.append(("276", request))
        return ClaimStatusResponse(trace_number=request.trace_number)

    def decode(self, document: InboundDocument) -> DecodedResponse | None:
        self.calls.append(("decode", document))
        return EligibilityResponse(status=CoverageStatus.ACTIVE) if document.content == "271" \
            else None


class TestContractWithRecordingX12(PayerAdapterContract):
    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return MedicareAdapter(delegate=RecordingX12())

    @pytest.fixture
    def payer(self, adapter: PayerAdapter) -> Payer:
        return make_medicare_payer(options={"locality": "18", "mac": "01182",
                                            "x12": {"submitter_id": "S"}})

    @pytest.fixture
    def claims(self, payer: Payer) -> list[BillableClaim]:
        return medicare_claims(payer)


@pytest.fixture
def fake() -> RecordingX12:
    return RecordingX12()


@pytest.fixture
def ci_payer() -> Payer:
    """A Medicare payer misconfigured with SBR09 CI, also in its X12 options."""
    return make_medicare_payer(claim_filing_indicator="CI", options={
        "locality": "18", "mac": "01182",
        "x12": {"submitter_id": "S", "claim_filing_indicator": "CI"}})


def test_encoding_forces_mb_and_the_mbi(fake: RecordingX12, ci_payer: Payer) -> None:
    adapter = MedicareAdapter(delegate=fake)
    claims = medicare_claims(ci_payer)
    before = copy.deepcopy(claims)
    files = adapter.encode_claims(ci_payer, claims)
    assert claims == before
    assert files[0].claim_numbers == ["CLM0001", "CLM0002"]
    [(kind, (payer, sent))] = fake.calls
    assert kind == "encode"
    assert payer.key == ci_payer.key and payer.claim_filing_indicator == "MB"
    assert payer.options == {"submitter_id": "S", "claim_filing_indicator": "MB"}
    for claim in sent:
        assert claim.payer == payer
        assert claim.coverage.member_id == EXAMPLE_MBI  # dashes gone
    assert claims[1].coverage.member_id == EXAMPLE_MBI_PRINTED  # the input is untouched


def test_missing_x12_options(fake: RecordingX12) -> None:
    adapter = MedicareAdapter(delegate=fake)
    payer = make_medicare_payer(options={"locality": "18", "mac": "01182"})
    with pytest.raises(SubmissionError, match=r"options\.x12.*submitter_id"):
        adapter.encode_claims(payer, medicare_claims(payer))
    [found] = [f for f in adapter.claim_edits(make_medicare_billable_claim(payer=payer))]
    assert found.code == "medicare.x12_options" and found.blocks_submission


def test_edits_include_the_x12_edits(fake: RecordingX12, ci_payer: Payer) -> None:
    adapter = MedicareAdapter(delegate=fake)
    claim = make_medicare_billable_claim(payer=ci_payer, member_id=EXAMPLE_MBI_PRINTED)
    findings = adapter.claim_edits(claim)
    assert [f.code for f in findings] == ["medicare.filing_indicator", "x12.fake"]
    [(_, seen)] = fake.calls
    assert seen.payer.claim_filing_indicator == "MB"
    assert seen.coverage.member_id == EXAMPLE_MBI


def test_eligibility_status_and_decode_are_delegated(fake: RecordingX12, ci_payer: Payer) -> None:
    adapter = MedicareAdapter(delegate=fake)
    assert adapter.supports_eligibility() and adapter.supports_claim_status()
    claim = make_medicare_billable_claim(payer=ci_payer, member_id=EXAMPLE_MBI_PRINTED)
    request = EligibilityRequest(trace_number="T1", practice=claim.practice,
                                 patient=claim.patient, coverage=claim.coverage, payer=ci_payer,
                                 service_date=date.today())
    channel = SubmissionChannel()
    assert adapter.check_eligibility(request, channel).trace_number == "T1"
    status = ClaimStatusRequest(trace_number="T2", claim=claim)
    assert adapter.check_claim_status(status, channel).trace_number == "T2"
    sent_270 = fake.calls[0][1]
    assert sent_270.payer.options == {"submitter_id": "S", "claim_filing_indicator": "MB"}
    assert sent_270.coverage.member_id == EXAMPLE_MBI
    sent_276 = fake.calls[1][1]
    assert sent_276.claim.payer.claim_filing_indicator == "MB"
    doc = InboundDocument(channel="c", document_id="d", content="271")
    assert isinstance(adapter.decode(doc), EligibilityResponse)
    assert adapter.decode(doc.model_copy(update={"content": "other"})) is None


def test_no_phi_in_option_errors(fake: RecordingX12) -> None:
    adapter = MedicareAdapter(delegate=fake)
    payer = make_medicare_payer(options={"x12": {"submitter_id": "S", "bogus": "1EG4TE5MK73"}})
    with pytest.raises(SubmissionError) as raised:
        adapter.x12_payer(payer)
    assert "1EG4TE5MK73" not in str(raised.value)


# -- the plugin in a running instance -------------------------------------------------------------

def start(payers: dict[str, Payer], *plugins: tuple[str, Any]) -> PluginHooks:
    config = MedbillConfig(plugins=[], practice=factories.make_practice(), payers=payers)
    return PluginHooks.start(config, extra_plugins=list(plugins), load_installed=False)


def test_registered_alone_has_no_x12() -> None:
    hooks = start({"medicare": make_medicare_payer()}, ("payer_medicare", medicare_plugin))
    adapter = hooks.context.adapter("medicare")
    assert isinstance(adapter, MedicareAdapter) and adapter.delegate is None
    assert not adapter.supports_claims()


@needs_x12
class TestWithTheGenericX12Plugin:
    @pytest.fixture
    def hooks(self) -> PluginHooks:
        from medbill_payer_generic_x12.api import plugin as x12_plugin

        payer = make_medicare_payer(claim_filing_indicator="CI")
        return start({payer.key: payer}, ("payer_generic_x12", x12_plugin),
                     ("payer_medicare", medicare_plugin))

    def test_delegates_to_the_registered_adapter(self, hooks: PluginHooks) -> None:
        adapter = hooks.context.adapter("medicare")
        assert adapter.delegate is hooks.context.adapter("generic_x12")
        assert adapter.supports_claims()

    def test_encode_through_the_hooks(self, hooks: PluginHooks,
                                      pyx12_verdict: Callable[[str], tuple[bool, list[str]]]
                                      ) -> None:
        payer = hooks.context.payer("medicare")
        files = hooks.encode_claims(payer=payer, claims=medicare_claims(payer))
        [file] = files
        assert "SBR*P*18*******MB~" in file.content
        valid, errors = pyx12_verdict(file.content)
        assert valid, errors

    def test_bad_x12_options_stop_start_up(self) -> None:
        from medbill_payer_generic_x12.api import plugin as x12_plugin

        payer = make_medicare_payer(options={"locality": "18", "mac": "01182",
                                             "x12": {"receiver_id": "R"}})
        with pytest.raises(ConfigurationError, match="submitter_id"):
            start({payer.key: payer}, ("payer_generic_x12", x12_plugin),
                  ("payer_medicare", medicare_plugin))


# -- every Medicare 837P we write is pyx12-clean --------------------------------------------------

def encode(claims: list[BillableClaim], payer: Payer) -> str:
    adapter = MedicareAdapter()
    [file] = adapter.encode_claims(payer, claims)
    assert sorted(file.claim_numbers) == sorted(c.claim.claim_number for c in claims)
    return file.content


@needs_x12
class TestPyx12Clean:
    @pytest.fixture
    def payer(self) -> Payer:
        return make_medicare_payer(claim_filing_indicator="CI")

    def test_office_visit(self, payer: Payer, pyx12_verdict: Callable[..., Any]) -> None:
        text = encode([make_medicare_billable_claim(payer=payer,
                                                    member_id=EXAMPLE_MBI_PRINTED)], payer)
        assert "*MB~" in text and f"*MI*{EXAMPLE_MBI}~" in text
        assert EXAMPLE_MBI_PRINTED not in text
        valid, errors = pyx12_verdict(text)
        assert valid, errors

    def test_ordered_services_and_abn_modifiers(self, payer: Payer,
                                                pyx12_verdict: Callable[..., Any]) -> None:
        day = factories.recent_service_date()
        claim = make_medicare_billable_claim(payer=payer, service_date=day,
                                             referring_provider=make_referring_provider())
        lines = [
            factories.make_line(1, service_date=day, procedure_code="71046", modifiers=["26"],
                                charge=Decimal("45.00")),
            factories.make_line(2, service_date=day, procedure_code="80053", modifiers=["GA"],
                                charge=Decimal("30.00"), diagnosis_pointers=[1, 2]),
            factories.make_line(3, service_date=day, procedure_code="G0439",
                                modifiers=["GX", "GY"], charge=Decimal("175.00")),
        ]
        inner = type(claim.claim).model_validate(
            {**claim.claim.model_dump(), "lines": [line.model_dump() for line in lines],
             "referring_provider_npi": factories.REFERRING_NPI})
        claim = claim.model_copy(update={"claim": inner})
        adapter = MedicareAdapter()
        assert not [f for f in adapter.claim_edits(claim) if f.blocks_submission]
        text = encode([claim], payer)
        assert "NM1*DN*1*Referrer" in text
        valid, errors = pyx12_verdict(text)
        assert valid, errors

    def test_split_encounter(self, payer: Payer, pyx12_verdict: Callable[..., Any]) -> None:
        start_day = factories.recent_service_date() - timedelta(days=9)
        codes = ["99213", "93000", "G0439", "99214", "96372", "97110"]
        diagnoses = ["E119", "I10", "E785", "N183", "J449", "M1990", "G4733", "K219", "F329",
                     "E039", "I4891", "M545", "R0602", "Z7984", "E1122", "I2510", "N400", "H409",
                     "L409", "D649"]
        lines = [EncounterLine(procedure_code=codes[i % len(codes)], units=Decimal("1"),
                               charge=Decimal("20.00") + i,
                               diagnosis_pointers=list(dict.fromkeys(
                                   (i * 7 + k * 5) % 20 + 1 for k in range(i % 4 + 1))),
                               service_date_from=start_day + timedelta(days=i % 10),
                               line_control_number=f"L{i:03d}")
                 for i in range(120)]
        encounter = Encounter(claim_number="ENC0001", patient_id=1, coverage_id=1,
                              payer_key=payer.key, billing_provider_npi=factories.PRACTICE_NPI,
                              rendering_provider_npi=factories.RENDERING_NPI,
                              place_of_service="11", diagnoses=diagnoses, lines=lines)
        claims = split_encounter(encounter)
        template = make_medicare_billable_claim(payer=payer)
        bills = [template.model_copy(update={"claim": claim}) for claim in claims]
        bills = [BillableClaim.model_validate(b.model_dump()) for b in bills]
        adapter = MedicareAdapter()
        for bill in bills:
            assert not [f for f in adapter.claim_edits(bill) if f.blocks_submission]
        text = encode(bills, payer)
        assert text.count("~CLM*") == len(claims) and text.count("~LX*") == 120
        valid, errors = pyx12_verdict(text)
        assert valid, errors


def test_contract_claims_have_no_phi_in_x12_findings() -> None:
    adapter = MedicareAdapter()
    claim = make_medicare_billable_claim(member_id="1EG4TE5MK7")
    for found in adapter.claim_edits(claim):
        for value in phi_values(claim):
            assert value not in found.message


@needs_x12
def test_the_pyx12_check_can_fail(pyx12_verdict: Callable[..., Any]) -> None:
    payer = make_medicare_payer()
    text = encode([make_medicare_billable_claim(payer=payer)], payer)
    valid, errors = pyx12_verdict(text.replace("SBR*P*18*", "SBR*P*99*"))
    assert not valid and any("SBR02" in e for e in errors)

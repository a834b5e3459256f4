"""The test kit catches real defects: a payer adapter whose ``decode`` returns the X12
engine's ``(kind, objects)`` tuple, or drops a reversal, fails the document contract; the
generic X12 adapter passes it. The suite is run in-process on a generated test module."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# imported before pytester's in-process runs snapshot sys.modules: imported afresh inside a
# run, the dialect would register its SQL functions twice (SAWarnings)
import sqlalchemy.dialects.postgresql  # noqa: E402, F401

pytest.importorskip("medbill_payer_generic_x12")

VENDOR_MODULE = textwrap.dedent('''
    import pytest
    from medbill_payer_generic_x12.adapter import GenericX12Adapter
    from medbill_payer_generic_x12.codec import decode_document

    from medbill_core.domain import Remittance
    from medbill_core.testing import factories
    from medbill_core.testing.contracts import PayerDocumentContract

    OPTIONS = {"submitter_id": "SUB1", "receiver_id": "RCV1", "submitter_phone": "8165550100"}


    class TupleAdapter(GenericX12Adapter):
        """The defect of issue 13: the engine's (kind, objects) passed on as decoded."""

        identifier = "vendor_tuple"

        def decode(self, document):
            if not document.content.lstrip().startswith("ISA"):
                return None
            return decode_document(document.content.lstrip())


    class DropsReversalsAdapter(GenericX12Adapter):
        """Reads 835s itself (no streaming) and loses the reversals (CLP02 = 22)."""

        identifier = "vendor_drops"

        def stream_remittances(self, document):
            return None

        def decode(self, document):
            decoded = super().decode(document)
            items = decoded if isinstance(decoded, list) else [decoded]
            kept = [item.model_copy(update={"claims": [c for c in item.claims
                                                       if not c.is_reversal]})
                    if isinstance(item, Remittance) else item for item in items]
            return kept if isinstance(decoded, list) else kept[0]


    class Options:
        @pytest.fixture
        def payer(self, adapter):
            payer = factories.make_payer(adapter=adapter.identifier)
            return payer.model_copy(update={"options": OPTIONS})


    class TestRight(Options, PayerDocumentContract):
        @pytest.fixture
        def adapter(self):
            return GenericX12Adapter()


    class TestTuple(Options, PayerDocumentContract):
        @pytest.fixture
        def adapter(self):
            return TupleAdapter()


    class TestDropsReversals(Options, PayerDocumentContract):
        @pytest.fixture
        def adapter(self):
            return DropsReversalsAdapter()
''')

#: what each defect must fail (the tuple: every decoded document; the core's 835 posting is
#: streamed past decode, so it is not among them)
TUPLE_FAILS = {"test_decodes_a_999", "test_decodes_a_277ca", "test_decodes_an_835",
               "test_decodes_an_835_reversal_and_plb", "test_decodes_a_271",
               "test_decodes_a_277", "test_streams_remittances_as_it_decodes_them",
               "test_core_applies_the_999_and_277ca", "test_core_posts_the_835_reversal_and_plb",
               "test_core_eligibility_271", "test_core_claim_status_277"}
DROPS_FAILS = {"test_decodes_an_835_reversal_and_plb", "test_core_posts_the_835_reversal_and_plb"}


def _outcomes(pytester: pytest.Pytester) -> dict[str, dict[str, str]]:
    pytester.makepyfile(test_vendor_adapter=VENDOR_MODULE)
    reprec = pytester.inline_run("--medbill-backends=sqlite", "-p", "no:cacheprovider", "-q")
    found: dict[str, dict[str, str]] = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.when != "call" and report.passed:
            continue
        _, cls, test = report.nodeid.split("::")
        name = test.split("[")[0]
        if report.failed or name not in found.get(cls, {}):
            found.setdefault(cls, {})[name] = report.outcome
    return found


def test_the_document_contract_fails_wrong_adapters_and_passes_the_right_one(
        pytester: pytest.Pytester) -> None:
    outcomes = _outcomes(pytester)
    right = outcomes["TestRight"]
    assert len(right) >= 15
    assert {n for n, o in right.items() if o == "failed"} == set()

    tuple_failed = {n for n, o in outcomes["TestTuple"].items() if o == "failed"}
    assert tuple_failed == TUPLE_FAILS

    drops_failed = {n for n, o in outcomes["TestDropsReversals"].items() if o == "failed"}
    assert drops_failed == DROPS_FAILS


def test_the_database_fixture_skips_postgresql_in_one_line_where_no_server_starts(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from medbill_core.testing import postgres

    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(postgres.ENV_URL, raising=False)
    monkeypatch.setattr(postgres, "_DEBIAN_GLOB_ROOT", tmp_path / "no-postgresql")
    pytester.makepyfile(test_database='''
        def test_a_database(medbill_db_url):
            assert medbill_db_url.startswith(("sqlite:", "postgresql"))
    ''')
    reprec = pytester.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = reprec.listoutcomes()
    assert [r.nodeid.split("::")[-1] for r in passed] == ["test_a_database[sqlite]"]
    assert failed == []
    assert len(skipped) == 1
    _, _, reason = skipped[0].longrepr
    assert reason.startswith("Skipped: PostgreSQL unavailable: PostgreSQL server binaries missing")
    assert "\n" not in reason


JSON_VENDOR_MODULE = textwrap.dedent('''
    import json

    import pytest
    from medbill_payer_generic_x12.adapter import GenericX12Adapter

    from medbill_core.adapters import PayerAdapter
    from medbill_core.domain import (
        ClaimAcknowledgmentBatch,
        ClaimStatusResponse,
        DocumentKind,
        EligibilityResponse,
        FunctionalAcknowledgment,
        Remittance,
        SubmissionFile,
    )
    from medbill_core.testing.contracts import PayerDocumentContract
    from medbill_core.testing.documents import ContractDocuments, inbound, x12_documents

    TYPES = {t.__name__: t for t in (FunctionalAcknowledgment, ClaimAcknowledgmentBatch,
                                     Remittance, EligibilityResponse, ClaimStatusResponse)}


    class JsonPayerAdapter(PayerAdapter):
        """A payer whose portal speaks JSON: {"type": ..., "body": ...}, no X12 at all."""

        identifier = "json_payer"

        def encode_claims(self, payer, claims):
            numbers = [c.claim.claim_number for c in claims]
            return [SubmissionFile(payer_key=payer.key, kind=DocumentKind.OTHER,
                                   content=json.dumps({"claims": numbers}),
                                   claim_numbers=numbers, control_number="JB0001",
                                   filename="batch-JB0001.json")]

        def check_eligibility(self, request, channel):
            return self.decode(channel.exchange("eligibility", request.trace_number))

        def check_claim_status(self, request, channel):
            return self.decode(channel.exchange("claim-status", request.trace_number))

        def decode(self, document):
            try:
                data = json.loads(document.content)
            except ValueError:
                return None
            if not isinstance(data, dict) or data.get("type") not in TYPES:
                return None
            return TYPES[data["type"]].model_validate(data["body"])


    def as_json(document, scenario):
        decoded = GenericX12Adapter().decode(document)
        if isinstance(decoded, FunctionalAcknowledgment):  # the portal names our batch
            decoded = decoded.model_copy(
                update={"group_control_number": scenario.group_control_number})
        body = {"type": type(decoded).__name__, "body": decoded.model_dump(mode="json")}
        return inbound(document.kind, json.dumps(body))


    class TestJsonPayer(PayerDocumentContract):
        @pytest.fixture
        def adapter(self):
            return JsonPayerAdapter()

        @pytest.fixture
        def contract_documents(self):
            def documents(scenario):
                x12 = x12_documents(scenario)
                return ContractDocuments(**{name: as_json(getattr(x12, name), scenario)
                                            for name in ContractDocuments.__dataclass_fields__})
            return documents
''')


def test_a_payer_that_does_not_speak_x12_passes_with_its_own_documents(
        pytester: pytest.Pytester) -> None:
    """Overriding ``contract_documents`` is all a non-X12 payer needs; the effects asserted
    (claim states, postings, balances) are the same."""
    pytester.makepyfile(test_json_vendor=JSON_VENDOR_MODULE)
    reprec = pytester.inline_run("--medbill-backends=sqlite", "-p", "no:cacheprovider")
    passed, skipped, failed = reprec.listoutcomes()
    assert [r.nodeid for r in failed] == []
    names = {r.nodeid.split("::")[-1].split("[")[0] for r in passed}
    assert {"test_core_applies_the_999_and_277ca", "test_core_posts_the_835_reversal_and_plb",
            "test_core_eligibility_271", "test_core_claim_status_277",
            "test_decodes_an_835_reversal_and_plb"} <= names
    assert [r.nodeid.split("::")[-1] for r in skipped] == \
        ["test_streams_remittances_as_it_decodes_them"]

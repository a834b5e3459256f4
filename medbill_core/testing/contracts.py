"""Contract test suites for plugin authors.

Subclass in your plugin's tests and provide the fixtures named in each class::

    from medbill_core.testing.contracts import PayerAdapterContract

    class TestMyAdapter(PayerAdapterContract):
        @pytest.fixture
        def adapter(self):
            return MyAdapter()

pytest collects the inherited ``test_*`` methods, so every adapter is held to
the same rules: a valid identifier, honest capability predicates, claims not
mutated by encoding, every claim accounted for in the files, garbage input
answered with ``None`` or a domain error (never a bare exception), and no PHI
in error messages.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from medbill_core.adapters import PayerAdapter, StatementRenderer, SubmissionChannel
from medbill_core.domain import (
    BillableClaim,
    ClaimFinding,
    DocumentKind,
    InboundDocument,
    Payer,
    SubmissionFile,
)
from medbill_core.errors import MedbillError
from medbill_core.testing import factories

GARBAGE_DOCUMENTS = [
    "",
    "hello, this is not a healthcare document",
    "ISA*00*",
    "\x00\x01\x02 binary junk",
    "ISA" + "*" * 200,
]


def phi_values(claim: BillableClaim) -> list[str]:
    """The PHI strings of a claim that must never appear in an error message or log."""
    values = [claim.patient.last_name, claim.patient.first_name,
              claim.patient.birth_date.strftime("%Y%m%d"), claim.patient.birth_date.isoformat()]
    if claim.coverage is not None:
        values.append(claim.coverage.member_id)
    if claim.patient.address is not None:
        values.append(claim.patient.address.line1)
    return values


class PayerAdapterContract:
    """Rules every :class:`~medbill_core.adapters.PayerAdapter` follows.

    Fixtures to provide: ``adapter``; optionally override ``payer`` and ``claims``.
    """

    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        raise NotImplementedError("provide an 'adapter' fixture")

    @pytest.fixture
    def payer(self, adapter: PayerAdapter) -> Payer:
        return factories.make_payer(adapter=adapter.identifier)

    @pytest.fixture
    def claims(self, payer: Payer) -> list[BillableClaim]:
        first = factories.make_billable_claim(payer=payer)
        second = factories.make_billable_claim(
            payer=payer, claim=factories.make_claim(number="CLM0002", lines=2))
        return [first, second]

    def test_identifier_is_a_config_name(self, adapter: PayerAdapter) -> None:
        assert isinstance(adapter, PayerAdapter)
        assert adapter.identifier
        assert adapter.identifier == adapter.identifier.lower()
        assert adapter.identifier.replace("_", "").replace("-", "").isalnum()

    def test_encodes_every_claim_without_mutating_it(
            self, adapter: PayerAdapter, payer: Payer, claims: list[BillableClaim]) -> None:
        if not adapter.supports_claims():
            with pytest.raises(MedbillError):
                adapter.encode_claims(payer, claims)
            return
        before = copy.deepcopy(claims)
        files = adapter.encode_claims(payer, claims)
        assert claims == before, "encode_claims changed its input"
        assert files and all(isinstance(f, SubmissionFile) for f in files)
        numbers = sorted(n for f in files for n in f.claim_numbers)
        assert numbers == sorted(c.claim.claim_number for c in claims)
        for file in files:
            assert file.content.strip()
            assert file.payer_key == payer.key
            assert file.control_number
            for value in phi_values(claims[0]):
                assert value not in file.filename, "PHI in a file name"

    def test_garbage_is_declined_or_a_domain_error(self, adapter: PayerAdapter) -> None:
        for text in GARBAGE_DOCUMENTS:
            document = InboundDocument(channel="contract", document_id="doc-1",
                                       kind=DocumentKind.OTHER, content=text)
            try:
                result = adapter.decode(document)
            except MedbillError:
                continue
            assert result is None, f"garbage decoded to {type(result).__name__}"

    def test_claim_edits_return_findings(self, adapter: PayerAdapter,
                                         claims: list[BillableClaim]) -> None:
        findings = adapter.claim_edits(claims[0])
        assert isinstance(findings, list)
        assert all(isinstance(f, ClaimFinding) for f in findings)
        for finding in findings:
            for value in phi_values(claims[0]):
                assert value not in finding.message

    def test_payer_options_validate(self, adapter: PayerAdapter, payer: Payer) -> None:
        result = adapter.validate_payer_options(payer)
        if adapter.payer_options_model is None:
            assert result is None
        else:
            assert isinstance(result, adapter.payer_options_model)


class SubmissionChannelContract:
    """Rules every :class:`~medbill_core.adapters.SubmissionChannel` follows.

    Fixtures to provide: ``channel`` (connected to a working remote end) and
    ``submission`` (a file the remote end accepts).
    """

    @pytest.fixture
    def channel(self) -> SubmissionChannel:
        raise NotImplementedError("provide a 'channel' fixture")

    @pytest.fixture
    def submission(self) -> SubmissionFile:
        raise NotImplementedError("provide a 'submission' fixture")

    def test_identifier(self, channel: SubmissionChannel) -> None:
        assert isinstance(channel, SubmissionChannel)
        assert channel.identifier and channel.identifier == channel.identifier.lower()

    def test_same_idempotency_key_submits_once(self, channel: SubmissionChannel,
                                               submission: SubmissionFile) -> None:
        first = channel.submit(submission, idempotency_key="contract-key-1")
        again = channel.submit(submission, idempotency_key="contract-key-1")
        assert first.submission_id == again.submission_id
        assert first.channel == channel.identifier

    def test_fetch_returns_documents(self, channel: SubmissionChannel) -> None:
        documents = channel.fetch_responses()
        assert isinstance(documents, list)
        assert all(isinstance(d, InboundDocument) for d in documents)
        assert len({d.document_id for d in documents}) == len(documents)


class StatementRendererContract:
    """Rules every :class:`~medbill_core.adapters.StatementRenderer` follows.

    Fixtures to provide: ``renderer`` and ``statement``.
    """

    @pytest.fixture
    def renderer(self) -> StatementRenderer:
        raise NotImplementedError("provide a 'renderer' fixture")

    @pytest.fixture
    def statement(self) -> Any:
        raise NotImplementedError("provide a 'statement' fixture")

    def test_renders_declared_media_type(self, renderer: StatementRenderer,
                                         statement: Any) -> None:
        before = statement.model_copy(deep=True)
        document = renderer.render(statement)
        assert document.renderer == renderer.identifier
        assert document.media_type == renderer.media_type
        assert document.filename.endswith("." + renderer.file_extension)
        assert document.content
        assert statement == before, "render() changed the statement"

    def test_file_names_carry_no_identifiers(self, renderer: StatementRenderer,
                                             statement: Any) -> None:
        name = renderer.render(statement).filename
        patient = statement.patient
        for value in (patient.last_name, patient.first_name, patient.birth_date.isoformat(),
                      patient.birth_date.strftime("%Y%m%d"), statement.account_number):
            assert value not in name, "an identifier is in the file name"

    def test_output_is_deterministic(self, renderer: StatementRenderer, statement: Any) -> None:
        assert renderer.render(statement).content == renderer.render(statement).content

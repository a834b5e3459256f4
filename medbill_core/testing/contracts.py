"""Contract test suites for plugin authors.

Subclass in your plugin's tests and provide the fixtures named in each class::

    from medbill_core.testing.contracts import PayerDocumentContract

    class TestMyAdapter(PayerDocumentContract):
        @pytest.fixture
        def adapter(self):
            return MyAdapter()

pytest collects the inherited ``test_*`` methods, so every adapter is held to the same rules.

Suites
------
* :class:`PayerAdapterContract` -- the rules on the adapter's surface: a valid identifier,
  honest capability predicates, claims not mutated by encoding, every claim accounted for in
  the files, garbage answered with ``None`` or a domain error, no PHI in error messages.
* :class:`PayerDocumentContract` -- the above, and real payer documents driven through the
  adapter: a 999, a 277CA, an 835 with a reversal and a PLB provider adjustment, a 271 and a
  277 (see :mod:`medbill_core.testing.documents` for what each says). Each is checked twice:
  **through the adapter alone** (``decode`` -- and ``stream_remittances`` when the adapter
  streams -- returns domain objects the core can apply, checked with the core's own
  :func:`~medbill_core.default_plugins.dispatch.checked_decoded`, with the expected claim
  numbers, Decimal amounts and statuses) and **through the core** (a medbill practice on a
  real database with the adapter as an in-process plugin: claims created, sent with the
  core's submission service, each document applied with
  :func:`~medbill_core.services.responses.ingest_document`; the test asserts claim states,
  ledger postings and balances, the PLB, the eligibility benefits and the claim status).
  An adapter whose ``decode`` returns anything but domain objects, or drops a reversal,
  fails it.
* :class:`SubmissionChannelContract` -- submit idempotency, fetch, acknowledge.
* :class:`StatementRendererContract` -- media type, deterministic output, no identifiers in
  file names.

Fixtures you can override
-------------------------
Every fixture below is a method of the suite class; define one with the same name in your
subclass to replace it.

``adapter`` (required)
    The adapter under test.
``payer``
    The payer the claims are billed to (default: :func:`~medbill_core.testing.factories.
    make_payer` using the adapter). Override to set ``options`` your adapter validates
    (``payer.model_copy(update={"options": {...}})``).
``claims``
    The billable claims the surface rules encode.
``contract_patient`` / ``contract_coverage``
    The patient and coverage of the document scenario (override the coverage when your payer
    wants member ids of its own form, such as a Medicare MBI).
``contract_providers``
    The provider registry: providers registered in the practice before claims are created
    (default: the factories' rendering provider).
``contract_payers``
    The ``payers`` of the practice's configuration, by key (default: ``payer``, sent through
    the contract channel).
``contract_database_url``
    The database the practice runs on (default: ``medbill_db_url``: a fresh SQLite file, and
    a throwaway PostgreSQL database when a server can be started -- else that run is skipped
    with one reason line; choose with ``--medbill-backends=sqlite``).
``contract_config``
    The whole :class:`~medbill_core.config.MedbillConfig` (default: built from the above).
``contract_documents``
    A function of a :class:`~medbill_core.testing.documents.ContractScenario` returning
    :class:`~medbill_core.testing.documents.ContractDocuments`: the payer's answers to the
    scenario's claims (default: :func:`~medbill_core.testing.documents.x12_documents`, X12
    5010). A payer plugin that does not speak X12 returns its own format's equivalents
    here; the assertions stay the same. For the 999 the scenario carries the batch's
    ``group_control_number`` and ``transaction_set_numbers`` as the core recorded them.
``contract_plugin_name``
    The name the adapter's in-process plugin is registered under (default
    ``contract_payer``).

The kit's pytest plugin (:mod:`medbill_core.testing.plugin`) also provides
``medbill_db_url``, ``medbill_config``, ``medbill_extra_plugins`` and ``medbill_app``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from medbill_core.adapters import PayerAdapter, StatementRenderer, SubmissionChannel
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.default_plugins.dispatch import checked_decoded
from medbill_core.domain import (
    BenefitKind,
    BillableClaim,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimFinding,
    ClaimPayment,
    ClaimState,
    ClaimStatusRequest,
    ClaimStatusResponse,
    Coverage,
    CoverageStatus,
    DocumentKind,
    EligibilityResponse,
    FunctionalAcknowledgment,
    InboundDocument,
    Patient,
    Payer,
    Provider,
    Remittance,
    SubmissionFile,
)
from medbill_core.errors import MedbillError
from medbill_core.ledger import EntryKind, Totals
from medbill_core.services.responses import ingest_document
from medbill_core.storage.schema import DocumentStatus, ProviderAdjustmentRow
from medbill_core.testing import factories
from medbill_core.testing.contract_practice import (
    CHANNEL,
    PLUGIN_NAME,
    ContractChannel,
    SeededPractice,
    contract_plugin,
    render_for,
    seed_claims,
    send_claims,
)
from medbill_core.testing.documents import (
    CLAIM_ROLES,
    EXPECTED,
    ContractDocuments,
    ContractScenario,
    x12_documents,
)

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
        coverage = factories.make_coverage(patient_id=1, id=1, payer_key=payer.key)
        first = factories.make_billable_claim(
            payer=payer, coverage=coverage, claim=factories.make_claim(payer_key=payer.key))
        second = factories.make_billable_claim(
            payer=payer, coverage=coverage,
            claim=factories.make_claim(number="CLM0002", lines=2, payer_key=payer.key))
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


class PayerDocumentContract(PayerAdapterContract):
    """:class:`PayerAdapterContract`, and real payer documents through the adapter alone and
    through the core into a database (see the module documentation for the fixtures)."""

    # -- fixtures a plugin may override ---------------------------------------------------
    @pytest.fixture
    def contract_patient(self) -> Patient:
        return factories.make_patient(1)

    @pytest.fixture
    def contract_coverage(self, payer: Payer) -> Coverage:
        return factories.make_coverage(payer_key=payer.key)

    @pytest.fixture
    def contract_providers(self) -> list[Provider]:
        return [factories.make_provider()]

    @pytest.fixture
    def contract_scenario(self, payer: Payer, contract_patient: Patient,
                          contract_coverage: Coverage) -> ContractScenario:
        return ContractScenario(practice=factories.make_practice(),
                                payer=payer.model_copy(update={"channel": CHANNEL}),
                                patient=contract_patient, coverage=contract_coverage)

    @pytest.fixture
    def contract_documents(self) -> Callable[[ContractScenario], ContractDocuments]:
        return x12_documents

    @pytest.fixture
    def contract_payers(self, contract_scenario: ContractScenario) -> dict[str, Payer]:
        return {contract_scenario.payer.key: contract_scenario.payer}

    @pytest.fixture
    def contract_database_url(self, medbill_db_url: str) -> str:
        return medbill_db_url

    @pytest.fixture
    def contract_config(self, contract_database_url: str, contract_payers: dict[str, Payer],
                        contract_scenario: ContractScenario) -> MedbillConfig:
        return MedbillConfig(database_url=contract_database_url, plugins=[], actor="contract",
                             practice=contract_scenario.practice, payers=contract_payers)

    @pytest.fixture
    def contract_plugin_name(self) -> str:
        return PLUGIN_NAME

    @pytest.fixture
    def contract_channel(self) -> ContractChannel:
        return ContractChannel()

    @pytest.fixture
    def contract_app(self, adapter: PayerAdapter, contract_config: MedbillConfig,
                     contract_channel: ContractChannel,
                     contract_plugin_name: str) -> Iterator[Medbill]:
        app = Medbill.open(contract_config, load_installed=False, upgrade=True,
                           extra_plugins=[(contract_plugin_name,
                                           contract_plugin(adapter, contract_channel))])
        try:
            yield app
        finally:
            app.close()

    # -- through the adapter alone --------------------------------------------------------
    def _decoded(self, adapter: PayerAdapter, document: InboundDocument) -> list[Any]:
        result = adapter.decode(document)
        assert result is not None, f"{adapter.identifier} declined the {document.kind} document"
        checked = checked_decoded(result, "the plugin under test",
                                  f"payer adapter {adapter.identifier!r}")
        return list(checked) if isinstance(checked, list) else [checked]

    def _numbers(self, scenario: ContractScenario) -> dict[str, str]:
        return dict(zip(CLAIM_ROLES, scenario.claim_numbers, strict=True))

    def test_decodes_a_999(self, adapter: PayerAdapter, contract_scenario: ContractScenario,
                           contract_documents: Callable[[ContractScenario], ContractDocuments]
                           ) -> None:
        decoded = self._decoded(adapter, contract_documents(contract_scenario).functional_ack)
        acks = [d for d in decoded if isinstance(d, FunctionalAcknowledgment)]
        assert len(acks) == 1, f"a 999 decoded to {[type(d).__name__ for d in decoded]}"
        assert acks[0].status.accepted
        assert acks[0].group_control_number == contract_scenario.group_control_number

    def test_decodes_a_277ca(self, adapter: PayerAdapter, contract_scenario: ContractScenario,
                             contract_documents: Callable[[ContractScenario], ContractDocuments]
                             ) -> None:
        decoded = self._decoded(adapter, contract_documents(contract_scenario).claim_acks)
        acks = {a.claim_number: a for d in decoded if isinstance(d, ClaimAcknowledgmentBatch)
                for a in d.claims}
        numbers = self._numbers(contract_scenario)
        assert set(acks) == set(numbers.values())
        for role in EXPECTED.accepted:
            assert acks[numbers[role]].status is ClaimAckStatus.ACCEPTED
            assert acks[numbers[role]].total_charge == EXPECTED.charges[role]
        for role in EXPECTED.rejected:
            rejected = acks[numbers[role]]
            assert rejected.status is ClaimAckStatus.REJECTED
            assert [(c.category, c.code) for c in rejected.status_codes][:1] == \
                [EXPECTED.rejection_code]

    def _remittance(self, decoded: list[Any]) -> Remittance:
        remittances = [d for d in decoded if isinstance(d, Remittance)]
        assert len(remittances) == 1, \
            f"an 835 decoded to {[type(d).__name__ for d in decoded]}"
        return remittances[0]

    def test_decodes_an_835(self, adapter: PayerAdapter, contract_scenario: ContractScenario,
                            contract_documents: Callable[[ContractScenario], ContractDocuments]
                            ) -> None:
        remittance = self._remittance(self._decoded(
            adapter, contract_documents(contract_scenario).remittance))
        numbers = self._numbers(contract_scenario)
        assert remittance.payment_amount == EXPECTED.payment_amount
        assert isinstance(remittance.payment_amount, Decimal)
        by_number = {p.claim_number: p for p in remittance.claims}
        assert set(by_number) == {numbers["a"], numbers["b"]}
        for role in ("a", "b"):
            payment = by_number[numbers[role]]
            assert not payment.is_reversal
            assert (payment.charge, payment.paid, payment.patient_responsibility) == (
                EXPECTED.charges[role], EXPECTED.paid[role], EXPECTED.patient[role])
            assert all(isinstance(v, Decimal) for v in (payment.charge, payment.paid))

    def test_decodes_an_835_reversal_and_plb(
            self, adapter: PayerAdapter, contract_scenario: ContractScenario,
            contract_documents: Callable[[ContractScenario], ContractDocuments]) -> None:
        remittance = self._remittance(self._decoded(
            adapter, contract_documents(contract_scenario).remittance_reversal))
        number = self._numbers(contract_scenario)["b"]
        assert remittance.payment_amount == EXPECTED.reversal_payment_amount
        payments = [p for p in remittance.claims if p.claim_number == number]
        assert [p.is_reversal for p in payments] == [True, False], \
            "the reversal of claim B, then its corrected payment"
        assert abs(payments[0].paid) == EXPECTED.paid["b"]
        assert payments[1].paid == EXPECTED.corrected_paid_b
        assert [(a.reason_code, a.amount) for a in remittance.provider_adjustments] == \
            [("L6", -EXPECTED.interest)]

    def test_streams_remittances_as_it_decodes_them(
            self, adapter: PayerAdapter, contract_scenario: ContractScenario,
            contract_documents: Callable[[ContractScenario], ContractDocuments]) -> None:
        documents = contract_documents(contract_scenario)
        for document in (documents.remittance, documents.remittance_reversal):
            stream = adapter.stream_remittances(document)
            if stream is None:
                pytest.skip(f"{adapter.identifier} does not stream remittances")
            decoded = self._remittance(self._decoded(adapter, document))
            parts = []
            for part in stream:  # each part is read before the next (one pass over the file)
                claims = list(part.claims())
                parts.append((part.header, claims, list(part.provider_adjustments)))
            assert len(parts) == 1, f"one payment streamed as {len(parts)}"
            header, claims, plbs = parts[0]
            assert all(isinstance(c, ClaimPayment) for c in claims)
            assert claims == decoded.claims
            assert header.payment_amount == decoded.payment_amount
            assert plbs == decoded.provider_adjustments

    def test_decodes_a_271(self, adapter: PayerAdapter, contract_scenario: ContractScenario,
                           contract_documents: Callable[[ContractScenario], ContractDocuments]
                           ) -> None:
        decoded = self._decoded(adapter, contract_documents(contract_scenario).eligibility)
        responses = [d for d in decoded if isinstance(d, EligibilityResponse)]
        assert len(responses) == 1
        self._check_benefits(responses[0])

    @staticmethod
    def _check_benefits(response: EligibilityResponse) -> None:
        assert response.status is CoverageStatus.ACTIVE
        amounts = {b.kind: b.amount for b in response.benefits if b.amount is not None}
        assert amounts.get(BenefitKind.CO_PAYMENT) == EXPECTED.copay
        assert amounts.get(BenefitKind.DEDUCTIBLE) == EXPECTED.deductible
        share = [b.percent if b.percent is not None else b.amount for b in response.benefits
                 if b.kind is BenefitKind.CO_INSURANCE]
        assert share == [EXPECTED.coinsurance]

    def test_decodes_a_277(self, adapter: PayerAdapter, contract_scenario: ContractScenario,
                           contract_documents: Callable[[ContractScenario], ContractDocuments]
                           ) -> None:
        decoded = self._decoded(adapter, contract_documents(contract_scenario).claim_status)
        responses = [d for d in decoded if isinstance(d, ClaimStatusResponse)]
        assert len(responses) == 1
        self._check_status(responses[0], contract_scenario)

    def _check_status(self, response: ClaimStatusResponse, scenario: ContractScenario) -> None:
        claim = self._numbers(scenario)["a"]
        statuses = [s for s in response.claims if s.claim_number == claim]
        assert statuses, f"no status for claim {claim}"
        assert statuses[0].status_codes[0].category == EXPECTED.status_category
        assert statuses[0].paid_amount == EXPECTED.status_paid

    # -- through the core, into a database ------------------------------------------------
    def _sent(self, app: Medbill, adapter: PayerAdapter, scenario: ContractScenario,
              providers: list[Provider]) -> SeededPractice:
        practice = send_claims(app, seed_claims(app, scenario, providers), adapter)
        for role in CLAIM_ROLES:
            assert practice.state(app, role) is ClaimState.SUBMITTED
        return practice

    def _acknowledged(self, app: Medbill, adapter: PayerAdapter,
                      documents: Callable[[ContractScenario], ContractDocuments],
                      channel: ContractChannel, scenario: ContractScenario,
                      providers: list[Provider]) -> tuple[SeededPractice, ContractDocuments]:
        practice = self._sent(app, adapter, scenario, providers)
        rendered = render_for(documents, channel, practice.scenario)
        if adapter.supports_claims():
            result = ingest_document(app, rendered.functional_ack)
            assert result.status == DocumentStatus.APPLIED, result.detail
            for role in CLAIM_ROLES:
                assert practice.state(app, role) is ClaimState.ACKNOWLEDGED, result.detail
        result = ingest_document(app, rendered.claim_acks)
        assert result.status == DocumentStatus.APPLIED, result.detail
        return practice, rendered

    def test_core_applies_the_999_and_277ca(
            self, adapter: PayerAdapter, contract_app: Medbill,
            contract_scenario: ContractScenario, contract_channel: ContractChannel,
            contract_documents: Callable[[ContractScenario], ContractDocuments],
            contract_providers: list[Provider]) -> None:
        practice, _ = self._acknowledged(contract_app, adapter, contract_documents,
                                         contract_channel, contract_scenario,
                                         contract_providers)
        for role in EXPECTED.accepted:
            assert practice.state(contract_app, role) is ClaimState.ACCEPTED
        for role in EXPECTED.rejected:
            assert practice.state(contract_app, role) is ClaimState.REJECTED

    def test_core_posts_the_835_reversal_and_plb(
            self, adapter: PayerAdapter, contract_app: Medbill,
            contract_scenario: ContractScenario, contract_channel: ContractChannel,
            contract_documents: Callable[[ContractScenario], ContractDocuments],
            contract_providers: list[Provider]) -> None:
        app = contract_app
        practice, rendered = self._acknowledged(app, adapter, contract_documents,
                                                contract_channel, contract_scenario,
                                                contract_providers)
        result = ingest_document(app, rendered.remittance)
        assert result.status == DocumentStatus.APPLIED, result.detail
        for role in ("a", "b"):
            totals = self._totals(app, practice, role)
            assert totals[EntryKind.CHARGE] == EXPECTED.charges[role]
            assert totals[EntryKind.PAYER_PAYMENT] == EXPECTED.paid[role], \
                f"claim {role.upper()}: the 835's payment was not posted ({result.detail})"
            assert totals[EntryKind.CONTRACTUAL_ADJUSTMENT] == EXPECTED.contractual[role]
            assert (totals.balance.insurance, totals.balance.patient) == \
                (Decimal("0.00"), EXPECTED.patient[role])
            assert totals.is_balanced()
        assert practice.state(app, "c") is ClaimState.ACCEPTED
        assert ingest_document(app, rendered.remittance).status == DocumentStatus.DUPLICATE

        result = ingest_document(app, rendered.remittance_reversal)
        assert result.status == DocumentStatus.APPLIED, result.detail
        totals = self._totals(app, practice, "b")
        assert totals[EntryKind.PAYER_PAYMENT] == EXPECTED.corrected_paid_b, \
            f"claim B: the reversal did not take back the first payment ({result.detail})"
        assert totals[EntryKind.CONTRACTUAL_ADJUSTMENT] == EXPECTED.contractual["b"]
        assert (totals.balance.insurance, totals.balance.patient) == \
            (Decimal("0.00"), EXPECTED.corrected_patient_b)
        assert totals.is_balanced()
        first = self._totals(app, practice, "a")
        assert first[EntryKind.PAYER_PAYMENT] == EXPECTED.paid["a"], "the reversal touched A"
        with app.unit_of_work(read_only=True) as work:
            plbs = [(row.reason_code, row.amount) for row in
                    work.session.scalars(select(ProviderAdjustmentRow))]
        assert plbs == [("L6", -EXPECTED.interest)]

    @staticmethod
    def _totals(app: Medbill, practice: SeededPractice, role: str) -> Totals:
        with app.unit_of_work(read_only=True) as work:
            return work.ledger.totals(claim_id=practice.claim_ids[role])

    def test_core_eligibility_271(
            self, adapter: PayerAdapter, contract_app: Medbill,
            contract_scenario: ContractScenario, contract_channel: ContractChannel,
            contract_documents: Callable[[ContractScenario], ContractDocuments],
            contract_providers: list[Provider]) -> None:
        from medbill_core.services.eligibility import check_patient_eligibility

        seed_claims(contract_app, contract_scenario, contract_providers)
        rendered = render_for(contract_documents, contract_channel, contract_scenario)
        result = ingest_document(contract_app, rendered.eligibility)
        assert (result.status, result.detail) == (DocumentStatus.APPLIED,
                                                  "EligibilityResponse stored")
        if not adapter.supports_eligibility():
            return
        check = check_patient_eligibility(
            contract_app, contract_scenario.patient.account_number,
            contract_scenario.service_date, ["30"])
        assert not check.rejected
        self._check_benefits(check.response)

    def test_core_claim_status_277(
            self, adapter: PayerAdapter, contract_app: Medbill,
            contract_scenario: ContractScenario, contract_channel: ContractChannel,
            contract_documents: Callable[[ContractScenario], ContractDocuments],
            contract_providers: list[Provider]) -> None:
        practice = self._sent(contract_app, adapter, contract_scenario, contract_providers)
        rendered = render_for(contract_documents, contract_channel, practice.scenario)
        result = ingest_document(contract_app, rendered.claim_status)
        assert (result.status, result.detail) == (DocumentStatus.APPLIED,
                                                  "ClaimStatusResponse stored")
        if not adapter.supports_claim_status():
            return
        with contract_app.unit_of_work(read_only=True) as work:
            claim = work.claims.billable(practice.claim_ids["a"])
        response = contract_app.hooks.check_claim_status(
            request=ClaimStatusRequest(trace_number="KIT276", claim=claim))
        assert isinstance(response, ClaimStatusResponse)
        self._check_status(response, practice.scenario)


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

    def test_acknowledging_fetched_documents(self, channel: SubmissionChannel) -> None:
        for document in channel.fetch_responses():
            # the contract checks what a channel really returns: nothing
            assert channel.acknowledge(document) is None  # type: ignore[func-returns-value]


class StatementRendererContract:
    """Rules every :class:`~medbill_core.adapters.StatementRenderer` follows.

    Fixtures to provide: ``renderer``; optionally ``statement`` (default: a factory one).
    """

    @pytest.fixture
    def renderer(self) -> StatementRenderer:
        raise NotImplementedError("provide a 'renderer' fixture")

    @pytest.fixture
    def statement(self) -> Any:
        return factories.make_statement()

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

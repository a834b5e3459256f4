"""A practice the contract suites run a payer adapter in: the core's own services on a real
database, with the adapter registered as an in-process plugin and a channel that hands back
the contract documents.

Nothing here applies a document itself: claims are created, scrubbed into the validated state
and sent with the core's services, and answers are applied with
:func:`~medbill_core.services.responses.ingest_document` (what ``responses fetch`` and
``remit post`` use), so what the suites assert is what a practice would see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from medbill_core.adapters import PayerAdapter, SubmissionChannel
from medbill_core.app import Medbill
from medbill_core.domain import (
    ClaimState,
    InboundDocument,
    Provider,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.base import saved_id
from medbill_core.hookspecs import hookimpl
from medbill_core.testing import factories
from medbill_core.testing.documents import CLAIM_ROLES, ContractDocuments, ContractScenario

#: The identifier of the contract channel the suites' payers are sent through.
CHANNEL = "contract"

#: The in-process plugin name the adapter is registered under (errors are attributed to it).
PLUGIN_NAME = "contract_payer"


class ContractChannel(SubmissionChannel):
    """Keeps what is sent; answers real-time requests with the scenario's 271 or 277.

    ``exchange`` answers a kind naming an eligibility inquiry (``270``, or any kind with
    ``elig`` in it) with the eligibility document, anything else with the claim status one.
    """

    identifier = CHANNEL

    def __init__(self) -> None:
        self.sent: dict[str, SubmissionFile] = {}
        self.waiting: list[InboundDocument] = []
        self.acknowledged: list[str] = []
        self.documents: ContractDocuments | None = None

    def submit(self, submission: SubmissionFile, *, idempotency_key: str) -> SubmissionReceipt:
        self.sent.setdefault(idempotency_key, submission)
        return SubmissionReceipt(channel=self.identifier, submission_id=idempotency_key,
                                 accepted=True, idempotency_key=idempotency_key)

    def fetch_responses(self) -> list[InboundDocument]:
        return [d for d in self.waiting if d.document_id not in self.acknowledged]

    def acknowledge(self, document: InboundDocument) -> None:
        self.acknowledged.append(document.document_id)

    def exchange(self, kind: str, content: str) -> InboundDocument:
        if self.documents is None:
            raise AssertionError("the contract channel has no documents to answer with yet")
        wanted = kind.lower()
        if wanted == "270" or "elig" in wanted:
            return self.documents.eligibility
        return self.documents.claim_status


def contract_plugin(adapter: PayerAdapter, channel: SubmissionChannel) -> SimpleNamespace:
    """An in-process plugin registering ``adapter`` and ``channel``."""

    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [adapter]

    @hookimpl
    def medbill_register_channels(context: Any) -> list[SubmissionChannel]:
        return [channel]

    return SimpleNamespace(medbill_register_payer_adapters=medbill_register_payer_adapters,
                           medbill_register_channels=medbill_register_channels)


@dataclass
class SeededPractice:
    """The scenario's claims as stored: their ids by role (``a`` .. ``d``)."""

    scenario: ContractScenario
    patient_id: int
    claim_ids: dict[str, int]

    def state(self, app: Medbill, role: str) -> ClaimState:
        with app.unit_of_work(read_only=True) as work:
            return work.claims.get(self.claim_ids[role]).state


def seed_claims(app: Medbill, scenario: ContractScenario,
                providers: Sequence[Provider]) -> SeededPractice:
    """The scenario's patient, coverage and four claims (A with two lines, 143.50; the others
    one line, 125.00), validated and ready to send."""
    payer_key = scenario.payer.key
    with app.unit_of_work() as work:
        for provider in providers:
            work.patients.register_provider(provider)
        patient = work.patients.register(scenario.patient)
        coverage = work.patients.add_coverage(
            saved_id(patient), scenario.coverage.model_copy(update={"payer_key": payer_key}))
        ids: dict[str, int] = {}
        for role, number in zip(CLAIM_ROLES, scenario.claim_numbers, strict=True):
            claim = work.claims.create(factories.make_claim(
                saved_id(patient), coverage_id=coverage.id, payer_key=payer_key, number=number,
                lines=2 if role == "a" else 1, service_date=scenario.service_date))
            work.claims.transition(saved_id(claim), ClaimState.VALIDATED,
                                   reason="contract suite")
            ids[role] = saved_id(claim)
    return SeededPractice(scenario, saved_id(patient), ids)


def send_claims(app: Medbill, practice: SeededPractice, adapter: PayerAdapter
                ) -> SeededPractice:
    """Send the validated claims the way ``claims submit`` does (the adapter encodes them);
    an adapter that cannot encode claims has them marked submitted as a clearinghouse portal
    would. The scenario then carries the batch's control numbers, for the 999."""
    from sqlalchemy import select

    from medbill_core.services.submission import submit
    from medbill_core.storage.schema import SubmissionRow
    from medbill_core.x12_envelope import envelope_numbers

    if not adapter.supports_claims():
        with app.unit_of_work() as work:
            for claim_id in practice.claim_ids.values():
                work.claims.transition(claim_id, ClaimState.SUBMITTED, reason="contract suite")
        return practice
    outcomes = submit(app, claim_ids=practice.claim_ids.values())
    problems = [o.error for o in outcomes if o.error]
    if problems:
        raise AssertionError(f"the claims could not be sent: {problems}")
    with app.unit_of_work(read_only=True) as work:
        rows = list(work.session.scalars(select(SubmissionRow).order_by(SubmissionRow.id)))
        # a file that is not X12 has no GS06: a 999-like answer names it by its control number
        group = next((r.group_control_number or r.control_number for r in rows), None)
        sets = tuple(number for r in rows
                     for number in envelope_numbers(r.content).transactions)
    if group is None:
        return practice
    scenario = replace(practice.scenario, group_control_number=group,
                       transaction_set_numbers=sets or ("0001",))
    return replace(practice, scenario=scenario)


def render_for(documents: Callable[[ContractScenario], ContractDocuments],
               channel: ContractChannel, scenario: ContractScenario) -> ContractDocuments:
    """The scenario's documents, also given to the channel for its real-time answers."""
    rendered = documents(scenario)
    channel.documents = rendered
    return rendered


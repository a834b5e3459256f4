"""In-test plugins: real hook implementations with simple, test-only formats.

They exercise every hook through the facade without depending on the X12
plugins (those have their own tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from medbill_core.adapters import PayerAdapter, StatementRenderer, SubmissionChannel
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    BillableClaim,
    ClaimFinding,
    ClaimStatus,
    ClaimStatusRequest,
    ClaimStatusResponse,
    CoverageStatus,
    DocumentKind,
    EligibilityRequest,
    EligibilityResponse,
    InboundDocument,
    Payer,
    RenderedDocument,
    Severity,
    Statement,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.estimate import CostEstimate
from medbill_core.errors import SubmissionError
from medbill_core.hookspecs import hookimpl


class LineAdapter(PayerAdapter):
    """Encodes claims as 'claim_number|total' lines; decodes 'ELIG|status' documents.

    ``unencodable``: claim numbers it refuses to encode, as an adapter refuses a value its
    format cannot carry (a :class:`SubmissionError` naming the claim); ``""`` among them: a
    refusal naming no claim (the payer's own settings)."""

    identifier = "line_format"
    verbose_name = "Line format (tests)"

    unencodable: frozenset[str] = frozenset()

    def claim_edits(self, claim: BillableClaim) -> list[ClaimFinding]:
        if len(claim.claim.lines) > 3:
            return [ClaimFinding(severity=Severity.ERROR, code="line_format.too_many_lines",
                                 message="more than 3 lines", claim_number=claim.claim.claim_number,
                                 source=self.identifier)]
        return []

    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        if "" in self.unencodable:
            raise SubmissionError(f"payer {payer.key}: no sender ID to write")
        for position, claim in enumerate(claims, start=1):
            number = claim.claim.claim_number
            if number in self.unencodable:
                raise SubmissionError(f"claim {number}: line {position}: a value with the "
                                      "separator '|'", claim_number=number)
        body = "\n".join(f"{c.claim.claim_number}|{c.claim.total_charge}" for c in claims)
        return [SubmissionFile(payer_key=payer.key, kind=DocumentKind.OTHER, content=body,
                               claim_numbers=[c.claim.claim_number for c in claims],
                               control_number="000000001", filename="batch-000000001.txt")]

    def check_eligibility(self, request: EligibilityRequest,
                          channel: SubmissionChannel) -> EligibilityResponse:
        answer = channel.exchange("ELIG", request.trace_number)
        decoded = self.decode(answer)
        assert isinstance(decoded, EligibilityResponse)
        return decoded

    def check_claim_status(self, request: ClaimStatusRequest,
                           channel: SubmissionChannel) -> ClaimStatusResponse:
        return ClaimStatusResponse(trace_number=request.trace_number, claims=[
            ClaimStatus(claim_number=request.claim.claim.claim_number)])

    def decode(self, document: InboundDocument) -> EligibilityResponse | None:
        if not document.content.startswith("ELIG|"):
            return None
        _, status, trace = document.content.split("|", 2)
        return EligibilityResponse(trace_number=trace, status=CoverageStatus(status))


class LoopbackChannel(SubmissionChannel):
    """Keeps submissions in memory; answers real-time requests with 'active'."""

    identifier = "loopback"

    def __init__(self) -> None:
        self.submitted: dict[str, SubmissionFile] = {}
        self.waiting: list[InboundDocument] = []

    def submit(self, submission: SubmissionFile, *, idempotency_key: str) -> SubmissionReceipt:
        self.submitted.setdefault(idempotency_key, submission)
        return SubmissionReceipt(channel=self.identifier, submission_id=idempotency_key,
                                 accepted=True, idempotency_key=idempotency_key)

    def fetch_responses(self) -> list[InboundDocument]:
        documents, self.waiting = self.waiting, []
        return documents

    def exchange(self, kind: str, content: str) -> InboundDocument:
        return InboundDocument(channel=self.identifier, document_id=f"rt-{content}",
                               kind=DocumentKind.ELIGIBILITY_271,
                               content=f"ELIG|active|{content}")


class TextRenderer(StatementRenderer):
    identifier = "text"
    media_type = "text/plain"
    file_extension = "txt"

    def render(self, statement: Statement) -> RenderedDocument:
        text = f"Statement {statement.statement_number}\nBalance due: {statement.balance_due}\n"
        return RenderedDocument(renderer=self.identifier, media_type=self.media_type,
                                filename=f"statement-{statement.statement_number}.txt",
                                content=text.encode())

    def render_estimate(self, estimate: CostEstimate) -> RenderedDocument:
        text = f"Estimate {estimate.estimate_number}\nYou owe: {estimate.patient_total}\n"
        return RenderedDocument(renderer=self.identifier, media_type=self.media_type,
                                filename=f"estimate-{estimate.estimate_number}.txt",
                                content=text.encode())


class LineSettings(BaseModel):
    greeting: str = "hello"
    retries: int = 3


def line_practice_config(database_url: str) -> MedbillConfig:
    """A practice with one payer, ``linepay``, served by :func:`make_line_plugin`'s adapter
    and loopback channel (register the plugin as ``lineplug``)."""
    from medbill_core.testing import factories

    return MedbillConfig(database_url=database_url, actor="tester",
                         practice=factories.make_practice(),
                         payers={"linepay": factories.make_payer(
                             "linepay", adapter="line_format", channel="loopback")})


def make_line_plugin() -> SimpleNamespace:
    """A fresh plugin object (own channel state) implementing the registration hooks."""
    channel = LoopbackChannel()
    adapter = LineAdapter()

    @hookimpl
    def medbill_plugin_settings_model() -> type[BaseModel]:
        return LineSettings

    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [adapter]

    @hookimpl
    def medbill_register_channels(context: Any) -> list[SubmissionChannel]:
        return [channel]

    @hookimpl
    def medbill_register_statement_renderers(context: Any) -> list[StatementRenderer]:
        return [TextRenderer()]

    return SimpleNamespace(
        channel=channel, adapter=adapter,
        medbill_plugin_settings_model=medbill_plugin_settings_model,
        medbill_register_payer_adapters=medbill_register_payer_adapters,
        medbill_register_channels=medbill_register_channels,
        medbill_register_statement_renderers=medbill_register_statement_renderers,
    )

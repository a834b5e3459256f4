"""An installation of its own for the work queues' page tests (they change records: the
session's shared ``workspace`` must keep its seeded claims), with denied claims, and an
in-test payer adapter and channel so that a corrected claim can really be sent (this
plugin's suite runs with the core alone: no X12 plugin)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from medbill_workspace_web.testing import PRACTICE_A, Seed, Workspace, seed_workspace

from medbill_core.api import (
    Adjustment,
    AdjustmentGroup,
    BillableClaim,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    DocumentKind,
    InboundDocument,
    Payer,
    PayerAdapter,
    Remittance,
    SubmissionChannel,
    SubmissionFile,
    SubmissionReceipt,
    hookimpl,
)
from medbill_core.api.testing import factories
from medbill_core.api.workspace import Medbill, Role, create_app, post_remittance

_numbers = itertools.count(1)


class LineAdapter(PayerAdapter):
    """Claims as ``number|total`` lines: enough for the outbox to send them."""

    identifier = "queue_lines"
    verbose_name = "Lines (work-queue tests)"

    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        body = "\n".join(f"{c.claim.claim_number}|{c.claim.total_charge}" for c in claims)
        number = f"{next(_numbers):09d}"
        return [SubmissionFile(payer_key=payer.key, kind=DocumentKind.OTHER, content=body,
                               claim_numbers=[c.claim.claim_number for c in claims],
                               control_number=number, filename=f"batch-{number}.txt")]


class Loopback(SubmissionChannel):
    """Takes every file."""

    identifier = "queue_loopback"

    def submit(self, submission: SubmissionFile, *, idempotency_key: str) -> SubmissionReceipt:
        return SubmissionReceipt(channel=self.identifier, submission_id=idempotency_key,
                                 accepted=True, idempotency_key=idempotency_key)

    def fetch_responses(self) -> list[InboundDocument]:
        return []


def line_plugin() -> SimpleNamespace:
    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [LineAdapter()]

    @hookimpl
    def medbill_register_channels(context: Any) -> list[SubmissionChannel]:
        return [Loopback()]

    return SimpleNamespace(medbill_register_payer_adapters=medbill_register_payer_adapters,
                           medbill_register_channels=medbill_register_channels)


def queues_config(database_url: str) -> Any:
    from medbill_workspace_web.testing import workspace_config

    config = workspace_config(database_url)
    payers = {key: payer.model_copy(update={"adapter": "queue_lines",
                                            "channel": "queue_loopback"})
              for key, payer in config.payers.items()}
    return config.model_copy(update={"payers": payers})


def open_queues_workspace(database_url: str) -> Workspace:
    from medbill_workspace_web import plugin

    medbill = Medbill.open(queues_config(database_url),
                           extra_plugins=[("workspace_web", plugin),
                                          ("queue_lines", line_plugin())],
                           load_installed=False, upgrade=True)
    seed = seed_workspace(medbill)
    return Workspace(medbill, seed, create_app(medbill))


@dataclass(frozen=True)
class Denied:
    claim_id: int
    claim_number: str
    amount: Decimal


def denied_claim(workspace: Workspace, code: tuple[str, str], *, days_ago: int = 20,
                 payer: str = "acme") -> Denied:
    """A claim of practice A, sent, accepted and denied ``days_ago`` with ``code`` (group,
    CARC) for its whole charge."""
    seed: Seed = workspace.seed
    admin = seed.principal(seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    n = next(_numbers)
    service = date.today() - timedelta(days=days_ago + 30)
    with workspace.medbill.unit_of_work(principal=admin) as work:
        patient = work.patients.register(factories.make_patient(
            500 + n, account_number=f"Q{500 + n:05d}"))
        coverage = work.patients.add_coverage(patient.id or 0, factories.make_coverage(
            patient.id, payer_key=payer, member_id=f"QM{n:07d}"))
        claim = work.claims.create(factories.make_claim(
            patient.id or 0, coverage_id=coverage.id, payer_key=payer,
            number=f"QCLM{n:04d}", service_date=service))
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
            work.claims.transition(claim.id or 0, target)
        work.claims.record_payer_claim_number(claim.id or 0, f"QPCN{n}")
    payment = ClaimPayment(
        claim_number=claim.claim_number, status=ClaimStatusCode.DENIED,
        charge=claim.total_charge, paid=Decimal("0.00"), payer_claim_number=f"QPCN{n}",
        adjustments=[Adjustment(group=AdjustmentGroup(code[0]), reason_code=code[1],
                                amount=claim.total_charge)])
    remittance = Remittance(trace_number=f"QTRN{n}", payment_amount=Decimal("0.00"),
                            payer_name="Payer", payee_name="Clinic",
                            payer_id=workspace.medbill.config.payers[payer].payer_id,
                            payment_date=date.today() - timedelta(days=days_ago),
                            claims=[payment])
    with workspace.medbill.unit_of_work(principal=admin) as work:
        post_remittance(work, remittance)
    return Denied(claim.id or 0, claim.claim_number, claim.total_charge)

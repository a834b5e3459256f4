"""Records for the claim page's and the account page's tests, added to a seeded workspace
(:func:`medbill_workspace_web.testing.seed_workspace`): a claim that went through a whole
X12 cycle and was denied, with the documents exchanged for it stored as received, and a
self-pay claim whose balance the patient owes.

No payer plugin is installed beside the workspace, so the exchange is recorded as the core
records it: the outbox file (an 837P), the payer's answers applied (999, 277CA, 835) and the
documents stored as a channel delivered them. The X12 texts are public sample files (the X12
engine's test fixtures) with the claim's number put in: real loops for the readable view.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from medbill_workspace_web.testing import (
    PRACTICE_A,
    Seed,
    open_workspace,
    seed_workspace,
    workspace_config,
)

from medbill_core.api import (
    AckStatus,
    Adjustment,
    AdjustmentGroup,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    FunctionalAcknowledgment,
    Remittance,
    ServicePayment,
    StatusCode,
)
from medbill_core.api.testing import factories
from medbill_core.api.workspace import Medbill, Role, create_app
from medbill_core.services.remittance import post_remittance
from medbill_core.services.responses import apply_decoded
from medbill_core.storage.schema import InboundDocumentRow, SubmissionRow

FIXTURES = Path(__file__).resolve().parents[2] / "payer_generic_x12" / "tests" / "fixtures"
CLAIM_837 = FIXTURES / "837P-X222A2" / "lfh__demo.cob.2ndary.example4.837"
ERA_835 = FIXTURES / "835" / "lfh__managed-care.835"
D = Decimal


@dataclass(frozen=True)
class DeniedClaim:
    id: int
    claim_number: str
    patient_id: int


@dataclass
class Records:
    """A seeded workspace of the records pages' tests, with :func:`denied_claim` added."""

    medbill: Medbill
    seed: Seed
    app: Any
    denied: DeniedClaim


@contextmanager
def records_workspace(folder: Path) -> Iterator[Records]:
    """A workspace of its own (these tests change records; the shared one's are counted by
    the shell's tests), in ``folder``."""
    medbill = open_workspace(workspace_config(f"sqlite:///{folder / 'records.db'}"))
    try:
        seed = seed_workspace(medbill)
        yield Records(medbill, seed, create_app(medbill), denied_claim(medbill, seed))
    finally:
        medbill.close()


def _envelope(*segments: str) -> str:
    isa = ("ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *261201*1200"
           "*^*00501*000000901*0*P*:~")
    return isa + "".join(f"{segment}~" for segment in segments) + "IEA*1*000000901~"


def denied_claim(medbill: Medbill, seed: Seed, number: str = "DEN0001", *,
                 patient: int = 0) -> DeniedClaim:
    """A claim of practice A's ``patient``-th seeded patient sent, acknowledged, accepted and
    answered by an 835 that paid line 1 (80.00; CO-45 25.00, PR-2 20.00) and denied line 2
    (CO-50 18.50)."""
    ada = seed.principal(seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    patient_id = seed.patients[PRACTICE_A][patient]
    group = str(777 + patient)
    with medbill.unit_of_work(principal=ada) as work:
        coverage = work.patients.coverages(patient_id)[0]
        claim = work.claims.create(factories.make_claim(
            patient_id, coverage_id=coverage.id, payer_key="acme", number=number, lines=2))
        assert claim.id is not None
        for target in (ClaimState.VALIDATED, ClaimState.QUEUED, ClaimState.SUBMITTED):
            work.claims.transition(claim.id, target, reason="sent in the tests' batch")
        work.session.add(SubmissionRow(
            idempotency_key=f"records-{number}", payer_key="acme", channel="clearinghouse",
            kind="837P", control_number=f"000000{group}", group_control_number=group,
            filename=f"acme-{group}.x12", claim_numbers=[number], status="sent",
            content=CLAIM_837.read_text().replace("CLM*125WILL*", f"CLM*{number}*")))
        work.session.flush()
        apply_decoded(work, FunctionalAcknowledgment(
            group_control_number=group, functional_id="HC", status=AckStatus.ACCEPTED))
    _received(medbill, seed, "999", f"ack-{number}", _envelope(
        "GS*FA*PAYER*CLINIC*20261201*1200*901*X*005010X231A1", "ST*999*0001*005010X231A1",
        f"AK1*HC*{group}*005010X222A1", "AK9*A*1*1*1", "SE*4*0001", "GE*1*901"))
    with medbill.unit_of_work(principal=ada) as work:
        apply_decoded(work, ClaimAcknowledgmentBatch(claims=[ClaimAcknowledgment(
            claim_number=number, status=ClaimAckStatus.ACCEPTED, payer_claim_number="PCN-77",
            status_codes=[StatusCode(category="A1", code="20")])]))
    _received(medbill, seed, "277CA", f"ca-{number}", _envelope(
        "GS*HN*PAYER*CLINIC*20261201*1200*902*X*005010X214", "ST*277*0001*005010X214",
        f"TRN*2*{number}", "STC*A1:20*20261201*WQ*143.5", "SE*4*0001", "GE*1*902"))
    with medbill.unit_of_work(principal=ada) as work:
        post_remittance(work, Remittance(
            trace_number=f"TRN-{number}", payment_amount=D("80.00"), payer_name="Acme",
            payer_id="ACME1", payee_name="Clinic", payment_date=date.today(),
            claims=[ClaimPayment(
                claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
                paid=D("80.00"), patient_responsibility=D("20.00"),
                payer_claim_number="PCN-77", services=[
                    ServicePayment(procedure_code="99213", charge=D("125.00"),
                                   paid=D("80.00"), adjustments=[
                                       Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                                  reason_code="45", amount=D("25.00")),
                                       Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                                  reason_code="2", amount=D("20.00"))]),
                    ServicePayment(procedure_code="36415", charge=D("18.50"), paid=D("0.00"),
                                   adjustments=[Adjustment(
                                       group=AdjustmentGroup.CONTRACTUAL, reason_code="50",
                                       amount=D("18.50"))])])]))
    _received(medbill, seed, "835", f"era-{number}",
              ERA_835.read_text().replace("CLP*5554555444*", f"CLP*{number}*"))
    with medbill.unit_of_work(principal=ada, read_only=True) as work:
        assert work.claims.get(claim.id).state is ClaimState.DENIED
    return DeniedClaim(claim.id, number, patient_id)


def _received(medbill: Medbill, seed: Seed, kind: str, document_id: str, content: str) -> None:
    ada = seed.principal(seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    with medbill.unit_of_work(principal=ada) as work:
        work.session.add(InboundDocumentRow(
            channel="clearinghouse", document_id=document_id, kind=kind, content=content,
            content_sha256=document_id, status="applied"))


def self_pay_patient(medbill: Medbill, seed: Seed, number: int) -> tuple[int, int]:
    """A new patient of practice A with a self-pay visit (125.00 + 18.50, owed by the
    patient from the start): (patient id, claim id)."""
    ada = seed.principal(seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    with medbill.unit_of_work(principal=ada) as work:
        patient = work.patients.register(factories.make_patient(
            number, account_number=f"S{number:05d}"))
        assert patient.id is not None
        claim = work.claims.create(factories.make_claim(
            patient.id, coverage_id=None, number=f"SELF{number:04d}", lines=2,
            service_date=date.today() - timedelta(days=12)))
        assert claim.id is not None
    return patient.id, claim.id

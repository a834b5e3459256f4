"""Records for the claim page's and the account page's tests, made through medbill's public
API on a seeded workspace (:func:`medbill_workspace_web.testing.seed_workspace`): a claim that
went through a whole X12 cycle and was denied, and a self-pay claim the patient owes.

No payer plugin is installed beside the workspace, so the test stands in for one: a payer
adapter and a channel under the names the seeded payers use (``generic_x12``,
``clearinghouse_mock``). Its 837P is a public sample file (the X12 engine's test fixture)
with the claim's number put in; the payer's answers (999, 277CA, 835) are uploaded as a
clearinghouse's files are (``POST /v1/inbound-documents``), and the stand-in adapter
"decodes" each into the answer the test wrote for it. The core applies them and stores the
documents as received: real loops for the readable view, real postings for the page.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fastapi.testclient import TestClient
from medbill_workspace_web import plugin as workspace_plugin
from medbill_workspace_web.testing import (
    PRACTICE_A,
    Seed,
    client_sign_in,
    seed_workspace,
    workspace_config,
)

from medbill_core.api import (
    AckStatus,
    Adjustment,
    AdjustmentGroup,
    BillableClaim,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    DocumentKind,
    FunctionalAcknowledgment,
    InboundDocument,
    Payer,
    PayerAdapter,
    Remittance,
    RenderedDocument,
    ServicePayment,
    Statement,
    StatementRenderer,
    StatusCode,
    SubmissionChannel,
    SubmissionFile,
    SubmissionReceipt,
    hookimpl,
)
from medbill_core.api.testing import factories
from medbill_core.api.workspace import Medbill, Role, create_app, scrub_claims, submit_claims

FIXTURES = Path(__file__).resolve().parents[2] / "payer_generic_x12" / "tests" / "fixtures"
CLAIM_837 = FIXTURES / "837P-X222A2" / "lfh__demo.cob.2ndary.example4.837"
ERA_835 = FIXTURES / "835" / "lfh__managed-care.835"
D = Decimal


class StandInAdapter(PayerAdapter):
    """The seeded payers' adapter in these tests: 837Ps from the sample file, answers
    "decoded" from what the test wrote for each document's text."""

    identifier = "generic_x12"

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self._numbers = itertools.count(701)
        #: the functional group number (GS06) of the last file encoded: what its 999 names
        self.last_group = ""

    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]
                      ) -> list[SubmissionFile]:
        number = next(self._numbers)
        self.last_group = str(number)
        claim_numbers = [item.claim.claim_number for item in claims]
        content = (CLAIM_837.read_text().replace("CLM*125WILL*", f"CLM*{claim_numbers[0]}*")
                   .replace("*1147*1*X*", f"*1147*{number}*X*"))  # GS06: the group's number
        return [SubmissionFile(payer_key=payer.key, kind=DocumentKind.CLAIM_837P,
                               content=content, claim_numbers=claim_numbers,
                               control_number=f"{number:09d}", filename=f"{number}.837")]

    def decode(self, document: InboundDocument) -> Any:
        return self.answers.get(document.content)


class StandInChannel(SubmissionChannel):
    """Takes every file; the payer's answers arrive as uploads."""

    identifier = "clearinghouse_mock"

    def submit(self, submission: SubmissionFile, *, idempotency_key: str) -> SubmissionReceipt:
        return SubmissionReceipt(channel=self.identifier, submission_id=idempotency_key,
                                 accepted=True, idempotency_key=idempotency_key)

    def fetch_responses(self) -> list[InboundDocument]:
        return []


class StandInRenderer(StatementRenderer):
    """Statements as a line of text (the PDF renderer is another plugin's)."""

    identifier = "text"
    media_type = "text/plain"
    file_extension = "txt"

    def render(self, statement: Statement) -> RenderedDocument:
        text = f"Statement {statement.statement_number}\nBalance due: {statement.balance_due}\n"
        return RenderedDocument(renderer=self.identifier, media_type=self.media_type,
                                filename=f"statement-{statement.statement_number}.txt",
                                content=text.encode())


def stand_in_plugin(adapter: StandInAdapter) -> SimpleNamespace:
    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [adapter]

    @hookimpl
    def medbill_register_channels(context: Any) -> list[SubmissionChannel]:
        return [StandInChannel()]

    @hookimpl
    def medbill_register_statement_renderers(context: Any) -> list[StatementRenderer]:
        return [StandInRenderer()]

    return SimpleNamespace(medbill_register_payer_adapters=medbill_register_payer_adapters,
                           medbill_register_channels=medbill_register_channels,
                           medbill_register_statement_renderers=(
                               medbill_register_statement_renderers))


def page_text(html: str) -> str:
    """The page's text, tags dropped and spaces folded (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


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
    adapter: StandInAdapter
    denied: DeniedClaim = field(init=False)


@contextmanager
def records_workspace(folder: Path) -> Iterator[Records]:
    """A workspace of its own in ``folder`` (these tests change records; the shared one's are
    counted by the shell's tests), the stand-in payer plugin beside the workspace."""
    adapter = StandInAdapter()
    medbill = Medbill.open(workspace_config(f"sqlite:///{folder / 'records.db'}"),
                           extra_plugins=[("workspace_web", workspace_plugin),
                                          ("stand_in_payer", stand_in_plugin(adapter))],
                           load_installed=False, upgrade=True)
    try:
        app = create_app(medbill)
        app.state.statements_dir = folder / "statements"  # where statement runs write
        records = Records(medbill, seed_workspace(medbill), app, adapter)
        records.denied = denied_claim(records)
        yield records
    finally:
        medbill.close()


def _envelope(*segments: str) -> str:
    isa = ("ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *261201*1200"
           "*^*00501*000000901*0*P*:~")
    return isa + "".join(f"{segment}~" for segment in segments) + "IEA*1*000000901~"


def _upload(records: Records, content: str, answer: Any) -> None:
    """The payer's file as a clearinghouse's upload; the stand-in decodes it as ``answer``."""
    records.adapter.answers[content] = answer
    with TestClient(records.app, base_url="http://127.0.0.1") as client:
        csrf = client_sign_in(client, records.seed.both, practice=PRACTICE_A)
        answer_ = client.post("/v1/inbound-documents", content=content.encode(),
                              headers={"Content-Type": "text/plain", "X-CSRF-Token": csrf})
    assert answer_.status_code == 201, answer_.text
    assert answer_.json()["status"] == "applied", answer_.json()


def denied_claim(records: Records, number: str = "DEN0001", *,
                 patient: int = 0) -> DeniedClaim:
    """A claim of practice A's ``patient``-th seeded patient scrubbed and sent, acknowledged
    (999), accepted (277CA) and answered by an 835 that paid line 1 (80.00; CO-45 25.00, PR-2
    20.00) and denied line 2 (CO-50 18.50)."""
    medbill, seed = records.medbill, records.seed
    ada = seed.principal(seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    patient_id = seed.patients[PRACTICE_A][patient]
    with medbill.unit_of_work(principal=ada) as work:
        coverage = work.patients.coverages(patient_id)[0]
        claim = work.claims.create(factories.make_claim(
            patient_id, coverage_id=coverage.id, payer_key="acme", number=number, lines=2))
        assert claim.id is not None
        assert scrub_claims(work, [claim.id]).results[0].clean
    with medbill.acting_for(ada):
        [sent] = submit_claims(medbill, claim_ids=[claim.id])
    assert sent.error is None
    with medbill.unit_of_work(principal=ada, read_only=True) as work:
        assert work.claims.get(claim.id).state is ClaimState.SUBMITTED
    return _answered(records, claim.id, number, patient_id, records.adapter.last_group)


def _answered(records: Records, claim_id: int, number: str, patient_id: int,
              group: str) -> DeniedClaim:
    _upload(records, _envelope(
        f"GS*FA*PAYER*CLINIC*20261201*1200*9{group}*X*005010X231A1",
        "ST*999*0001*005010X231A1", f"AK1*HC*{group}*005010X222A1",
        "AK2*837*0001*005010X222A1", "IK5*A", "AK9*A*1*1*1", "SE*6*0001", f"GE*1*9{group}"),
        FunctionalAcknowledgment(group_control_number=group, functional_id="HC",
                                 status=AckStatus.ACCEPTED))
    _upload(records, _envelope(
        f"GS*HN*PAYER*CLINIC*20261201*1200*8{group}*X*005010X214", "ST*277*0001*005010X214",
        f"TRN*2*{number}", "STC*A1:20*20261201*WQ*143.5", "SE*4*0001", f"GE*1*8{group}"),
        ClaimAcknowledgmentBatch(claims=[ClaimAcknowledgment(
            claim_number=number, status=ClaimAckStatus.ACCEPTED,
            payer_claim_number=f"PCN-{number}",
            status_codes=[StatusCode(category="A1", code="20")])]))
    _upload(records, ERA_835.read_text().replace("CLP*5554555444*", f"CLP*{number}*"),
            Remittance(
                trace_number=f"TRN-{number}", payment_amount=D("80.00"), payer_name="Acme",
                payer_id="ACME1", payee_name="Clinic", payment_date=date.today(),
                claims=[ClaimPayment(
                    claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
                    paid=D("80.00"), patient_responsibility=D("20.00"),
                    payer_claim_number=f"PCN-{number}", services=[
                        ServicePayment(procedure_code="99213", charge=D("125.00"),
                                       paid=D("80.00"), adjustments=[
                                           Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                                      reason_code="45", amount=D("25.00")),
                                           Adjustment(
                                               group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                               reason_code="2", amount=D("20.00"))]),
                        ServicePayment(procedure_code="36415", charge=D("18.50"),
                                       paid=D("0.00"), adjustments=[Adjustment(
                                           group=AdjustmentGroup.CONTRACTUAL,
                                           reason_code="50", amount=D("18.50"))])])]))
    ada = records.seed.principal(records.seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    with records.medbill.unit_of_work(principal=ada, read_only=True) as work:
        assert work.claims.get(claim_id).state is ClaimState.DENIED
    return DeniedClaim(claim_id, number, patient_id)


def self_pay_patient(records: Records, number: int) -> tuple[int, int]:
    """A new patient of practice A with a self-pay visit (125.00 + 18.50, owed by the
    patient from the start): (patient id, claim id)."""
    ada = records.seed.principal(records.seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    with records.medbill.unit_of_work(principal=ada) as work:
        patient = work.patients.register(factories.make_patient(
            number, account_number=f"S{number:05d}"))
        assert patient.id is not None
        claim = work.claims.create(factories.make_claim(
            patient.id, coverage_id=None, number=f"SELF{number:04d}", lines=2,
            service_date=date.today() - timedelta(days=12)))
        assert claim.id is not None
    return patient.id, claim.id

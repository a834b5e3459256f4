"""Numbers and received documents are a practice's own (migration 0043), on SQLite and
PostgreSQL, with two practices ("default" and "north"): both may number a claim RB0000001 (the
HTTP API answered 500, and told one practice which numbers the other used), while one practice
is refused a number twice (422, one line); 835s, 277CAs and recoupments find the acting
practice's claim of that number only; the same X12 file uploaded by both practices is each
one's to apply, and another practice's 835 posted by mistake leaves exceptions, not a 500 nor a
document stuck in "posting"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inproc_plugins import line_practice_config, make_line_plugin
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from test_http_api import assert_problem

from medbill_core.adapters import PayerAdapter
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    DocumentKind,
    InboundDocument,
    PaymentMethod,
    ProviderAdjustment,
    Remittance,
)
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import NotAuthenticated, ValidationFailed
from medbill_core.hookspecs import hookimpl
from medbill_core.http import create_app
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.services import payer_refunds, remittance_register
from medbill_core.services.identity import add_practice
from medbill_core.services.remittance import post_remittance
from medbill_core.services.remittance_register import list_remittances, remittance_detail
from medbill_core.services.responses import apply_decoded, ingest_document
from medbill_core.storage.schema import (
    ClaimRow,
    DocumentStatus,
    InboundDocumentRow,
    ProviderAdjustmentRow,
)
from medbill_core.testing import factories

D = Decimal
S = ClaimState
NUMBER = "RB0000001"
TODAY = date.today()
KEYS = {"mbk_default": "default", "mbk_north": "north"}
AS_DEFAULT = {"Authorization": "Bearer mbk_default"}
AS_NORTH = {"Authorization": "Bearer mbk_north"}
X12 = {"Content-Type": "application/edi-x12"}


# -- an adapter reading a test 835: an X12 envelope around the remittance as JSON -----------------

def x12_835(remittance: Remittance) -> str:
    return f"ST*835*0001~RMT*{remittance.model_dump_json()}~SE*3*0001~"


def _remittance_in(content: str) -> Remittance | None:
    if not content.startswith("ST*835*"):
        return None
    return Remittance.model_validate_json(content.split("~")[1].removeprefix("RMT*"))


class _Parts:
    def __init__(self, remittance: Remittance) -> None:
        self.remittance = remittance

    def claims(self) -> Iterator[ClaimPayment]:
        return iter(self.remittance.claims)

    @property
    def header(self) -> Remittance:
        return self.remittance.model_copy(update={"claims": [], "provider_adjustments": []})

    @property
    def provider_adjustments(self) -> list[ProviderAdjustment]:
        return list(self.remittance.provider_adjustments)


class Json835Adapter(PayerAdapter):
    """Decodes :func:`x12_835` files whole, or streams them (posted in parts) when
    ``streams``."""

    identifier = "json_835"
    streams = False

    def decode(self, document: InboundDocument) -> Remittance | None:
        return _remittance_in(document.content)

    def stream_remittances(self, document: InboundDocument) -> Any:
        remittance = _remittance_in(document.content)
        if not self.streams or remittance is None:
            return None
        return iter([_Parts(remittance)])


@pytest.fixture(params=["whole", "in parts"])
def posting(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def medbill_extra_plugins(request: pytest.FixtureRequest) -> list[tuple[str, Any]]:
    adapter = Json835Adapter()
    adapter.streams = ("posting" in request.fixturenames
                       and request.getfixturevalue("posting") == "in parts")

    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [adapter]

    return [("lineplug", make_line_plugin()), ("json835", SimpleNamespace(
        medbill_register_payer_adapters=medbill_register_payer_adapters))]


# -- two practices, each with a patient insured by linepay ----------------------------------------

def admin(practice_id: int) -> Principal:
    return Principal(kind=PrincipalKind.USER, id=0, name="owner", practice_id=practice_id,
                     role=Role.ADMINISTRATOR, bootstrap=True)


@pytest.fixture
def practices(medbill_app: Medbill) -> dict[str, dict[str, int]]:
    """Practice code -> its id, patient id and coverage id."""
    first = medbill_app.default_practice_id()
    assert first is not None
    with medbill_app.unit_of_work(principal=admin(first)) as work:
        north = add_practice(work, work.principal, "north", "North Clinic",
                             details=medbill_app.config.practice).id
    made = {}
    for code, practice_id in (("default", first), ("north", north)):
        with medbill_app.unit_of_work(principal=admin(practice_id)) as work:
            work.patients.register_provider(factories.make_provider())
            patient = work.patients.register(factories.make_patient(1))
            coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="linepay"))
        made[code] = {"id": practice_id, "patient_id": patient.id, "coverage_id": coverage.id}
    return made


def claim_of(app: Medbill, practice: dict[str, int], number: str = NUMBER,
             state: ClaimState = S.ACCEPTED) -> int:
    """A two-line claim (143.50) of the practice's patient, moved on to ``state``."""
    with app.unit_of_work(principal=admin(practice["id"])) as work:
        claim = work.claims.create(factories.make_claim(
            practice["patient_id"], coverage_id=practice["coverage_id"], payer_key="linepay",
            number=number, lines=2))
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            if claim.state is state:
                break
            claim = work.claims.transition(claim.id, target)
        return claim.id


def paid(number: str, amount: str) -> ClaimPayment:
    return ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
                        paid=D(amount), patient_responsibility=D("0"), adjustments=[Adjustment(
                            group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                            amount=D("143.50") - D(amount))])


def remittance(trace: str, *payments: ClaimPayment,
               plbs: tuple[ProviderAdjustment, ...] = ()) -> Remittance:
    """An 835 from linepay (its BPR02 what the claim payments and PLBs add up to, at least
    zero)."""
    amount = max(D("0"), sum((p.paid for p in payments), D("0"))
                 - sum((a.amount for a in plbs), D("0")))
    return Remittance(trace_number=trace, payment_amount=amount, payment_method=PaymentMethod.ACH,
                      payment_date=TODAY, production_date=TODAY, payer_name="Line Health",
                      payer_id="LINE1", payee_name="Lakeside Family Practice",
                      claims=list(payments), provider_adjustments=list(plbs))


def plb(amount: str, reference: str | None = None, reason: str = "L6") -> ProviderAdjustment:
    return ProviderAdjustment(provider_id="1234567893", reason_code=reason, reference=reference,
                              fiscal_period_date=TODAY, amount=D(amount))


def payments_on(app: Medbill, practice: dict[str, int], claim_id: int) -> Decimal:
    with app.unit_of_work(principal=admin(practice["id"]), read_only=True) as work:
        return work.ledger.totals(claim_id=claim_id)[EntryKind.PAYER_PAYMENT]


@pytest.fixture
def client(medbill_app: Medbill, practices: dict[str, dict[str, int]]) -> Iterator[TestClient]:
    def authenticate(_medbill: Medbill, token: str) -> Principal:
        if token not in KEYS:
            raise NotAuthenticated("unknown key")
        return Principal(kind=PrincipalKind.API_KEY, id=1, name=f"ehr-{KEYS[token]}",
                         practice_id=practices[KEYS[token]]["id"], role=Role.BILLER)

    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


# -- claim numbers --------------------------------------------------------------------------------

def claim_body(practice: dict[str, int], number: str = NUMBER) -> dict[str, Any]:
    body = factories.make_claim(practice["patient_id"], coverage_id=practice["coverage_id"],
                                payer_key="linepay", number=number).model_dump(
        mode="json", exclude_none=True)
    for assigned in ("id", "state", "frequency"):
        body.pop(assigned, None)
    return body


def test_two_practices_may_use_one_claim_number_a_practice_not_twice(
        client: TestClient, practices: dict[str, dict[str, int]], medbill_app: Medbill) -> None:
    mine = client.post("/v1/claims", headers=AS_DEFAULT, json=claim_body(practices["default"]))
    assert mine.status_code == 201, mine.text
    theirs = client.post("/v1/claims", headers=AS_NORTH, json=claim_body(practices["north"]))
    assert theirs.status_code == 201, theirs.text  # was 500: UNIQUE(claim_number)
    assert theirs.json()["claim_number"] == NUMBER and theirs.json()["id"] != mine.json()["id"]
    for headers, practice in ((AS_NORTH, "north"), (AS_DEFAULT, "default")):
        problem = assert_problem(client.post("/v1/claims", headers=headers,
                                             json=claim_body(practices[practice])),
                                 422, "validation-failed")
        assert problem["detail"] == f"claim {NUMBER}: claim_number: already used by another claim"
    # each practice finds its own claim by the number
    for practice, created in (("default", mine), ("north", theirs)):
        with medbill_app.unit_of_work(principal=admin(practices[practice]["id"]),
                                      read_only=True) as work:
            assert work.claims.find(NUMBER).id == created.json()["id"]
            assert work.claims.by_numbers([NUMBER])[NUMBER].id == created.json()["id"]


def test_a_number_taken_at_the_same_time_is_refused_as_already_used(
        medbill_app: Medbill, practices: dict[str, dict[str, int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Another transaction's claim with the number committed after the look for it: the
    database refuses the insert, answered as the look answers (never an error 500)."""
    from medbill_core.services import claims as claims_module

    claim_of(medbill_app, practices["north"], state=S.DRAFT)
    looks = claims_module.chunks

    def blind_first_look(items: Any, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(claims_module, "chunks", looks)
        return []

    monkeypatch.setattr(claims_module, "chunks", blind_first_look)
    with pytest.raises(ValidationFailed) as refused, \
            medbill_app.unit_of_work(principal=admin(practices["north"]["id"])) as work:
        work.claims.create(factories.make_claim(
            practices["north"]["patient_id"], coverage_id=practices["north"]["coverage_id"],
            payer_key="linepay", number=NUMBER))
    assert str(refused.value) == f"claim {NUMBER}: claim_number: already used by another claim"


def test_answers_find_the_acting_practices_claim_of_the_number(
        medbill_app: Medbill, practices: dict[str, dict[str, int]]) -> None:
    default, north = practices["default"], practices["north"]
    ours = claim_of(medbill_app, default, state=S.SUBMITTED)
    theirs = claim_of(medbill_app, north, state=S.SUBMITTED)
    ack = ClaimAcknowledgmentBatch(claims=[ClaimAcknowledgment(
        claim_number=NUMBER, status=ClaimAckStatus.ACCEPTED, payer_claim_number="PCN-N")])
    with medbill_app.unit_of_work(principal=admin(north["id"])) as work:
        assert apply_decoded(work, ack) == "277CA: 1 accepted, 0 rejected, 0 not applicable"
    with medbill_app.unit_of_work(principal=admin(north["id"])) as work:
        result = post_remittance(work, remittance("N-1", paid(NUMBER, "100.00")))
        assert (result.posted, result.unmatched) == ([NUMBER], [])
    assert payments_on(medbill_app, north, theirs) == D("100.00")
    assert payments_on(medbill_app, default, ours) == D("0.00")
    with medbill_app.database.reader() as session:  # the installation's view
        assert {row.id: (row.state, row.payer_claim_number) for row in session.scalars(
            select(ClaimRow))} == {ours: ("submitted", None), theirs: ("closed", "PCN-N")}


def test_a_claim_payment_another_practice_posted_first_is_posted_all_the_same(
        medbill_app: Medbill, practices: dict[str, dict[str, int]], posting: str) -> None:
    """North posts the default practice's 835 by mistake, before the default practice does,
    and holds a claim of the same number: the default practice's own posting still pays its
    claim (an 835's posting keys name the payer, trace and claim number: they are each
    practice's own), and counts nothing as already posted but what it posted itself."""
    default, north = practices["default"], practices["north"]
    ours, theirs = claim_of(medbill_app, default), claim_of(medbill_app, north)
    document = InboundDocument(channel="upload", document_id="shared-835",
                               kind=DocumentKind.REMITTANCE_835,
                               content=x12_835(remittance("SHARED-1", paid(NUMBER, "100.00"))))
    details = []
    for practice in (north, default, default):
        with medbill_app.acting_for(admin(practice["id"])):
            result = ingest_document(medbill_app, document)
        details.append((result.status, result.detail))
    assert details == [
        (DocumentStatus.APPLIED, "835 SHARED-1: 1 posted, 0 already posted, 0 unmatched"),
        (DocumentStatus.APPLIED, "835 SHARED-1: 1 posted, 0 already posted, 0 unmatched"),
        (DocumentStatus.DUPLICATE, "already received")]
    with medbill_app.unit_of_work(principal=admin(default["id"])) as work:  # posted again
        again = post_remittance(work, remittance("SHARED-1", paid(NUMBER, "100.00")))
        assert (again.posted, again.duplicates) == ([], [NUMBER])
    assert payments_on(medbill_app, default, ours) == D("100.00")
    assert payments_on(medbill_app, north, theirs) == D("100.00")
    for practice, claim_id in ((default, ours), (north, theirs)):
        with medbill_app.unit_of_work(principal=admin(practice["id"]), read_only=True) as work:
            [register] = list_remittances(work)
            assert (register.posted_count, register.duplicate_count) == (1, 0)
            [answer] = remittance_detail(work, "SHARED-1").claims
            assert answer.claim_id == claim_id


def test_a_recoupment_closes_the_request_of_the_practice_that_received_it(
        medbill_app: Medbill, practices: dict[str, dict[str, int]]) -> None:
    """A PLB recouping an overpayment names the claim by its number: the default practice's
    PLB naming RB0000001 never closes north's request for its own RB0000001."""
    default, north = practices["default"], practices["north"]
    claim_of(medbill_app, default)
    theirs = claim_of(medbill_app, north)
    with medbill_app.unit_of_work(principal=admin(north["id"])) as work:
        work.ledger.post("test:overpaid", "test", [LedgerLine(
            EntryKind.PAYER_PAYMENT, D("173.50"), patient_id=north["patient_id"],
            claim_id=theirs, payer_key="linepay")], effective_date=TODAY, allow_credit=True)
        payer_refunds.request_payer_refund(work, theirs, D("30.00"), "overpaid")
    with medbill_app.unit_of_work(principal=admin(default["id"])) as work:
        post_remittance(work, remittance("D-RECOUP", plbs=(plb("30.00", NUMBER, "WO"),)))
    with medbill_app.unit_of_work(principal=admin(north["id"])) as work:
        assert payer_refunds.match_recoupments(work) == []
        assert work.session.scalars(select(ProviderAdjustmentRow)).all() == []
    with medbill_app.unit_of_work(principal=admin(north["id"])) as work:  # its own PLB does
        post_remittance(work, remittance("N-RECOUP", plbs=(plb("30.00", NUMBER, "WO"),)))
    with medbill_app.unit_of_work(principal=admin(north["id"])) as work:
        [match] = payer_refunds.match_recoupments(work)
        assert (match.how, match.reference) == ("plb", "835:LINE1:N-RECOUP:PLB:1")


# -- received documents ---------------------------------------------------------------------------

def _listed(client: TestClient, headers: dict[str, str]) -> list[tuple[str, str]]:
    return [(d["kind"], d["status"]) for d in
            client.get("/v1/inbound-documents", headers=headers).json()["data"]]


def test_the_same_file_uploaded_by_two_practices_is_each_ones(client: TestClient) -> None:
    """An X12 file no plugin decodes: refused as undecodable for each (the second was a 500:
    UNIQUE(channel, document_id) across practices)."""
    ack = "ST*999*0001*005010X231A1~AK1*HC*1*005010X222A1~AK9*A*1*1*1~SE*4*0001~"
    for headers in (AS_DEFAULT, AS_NORTH, AS_NORTH):
        assert_problem(client.post("/v1/inbound-documents", headers={**headers, **X12},
                                   content=ack), 422, "undecodable-document")
    assert _listed(client, AS_DEFAULT) == _listed(client, AS_NORTH) == [("999", "undecodable")]


def test_another_practices_835_posted_by_mistake_leaves_exceptions(
        client: TestClient, medbill_app: Medbill, practices: dict[str, dict[str, int]],
        posting: str) -> None:
    default, north = practices["default"], practices["north"]
    ours = claim_of(medbill_app, default, "RB0000002")
    content = x12_835(remittance("D-835", paid("RB0000002", "100.00"),
                                 plbs=(plb("2.50", "INTEREST"),)))
    first = client.post("/v1/inbound-documents", headers={**AS_DEFAULT, **X12}, content=content)
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["detail"]) == (
        "applied", "835 D-835: 1 posted, 0 already posted, 0 unmatched")
    # north posts the same file: its claims are not in it (was a 500, the document "posting")
    wrong = client.post("/v1/inbound-documents", headers={**AS_NORTH, **X12}, content=content)
    assert wrong.status_code == 201, wrong.text
    assert (wrong.json()["status"], wrong.json()["detail"]) == (
        "applied", "835 D-835: 0 posted, 0 already posted, 1 unmatched")
    again = client.post("/v1/inbound-documents", headers={**AS_NORTH, **X12}, content=content)
    assert (again.status_code, again.json()) == (200, wrong.json())
    assert _listed(client, AS_NORTH) == [("835", "applied")]
    assert payments_on(medbill_app, default, ours) == D("100.00")
    with medbill_app.unit_of_work(principal=admin(default["id"]), read_only=True) as work:
        [register] = list_remittances(work)
        assert (register.status, register.posted_count, register.exception_count,
                register.plb_count) == ("balanced", 1, 0, 1)
    with medbill_app.unit_of_work(principal=admin(north["id"]), read_only=True) as work:
        [register] = list_remittances(work)
        assert (register.status, register.posted_count, register.exception_count,
                register.plb_count) == ("exceptions", 0, 1, 1)
        detail = remittance_detail(work, "D-835")
        assert [e["claim_number"] for e in detail.exceptions] == ["RB0000002"]
        assert [p["amount"] for p in detail.provider_adjustments] == ["2.50"]
    with medbill_app.database.reader() as session:
        assert sorted(session.scalars(select(ProviderAdjustmentRow.practice_id))) == sorted(
            [default["id"], north["id"]])


def test_a_collision_while_posting_fails_the_document_never_leaves_it_posting(
        client: TestClient, medbill_app: Medbill, practices: dict[str, dict[str, int]],
        posting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refusing what an 835 writes (twice: no race) is a failed document, tried
    again when received again; not an error 500 and not a document left "posting"."""
    claim_of(medbill_app, practices["north"])
    content = x12_835(remittance("N-835", paid(NUMBER, "100.00")))

    def refused(*_args: Any) -> int:
        raise IntegrityError("INSERT INTO remittance_exceptions ...", None,
                             Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(remittance_register, "_open_exceptions", refused)
    answer = client.post("/v1/inbound-documents", headers={**AS_NORTH, **X12}, content=content)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "failed"
    assert "collides with one stored already" in answer.json()["detail"]
    with medbill_app.database.reader() as session:
        [row] = session.scalars(select(InboundDocumentRow)).all()
        assert (row.status, row.lease_until, row.lease_holder) == ("failed", None, None)
    monkeypatch.undo()  # the collision gone, the same file again is applied
    answer = client.post("/v1/inbound-documents", headers={**AS_NORTH, **X12}, content=content)
    assert (answer.status_code, answer.json()["status"]) == (201, "applied"), answer.text
    assert answer.json()["detail"].startswith("835 N-835: ")


def test_a_fetched_document_is_stored_once_per_practice(
        medbill_app: Medbill, practices: dict[str, dict[str, int]]) -> None:
    document = InboundDocument(channel="loopback", document_id="doc-1",
                               kind=DocumentKind.ELIGIBILITY_271, content="ELIG|active|T1")
    statuses = []
    for practice in ("default", "north", "north"):
        with medbill_app.acting_for(admin(practices[practice]["id"])):
            statuses.append(ingest_document(medbill_app, document).status)
    assert statuses == [DocumentStatus.APPLIED, DocumentStatus.APPLIED, DocumentStatus.DUPLICATE]
    with medbill_app.database.reader() as session:
        assert sorted(session.scalars(select(InboundDocumentRow.practice_id))) == sorted(
            [practices["default"]["id"], practices["north"]["id"]])

"""The claim page and the patient account page services (services/claim_page.py,
claim_documents.py, patient_account.py): a claim driven through a cycle shows its documents,
transitions, postings and adjudication values; the actions shown follow role and state."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from inproc_plugins import line_practice_config, make_line_plugin
from sqlalchemy import select

from medbill_core.domain import (
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
from medbill_core.domain.accounts import Payment
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import NotFound, PermissionDenied
from medbill_core.services.claim_documents import claim_documents, document_content
from medbill_core.services.claim_page import (
    ClaimAction,
    ClaimFacts,
    available_actions,
    claim_page,
)
from medbill_core.services.identity import add_practice
from medbill_core.services.patient_account import InstallmentStatus, patient_account
from medbill_core.services.payments import new_plan, record_payment
from medbill_core.services.remittance import post_remittance
from medbill_core.services.responses import apply_decoded
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import submit
from medbill_core.storage.schema import AuditEventRow, InboundDocumentRow, SubmissionRow
from medbill_core.testing import factories

D = Decimal
S = ClaimState


@pytest.fixture
def medbill_config(medbill_db_url: str):
    return line_practice_config(medbill_db_url)


@pytest.fixture
def medbill_extra_plugins():
    return [("lineplug", make_line_plugin())]


def as_role(app, role: Role, practice_id: int | None = None) -> Principal:
    return Principal(kind=PrincipalKind.USER, id=0, name=f"{role.value}-user",
                     practice_id=practice_id or app.default_practice_id(), role=role,
                     bootstrap=True)


def x12(*segments: str) -> str:
    """An interchange around ``segments`` (ISA is 106 characters: separators at 3 and 105)."""
    isa = ("ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *260301*1200"
           "*^*00501*000000901*0*P*:~")
    assert len(isa) == 106
    return isa + "".join(f"{s}~" for s in segments) + "IEA*1*000000901~"


def store(app, kind: str, document_id: str, content: str) -> None:
    with app.unit_of_work() as work:
        work.session.add(InboundDocumentRow(channel="loopback", document_id=document_id,
                                            kind=kind, content=content, content_sha256="x",
                                            status="applied"))


def cycle(app) -> int:
    """WH1 (99213 $125.00 + 36415 $18.50) scrubbed, sent, acknowledged (999), accepted
    (277CA) and answered by an 835: line 1 paid 80.00 (CO-45 25.00, PR-2 20.00), line 2
    denied CO-50 18.50; each document stored as received, with look-alikes for WH10."""
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="linepay"))
        claim_id = int(work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, payer_key="linepay", number="WH1",
            lines=2)).id)
        work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, payer_key="linepay", number="WH10",
            service_date=date.today() - timedelta(days=3)))
    with app.unit_of_work() as work:
        scrub_claims(work, [claim_id])
    submit(app)
    with app.unit_of_work() as work:
        control = work.session.scalar(select(SubmissionRow.control_number))
        apply_decoded(work, FunctionalAcknowledgment(
            group_control_number=control, functional_id="HC", status=AckStatus.ACCEPTED))
    store(app, "999", "ack-1", x12("GS*FA*PAYER*CLINIC*20260301*1200*7*X*005010X231A1",
                                   "ST*999*0001", "AK1*HC*1*005010X222A1", "AK9*A*1*1*1",
                                   "SE*4*0001", "GE*1*7"))
    store(app, "999", "ack-other", x12("ST*999*0001", "AK1*HC*2*005010X222A1", "SE*3*0001"))
    with app.unit_of_work() as work:
        apply_decoded(work, ClaimAcknowledgmentBatch(claims=[ClaimAcknowledgment(
            claim_number="WH1", status=ClaimAckStatus.ACCEPTED, payer_claim_number="PCN-1",
            status_codes=[StatusCode(category="A1", code="20")])]))
    store(app, "277CA", "ca-1", x12("ST*277*0001", "TRN*2*WH1", "STC*A1:20*20260301*WQ",
                                    "SE*4*0001"))
    store(app, "835", "era-wh10", x12("ST*835*0001", "CLP*WH10*1*50*50**MC*PCN-10",
                                      "SE*3*0001"))
    with app.unit_of_work() as work:
        post_remittance(work, Remittance(
            trace_number="TRN-1", payment_amount=D("80.00"), payer_name="Line Payer",
            payer_id="LINE1", payee_name="Clinic", payment_date=date.today(),
            claims=[ClaimPayment(
                claim_number="WH1", status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
                paid=D("80.00"), patient_responsibility=D("20.00"), payer_claim_number="PCN-1",
                remark_codes=["N130"],
                services=[
                    ServicePayment(procedure_code="99213", charge=D("125.00"), paid=D("80.00"),
                                   adjustments=[
                                       Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                                  reason_code="45", amount=D("25.00")),
                                       Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                                  reason_code="2", amount=D("20.00"))]),
                    ServicePayment(procedure_code="36415", charge=D("18.50"), paid=D("0.00"),
                                   adjustments=[Adjustment(
                                       group=AdjustmentGroup.CONTRACTUAL, reason_code="50",
                                       amount=D("18.50"))])])]))
    store(app, "835", "era-1", x12("ST*835*0001", "TRN*1*TRN-1*1LINE1",
                                   "CLP*WH1*1*143.5*80*20*MC*PCN-1", "SE*4*0001"))
    return claim_id


def test_a_claim_through_its_cycle_shows_documents_history_postings_and_adjudication(
        medbill_app) -> None:
    claim_id = cycle(medbill_app)
    with medbill_app.unit_of_work(principal=as_role(medbill_app, Role.BILLER)) as work:
        page = claim_page(work, claim_id)
    assert page.claim.claim_number == "WH1" and page.account_number == "A00001"
    assert [(line.line_number, line.procedure.code, line.charge) for line in page.lines] == [
        (1, "99213", D("125.00")), (2, "36415", D("18.50"))]
    # ICD-10-CM ships with medbill: the diagnoses are in words as of the date of service
    assert [d.code for d in page.diagnoses] == ["E119", "I10"]
    assert page.diagnoses[1].description and "hypertension" in page.diagnoses[1].description.lower()
    # 36415 is a CPT code (descriptor not shipped): no description is made up
    assert page.lines[1].procedure.description is None
    assert [(t.source, t.target) for t in page.history][:5] == [
        (S.DRAFT, S.VALIDATED), (S.VALIDATED, S.QUEUED), (S.QUEUED, S.SUBMITTED),
        (S.SUBMITTED, S.ACKNOWLEDGED), (S.ACKNOWLEDGED, S.ACCEPTED)]
    # the denied line decides: CLP02 1 with a line denied kept open is a denial to work
    assert page.history[-1].target is page.claim.state is S.DENIED
    # the file sent, its 999, the 277CA and the 835 that name WH1; not WH10's 835 nor
    # another group's 999
    assert [(d.direction, d.kind, d.name) for d in page.documents] == [
        ("sent", "other", "batch-000000001.txt"), ("received", "999", "ack-1"),
        ("received", "277CA", "ca-1"), ("received", "835", "era-1")]
    [answer] = page.adjudications
    assert (answer.status, answer.paid, answer.adjustments) == ("primary", D("80.00"), ())
    first, second = answer.lines
    assert (first.line_number, first.charge, first.allowed, first.paid) == (
        1, D("125.00"), D("100.00"), D("80.00"))
    assert [(a.group, a.reason_code, a.amount) for a in first.adjustments] == [
        ("CO", "45", D("25.00")), ("PR", "2", D("20.00"))]
    assert first.adjustments[1].meaning.startswith("PR-2 Patient Responsibility: Coinsurance")
    assert (second.allowed, second.paid) == (D("0.00"), D("0.00"))
    assert [r.code for r in answer.remarks] == ["N130"]
    kinds = [(p.kind, p.amount) for p in page.postings]
    assert ("charge", D("125.00")) in kinds and ("payer_payment", D("80.00")) in kinds
    assert ("contractual_adjustment", D("25.00")) in kinds
    assert ("transfer_to_patient", D("20.00")) in kinds
    # 143.50 - 80 paid - 25 adjusted - 20 to the patient: the denied 18.50 stays with the payer
    assert (page.insurance_balance, page.patient_balance) == (D("18.50"), D("20.00"))
    [denial] = page.denials
    assert (denial.code, denial.amount, denial.status.value) == ("CO-50", D("18.50"), "open")
    actions = {(a.action, a.denial_id) for a in page.actions}
    assert actions == {(ClaimAction.CORRECT, None), (ClaimAction.STATUS_CHECK, None),
                       (ClaimAction.APPEAL, denial.id), (ClaimAction.RESEND, denial.id)}
    # the manager may also write the denial off and void the claim; front desk: nothing
    with medbill_app.unit_of_work(principal=as_role(medbill_app, Role.BILLING_MANAGER)) as work:
        manager = {(a.action, a.denial_id) for a in claim_page(work, claim_id).actions}
    assert manager - actions == {(ClaimAction.WRITE_OFF, denial.id), (ClaimAction.VOID, None)}
    with medbill_app.unit_of_work(principal=as_role(medbill_app, Role.FRONT_DESK)) as work:
        front = claim_page(work, claim_id)
    assert front.actions == () and front.denials == () and front.appeals == ()


def test_a_document_is_read_only_through_its_claim_and_the_read_is_audited(
        medbill_app) -> None:
    claim_id = cycle(medbill_app)
    biller = as_role(medbill_app, Role.BILLER)
    with medbill_app.unit_of_work(principal=biller) as work:
        era = next(d for d in claim_documents(work, claim_id) if d.kind == "835")
        document, content = document_content(work, claim_id, era.key, via="workspace")
        other = work.claims.find("WH10")
        with pytest.raises(NotFound):  # WH10's documents are not WH1's
            document_content(work, int(other.id), era.key, via="workspace")
    assert "CLP*WH1*" in content and document.filename == f"{era.key}-835.x12"
    with medbill_app.unit_of_work(read_only=True) as work:
        [event] = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "claim.document_read")).all()
    assert (event.actor, event.entity_id, event.details) == (
        "user:biller-user", str(claim_id), {"via": "workspace", "document": era.key, "kind": "835"})


def test_another_practices_claim_and_patient_are_not_found(medbill_app) -> None:
    claim_id = cycle(medbill_app)
    owner = as_role(medbill_app, Role.ADMINISTRATOR)
    with medbill_app.unit_of_work(principal=owner) as work:
        other = add_practice(work, owner, "smith-peds", "Smith Pediatrics",
                             details=medbill_app.config.practice.model_copy(
                                 update={"name": "Smith Pediatrics"})).id
    with medbill_app.unit_of_work(principal=as_role(medbill_app, Role.BILLER, other)) as work:
        with pytest.raises(NotFound):
            claim_page(work, claim_id)
        with pytest.raises(NotFound):
            patient_account(work, 1, via="workspace")


@pytest.mark.parametrize(("state", "sent", "expected"), [
    (S.DRAFT, False, {ClaimAction.EDIT, ClaimAction.SCRUB, ClaimAction.DELETE}),
    (S.VALIDATED, False, {ClaimAction.EDIT, ClaimAction.SCRUB, ClaimAction.DELETE,
                          ClaimAction.SUBMIT}),
    # a rejected claim reopened once: no delete (it was sent), no void of a draft
    (S.DRAFT, True, {ClaimAction.EDIT, ClaimAction.SCRUB}),
    (S.REJECTED, True, {ClaimAction.REOPEN, ClaimAction.VOID, ClaimAction.STATUS_CHECK}),
    (S.SUBMITTED, True, {ClaimAction.STATUS_CHECK}),
    (S.PAID, True, {ClaimAction.CORRECT, ClaimAction.VOID, ClaimAction.STATUS_CHECK}),
    # whether the payer took the void: still a question for the payer
    (S.VOIDED, True, {ClaimAction.STATUS_CHECK}),
])
def test_the_administrator_gets_what_the_lifecycle_allows(state, sent, expected) -> None:
    facts = ClaimFacts(state=state, ever_sent=sent, has_payer=True,
                       payer_claim_number=state not in (S.DRAFT, S.VALIDATED, S.REJECTED,
                                                        S.SUBMITTED),
                       shares_account=False, open_denials=(), appeal_in_progress=False)
    assert {a.action for a in available_actions(Role.ADMINISTRATOR, facts)} == expected


@pytest.mark.parametrize(("role", "expected"), [
    (Role.ADMINISTRATOR, {"appeal", "write_off", "transfer_to_patient", "resend", "correct",
                          "void", "status_check"}),
    (Role.BILLING_MANAGER, {"appeal", "write_off", "transfer_to_patient", "resend",
                            "correct", "void", "status_check"}),
    # segregation of duties: the biller works the denial but neither writes it off nor voids
    (Role.BILLER, {"appeal", "transfer_to_patient", "resend", "correct", "status_check"}),
    (Role.FRONT_DESK, set()),
    (Role.AUDITOR, set()),
])
def test_a_denied_claims_actions_follow_the_role(role, expected) -> None:
    facts = ClaimFacts(state=S.DENIED, ever_sent=True, has_payer=True, payer_claim_number=True,
                       shares_account=False,
                       open_denials=((7, "PR"),), appeal_in_progress=False)
    assert {a.action.value for a in available_actions(role, facts)} == expected
    in_progress = ClaimFacts(state=S.DENIED, ever_sent=True, has_payer=True,
                             payer_claim_number=True, shares_account=False,
                             open_denials=((7, "CO"),), appeal_in_progress=True)
    shown = {a.action for a in available_actions(role, in_progress)}
    # the denials service refuses every decision while an appeal is open or sent
    assert shown.isdisjoint({ClaimAction.APPEAL, ClaimAction.WRITE_OFF,
                             ClaimAction.TRANSFER_TO_PATIENT, ClaimAction.RESEND})
    marked = ClaimFacts(state=S.DENIED, ever_sent=True, has_payer=True,
                        payer_claim_number=True, shares_account=False,
                        open_denials=((7, "PR"),), appeal_in_progress=False,
                        marked_resend=frozenset({7}))
    # a second "resend" is refused: not offered
    assert {a.action.value for a in available_actions(role, marked)} == expected - {"resend"}


def test_the_account_shows_balance_by_bucket_payments_and_plan_installments(
        medbill_app) -> None:
    claim_id = cycle(medbill_app)
    front = as_role(medbill_app, Role.FRONT_DESK)
    today = date.today()
    with medbill_app.unit_of_work(principal=front) as work:
        before = patient_account(work, 1, via="workspace", as_of=today)
        record_payment(work, Payment(patient_id=1, amount=D("5.00"), method="cash",
                                     reference="R-1", received_on=today))
        new_plan(work, 1, D("15.00"), 3, today - timedelta(days=40), confirmed_date=True)
    with medbill_app.unit_of_work(principal=front) as work:
        after = patient_account(work, 1, via="workspace", as_of=today)
    # WH1's denied 18.50 and WH10's 125.00 (never sent) are the payer's
    assert (before.insurance_balance, before.patient_balance) == (D("143.50"), D("20.00"))
    assert (after.insurance_balance, after.patient_balance) == (D("143.50"), D("15.00"))
    # the patient's 15.00 ages from the transfer today
    assert after.aging.patient.buckets["0-30"] == D("15.00")
    assert after.aging.insurance_total.total == D("18.50") + D("125.00")
    assert [(p.amount, p.method, p.reference) for p in after.payments] == [
        (D("5.00"), "cash", "R-1")]
    [plan] = after.plans
    # due 40 and 10 days ago and in 20 days: the first missed (past the 5 grace days), the
    # second also missed, the third upcoming
    assert [i.status for i in plan.installments] == [
        InstallmentStatus.MISSED, InstallmentStatus.MISSED, InstallmentStatus.DUE]
    assert [i.amount for i in plan.installments] == [D("5.00")] * 3
    # the latest date of service first: WH10 was three days ago, WH1 earlier
    assert [c.claim_number for c in after.claims] == ["WH10", "WH1"]
    assert claim_id == after.claims[1].id
    with medbill_app.unit_of_work(read_only=True) as work:
        reads = work.session.scalars(select(AuditEventRow.actor).where(
            AuditEventRow.action == "patient.read")).all()
    assert reads == ["user:front_desk-user", "user:front_desk-user"]


def test_the_account_shows_each_coverages_eligibility_checks_latest_first(medbill_app) -> None:
    from medbill_core.services.eligibility import check_patient_eligibility

    cycle(medbill_app)
    front = as_role(medbill_app, Role.FRONT_DESK)
    for _ in range(2):  # the loopback payer answers "active"
        check_patient_eligibility(medbill_app, "A00001", date.today(), ["30"], principal=front)
    with medbill_app.unit_of_work(principal=front) as work:
        account = patient_account(work, 1, via="workspace")
    [coverage] = account.coverages
    assert coverage.active and coverage.coverage.payer_key == "linepay"
    assert [(check.status, check.rejects, check.actor) for check in coverage.eligibility] == [
        ("active", (), "user:front_desk-user")] * 2
    assert coverage.eligibility[0].at >= coverage.eligibility[1].at
    # another practice's patient and coverage: none of this practice's checks
    owner = as_role(medbill_app, Role.ADMINISTRATOR)
    with medbill_app.unit_of_work(principal=owner) as work:
        other = add_practice(work, owner, "smith-peds", "Smith Pediatrics",
                             details=medbill_app.config.practice.model_copy(
                                 update={"name": "Smith Pediatrics"})).id
    with medbill_app.unit_of_work(principal=as_role(medbill_app, Role.ADMINISTRATOR,
                                                    other)) as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        work.patients.add_coverage(patient.id, factories.make_coverage(payer_key="linepay"))
        [theirs] = patient_account(work, int(patient.id), via="workspace").coverages
    assert theirs.eligibility == ()


def test_the_auditor_may_read_the_account_but_a_role_without_payments_may_not(
        medbill_app, monkeypatch) -> None:
    cycle(medbill_app)
    with medbill_app.unit_of_work(principal=as_role(medbill_app, Role.AUDITOR)) as work:
        assert patient_account(work, 1, via="workspace").patient_balance == D("20.00")
    from medbill_core import permissions

    table = dict(permissions.PERMISSIONS)
    table[permissions.Action.PAYMENTS_READ] = frozenset({Role.ADMINISTRATOR})
    monkeypatch.setattr(permissions, "PERMISSIONS", table)
    with medbill_app.unit_of_work(principal=as_role(medbill_app, Role.AUDITOR)) as work, \
            pytest.raises(PermissionDenied):
        patient_account(work, 1, via="workspace")

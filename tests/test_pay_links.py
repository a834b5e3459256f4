"""Pay links (:mod:`medbill_core.services.pay_links`) on SQLite and PostgreSQL: codes stored as
hashes only, expiry and revocation, the date-of-birth check with its lock and escalation
counted in the database (seen by another instance), another family's date refused, the
amount and plan rules, a payment posted once whether the webhook or the browser comes first,
and an audit trail naming the link, never its code."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from card_gateway_support import FakeGateway, webhook
from sqlalchemy import select, update

from medbill_core.adapters import StatementRenderer
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig, PayLinkSettings
from medbill_core.domain import GuarantorRelationship, RenderedDocument, Statement
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.gateways import GatewayCapability
from medbill_core.hookspecs import hookimpl
from medbill_core.http.serving import prepare_server
from medbill_core.services import pay_links
from medbill_core.services.card_payments import (
    Applied,
    CardPaymentStatus,
    balance_owed,
    handle_webhook,
)
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.pay_links import (
    ALPHABET,
    LinkProblem,
    LinkStatus,
    PayLinkUnusable,
    issue_link,
    list_links,
    normalize_code,
    revoke_link,
)
from medbill_core.services.pay_visits import (
    CheckOutcome,
    balance_of,
    check_birth_date,
    enrol_plan,
    finish_payment,
    open_visit,
    parse_amount,
    plan_choices,
    purge_ended_visits,
    start_payment,
)
from medbill_core.services.statements import run_statements
from medbill_core.storage.schema import (
    AuditEventRow,
    PayLinkRow,
    PayLinkSessionRow,
    PaymentPlanRow,
    PaymentRow,
    StatementRow,
    utcnow,
)
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


class HostedGateway(FakeGateway):
    """The core tests' in-process gateway, with a card page of its own."""

    capabilities = FakeGateway.capabilities | {GatewayCapability.HOSTED_CHECKOUT}

    def checkout_url(self, intent_id: str, *, client_secret: str, return_url: str) -> str:
        return f"https://gateway.test/checkout/{intent_id}?return={return_url}"


HOSTED = HostedGateway()


class LinkText(StatementRenderer):
    """A statement as the lines a test reads: its number and its pay link."""

    identifier = "linktext"
    media_type = "text/plain"
    file_extension = "txt"

    def render(self, statement: Statement) -> RenderedDocument:
        text = f"{statement.statement_number}\n{statement.pay_url}\n{statement.pay_code}\n"
        return RenderedDocument(renderer=self.identifier, media_type=self.media_type,
                                filename=f"statement-{statement.statement_number}.txt",
                                content=text.encode())


class _Plugin:
    @hookimpl
    def medbill_register_payment_gateways(self, context: Any) -> list[Any]:
        return [HOSTED]

    @hookimpl
    def medbill_register_statement_renderers(self, context: Any) -> list[Any]:
        return [LinkText()]


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    return medbill_config.model_copy(update={
        "payment_gateway": "fake",
        "pay_links": PayLinkSettings(public_url="https://pay.example.org/",
                                     plan_minimum_installment=D("25.00"),
                                     plan_maximum_months=6)})


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    HOSTED.reset()
    return [("hosted_gateway", _Plugin())]


_numbers = iter(range(700, 10_000))


def owing(app: Medbill, *charges: str, born: date) -> int:
    """A new self-pay patient born on ``born`` owing ``charges`` (a claim each)."""
    number = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number).model_copy(
            update={"birth_date": born}))
        assert patient.id is not None
        for i, charge in enumerate(charges):
            day = TODAY - timedelta(days=30 - i)
            claim = factories.make_claim(patient.id, coverage_id=None,
                                         number=f"PL{number}-{i}", service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]}))
        return patient.id


def issue(app: Medbill, **owner: int) -> pay_links.IssuedLink:
    with app.unit_of_work() as work:
        return issue_link(work, **owner)


def verified(app: Medbill, code: str, born: date) -> str:
    token = open_visit(app, code).token
    assert check_birth_date(app, token, born).outcome is CheckOutcome.PASSED
    return token


def audit_of(app: Medbill, link_id: int) -> list[AuditEventRow]:
    with app.unit_of_work(read_only=True) as work:
        return list(work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.entity_type == "pay_link",
            AuditEventRow.entity_id == str(link_id)).order_by(AuditEventRow.id)))


# -- codes and links ---------------------------------------------------------------------------

def test_a_code_is_twelve_unambiguous_characters_stored_only_as_its_hash(
        medbill_app: Medbill) -> None:
    patient = owing(medbill_app, "40.00", born=date(1980, 4, 27))
    issued = issue(medbill_app, patient_id=patient)
    assert len(issued.code) == 12 and set(issued.code) <= set(ALPHABET)
    assert not set(issued.code) & set("01ILOU")
    assert issued.url == f"https://pay.example.org/pay?code={issued.printed_code}"
    assert issued.printed_code == "-".join((issued.code[:4], issued.code[4:8], issued.code[8:]))
    assert abs(issued.expires_at - (utcnow() + timedelta(days=60))) < timedelta(minutes=1)
    with medbill_app.unit_of_work(read_only=True) as work:
        row = work.session.get(PayLinkRow, issued.id)
        assert row is not None
        assert row.code_hash == pay_links.code_hash(issued.code) != issued.code
        values = [str(getattr(row, column.key)) for column in PayLinkRow.__table__.columns]
    assert not any(issued.code in value for value in values)
    # the audit trail names the link, never its code
    [event] = audit_of(medbill_app, issued.id)
    assert event.action == "pay_link.issue"
    assert issued.code not in str(event.details) and issued.printed_code not in str(event.details)


def test_typed_codes_forgive_case_and_separators_only() -> None:
    assert normalize_code(" k7qm-4xpd r2wa ") == "K7QM4XPDR2WA"
    assert normalize_code("K7QM4XPDR2W") is None  # one short
    assert normalize_code("K7QM4XPDR2W0") is None  # 0 is not in the alphabet


def test_codes_are_random(medbill_app: Medbill) -> None:
    patient = owing(medbill_app, "40.00", born=date(1980, 4, 27))
    codes = {issue(medbill_app, patient_id=patient).code for _ in range(20)}
    assert len(codes) == 20


def test_the_link_belongs_to_whoever_pays(medbill_app: Medbill) -> None:
    parent = owing(medbill_app, "50.00", born=date(1975, 1, 2))
    child = owing(medbill_app, "30.00", born=date(2012, 6, 7))
    with medbill_app.unit_of_work() as work:
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(parent)
        service.assign(child, guarantor.id, GuarantorRelationship.PARENT)
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="issue the guarantor's link"):
        issue_link(work, patient_id=child)
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="a guarantor or a patient"):
        issue_link(work)
    with medbill_app.unit_of_work() as work, pytest.raises(NotFound):
        issue_link(work, guarantor_id=999_999)
    assert guarantor.id is not None
    issued = issue(medbill_app, guarantor_id=guarantor.id)
    # either patient's date of birth opens the family's link; the balance is the family's
    token = verified(medbill_app, issued.code, date(2012, 6, 7))
    balance = balance_of(medbill_app, token)
    assert balance.total_due == D("80.00")
    assert sorted(p.balance for p in balance.patients) == [D("30.00"), D("50.00")]
    for patient in balance.patients:  # first name and last initial only
        _first, initial = patient.label.split(" ")
        assert len(initial) == 2 and initial.endswith(".")


def test_expired_and_revoked_links_say_so(medbill_app: Medbill) -> None:
    patient = owing(medbill_app, "40.00", born=date(1980, 4, 27))
    old = issue(medbill_app, patient_id=patient)
    new = issue(medbill_app, patient_id=patient)
    # a newer link leaves the older paper statement working
    open_visit(medbill_app, old.code)
    with medbill_app.unit_of_work() as work:
        work.session.execute(update(PayLinkRow).where(PayLinkRow.id == old.id).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(PayLinkUnusable) as expired:
        open_visit(medbill_app, old.code)
    assert expired.value.problem is LinkProblem.EXPIRED
    token = open_visit(medbill_app, new.code).token
    with medbill_app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="say why"):
            revoke_link(work, new.id, " ")
        assert revoke_link(work, new.id, "mailed to a wrong address").status is \
            LinkStatus.REVOKED
    with pytest.raises(PayLinkUnusable) as revoked:
        open_visit(medbill_app, new.code)
    assert revoked.value.problem is LinkProblem.REVOKED
    # the visit opened before the revocation ends with it
    with pytest.raises(PayLinkUnusable):
        check_birth_date(medbill_app, token, date(1980, 4, 27))
    with pytest.raises(PayLinkUnusable) as unknown:
        open_visit(medbill_app, "2345-6789-ABCD")
    assert unknown.value.problem is LinkProblem.UNKNOWN
    with medbill_app.unit_of_work(read_only=True) as work:
        statuses = {view.id: view.status for view in list_links(work, patient_id=patient)}
    assert statuses == {old.id: LinkStatus.EXPIRED, new.id: LinkStatus.REVOKED}



def test_visits_ended_a_day_ago_are_purged_and_the_purge_audited(medbill_app: Medbill) -> None:
    patient = owing(medbill_app, "40.00", born=date(1980, 4, 27))
    issued = issue(medbill_app, patient_id=patient)
    tokens = [open_visit(medbill_app, issued.code).token for _ in range(3)]
    now = utcnow()
    with medbill_app.unit_of_work() as work:
        ids = list(work.session.scalars(select(PayLinkSessionRow.id)
                                        .order_by(PayLinkSessionRow.id)))
        # ended two days ago, a day ago less a minute, still open
        for visit_id, ended in zip(ids, [now - timedelta(days=2),
                                         now - timedelta(days=1) + timedelta(minutes=1)],
                                   strict=False):
            work.session.execute(update(PayLinkSessionRow).where(
                PayLinkSessionRow.id == visit_id).values(expires_at=ended))
    assert purge_ended_visits(medbill_app, now=now) == 1
    with medbill_app.unit_of_work(read_only=True) as work:
        assert list(work.session.scalars(select(PayLinkSessionRow.id)
                                         .order_by(PayLinkSessionRow.id))) == ids[1:]
        [event] = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "pay_link.visits_purged")).all()
    assert (event.actor, event.details["deleted"]) == ("medbill:serve", 1)
    # the visit still open works; the purged one opens nothing
    assert check_birth_date(medbill_app, tokens[2], date(1980, 4, 27)).outcome is \
        CheckOutcome.PASSED
    with pytest.raises(PayLinkUnusable):
        check_birth_date(medbill_app, tokens[0], date(1980, 4, 27))
    assert purge_ended_visits(medbill_app, now=now) == 0
    # a server's start purges them
    with medbill_app.unit_of_work() as work:
        work.session.execute(update(PayLinkSessionRow).where(
            PayLinkSessionRow.id == ids[2]).values(expires_at=now - timedelta(days=3)))
    prepare_server(medbill_app)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert list(work.session.scalars(select(PayLinkSessionRow.id))) == [ids[1]]

# -- the date of birth -------------------------------------------------------------------------

def test_another_familys_date_of_birth_is_refused(medbill_app: Medbill) -> None:
    mine = owing(medbill_app, "40.00", born=date(1980, 4, 27))
    owing(medbill_app, "40.00", born=date(1966, 9, 9))
    token = open_visit(medbill_app, issue(medbill_app, patient_id=mine).code).token
    result = check_birth_date(medbill_app, token, date(1966, 9, 9))
    assert (result.outcome, result.attempts_left) == (CheckOutcome.WRONG, 4)
    with pytest.raises(PayLinkUnusable):
        balance_of(medbill_app, token)


def test_five_wrong_dates_lock_the_link_and_each_lock_lasts_twice_as_long(
        medbill_app: Medbill, medbill_config: MedbillConfig) -> None:
    born = date(1980, 4, 27)
    patient = owing(medbill_app, "40.00", born=born)
    issued = issue(medbill_app, patient_id=patient)
    token = open_visit(medbill_app, issued.code).token
    wrong = date(1981, 1, 1)
    # the count is the database's: another instance (another worker, another server) sees it
    other = Medbill.open(medbill_config, extra_plugins=[("hosted_gateway", _Plugin())],
                         load_installed=False)
    try:
        left = [check_birth_date(app, token, wrong).attempts_left
                for app in (medbill_app, other, medbill_app, other)]
        assert left == [4, 3, 2, 1]
        locked = check_birth_date(other, token, wrong)
    finally:
        other.close()
    assert locked.outcome is CheckOutcome.LOCKED
    assert locked.locked_until is not None
    assert timedelta(minutes=14) < locked.locked_until - utcnow() <= timedelta(minutes=15)
    # locked: even the right date waits
    assert check_birth_date(medbill_app, token, born).outcome is CheckOutcome.LOCKED
    # the lock runs out; five more wrong dates lock it for 30 minutes
    with medbill_app.unit_of_work() as work:
        work.session.execute(update(PayLinkRow).where(PayLinkRow.id == issued.id).values(
            locked_until=utcnow() - timedelta(seconds=1)))
    for _ in range(4):
        assert check_birth_date(medbill_app, token, wrong).outcome is CheckOutcome.WRONG
    second = check_birth_date(medbill_app, token, wrong)
    assert second.outcome is CheckOutcome.LOCKED and second.locked_until is not None
    assert timedelta(minutes=29) < second.locked_until - utcnow() <= timedelta(minutes=30)
    with medbill_app.unit_of_work(read_only=True) as work:
        [view] = list_links(work, patient_id=patient)
    assert (view.status, view.locks) == (LinkStatus.LOCKED, 2)
    actions = [event.action for event in audit_of(medbill_app, issued.id)]
    assert actions.count("pay_link.check_failed") == 10
    assert actions.count("pay_link.lock") == 2
    assert {event.actor for event in audit_of(medbill_app, issued.id)[1:]} == {
        f"pay-link:{issued.id}"}


def test_the_right_date_resets_the_count(medbill_app: Medbill) -> None:
    born = date(1980, 4, 27)
    patient = owing(medbill_app, "40.00", born=born)
    issued = issue(medbill_app, patient_id=patient)
    token = open_visit(medbill_app, issued.code).token
    for _ in range(3):
        check_birth_date(medbill_app, token, date(1999, 1, 1))
    assert check_birth_date(medbill_app, token, born).outcome is CheckOutcome.PASSED
    with medbill_app.unit_of_work(read_only=True) as work:
        row = work.session.get(PayLinkRow, issued.id)
        assert row is not None and (row.failed_attempts, row.locks) == (0, 0)


# -- paying ------------------------------------------------------------------------------------

def test_amounts_are_positive_whole_cents_within_the_balance() -> None:
    most = D("80.00")
    assert parse_amount(" $12.50 ", most=most) == D("12.50")
    assert parse_amount("80", most=most) == D("80.00")
    assert parse_amount("$1,234.50", most=D("5000.00")) == D("1234.50")
    assert parse_amount("12,345", most=D("99999.00")) == D("12345.00")
    for text, words in (("0", "more than 0.00"), ("-5", "more than 0.00"),
                        ("80.01", "at most the 80.00"), ("12.345", "dollars and cents"),
                        ("twelve", "like 25.00"), ("NaN", "like 25.00"),
                        # a decimal comma or a stray one is never read as dollars: "1,50" was
                        # 150.00, "1,2.50" 12.50
                        ("1,50", "between thousands"), ("1,2.50", "between thousands"),
                        ("1,2345", "between thousands"), ("1e2", "like 25.00"),
                        ("\uff11\uff10.00", "like 25.00"), ("\u0661\u0660", "like 25.00"),
                        ("Infinity", "like 25.00")):
        with pytest.raises(ValidationFailed, match=words):
            parse_amount(text, most=most)


def test_a_part_payment_posts_once_when_the_webhook_comes_first(medbill_app: Medbill) -> None:
    born = date(1980, 4, 27)
    patient = owing(medbill_app, "60.00", "20.00", born=born)
    issued = issue(medbill_app, patient_id=patient)
    token = verified(medbill_app, issued.code, born)
    with pytest.raises(ValidationFailed, match="at most the 80.00"):
        start_payment(medbill_app, token, "80.01")
    started = start_payment(medbill_app, token, "25.00")
    intent = HOSTED.payments[next(iter(HOSTED.payments))]
    assert started.checkout_url == (f"https://gateway.test/checkout/{intent.intent_id}"
                                    "?return=https://pay.example.org/pay/return")
    assert intent.amount == D("25.00")
    HOSTED.charge(intent.intent_id, "ok")  # the patient, on the gateway's page
    assert handle_webhook(medbill_app, "fake", *webhook(
        "payment.succeeded", payment=intent.intent_id)) is Applied.POSTED
    payment = finish_payment(medbill_app, token)  # the browser comes back
    assert (payment.status, payment.amount) == (CardPaymentStatus.SUCCEEDED, D("25.00"))
    finish_payment(medbill_app, token)  # a reload of the receipt
    with medbill_app.unit_of_work(read_only=True) as work:
        assert len(list(work.session.scalars(select(PaymentRow).where(
            PaymentRow.patient_id == patient)))) == 1
        assert balance_owed(work, patient_id=patient) == D("55.00")
    actions = [(e.action, e.actor) for e in audit_of(medbill_app, issued.id)]
    assert ("pay_link.payment_start", f"pay-link:{issued.id}") in actions


def test_a_declined_card_posts_nothing(medbill_app: Medbill) -> None:
    born = date(1980, 4, 27)
    patient = owing(medbill_app, "60.00", born=born)
    token = verified(medbill_app, issue(medbill_app, patient_id=patient).code, born)
    start_payment(medbill_app, token, "60.00")
    intent_id = next(iter(HOSTED.payments))
    HOSTED.charge(intent_id, "broke")
    payment = finish_payment(medbill_app, token)
    assert (payment.status, payment.decline_code) == (CardPaymentStatus.FAILED,
                                                      "insufficient_funds")
    with medbill_app.unit_of_work(read_only=True) as work:
        assert balance_owed(work, patient_id=patient) == D("60.00")


def test_nothing_is_paid_before_the_date_of_birth(medbill_app: Medbill) -> None:
    patient = owing(medbill_app, "60.00", born=date(1980, 4, 27))
    token = open_visit(medbill_app, issue(medbill_app, patient_id=patient).code).token
    with pytest.raises(PayLinkUnusable):
        start_payment(medbill_app, token, "10.00")
    assert HOSTED.payments == {}


# -- plans -------------------------------------------------------------------------------------

def test_plans_offered_keep_to_the_practice_rules(medbill_app: Medbill) -> None:
    born = date(1980, 4, 27)
    patient = owing(medbill_app, "100.00", born=born)
    token = verified(medbill_app, issue(medbill_app, patient_id=patient).code, born)
    # at least 25.00 a month: 100.00 over 2, 3 or 4 months (not 5: 20.00)
    assert [(c.months, c.installment) for c in plan_choices(medbill_app, token)] == [
        (2, D("50.00")), (3, D("33.33")), (4, D("25.00"))]
    with pytest.raises(ValidationFailed, match="choose one of the plans"):
        enrol_plan(medbill_app, token, 5)
    [plan_id] = enrol_plan(medbill_app, token, 3)
    with medbill_app.unit_of_work(read_only=True) as work:
        plan = work.session.get(PaymentPlanRow, plan_id)
        assert plan is not None
        assert (plan.total_amount, len(plan.installments), plan.status) == (
            D("100.00"), 3, "active")
        assert [i.amount for i in plan.installments] == [D("33.33"), D("33.33"), D("33.34")]
    with pytest.raises(ValidationFailed, match="a plan is in place already"):
        enrol_plan(medbill_app, token, 2)


def test_a_small_balance_gets_no_plan(medbill_app: Medbill) -> None:
    born = date(1980, 4, 27)
    patient = owing(medbill_app, "49.99", born=born)
    token = verified(medbill_app, issue(medbill_app, patient_id=patient).code, born)
    assert plan_choices(medbill_app, token) == []


def test_the_longest_plan_is_the_practices_maximum(medbill_app: Medbill) -> None:
    born = date(1980, 4, 27)
    patient = owing(medbill_app, "5000.00", born=born)
    token = verified(medbill_app, issue(medbill_app, patient_id=patient).code, born)
    assert [c.months for c in plan_choices(medbill_app, token)] == [2, 3, 4, 5, 6]



# -- statements --------------------------------------------------------------------------------

def test_each_statement_of_a_run_prints_a_link_of_its_own(medbill_app: Medbill,
                                                          tmp_path: Any) -> None:
    born = date(1980, 4, 27)
    first = owing(medbill_app, "40.00", born=born)
    second = owing(medbill_app, "70.00", born=date(1990, 2, 3))
    result = run_statements(medbill_app, cycle="2026-12", out_dir=tmp_path, renderer="linktext")
    assert len(result.files) == 2
    with medbill_app.unit_of_work(read_only=True) as work:
        statements = {row.patient_id: row.id for row in work.session.scalars(
            select(StatementRow))}
        links = {view.patient_id: view for view in list_links(work)}
        printed_on_first = pay_links.statement_link(work, statements[first])
        assert printed_on_first is not None
        assert list_links(work, statement_id=statements[first]) == [printed_on_first]
    assert {patient: link.statement_id for patient, link in links.items()} == statements
    printed = {}
    for path in result.files:
        number, url, code = path.read_text().splitlines()
        assert url == f"https://pay.example.org/pay?code={code}"
        printed[number] = code
    # the printed code opens its own statement's link
    by_number = {}
    with medbill_app.unit_of_work(read_only=True) as work:
        for row in work.session.scalars(select(StatementRow)):
            by_number[row.statement_number] = row.patient_id
    for number, code in printed.items():
        visit = open_visit(medbill_app, code)
        assert visit.link_id == links[by_number[number]].id
    assert second in by_number.values()


def test_no_link_is_printed_without_a_card_gateway(medbill_app: Medbill, tmp_path: Any) -> None:
    owing(medbill_app, "40.00", born=date(1980, 4, 27))
    medbill_app.config = medbill_app.config.model_copy(update={"payment_gateway": None})
    result = run_statements(medbill_app, cycle="2026-12", out_dir=tmp_path, renderer="linktext")
    [path] = result.files
    assert path.read_text().splitlines()[1:] == ["None", "None"]
    with medbill_app.unit_of_work(read_only=True) as work:
        assert list_links(work) == []


def test_a_familys_plan_is_one_plan_per_patient_on_the_same_days(medbill_app: Medbill) -> None:
    parent = owing(medbill_app, "100.00", born=date(1975, 1, 2))
    child = owing(medbill_app, "0.03", born=date(2012, 6, 7))
    with medbill_app.unit_of_work() as work:
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(parent)
        service.assign(child, guarantor.id, GuarantorRelationship.PARENT)
    assert guarantor.id is not None
    token = verified(medbill_app, issue(medbill_app, guarantor_id=guarantor.id).code,
                     date(1975, 1, 2))
    # 100.03 allows 4 months at 25.00, but the child's 0.03 spreads over 3 at most
    assert [c.months for c in plan_choices(medbill_app, token)] == [2, 3]
    plans = enrol_plan(medbill_app, token, 3)
    with medbill_app.unit_of_work(read_only=True) as work:
        rows = [work.session.get(PaymentPlanRow, plan_id) for plan_id in plans]
        assert sorted((row.patient_id, row.total_amount) for row in rows if row) == sorted(
            [(parent, D("100.00")), (child, D("0.03"))])
        days = {tuple(i.due_date for i in row.installments) for row in rows if row}
    assert len(days) == 1


def test_wrong_dates_racing_each_other_are_all_counted(medbill_app: Medbill,
                                                       medbill_backend: str) -> None:
    """Ten browsers (or workers) sending wrong dates at once: the row lock counts each one,
    so the fifth locks the link and the five after it find it locked (none lost)."""
    if medbill_backend != "postgres":
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's row locks")
    import threading

    patient = owing(medbill_app, "40.00", born=date(1980, 4, 27))
    issued = issue(medbill_app, patient_id=patient)
    tokens = [open_visit(medbill_app, issued.code).token for _ in range(10)]
    start = threading.Barrier(len(tokens))
    outcomes: list[CheckOutcome] = []

    def guess(token: str) -> None:
        start.wait()
        outcomes.append(check_birth_date(medbill_app, token, date(1999, 9, 9)).outcome)

    threads = [threading.Thread(target=guess, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == sorted([CheckOutcome.WRONG] * 4 + [CheckOutcome.LOCKED] * 6)
    actions = [event.action for event in audit_of(medbill_app, issued.id)]
    assert (actions.count("pay_link.check_failed"), actions.count("pay_link.lock")) == (5, 1)

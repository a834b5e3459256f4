"""Issue 10: denials stay open insurance A/R under the ERA posting rules table until a person
decides; a failed 835 is not a duplicate; one appeal deadline rule."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cli_support import cli, config_text, ok, one_line_error
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.audit import os_user
from medbill_core.config import build_config, load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Remittance,
)
from medbill_core.errors import ConfigurationError, ValidationFailed
from medbill_core.ledger import EntryKind
from medbill_core.services import denials
from medbill_core.services.appeals import mark_sent, open_appeal, record_outcome, withdraw
from medbill_core.services.posting_rules import PostingAction, PostingRules
from medbill_core.services.receivables import followup
from medbill_core.services.remittance import post_remittance
from medbill_core.storage.schema import AuditEventRow, LedgerEntryRow
from medbill_core.testing import factories

D = Decimal
S = ClaimState
TODAY = date.today()
_numbers = itertools.count(1)
_traces = itertools.count(1)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def new_claim(app: Medbill, payer: str = "acme") -> tuple[int, str]:
    """(id, number) of an accepted claim of 100.00 for a new patient covered by ``payer``."""
    n = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(n))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
            payer_key=payer, order=CoverageOrder.PRIMARY, member_id=f"MBR{n:05d}"))
        claim = factories.make_claim(patient.id, coverage_id=coverage.id, payer_key=payer,
                                     number=f"DN{n:05d}", service_date=ago(100))
        claim = claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=ago(100), charge=D("100.00"))]})
        created = work.claims.create(claim)
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(created.id, target)
    return created.id, created.claim_number


def answer(number: str, *, paid: str, adjustments: list[tuple[str, str, str]],
           status: ClaimStatusCode = ClaimStatusCode.DENIED) -> ClaimPayment:
    return ClaimPayment(
        claim_number=number, status=status, charge=D("100.00"), paid=D(paid),
        payer_claim_number="PCN-9", adjustments=[
            Adjustment(group=AdjustmentGroup(group), reason_code=code, amount=D(amount))
            for group, code, amount in adjustments])


def reversal_of(payment: ClaimPayment) -> ClaimPayment:
    return payment.model_copy(update={
        "status": ClaimStatusCode.REVERSAL, "charge": -payment.charge, "paid": -payment.paid,
        "adjustments": [a.model_copy(update={"amount": -a.amount})
                        for a in payment.adjustments]})


def remit(app: Medbill, *payments: ClaimPayment, on: date | None = None,
          payer_id: str = "ACME1") -> str:
    trace = f"TRN-DN{next(_traces):04d}"
    remittance = Remittance(trace_number=trace, payment_amount=sum(
        (p.paid for p in payments), D("0")), payer_name="Payer", payer_id=payer_id,
        payee_name="Clinic", payment_date=on or ago(20), claims=list(payments))
    with app.unit_of_work() as work:
        post_remittance(work, remittance)
    return trace


def balances(app: Medbill, claim_id: int) -> tuple[Decimal, Decimal]:
    with app.unit_of_work() as work:
        balance = work.ledger.claim_balance(claim_id)
    return balance.insurance, balance.patient


def state_of(app: Medbill, claim_id: int) -> ClaimState:
    with app.unit_of_work() as work:
        return work.claims.get(claim_id).state


def open_items(app: Medbill) -> list[denials.Denial]:
    with app.unit_of_work() as work:
        return denials.list_denials(work)


# -- the rules table ---------------------------------------------------------------------------

@pytest.mark.parametrize(("group", "carc", "action"), [
    ("CO", "45", PostingAction.ADJUST), ("CO", "253", PostingAction.ADJUST),
    ("CO", "B10", PostingAction.ADJUST), ("OA", "23", PostingAction.ADJUST),
    ("PR", "1", PostingAction.PATIENT), ("PR", "2", PostingAction.PATIENT),
    ("PR", "3", PostingAction.PATIENT), ("CO", "50", PostingAction.DENY),
    ("CO", "29", PostingAction.DENY), ("CO", "18", PostingAction.DENY),
    ("PR", "204", PostingAction.DENY), ("CO", "97", PostingAction.REVIEW),
    ("CO", "999", PostingAction.REVIEW),  # an unknown CO code is never written off unseen
    ("PR", "999", PostingAction.PATIENT),
])
def test_built_in_rules(group: str, carc: str, action: PostingAction) -> None:
    assert PostingRules().decide("acme", group, carc).action is action


def test_configured_rules_override_by_payer_then_default_exact_codes_first() -> None:
    rules = PostingRules({"default": {"CO-97": "adjust"},
                          "acme": {"CO-*": "deny", "CO-97": "review"}})
    assert rules.decide("acme", "CO", "97").rule == "CO-97 (acme)"
    assert rules.decide("medicare", "CO", "97").rule == "CO-97 (default)"
    assert rules.decide("acme", "CO", "45").rule == "CO-45 (built-in)"  # exact beats CO-*
    assert rules.decide("acme", "CO", "999").action is PostingAction.DENY


@pytest.mark.parametrize(("table", "message"), [
    ({"acme": {"CO-50": "ignore"}}, "posting_rules.acme.CO-50: must be one of adjust, deny, "
                                    "patient, review"),
    ({"acme": {"CO-50": "patient"}}, "posting_rules.acme.CO-50: 'patient' only for PR"),
    ({"default": {"XX-1": "deny"}}, "posting_rules.default.XX-1: must be GROUP-CARC"),
    ({"nobody": {"CO-50": "deny"}}, "posting_rules.nobody: no payer 'nobody' in [payers]"),
])
def test_bad_rules_are_refused_naming_the_key(table: dict, message: str) -> None:
    raw = {"payers": {"acme": {"payer_id": "ACME1", "name": "Acme", "adapter": "x"}},
           "posting_rules": table}
    with pytest.raises(ConfigurationError, match="^configuration: " + message.replace(
            ".", r"\.").replace("[", r"\[").replace("]", r"\]").replace("*", r"\*")):
        build_config(raw, environ={})


def test_configured_rules_survive_a_round_trip_through_toml(tmp_path: Path) -> None:
    from medbill_core.config import config_toml

    raw = {"payers": {"acme": {"payer_id": "ACME1", "name": "Acme", "adapter": "x"}},
           "posting_rules": {"default": {"CO-97": "adjust"}, "acme": {"CO-*": "deny"}}}
    original = build_config(raw, environ={})
    path = tmp_path / "copy.toml"
    path.write_text(config_toml(original))
    assert load_config(path, environ={}).posting_rules == {
        "default": {"CO-97": "adjust"}, "acme": {"CO-*": "deny"}}


def test_rules_from_medbill_toml_apply_when_posting(medbill_app: Medbill) -> None:
    config = medbill_app.config.model_copy(update={"posting_rules": {"acme": {"CO-50": "adjust"}}})
    medbill_app.config = config
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("CO", "50", "100.00")]))
    assert balances(medbill_app, claim_id) == (D("0.00"), D("0.00"))
    assert open_items(medbill_app) == []


# -- posting: a denial stays open --------------------------------------------------------------

def test_a_denial_stays_open_insurance_ar_and_the_contractual_part_adjusts(
        medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[
        ("CO", "45", "20.00"), ("CO", "50", "80.00")]), on=ago(30))
    assert state_of(medbill_app, claim_id) is S.DENIED
    assert balances(medbill_app, claim_id) == (D("80.00"), D("0.00"))
    with medbill_app.unit_of_work() as work:
        assert work.ledger.insurance_balance_by_payer() == {"acme": D("80.00")}
        reasons = list(work.session.scalars(select(LedgerEntryRow.reason_code).where(
            LedgerEntryRow.kind == EntryKind.CONTRACTUAL_ADJUSTMENT.value)))
        items = followup(work)
    assert reasons == ["CO-45"]  # the CO-50 was not written off
    [item] = open_items(medbill_app)
    assert (item.claim_id, item.code, item.amount, item.action, item.rule, item.status,
            item.denied_on, item.appeal_deadline) == (
        claim_id, "CO-50", D("80.00"), "deny", "CO-50 (built-in)", denials.DenialStatus.OPEN,
        ago(30), ago(30) + timedelta(days=180))
    # ar followup keeps showing the denial with its CARCs and what the payer owes
    [chase] = items
    assert (chase.claim_id, chase.carc_codes, chase.insurance_balance) == (
        claim_id, ("CO-45", "CO-50"), D("80.00"))


def test_a_denial_with_nothing_posted_is_still_posted_once(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remittance = Remittance(trace_number="TRN-ONCE", payment_amount=D("0.00"),
                            payer_name="Payer", payer_id="ACME1", payee_name="Clinic",
                            payment_date=ago(3), claims=[answer(number, paid="0.00",
                                                                adjustments=[("CO", "50",
                                                                              "100.00")])])
    with medbill_app.unit_of_work() as work:
        first = post_remittance(work, remittance)
    with medbill_app.unit_of_work() as work:
        again = post_remittance(work, remittance)
    assert (first.posted, first.kept_open) == ([number], 1)
    assert (again.posted, again.duplicates, again.kept_open) == ([], [number], 0)
    assert len(open_items(medbill_app)) == 1
    assert balances(medbill_app, claim_id) == (D("100.00"), D("0.00"))


def test_a_paid_claim_with_a_denied_line_is_denied_with_the_rest_posted(
        medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="50.00", status=ClaimStatusCode.PRIMARY,
                              adjustments=[("CO", "45", "10.00"), ("PR", "2", "10.00"),
                                           ("CO", "96", "30.00")]))
    assert state_of(medbill_app, claim_id) is S.DENIED
    assert balances(medbill_app, claim_id) == (D("30.00"), D("10.00"))


def test_hold_for_review_keeps_the_amount_open_as_a_work_item(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="60.00", status=ClaimStatusCode.PRIMARY,
                              adjustments=[("CO", "45", "15.00"), ("CO", "97", "25.00")]))
    assert state_of(medbill_app, claim_id) is S.PARTIALLY_PAID
    assert balances(medbill_app, claim_id) == (D("25.00"), D("0.00"))
    [item] = open_items(medbill_app)
    assert (item.code, item.action, item.amount) == ("CO-97", "review", D("25.00"))
    with medbill_app.unit_of_work() as work:
        assert [d.id for d in denials.list_denials(work, action=PostingAction.REVIEW)] == [
            item.id]
        assert denials.list_denials(work, action=PostingAction.DENY) == []


def test_the_posting_summary_counts_what_was_kept_open(medbill_app: Medbill) -> None:
    from medbill_core.services.responses import apply_decoded

    _claim_id, number = new_claim(medbill_app)
    remittance = Remittance(trace_number="TRN-KEPT", payment_amount=D("0.00"),
                            payer_name="Payer", payer_id="ACME1", payee_name="Clinic",
                            payment_date=ago(5), claims=[answer(number, paid="0.00", adjustments=[
                                ("CO", "45", "20.00"), ("CO", "50", "80.00")])])
    with medbill_app.unit_of_work() as work:
        detail = apply_decoded(work, remittance)
    assert detail == ("835 TRN-KEPT: 1 posted, 0 already posted, 0 unmatched, 1 kept open to "
                      "work (medbill denials list)")


def test_remit_show_names_the_rule_of_every_line(medbill_app: Medbill) -> None:
    from medbill_core.services.remittance_register import remittance_detail

    _claim_id, number = new_claim(medbill_app)
    trace = remit(medbill_app, answer(number, paid="0.00", adjustments=[
        ("CO", "45", "20.00"), ("CO", "50", "80.00")]))
    with medbill_app.unit_of_work() as work:
        detail = remittance_detail(work, trace)
    assert detail.as_json()["claims"][0]["adjustments"] == [
        {"code": "CO-45", "amount": "20.00", "action": "adjust", "rule": "CO-45 (built-in)"},
        {"code": "CO-50", "amount": "80.00", "action": "deny", "rule": "CO-50 (built-in)"}]
    [item] = open_items(medbill_app)
    assert detail.as_json()["kept_open"] == [
        {"id": item.id, "claim_number": number, "code": "CO-50", "amount": "80.00",
         "action": "deny", "status": "open"}]


def test_a_held_pr_denial_does_not_bill_the_secondary(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    with medbill_app.unit_of_work() as work:
        claim = work.claims.get(claim_id)
        work.patients.add_coverage(claim.patient_id, factories.make_coverage(
            payer_key="bluecross", order=CoverageOrder.SECONDARY, member_id="SEC0001"))
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("PR", "204", "100.00")]))
    with medbill_app.unit_of_work() as work:
        claims = [c.claim_number for c in work.claims.list()]
        assert work.ledger.payer_balance(claim_id, "acme") == D("100.00")
    # before: a secondary claim was made for a share that never left the primary
    assert claims == [number]
    assert state_of(medbill_app, claim_id) is S.DENIED


# -- decisions ---------------------------------------------------------------------------------

def test_write_off_posts_an_audited_write_off_and_closes_the_claim(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("CO", "29", "100.00")]))
    [item] = open_items(medbill_app)
    with medbill_app.unit_of_work() as work:
        decided = denials.write_off(work, item.id, "filed late: our error")
        entries = list(work.session.execute(select(
            LedgerEntryRow.kind, LedgerEntryRow.amount, LedgerEntryRow.reason_code).where(
            LedgerEntryRow.kind == EntryKind.WRITE_OFF.value)))
        audits = list(work.session.scalars(select(AuditEventRow.action).where(
            AuditEventRow.entity_type == "denial")))
    assert decided.status is denials.DenialStatus.WRITTEN_OFF and decided.decided_by == "tester"
    assert entries == [("write_off", D("100.00"), "CO-29")]
    assert audits == ["denial.open", "denial.written_off"]
    assert balances(medbill_app, claim_id) == (D("0.00"), D("0.00"))
    assert state_of(medbill_app, claim_id) is S.CLOSED
    assert open_items(medbill_app) == []
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed, match="written_off"):
        denials.write_off(work, item.id, "again")


def test_transfer_to_the_patient_only_of_what_the_payer_assigned_as_pr(
        medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[
        ("CO", "96", "40.00"), ("PR", "204", "60.00")]))
    co, pr = sorted(open_items(medbill_app), key=lambda d: d.code)
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                          match="group_code: is CO"):
        denials.transfer_to_patient(work, co.id)
    with medbill_app.unit_of_work() as work:
        denials.transfer_to_patient(work, pr.id)
    assert balances(medbill_app, claim_id) == (D("40.00"), D("60.00"))
    assert state_of(medbill_app, claim_id) is S.DENIED  # the CO-96 is still to be worked
    with medbill_app.unit_of_work() as work:
        denials.write_off(work, co.id, "not covered, no ABN")
    assert state_of(medbill_app, claim_id) is S.PATIENT_BALANCE


def test_appeal_then_the_payers_new_answer_posts_correctly(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    denial = answer(number, paid="0.00", adjustments=[("CO", "50", "100.00")])
    remit(medbill_app, denial)
    [item] = open_items(medbill_app)
    with medbill_app.unit_of_work() as work:
        appeal = denials.appeal(work, item.id, "records attached")
    [item] = open_items(medbill_app)
    assert (appeal.claim_id, item.status) == (claim_id, denials.DenialStatus.APPEALED)
    assert balances(medbill_app, claim_id) == (D("100.00"), D("0.00"))  # still owed
    # the payer reverses its denial and pays: 70 paid, 20 contractual, 10 coinsurance
    remit(medbill_app, reversal_of(denial), answer(
        number, paid="70.00", status=ClaimStatusCode.PRIMARY,
        adjustments=[("CO", "45", "20.00"), ("PR", "2", "10.00")]))
    assert balances(medbill_app, claim_id) == (D("0.00"), D("10.00"))
    assert state_of(medbill_app, claim_id) is S.PATIENT_BALANCE
    assert open_items(medbill_app) == []
    with medbill_app.unit_of_work() as work:
        every = denials.list_denials(work, include_decided=True)
    assert [d.status for d in every] == [denials.DenialStatus.CLOSED]


def test_a_later_payment_without_a_reversal_also_settles_the_denial(
        medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("CO", "16", "100.00")]))
    remit(medbill_app, answer(number, paid="80.00", status=ClaimStatusCode.PRIMARY,
                              adjustments=[("CO", "45", "20.00")]))
    assert balances(medbill_app, claim_id) == (D("0.00"), D("0.00"))
    assert state_of(medbill_app, claim_id) is S.CLOSED
    assert open_items(medbill_app) == []


def test_appeals_open_marks_the_claims_denials_appealed(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("CO", "50", "100.00")]))
    with medbill_app.unit_of_work() as work:
        open_appeal(work, claim_id, "medically necessary")
    assert [d.status for d in open_items(medbill_app)] == [denials.DenialStatus.APPEALED]


def test_resend_is_recorded_and_the_replacements_answer_settles_it(
        medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("CO", "4", "100.00")]))
    [item] = open_items(medbill_app)
    with medbill_app.unit_of_work() as work:
        [marked] = denials.mark_resend(work, item.id, "add modifier 25")
        original = work.claims.get(claim_id)
        replacement = work.claims.correct(claim_id, original, reason="modifier added")
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(replacement.id, target)
    assert marked.status is denials.DenialStatus.RESEND
    assert balances(medbill_app, claim_id) == (D("100.00"), D("0.00"))
    remit(medbill_app, answer(replacement.claim_number, paid="90.00",
                              status=ClaimStatusCode.PRIMARY,
                              adjustments=[("CO", "45", "10.00")]))
    assert balances(medbill_app, claim_id) == (D("0.00"), D("0.00"))
    assert open_items(medbill_app) == []


def _denial_audits(app: Medbill) -> list[str]:
    with app.unit_of_work() as work:
        return list(work.session.scalars(select(AuditEventRow.action).where(
            AuditEventRow.entity_type == "denial").order_by(AuditEventRow.id)))


def test_no_decision_while_the_claims_appeal_is_in_progress(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[
        ("CO", "50", "60.00"), ("PR", "204", "40.00")]))
    co, pr = sorted(open_items(medbill_app), key=lambda d: d.code)
    with medbill_app.unit_of_work() as work:
        appeal = denials.appeal(work, co.id, "records attached")
    decisions = [(co.id, lambda work, i: denials.write_off(work, i, "give up")),
                 (pr.id, lambda work, i: denials.transfer_to_patient(work, i)),
                 (co.id, lambda work, i: denials.mark_resend(work, i)),
                 (pr.id, lambda work, i: denials.appeal(work, i, "again"))]
    for which in (f"open appeal {appeal.id}", f"appeal {appeal.id} sent to the payer"):
        for denial_id, decide in decisions:
            with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
                decide(work, denial_id)
            assert refused.value.message == (
                f"denial {denial_id}: appeal: claim {number} has {which}: record its outcome "
                "or withdraw it first")
        if which.startswith("open"):
            with medbill_app.unit_of_work() as work:
                mark_sent(work, appeal.id)
    # nothing was decided: both items wait for the payer, the whole 100.00 is still owed
    assert [d.status for d in open_items(medbill_app)] == [denials.DenialStatus.APPEALED] * 2
    assert balances(medbill_app, claim_id) == (D("100.00"), D("0.00"))
    assert _denial_audits(medbill_app) == ["denial.open", "denial.open", "denial.appealed",
                                           "denial.appealed"]
    # the payer upheld its denial: now the items are decided as any other
    with medbill_app.unit_of_work() as work:
        record_outcome(work, appeal.id, False, "upheld")
        denials.write_off(work, co.id, "appeal lost")
        denials.transfer_to_patient(work, pr.id)
    assert balances(medbill_app, claim_id) == (D("0.00"), D("40.00"))
    assert state_of(medbill_app, claim_id) is S.PATIENT_BALANCE
    # a withdrawn appeal no longer holds the decision either
    other_id, other = new_claim(medbill_app)
    remit(medbill_app, answer(other, paid="0.00", adjustments=[("CO", "50", "100.00")]))
    [item] = open_items(medbill_app)
    with medbill_app.unit_of_work() as work:
        withdraw(work, denials.appeal(work, item.id, "records attached").id)
    with medbill_app.unit_of_work() as work:
        assert denials.write_off(work, item.id, "not worth it").status \
            is denials.DenialStatus.WRITTEN_OFF
    assert state_of(medbill_app, other_id) is S.CLOSED


def test_resend_is_decided_once(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("CO", "4", "100.00")]))
    [item] = open_items(medbill_app)
    with medbill_app.unit_of_work() as work:
        denials.mark_resend(work, item.id, "add modifier 25")
    with pytest.raises(ValidationFailed) as again, medbill_app.unit_of_work() as work:
        denials.mark_resend(work, item.id, "add modifier 25")
    assert again.value.message == (
        f"denial {item.id}: status: was already decided: resend on {TODAY} by tester")
    assert _denial_audits(medbill_app) == ["denial.open", "denial.resend"]
    # another decision is still open to the person who changes their mind
    with medbill_app.unit_of_work() as work:
        denials.write_off(work, item.id, "not worth correcting")
    assert state_of(medbill_app, claim_id) is S.CLOSED


# -- one appeal deadline rule (item 13) --------------------------------------------------------

def test_followup_and_appeals_give_the_same_deadline(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app, payer="bluecross")
    remit(medbill_app, answer(number, paid="0.00", adjustments=[("CO", "50", "100.00")]),
          on=ago(40), payer_id="BCBS1")
    with medbill_app.unit_of_work() as work:
        [before] = followup(work)
        appeal = open_appeal(work, claim_id, "necessary")
        [after] = followup(work)
    expected = ago(40) + timedelta(days=180)
    # before the fix ar followup said service date + 180 timely-filing days (ago(100) + 180)
    assert before.filing_deadline == appeal.deadline == expected
    assert before.days_left == (expected - TODAY).days
    assert after.appeal_deadline == expected


# -- the CLI -----------------------------------------------------------------------------------

@pytest.fixture
def denial_config(cli_isolation: None, tmp_path: Path) -> tuple[Path, int, str]:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        claim_id, number = new_claim(app)
        trace = remit(app, answer(number, paid="0.00", adjustments=[
            ("CO", "45", "20.00"), ("CO", "50", "60.00"), ("PR", "204", "20.00")]))
    finally:
        app.close()
    return path, claim_id, trace


def test_cli_denials_list_and_decide(denial_config: tuple[Path, int, str]) -> None:
    path, claim_id, _trace = denial_config
    items = json.loads(ok(path, "denials", "list", "--json").stdout)
    assert [(i["claim_id"], i["code"], i["amount"], i["action"], i["status"])
            for i in items] == [(claim_id, "CO-50", "60.00", "deny", "open"),
                                (claim_id, "PR-204", "20.00", "deny", "open")]
    co, pr = items[0]["id"], items[1]["id"]
    # --limit: the first items only; the title still counts them all
    assert json.loads(ok(path, "denials", "list", "--limit", "1", "--json").stdout) \
        == items[:1]
    first = ok(path, "denials", "list", "--limit", "1").stdout
    assert f"1 of 2 denials as of {date.today()}" in first and str(co) in first \
        and f"│ {pr} " not in first
    assert "--limit" in one_line_error(cli(path, "denials", "list", "--limit", "0"), 2)
    assert json.loads(ok(path, "denials", "list", "--action", "review", "--json").stdout) == []
    assert "--action must be one of deny, review" in one_line_error(
        cli(path, "denials", "list", "--action", "adjust"), 2)
    error = one_line_error(cli(path, "denials", "to-patient", str(co)))
    assert "group_code: is CO" in error
    out = " ".join(ok(path, "denials", "to-patient", str(pr)).stdout.split())
    assert f"denial {pr}: 20.00 (PR-204)" in out and "transferred to the patient" in out
    one_line_error(cli(path, "denials", "write-off", str(co), "--reason", "  "))
    ok(path, "denials", "write-off", str(co), "--reason", "not worth appealing")
    assert json.loads(ok(path, "denials", "list", "--json").stdout) == []
    decided = json.loads(ok(path, "denials", "list", "--all", "--json").stdout)
    assert [i["status"] for i in decided] == ["written_off", "to_patient"]
    assert "not worth appealing" not in json.dumps(decided)  # the reason is never printed
    shown = json.loads(ok(path, "claims", "show", str(claim_id), "--json").stdout)
    assert shown["state"] == "patient_balance"


def test_cli_a_decision_contradicting_an_appeal_or_repeated_is_refused(
        denial_config: tuple[Path, int, str]) -> None:
    path, _claim_id, _trace = denial_config
    items = json.loads(ok(path, "denials", "list", "--json").stdout)
    co, pr, number = items[0]["id"], items[1]["id"], items[0]["claim_number"]
    ok(path, "denials", "appeal", str(co), "--reason", "records attached")
    assert one_line_error(cli(path, "denials", "write-off", str(co), "--reason", "y")) == (
        f"error: denial {co}: appeal: claim {number} has open appeal 1: record its outcome "
        "or withdraw it first")
    # the appeal is not left open on a claim that owes nothing: nothing was written off
    assert [(a["id"], a["status"]) for a in json.loads(
        ok(path, "appeals", "list", "--json").stdout)] == [(1, "open")]
    assert [i["status"] for i in json.loads(ok(path, "denials", "list", "--json").stdout)] \
        == ["appealed", "appealed"]
    ok(path, "appeals", "withdraw", "1")
    ok(path, "denials", "write-off", str(co), "--reason", "y")
    assert "1 denial(s) marked" in ok(path, "denials", "resend", str(pr)).stdout
    assert one_line_error(cli(path, "denials", "resend", str(pr))) == (
        f"error: denial {pr}: status: was already decided: resend on {date.today()} by "
        f"user:{os_user().lower()}")


def test_cli_remit_show_prints_the_rule_per_line(denial_config: tuple[Path, int, str]) -> None:
    path, _claim_id, trace = denial_config
    out = " ".join(ok(path, "remit", "show", trace).stdout.split())
    assert "CO-50 │ 60.00 │ deny │ CO-50 (built-in)" in out
    assert "CO-45 │ 20.00 │ adjust │ CO-45 (built-in)" in out
    assert "kept open to work (medbill denials)" in out


def test_cli_a_bad_rule_in_medbill_toml_is_one_line_naming_the_key(
        cli_isolation: None, tmp_path: Path) -> None:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", extra=(
        '\n[posting_rules.acme]\n"CO-50" = "forget"\n')), encoding="utf-8")
    error = one_line_error(cli(path, "denials", "list"), 2)
    assert "posting_rules.acme.CO-50: must be one of adjust, deny, patient, review" in error


# -- a failed document is not a duplicate (item 6) ---------------------------------------------

BAD_835 = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261201*1200*^*"
           "00501*000000001*0*T*:~GS*HP*SENDER*RECEIVER*20261201*1200*1*X*005010X221A1~"
           "ST*835*0001~BPR*I*nonsense~SE*3*0001~GE*1*1~IEA*1*000000001~")


def _x12(transaction: str, version: str) -> str:
    return ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261201*1200*"
            f"^*00501*000000001*0*T*:~GS*FA*SENDER*RECEIVER*20261201*1200*1*X*{version}~"
            f"ST*{transaction}*0001*{version}~SE*2*0001~GE*1*1~IEA*1*000000001~")


def test_cli_a_bad_835_posted_twice_is_undecodable_both_times(cli_isolation: None,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    bad = tmp_path / "bad.835"
    bad.write_text(BAD_835, encoding="utf-8")
    for _ in range(2):  # before the fix the second try said "duplicate" and exited 0
        result = cli(path, "remit", "post", str(bad), "--json")
        assert result.exit_code == 1, result.output
        assert json.loads(result.stdout)["status"] == "undecodable"


def test_cli_remit_post_of_an_837_is_refused_saying_what_it_is(cli_isolation: None,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    claims = tmp_path / "claims.x12"
    claims.write_text(_x12("837", "005010X222A1"), encoding="utf-8")
    error = one_line_error(cli(path, "remit", "post", str(claims)))
    assert "claims.x12 is an 837 claim file" in error and "nothing was posted" in error


def test_route_file_names_a_999_and_applies_it_as_an_acknowledgment() -> None:
    from medbill_core.domain import DocumentKind
    from medbill_core.services.responses import route_file, transaction_set

    assert transaction_set(_x12("999", "005010X231A1")) == "999"
    routing = route_file(_x12("999", "005010X231A1"))
    assert (routing.kind, routing.rerouted) == (DocumentKind.FUNCTIONAL_ACK_999, True)
    assert routing.description == "a 999 acknowledgment"
    assert route_file(BAD_835).kind is DocumentKind.REMITTANCE_835
    assert route_file("not x12 at all").rerouted is False
    assert route_file(_x12("837", "005010X222A1")).kind is None

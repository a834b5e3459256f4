"""Appeals of denied claims: opening (level, deadline, codes), transitions, audit, the letter,
the follow-up list's "appeal pending", and ``medbill appeals``."""

from __future__ import annotations

import itertools
import json
import stat
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import BLUECROSS, cli, config_text, ok, one_line_error
from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Remittance,
)
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.services.appeals import (
    AppealStatus,
    appeal_letter,
    list_appeals,
    mark_sent,
    open_appeal,
    record_outcome,
    withdraw,
)
from medbill_core.services.receivables import FollowUpAction, followup
from medbill_core.services.remittance import post_remittance
from medbill_core.storage.schema import AppealRow, LedgerEntryRow, utcnow
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
                                     number=f"AP{n:05d}", service_date=ago(100))
        claim = claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=ago(100), charge=D("100.00"))]})
        created = work.claims.create(claim)
        work.claims.transition(created.id, S.VALIDATED)
        work.claims.transition(created.id, S.SUBMITTED)
        work.claims.transition(created.id, S.ACCEPTED)
    return created.id, created.claim_number


def remit(app: Medbill, number: str, *, paid: str, adjustments: list[tuple[str, str, str]],
          on: date, status: ClaimStatusCode = ClaimStatusCode.DENIED) -> None:
    # CLP03 is what the answer accounts for (an 835 claim payment balances): the rest of the
    # 100.00 charged stays owed by the payer
    charge = D(paid) + sum((D(amount) for _, _, amount in adjustments), D(0))
    payment = ClaimPayment(
        claim_number=number, status=status, charge=charge, paid=D(paid),
        payer_claim_number="PCN-77", adjustments=[
            Adjustment(group=AdjustmentGroup(group), reason_code=code, amount=D(amount))
            for group, code, amount in adjustments])
    remittance = Remittance(trace_number=f"TRN-AP{next(_traces):04d}", payment_amount=D(paid),
                            payer_name="Payer", payer_id="PAYER1", payee_name="Clinic",
                            payment_date=on, claims=[payment])
    with app.unit_of_work() as work:
        post_remittance(work, remittance)


def denied_claim(app: Medbill, payer: str = "acme", on: date | None = None) -> tuple[int, str]:
    """A claim denied on ``on`` (default 30 days ago): CO-50 and OA-23 (zero) and CO-16."""
    claim_id, number = new_claim(app, payer)
    remit(app, number, paid="0.00", on=on or ago(30), adjustments=[
        ("CO", "50", "90.00"), ("OA", "23", "0.00"), ("CO", "16", "10.00")])
    return claim_id, number


def opened_days_ago(work: Any, appeal_id: int, days: int) -> None:
    """Date the appeal's opening ``days`` back (as if opened then)."""
    row = work.session.get(AppealRow, appeal_id)
    row.opened_at = utcnow() - timedelta(days=days)


def state_of(app: Medbill, claim_id: int) -> ClaimState:
    with app.unit_of_work() as work:
        return work.claims.get(claim_id).state


# -- opening -----------------------------------------------------------------------------------

def test_open_sets_level_deadline_and_codes(medbill_app: Medbill) -> None:
    claim_id, number = denied_claim(medbill_app, on=ago(30))
    assert state_of(medbill_app, claim_id) is S.DENIED
    with medbill_app.unit_of_work() as work:
        appeal = open_appeal(work, claim_id, "Medical necessity documented in the chart")
    assert (appeal.claim_id, appeal.claim_number, appeal.payer_key, appeal.level,
            appeal.status) == (claim_id, number, "acme", 1, AppealStatus.OPEN)
    # the zero OA-23 is no denial; acme's appeal_days default to 180
    assert appeal.denial_codes == ("CO-50", "CO-16")
    assert appeal.deadline == ago(30) + timedelta(days=180)
    assert appeal.days_left(TODAY) == 150
    assert (appeal.opened_on, appeal.opened_by, appeal.sent_on) == (TODAY, "tester", None)
    with medbill_app.unit_of_work() as work:
        events = audit.query(work.session, entity_type="appeal", entity_id=appeal.id)
        assert [(e.action, e.actor, dict(e.details or {})) for e in events] == [
            ("appeal.open", "tester", {"claim_id": claim_id, "level": 1,
                                       "denial_codes": ["CO-50", "CO-16"],
                                       "deadline": appeal.deadline.isoformat()})]
        assert [a.id for a in list_appeals(work)] == [appeal.id]
        assert list_appeals(work, AppealStatus.SENT) == []


def test_deadline_uses_the_payers_appeal_days(medbill_app: Medbill) -> None:
    medbill_app.config.payers["bluecross"] = medbill_app.config.payers["bluecross"].model_copy(
        update={"appeal_days": 60})
    claim_id, _ = denied_claim(medbill_app, payer="bluecross", on=ago(10))
    with medbill_app.unit_of_work() as work:
        appeal = open_appeal(work, claim_id, "wrong code on file")
    assert appeal.deadline == ago(10) + timedelta(days=60)


def test_partially_paid_claims_can_be_appealed(medbill_app: Medbill) -> None:
    claim_id, number = new_claim(medbill_app)
    remit(medbill_app, number, paid="40.00", on=ago(5), status=ClaimStatusCode.PRIMARY,
          adjustments=[("CO", "45", "10.00"), ("PR", "2", "0.00"), ("PI", "94", "5.00")])
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(claim_id).state is S.PARTIALLY_PAID
        appeal = open_appeal(work, claim_id, "underpaid against the contract")
    assert appeal.denial_codes == ("CO-45", "PI-94")


def test_refusals(medbill_app: Medbill) -> None:
    claim_id, _ = new_claim(medbill_app)  # accepted, not answered
    with pytest.raises(ValidationFailed) as wrong_state, medbill_app.unit_of_work() as work:
        open_appeal(work, claim_id, "x")
    assert wrong_state.value.message == (
        f"claim {claim_id}: state: is accepted; only denied or partially paid claims can be "
        "appealed")
    with pytest.raises(NotFound), medbill_app.unit_of_work() as work:
        open_appeal(work, 99999, "x")

    denied, _ = denied_claim(medbill_app)
    for reason, level, field in (("", None, "reason"), ("x" * 2001, None, "reason"),
                                 ("ok", 4, "level"), ("ok", 0, "level")):
        with pytest.raises(ValidationFailed) as bad, medbill_app.unit_of_work() as work:
            open_appeal(work, denied, reason, level)
        assert bad.value.problems[0][0] == field
    with medbill_app.unit_of_work() as work:
        first = open_appeal(work, denied, "first")
    with pytest.raises(ValidationFailed) as second, medbill_app.unit_of_work() as work:
        open_appeal(work, denied, "again")
    assert second.value.message == f"claim {denied}: appeal: appeal {first.id} is already open"
    with medbill_app.unit_of_work() as work:
        mark_sent(work, first.id, TODAY)
    with pytest.raises(ValidationFailed, match="is already sent"), \
            medbill_app.unit_of_work() as work:
        open_appeal(work, denied, "again")


def test_levels_climb_to_three(medbill_app: Medbill) -> None:
    claim_id, _ = denied_claim(medbill_app)
    levels = []
    for _ in range(3):
        with medbill_app.unit_of_work() as work:
            appeal = open_appeal(work, claim_id, "try again")
            levels.append(appeal.level)
            record_outcome(work, appeal.id, False, "upheld")
    assert levels == [1, 2, 3]
    with pytest.raises(ValidationFailed, match="all 3 appeal levels are used"), \
            medbill_app.unit_of_work() as work:
        open_appeal(work, claim_id, "once more")

    other, _ = denied_claim(medbill_app)
    with medbill_app.unit_of_work() as work:
        withdrawn = open_appeal(work, other, "first try")
        withdraw(work, withdrawn.id)
        # a withdrawn appeal does not use up its level
        assert open_appeal(work, other, "second try").level == 1
    third, _ = denied_claim(medbill_app)
    with medbill_app.unit_of_work() as work:
        assert open_appeal(work, third, "straight to level 2", level=2).level == 2


# -- transitions -------------------------------------------------------------------------------

def test_sent_outcome_withdraw_and_their_audit(medbill_app: Medbill) -> None:
    claim_id, _ = denied_claim(medbill_app)
    other, _ = denied_claim(medbill_app)
    with medbill_app.unit_of_work() as work:
        ledger_before = work.session.scalar(select(func.count()).select_from(LedgerEntryRow))
        appeal = open_appeal(work, claim_id, "documentation attached")
        opened_days_ago(work, appeal.id, 2)
        sent = mark_sent(work, appeal.id, ago(2))
        assert (sent.status, sent.sent_on) == (AppealStatus.SENT, ago(2))
        won = record_outcome(work, appeal.id, True, "overturned; reprocessing")
        assert (won.status, won.decided_on) == (AppealStatus.WON, TODAY)
    with pytest.raises(ValidationFailed) as again, medbill_app.unit_of_work() as work:
        mark_sent(work, appeal.id)
    assert again.value.message == (
        f"appeal {appeal.id}: status: is won; cannot become sent (only from open)")
    with pytest.raises(ValidationFailed, match="is won; cannot become withdrawn"), \
            medbill_app.unit_of_work() as work:
        withdraw(work, appeal.id)
    with pytest.raises(ValidationFailed, match="note: is required"), \
            medbill_app.unit_of_work() as work:
        record_outcome(work, appeal.id, False, "  ")
    with pytest.raises(NotFound, match="appeal 99999 not found"), \
            medbill_app.unit_of_work() as work:
        mark_sent(work, 99999)

    with medbill_app.unit_of_work() as work:
        second = open_appeal(work, other, "reason")
        assert withdraw(work, second.id).status is AppealStatus.WITHDRAWN
        lost = open_appeal(work, other, "reason")
        assert record_outcome(work, lost.id, False, "upheld").status is AppealStatus.LOST
    with medbill_app.unit_of_work() as work:
        # no ledger change, and the claims keep their states
        assert work.session.scalar(select(func.count()).select_from(LedgerEntryRow)) \
            == ledger_before
        events = audit.query(work.session, entity_type="appeal", entity_id=appeal.id)
        assert [(e.action, dict(e.details or {})) for e in reversed(events)][1:] == [
            ("appeal.sent", {"claim_id": claim_id, "sent_on": ago(2).isoformat()}),
            ("appeal.outcome", {"claim_id": claim_id, "status": "won", "level": 1})]
        assert [e.action for e in audit.query(work.session, entity_type="appeal",
                                              entity_id=second.id)] == [
            "appeal.withdraw", "appeal.open"]
        # the audit trail holds no free text
        for event in audit.query(work.session, entity_type="appeal"):
            assert "reason" not in json.dumps(event.details)
            assert "upheld" not in json.dumps(event.details)
        assert [a.status for a in list_appeals(work)] == [
            AppealStatus.WON, AppealStatus.WITHDRAWN, AppealStatus.LOST]
    assert state_of(medbill_app, claim_id) is S.DENIED


# -- the letter --------------------------------------------------------------------------------

def test_letter_content_and_private_file(medbill_app: Medbill, tmp_path: Path) -> None:
    claim_id, number = denied_claim(medbill_app, on=ago(30))
    with medbill_app.unit_of_work() as work:
        appeal = open_appeal(work, claim_id, "The visit was medically necessary.", level=2)
        letter = appeal_letter(work, appeal.id, today=date(2026, 12, 1))
        patient = work.patients.get(work.claims.get(claim_id).patient_id)
    lines = letter.splitlines()
    assert lines[:6] == ["Example Family Medicine", f"NPI {factories.PRACTICE_NPI}",
                         "100 Main Street", "Springfield, IL 62701", "Phone 5555550100", ""]
    for expected in ("2026-12-01", "Acme Health Plan", "Payer ID ACME1",
                     "Re: Request for reconsideration (level 2 appeal)",
                     f"Patient: Jordan {patient.last_name}",
                     f"Member ID: MBR{int(number[2:]):05d}",
                     f"Claim number: {number}", "Payer claim number: PCN-77",
                     f"Dates of service: {ago(100).isoformat()}",
                     "Billed amount: 100.00", "Paid amount: 0.00",
                     "The visit was medically necessary."):
        assert expected in lines, expected
    assert any(line.startswith("  CO-50: These are non-covered services because this is not "
                               "deemed a 'medical necessity'") for line in lines)
    assert any(line.startswith("  CO-16: ") for line in lines)
    assert f"dated {ago(30).isoformat()}." in letter

    from medbill_core.privatefiles import write_private

    path = tmp_path / "letter.txt"
    write_private(path, letter)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with medbill_app.unit_of_work() as work:
        assert audit.query(work.session, entity_type="appeal", entity_id=appeal.id,
                           action="appeal.letter")[0].details == {"claim_id": claim_id}


# -- follow-up ---------------------------------------------------------------------------------

def test_followup_shows_appeal_pending(medbill_app: Medbill) -> None:
    claim_id, _ = denied_claim(medbill_app, on=ago(30))

    def item() -> Any:
        with medbill_app.unit_of_work() as work:
            return next(i for i in followup(work) if i.claim_id == claim_id)

    assert item().action is FollowUpAction.APPEAL
    assert "appeal_id" not in item().as_json()
    with medbill_app.unit_of_work() as work:
        appeal = open_appeal(work, claim_id, "reason")
    pending = item()
    assert (pending.action, pending.appeal_id, pending.appeal_deadline) == (
        FollowUpAction.APPEAL_PENDING, appeal.id, ago(30) + timedelta(days=180))
    assert pending.as_json()["action"] == "appeal pending"
    assert pending.as_json()["appeal_deadline"] == (ago(30) + timedelta(days=180)).isoformat()
    with medbill_app.unit_of_work() as work:
        mark_sent(work, appeal.id)
    assert item().action is FollowUpAction.APPEAL_PENDING
    with medbill_app.unit_of_work() as work:
        record_outcome(work, appeal.id, False, "upheld")
    assert item().action is FollowUpAction.APPEAL  # decided: back to appeal or correct


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def appeals_config(cli_isolation: None, tmp_path: Path) -> tuple[Path, int, int]:
    """A SQLite instance with a denied bluecross claim and an accepted acme claim."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", extra=BLUECROSS),
                    encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        denied, _ = denied_claim(app, payer="bluecross", on=ago(20))
        accepted, _ = new_claim(app)
    finally:
        app.close()
    return path, denied, accepted


def test_cli_appeals_flow(appeals_config: tuple[Path, int, int], tmp_path: Path) -> None:
    config, denied, accepted = appeals_config
    letters = tmp_path / "letters"
    out = ok(config, "appeals", "open", str(denied), "--reason", "Chart notes attached",
             "--letter", str(letters)).stdout
    deadline = ago(20) + timedelta(days=180)
    assert "appeal 1: claim AP" in out and f"level 1, deadline {deadline}" in out
    assert "codes CO-50, CO-16" in out
    files = list(letters.iterdir())
    assert len(files) == 1 and files[0].name.startswith("appeal-1-AP")
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert "Blue Cross" in files[0].read_text(encoding="utf-8")
    assert "Member ID" not in out and "Jordan" not in out  # the letter is never printed

    items = json.loads(ok(config, "appeals", "list", "--json").stdout)
    assert [(i["id"], i["claim_id"], i["payer"], i["level"], i["status"], i["deadline"],
             i["days_left"], i["denial_codes"]) for i in items] == [
        (1, denied, "bluecross", 1, "open", deadline.isoformat(), 160, ["CO-50", "CO-16"])]
    assert "Chart notes" not in json.dumps(items)
    table = ok(config, "appeals", "list", "--status", "open").stdout
    assert "1 appeals" in table and "CO-50, CO-16" in table

    followup_items = json.loads(ok(config, "ar", "followup", "--json").stdout)
    assert [(i["claim_id"], i["action"], i["appeal_deadline"]) for i in followup_items] == [
        (denied, "appeal pending", deadline.isoformat())]

    for extra in ((), ("--confirm-date",)):  # before it was opened: refused, even confirmed
        assert one_line_error(cli(config, "appeals", "sent", "1", "--on", "1901-01-01",
                                  *extra)) == (
            f"error: appeal 1: on: is before the appeal was opened ({TODAY}); an appeal "
            "cannot be sent before it is opened")
    assert json.loads(ok(config, "appeals", "list", "--json").stdout)[0]["status"] == "open"
    assert f"sent on {TODAY}" in ok(config, "appeals", "sent", "1", "--on",
                                    TODAY.isoformat()).stdout
    assert "won" in ok(config, "appeals", "outcome", "1", "--won", "--note", "paid").stdout
    assert json.loads(ok(config, "appeals", "list", "--status", "won", "--json").stdout)[0][
        "sent_on"] == TODAY.isoformat()
    ok(config, "appeals", "open", str(denied), "--reason", "level two")
    # both decisions at once is a usage error, whichever order: nothing is recorded
    for flags in (("--won", "--lost"), ("--lost", "--won")):
        assert one_line_error(cli(config, "appeals", "outcome", "2", *flags, "--note", "x"),
                              2) == ("error: --won and --lost contradict each other: give one "
                                     "of them")
    assert json.loads(ok(config, "appeals", "list", "--status", "open", "--json").stdout)[0][
        "id"] == 2
    assert "withdrawn" in ok(config, "appeals", "withdraw", "2").stdout

    assert "state: is accepted" in one_line_error(cli(config, "appeals", "open", str(accepted),
                                                      "--reason", "x"))
    assert "appeal 1: status: is won" in one_line_error(cli(config, "appeals", "withdraw", "1"))
    assert "appeal 9 not found" in one_line_error(cli(config, "appeals", "sent", "9"))
    assert "--on must be a date" in one_line_error(
        cli(config, "appeals", "sent", "2", "--on", "tomorrow"), 2)
    assert "--won or --lost" in one_line_error(
        cli(config, "appeals", "outcome", "2", "--note", "x"), 2)
    assert "--status must be one of" in one_line_error(
        cli(config, "appeals", "list", "--status", "pending"), 2)


def test_an_appeal_is_not_sent_before_it_was_opened(medbill_app: Medbill) -> None:
    claim_id, _ = denied_claim(medbill_app)
    with medbill_app.unit_of_work() as work:
        appeal = open_appeal(work, claim_id, "documentation attached")
        opened_days_ago(work, appeal.id, 3)
    before_opening = (f"appeal {appeal.id}: on: is before the appeal was opened ({ago(3)}); "
                      "an appeal cannot be sent before it is opened")
    # firm: confirming the date does not make it possible
    for on, confirmed in ((ago(4), False), (ago(4), True), (date(1800, 1, 1), True)):
        with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
            mark_sent(work, appeal.id, on, confirmed_date=confirmed)
        assert refused.value.message == before_opening
    with pytest.raises(ValidationFailed) as ahead, medbill_app.unit_of_work() as work:
        mark_sent(work, appeal.id, TODAY + timedelta(days=1))
    assert ahead.value.message == (f"appeal {appeal.id}: on: 1 day in the future: check it, "
                                   "or confirm the date if it is right")
    with medbill_app.unit_of_work() as work:
        [still] = list_appeals(work)
        assert (still.status, still.sent_on) == (AppealStatus.OPEN, None)
        sent = mark_sent(work, appeal.id, ago(3))  # the day it was opened
    assert (sent.status, sent.sent_on) == (AppealStatus.SENT, ago(3))


def test_a_decision_is_not_dated_before_the_appeal_was_sent(medbill_app: Medbill) -> None:
    claim_id, _ = denied_claim(medbill_app)
    tomorrow = TODAY + timedelta(days=1)
    with medbill_app.unit_of_work() as work:
        appeal = open_appeal(work, claim_id, "documentation attached")
        mark_sent(work, appeal.id, tomorrow, confirmed_date=True)  # ahead, confirmed
    for won in (True, False):  # today's decision would come before the appeal was sent
        with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
            record_outcome(work, appeal.id, won, "no")
        assert refused.value.message == (
            f"appeal {appeal.id}: decided_on: would be {TODAY} (today), before the appeal "
            f"was sent ({tomorrow}); a decision cannot be dated before the appeal was sent")
    with pytest.raises(ValidationFailed) as dated, medbill_app.unit_of_work() as work:
        record_outcome(work, appeal.id, False, "no", on=TODAY)
    assert [field for field, _ in dated.value.problems] == ["on"]
    with medbill_app.unit_of_work() as work:
        [still] = list_appeals(work)
        assert (still.status, still.sent_on, still.decided_on) == (
            AppealStatus.SENT, tomorrow, None)
        lost = record_outcome(work, appeal.id, False, "no", on=tomorrow)  # the same day: fine
    assert (lost.status, lost.sent_on, lost.decided_on) == (AppealStatus.LOST, tomorrow,
                                                            tomorrow)


def test_the_latest_answer_is_a_plain_value_not_a_stored_row(medbill_app: Medbill) -> None:
    from medbill_core.services.remittance import PayerAnswer, latest_answer
    from medbill_core.storage.schema import Base

    claim_id, _ = denied_claim(medbill_app, on=ago(30))
    with medbill_app.unit_of_work(read_only=True) as work:
        answer = latest_answer(work, claim_id)
    assert isinstance(answer, PayerAnswer) and not isinstance(answer, Base)
    # readable after its unit of work closed, nothing lazy-loaded
    assert (answer.claim_id, answer.paid, answer.paid_date, answer.denial_codes) == (
        claim_id, D("0.00"), ago(30), ("CO-50", "CO-16"))

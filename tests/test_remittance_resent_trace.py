"""An 835 whose payer and trace number (TRN02) were posted before, sent again with other
figures for a claim payment: the ledger keeps what was posted under the trace (the register
and the posting keys are the payer and the trace), and each claim payment that differs is
told, claim number and both sets of figures, never passed over as "already posted" (an
exploratory tester's re-post changed nothing without a word). On SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from test_remit_balance import CO, PR, cas, ledger_rows, make_claims, payment, remittance

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.services.remittance import AnswerFigures, DifferingFigures, post_remittance
from medbill_core.services.remittance_parts import remittance_summary
from medbill_core.services.responses import apply_decoded

D = Decimal


def balance(app: Medbill, number: str) -> tuple[Decimal, Decimal]:
    with app.unit_of_work(read_only=True) as work:
        claim = work.claims.get(work.claims.resolve(number))
        found = work.ledger.claim_balance(work.claims.account_id(claim))
    return found.insurance, found.patient


def test_a_trace_sent_again_with_other_figures_is_told_and_changes_nothing(
        medbill_app: Medbill) -> None:
    make_claims(medbill_app, "RT-1", "RT-2")
    with medbill_app.unit_of_work() as work:
        first = post_remittance(work, remittance("TRN-RT", payment("RT-1"), payment("RT-2")))
    assert first.posted == ["RT-1", "RT-2"] and first.differing == []
    rows, before = ledger_rows(medbill_app), balance(medbill_app, "RT-1")
    assert before == (D("0.00"), D("20.00"))
    changed = payment("RT-1", paid="90.00", adjustments=(cas(CO, "45", "23.50"),
                                                         cas(PR, "2", "30.00")))
    resent = remittance("TRN-RT", changed, payment("RT-2"))
    with medbill_app.unit_of_work() as work:
        again = post_remittance(work, resent)
    assert (again.posted, again.duplicates) == ([], ["RT-2"])
    assert again.differing == [DifferingFigures(
        "RT-1", "TRN-RT",
        AnswerFigures("1", D("100.00"), (("CO", "45", D("23.50")), ("PR", "2", D("20.00")))),
        AnswerFigures("1", D("90.00"), (("CO", "45", D("23.50")), ("PR", "2", D("30.00")))))]
    assert [item.message for item in again.differing] == [
        "claim RT-1: 835 TRN-RT posted CLP02 1, paid 100.00, adjustments CO-45 23.50 PR-2 "
        "20.00; this file has CLP02 1, paid 90.00, adjustments CO-45 23.50 PR-2 30.00: not "
        "posted (the trace is posted already; the payer corrects an answer with a reversal "
        "and a new trace)"]
    assert remittance_summary("TRN-RT", again) == (
        "835 TRN-RT: 0 posted, 1 already posted, 0 unmatched, 1 differing from what this "
        "trace posted, not posted (RT-1)")
    # the ledger keeps what the trace posted
    assert ledger_rows(medbill_app) == rows
    assert balance(medbill_app, "RT-1") == before
    with medbill_app.unit_of_work(read_only=True) as work:
        [event] = list(audit.query(work.session, action="remittance.figures_differ"))
    assert event.details is not None
    assert event.entity_id == "TRN-RT" and event.details["claims"] == ["RT-1"]
    assert event.details["differing"] == [again.differing[0].as_json()]
    assert event.details["differing"][0]["in_file"] == {
        "status": "1", "paid": "90.00", "adjustments": [
            {"group_code": "CO", "reason_code": "45", "amount": "23.50"},
            {"group_code": "PR", "reason_code": "2", "amount": "30.00"}]}
    # the same figures again are only "already posted", nothing to tell
    with medbill_app.unit_of_work() as work:
        same = post_remittance(work, remittance("TRN-RT", payment("RT-1"), payment("RT-2")))
    assert (same.duplicates, same.differing) == (["RT-1", "RT-2"], [])


def test_the_lines_reach_whoever_posts_the_document(medbill_app: Medbill) -> None:
    make_claims(medbill_app, "RT-3")
    with medbill_app.unit_of_work() as work:
        post_remittance(work, remittance("TRN-RT3", payment("RT-3")))
    differing: list[DifferingFigures] = []
    with medbill_app.unit_of_work() as work:
        summary = apply_decoded(work, remittance("TRN-RT3", payment("RT-3", paid="0.00",
                                                                    adjustments=(
            cas(CO, "45", "143.50"),))), differing=differing)
    assert "1 differing from what this trace posted, not posted (RT-3)" in summary
    assert [item.message for item in differing] == [
        "claim RT-3: 835 TRN-RT3 posted CLP02 1, paid 100.00, adjustments CO-45 23.50 PR-2 "
        "20.00; this file has CLP02 1, paid 0.00, adjustments CO-45 143.50: not posted (the "
        "trace is posted already; the payer corrects an answer with a reversal and a new "
        "trace)"]
    assert balance(medbill_app, "RT-3") == (D("0.00"), D("20.00"))

"""The balances the ledger keeps per account (``ledger_balances``), on SQLite and PostgreSQL:
always the entries' sums, and the aging read from them is the aging read from the entries,
as of any day."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from migration_support import migrate_again_from
from sqlalchemy import func, select, text

from medbill_core import ledger_balances
from medbill_core.domain import ClaimState, CoverageOrder
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.services import receivables
from medbill_core.storage.schema import ClaimRow, ClaimTransitionRow, LedgerBalanceRow
from medbill_core.testing.factories import make_claim, make_coverage, make_patient
from medbill_core.testing.submission_dates import date_submissions

D = Decimal
TODAY = date.today()
_numbers = itertools.count(1)


def _claims(app, count: int, *, shared: bool = False) -> list[tuple[int, int]]:
    """(patient id, claim id) of ``count`` new claims, two per patient; with ``shared`` the
    last one billed to medicare on the account of the one before it (as a secondary is)."""
    made = []
    with app.unit_of_work() as work:
        for index in range(count):
            n = next(_numbers)
            if index % 2 == 0:
                patient = work.patients.register(make_patient(n))
                coverage = work.patients.add_coverage(patient.id, make_coverage()).id
            claim = make_claim(patient.id, coverage_id=coverage, number=f"B{n:06d}")
            if shared and index == count - 1:
                secondary = work.patients.add_coverage(patient.id, make_coverage(
                    payer_key="medicare", order=CoverageOrder.SECONDARY)).id
                claim = claim.model_copy(update={"payer_key": "medicare",
                                                 "coverage_id": secondary,
                                                 "account_claim_id": made[-1][1]})
            made.append((patient.id, work.claims.create(claim).id))
    return made


def _submit(app, made, sent: dict[int, int]) -> None:
    """Send claim ``index`` (of ``made``) dated ``days`` before today, for each pair."""
    with app.unit_of_work() as work:
        for index, days_ago in sent.items():
            claim_id = made[index][1]
            work.claims.transition(claim_id, ClaimState.VALIDATED)
            work.claims.transition(claim_id, ClaimState.SUBMITTED)
            day = TODAY - timedelta(days=days_ago)
            date_submissions(work.session, claim_id,
                             datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


# (which claim; None: on no claim, the claim's patient), kind, amount, payer, days before today
_operation = st.tuples(
    st.one_of(st.none(), st.integers(0, 3)),
    st.sampled_from([EntryKind.CHARGE, EntryKind.PAYER_PAYMENT, EntryKind.TRANSFER_TO_PATIENT,
                     EntryKind.PATIENT_PAYMENT, EntryKind.CONTRACTUAL_ADJUSTMENT,
                     EntryKind.TRANSFER_TO_AGENCY, EntryKind.WRITE_OFF]),
    st.decimals(min_value=D("0.01"), max_value=D("300.00"), places=2),
    st.sampled_from(["acme", "medicare", None]),
    st.integers(-5, 200),
    st.integers(0, 3))


def _line(made, claim_index, kind, amount, payer, patient_index) -> LedgerLine:
    patient_id, claim_id = made[claim_index if claim_index is not None else patient_index]
    if claim_index is None and kind is not EntryKind.PATIENT_PAYMENT:
        kind = EntryKind.PATIENT_PAYMENT  # what a patient's entries on no claim are
    bucket = {EntryKind.CHARGE: Bucket.INSURANCE if payer else Bucket.PATIENT,
              EntryKind.WRITE_OFF: Bucket.PATIENT}.get(kind)
    return LedgerLine(kind, amount, patient_id=patient_id,
                      claim_id=None if claim_index is None else claim_id,
                      payer_key=None if kind is EntryKind.PATIENT_PAYMENT else payer,
                      bucket=bucket)


def _post_all(app, made, operations) -> None:
    with app.unit_of_work() as work:
        for index, (claim_index, kind, amount, payer, days_ago, patient_index) in \
                enumerate(operations):
            work.ledger.post(f"bal:{made[0][1]}:{index}", "test",
                             [_line(made, claim_index, kind, amount, payer, patient_index)],
                             effective_date=TODAY - timedelta(days=days_ago), allow_credit=True,
                             moves_payments=True)


def _aged(work, as_of: date) -> list[receivables.AgedBalance]:
    return sorted(receivables.aged_balances(work, as_of=as_of),
                  key=lambda b: (b.patient, b.claim_id or 0, b.payer_key or "", b.amount))


def _row_order(row: ledger_balances.AccountBalance) -> str:
    return ledger_balances.account_key(*row.key)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(_operation, min_size=1, max_size=25),
       sent=st.dictionaries(st.integers(0, 3), st.integers(-5, 200), max_size=4))
def test_kept_balances_are_the_entries_and_age_as_the_entries(medbill_app, operations,
                                                               sent) -> None:
    made = _claims(medbill_app, 4, shared=True)
    _post_all(medbill_app, made, operations)
    _submit(medbill_app, made, sent)  # the insurance clocks: first submissions to the payer
    days = [TODAY + timedelta(days=1), TODAY, TODAY - timedelta(days=3),
            TODAY - timedelta(days=45), TODAY - timedelta(days=150)]
    with medbill_app.unit_of_work() as work:
        assert ledger_balances.mismatches(work.session) == []
        kept = {day: (_aged(work, day),
                      receivables.account_aging(work, made[0][0], as_of=day).as_json())
                for day in days}
        limit = receivables.RECOMPUTE_AT_MOST
        receivables.RECOMPUTE_AT_MOST = -1  # every entry summed, as before the rows were kept
        try:
            from_entries = {day: (_aged(work, day), receivables.account_aging(
                work, made[0][0], as_of=day).as_json()) for day in days}
        finally:
            receivables.RECOMPUTE_AT_MOST = limit
        assert kept == from_entries
        # computed again from the entries, the rows are the ones kept entry by entry
        before = sorted(ledger_balances.kept(work.session), key=_row_order)
        ledger_balances.rebuild(work.session)
        assert sorted(ledger_balances.kept(work.session), key=_row_order) == before


def test_the_report_reads_the_straddling_accounts_from_their_entries(medbill_app) -> None:
    """An account with entries after the report's day is summed as of that day: a payment
    posted later does not change a month end."""
    (patient_id, claim_id), = _claims(medbill_app, 1)
    line = {"patient_id": patient_id, "claim_id": claim_id, "payer_key": "acme"}
    with medbill_app.unit_of_work() as work:
        service_date = work.claims.get(claim_id).service_date_from
    month_end = service_date + timedelta(days=1)  # the charge is effective by then
    assert month_end < TODAY
    with medbill_app.unit_of_work() as work:
        work.ledger.post("late:pay", "test", [
            LedgerLine(EntryKind.PAYER_PAYMENT, D("100.00"), **line),
            LedgerLine(EntryKind.TRANSFER_TO_PATIENT, D("20.00"), **line)],
            effective_date=TODAY)
    with medbill_app.unit_of_work() as work:
        charge = work.claims.get(claim_id).total_charge
        row, = ledger_balances.kept(work.session, LedgerBalanceRow.claim_id == claim_id,
                                    LedgerBalanceRow.bucket == "insurance")
        then = receivables.aging(work, as_of=month_end)
        now = receivables.aging(work, as_of=TODAY)
    assert row.balance == charge - D("120.00") and row.last_effective == TODAY
    assert then.insurance_total.total == charge and then.patient.total == 0
    assert now.insurance_total.total == charge - D("120.00")
    assert now.patient.total == D("20.00")
    assert now.patient.buckets["0-30"] == D("20.00")  # aged from the transfer, today


def test_a_generated_history_keeps_its_balances(tmp_path) -> None:
    """The bulk generator (the bench's 1,000,000 claims) writes entries without the ledger:
    it computes the kept balances from them afterwards; and it writes each claim's latest
    submission as the claims service keeps it."""
    from medbill_core.app import Medbill
    from medbill_core.config import MedbillConfig
    from medbill_core.testing.bigdb import generate
    from medbill_core.testing.factories import make_payer, make_practice

    url = f"sqlite:///{tmp_path / 'big.db'}"
    stats = generate(url, 300)
    app = Medbill.open(MedbillConfig(database_url=url, plugins=[], actor="t",
                                     practice=make_practice(),
                                     payers={"acme": make_payer("acme")}),
                       load_installed=False)
    try:
        with app.unit_of_work() as work:
            problems = ledger_balances.mismatches(work.session)
            rows = len(ledger_balances.kept(work.session))
            kept = dict(work.session.execute(select(ClaimRow.id, ClaimRow.submitted_at)).all())
            latest = dict(work.session.execute(
                select(ClaimTransitionRow.claim_id, func.max(ClaimTransitionRow.at))
                .where(ClaimTransitionRow.target == ClaimState.SUBMITTED.value)
                .group_by(ClaimTransitionRow.claim_id)).all())
    finally:
        app.close()
    assert problems == [] and rows == stats.rows["ledger_balances"] > 300
    assert kept == {claim_id: latest.get(claim_id) for claim_id in kept}
    assert 100 < len(latest) < len(kept) == 300


def test_db_check_balances_names_what_differs_and_repairs_it(tmp_path) -> None:
    """``medbill db check-balances``: the rows match after the ledger posts; a row changed
    behind the ledger's back is named by its account key (exit 1, one line of error), and
    ``--repair`` computes it again (audited)."""
    import json

    from medbill_core.app import Medbill
    from medbill_core.config import load_config
    from tests.cli_support import cli, config_text, ok, one_line_error

    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        (patient_id, claim_id), = _claims(app, 1)
        with app.unit_of_work() as work:
            work.session.execute(text(
                "UPDATE ledger_balances SET balance = balance + 1 WHERE claim_id = :c"
                " AND bucket = 'insurance'"), {"c": claim_id})
    finally:
        app.close()
    checked = cli(config, "db", "check-balances", "--json")
    assert checked.exit_code == 1 and json.loads(checked.stdout)["consistent"] is False
    found = cli(config, "db", "check-balances")
    assert one_line_error(found) == (
        "error: 1 account balances differ from the ledger entries; run "
        "'medbill db check-balances --repair'")
    assert found.stdout.startswith(f"insurance/{claim_id}/{patient_id}/acme: kept balance ")
    repaired = json.loads(ok(config, "db", "check-balances", "--repair", "--json").stdout)
    assert (repaired["consistent"], repaired["rebuilt_rows"]) == (True, 1)  # the charge's
    assert ok(config, "db", "check-balances").stdout == "ledger balances match the entries\n"
    events = json.loads(ok(config, "audit", "--json", "--action",
                           "ledger.balances_rebuilt").stdout)
    assert [e["details"] for e in events] == [{"differing": 1, "rows": 1}]
    assert events[0]["actor"].startswith("user:")  # the person at the command line


def test_the_migration_fills_the_rows_from_the_entries(medbill_app) -> None:
    """Migration 0040 on a database holding a ledger: the rows it computes in SQL are the
    rows the ledger wrote entry by entry (both databases)."""
    made = _claims(medbill_app, 4)
    _post_all(medbill_app, made, [
        (0, EntryKind.PAYER_PAYMENT, D("60.00"), "acme", 30, 0),
        (0, EntryKind.TRANSFER_TO_PATIENT, D("25.00"), "acme", 29, 0),
        (0, EntryKind.PATIENT_PAYMENT, D("10.00"), None, 3, 0),
        (1, EntryKind.TRANSFER_TO_AGENCY, D("5.00"), None, 2, 0),
        (None, EntryKind.PATIENT_PAYMENT, D("40.00"), None, 1, 2),
        (3, EntryKind.CHARGE, D("12.00"), None, 0, 0)])
    with medbill_app.unit_of_work() as work:
        written = sorted(ledger_balances.kept(work.session), key=_row_order)
    migrate_again_from(medbill_app.database, "0039")
    with medbill_app.unit_of_work() as work:
        assert ledger_balances.mismatches(work.session) == []
        assert sorted(ledger_balances.kept(work.session), key=_row_order) == written
    assert {row.bucket for row in written} == {"insurance", "patient"} and len(written) >= 8

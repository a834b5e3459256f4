"""The list, work-queue and report queries read the big tables through indexes (PostgreSQL).

A database of :data:`CLAIMS` generated claims (:mod:`medbill_core.testing.bigdb`, then
``VACUUM ANALYZE``) is enough rows for the planner to prefer an index wherever one serves the
query. Each service function the CLI calls runs once with an Engine listener capturing the
SQL it really sends (nothing hand-copied); every SELECT is then EXPLAINed with its own
parameters, and a sequential scan of a big table fails the test, naming the query and the
table.

``ar aging`` is a report over every open balance: it reads the open accounts the ledger
keeps (``ledger_balances``) from their partial index, never a whole table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import ClaimState
from medbill_core.services.denials import list_denials
from medbill_core.services.patient_credits import credit_balances
from medbill_core.services.receivables import (
    aging,
    followup,
    patient_aging,
    remittance_exceptions,
)
from medbill_core.services.remittance_register import list_remittances
from medbill_core.services.work_queue_sources import Queue, Scope, derive
from medbill_core.services.work_queues import audit_head, touched
from medbill_core.testing.bigdb import generate
from medbill_core.testing.factories import make_payer, make_practice

#: one worker generates the database and runs every plan (make test: --dist loadgroup)
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("query_plans")]

#: generated claims (``MEDBILL_PLAN_CLAIMS`` overrides): enough for index plans to win
CLAIMS = int(os.environ.get("MEDBILL_PLAN_CLAIMS", "100000"))
#: tables that grow with the claims: never read whole
BIG_TABLES = frozenset({
    "claims", "claim_lines", "claim_transitions", "ledger_entries", "postings",
    "audit_events", "claim_adjudications", "patients", "coverages", "payments",
    "submissions", "ledger_balances"})
#: whole-table figures by definition: ``claims list`` without a filter prints the totals of
#: every claim (count, charges, balances), which reads every claim and its ledger entries
#: (serving it from a running total is left to do)
WHOLE_TABLE_TOTALS = {"claims list": frozenset({"claims", "ledger_entries"})}


@pytest.fixture(scope="module")
def big_app(request: pytest.FixtureRequest) -> Iterator[Medbill]:
    backends = request.config.getoption("--medbill-backends")
    if "postgres" not in backends:
        pytest.skip("PostgreSQL not among --medbill-backends")
    server = request.getfixturevalue("medbill_postgres")
    name = f"medbill_plans{os.environ.get('PYTEST_XDIST_WORKER', '')}"
    url = server.create_database(name)
    stats = generate(url, CLAIMS)
    print(f"generated {CLAIMS:,} claims, {stats.total_rows:,} rows in {stats.seconds:.0f} s")
    app = Medbill.open(MedbillConfig(
        database_url=url, plugins=[], actor="plans", practice=make_practice(),
        payers={"medicare": make_payer("medicare", payer_id="04412", name="Medicare Part B",
                                       claim_filing_indicator="MB"),
                "acme": make_payer("acme", timely_filing_days=180),
                "bluecross": make_payer("bluecross", payer_id="BCBS1", name="Blue Cross",
                                        claim_filing_indicator="BL")}),
        load_installed=False)
    with app.database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM ANALYZE")
    try:
        yield app
    finally:
        app.close()
        server.drop_database(name)


def captured(app: Medbill, call: Callable[[Any], object]) -> list[tuple[str, Any]]:
    """The SELECT statements (with their parameters) ``call(work)`` sends."""
    statements: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
               _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(app.database.engine, "before_cursor_execute", listen)
    try:
        with app.unit_of_work(read_only=True) as work:
            call(work)
    finally:
        event.remove(app.database.engine, "before_cursor_execute", listen)
    return statements


def scans(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(node type, relation) of every scan in a JSON plan."""
    if "Relation Name" in node:
        yield node["Node Type"], node["Relation Name"]
    for child in node.get("Plans", ()):
        yield from scans(child)


def plans(app: Medbill, call: Callable[[Any], object]) -> list[tuple[str, set[tuple[str, str]]]]:
    result = []
    statements = captured(app, call)
    assert statements, "the service sent no query"
    with app.database.engine.connect() as connection:
        for statement, parameters in statements:
            raw = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}",
                                             parameters).scalar()
            plan = raw if isinstance(raw, list) else json.loads(raw)
            result.append((statement, set(scans(plan[0]["Plan"]))))
    return result


def _claims_page(work: Any, **filters: Any) -> None:
    """What ``claims list`` does: a page, each row's balance, the totals of every match."""
    for claim in work.claims.list(**filters, limit=100):
        work.ledger.claim_balance(claim.id)
    work.claims.summary(**filters)


def _patient_claims(work: Any) -> None:
    _claims_page(work, patient_id=work.patients.by_account("BG00001234").id)


def _statement_candidates(work: Any) -> None:
    from medbill_core.services.statements import held_balances

    held_balances(work)


TODAY = date.today()
#: the CLI's list, work-queue and report queries (service calls as the commands make them)
#: a change's subjects: a few claims (the generator's denials are among the first), patients
_SCOPE = Scope(claims=frozenset(range(1, 400, 40)), patients=frozenset(range(1, 40, 4)),
               plans=frozenset({1, 2}))


QUERIES: dict[str, Callable[[Any], object]] = {
    "ar aging": lambda w: aging(w),
    "ar aging --by patient": lambda w: patient_aging(w),
    "ar followup": lambda w: followup(w),
    "ar followup --payer acme": lambda w: followup(w, payer_key="acme"),
    "ar exceptions": lambda w: remittance_exceptions(w),
    "remit list --from --to": lambda w: list_remittances(
        w, date_from=TODAY - timedelta(days=30), date_to=TODAY),
    "denials list": lambda w: list_denials(w),
    "claims list": lambda w: _claims_page(w),
    "claims list --state denied": lambda w: _claims_page(w, state=ClaimState.DENIED),
    "claims list --state accepted --payer acme": lambda w: _claims_page(
        w, state=ClaimState.ACCEPTED, payer_key="acme"),
    "claims list --patient": _patient_claims,
    "claims list --from --to (a week)": lambda w: _claims_page(
        w, service_from=TODAY - timedelta(days=60), service_to=TODAY - timedelta(days=54)),
    "audit --entity claim --id": lambda w: audit.query(w.session, entity_type="claim",
                                                       entity_id=4242),
    "audit --action": lambda w: audit.query(w.session, action="ledger.post", limit=50),
    "statements: balances held for a void": _statement_candidates,
    # work queues (issue 16): the check every read makes, and a queue's derivation
    "queues: the refresh check (audit head)": lambda w: audit_head(w, 1),
    "queues: the denials queue derived": lambda w: derive(w, Queue.DENIALS, TODAY),
    "queues: the rejections queue derived": lambda w: derive(w, Queue.REJECTIONS, TODAY),
    "queues: the deadlines queue derived": lambda w: derive(w, Queue.DEADLINES, TODAY),
    # the incremental refresh after a change: the subjects the latest events touched, and
    # every queue derived for a few subjects (index look-ups, whatever the practice's size)
    "queues: the subjects a change touched": lambda w: touched(
        w, 1, audit_head(w, 1) - 50, audit_head(w, 1)),
    "queues: every queue derived for a scope": lambda w: [
        derive(w, queue, TODAY, _SCOPE) for queue in Queue if queue is not Queue.SCRUB],
    # GET /v1/credits: a page of the patients holding a credit, the first and a later one
    "credits: the API's first page": lambda w: credit_balances(w, limit=51),
    "credits: the API's page after a cursor": lambda w: credit_balances(
        w, after_id=5000, limit=51),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_no_sequential_scan_of_a_big_table(big_app: Medbill, name: str) -> None:
    for statement, found in plans(big_app, QUERIES[name]):
        whole = sorted(table for kind, table in found
                       if kind == "Seq Scan" and table in BIG_TABLES
                       and table not in WHOLE_TABLE_TOTALS.get(name, ()))
        assert not whole, (f"{name}: sequential scan of {', '.join(whole)} in\n"
                           f"{' '.join(statement.split())[:600]}")

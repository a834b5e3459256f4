"""A large, consistent billing database, generated fast (``python -m medbill_core.testing.bigdb``).

Used by ``bench/bench_bigdb.py`` (1,000,000 claims in a cached SQLite file), by
``bench/bench_cycle.py --preloaded N`` (the whole cycle run in a database already holding N
claims) and by ``tests/test_query_plans.py`` (a smaller one on PostgreSQL, for the planner).

What it writes, in the proportions of a practice's last two years (claims spread evenly over
``span_days`` of service dates up to ``as_of``): patients (one in twenty self-pay, a third on
Medicare, the rest on the demo's two commercial plans), their coverages, claims with one to
three lines, each claim's transitions (``draft`` → ``validated`` → ``queued`` → ``submitted`` →
``acknowledged`` → ``accepted`` → the payer's answer → ``patient_balance`` → ``closed``), the
charge postings, the payers' 835 answers (a remittance per payer and payment day, a posting
and an adjudication per claim, denials kept open as work items), the patients' payments and
denial write-offs, the outbox batches, this month's statements (sent on its first day to every
patient owing), and an audit trail (``claim.create`` and ``ledger.post``, sealed into the
hash chain exactly as :mod:`medbill_core.audit_chain` does).

Every step happens at a time drawn from realistic delays and only what happened by ``as_of``
is written: so old claims are mostly closed, recent ones wait at the payer, some answers are
late (old insurance A/R), some denials stay open, some patients never pay (old patient A/R).
The ledger balances by construction (every posting is a charge, or moves what the claim
owes), and the claim states follow the lifecycle table.

Rows are written by plain DBAPI ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) in chunks of
claims, ids assigned here: memory stays flat in the number of claims. The target must be an
empty medbill database (the schema is upgraded to head first). On PostgreSQL ``VACUUM
ANALYZE`` runs at the end, as autovacuum would soon after; SQLite is left without statistics,
as a database grown by medbill is (nothing there runs ``ANALYZE``): the plans measured on it
are the plans an installation gets.
Claim numbers and account numbers start with ``BG`` so that the demo's own (``RB``) never
collide with them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from medbill_core.audit_chain import GENESIS_HASH, link_hash, row_content
from medbill_core.storage.schema import Base

#: The demo's payers (medbill_demo.data.PAYERS): key -> (payer ID, name)
PAYERS = {"medicare": ("04412", "Medicare Part B (JJ)"),
          "acme": ("ACME1", "Acme Health Plan"),
          "bluecross": ("BCBS1", "Blue Cross of Illinois")}
BILLING_NPI = "1234567893"
RENDERING_NPIS = ("1003000126", "1003000134", "1003000142", "1003000159")
ACTOR = "bigdb"
#: (procedure code, charge in cents)
PROCEDURES = (("99213", 12500), ("99214", 18500), ("99203", 16000), ("36415", 1500),
              ("85025", 3200), ("93000", 6500), ("80053", 4800), ("99396", 22000))
DIAGNOSES = (["I10"], ["E119", "I10"], ["J209"], ["M545"], ["Z0000"], ["E785", "I10"])
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
              "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson")
FIRST_NAMES = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
               "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph")
CLAIMS_PER_PATIENT = 4


@dataclass
class Stats:
    """What was generated, and how long it took."""

    claims: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# -- the columns written, per table (ids included: assigned here) ------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("id", "account_number", "last_name", "first_name", "birth_date", "sex",
                 "address", "phone", "statement_hold", "created_at", "updated_at"),
    "coverages": ("id", "patient_id", "payer_key", "coverage_order", "member_id",
                  "group_number", "plan_name", "relationship_code", "start_date",
                  "created_at", "updated_at"),
    "claims": ("id", "claim_number", "patient_id", "coverage_id", "payer_key",
               "billing_provider_npi", "rendering_provider_npi", "frequency",
               "place_of_service", "service_date_from", "service_date_to", "diagnoses",
               "accepts_assignment", "benefits_assigned", "release_of_information", "state",
               "payer_claim_number", "total_charge", "created_at", "updated_at",
               "submitted_at"),
    "claim_lines": ("id", "claim_id", "line_number", "procedure_code", "modifiers", "units",
                    "unit_type", "charge", "diagnosis_pointers", "service_date_from",
                    "line_control_number"),
    "claim_transitions": ("id", "claim_id", "source", "target", "actor", "reason", "at"),
    "postings": ("id", "posting_key", "source", "actor", "posted_at", "memo"),
    "ledger_entries": ("id", "posting_id", "kind", "amount", "insurance_delta",
                       "patient_delta", "claim_id", "claim_line_number", "patient_id",
                       "payer_key", "reason_code", "effective_date"),
    "claim_adjudications": ("id", "posting_key", "claim_id", "account_claim_id", "payer_key",
                            "coverage_id", "claim_status", "paid", "paid_date", "adjustments",
                            "posting_rules", "remark_codes"),
    "denials": ("id", "posting_key", "position", "claim_id", "account_claim_id", "payer_key",
                "group_code", "reason_code", "amount", "action", "rule", "denied_on",
                "status", "created_at", "decided_at", "decided_by", "note"),
    "payments": ("id", "patient_id", "amount", "method", "received_on", "posting_id",
                 "unapplied", "refunded", "plan_counted", "created_at", "updated_at"),
    "remittances": ("id", "trace_number", "payer_ref", "payer_id", "payer_name",
                    "payment_amount", "payment_method", "payment_date", "production_date",
                    "effective_date", "received_at", "posted_at", "posted_count",
                    "posted_total", "duplicate_count", "duplicate_total", "exception_count",
                    "exception_total", "plb_count", "plb_total", "status"),
    "submissions": ("id", "idempotency_key", "payer_key", "channel", "kind", "control_number",
                    "group_control_number", "filename", "content", "claim_numbers", "status",
                    "attempts", "created_at", "sent_at", "answered_at"),
    "audit_events": ("id", "at", "actor", "action", "entity_type", "entity_id", "details",
                     "os_user", "chain_seq", "prev_hash", "row_hash"),
    "statements": ("id", "statement_number", "patient_id", "cycle", "statement_date",
                   "due_date", "balance_due", "dunning_stage", "renderer", "filename",
                   "content_sha256", "status", "created_at", "guarantor_key", "same_day_number",
                   "patient_ids"),
}
#: columns holding JSON (written as its text)
JSON_COLUMNS = {"address", "diagnoses", "modifiers", "diagnosis_pointers", "adjustments",
                "posting_rules", "remark_codes", "claim_numbers", "details"}


class _Json:
    """A JSON value to write (text on every backend)."""

    __slots__ = ("text",)

    def __init__(self, value: Any) -> None:
        self.text = json.dumps(value, separators=(",", ":"))


# -- writers ------------------------------------------------------------------------------------

class _Writer:
    """Bulk rows into one database: ``rows(table, tuples)`` then ``commit()``."""

    def __init__(self, engine: Any, practice_id: int | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        #: every row of a table with a practice column belongs to this practice
        self.practice_id = practice_id
        self.raw = engine.raw_connection()
        self.connection = self.raw.driver_connection
        if self.dialect == "sqlite":
            self.connection.isolation_level = None
            for pragma in ("synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
                self.connection.execute(f"PRAGMA {pragma}")
            self.connection.execute("BEGIN")

    def rows(self, table: str, values: Sequence[tuple[Any, ...]]) -> None:
        if not values:
            return
        columns = COLUMNS[table]
        if self.practice_id is not None and table in _PRACTICE_TABLES:
            columns = (*columns, "practice_id")
            values = [(*row, self.practice_id) for row in values]
        names = ", ".join(columns)
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})",
                                        [tuple(_sqlite(v) for v in row) for row in values])
        else:
            with self.connection.cursor() as cursor, \
                    cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row([v.text if isinstance(v, _Json) else v for v in row])

    def commit(self) -> None:
        if self.dialect == "sqlite":
            self.connection.execute("COMMIT")
            self.connection.execute("BEGIN")
        else:
            self.connection.commit()

    def close(self) -> None:
        if self.dialect == "sqlite":
            self.connection.execute("COMMIT")
        else:
            self.connection.commit()
        self.raw.close()


def _sqlite(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (dates and times as text, UTC naive)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, _Json):
        return value.text
    if isinstance(value, bool):
        return int(value)
    return value


# -- the practice's history ---------------------------------------------------------------------

def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}" if cents >= 0 else f"-{_money(-cents)}"


@dataclass
class _Ids:
    """The next id of each table (the database is empty: ids start at 1)."""

    next: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 1))

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class _Remittance:
    payer_key: str
    trace: str
    paid_on: date
    at: datetime
    count: int = 0
    total: int = 0


class _Generator:
    def __init__(self, claims: int, as_of: date, span_days: int, seed: int) -> None:
        self.claims = claims
        self.as_of = as_of
        self.now = datetime.combine(as_of, datetime.min.time(), UTC) + timedelta(hours=12)
        self.first_day = as_of - timedelta(days=span_days)
        self.span_days = span_days
        self.rng = random.Random(seed)
        self.ids = _Ids()
        self.patients = max(1, claims // CLAIMS_PER_PATIENT)
        self.remittances: dict[tuple[str, date], _Remittance] = {}
        self.chain_prev = GENESIS_HASH
        self.tables: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}

    # patients and coverages -------------------------------------------------------------------
    def coverage_of(self, patient_id: int) -> tuple[int | None, str | None]:
        """(primary coverage id, payer key) of a patient (ids follow the rule of
        :meth:`patient_rows`)."""
        payer = self._payer(patient_id)
        return (None, None) if payer is None else (self._coverage_id(patient_id), payer)

    @staticmethod
    def _payer(patient_id: int) -> str | None:
        if patient_id % 20 == 0:
            return None
        if patient_id % 3 == 0:
            return "medicare"
        return "acme" if patient_id % 3 == 1 else "bluecross"

    @staticmethod
    def _coverage_id(patient_id: int) -> int:
        return patient_id * 2 - 1  # two ids reserved per patient (primary, secondary)

    def patient_rows(self, first: int, last: int) -> None:
        for pid in range(first, last + 1):
            created = datetime(2023, 1, 2, 9, tzinfo=UTC)
            medicare = pid % 3 == 0
            birth = (date(1945, 1, 1) if medicare else date(1965, 1, 1)) + timedelta(
                days=pid * 37 % 9000)
            self.tables["patients"].append((
                pid, f"BG{pid:08d}", LAST_NAMES[pid % len(LAST_NAMES)],
                FIRST_NAMES[pid * 7 % len(FIRST_NAMES)], birth, "F" if pid % 2 else "M",
                _Json({"line1": f"{pid % 900 + 100} Main St", "city": "Springfield",
                       "state": "IL", "postal_code": "62704"}),
                f"217555{pid % 10000:04d}", False, created, created))
            payer = self._payer(pid)
            if payer is None:
                continue
            self.tables["coverages"].append((
                self._coverage_id(pid), pid, payer, "P", f"{payer[:3].upper()}{pid:09d}",
                None if medicare else f"G{pid % 9000 + 1000}",
                "Medicare Part B" if medicare else f"{payer.title()} PPO", "18",
                date(2013, 1, 1), created, created))
            if medicare and pid % 2 == 0:
                self.tables["coverages"].append((
                    self._coverage_id(pid) + 1, pid, "bluecross", "S", f"XOF{pid:09d}",
                    "MEDIGAP1", "Medigap Plan G", "18", date(2013, 1, 1), created, created))

    # claims ----------------------------------------------------------------------------------
    def claim(self, claim_id: int) -> None:
        rng = self.rng
        offset = (claim_id - 1) * self.span_days / self.claims + rng.uniform(-2, 2)
        service = self.first_day + timedelta(days=max(0, min(self.span_days - 1, int(offset))))
        patient_id = rng.randint(1, self.patients)
        coverage_id, payer = self.coverage_of(patient_id)
        number = f"BG{claim_id:08d}"
        lines = [PROCEDURES[rng.randrange(len(PROCEDURES))] for _ in range(rng.choice(
            (1, 1, 2, 2, 2, 3)))]
        charge = sum(cents for _code, cents in lines)
        created = datetime.combine(service, datetime.min.time(), UTC) + timedelta(
            hours=15, seconds=rng.randrange(7200))
        if created > self.now:
            created = self.now - timedelta(hours=1)
        steps: list[tuple[str, datetime, str | None]] = []  # (target, at, reason)
        postings: list[tuple[str, str, datetime, date, str | None, list[tuple[Any, ...]]]] = []
        # the charges, at creation
        postings.append((f"charge:claim:{claim_id}", "claim", created, service,
                         f"charges of claim {claim_id}", [
                             ("charge", cents, cents if payer else 0, 0 if payer else cents,
                              n, None) for n, (_code, cents) in enumerate(lines, start=1)]))
        denials: list[tuple[Any, ...]] = []
        adjudication: tuple[Any, ...] | None = None
        payment: tuple[int, date, datetime] | None = None
        payer_claim_number = None
        sent = created + timedelta(days=rng.choice((0, 1, 1, 2, 3)), hours=1)
        steps += [("validated", created + timedelta(minutes=5), None),
                  ("queued", sent, None), ("submitted", sent + timedelta(minutes=1), None)]
        fate = rng.random()
        if payer is None:  # self-pay: billed to the patient
            steps = [("validated", created + timedelta(minutes=5), None),
                     ("patient_balance", sent, "self-pay: billed to the patient")]
            if rng.random() < 0.8:
                paid_at = sent + timedelta(days=rng.randint(10, 120))
                payment = (charge, paid_at.date(), paid_at)
                steps.append(("closed", paid_at, "paid by the patient"))
        elif fate < 0.02:  # rejected by the payer (277CA)
            steps += [("rejected", sent + timedelta(days=1), "277CA: member ID not found")]
        else:
            ack = sent + timedelta(days=1)
            steps += [("acknowledged", ack, "999 accepted"),
                      ("accepted", ack + timedelta(days=1), "277CA accepted")]
            payer_claim_number = f"{payer[:2].upper()}{claim_id:010d}"
            delay = rng.randint(12, 40) if rng.random() > 0.04 else rng.randint(60, 300)
            answered = ack + timedelta(days=delay)
            paid_on = answered.date()
            remittance = self.remittance(payer, paid_on, answered)
            key = f"835:{PAYERS[payer][0]}:{remittance.trace}:{number}:1"
            allowed = charge * rng.choice((55, 60, 65, 70, 75, 80)) // 100
            contractual = charge - allowed
            share = allowed // 5 if payer == "medicare" else min(allowed, rng.choice(
                (0, 0, 2000, 3000, 4000)))
            outcome = rng.random()
            if outcome < 0.06:  # denied: the whole charge kept open as a work item
                status, paid, carc = "4", 0, rng.choice(("50", "197", "16", "29"))
                adjustments = [("CO", carc, charge)]
                rules = [{"action": "deny", "rule": f"CO-{carc} (built-in)"}]
                entries: list[tuple[Any, ...]] = []
                steps.append(("denied", answered, f"835 {remittance.trace}"))
                denials.append(("CO", carc, charge, 0))
                if rng.random() < 0.4:  # written off by a biller later
                    decided = answered + timedelta(days=rng.randint(20, 60))
                    denials[-1] = ("CO", carc, charge, decided)
            elif outcome < 0.09:  # partially paid: the last line denied, kept open
                denied = lines[-1][1] if len(lines) > 1 else charge // 2
                allowed = (charge - denied) * 70 // 100
                contractual = charge - denied - allowed
                share = allowed // 5
                paid = allowed - share
                status = "1"
                adjustments = [("CO", "45", contractual), ("PR", "2", share),
                               ("CO", "50", denied)]
                rules = [{"action": "adjust", "rule": "CO-45 (built-in)"},
                         {"action": "patient", "rule": "PR-2 (built-in)"},
                         {"action": "deny", "rule": "CO-50 (built-in)"}]
                entries = [("payer_payment", paid, -paid, 0, None, None),
                           ("contractual_adjustment", contractual, -contractual, 0, None, "45")]
                if share:
                    entries.append(("transfer_to_patient", share, -share, share, None, "2"))
                steps.append(("partially_paid", answered, f"835 {remittance.trace}"))
                denials.append(("CO", "50", denied, 0))
            else:
                paid = allowed - share
                status = "1"
                adjustments = [("CO", "45", contractual)] + ([("PR", "2", share)] if share
                                                              else [])
                rules = [{"action": "adjust", "rule": "CO-45 (built-in)"}] + (
                    [{"action": "patient", "rule": "PR-2 (built-in)"}] if share else [])
                entries = [("payer_payment", paid, -paid, 0, None, None),
                           ("contractual_adjustment", contractual, -contractual, 0, None, "45")]
                steps.append(("paid", answered, f"835 {remittance.trace}"))
                if share:
                    entries.append(("transfer_to_patient", share, -share, share, None, "2"))
                    steps.append(("patient_balance", answered, f"835 {remittance.trace}"))
                    if rng.random() < 0.8:
                        paid_at = answered + timedelta(days=rng.randint(10, 90))
                        payment = (share, paid_at.date(), paid_at)
                        steps.append(("closed", paid_at, "paid by the patient"))
                    elif rng.random() < 0.75:  # never paid: bad debt, written off
                        gone = answered + timedelta(days=rng.randint(150, 210))
                        if gone <= self.now:
                            postings.append((f"write-off:claim:{claim_id}", "write_off", gone,
                                             gone.date(), "bad debt", [(
                                                 "write_off", share, 0, -share, None, None)]))
                        steps.append(("closed", gone, "patient balance written off"))
                else:
                    steps.append(("closed", answered, f"835 {remittance.trace}"))
            if answered <= self.now:
                if entries:
                    postings.append((key, "835", answered, paid_on, None, entries))
                remittance.count += 1
                remittance.total += paid
                adjudication = (key, status, paid, paid_on, adjustments, rules)
        self.write_claim(claim_id, number, patient_id, coverage_id, payer, service, created,
                         lines, charge, steps, postings, adjudication, denials, payment,
                         payer_claim_number)

    def remittance(self, payer: str, paid_on: date, at: datetime) -> _Remittance:
        found = self.remittances.get((payer, paid_on))
        if found is None:
            trace = f"BG{list(PAYERS).index(payer)}{paid_on:%Y%m%d}"
            found = self.remittances[(payer, paid_on)] = _Remittance(payer, trace, paid_on, at)
        return found

    def write_claim(self, claim_id: int, number: str, patient_id: int, coverage_id: int | None,
                    payer: str | None, service: date, created: datetime,
                    lines: list[tuple[str, int]], charge: int,
                    steps: list[tuple[str, datetime, str | None]],
                    postings: list[tuple[str, str, datetime, date, str | None,
                                         list[tuple[Any, ...]]]],
                    adjudication: tuple[Any, ...] | None, denials: list[tuple[Any, ...]],
                    payment: tuple[int, date, datetime] | None,
                    payer_claim_number: str | None) -> None:
        tables, now = self.tables, self.now
        state, source, last = "draft", "draft", created
        submitted = None
        for target, at, reason in steps:
            if at > now:
                break
            tables["claim_transitions"].append((
                self.ids.take("claim_transitions"), claim_id, source, target, ACTOR, reason, at))
            state = source = target
            last = at
            if target == "submitted":
                submitted = at
        diagnoses = DIAGNOSES[claim_id % len(DIAGNOSES)]
        known_number = payer_claim_number if state not in ("draft", "validated", "queued",
                                                           "submitted", "acknowledged",
                                                           "rejected") else None
        tables["claims"].append((
            claim_id, number, patient_id, coverage_id, payer, BILLING_NPI,
            RENDERING_NPIS[claim_id % len(RENDERING_NPIS)], "1", "11", service, service,
            _Json(diagnoses), True, True, True, state, known_number, charge, created, last,
            submitted))
        for n, (code, cents) in enumerate(lines, start=1):
            tables["claim_lines"].append((
                self.ids.take("claim_lines"), claim_id, n, code, _Json([]), "1", "UN", cents,
                _Json(list(range(1, len(diagnoses) + 1))), service, f"{claim_id}-{n}"))
        self.audit(created, "claim.create", "claim", claim_id,
                   {"claim_number": number, "lines": len(lines), "frequency": "1"})
        for key, source_name, at, effective, memo, entries in postings:
            self.posting(key, source_name, at, effective, memo, entries, claim_id, patient_id,
                         payer)
        if adjudication is not None:
            key, status, paid, paid_on, adjustments, rules = adjudication
            tables["claim_adjudications"].append((
                self.ids.take("claim_adjudications"), key, claim_id, claim_id, payer,
                coverage_id, status, paid, paid_on,
                _Json([{"group_code": g, "reason_code": r, "amount": _money(a),
                        "quantity": None} for g, r, a in adjustments]),
                _Json(rules), _Json([])))
            answered = datetime.combine(paid_on, datetime.min.time(), UTC) + timedelta(hours=10)
            for group, carc, amount, decided in denials:
                position = next(i for i, (g, r, _a) in enumerate(adjustments)
                                if (g, r) == (group, carc))
                denial_id = self.ids.take("denials")
                written_off = decided and decided <= now
                tables["denials"].append((
                    denial_id, key, position, claim_id, claim_id, payer, group, carc, amount,
                    "deny", f"{group}-{carc} (built-in)", paid_on,
                    "written_off" if written_off else "open", answered,
                    decided if written_off else None, ACTOR if written_off else None, None))
                if written_off:
                    self.posting(f"denial:{denial_id}:write_off", "denial", decided,
                                 decided.date(), "written off",
                                 [("write_off", amount, -amount, 0, None, carc)],
                                 claim_id, patient_id, payer)
                    if state == "denied":
                        tables["claim_transitions"].append((
                            self.ids.take("claim_transitions"), claim_id, "denied", "closed",
                            ACTOR, "denial written off", decided))
                        tables["claims"][-1] = (*tables["claims"][-1][:15], "closed",
                                                *tables["claims"][-1][16:19], decided,
                                                *tables["claims"][-1][20:])
        if payment is not None and payment[2] <= now:
            amount, received, at = payment
            payment_id = self.ids.take("payments")
            posting_id = self.posting(f"payment:{payment_id}", "patient_payment", at, received,
                                      None, [("patient_payment", amount, 0, -amount, None,
                                              None)], claim_id, patient_id, None)
            tables["payments"].append((payment_id, patient_id, amount, "card", received,
                                       posting_id, 0, 0, amount, at, at))

    def posting(self, key: str, source: str, at: datetime, effective: date, memo: str | None,
                entries: list[tuple[Any, ...]], claim_id: int, patient_id: int,
                payer: str | None) -> int:
        posting_id = self.ids.take("postings")
        self.tables["postings"].append((posting_id, key, source, ACTOR, at, memo))
        for kind, amount, insurance, patient, line, reason in entries:
            self.tables["ledger_entries"].append((
                self.ids.take("ledger_entries"), posting_id, kind, amount, insurance, patient,
                claim_id, line, patient_id, payer if kind != "patient_payment" else None,
                reason, effective))
        self.audit(at, "ledger.post", "posting", posting_id,
                   {"key": key, "source": source, "entries": len(entries)})
        return posting_id

    def audit(self, at: datetime, action: str, entity_type: str, entity_id: int,
              details: dict[str, Any]) -> None:
        event_id = self.ids.take("audit_events")
        row = {"id": event_id, "chain_seq": event_id, "at": at, "actor": ACTOR,
               "os_user": ACTOR, "action": action, "entity_type": entity_type,
               "entity_id": str(entity_id), "details": details, "note": None}
        prev, self.chain_prev = self.chain_prev, link_hash(self.chain_prev, row_content(row))
        self.tables["audit_events"].append((
            event_id, at, ACTOR, action, entity_type, str(entity_id), _Json(details), ACTOR,
            event_id, prev, self.chain_prev))

    def submissions(self) -> None:
        """One outbox batch per payer and send day among this chunk's claims."""
        batches: dict[tuple[str, date], list[str]] = {}
        for row in self.tables["claims"]:
            if row[4] is not None and row[15] not in ("draft", "validated"):
                batches.setdefault((row[4], row[18].date()), []).append(row[1])
        for (payer, day), numbers in batches.items():
            sid = self.ids.take("submissions")
            at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=17)
            self.tables["submissions"].append((
                sid, f"bigdb:{sid}", payer, "clearinghouse_mock", "837P", f"{sid:09d}",
                str(sid), f"bigdb-{sid:09d}.x12", "(generated: content not kept)",
                _Json(numbers), "accepted", 1, at, at, at + timedelta(days=1)))

    def remittance_rows(self) -> list[tuple[Any, ...]]:
        rows = []
        for remittance in sorted(self.remittances.values(), key=lambda r: (r.paid_on, r.trace)):
            if remittance.count == 0:
                continue
            payer_id, name = PAYERS[remittance.payer_key]
            rows.append((
                self.ids.take("remittances"), remittance.trace, payer_id, payer_id, name,
                remittance.total, "ACH", remittance.paid_on, remittance.paid_on,
                remittance.paid_on, remittance.at, remittance.at, remittance.count,
                remittance.total, 0, 0, 0, 0, 0, 0, "balanced"))
        return rows

    def statement_rows(self, balances: Iterable[tuple[int, int]]) -> list[tuple[Any, ...]]:
        """This month's statement of every patient owing (``balances``: patient id, patient
        balance in cents): the month's run went out on its first day, so a statement run
        today only bills the patients who owe since."""
        cycle, when = f"{self.as_of:%Y-%m}", self.as_of.replace(day=1)
        at = datetime.combine(when, datetime.min.time(), UTC) + timedelta(hours=8)
        rows = []
        for patient_id, balance in balances:
            sid = self.ids.take("statements")
            rows.append((sid, f"BG-{cycle}-{patient_id:08d}", patient_id, cycle, when,
                         when + timedelta(days=21), balance, 0, "pdf",
                         f"bigdb-{sid:08d}.pdf", "0" * 64, "sent", at, f"P{patient_id}", 1,
                         _Json([patient_id])))
        return rows

    def take_rows(self) -> dict[str, list[tuple[Any, ...]]]:
        tables = self.tables
        self.tables = {name: [] for name in COLUMNS}
        return tables


def _chunks(count: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(1, count + 1, size):
        yield first, min(count, first + size - 1)


#: the tables whose rows carry their practice (storage.tenancy), audit events included
_PRACTICE_TABLES = frozenset(name for name, table in Base.metadata.tables.items()
                             if "practice_id" in table.c)

#: parents first (foreign keys)
_ORDER = ("patients", "coverages", "claims", "claim_lines", "claim_transitions", "postings",
          "ledger_entries", "claim_adjudications", "denials", "payments", "submissions",
          "audit_events", "remittances", "statements")


def generate(url: str, claims: int, *, as_of: date | None = None, span_days: int = 730,
             seed: int = 14, chunk: int = 20_000,
             progress: Callable[[str], None] | None = None) -> Stats:
    """Fill the empty medbill database at ``url`` with ``claims`` claims' history.

    :raises RuntimeError: the database already holds claims.
    """
    from sqlalchemy import create_engine

    from medbill_core.storage.database import Database

    started = time.perf_counter()
    database = Database(url)
    database.upgrade()
    database.dispose()
    engine = create_engine(url)
    with engine.connect() as connection:
        if connection.execute(text("SELECT count(*) FROM claims")).scalar():
            raise RuntimeError("bigdb: the database already holds claims")
    practice_id = _the_practice(engine)
    generator = _Generator(claims, as_of or date.today(), span_days, seed)
    stats = Stats(claims)
    writer = _Writer(engine, practice_id)
    try:
        for first, last in _chunks(generator.patients, chunk):
            generator.patient_rows(first, last)
            _write(writer, generator.take_rows(), stats)
        for first, last in _chunks(claims, chunk):
            for claim_id in range(first, last + 1):
                generator.claim(claim_id)
            generator.submissions()
            _write(writer, generator.take_rows(), stats)
            if progress is not None:
                progress(f"{last:,} claims, {stats.total_rows:,} rows, "
                         f"{time.perf_counter() - started:.0f} s")
        rows = generator.remittance_rows()
        writer.rows("remittances", rows)
        stats.add("remittances", len(rows))
        writer.commit()
    finally:
        writer.close()
    stats.add("statements", add_statements(engine, generator))
    stats.add("ledger_balances", _keep_ledger_balances(engine, practice_id))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in _ORDER:  # ids were given here: move the sequences past them
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            # VACUUM too, as autovacuum would soon after a bulk load: it marks the pages
            # all-visible, which index-only scans rely on (a freshly copied table has none)
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE"))
    engine.dispose()
    stats.seconds = time.perf_counter() - started
    return stats


def _keep_ledger_balances(engine: Any, practice_id: int) -> int:
    """The balances the ledger keeps per account (``ledger_balances``), computed from the
    entries written here (the ledger writes them as it posts)."""
    from sqlalchemy.orm import Session

    from medbill_core import ledger_balances
    from medbill_core.storage.tenancy import acting_in

    with Session(engine) as session, acting_in(practice_id):
        written = ledger_balances.rebuild(session)
        session.commit()
    return written


def _the_practice(engine: Any) -> int:
    """The practice the history belongs to: the database's first, made (code ``default``, as
    ``Medbill.open`` would from ``[practice]``) when it has none."""
    with engine.begin() as connection:
        found = connection.execute(text("SELECT min(id) FROM practices")).scalar()
        if found is None:
            connection.execute(text(
                "INSERT INTO practices (code, name, created_at, active) "
                "VALUES ('default', 'Bench Practice', :now, :yes)"),
                {"now": datetime.now(UTC), "yes": True})
            found = connection.execute(text("SELECT min(id) FROM practices")).scalar()
    return int(found)


def add_statements(engine: Any, generator: _Generator | None = None) -> int:
    """Write this month's statements of the patients owing at least 5.00 (the statement
    run's minimum), from their ledger balances; returns how many."""
    with engine.connect() as connection:
        if generator is None:  # a database generated before statements were
            generator = _Generator(1, date.today(), 1, 0)
            generator.ids.next["statements"] = 1 + (connection.execute(text(
                "SELECT coalesce(max(id), 0) FROM statements")).scalar() or 0)
        balances = connection.execute(text(
            "SELECT patient_id, sum(patient_delta) FROM ledger_entries GROUP BY patient_id "
            "HAVING sum(patient_delta) >= 500 ORDER BY patient_id")).all()
    rows = generator.statement_rows((int(p), int(b)) for p, b in balances)
    writer = _Writer(engine, _the_practice(engine))
    try:
        writer.rows("statements", rows)
    finally:
        writer.close()
    return len(rows)


def _write(writer: _Writer, tables: dict[str, list[tuple[Any, ...]]], stats: Stats) -> None:
    for table in _ORDER:
        writer.rows(table, tables[table])
        stats.add(table, len(tables[table]))
    writer.commit()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", help="an empty medbill database (SQLAlchemy URL)")
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    stats = generate(args.url, args.claims, seed=args.seed,
                     progress=lambda line: print(line, file=sys.stderr))
    print(json.dumps({"claims": stats.claims, "seconds": round(stats.seconds, 1),
                      "rows": stats.rows}))


if __name__ == "__main__":
    main()

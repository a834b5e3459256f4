"""The clearinghouse's behaviour, independent of HTTP: submit, acknowledge, adjudicate, remit,
answer real-time inquiries, and keep the response feed.

Every public method runs in one store transaction. Nothing here logs PHI: log records name
submissions, documents and claims by their identifiers and give counts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from medbill_payer_generic_x12.api import (
    Parties,
    PayerContact,
    Segment,
    X12Error,
    decode_837i,
    decode_837p,
    encode_835,
    parse_ccyymmdd,
    parse_money,
)

from medbill_clearinghouse_mock.simulator.acks import (
    ClaimAckBatch,
    ClaimOutcome,
    Envelope,
    StatusReason,
    encode_277ca,
    encode_999,
    encode_ta1,
)
from medbill_clearinghouse_mock.simulator.adjudication import (
    Accumulators,
    adjudicate,
    reverse,
)
from medbill_clearinghouse_mock.simulator.config import (
    Benefits,
    Member,
    PayerPolicy,
    SimulatorConfig,
)
from medbill_clearinghouse_mock.simulator.envelope import (
    GroupCheck,
    InterchangeCheck,
    SegmentProblem,
    TransactionCheck,
    check_interchange,
    rebuild,
)
from medbill_clearinghouse_mock.simulator.realtime import (
    ClaimStatusAnswer,
    EligibilityAnswer,
    EligibilityInquiry,
    RequestProblem,
    decode_270s,
    decode_276,
    encode_271s,
    encode_277,
)
from medbill_clearinghouse_mock.simulator.store import Store, StoreControlNumbers
from medbill_core.api import (
    ZERO,
    Address,
    BillableClaim,
    ClaimFrequency,
    ClaimPayment,
    PaymentMethod,
    ProviderAdjustment,
    Remittance,
    total,
)

log = logging.getLogger("medbill_clearinghouse_mock.simulator")

#: Claim states in the simulator's own table.
REJECTED, ADJUDICATED, REMITTED, REPLACED, VOIDED, CLOSED = (
    "rejected", "adjudicated", "remitted", "replaced", "voided", "closed")
_IK4_CODES = {str(n) for n in range(1, 14)} | {"I10", "I11", "I12", "I13", "I6", "I9"}
_IK3_CODES = {"1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9"}


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different body."""


@dataclass(slots=True)
class Outcome:
    """An HTTP-independent answer: status code, JSON body or X12 text."""

    status: int
    body: dict[str, Any] | None = None
    text: str | None = None
    kind: str | None = None
    replayed: bool = False


@dataclass(slots=True)
class _Received:
    """A claim after the envelope check, before the front-end edits."""

    claim: BillableClaim | None
    outcome: ClaimOutcome
    payer_id: str
    submitter_id: str
    submitter_qualifier: str
    reasons: list[StatusReason] = field(default_factory=list)


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def encode_cursor(sequence: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{sequence}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The sequence a cursor stands for; ``None`` for a cursor that is not one of ours."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("seq:") or not text[4:].isdigit():
        return None
    return int(text[4:])


class ClearinghouseService:
    """The simulator. ``today`` in the configuration fixes the business date."""

    def __init__(self, config: SimulatorConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self._codesets: Any = None
        #: The run-time fault rules (set by the HTTP app); ``None``: the configured ones.
        self.fault_plan: Any = None

    # -- clock ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        current = datetime.now()
        if self.config.today is not None:
            return datetime.combine(self.config.today, current.time().replace(microsecond=0))
        return current.replace(microsecond=0)

    def envelope(self, receiver_id: str, receiver_qualifier: str = "ZZ") -> Envelope:
        return Envelope(sender_id=self.config.clearinghouse_id, receiver_id=receiver_id,
                        receiver_qualifier=receiver_qualifier,
                        usage="T" if self.config.test_mode else "P")

    # -- members ----------------------------------------------------------------------------------
    def member(self, payer: PayerPolicy, member_id: str) -> Member | None:
        """The roster entry, or a synthetic one when the payer accepts unlisted members."""
        found = self.config.member(payer.payer_id, member_id)
        if found is not None:
            return found
        if (payer.accept_unlisted_members and payer.default_benefits is not None
                and not member_id.upper().startswith("UNKNOWN")):
            return Member(payer_id=payer.payer_id, member_id=member_id, last_name="MEMBER",
                          first_name="UNLISTED", benefits=payer.default_benefits)
        return None

    def _accumulators(self, connection: sqlite3.Connection, payer_id: str, member_id: str,
                      year: int, benefits: Benefits) -> Accumulators:
        row = connection.execute(
            "SELECT deductible_met, out_of_pocket_met FROM accumulators WHERE payer_id = ? AND "
            "member_id = ? AND year = ?", (payer_id, member_id, year)).fetchone()
        if row is None:
            return Accumulators.from_benefits(benefits)
        return Accumulators(Decimal(row["deductible_met"]), Decimal(row["out_of_pocket_met"]))

    # -- documents --------------------------------------------------------------------------------
    def _publish(self, connection: sqlite3.Connection, account: str, kind: str, content: str,
                 submission_id: str | None) -> dict[str, Any]:
        number = self.store.next_value(connection, "document")
        document_id = f"doc-{number:09d}-{kind.lower()}"
        created = _now_iso()
        cursor = connection.execute(
            "INSERT INTO documents (document_id, account, kind, submission_id, content, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (document_id, account, kind, submission_id, content, created))
        log.info("published document %s (%s, %d bytes) seq %d", document_id, kind,
                 len(content), cursor.lastrowid)
        return {"document_id": document_id, "sequence": cursor.lastrowid, "kind": kind,
                "submission_id": submission_id, "created_at": created, "content": content}

    # -- submissions ------------------------------------------------------------------------------
    def submit_claims(self, account: str, idempotency_key: str, body: bytes) -> Outcome:
        """Receive an 837P or 837I batch. The same key with the same body returns the stored
        answer."""
        digest = hashlib.sha256(body).hexdigest()
        with self.store.transaction() as connection:
            row = connection.execute(
                "SELECT body_sha256, http_status, response_json FROM submissions "
                "WHERE account = ? AND idempotency_key = ?", (account, idempotency_key)).fetchone()
            if row is not None:
                if row["body_sha256"] != digest:
                    raise IdempotencyConflict()
                log.info("idempotent replay of a submission (%d bytes)", len(body))
                return Outcome(row["http_status"], json.loads(row["response_json"]),
                               replayed=True)
            outcome = self._process_submission(connection, account, idempotency_key, body)
            connection.execute(
                "INSERT INTO submissions (id, account, idempotency_key, body_sha256, "
                "received_at, status, http_status, response_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (outcome.body["submission_id"], account, idempotency_key, digest,  # type: ignore[index]
                 outcome.body["received_at"], outcome.body["status"], outcome.status,  # type: ignore[index]
                 json.dumps(outcome.body)))
            return outcome

    def _process_submission(self, connection: sqlite3.Connection, account: str,
                            idempotency_key: str, body: bytes) -> Outcome:
        number = self.store.next_value(connection, "submission")
        submission_id = f"sub-{number:08d}"
        now = self.now()
        text = _text_of(body)
        check = check_interchange(text, functional_id="HC", set_id="837",
                                  version_prefix=_CLAIM_GUIDES)
        envelope = self.envelope(check.sender_id, check.sender_qualifier)
        numbers = StoreControlNumbers(self.store, connection)
        if check.accepted and self.config.reject_duplicate_interchanges:
            seen = connection.execute(
                "SELECT submission_id FROM interchanges WHERE account = ? AND sender_id = ? AND "
                "control_number = ?", (account, check.sender_id, check.control_number)).fetchone()
            if seen is not None:
                check.note_code = "025"
        immediate: list[dict[str, Any]] = []
        received: list[_Received] = []
        if not check.accepted or check.acknowledgment_requested:
            immediate.append(self._publish(connection, account, "TA1",
                                           encode_ta1(check, envelope, numbers, now),
                                           submission_id))
        if check.accepted:
            connection.execute(
                "INSERT INTO interchanges (account, sender_id, control_number, submission_id) "
                "VALUES (?, ?, ?, ?)", (account, check.sender_id, check.control_number,
                                        submission_id))
            for group in check.groups:
                for transaction in group.transactions:
                    if group.ak9_codes or not transaction.accepted:
                        continue
                    received.extend(self._decode_transaction(check, group, transaction))
            immediate.append(self._publish(connection, account, "999",
                                           encode_999(check, envelope, numbers, now),
                                           submission_id))
        outcomes = self._front_end(connection, account, submission_id, received, now)
        if received:
            batch = ClaimAckBatch(
                reference=_bht_reference(check), submitter_name=check.sender_id,
                submitter_id=check.sender_id, received=now.date(), claims=outcomes)
            self._publish(connection, account, "277CA",
                          encode_277ca(batch, envelope, self.config.clearinghouse_name,
                                       self.config.clearinghouse_id, numbers, now),
                          submission_id)
        accepted_tx = sum(1 for g in check.groups if not g.ak9_codes
                          for t in g.transactions if t.accepted)
        all_tx = sum(len(g.transactions) for g in check.groups)
        if not check.accepted or accepted_tx == 0:
            status = "rejected"
        elif accepted_tx < all_tx:
            status = "partially_accepted"
        else:
            status = "accepted"
        accepted_claims = sum(1 for o in outcomes if o.accepted)
        log.info("submission %s: %s, %d bytes, %d transaction sets (%d accepted), %d claims "
                 "(%d accepted)", submission_id, status, len(body), all_tx, accepted_tx,
                 len(outcomes), accepted_claims)
        response = {
            "submission_id": submission_id, "idempotency_key": idempotency_key,
            "status": status, "received_at": _now_iso(),
            "interchange_control_number": check.control_number,
            "interchange_note_code": check.note_code,
            "transaction_sets": {"received": all_tx, "accepted": accepted_tx},
            "claims": {"received": len(outcomes), "accepted": accepted_claims,
                       "rejected": len(outcomes) - accepted_claims},
            "acknowledgments": immediate,
        }
        return Outcome(202, response)

    # -- pass 2: decoding transaction sets into claims --------------------------------------------
    def _decode_transaction(self, check: InterchangeCheck, group: GroupCheck,
                            transaction: TransactionCheck) -> list[_Received]:
        segments = transaction.segments
        decode = _claim_decoder(transaction, group)
        try:
            claims = decode(rebuild(check, group, segments))
        except X12Error as exc:
            if _is_syntax(exc):
                self._syntax_problem(transaction, exc, list(range(1, len(segments) + 1)))
                return []
        except Exception as exc:
            log.error("837 decoder raised %s: transaction set rejected", type(exc).__name__)
            transaction.problems.append(SegmentProblem("ST", 1, "8"))
            transaction.reject("5")
            return []
        else:
            return [self._received(check, claim) for claim in claims]
        # A data problem (a claim that fails validation): decode claim by claim.
        result: list[_Received] = []
        for positions in _subtrees(segments):
            part = [segments[p - 1] for p in positions]
            try:
                claims = decode(rebuild(check, group, part))
            except X12Error as exc:
                if _is_syntax(exc):
                    self._syntax_problem(transaction, exc, positions)
                    return []
                result.extend(self._rejected_raw(check, part, exc))
                continue
            except Exception as exc:
                log.error("837 decoder raised %s on one subscriber loop", type(exc).__name__)
                result.extend(self._rejected_raw(check, part, None))
                continue
            result.extend(self._received(check, claim) for claim in claims)
        return result

    @staticmethod
    def _syntax_problem(transaction: TransactionCheck, exc: X12Error,
                        positions: list[int]) -> None:
        index = (exc.segment_index or 3) - 3  # the rebuilt document has ISA, GS before ST
        position = positions[index] if 0 <= index < len(positions) else positions[-1]
        segment = transaction.segments[position - 1] if position <= len(
            transaction.segments) else ["SE"]
        segment_id = exc.segment_id or segment[0]
        code = exc.ack_code or ""
        if exc.element is not None:
            transaction.problems.append(SegmentProblem(
                segment_id, position, "8", exc.element, exc.component,
                code if code in _IK4_CODES else "7"))
        else:
            transaction.problems.append(SegmentProblem(
                segment_id, position, code if code in _IK3_CODES else "8"))
        transaction.reject("5")

    def _received(self, check: InterchangeCheck, claim: BillableClaim) -> _Received:
        c = claim.claim
        patient = claim.patient
        outcome = ClaimOutcome(
            claim_number=c.claim_number, charge=c.total_charge, accepted=True,
            payer_claim_number=None, patient_last_name=patient.last_name,
            patient_first_name=patient.first_name,
            member_id=claim.coverage.member_id if claim.coverage else None,
            service_from=c.service_date_from, service_to=c.service_date_to,
            billing_npi=claim.practice.npi, billing_name=claim.practice.name)
        return _Received(claim, outcome, claim.payer.payer_id if claim.payer else "",
                         check.sender_id, check.sender_qualifier)

    def _rejected_raw(self, check: InterchangeCheck, part: list[Segment],
                      exc: X12Error | None) -> list[_Received]:
        reason, message = _reason_for(exc)
        return [_Received(None, outcome, payer_id, check.sender_id, check.sender_qualifier,
                          [reason])
                for outcome, payer_id in _raw_claims(part, reason, message)]

    # -- front-end edits, then adjudication -------------------------------------------------------
    def _front_end(self, connection: sqlite3.Connection, account: str, submission_id: str,
                   received: list[_Received], now: datetime) -> list[ClaimOutcome]:
        """Front-end edits, then adjudication, claim by claim in the order received; each
        claim is stored by one INSERT (its adjudication included), payer claim numbers are
        drawn as one block and the members' accumulators are kept in memory for the batch and
        written once at its end."""
        outcomes: list[ClaimOutcome] = []
        first_number = self.store.next_values(connection, "payer_claim", len(received))
        accumulators: dict[tuple[str, str, int], Accumulators] = {}
        for offset, item in enumerate(received):
            outcome = item.outcome
            outcome.payer_claim_number = f"{now:%y%j}{first_number + offset:08d}"
            reasons = list(item.reasons)
            payer = self.config.payer(item.payer_id)
            member: Member | None = None
            original = None
            if item.claim is not None:
                reasons.extend(self._edits(connection, account, item.claim, payer))
                if payer is not None and item.claim.coverage is not None:
                    member = self.member(payer, item.claim.coverage.member_id)
                if item.claim.claim.frequency is not ClaimFrequency.ORIGINAL:
                    original = connection.execute(
                        "SELECT * FROM claims WHERE account = ? AND payer_id = ? AND "
                        "payer_claim_number = ?", (account, item.payer_id,
                                                   item.claim.claim.original_claim_reference)
                    ).fetchone()
                    # A claim rejected up front never entered adjudication: like real payers,
                    # refuse to replace or void it (it is resent as an original instead).
                    if original is None or original["status"] in (REPLACED, VOIDED, REJECTED):
                        reasons.append(StatusReason("A7", "21"))
                        outcome.message = (outcome.message or "original claim reference "
                                           "unknown, rejected or already replaced")
            if reasons:
                outcome.accepted = False
                outcome.reasons = reasons[:3]
                if outcome.message is None:
                    outcome.message = _MESSAGES.get((reasons[0].category, reasons[0].code))
            outcomes.append(outcome)
            payee = {"name": outcome.billing_name, "npi": outcome.billing_npi,
                     "tax_id": item.claim.practice.tax_id if item.claim else None,
                     "submitter_id": item.submitter_id,
                     "submitter_qualifier": item.submitter_qualifier}
            claim = item.claim
            adjudicated: dict[str, Any] = {"status": REJECTED if reasons else ADJUDICATED,
                                           "payment_json": None, "reversal_json": None,
                                           "fingerprint": None, "adjudicated_at": None}
            if not (reasons or claim is None or payer is None):
                assert claim is not None and payer is not None
                adjudicated.update(self._adjudicate(connection, claim, payer, member, original,
                                                    outcome.payer_claim_number, now.date(),
                                                    accumulators))
            connection.execute(
                "INSERT INTO claims (account, submission_id, payer_id, claim_number, "
                "payer_claim_number, member_id, billing_npi, status, total_charge, frequency, "
                "original_reference, received_date, payee_json, reasons_json, payment_json, "
                "reversal_json, fingerprint, adjudicated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account, submission_id, item.payer_id, outcome.claim_number,
                 outcome.payer_claim_number, outcome.member_id, outcome.billing_npi,
                 adjudicated["status"], str(outcome.charge),
                 claim.claim.frequency.value if claim else "1",
                 claim.claim.original_claim_reference if claim else None,
                 now.date().isoformat(), json.dumps(payee),
                 json.dumps([[r.category, r.code, r.entity] for r in outcome.reasons]),
                 adjudicated["payment_json"], adjudicated["reversal_json"],
                 adjudicated["fingerprint"], adjudicated["adjudicated_at"]))
        if accumulators:
            connection.executemany(
                "INSERT INTO accumulators (payer_id, member_id, year, deductible_met, "
                "out_of_pocket_met) VALUES (?, ?, ?, ?, ?) ON CONFLICT (payer_id, member_id, "
                "year) DO UPDATE SET deductible_met = excluded.deductible_met, "
                "out_of_pocket_met = excluded.out_of_pocket_met",
                [(payer_id, member_id, year, str(value.deductible_met),
                  str(value.out_of_pocket_met))
                 for (payer_id, member_id, year), value in accumulators.items()])
        return outcomes

    def _edits(self, connection: sqlite3.Connection, account: str, claim: BillableClaim,
               payer: PayerPolicy | None) -> list[StatusReason]:
        reasons: list[StatusReason] = []
        if payer is None:
            return [StatusReason("A3", "21", "PR")]
        if payer.enrolled_npis and claim.practice.npi not in payer.enrolled_npis:
            reasons.append(StatusReason("A3", "562", "85"))
        rendering = claim.claim.rendering_provider_npi
        if rendering is None and payer.require_rendering_provider:
            reasons.append(StatusReason("A6", "562", "82"))
        elif rendering and payer.enrolled_npis and rendering not in payer.enrolled_npis:
            reasons.append(StatusReason("A3", "562", "82"))
        if claim.coverage is None or self.member(payer, claim.coverage.member_id) is None:
            reasons.append(StatusReason("A3", "33", "IL"))
        for index, code in enumerate(claim.claim.diagnoses):
            if not self._diagnosis_ok(code, claim.claim.service_date_from):
                reasons.append(StatusReason("A7", "254" if index == 0 else "255"))
                break
        return reasons

    def _diagnosis_ok(self, code: str, on: date) -> bool:
        if code in self.config.invalid_diagnoses:
            return False
        if not self.config.check_diagnoses_with_codesets:
            return True
        if self._codesets is None:
            try:
                from medbill_core.api import default_codesets

                self._codesets = default_codesets()
            except Exception as exc:
                log.warning("ICD-10-CM code set unavailable (%s): diagnoses not checked",
                            type(exc).__name__)
                self._codesets = False
        if self._codesets is False:
            return True
        try:
            return bool(self._codesets.icd10cm(code, on))
        except Exception:
            return True

    def _adjudicate(self, connection: sqlite3.Connection, claim: BillableClaim,
                    payer: PayerPolicy, member: Member | None, original: sqlite3.Row | None,
                    payer_claim_number: str, received: date,
                    accumulators: dict[tuple[str, str, int], Accumulators]) -> dict[str, Any]:
        """The claim's adjudication as the columns of its row (``status``, ``payment_json``,
        ``reversal_json``, ``fingerprint``, ``adjudicated_at``); the member's accumulators
        move in ``accumulators`` (the batch's, read from the store on first use)."""
        c = claim.claim
        member_id = claim.coverage.member_id if claim.coverage else ""
        year = c.service_date_from.year
        benefits = member.benefits if member else None
        key = (payer.payer_id, member_id, year)
        if benefits:
            current = accumulators.get(key)
            if current is None:
                current = self._accumulators(connection, payer.payer_id, member_id, year,
                                             benefits)
        else:
            current = Accumulators()
        reversal_json = None
        if original is not None:
            current, reversal_json = self._take_back(connection, original, current,
                                                     c.frequency)
        if c.frequency is ClaimFrequency.VOID:
            if benefits:
                accumulators[key] = current
            return {"status": ADJUDICATED if reversal_json else CLOSED,
                    "reversal_json": reversal_json, "adjudicated_at": time.time()}
        prior: set[str] = set()
        if c.frequency is ClaimFrequency.ORIGINAL:
            from medbill_clearinghouse_mock.simulator.adjudication import fingerprint

            found = connection.execute(
                "SELECT 1 FROM claims WHERE payer_id = ? AND fingerprint = ? AND status IN "
                "(?, ?)", (payer.payer_id, fingerprint(claim), ADJUDICATED, REMITTED)).fetchone()
            if found:
                prior.add(fingerprint(claim))
        result = adjudicate(claim, payer=payer, benefits=benefits, accumulators=current,
                            received=received, payer_claim_number=payer_claim_number,
                            prior_fingerprints=prior,
                            coverage_active=member.active_on(c.service_date_from)
                            if member else False)
        if benefits:
            accumulators[key] = result.accumulators
        # A denied duplicate keeps no fingerprint, so the original stays the one to match.
        print_ = None if result.denial is not None and result.denial.carc == "18" else (
            result.fingerprint)
        return {"payment_json": result.payment.model_dump_json(), "reversal_json": reversal_json,
                "fingerprint": print_, "adjudicated_at": time.time()}

    def _take_back(self, connection: sqlite3.Connection, original: sqlite3.Row,
                   accumulators: Accumulators, frequency: ClaimFrequency
                   ) -> tuple[Accumulators, str | None]:
        """Retire the claim a replacement or void refers to; reverse its payment if it was
        remitted (the reversal goes out with the new claim's payment)."""
        new_status = VOIDED if frequency is ClaimFrequency.VOID else REPLACED
        reversal_json = None
        if original["payment_json"]:
            payment = ClaimPayment.model_validate_json(original["payment_json"])
            reversal, accumulators = reverse(payment, accumulators)
            if original["status"] == REMITTED:
                reversal_json = reversal.model_dump_json()
        connection.execute("UPDATE claims SET status = ?, fingerprint = NULL WHERE id = ?",
                           (new_status, original["id"]))
        return accumulators, reversal_json

    # -- payment runs -----------------------------------------------------------------------------
    def payment_run(self, account: str | None = None, *, min_age_seconds: float = 0.0,
                    ) -> list[dict[str, Any]]:
        """Batch adjudicated claims into 835s: one per account, payer and payee."""
        with self.store.transaction() as connection:
            return self._payment_run(connection, account, min_age_seconds)

    def _payment_run(self, connection: sqlite3.Connection, account: str | None,
                     min_age_seconds: float) -> list[dict[str, Any]]:
        """One 835 per account, payer and payee, of at most ``max_claims_per_remittance``
        claims (a larger group gets several): the groups in the order of their first claim,
        each read a remittance's worth of rows at a time, so memory stays flat."""
        cutoff = time.time() - min_age_seconds
        where = "status = ? AND adjudicated_at <= ?" + (" AND account = ?" if account else "")
        params: tuple[Any, ...] = (ADJUDICATED, cutoff, account) if account else (
            ADJUDICATED, cutoff)
        groups = connection.execute(
            f"SELECT account, payer_id, billing_npi, MIN(id) AS first FROM claims "
            f"WHERE {where} GROUP BY account, payer_id, billing_npi ORDER BY first",
            params).fetchall()
        made: list[dict[str, Any]] = []
        now = self.now()
        size = self.config.max_claims_per_remittance
        for group in groups:
            payer = self.config.payer(group["payer_id"])
            if payer is None:
                continue
            last = 0
            while True:
                rows = connection.execute(
                    f"SELECT * FROM claims WHERE {where} AND account = ? AND "
                    "payer_id = ? AND billing_npi = ? AND id > ? ORDER BY id LIMIT ?",
                    (*params, group["account"], group["payer_id"], group["billing_npi"],
                     last, size)).fetchall()
                if not rows:
                    break
                made.append(self._remit(connection, group["account"], payer,
                                        group["billing_npi"], rows, now))
                last = rows[-1]["id"]
        return made

    def _remit(self, connection: sqlite3.Connection, account: str, payer: PayerPolicy,
               npi: str, rows: list[sqlite3.Row], now: datetime) -> dict[str, Any]:
        payments: list[ClaimPayment] = []
        for row in rows:
            if row["reversal_json"]:
                payments.append(ClaimPayment.model_validate_json(row["reversal_json"]))
            if row["payment_json"]:
                payments.append(ClaimPayment.model_validate_json(row["payment_json"]))
        payee = json.loads(rows[0]["payee_json"])
        run = self.store.next_value(connection, f"remit:{account}:{payer.payer_id}")
        paid = total(p.paid for p in payments)
        adjustments: list[ProviderAdjustment] = []
        for rule in payer.provider_adjustments:
            if run % rule.every:
                continue
            if paid - total(a.amount for a in adjustments) - rule.amount < ZERO:
                continue  # never a negative payment
            adjustments.append(ProviderAdjustment(
                provider_id=npi, fiscal_period_date=date(now.year, 12, 31),
                reason_code=rule.reason_code, reference=rule.reference, amount=rule.amount))
        amount = paid - total(a.amount for a in adjustments)
        trace = f"EFT{self.store.next_value(connection, 'trace'):09d}"
        remittance = Remittance(
            trace_number=trace, payer_trace_id="1" + payer.tax_id,
            handling_code="I" if amount > ZERO else "H", payment_amount=amount,
            payment_method=PaymentMethod.ACH if amount > ZERO else PaymentMethod.NONE,
            payment_date=now.date(), production_date=now.date(), payer_name=payer.name,
            payer_id=payer.payer_id, payee_name=payee["name"], payee_npi=npi,
            payee_tax_id=payee.get("tax_id"), claims=payments, provider_adjustments=adjustments)
        parties = Parties(submitter_id=self.config.clearinghouse_id, submitter_name=payer.name,
                          receiver_id=(payee.get("submitter_id") or "UNKNOWN")[:15],
                          receiver_name=payee["name"],
                          receiver_qualifier=payee.get("submitter_qualifier") or "ZZ",
                          usage="T" if self.config.test_mode else "P")
        address = payer.address
        contact = PayerContact(address=Address(line1=address.line1, city=address.city,
                                               state=address.state,
                                               postal_code=address.postal_code),
                               technical_contact_phone="5555550199")
        text = encode_835([remittance], parties=parties,
                          control_numbers=StoreControlNumbers(self.store, connection), now=now,
                          payer_contact=contact)
        document = self._publish(connection, account, "835", text, None)
        if self._fault_config("republish"):
            self._publish(connection, account, "835", text, None)
        remittance_id = f"rem-{self.store.next_value(connection, 'remittance'):08d}"
        connection.execute(
            "INSERT INTO remittances (id, account, payer_id, payee_npi, trace_number, amount, "
            "claim_count, document_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (remittance_id, account, payer.payer_id, npi, trace, str(amount), len(payments),
             document["document_id"], _now_iso()))
        connection.executemany(
            "UPDATE claims SET status = ?, remittance_id = ? WHERE id = ?",
            [(REMITTED, remittance_id, row["id"]) for row in rows])
        log.info("remittance %s: payer %s, %d claim payments, %d provider adjustments",
                 remittance_id, payer.payer_id, len(payments), len(adjustments))
        return {"remittance_id": remittance_id, "payer_id": payer.payer_id,
                "trace_number": trace, "amount": str(amount), "claim_payments": len(payments),
                "provider_adjustments": len(adjustments),
                "document_id": document["document_id"]}

    def _fault_config(self, kind: str) -> bool:
        rules = self.fault_plan.rules if self.fault_plan is not None else self.config.faults
        return self.config.test_mode and any(rule.kind == kind for rule in rules)

    # -- the response feed ------------------------------------------------------------------------
    def feed(self, account: str, cursor: str | None, limit: int) -> Outcome:
        after = decode_cursor(cursor)
        if after is None:
            return Outcome(400, {"error": "invalid_cursor",
                                 "message": "the cursor is not one this server issued"})
        limit = max(1, min(limit, self.config.max_page_size))
        with self.store.transaction() as connection:
            if self.config.remit_delay_seconds is not None:
                self._payment_run(connection, account, self.config.remit_delay_seconds)
            rows = connection.execute(
                "SELECT * FROM documents WHERE account = ? AND acknowledged_at IS NULL AND "
                "seq > ? ORDER BY seq LIMIT ?", (account, after, limit + 1)).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            if rows:
                connection.executemany(
                    "UPDATE documents SET deliveries = deliveries + 1 WHERE seq = ?",
                    [(row["seq"],) for row in rows])
        documents = [{"document_id": r["document_id"], "sequence": r["seq"], "kind": r["kind"],
                      "submission_id": r["submission_id"], "created_at": r["created_at"],
                      "deliveries": r["deliveries"] + 1, "content": r["content"]} for r in rows]
        next_cursor = encode_cursor(rows[-1]["seq"]) if rows else (cursor or encode_cursor(after))
        return Outcome(200, {"documents": documents, "next_cursor": next_cursor,
                             "has_more": more})

    def acknowledge(self, account: str, document_ids: list[str]) -> Outcome:
        acknowledged: list[str] = []
        already: list[str] = []
        unknown: list[str] = []
        with self.store.transaction() as connection:
            for document_id in dict.fromkeys(document_ids):
                row = connection.execute(
                    "SELECT acknowledged_at FROM documents WHERE account = ? AND "
                    "document_id = ?", (account, document_id)).fetchone()
                if row is None:
                    unknown.append(document_id)
                elif row["acknowledged_at"]:
                    already.append(document_id)
                else:
                    connection.execute(
                        "UPDATE documents SET acknowledged_at = ? WHERE account = ? AND "
                        "document_id = ?", (_now_iso(), account, document_id))
                    acknowledged.append(document_id)
        return Outcome(200, {"acknowledged": acknowledged, "already_acknowledged": already,
                             "unknown": unknown})

    # -- submissions: status ----------------------------------------------------------------------
    def submission(self, account: str, submission_id: str) -> Outcome:
        with self.store.transaction() as connection:
            row = connection.execute(
                "SELECT response_json FROM submissions WHERE account = ? AND id = ?",
                (account, submission_id)).fetchone()
            if row is None:
                return Outcome(404, {"error": "not_found", "message": "no such submission"})
            claims = connection.execute(
                "SELECT claim_number, payer_claim_number, payer_id, status, remittance_id "
                "FROM claims WHERE account = ? AND submission_id = ? ORDER BY id",
                (account, submission_id)).fetchall()
        body = json.loads(row["response_json"])
        body.pop("acknowledgments", None)
        body["claim_states"] = [dict(c) for c in claims]
        return Outcome(200, body)

    # -- real time --------------------------------------------------------------------------------
    def eligibility(self, account: str, body: bytes) -> Outcome:
        return self._realtime(account, body, "HS", "270", "005010X279", self._answer_270)

    def claim_status(self, account: str, body: bytes) -> Outcome:
        return self._realtime(account, body, "HR", "276", "005010X212", self._answer_276)

    def _realtime(self, account: str, body: bytes, functional_id: str, set_id: str,
                  version: str, answer: Callable[..., Outcome]) -> Outcome:
        text = _text_of(body)
        check = check_interchange(text, functional_id=functional_id, set_id=set_id,
                                  version_prefix=version)
        now = self.now()
        envelope = self.envelope(check.sender_id, check.sender_qualifier)
        with self.store.transaction() as connection:
            numbers = StoreControlNumbers(self.store, connection)
            if not check.accepted:
                return Outcome(422, text=encode_ta1(check, envelope, numbers, now), kind="TA1")
            transaction = next((t for g in check.groups if not g.ak9_codes
                                for t in g.transactions if t.accepted), None)
            if transaction is not None:
                try:
                    response = answer(connection, account, transaction, check, envelope,
                                      numbers, now)
                except RequestProblem as problem:
                    transaction.problems.append(SegmentProblem(
                        problem.segment_id, problem.position, problem.code, problem.element,
                        None, problem.element_code))
                    transaction.reject("5")
                else:
                    log.info("real-time %s answered (%d bytes in, %d out)", set_id, len(body),
                             len(response.text or ""))
                    return response
            log.info("real-time %s rejected with a 999 (%d bytes in)", set_id, len(body))
            return Outcome(422, text=encode_999(check, envelope, numbers, now), kind="999")

    def _answer_270(self, connection: sqlite3.Connection, account: str,
                    transaction: TransactionCheck, check: InterchangeCheck, envelope: Envelope,
                    numbers: StoreControlNumbers, now: datetime) -> Outcome:
        assert check.delimiters is not None
        inquiries = decode_270s(transaction.segments, check.delimiters.repetition)
        payer = self.config.payer(inquiries[0].payer.identifier or "")
        answers: list[tuple[EligibilityInquiry, EligibilityAnswer]] = []
        for inquiry in inquiries:
            if payer is None:
                answer = EligibilityAnswer(None, None, False)
            else:
                member = self.member(payer, inquiry.member_id)
                day = inquiry.service_date or now.date()
                answer = EligibilityAnswer(payer.name, member,
                                           bool(member and member.active_on(day)))
                if member is not None:
                    accumulators = self._accumulators(connection, payer.payer_id,
                                                      member.member_id, day.year,
                                                      member.benefits)
                    answer.deductible_met = accumulators.deductible_met
                    answer.out_of_pocket_met = accumulators.out_of_pocket_met
            answers.append((inquiry, answer))
        return Outcome(200, text=encode_271s(answers, envelope, numbers, now), kind="271")

    def _answer_276(self, connection: sqlite3.Connection, account: str,
                    transaction: TransactionCheck, check: InterchangeCheck, envelope: Envelope,
                    numbers: StoreControlNumbers, now: datetime) -> Outcome:
        request = decode_276(transaction.segments)
        payer_id = request.payer.identifier or ""
        payer = self.config.payer(payer_id)
        answers = [self._status_of(connection, account, payer_id, claim)
                   for provider in request.providers for claim in provider.claims]
        return Outcome(200, text=encode_277(request, answers, payer.name if payer else
                                            request.payer.last_name or "UNKNOWN PAYER",
                                            envelope, numbers, now), kind="277")

    def _status_of(self, connection: sqlite3.Connection, account: str, payer_id: str,
                   inquiry: Any) -> ClaimStatusAnswer:
        row = None
        if inquiry.payer_claim_number:
            row = connection.execute(
                "SELECT * FROM claims WHERE account = ? AND payer_id = ? AND "
                "payer_claim_number = ?", (account, payer_id, inquiry.payer_claim_number)
            ).fetchone()
        if row is None and inquiry.patient_control_number:
            row = connection.execute(
                "SELECT * FROM claims WHERE account = ? AND payer_id = ? AND claim_number = ? "
                "ORDER BY id DESC LIMIT 1",
                (account, payer_id, inquiry.patient_control_number)).fetchone()
        if row is None:
            return ClaimStatusAnswer("A4", "35")
        base = {"payer_claim_number": row["payer_claim_number"],
                "patient_control_number": row["claim_number"],
                "charge": Decimal(row["total_charge"])}
        status = row["status"]
        if status == REJECTED:
            reasons = json.loads(row["reasons_json"] or "[]") or [["A3", "21", None]]
            category, code, entity = reasons[0]
            return ClaimStatusAnswer(category, code, entity, **base)
        if status in (REPLACED, VOIDED, CLOSED):
            return ClaimStatusAnswer("F3", "3", **base)
        payment = (ClaimPayment.model_validate_json(row["payment_json"])
                   if row["payment_json"] else None)
        adjudicated = (datetime.fromtimestamp(row["adjudicated_at"]).date()
                       if row["adjudicated_at"] else None)
        if self.config.today is not None and adjudicated is not None:
            adjudicated = self.config.today
        if status == ADJUDICATED or payment is None:
            return ClaimStatusAnswer("F0", "3", paid=payment.paid if payment else None,
                                     adjudicated=adjudicated, **base)
        remittance = connection.execute(
            "SELECT trace_number, amount, created_at FROM remittances WHERE id = ?",
            (row["remittance_id"],)).fetchone()
        paid_date = self.now().date() if remittance else None
        denied = payment.paid == ZERO
        return ClaimStatusAnswer(
            "F2" if denied else "F1", "585" if denied else "65", paid=payment.paid,
            adjudicated=adjudicated,
            payment_method=None if denied else "ACH", paid_date=None if denied else paid_date,
            check_number=None if denied or remittance is None else remittance["trace_number"],
            **base)


_MESSAGES = {
    ("A3", "562"): "provider NPI not enrolled with the payer",
    ("A6", "562"): "rendering provider required",
    ("A3", "33"): "subscriber and subscriber ID not found",
    ("A7", "254"): "principal diagnosis code invalid",
    ("A7", "255"): "diagnosis code invalid",
    ("A3", "21"): "payer ID not served by this clearinghouse",
    ("A7", "21"): "missing or invalid information",
    ("A6", "21"): "missing or invalid information",
    ("A7", "178"): "total charge does not equal the sum of the line charges",
}


#: the 837s the clearinghouse takes: professional (X222) and institutional (X223)
_CLAIM_GUIDES = ("005010X222", "005010X223")


def _claim_decoder(transaction: TransactionCheck,
                   group: GroupCheck) -> Callable[[str], list[BillableClaim]]:
    """decode_837i for an institutional transaction set (ST03, else GS08), else decode_837p."""
    version = transaction.implementation or group.version or ""
    return decode_837i if version.startswith("005010X223") else decode_837p


def _text_of(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _is_syntax(exc: X12Error) -> bool:
    """Element and segment syntax problems carry a 999 code; claim data problems do not."""
    return bool(exc.ack_code)


def _reason_for(exc: X12Error | None) -> tuple[StatusReason, str]:
    text = (exc.expected if exc is not None else "").lower()
    if "npi" in text:
        entity = "82" if "rendering" in text else "DN" if "referring" in text else "85"
        return StatusReason("A3", "562", entity), "provider NPI invalid"
    if "diagnos" in text:
        principal = "diagnoses.0" in text or "diagnoses[0]" in text
        return (StatusReason("A7", "254" if principal else "255"), "diagnosis code invalid")
    if "clm02" in text:
        return StatusReason("A7", "178"), _MESSAGES[("A7", "178")]
    return StatusReason("A6", "21"), "missing or invalid claim data"


def _bht_reference(check: InterchangeCheck) -> str:
    for group in check.groups:
        for transaction in group.transactions:
            for segment in transaction.segments[:3]:
                if segment[0] == "BHT" and len(segment) > 3 and segment[3].strip():
                    return segment[3].strip()
    return check.control_number


def _subtrees(segments: list[Segment]) -> list[list[int]]:
    """Positions (ST = 1) of standalone pieces of a transaction set: ST, the header, the
    billing provider loop that applies, one subscriber loop (2000B and what follows), SE."""
    header: list[int] = []
    billing: list[int] = []
    pieces: list[list[int]] = []
    current: list[int] | None = None
    in_header = True
    last = len(segments)
    for position, segment in enumerate(segments, start=1):
        tag = segment[0]
        if position == 1 or (position == last and tag == "SE"):
            continue
        if tag == "HL":
            in_header = False
            level = segment[3].strip() if len(segment) > 3 else ""
            if level == "20":
                billing = [position]
                current = None
                continue
            if level == "22":
                current = [*billing, position]
                pieces.append(current)
                continue
        if in_header:
            header.append(position)
        elif current is not None:
            current.append(position)
        else:
            billing.append(position)
    ends = [last] if segments[-1][0] == "SE" else []
    return [[1, *header, *piece, *ends] for piece in pieces]


def _raw_claims(part: list[Segment], reason: StatusReason, message: str
                ) -> list[tuple[ClaimOutcome, str]]:
    """Claims of a subscriber loop that could not be decoded, read from their segments."""
    billing_npi = billing_name = payer_id = ""
    subscriber: tuple[str, str | None, str | None] = ("UNKNOWN", None, None)
    patient: tuple[str, str | None] | None = None
    found: list[tuple[ClaimOutcome, str]] = []
    claim: ClaimOutcome | None = None
    for segment in part:
        tag = segment[0]

        def element(i: int, s: Segment = segment) -> str:
            return s[i].strip() if len(s) > i else ""

        if tag == "NM1":
            entity = element(1)
            if entity == "85":
                billing_name, billing_npi = element(3), element(9)
            elif entity == "PR":
                payer_id = element(9)
            elif entity == "IL":
                subscriber = (element(3) or "UNKNOWN", element(4) or None, element(9) or None)
            elif entity == "QC":
                patient = (element(3) or "UNKNOWN", element(4) or None)
        elif tag == "CLM":
            names = patient or subscriber[:2]
            claim = ClaimOutcome(
                claim_number=element(1)[:20] or "UNKNOWN",
                charge=parse_money(element(2)) or Decimal("0"), accepted=False,
                payer_claim_number=None, patient_last_name=names[0],
                patient_first_name=names[1], member_id=subscriber[2], service_from=None,
                service_to=None, billing_npi=billing_npi, billing_name=billing_name or "PROVIDER",
                reasons=[reason], message=message)
            found.append((claim, payer_id))
        elif tag == "DTP" and claim is not None and element(1) == "472":
            start_text, _, end_text = element(3).partition("-")
            start = parse_ccyymmdd(start_text)
            end = parse_ccyymmdd(end_text) if end_text else start
            if start:
                claim.service_from = min(filter(None, [claim.service_from, start]))
            if end:
                claim.service_to = max(filter(None, [claim.service_to, end]))
    return found

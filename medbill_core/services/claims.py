"""Creating claims, moving them through the lifecycle, and assembling what adapters need."""

from __future__ import annotations

import builtins  # the service's list() method hides list in its annotations
import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from medbill_core import audit, ledger_balances
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    BillableClaim,
    Claim,
    ClaimAdjustmentRef,
    ClaimFrequency,
    ClaimState,
    ClaimStatusCode,
    ClaimStatusRequest,
    Coverage,
    Patient,
    PriorLineAdjudication,
    PriorPayerAdjudication,
    Provider,
    ServiceLine,
    validate_record,
)
from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Principal
from medbill_core.errors import ConfigurationError, NotFound, UnknownPayer, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, Ledger, LedgerLine, Totals
from medbill_core.lifecycle import EDITABLE, NOT_SENT, Transition, advance_path, check_transition
from medbill_core.money import ZERO, to_money
from medbill_core.permissions import Action, require
from medbill_core.plugins import PluginHooks
from medbill_core.services.patients import PatientService
from medbill_core.services.practices import profile_of
from medbill_core.storage.batches import chunks, expire_on_rollback, held_or_read, unique
from medbill_core.storage.mapping import (
    CLAIM_COLUMNS,
    LINE_COLUMNS,
    claim_from_row,
    claim_from_values,
    claim_values,
    coverage_from_row,
    line_from_values,
    line_row,
    line_values,
    patient_from_row,
    provider_from_row,
    trusted,
)
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimLineRow,
    ClaimRow,
    ClaimTransitionRow,
    CoverageRow,
    LedgerBalanceRow,
    LedgerEntryRow,
    PatientRow,
    PostingRow,
    ProviderRow,
    utcnow,
)

#: the identity map's key of claim row 0 (the class and token of every claim row's key)
_ROW_KEY = identity_key(ClaimRow, 0)


def _row_key(claim_id: int) -> Any:
    """The identity map's key of a claim's row (``identity_key`` without its inspection)."""
    return _ROW_KEY[0], (claim_id,), _ROW_KEY[2]

#: the attributes of a claim row that :meth:`ClaimService._rows` needs loaded
_ROW_ATTRIBUTES = frozenset(inspect(ClaimRow).attrs.keys()) - {"lines"}

#: the columns a list page selects (ORM attributes, so the practice scope applies to them)
_CLAIM_FIELDS = tuple(getattr(ClaimRow, name) for name in sorted(CLAIM_COLUMNS))
_LINE_FIELDS = tuple(getattr(ClaimLineRow, name) for name in sorted(LINE_COLUMNS))


def _by_id(service_from: date | None, service_to: date | None) -> Any:
    """The order of a list page: by id. With a date-of-service filter, by ``id + 0``: the same
    order, but PostgreSQL then reads the claims of those dates by their index and sorts the
    page from them, instead of walking the primary key from the first claim until a page of
    them turns up -- ids grow with time, so for recent dates (what billers ask for) that walk
    crossed every older claim (54,000 of 100,000 for a quarter), and all of them for dates
    with no claim. The cost is now bounded by the claims matching, as the list's totals are."""
    return ClaimRow.id + 0 if service_from is not None or service_to is not None else ClaimRow.id


#: the tables batch statements write without the ORM's unit of work
_CLAIMS = cast(Table, ClaimRow.__table__)
_TRANSITIONS = cast(Table, ClaimTransitionRow.__table__)


class ClaimService:
    """Claims inside the caller's transaction.

    Post-commit lifecycle hooks are queued on ``after_commit`` and run by the
    unit of work once the transaction has committed.
    """

    def __init__(self, session: Session, *, actor: str, config: MedbillConfig,
                 hooks: PluginHooks, after_commit: list[Callable[[], None]],
                 principal: Principal | None = None) -> None:
        self.session = session
        self.actor = actor
        self.config = config
        self.hooks = hooks
        self.after_commit = after_commit
        #: who acts: its role is checked per action by the public methods (None: the
        #: installation's own work, or a service using this one inside a checked operation)
        self.principal = principal

    def _require(self, action: Action) -> None:
        if self.principal is not None:
            require(self.principal, action)

    # -- creation -----------------------------------------------------------------------------
    def create(self, claim: Claim) -> Claim:
        """Store a new draft claim and post its charges to the ledger.

        :raises ValidationFailed: the patient or coverage does not exist or does not match.
        :raises UnknownPayer: the claim's payer is not configured.
        """
        return self.create_many([claim])[0]

    def create_many(self, claims: Sequence[Claim]) -> builtins.list[Claim]:
        """Store new draft claims and post their charges, as :meth:`create` does for each,
        in a few statements for the whole batch: the references of every claim are read with
        one query per kind, claims, lines, charge postings and their entries are inserted by
        executemany.

        Everything is checked before anything is written, claim by claim in the order given
        (references, then the claim number, also against the claims earlier in the batch):
        the first claim that fails raises what :meth:`create` raises for it.

        :returns: the saved claims, in the order given.
        """
        self._require(Action.CLAIMS_WRITE)
        claims = list(claims)
        if not claims:
            return []
        references = self._references(claims)
        numbers = unique(claim.claim_number for claim in claims)
        # the practice's own numbers (the session sees one practice): each practice numbers its
        # claims, unique per practice (migration 0043)
        used: dict[str, str] = {}
        for chunk in chunks(numbers):
            for number, its_state in self.session.execute(
                    select(ClaimRow.claim_number, ClaimRow.state)
                    .where(ClaimRow.claim_number.in_(chunk))):
                used[number] = its_state
        for claim in claims:
            record = f"claim {claim.claim_number}"
            references.check(claim, record)
            state = used.get(claim.claim_number)
            if state is not None:
                raise ValidationFailed(record, [("claim_number", "already used by another claim"
                                                 + (" (a deleted draft)"
                                                    if state == ClaimState.DELETED.value else ""))])
            used[claim.claim_number] = ClaimState.DRAFT.value  # the batch's own numbers too
        # RETURNING rows come back in no set order (asking for the order costs SQLite one
        # statement per row): the unique claim number, and claim and line number, say whose.
        # render_nulls: rows whose None values differ are still one executemany
        try:
            inserted = {row.claim_number: row for row in self.session.scalars(
                insert(ClaimRow).returning(ClaimRow).execution_options(render_nulls=True),
                [{**claim_values(claim), "state": ClaimState.DRAFT.value} for claim in claims])}
        except IntegrityError as exc:
            if not _claim_number_taken(exc):
                raise
            # a claim of the practice created at the same time took a number after the look
            # above (PostgreSQL let the insert wait for it): refused as the look refuses
            raise ValidationFailed(
                f"claim {claims[0].claim_number}" if len(claims) == 1 else "claims",
                [("claim_number", "already used by another claim" if len(claims) == 1
                  else "one of them is already used by another claim")]) from None
        rows = [inserted[claim.claim_number] for claim in claims]
        lines: dict[int, builtins.list[ClaimLineRow]] = {row.id: [] for row in rows}
        for line in self.session.scalars(
                insert(ClaimLineRow).returning(ClaimLineRow).execution_options(render_nulls=True),
                [{**line_values(line), "claim_id": row.id}
                 for claim, row in zip(claims, rows, strict=True) for line in claim.lines]):
            lines[line.claim_id].append(line)
        for row in rows:
            set_committed_value(row, "lines", sorted(lines[row.id], key=_line_number))
        expire_on_rollback(self.session, rows)
        postings = self._post_charges([(claim, row.id) for claim, row in
                                       zip(claims, rows, strict=True)
                                       if claim.account_claim_id is None])
        for claim, row in zip(claims, rows, strict=True):
            audit.record(self.session, actor=self.actor, action="claim.create",
                         entity_type="claim", entity_id=row.id,
                         details={"claim_number": claim.claim_number,
                                  "lines": len(claim.lines),
                                  "frequency": claim.frequency.value})
            posted = postings.get(row.id)
            if posted is not None:
                audit.record(self.session, actor=self.actor, action="ledger.post",
                             entity_type="posting", entity_id=posted[0],
                             details={"key": f"charge:claim:{row.id}", "source": "claim",
                                      "entries": posted[1]})
        return [claim_from_row(row) for row in rows]

    def _post_charges(self, claims: Sequence[tuple[Claim, int]]) -> dict[int, tuple[int, int]]:
        """Post the charges of new claims (each a ``charge:claim:<id>`` posting of one charge
        entry per line, to the bucket that owes them) with the ledger's batch poster
        (:meth:`Ledger.begin_batch`): one look-up of the keys, the postings and their entries
        one executemany each (and, for their ids, one statement on SQLite, one per batch on
        PostgreSQL). The caller records their audit events.

        :returns: claim id -> (posting id, entries) of the postings made (a key posted before
            is left as it is, as :meth:`Ledger.post` leaves it).
        """
        keys = {f"charge:claim:{claim_id}": (claim, claim_id) for claim, claim_id in claims}
        for chunk in chunks(builtins.list(keys)):
            for key in self.session.scalars(select(PostingRow.posting_key)
                                            .where(PostingRow.posting_key.in_(chunk))):
                del keys[key]
        if not keys:
            return {}
        ledger = Ledger(self.session, actor=self.actor)
        outer = ledger.in_batch()  # a batch of the caller's: it writes what is posted here
        ledger.begin_batch((), absent_keys=keys, postings=len(keys))
        posted: dict[int, tuple[int, int]] = {}
        try:
            for key, (claim, claim_id) in keys.items():
                # audit events recorded by create_many, each after its claim's
                result = ledger.post(key, "claim", _charge_lines(claim, claim_id),
                                     effective_date=claim.service_date_from,
                                     memo=f"charges of claim {claim_id}", record=False)
                posted[claim_id] = (result.posting_id, result.entries)
        except BaseException:
            if not outer:
                ledger.end_batch(discard=True)
            raise
        if not outer:
            ledger.end_batch()
        return posted

    def _references(self, claims: Sequence[Claim]) -> _References:
        """The patients and coverages ``claims`` name: those this unit of work holds as they
        are, the others read with one query each."""
        patients = held_or_read(self.session, PatientRow, PatientRow.id,
                                [c.patient_id for c in claims])
        coverages = held_or_read(self.session, CoverageRow, CoverageRow.id,
                                 [c.coverage_id for c in claims if c.coverage_id is not None])
        return _References(self.config, set(patients), {
            key: (row.patient_id, row.payer_key) for key, row in coverages.items()})

    def _check_references(self, claim: Claim, record: str) -> None:
        """The patient, coverage and payer a claim names exist and belong together
        (:meth:`_References.check`)."""
        self._references([claim]).check(claim, record)

    def coverage_for_payer(self, patient_id: int, payer_key: str, on: date,
                           record: str) -> Coverage:
        """The patient's one coverage with ``payer_key`` active on ``on``.

        :raises ValidationFailed: none or several are active (naming ``coverage_id``).
        """
        patients = PatientService(self.session, actor=self.actor, config=self.config)
        active = [c for c in patients.coverages(patient_id)
                  if c.payer_key == payer_key and c.is_active_on(on)]
        if len(active) != 1:
            found = "no coverage" if not active else f"{len(active)} coverages"
            raise ValidationFailed(record, [(
                "coverage_id", f"required: the patient has {found} with payer {payer_key} "
                "active on the service date")])
        return active[0]

    def update_draft(self, claim_id: int, claim: Claim) -> Claim:
        """Replace a draft claim's content (service lines, codes ...), re-posting its charges.

        A validated claim (not sent yet) goes back to draft first: it must be scrubbed again.
        The claim number and patient stay; a new coverage or payer moves the charges to the
        bucket that now owes them (refused once payments were applied).
        """
        self._require(Action.CLAIMS_WRITE)
        row = self._row(claim_id)
        record = f"claim {claim_id}"
        state = ClaimState(row.state)
        if state not in EDITABLE and state is not ClaimState.VALIDATED:
            raise ValidationFailed(record, [("state", f"only draft claims can be edited, not "
                                                      f"{state.label} (a sent claim is "
                                                      "corrected: medbill claims correct, or "
                                                      "reopen when rejected)")])
        current = claim_from_row(row)
        if claim.patient_id != current.patient_id:
            raise ValidationFailed(record, [("patient_id", "cannot change: create a claim for "
                                                           "the other patient")])
        self._check_references(claim, record)
        payer_changed = (claim.coverage_id, claim.payer_key) != (current.coverage_id,
                                                                 current.payer_key)
        account = self.account_id(current)
        ledger = Ledger(self.session, actor=self.actor)
        if payer_changed:
            if current.account_claim_id is not None:
                raise ValidationFailed(record, [("coverage_id", "cannot change on a "
                                                 "replacement, void or secondary claim")])
            totals = ledger.totals(claim_id=account)
            if totals.charges != totals.balance.insurance + totals.balance.patient:
                raise ValidationFailed(record, [("coverage_id", "cannot change: payments or "
                                                 "adjustments were applied to this claim")])
        if state is ClaimState.VALIDATED:  # its edits passed for other content: scrub again
            self.transition(claim_id, ClaimState.DRAFT, reason="edited")
            current = claim_from_row(row)
        before = claim_values(current)
        values = claim_values(claim)
        # what ties the claim to its encounter and to the payer is not an edit
        for fixed in ("state", "claim_number", "account_claim_id", "replaces_claim_id",
                      "payer_claim_number"):
            if fixed in before:
                values[fixed] = before[fixed]
        changed = audit.changed_fields(before, values)
        for key in changed:
            setattr(row, key, values[key])
        row.lines.clear()
        self.session.flush()  # delete old lines before inserting renumbered ones
        row.lines.extend(line_row(line) for line in claim.lines)
        self.session.flush()
        edited = claim_from_row(row)
        stamp = utcnow().isoformat()
        if payer_changed:  # take the charges off the old bucket, post them on the new one
            self._recharge(current, account, ZERO, key=f"charge:claim:{claim_id}:move:{stamp}",
                           memo="payer changed")
        self._recharge(edited, account, claim.total_charge,
                       key=f"charge:claim:{claim_id}:edit:{stamp}", memo="charge correction")
        audit.record(self.session, actor=self.actor, action="claim.update", entity_type="claim",
                     entity_id=claim_id, details={"fields": changed})
        return claim_from_row(row)

    def ever_sent(self, claim_id: int) -> bool:
        """True once the claim was put in an outbox batch (queued or submitted), even if it
        came back to draft since (a rejected claim reopened)."""
        return (self.session.scalar(select(func.count()).select_from(ClaimTransitionRow).where(
            ClaimTransitionRow.claim_id == claim_id,
            ClaimTransitionRow.target.in_([ClaimState.QUEUED.value,
                                           ClaimState.SUBMITTED.value]))) or 0) > 0

    def delete_draft(self, claim_id: int, *, reason: str) -> Claim:
        """Remove a draft that never left the practice: its charges are reversed and it moves
        to ``deleted`` (the row stays: ledger and audit trail keep pointing at it).

        :raises ValidationFailed: a blank ``reason``; the claim was ever sent, has payments or
            adjustments, or other claims (replacements, secondaries) hang on it.
        """
        self._require(Action.CLAIMS_WRITE)
        record = f"claim {claim_id}"
        reason = _stated_reason(record, reason, "say why the draft is deleted")
        row = self._row(claim_id)
        state = ClaimState(row.state)
        if state not in (ClaimState.DRAFT, ClaimState.VALIDATED):
            raise ValidationFailed(record, [("state", f"only a draft can be deleted, not "
                                                      f"{state.label}")])
        if self.ever_sent(claim_id):
            raise ValidationFailed(record, [("state", "it was sent to the payer before: void "
                                                      "it (medbill claims void) instead")])
        if row.account_claim_id is not None:
            raise ValidationFailed(record, [("account_claim_id", "a replacement, void or "
                                             "secondary claim shares another claim's account: "
                                             "it cannot be deleted")])
        dependants = self.session.scalar(select(func.count()).select_from(ClaimRow).where(
            (ClaimRow.account_claim_id == claim_id) | (ClaimRow.replaces_claim_id == claim_id)))
        if dependants:
            raise ValidationFailed(record, [("id", "other claims share its account")])
        claim = claim_from_row(row)
        totals = Ledger(self.session, actor=self.actor).totals(claim_id=claim_id)
        if totals.charges != totals.balance.insurance + totals.balance.patient:
            raise ValidationFailed(record, [("balance", "payments or adjustments were applied "
                                                        "to it: move them first")])
        self._recharge(claim, claim_id, ZERO, key=f"charge:claim:{claim_id}:deleted",
                       memo="draft deleted")
        return self.transition(claim_id, ClaimState.DELETED, reason=reason)

    def status_inquiry(self, claim_id: int, trace_number: str) -> ClaimStatusRequest:
        """A 276 request for a claim the payer has (refused for claims never sent or billed
        to no payer: the payer would answer "claim not found")."""
        self._require(Action.CLAIMS_STATUS)
        claim = self.get(claim_id)
        record = f"claim {claim.claim_number}"
        if claim.payer_key is None or claim.coverage_id is None:
            raise ValidationFailed(record, [("payer_key", "self-pay: no payer to ask (a status "
                                                          "inquiry needs a coverage)")])
        if claim.state in NOT_SENT or not self.ever_sent(claim_id):
            raise ValidationFailed(record, [("state", f"{claim.state.label}: never sent to the "
                                                      "payer, so there is no status to ask "
                                                      "for; submit it first")])
        return ClaimStatusRequest(trace_number=trace_number, claim=self.billable(claim_id))

    # -- corrections --------------------------------------------------------------------------
    def correct(self, claim_id: int, corrected: Claim, *, reason: str) -> Claim:
        """Send the payer a replacement (frequency 7) for an adjudicated claim.

        Not for a rejected claim (the payer has nothing to replace): reopen it instead.

        The replacement carries the payer's claim control number of the original, shares
        its ledger account (the charge difference is posted there), and the original
        moves to ``replaced``.

        :raises ValidationFailed: a blank ``reason`` (it is kept in the claim's history).
        """
        self._require(Action.CLAIMS_CORRECT)
        reason = _stated_reason(f"claim {claim_id}", reason,
                                "say what the replacement corrects")
        return self._follow_up(self.get(claim_id), corrected, ClaimFrequency.REPLACEMENT, reason)

    def void(self, claim_id: int, *, reason: str) -> Claim:
        """Ask the payer to void an adjudicated claim (frequency 8). Its charges are reversed
        now when the payer never answered it, else by the payer's 835 reversal when it arrives.

        A rejected claim never reached adjudication, and a self-pay claim was billed to the
        patient only, so there is nothing to void at a payer: it is voided here only (charges
        reversed, nothing sent) and returned itself.

        :raises ValidationFailed: a blank ``reason`` (it is kept in the claim's history).
        """
        self._require(Action.CLAIMS_VOID)
        reason = _stated_reason(f"claim {claim_id}", reason, "say why the claim is voided")
        original = self.get(claim_id)
        if original.state in NOT_SENT and not self.ever_sent(claim_id):
            raise ValidationFailed(f"claim {claim_id}", [(
                "state", f"{original.state.label}: never sent to the payer, so there is "
                "nothing to void; delete it (medbill claims delete) instead")])
        if original.state in (ClaimState.VOIDED, ClaimState.REPLACED):
            # say what happened to it, not that a claim cannot move from voided to voided
            follow_ups = list(self.session.scalars(select(ClaimRow.claim_number).where(
                ClaimRow.replaces_claim_id == claim_id).order_by(ClaimRow.id)))
            seen = f" (see {', '.join(follow_ups)})" if follow_ups else ""
            raise ValidationFailed(f"claim {claim_id}", [(
                "state", "already voided" + seen if original.state is ClaimState.VOIDED
                else f"replaced{seen}: void the replacement instead")])
        if original.state is ClaimState.REJECTED or original.payer_key is None:
            account = self.account_id(original)
            self._recharge(original, account, ZERO, key=f"charge:claim:{account}:abandoned",
                           memo="self-pay claim voided" if original.payer_key is None
                           else "rejected claim voided", allow_credit=True)
            return self.transition(claim_id, ClaimState.VOIDED, reason=reason)
        return self._follow_up(original, original, ClaimFrequency.VOID, reason)

    def _follow_up(self, original: Claim, content: Claim, frequency: ClaimFrequency,
                   reason: str) -> Claim:
        claim_id = saved_id(original)
        if original.state is ClaimState.REJECTED:
            # Payers answer a replacement of a claim they rejected with another rejection
            # ("original claim not found"): it is fixed and sent again as an original.
            raise ValidationFailed(f"claim {claim_id}", [(
                "state", "rejected: the payer never adjudicated it, so there is nothing to "
                "replace; reopen it (medbill claims reopen), fix it and submit it again as an "
                "original claim")])
        if original.payer_key is None and frequency is ClaimFrequency.REPLACEMENT:
            raise ValidationFailed(f"claim {claim_id}", [(
                "payer_key", "self-pay: there is no payer to send a replacement to; void it "
                "(medbill claims void) and import the corrected visit as a new claim")])
        if not original.payer_claim_number:
            raise ValidationFailed(f"claim {claim_id}", [(
                "payer_claim_number", "unknown: a replacement or void needs the payer's claim "
                "control number from the 277CA or 835 (resubmit a rejected claim instead)")])
        target = ClaimState.REPLACED if frequency is ClaimFrequency.REPLACEMENT \
            else ClaimState.VOIDED
        check_transition(claim_id, original.state, target)
        suffix = "R" if frequency is ClaimFrequency.REPLACEMENT else "V"
        existing = self.session.scalar(select(func.count()).select_from(ClaimRow).where(
            ClaimRow.replaces_claim_id == claim_id)) or 0
        account = self.account_id(original)
        follow_up = content.model_copy(update={
            "id": None, "claim_number": f"{original.claim_number[:16]}-{suffix}{existing + 1}",
            "frequency": frequency, "original_claim_reference": original.payer_claim_number,
            "replaces_claim_id": claim_id, "account_claim_id": account,
            "patient_id": original.patient_id, "coverage_id": original.coverage_id,
            "payer_key": original.payer_key, "state": ClaimState.DRAFT,
            "payer_claim_number": None, "created_at": None})
        follow_up = validate_record(Claim, follow_up.model_dump(), record="corrected claim")
        created = self.create(follow_up)
        # a void the payer answered keeps its charges until the payer's reversal arrives (the
        # 835 posting reverses them then): reversing them now shows a credit of the charge
        if frequency is not ClaimFrequency.VOID or not _answered_by_payer(self.session, claim_id):
            self._recharge(original, account,
                           ZERO if frequency is ClaimFrequency.VOID else follow_up.total_charge,
                           key=f"charge:claim:{account}:{created.claim_number}",
                           memo=frequency.name.lower(), allow_credit=True)
        self.transition(claim_id, target, reason=f"{reason} (see {created.claim_number})")
        return created

    def _recharge(self, claim: Claim, account_id: int, new_total: Decimal, *, key: str,
                  memo: str, allow_credit: bool = False) -> None:
        """Post the difference between the account's charges and ``new_total`` (payments
        already received stay as they are)."""
        ledger = Ledger(self.session, actor=self.actor)
        delta = new_total - ledger.totals(claim_id=account_id).charges
        if delta:
            ledger.post(key, "claim", [LedgerLine(
                EntryKind.CHARGE, delta, patient_id=claim.patient_id, claim_id=account_id,
                payer_key=claim.payer_key, bucket=_charge_bucket(claim.coverage_id))],
                effective_date=claim.service_date_from, memo=memo, allow_credit=allow_credit)

    # -- lifecycle ----------------------------------------------------------------------------
    def transition(self, claim_id: int, target: ClaimState, *, reason: str | None = None,
                   payer_claim_number: str | None = None) -> Claim:
        """Move a claim to ``target``.

        The change, its transition record and its audit event are written in the
        caller's transaction; pre-commit hooks run now (raising rolls it all back),
        post-commit hooks after the commit.

        :raises IllegalTransition: ``target`` does not follow the current state.
        """
        return self.transition_many([ClaimMove(claim_id, target, reason, payer_claim_number)])[0]

    def transition_many(self, moves: Iterable[ClaimMove]) -> builtins.list[Claim]:
        """Apply ``moves`` in order, as :meth:`transition` applies each, in a few statements
        for the batch: one state UPDATE per final state, one executemany of the transition
        records (and one of payer claim numbers when any is given). A claim may move more than
        once in a batch (each step from the state the one before left).

        Every move is checked (:func:`~medbill_core.lifecycle.check_transition`) before
        anything is written; the first illegal one raises. Audit events and pre-commit hooks
        follow in the order of the moves, post-commit hooks are queued the same way.

        :returns: the claim after each move, one per move.
        :raises NotFound: a claim does not exist.
        :raises IllegalTransition: a move does not follow the claim's state.
        """
        return self._move(moves, {})

    def transition_read(self, moves: Iterable[ClaimMove], claims: Mapping[int, Claim]
                        ) -> builtins.list[Claim]:
        """:meth:`transition_many` for claims this unit of work read with :meth:`read_many`
        and has not changed since (``claims``, by id, as it returned them): the moves start
        from them as a held row would (no claim is read again), each claim after its moves
        is the one given with its new state, so a batch that reads its claims, then moves
        them, reads them once. Claims not in ``claims`` are read as :meth:`transition_many`
        reads them."""
        return self._move(moves, claims)

    def _move(self, moves: Iterable[ClaimMove], given: Mapping[int, Claim]
              ) -> builtins.list[Claim]:
        moves = builtins.list(moves)
        if not moves:
            return []
        claim_ids = unique(move.claim_id for move in moves)
        # rows this unit of work holds are moved as rows (they must say what the database
        # will hold); the other claims are the ones given, else read as column values: no ORM
        # row is built and tracked for a claim the batch only moves (a sent file's claims)
        rows = self._held_rows(claim_ids)
        others = [claim_id for claim_id in claim_ids if claim_id not in rows]
        read = self._read_claims([claim_id for claim_id in others if claim_id not in given])
        read.update((claim_id, given[claim_id]) for claim_id in others if claim_id in given)
        current = {claim_id: (claim.state.value, claim.claim_number, claim.payer_claim_number)
                   for claim_id, claim in read.items()}
        current.update((claim_id, (row.state, row.claim_number, row.payer_claim_number))
                       for claim_id, row in rows.items())
        clean_actor = _clean_text(self.actor, _ACTOR_LENGTH)
        state: dict[int, ClaimState] = {}
        payer_numbers: dict[int, str | None] = {}
        submitted: dict[int, datetime] = {}  # claim id -> its latest move to submitted
        steps: builtins.list[tuple[int, Transition, str | None]] = []
        for move in moves:
            found = current.get(move.claim_id)
            if found is None:
                raise NotFound("claim", move.claim_id)
            stored_state, claim_number, payer_claim_number = found
            source = state.get(move.claim_id) or ClaimState(stored_state)
            check_transition(move.claim_id, source, move.target)
            transition = _transition(move.claim_id, claim_number, source, move.target,
                                     self.actor, move.reason, utcnow(), clean_actor=clean_actor)
            steps.append((move.claim_id, transition, move.payer_claim_number
                          or payer_numbers.get(move.claim_id, payer_claim_number)))
            state[move.claim_id] = move.target
            if move.target is ClaimState.SUBMITTED:
                submitted[move.claim_id] = transition.at
            if move.payer_claim_number:
                payer_numbers[move.claim_id] = move.payer_claim_number
        now = utcnow()
        by_target: dict[ClaimState, builtins.list[int]] = defaultdict(builtins.list)
        for claim_id, target in state.items():
            by_target[target].append(claim_id)
        for target, ids in by_target.items():
            for chunk in chunks(ids):
                self.session.execute(update(_CLAIMS).where(_CLAIMS.c.id.in_(chunk))
                                     .values(state=target.value, updated_at=now))
        if payer_numbers:
            self.session.execute(
                update(_CLAIMS).where(_CLAIMS.c.id == bindparam("claim_id"))
                .values(payer_claim_number=bindparam("number")),
                [{"claim_id": claim_id, "number": number}
                 for claim_id, number in payer_numbers.items()])
        if submitted:  # the claim keeps its latest submission (what follow-up reads)
            self.session.execute(
                update(_CLAIMS).where(_CLAIMS.c.id == bindparam("claim_id"))
                .values(submitted_at=bindparam("at")),
                [{"claim_id": claim_id, "at": at} for claim_id, at in submitted.items()])
        self.session.execute(insert(_TRANSITIONS), [
            {"claim_id": t.claim_id, "source": t.source.value, "target": t.target.value,
             "actor": t.actor, "reason": t.reason, "at": t.at} for _, t, _ in steps])
        final: dict[int, Claim] = {}
        expire_on_rollback(self.session, (rows[claim_id] for claim_id in state
                                          if claim_id in rows))
        for claim_id, target in state.items():  # the rows say what the database now holds
            row = rows.get(claim_id)
            if row is None:  # the claim as read, with what the database now holds
                final[claim_id] = trusted(Claim, {
                    **read[claim_id].__dict__, "state": target,
                    "payer_claim_number": payer_numbers.get(claim_id, current[claim_id][2])})
                continue
            set_committed_value(row, "state", target.value)
            set_committed_value(row, "updated_at", now)
            if claim_id in payer_numbers:
                set_committed_value(row, "payer_claim_number", payer_numbers[claim_id])
            if claim_id in submitted:
                set_committed_value(row, "submitted_at", submitted[claim_id])
            final[claim_id] = claim_from_row(row)
        claims = []
        remaining = Counter(move.claim_id for move in moves)
        for claim_id, transition, payer_number in steps:
            remaining[claim_id] -= 1
            claim = final[claim_id] if not remaining[claim_id] else final[claim_id].model_copy(
                update={"state": transition.target, "payer_claim_number": payer_number})
            audit.record(self.session, actor=self.actor, action="claim.transition",
                         entity_type="claim", entity_id=claim_id,
                         details={"from": transition.source.value,
                                  "to": transition.target.value})
            self.hooks.claim_transition_precommit(claim=claim, transition=transition)
            self.after_commit.append(functools.partial(
                self.hooks.claim_transition_postcommit, claim=claim, transition=transition))
            claims.append(claim)
        return claims

    def advance(self, claim: Claim, target: ClaimState, *, reason: str,
                acknowledgment: bool = False,
                payer_claim_number: str | None = None) -> Claim | None:
        """Move ``claim`` toward ``target`` as far as the lifecycle allows a payer's answer
        (:func:`~medbill_core.lifecycle.advance_path`), each step a :meth:`transition`.

        :returns: the claim after the last step; ``None`` when it did not move.
        """
        return self.advance_many([ClaimAdvance(claim, target, reason, acknowledgment,
                                               payer_claim_number)])[0]

    def advance_many(self, advances: Iterable[ClaimAdvance]) -> builtins.list[Claim | None]:
        """:meth:`advance` for each of ``advances``, in order, the steps of all of them one
        :meth:`transition_many` batch. The path of each starts from the state the advances
        before it in the batch left its claim in.

        :returns: per advance, the claim after its last step; ``None`` when it did not move.
        """
        advances = builtins.list(advances)
        state: dict[int, ClaimState] = {}
        moves: builtins.list[ClaimMove] = []
        last_step: builtins.list[int | None] = []
        for advance in advances:
            claim_id = saved_id(advance.claim)
            path = advance_path(state.get(claim_id, advance.claim.state), advance.target,
                                acknowledgment=advance.acknowledgment)
            for step in path:
                moves.append(ClaimMove(claim_id, step, advance.reason,
                                       advance.payer_claim_number))
                state[claim_id] = step
            last_step.append(len(moves) - 1 if path else None)
        moved = self.transition_many(moves)
        return [None if index is None else moved[index] for index in last_step]

    def record_payer_claim_number(self, claim_id: int, payer_claim_number: str) -> Claim:
        """Remember the payer's claim control number (needed for corrections and voids)."""
        row = self._row(claim_id)
        if row.payer_claim_number != payer_claim_number:
            row.payer_claim_number = payer_claim_number
            audit.record(self.session, actor=self.actor, action="claim.update",
                         entity_type="claim", entity_id=claim_id,
                         details={"fields": ["payer_claim_number"]})
        return claim_from_row(row)

    def history(self, claim_id: int) -> list[Transition]:
        self._require(Action.CLAIMS_READ)
        row = self._row(claim_id)
        rows = self.session.scalars(select(ClaimTransitionRow)
                                    .where(ClaimTransitionRow.claim_id == claim_id)
                                    .order_by(ClaimTransitionRow.id))
        return [Transition(claim_id=claim_id, claim_number=row.claim_number,
                           source=ClaimState(t.source), target=ClaimState(t.target),
                           actor=t.actor, reason=t.reason, at=t.at) for t in rows]

    # -- reading ------------------------------------------------------------------------------
    def _row(self, claim_id: int) -> ClaimRow:
        row = self.session.get(ClaimRow, claim_id)
        if row is None:
            raise NotFound("claim", claim_id)
        return row

    def get(self, claim_id: int) -> Claim:
        return self.get_many([claim_id])[0]

    def get_many(self, claim_ids: Iterable[int]) -> builtins.list[Claim]:
        """The claims with these ids, in the order given, read (with their lines) in one
        query for those this unit of work has not loaded yet.

        :raises NotFound: a claim does not exist (the first missing one in the order given).
        """
        claim_ids = builtins.list(claim_ids)
        claims = self.by_ids(claim_ids)
        for claim_id in claim_ids:
            if claim_id not in claims:
                raise NotFound("claim", claim_id)
        return [claims[claim_id] for claim_id in claim_ids]

    def read_many(self, claim_ids: Iterable[int]) -> dict[int, Claim]:
        """:meth:`by_ids` for a batch that reads its claims once, then moves them with
        :meth:`transition_read`: the claims this unit of work does not hold are read as column
        values, with no ORM row built and tracked for them."""
        claim_ids = unique(claim_ids)
        claims = {claim_id: claim_from_row(row)
                  for claim_id, row in self._held_rows(claim_ids).items()}
        claims.update(self._read_claims([claim_id for claim_id in claim_ids
                                         if claim_id not in claims]))
        return claims

    def _held_rows(self, claim_ids: Iterable[int]) -> dict[int, ClaimRow]:
        """:meth:`_rows` of the claims this unit of work holds as rows (their lines loaded);
        the others are not read."""
        held = self.session.identity_map
        return self._rows(claim_id for claim_id in claim_ids if _row_key(claim_id) in held)

    def expire_held(self, claim_ids: Iterable[int]) -> None:
        """Expire the rows of these claims this unit of work holds: they are read again (as
        the database has them now, e.g. under a lock just taken) when next used."""
        held = self.session.identity_map
        for claim_id in claim_ids:
            row = held.get(_row_key(claim_id))
            if row is not None:
                self.session.expire(row)

    def by_ids(self, claim_ids: Iterable[int]) -> dict[int, Claim]:
        """The claims with these ids that exist, each converted once (as :meth:`get_many`
        reads them)."""
        return {claim_id: claim_from_row(row) for claim_id, row in self._rows(claim_ids).items()}

    def _rows(self, claim_ids: Iterable[int]) -> dict[int, ClaimRow]:
        """The rows of the claims with these ids that exist, their lines loaded: from this
        unit of work when it holds them, else one query (per :data:`IN_LIST` ids) for the rest,
        and one for the lines of rows held without them."""
        found: dict[int, ClaimRow] = {}
        missing: builtins.list[int] = []
        held = self.session.identity_map
        for claim_id in unique(claim_ids):
            row = held.get(_row_key(claim_id))
            # every attribute but the lines loaded (what inspect(row).unloaded says, without
            # building its set for each of a batch's claims)
            if isinstance(row, ClaimRow) and row.__dict__.keys() >= _ROW_ATTRIBUTES:
                found[claim_id] = row
            else:
                missing.append(claim_id)
        for chunk in chunks(missing):
            for row in self.session.scalars(select(ClaimRow).options(selectinload(ClaimRow.lines))
                                            .where(ClaimRow.id.in_(chunk))):
                found[row.id] = row
        self._load_lines(found.values())
        return found

    def _load_lines(self, rows: Iterable[ClaimRow]) -> None:
        """Load the lines of the rows read without them, with one query per chunk."""
        without = [row for row in rows if "lines" in inspect(row).unloaded]
        for chunk in chunks(without):
            lines: dict[int, builtins.list[ClaimLineRow]] = {row.id: [] for row in chunk}
            for line in self.session.scalars(
                    select(ClaimLineRow).where(ClaimLineRow.claim_id.in_(lines))
                    .order_by(ClaimLineRow.claim_id, ClaimLineRow.line_number)):
                lines[line.claim_id].append(line)
            for row in chunk:
                set_committed_value(row, "lines", lines[row.id])

    def _read_claims(self, claim_ids: Sequence[int]) -> dict[int, Claim]:
        """The claims with these ids that exist, read with column selects (per
        :data:`IN_LIST` ids: one for the claims, one for their lines), as list pages read
        them. Nothing is put in the session."""
        claims: dict[int, Claim] = {}
        for chunk in chunks(claim_ids):
            values = [row._mapping for row in self.session.execute(
                select(*_CLAIM_FIELDS).where(ClaimRow.id.in_(chunk)))]
            lines = self._lines_by_claim([claim["id"] for claim in values])
            claims.update((claim["id"], claim_from_values(claim, lines[claim["id"]]))
                          for claim in values)
        return claims

    def _lines_by_claim(self, claim_ids: Sequence[int]
                        ) -> defaultdict[int, builtins.list[ServiceLine]]:
        """The service lines of these claims in line-number order, read with a column select
        per :data:`IN_LIST` ids (no ORM rows)."""
        lines: defaultdict[int, builtins.list[ServiceLine]] = defaultdict(builtins.list)
        for chunk in chunks(claim_ids):
            for line in self.session.execute(
                    select(ClaimLineRow.claim_id, *_LINE_FIELDS)
                    .where(ClaimLineRow.claim_id.in_(chunk))
                    .order_by(ClaimLineRow.claim_id, ClaimLineRow.line_number)):
                lines[line.claim_id].append(line_from_values(line._mapping))
        return lines

    def resolve(self, reference: str | int) -> int:
        """The id of the claim a user names by id or by claim number.

        An all-digit reference is a claim id when such a claim exists, else a claim number.
        When it is both (claim id 12 and another claim numbered "12"), it is refused as
        ambiguous: ``id:12`` or ``number:12`` says which is meant.

        :raises NotFound: no claim has this id or number.
        :raises ValidationFailed: the reference is ambiguous or empty.
        """
        self._require(Action.CLAIMS_READ)
        text = str(reference).strip()
        kind, _, value = text.partition(":")
        if value and kind.lower() in ("id", "number"):
            if kind.lower() == "id":
                if not (value.isascii() and value.isdigit()):
                    raise ValidationFailed("claim reference", [("id", "must be digits")])
                return self._row(int(value)).id
            return self._number_id(value, missing=NotFound("claim number", value))
        if not text:
            raise ValidationFailed("claim", [("reference", "give a claim id or claim number")])
        if not (text.isascii() and text.isdigit()):  # int() would read "١٢"
            return self._number_id(text, missing=NotFound("claim number", text))
        by_id = self.session.get(ClaimRow, int(text))
        number_id = self.session.scalar(select(ClaimRow.id)
                                        .where(ClaimRow.claim_number == text))
        if by_id is not None and number_id is not None and number_id != by_id.id:
            raise ValidationFailed(f"claim {text}", [(
                "reference", f"is both claim id {text} and the number of claim id "
                f"{number_id}; say id:{text} or number:{text}")])
        if by_id is not None:
            return by_id.id
        if number_id is not None:
            return number_id
        # "claim number 7 not found" would hide that the id was tried first
        raise NotFound("claim id or number", text)

    def _number_id(self, claim_number: str, *, missing: NotFound) -> int:
        found = self.session.scalar(select(ClaimRow.id)
                                    .where(ClaimRow.claim_number == claim_number))
        if found is None:
            raise missing
        return found

    def find(self, reference: str | int) -> Claim:
        """The claim a user names by id or claim number (see :meth:`resolve`)."""
        return self.get(self.resolve(reference))

    def by_number(self, claim_number: str) -> Claim:
        claim = self.by_numbers([claim_number]).get(claim_number)
        if claim is None:
            raise NotFound("claim number", claim_number)
        return claim

    def by_numbers(self, claim_numbers: Iterable[str]) -> dict[str, Claim]:
        """The claims with these numbers (those that exist), each converted once: the ones
        this unit of work has loaded or created from it, the others with one query (per
        :data:`IN_LIST` numbers) and one for their lines."""
        numbers = unique(claim_numbers)
        known = self.session.info.get("medbill.claim_ids", {})
        rows = self._rows(known[n] for n in numbers if n in known)
        by_number = {row.claim_number: row for row in rows.values()}
        unknown = [n for n in numbers if n not in by_number]
        for chunk in chunks(unknown):
            for row in self.session.scalars(select(ClaimRow).options(selectinload(ClaimRow.lines))
                                            .where(ClaimRow.claim_number.in_(chunk))):
                by_number[row.claim_number] = row
        self._load_lines(by_number[n] for n in unknown if n in by_number)
        return {n: claim_from_row(by_number[n]) for n in numbers if n in by_number}

    def prefetch(self, claim_numbers: Iterable[str]) -> None:
        """Load the claims with these numbers (and their lines) in a few queries, so that
        :meth:`by_number` and :meth:`get` for them in this unit of work need none."""
        known = self.session.info.get("medbill.claim_ids", {})
        wanted = sorted({n for n in claim_numbers if n not in known})
        for start in range(0, len(wanted), 500):
            self.session.scalars(select(ClaimRow).options(selectinload(ClaimRow.lines))
                                 .where(ClaimRow.claim_number.in_(wanted[start:start + 500])))\
                .all()

    def list(self, *, state: ClaimState | None = None, payer_key: str | None = None,
             patient_id: int | None = None, service_from: date | None = None,
             service_to: date | None = None, limit: int = 100, offset: int = 0,
             after_id: int | None = None) -> Sequence[Claim]:
        """Claims by id, filtered; deleted drafts only when ``state`` asks for them.

        ``after_id``: only claims with a greater id (a keyset page: the HTTP API's cursor),
        read through the primary key however deep the page is, unlike ``offset``."""
        self._require(Action.CLAIMS_READ)
        dated = service_from is not None or service_to is not None
        statement = self._filtered(select(*((ClaimRow.id,) if dated else _CLAIM_FIELDS)),
                                   state=state, payer_key=payer_key, patient_id=patient_id,
                                   service_from=service_from, service_to=service_to)
        if after_id is not None:
            statement = statement.where(ClaimRow.id > after_id)
        statement = statement.order_by(_by_id(service_from, service_to)).limit(limit)\
            .offset(offset)
        if dated:
            # the page's ids from the date index alone (it carries what the filters read:
            # migration 0038), then only those claims' rows
            statement = select(*_CLAIM_FIELDS).where(ClaimRow.id.in_(statement))\
                .order_by(ClaimRow.id)
        # column values, not ORM rows: a list page only reads, and building (then tracking)
        # an ORM object per claim and line was most of a page's cost
        claims = [row._mapping for row in self.session.execute(statement)]
        lines = self._lines_by_claim([claim["id"] for claim in claims])
        return [claim_from_values(claim, lines[claim["id"]]) for claim in claims]

    def ids(self, *, state: ClaimState | None = None, payer_key: str | None = None,
            patient_id: int | None = None, service_from: date | None = None,
            service_to: date | None = None, limit: int = 100, offset: int = 0,
            ) -> builtins.list[int]:
        """The ids of the claims :meth:`list` would return (same filters, same order)."""
        statement = self._filtered(select(ClaimRow.id), state=state, payer_key=payer_key,
                                   patient_id=patient_id, service_from=service_from,
                                   service_to=service_to)
        return list(self.session.scalars(statement.order_by(_by_id(service_from, service_to))
                                         .limit(limit).offset(offset)))

    def summary(self, *, state: ClaimState | None = None, payer_key: str | None = None,
                patient_id: int | None = None, service_from: date | None = None,
                service_to: date | None = None) -> ClaimListSummary:
        """Totals of *every* claim matching the filters (not only one page of them), as
        :meth:`list` filters them, each visit counted once.

        ``count`` is the matching claims (the listing's rows). The money is per visit (the
        ledger account its claims share: the first claim's, see :meth:`account_id`): a
        secondary claim, a replacement (frequency 7) and its original bill one visit, whose
        charge (as the ledger holds it now: a replacement's) and balances count once.
        Replaced, voided and deleted claims are left out of the visits and counted apart
        (``set_apart``, with the charges they were sent with).

        With ``payer_key`` the insurance balance is that payer's share of the visits only
        (``payer_key`` is set on the summary): what the listing's rows show as "payer owes"
        for it, added up. The visits' whole insurance balance would count what the other
        payers of the visit owe (a primary's share under ``--payer`` of the secondary).
        """
        self._require(Action.CLAIMS_READ)
        apart = (ClaimState.REPLACED.value, ClaimState.VOIDED.value, ClaimState.DELETED.value)

        def filtered(statement: Select[Any]) -> Select[Any]:
            return self._filtered(statement, state=state, payer_key=payer_key,
                                  patient_id=patient_id, service_from=service_from,
                                  service_to=service_to)

        is_apart = ClaimRow.state.in_(apart)
        # a visit's first claim, standing: its id is the visit's account, its charge the
        # visit's (a replaced first claim is not standing: its replacement's charge counts)
        is_first = and_(ClaimRow.state.not_in(apart), ClaimRow.account_claim_id.is_(None))
        # the filters themselves (their indexes), not "id IN (the filtered ids)": PostgreSQL
        # plans that as a scan of every claim
        totals = cast("Select[Any]", select(
            func.count(), func.coalesce(func.sum(case((is_apart, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_apart, ClaimRow.total_charge), else_=0)), 0),
            func.coalesce(func.sum(case((is_first, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_first, ClaimRow.total_charge), else_=0)), 0)))
        count, set_apart, apart_charges, visits, charges = self.session.execute(
            filtered(totals)).one()
        charges = _money(charges)
        # their balances: "claim_id IN (the filtered claims)", read from the ledger's account
        # index alone
        first = filtered(select(ClaimRow.id)).where(is_first)
        insurance, patient = (_money(value) for value in self.session.execute(
            select(func.coalesce(func.sum(LedgerEntryRow.insurance_delta), 0),
                   func.coalesce(func.sum(LedgerEntryRow.patient_delta), 0))
            .where(LedgerEntryRow.claim_id.in_(first.subquery().select()))).one())
        # the visits of the other standing matches (secondary, replacement and void claims:
        # a few) whose first claim is not among them: their charge as the ledger holds it
        later = builtins.list(self.session.scalars(
            filtered(select(ClaimRow.account_claim_id)).where(
                ClaimRow.state.not_in(apart), ClaimRow.account_claim_id.is_not(None))
            .distinct()))
        listed: set[int] = set()
        for chunk in chunks(later):
            listed.update(self.session.scalars(first.where(ClaimRow.id.in_(chunk))))
        extra = [account for account in later if account not in listed]
        entry = LedgerEntryRow
        for chunk in chunks(extra):
            more = self.session.execute(select(
                func.coalesce(func.sum(case((entry.kind == EntryKind.CHARGE.value,
                                             entry.amount), else_=0)), 0),
                func.coalesce(func.sum(entry.insurance_delta), 0),
                func.coalesce(func.sum(entry.patient_delta), 0))
                .where(entry.claim_id.in_(chunk))).one()
            charges += _money(more[0])
            insurance += _money(more[1])
            patient += _money(more[2])
        visit_count = int(visits) + len(extra)
        if payer_key is not None:
            insurance = self._payer_share(filtered(select(
                func.coalesce(ClaimRow.account_claim_id, ClaimRow.id))).where(
                ClaimRow.state.not_in(apart)), payer_key)
        return ClaimListSummary(count=count, charges=_money(charges),
                                insurance_balance=_money(insurance),
                                patient_balance=_money(patient), visits=visit_count,
                                set_apart=int(set_apart),
                                set_apart_charges=_money(apart_charges),
                                payer_key=payer_key)

    def _payer_share(self, accounts: Select[Any], payer_key: str) -> Decimal:
        """What ``payer_key`` still owes on the visits whose ledger accounts ``accounts``
        selects (each once), from the balances kept per account and payer, as
        :meth:`row_balances` reads one."""
        ledger = Ledger(self.session, actor=self.actor)
        ledger.flush_pending()
        kept = LedgerBalanceRow
        # the accounts first (the claims' own indexes), then their kept balances a chunk of
        # ids at a time through the balances' claim index: "claim_id IN (subquery)" was
        # planned by PostgreSQL as a scan of every kept balance
        found = sorted(set(self.session.scalars(accounts)))
        total = ZERO
        for chunk in chunks(found):
            total += _money(self.session.scalar(
                select(func.coalesce(func.sum(kept.balance), 0))
                .where(kept.claim_id.in_(chunk), kept.bucket == ledger_balances.INSURANCE,
                       kept.payer_key == payer_key)))
        return total

    def row_balances(self, claim: Claim) -> tuple[Decimal, Decimal]:
        """A listing row's balances: what the claim's payer still owes on the visit (zero for
        self-pay and for a replaced, voided or deleted claim), and what the patient owes on
        the visit, shown on the visit's first claim only (the account its claims share), so
        that a secondary or replacement claim does not show it again."""
        if claim.state in (ClaimState.REPLACED, ClaimState.VOIDED, ClaimState.DELETED):
            payer_owes = ZERO
        else:
            payer_owes = (Ledger(self.session, actor=self.actor).payer_balance(
                self.account_id(claim), claim.payer_key) if claim.payer_key else ZERO)
        patient_owes = (Ledger(self.session, actor=self.actor).claim_balance(
            saved_id(claim)).patient if claim.account_claim_id is None else ZERO)
        return payer_owes, patient_owes

    def shown_balances(self, claim: Claim) -> ClaimBalances:
        """One claim's balances as its listing row has them (:meth:`row_balances`), with the
        ledger they are read from: the visit's account (its first claim's). ``claims show``
        read the claim's own ledger, empty for a secondary, replacement or void claim (0.00
        on a secondary whose denial was open) and the whole visit's on its first claim (the
        secondary payer's denial shown on the primary): it disagreed with ``claims list``."""
        payer_owes, patient_owes = self.row_balances(claim)
        account_id = self.account_id(claim)
        account_number = claim.claim_number if account_id == saved_id(claim) else (
            self.session.scalar(select(ClaimRow.claim_number).where(ClaimRow.id == account_id))
            or "")
        return ClaimBalances(payer_owes=payer_owes, patient_owes=patient_owes,
                             account_claim_id=account_id,
                             account_claim_number=account_number,
                             visit=Ledger(self.session, actor=self.actor).totals(
                                 claim_id=account_id))

    @staticmethod
    def _filtered(statement: Select[Any], *, state: ClaimState | None, payer_key: str | None,
                  patient_id: int | None, service_from: date | None,
                  service_to: date | None) -> Select[Any]:
        if state is not None:
            statement = statement.where(ClaimRow.state == state.value)
        else:
            statement = statement.where(ClaimRow.state != ClaimState.DELETED.value)
        if payer_key is not None:
            statement = statement.where(ClaimRow.payer_key == payer_key)
        if patient_id is not None:
            statement = statement.where(ClaimRow.patient_id == patient_id)
        if service_from is not None:
            statement = statement.where(ClaimRow.service_date_from >= service_from)
        if service_to is not None:
            statement = statement.where(ClaimRow.service_date_from <= service_to)
        return statement

    def account_id(self, claim: Claim) -> int:
        """The ledger account of a claim: its own, or the encounter's first claim's."""
        return claim.account_claim_id or saved_id(claim)

    def _prior_adjudications(self, claim: Claim, parts: _BillableParts
                             ) -> builtins.list[PriorPayerAdjudication]:
        """What the other payers of the encounter did, as each payer's standing 835 answer posted
        on its account (see :mod:`medbill_core.services.remittance`): claim level, plus line level
        (837P loops 2430) when the payer adjudicated the lines and they were kept. Rows from
        before line adjudications were kept have every adjustment at claim level."""
        if claim.account_claim_id is None:
            return []
        rows = [row for row in parts.adjudications.get(claim.account_claim_id, ())
                if row.payer_key != claim.payer_key]
        numbers = {line.line_number for line in claim.lines}
        # One answer per payer: a reversal (CLP02 = 22) cancels that payer's answer before it,
        # and a later answer (the payer's re-adjudication) replaces it.
        # Payers stay in the order they first answered (primary before secondary).
        standing: dict[str, ClaimAdjudicationRow | None] = {}
        row: ClaimAdjudicationRow | None  # of the rows, then of the answers standing
        for row in rows:
            reversed_ = row.claim_status == ClaimStatusCode.REVERSAL.value
            standing[row.payer_key] = None if reversed_ else row
        result = []
        for row in standing.values():
            if row is None or row.coverage_id is None or row.payer_key not in self.config.payers:
                continue
            adjustments = [ClaimAdjustmentRef(**a) for a in row.adjustments]
            lines = [PriorLineAdjudication.model_validate(line) for line in row.lines or []]
            of_lines = [a for line in lines for a in line.adjustments]
            claim_level = adjustments[:len(adjustments) - len(of_lines)]
            if lines and (adjustments[len(claim_level):] != of_lines or not all(
                    line.line_number in numbers and line.bundled_line_number in (None, *numbers)
                    for line in lines)):
                lines = []  # the claim's lines changed since (an edited draft)
            if lines:  # X222A1 CAS: non-zero adjustments only
                adjustments = claim_level
                lines = [line.model_copy(update={
                    "adjustments": [a for a in line.adjustments if a.amount]}) for line in lines]
            result.append(PriorPayerAdjudication(
                payer=self.config.payers[row.payer_key],
                coverage=parts.coverage(row.coverage_id), paid_amount=row.paid,
                paid_date=row.paid_date, claim_adjustments=adjustments,
                line_adjudications=lines))
        return result

    def billable(self, claim_id: int) -> BillableClaim:
        """The claim with its practice, patient, coverage, payer and providers resolved."""
        claim = self.get(claim_id)
        return self._billable(claim, self._billable_parts([claim]))

    def billable_many(self, claims: Sequence[Claim], *,
                      errors: dict[int, Exception] | None = None) -> dict[int, BillableClaim]:
        """:meth:`billable` for each of ``claims`` (as :meth:`get_many` returns them), what
        they need read with one query per kind (patients, coverages, providers, the prior
        payers' answers) for the whole batch.

        :param errors: when given, a claim that cannot be assembled (what :meth:`billable`
            raises for it: :data:`UNBILLABLE`) is put there by id instead of raising.
        :returns: claim id -> its billable claim.
        """
        parts = self._billable_parts(claims)
        billables: dict[int, BillableClaim] = {}
        for claim in claims:
            claim_id = saved_id(claim)
            if claim_id in billables or (errors is not None and claim_id in errors):
                continue
            try:
                billables[claim_id] = self._billable(claim, parts)
            except UNBILLABLE as exc:
                if errors is None:
                    raise
                errors[claim_id] = exc
        return billables

    def _billable(self, claim: Claim, parts: _BillableParts) -> BillableClaim:
        coverage = parts.coverage(claim.coverage_id) if claim.coverage_id else None
        payer = None
        if claim.payer_key is not None:
            payer = self.config.payers.get(claim.payer_key)
            if payer is None:
                raise UnknownPayer(claim.payer_key)
        return BillableClaim(
            prior_adjudications=self._prior_adjudications(claim, parts),
            claim=claim, practice=profile_of(self.session, self.config),
            patient=parts.patient(claim.patient_id), coverage=coverage, payer=payer,
            rendering_provider=parts.providers.get(claim.rendering_provider_npi)
            if claim.rendering_provider_npi else None,
            referring_provider=parts.providers.get(claim.referring_provider_npi)
            if claim.referring_provider_npi else None,
            **_institutional_providers(claim, parts.providers))

    def _billable_parts(self, claims: Sequence[Claim]) -> _BillableParts:
        """What :meth:`_billable` needs for ``claims``: rows this unit of work holds are used
        as they are, the rest read with one query per kind (per :data:`IN_LIST` keys)."""
        accounts = unique(claim.account_claim_id for claim in claims
                           if claim.account_claim_id is not None)
        adjudications: dict[int, builtins.list[ClaimAdjudicationRow]] = defaultdict(
            builtins.list)
        for chunk in chunks(accounts):
            for adjudication in self.session.scalars(
                    select(ClaimAdjudicationRow)
                    .where(ClaimAdjudicationRow.account_claim_id.in_(chunk))
                    .order_by(ClaimAdjudicationRow.id)):
                adjudications[adjudication.account_claim_id].append(adjudication)
        coverage_ids = [claim.coverage_id for claim in claims if claim.coverage_id]
        coverage_ids += [row.coverage_id for rows in adjudications.values() for row in rows
                         if row.coverage_id is not None]
        coverages = held_or_read(self.session, CoverageRow, CoverageRow.id, coverage_ids)
        patients = held_or_read(self.session, PatientRow, PatientRow.id,
                                [c.patient_id for c in claims])
        npis = unique(npi for claim in claims
                       for npi in (claim.rendering_provider_npi, claim.referring_provider_npi,
                                   *_institutional_npis(claim))
                       if npi)
        held = self.session.info.get("medbill.providers", {})
        providers: dict[str, ProviderRow] = {}
        for npi in npis:  # loaded in this unit of work (see PatientService.provider)
            row = held.get(npi)
            if isinstance(row, ProviderRow) and inspect(row).persistent and row.npi == npi:
                providers[npi] = row
        for npi_chunk in chunks([npi for npi in npis if npi not in providers]):
            for row in self.session.scalars(select(ProviderRow)
                                            .where(ProviderRow.npi.in_(npi_chunk))):
                providers[row.npi] = row
        return _BillableParts(
            patients={key: patient_from_row(row) for key, row in patients.items()},
            coverages={key: coverage_from_row(row) for key, row in coverages.items()},
            providers={key: provider_from_row(row) for key, row in providers.items()},
            adjudications=adjudications)


@dataclass(frozen=True)
class ClaimListSummary:
    """Totals over every claim a listing's filters match (see :meth:`ClaimService.summary`):
    ``count`` claims billing ``visits`` visits, whose ``charges`` and balances count each visit
    once; ``set_apart`` replaced, voided or deleted claims (``set_apart_charges``) are not in
    the visits."""

    count: int
    charges: Decimal
    insurance_balance: Decimal
    patient_balance: Decimal
    visits: int = 0
    set_apart: int = 0
    set_apart_charges: Decimal = ZERO
    #: set when the listing is of one payer's claims: ``insurance_balance`` is then that
    #: payer's share of the visits, not what every payer of them owes
    payer_key: str | None = None


@dataclass(frozen=True)
class ClaimBalances:
    """One claim's balances (see :meth:`ClaimService.shown_balances`): ``payer_owes`` what the
    claim's payer still owes on the visit, ``patient_owes`` what the patient owes on it (on
    the visit's first claim only), and ``visit`` the ledger of the visit's account, claim
    ``account_claim_number`` (the claim itself unless a secondary, replacement or void)."""

    payer_owes: Decimal
    patient_owes: Decimal
    account_claim_id: int
    account_claim_number: str
    visit: Totals


def _money(value: object) -> Decimal:
    """A SUM of a cents column; COALESCE's 0 comes back as a plain int."""
    return to_money(value) if isinstance(value, Decimal) else to_money(str(value or 0))


def _charge_bucket(coverage_id: int | None) -> Bucket:
    """Charges are owed by the insurance when the claim bills a coverage, else by the patient."""
    return Bucket.PATIENT if coverage_id is None else Bucket.INSURANCE


def _answered_by_payer(session: Session, claim_id: int | None) -> bool:
    """Whether the payer's standing 835 answer to the claim is on file (not reversed)."""
    status = session.scalar(select(ClaimAdjudicationRow.claim_status)
                            .where(ClaimAdjudicationRow.claim_id == claim_id)
                            .order_by(ClaimAdjudicationRow.id.desc()).limit(1))
    return status is not None and status != ClaimStatusCode.REVERSAL.value


def _stated_reason(record: str, reason: str, hint: str) -> str:
    """The reason a person gave for deleting, voiding or correcting a claim, trimmed; a blank
    one is refused (the claim's history says why, and so does the payer's void or
    replacement)."""
    stated = (reason or "").strip()
    if not stated:
        raise ValidationFailed(record, [("reason", f"required: {hint}")])
    return stated


#: the longest actor and reason a :class:`Transition` holds
def _longest(field: str) -> int:
    found: int = next(item.max_length for item in Transition.model_fields[field].metadata
                      if getattr(item, "max_length", None) is not None)
    return found


_ACTOR_LENGTH = _longest("actor")
_REASON_LENGTH = _longest("reason")


def _clean_text(text: str, longest: int) -> bool:
    """``text`` is what validating it as a :class:`Transition` text gives back unchanged (no
    surrounding blanks to strip, within its length)."""
    return type(text) is str and 0 < len(text) <= longest and text == text.strip()


def _transition(claim_id: int, claim_number: str, source: ClaimState, target: ClaimState,
                actor: str, reason: str | None, at: datetime, *,
                clean_actor: bool) -> Transition:
    """The :class:`Transition` of one move. Built without validation when its texts are
    already what validation would leave (the actor once per batch, reasons mostly the
    services' own words): every claim moves several times in a cycle."""
    if clean_actor and (reason is None or _clean_text(reason, _REASON_LENGTH)):
        return trusted(Transition, {"claim_id": claim_id, "claim_number": claim_number,
                                    "source": source, "target": target, "actor": actor,
                                    "reason": reason, "at": at})
    return Transition(claim_id=claim_id, claim_number=claim_number, source=source,
                      target=target, actor=actor, reason=reason, at=at)


def _claim_number_taken(exc: IntegrityError) -> bool:
    """``exc`` is the claim number's unique constraint refusing a claim (SQLite names the
    columns, PostgreSQL the constraint)."""
    refused = str(exc.orig)
    return "uq_claims_practice_number" in refused or "claims.claim_number" in refused


def _line_number(line: ClaimLineRow) -> int:
    return line.line_number


def _charge_lines(claim: Claim, claim_id: int) -> builtins.list[LedgerLine]:
    """The charge entries of a new claim: one per line, owed by the bucket it bills."""
    bucket = _charge_bucket(claim.coverage_id)
    return [LedgerLine(EntryKind.CHARGE, line.charge, patient_id=claim.patient_id,
                       claim_id=claim_id, payer_key=claim.payer_key,
                       claim_line_number=line.line_number, bucket=bucket)
            for line in claim.lines]


@dataclass(frozen=True)
class _References:
    """What the claims of a batch refer to, read once: the patients that exist, and each
    coverage's patient and payer."""

    config: MedbillConfig
    patients: set[int]
    coverages: dict[int, tuple[int, str]]

    def check(self, claim: Claim, record: str) -> None:
        """The patient, coverage and payer a claim names exist and belong together.

        A claim naming a payer must bill one of the patient's coverages with that payer:
        without it the charges would be booked to the patient (self-pay) while the claim
        went to the payer.
        """
        if claim.patient_id not in self.patients:
            raise ValidationFailed(record, [("patient_id", "no such patient")])
        if claim.payer_key is not None and claim.payer_key not in self.config.payers:
            raise UnknownPayer(claim.payer_key)
        if claim.payer_key is not None and claim.coverage_id is None:
            raise ValidationFailed(record, [(
                "coverage_id", "required when payer_key is given (the patient's coverage "
                "with that payer; without it the claim is self-pay)")])
        if claim.coverage_id is not None:
            coverage = self.coverages.get(claim.coverage_id)
            if coverage is None or coverage[0] != claim.patient_id:
                raise ValidationFailed(record, [("coverage_id",
                                                 "no such coverage for this patient")])
            if coverage[1] != claim.payer_key:
                raise ValidationFailed(record, [("payer_key",
                                                 "does not match the coverage's payer")])


#: What :meth:`ClaimService.billable` raises for a claim that cannot be assembled (a
#: missing record, an unknown payer, no practice, parts that do not fit together).
UNBILLABLE: tuple[type[Exception], ...] = (ValidationFailed, UnknownPayer, ConfigurationError,
                                           NotFound, ValidationError)


def _institutional_npis(claim: Claim) -> tuple[str | None, ...]:
    details = claim.institutional
    if details is None:
        return ()
    return (details.attending_provider_npi, details.operating_provider_npi,
            details.other_operating_provider_npi)


def _institutional_providers(claim: Claim,
                             providers: dict[str, Provider]) -> dict[str, Provider | None]:
    """The attending / operating / other operating providers of an institutional claim, by
    the NPIs its details name (``None`` for one the provider table lacks: the encoder names
    what is missing)."""
    npis = _institutional_npis(claim)
    if not npis:
        return {}
    names = ("attending_provider", "operating_provider", "other_operating_provider")
    return {name: providers.get(npi) if npi else None for name, npi in zip(names, npis,
                                                                        strict=True)}


@dataclass(frozen=True)
class _BillableParts:
    """What the billable claims of a batch are assembled from, each converted once."""

    patients: dict[int, Patient]
    coverages: dict[int, Coverage]
    providers: dict[str, Provider]
    #: account claim id -> the payers' answers posted on it, oldest first
    adjudications: dict[int, builtins.list[ClaimAdjudicationRow]]

    def patient(self, patient_id: int) -> Patient:
        found = self.patients.get(patient_id)
        if found is None:
            raise NotFound("patient", patient_id)
        return found

    def coverage(self, coverage_id: int) -> Coverage:
        found = self.coverages.get(coverage_id)
        if found is None:
            raise NotFound("coverage", coverage_id)
        return found


@dataclass(frozen=True)
class ClaimMove:
    """One step of :meth:`ClaimService.transition_many`: claim ``claim_id`` to ``target``."""

    claim_id: int
    target: ClaimState
    reason: str | None = None
    #: the payer's claim control number, remembered on the claim when given
    payer_claim_number: str | None = None


@dataclass(frozen=True)
class ClaimAdvance:
    """One answer of :meth:`ClaimService.advance_many`: ``claim`` toward ``target``."""

    claim: Claim
    target: ClaimState
    reason: str
    acknowledgment: bool = False
    payer_claim_number: str | None = None

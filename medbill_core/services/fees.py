"""Price lists by code and date of service: the practice's charge master and payers' contracted
fee schedules.

* The **charge master** is what the practice charges: one price per HCPCS/CPT code (and
  modifier) with the dates it applies to. A claim line or a planned service without a charge
  takes it from here (:meth:`FeeSchedules.charge_for`).
* A **fee schedule** is what one payer's contract allows per code and date. Estimates for
  that payer use it, and so does the ``medbill_expected_allowed`` hook's default
  implementation, which posting uses to flag payments allowed below the contract
  (:func:`contract_underpayments`).

Both are loaded from CSV (:func:`load_price_list`; ``medbill fees load`` /
``medbill chargemaster load``) and every load is kept and audited. Columns (header names are
case-insensitive)::

    code,modifier,amount,effective_from,effective_to,description
    99213,,125.00,2026-01-01,2026-12-31,Office visit est. low
    71046,26,38.00,2026-01-01,,

``modifier`` (up to two, ``26`` or ``26-XX``), ``effective_to`` (last date of service, blank:
open) and ``description`` are optional. The amount column may also be called ``charge`` (or
``price``) in a charge master and ``allowed`` (or ``contracted``, ``rate``) in a fee schedule.
``effective_from`` may be left out of the file when the load is given ``effective``. A load
adds to what is on file: where its rows and an earlier load's cover the same code and date,
the **latest load wins** (a corrected or renewed contract is loaded, never edited in place).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.codesets import Reason, default_codesets
from medbill_core.domain import (
    AdjustmentGroup,
    ClaimFinding,
    ClaimPayment,
    ClaimStatusCode,
    Severity,
)
from medbill_core.errors import ValidationFailed
from medbill_core.money import CENT, ZERO, parse_amount, within_limit
from medbill_core.permissions import Action
from medbill_core.storage.schema import FeeScheduleEntryRow, FeeScheduleLoadRow

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork
    from medbill_core.domain import Claim, Payer, ServicePayment
    from medbill_core.plugins import PluginHooks

CHARGE_MASTER = "charge_master"
FEE_SCHEDULE = "fee_schedule"
#: Modifiers that price a different service (professional / technical component, reduced):
#: a line carrying one never falls back to the code's global price.
COMPONENT_MODIFIERS = frozenset({"26", "TC", "53"})
#: Modifiers whose lines a contract pays reduced (multiple procedures, bilateral, co-surgery,
#: assistants): an amount below the schedule there is expected, not an underpayment.
PAYMENT_REDUCING_MODIFIERS = frozenset({"50", "51", "62", "80", "81", "82", "AS"})
#: ``context.extras`` key under which a unit of work's :class:`FeeSchedules` is visible to
#: the ``medbill_expected_allowed`` default implementation (see :func:`fee_schedules_visible`).
EXTRAS_KEY = "fee_schedules"
MAX_PROBLEMS = 10
#: ``Session.info`` key of the payer keys that have a price list on file (see ``_owners``).
_OWNERS_KEY = "medbill.fee_schedule_owners"

_COLUMNS = {
    "code": ("code", "procedure_code", "hcpcs", "cpt", "hcpcs_code"),
    "modifier": ("modifier", "modifiers", "mod"),
    "amount": ("amount",),  # and, by kind, _AMOUNT_NAMES
    "effective_from": ("effective_from", "effective", "start", "start_date", "from"),
    "effective_to": ("effective_to", "through", "end", "end_date", "to", "termination_date"),
    "description": ("description", "name"),
}


#: The amount column by what is loaded: a charge master's "allowed" (or a fee schedule's
#: "charge") column is some other export's figure, never the one meant.
_AMOUNT_NAMES = {
    "charge_master": ("amount", "charge", "price", "fee"),
    "fee_schedule": ("amount", "allowed", "allowed_amount", "contracted", "fee", "rate"),
}


@dataclass(frozen=True)
class PriceEntry:
    """One dated price of a code on file."""

    kind: str
    payer_key: str | None
    procedure_code: str
    modifier: str
    amount: Decimal
    effective_from: date
    effective_to: date | None
    description: str | None
    load_id: int
    label: str

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "payer_key": self.payer_key, "code": self.procedure_code,
                "modifier": self.modifier, "amount": format(self.amount, "f"),
                "effective_from": self.effective_from.isoformat(),
                "effective_to": self.effective_to.isoformat() if self.effective_to else None,
                "description": self.description, "load_id": self.load_id, "label": self.label}


@dataclass
class LoadSummary:
    load_id: int
    kind: str
    payer_key: str | None
    label: str
    rows: int
    sha256: str
    first_date: date | None = None
    last_date: date | None = None
    codes: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, object]:
        return {"load_id": self.load_id, "kind": self.kind, "payer_key": self.payer_key,
                "label": self.label, "rows": self.rows, "codes": len(self.codes),
                "sha256": self.sha256,
                "first_date": self.first_date.isoformat() if self.first_date else None,
                "last_date": self.last_date.isoformat() if self.last_date else None}


def _norm_header(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def _pick(row: dict[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        value = row.get(name)
        if value is not None and value.strip():
            return value.strip()
    return ""


def _modifier_key(modifiers: Sequence[str]) -> str:
    return "-".join(m.strip().upper() for m in modifiers if m.strip())


def _iso_date(text: str, field_name: str, problems: list[tuple[str, str]]) -> date | None:
    """``YYYY-MM-DD`` exactly (``2026-1-5`` and ``20260105`` are refused, never guessed)."""
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    problems.append((field_name, "not a date as YYYY-MM-DD"))
    return None


def read_price_list(text: str, source: str, *, effective: date | None = None,
                    kind: str = "charge_master") -> list[FeeScheduleEntryRow]:
    """Check every row of a price-list CSV and return its entries (not yet stored).

    :raises ValidationFailed: naming the file, row number and field of up to
        :data:`MAX_PROBLEMS` problems; nothing is loaded then.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ValidationFailed(source, [("file", "empty: expected a header row")])
    names = [_norm_header(h) for h in header]
    columns = {**_COLUMNS, "amount": _AMOUNT_NAMES[kind]}
    missing = [f for f in ("code", "amount") if not any(n in names for n in columns[f])]
    if not effective and not any(n in names for n in _COLUMNS["effective_from"]):
        missing.append("effective_from")
    if missing:
        raise ValidationFailed(source, [("header", "no column " + " or ".join(
            columns[f][0] for f in missing) + " (expected code, amount, effective_from)")])
    codesets = default_codesets()
    entries: list[FeeScheduleEntryRow] = []
    problems: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], list[tuple[date, date | None, int]]] = {}
    for number, values in enumerate(reader, start=2):  # spreadsheet rows: 1 is the header
        if not any(v.strip() for v in values):
            continue
        row = dict(zip(names, values, strict=False))
        row_problems: list[tuple[str, str]] = []
        code = _pick(row, _COLUMNS["code"]).upper()
        starts = _pick(row, _COLUMNS["effective_from"])
        start = _iso_date(starts, "effective_from", row_problems) if starts else effective
        if start is None and not starts:
            row_problems.append(("effective_from", "missing (or pass the load an --effective "
                                                   "date)"))
        verdict = codesets.hcpcs(code, start or date.today())
        if verdict.reason in (Reason.FORMAT, Reason.UNKNOWN):
            row_problems.append(("code", verdict.message + (
                " (if it is new, load the current HCPCS file first: medbill codes load hcpcs "
                "FILE)" if verdict.reason is Reason.UNKNOWN else "")))
        modifiers = [m for m in _pick(row, _COLUMNS["modifier"]).upper().replace(
            ":", "-").replace(" ", "-").split("-") if m]
        if len(modifiers) > 2:
            row_problems.append(("modifier", "at most two modifiers"))
        for modifier in modifiers:
            if codesets.modifier(modifier, start or date.today()).reason in (Reason.FORMAT,
                                                                              Reason.UNKNOWN):
                row_problems.append(("modifier", f"{modifier} is not a known modifier"))
        amount = None
        try:
            amount = within_limit(parse_amount(_pick(row, columns["amount"])))
            if amount < 0:
                row_problems.append(("amount", "must not be negative"))
        except ValueError as exc:
            row_problems.append(("amount", str(exc)))
        ends = _pick(row, _COLUMNS["effective_to"])
        end = _iso_date(ends, "effective_to", row_problems) if ends else None
        if start and end and end < start:
            row_problems.append(("effective_to", "before effective_from"))
        description = _pick(row, _COLUMNS["description"])[:200] or None
        if not row_problems and start is not None and amount is not None:
            key = (code, _modifier_key(modifiers))
            for other_start, other_end, other_row in seen.get(key, []):
                if start <= (other_end or date.max) and other_start <= (end or date.max):
                    row_problems.append(("effective_from", f"dates overlap row {other_row} for "
                                         f"the same code and modifier"))
                    break
            seen.setdefault(key, []).append((start, end, number))
        if row_problems:
            problems.extend((f"row {number} {name}", reason) for name, reason in row_problems)
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        if start is None or amount is None:  # already reported above
            continue
        entries.append(FeeScheduleEntryRow(
            procedure_code=code, modifier=_modifier_key(modifiers),
            amount=amount.quantize(CENT), effective_from=start, effective_to=end,
            description=description))
    if problems:
        raise ValidationFailed(source, problems[:MAX_PROBLEMS])
    if not entries:
        raise ValidationFailed(source, [("file", "no price rows")])
    return entries


#: Price rows written per flush while a list is stored (progress is reported after each).
_STORE_CHUNK = 500


def load_price_list(work: UnitOfWork, path: Path, *, payer_key: str | None = None,
                    label: str | None = None, effective: date | None = None,
                    on_progress: Callable[[int, int], None] | None = None) -> LoadSummary:
    """Load ``path`` as the charge master (``payer_key`` None) or as ``payer_key``'s fee
    schedule, in the caller's transaction, with an audit record.

    :param on_progress: called with (prices stored, prices in the file) as they are written.

    :raises ValidationFailed: the file cannot be read or a row is invalid (nothing loaded).
    :raises UnknownPayer: ``payer_key`` is not configured.
    """
    work.require(Action.FEES_LOAD)
    if payer_key is not None:
        work.app.hooks.context.payer(payer_key)  # raises UnknownPayer
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise ValidationFailed(path.name, [("file", exc.strerror or "cannot be read")]) from None
    except UnicodeDecodeError:
        raise ValidationFailed(path.name, [("file", "not UTF-8 text")]) from None
    kind = CHARGE_MASTER if payer_key is None else FEE_SCHEDULE
    entries = read_price_list(text, path.name, effective=effective, kind=kind)
    digest = hashlib.sha256(raw).hexdigest()
    load = FeeScheduleLoadRow(kind=kind, payer_key=payer_key, label=(label or path.name)[:200],
                              source_file=path.name[:255], sha256=digest, rows=len(entries),
                              loaded_by=work.actor)
    work.session.add(load)
    work.session.flush()
    work.session.info.pop(_OWNERS_KEY, None)  # a new owner may have appeared
    for entry in entries:
        entry.load_id = load.id
    for start in range(0, len(entries), _STORE_CHUNK):
        work.session.add_all(entries[start:start + _STORE_CHUNK])
        if on_progress is not None:
            work.session.flush()
            on_progress(min(start + _STORE_CHUNK, len(entries)), len(entries))
    summary = LoadSummary(load.id, kind, payer_key, load.label, len(entries), digest,
                          first_date=min(e.effective_from for e in entries),
                          last_date=max((e.effective_to for e in entries if e.effective_to),
                                        default=None),
                          codes={e.procedure_code for e in entries})
    audit.record(work.session, actor=work.actor, action=f"{kind}.load",
                 entity_type=kind, entity_id=load.id,
                 details={"payer_key": payer_key, "rows": len(entries), "sha256": digest,
                          "source_file": load.source_file, "label": load.label})
    return summary


class FeeSchedules:
    """Price look-ups by code, modifiers and date of service, in one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _entries(self, kind: str, payer_key: str | None, code: str, modifier: str,
                 on: date) -> FeeScheduleEntryRow | None:
        statement = (
            select(FeeScheduleEntryRow)
            .join(FeeScheduleLoadRow, FeeScheduleLoadRow.id == FeeScheduleEntryRow.load_id)
            .where(FeeScheduleLoadRow.kind == kind,
                   FeeScheduleEntryRow.procedure_code == code.strip().upper(),
                   FeeScheduleEntryRow.modifier == modifier,
                   FeeScheduleEntryRow.effective_from <= on,
                   (FeeScheduleEntryRow.effective_to.is_(None))
                   | (FeeScheduleEntryRow.effective_to >= on))
            .order_by(FeeScheduleLoadRow.id.desc()).limit(1))
        statement = statement.where(FeeScheduleLoadRow.payer_key.is_(None) if payer_key is None
                                    else FeeScheduleLoadRow.payer_key == payer_key)
        return self.session.scalar(statement)

    def _owners(self) -> frozenset[str | None]:
        """Payer keys with a fee schedule on file (``None``: the charge master), read once per
        session: posting a large 835 then costs no query for payers without one."""
        owners = self.session.info.get(_OWNERS_KEY)
        if owners is None:
            owners = frozenset(self.session.scalars(
                select(FeeScheduleLoadRow.payer_key).distinct()))
            self.session.info[_OWNERS_KEY] = owners
        return owners

    def _price(self, kind: str, payer_key: str | None, code: str, modifiers: Sequence[str],
               on: date) -> Decimal | None:
        """The price for the line's modifiers: all of them, then each one, then the bare code
        (never for a 26/TC/53 line: a component is not priced as the whole service)."""
        if payer_key not in self._owners():
            return None
        wanted = [m.strip().upper() for m in modifiers if m.strip()]
        keys = [_modifier_key(wanted)] if wanted else []
        keys += [m for m in wanted if m not in keys]
        if not COMPONENT_MODIFIERS & set(wanted):
            keys.append("")
        for key in dict.fromkeys(keys):
            found = self._entries(kind, payer_key, code, key, on)
            if found is not None:
                return found.amount
        return None

    def charge_for(self, code: str, modifiers: Sequence[str], on_date: date) -> Decimal | None:
        """The practice's charge for one unit of ``code`` on ``on_date`` (charge master), or
        ``None`` when the charge master has no price for it then."""
        return self._price(CHARGE_MASTER, None, code, modifiers, on_date)

    def allowed_for(self, payer_key: str, code: str, modifiers: Sequence[str],
                    on_date: date) -> Decimal | None:
        """What ``payer_key``'s contract allows for one unit on ``on_date``, or ``None``."""
        return self._price(FEE_SCHEDULE, payer_key, code, modifiers, on_date)

    def entries(self, *, payer_key: str | None = None, charge_master: bool = False,
                code: str | None = None, on: date | None = None) -> list[PriceEntry]:
        """What is on file, newest load first, optionally for one code and/or one date."""
        statement = (select(FeeScheduleEntryRow, FeeScheduleLoadRow)
                     .join(FeeScheduleLoadRow,
                           FeeScheduleLoadRow.id == FeeScheduleEntryRow.load_id)
                     .order_by(FeeScheduleEntryRow.procedure_code, FeeScheduleEntryRow.modifier,
                               FeeScheduleLoadRow.id.desc(),
                               FeeScheduleEntryRow.effective_from))
        if charge_master:
            statement = statement.where(FeeScheduleLoadRow.kind == CHARGE_MASTER)
        elif payer_key is not None:
            statement = statement.where(FeeScheduleLoadRow.kind == FEE_SCHEDULE,
                                        FeeScheduleLoadRow.payer_key == payer_key)
        if code:
            statement = statement.where(FeeScheduleEntryRow.procedure_code == code.upper())
        if on is not None:
            statement = statement.where(FeeScheduleEntryRow.effective_from <= on,
                                        (FeeScheduleEntryRow.effective_to.is_(None))
                                        | (FeeScheduleEntryRow.effective_to >= on))
        found: list[PriceEntry] = []
        shadowed: set[tuple[str | None, str, str]] = set()
        for entry, load in self.session.execute(statement):
            key = (load.payer_key, entry.procedure_code, entry.modifier)
            if on is not None:
                if key in shadowed:
                    continue  # an older load's price for the same date: not the one in force
                shadowed.add(key)
            found.append(PriceEntry(load.kind, load.payer_key, entry.procedure_code,
                                    entry.modifier, entry.amount, entry.effective_from,
                                    entry.effective_to, entry.description, load.id, load.label))
        return found


@dataclass(frozen=True)
class LoadRecord:
    """One load on file: which file, which version, who loaded it and when."""

    load_id: int
    kind: str
    payer_key: str | None
    label: str
    source_file: str
    sha256: str
    rows: int
    loaded_at: datetime
    loaded_by: str

    def as_json(self) -> dict[str, object]:
        return {"load_id": self.load_id, "kind": self.kind, "payer_key": self.payer_key,
                "label": self.label, "source_file": self.source_file, "sha256": self.sha256,
                "rows": self.rows, "loaded_at": self.loaded_at.isoformat(),
                "loaded_by": self.loaded_by}


def loads(work: UnitOfWork, *, payer_key: str | None = None) -> list[LoadRecord]:
    """The loads of ``payer_key``'s fee schedule (``None``: the charge master), newest first."""
    work.require(Action.FEES_READ)
    statement = select(FeeScheduleLoadRow).order_by(FeeScheduleLoadRow.id.desc())
    statement = statement.where(
        FeeScheduleLoadRow.kind == CHARGE_MASTER if payer_key is None
        else FeeScheduleLoadRow.payer_key == payer_key)
    return [LoadRecord(row.id, row.kind, row.payer_key, row.label, row.source_file, row.sha256,
                       row.rows, row.loaded_at, row.loaded_by)
            for row in work.session.scalars(statement)]


def charge_for(work: UnitOfWork, code: str, modifiers: Sequence[str],
               on_date: date) -> Decimal | None:
    """The charge master's price for one unit (see :meth:`FeeSchedules.charge_for`)."""
    return FeeSchedules(work.session).charge_for(code, modifiers, on_date)


@contextmanager
def fee_schedules_visible(work: UnitOfWork) -> Iterator[FeeSchedules]:
    """Let the ``medbill_expected_allowed`` default implementation read the fee schedules on
    file through this unit of work's session while the block runs (plugins never get a
    session; they get this read-only look-up in ``context.extras``)."""
    extras = work.app.hooks.context.extras
    previous = extras.get(EXTRAS_KEY)
    schedules = FeeSchedules(work.session)
    extras[EXTRAS_KEY] = schedules
    try:
        yield schedules
    finally:
        if previous is None:
            extras.pop(EXTRAS_KEY, None)
        else:
            extras[EXTRAS_KEY] = previous


def contract_underpayments(work: UnitOfWork, claim: Claim,
                           payment: ClaimPayment) -> list[ClaimFinding]:
    """``fee_schedule.underpaid`` warnings: 835 lines allowed below the payer's contracted fee
    schedule (the expected allowed amount) for the line's date of service.

    Only for payers whose adapter does not check underpayments itself (Medicare's adapter
    checks the MPFS). Lines with payment-reducing modifiers (multiple procedures, bilateral,
    assistant) are not flagged: the contract reduces them. Nor are lines paid under a revenue
    code alone (SVC01 qualifier NU: room and board, pharmacy), which no fee schedule prices,
    nor an institutional inpatient stay, which a contract pays as a whole (DRG, per diem).
    """
    payer = work.app.config.payers.get(claim.payer_key or "")
    if payer is None or payment.is_reversal or payment.status is ClaimStatusCode.DENIED:
        return []
    if claim.institutional is not None and claim.institutional.is_inpatient:
        return []
    adapter = work.app.hooks.context.adapters.get(payer.adapter)
    if adapter is not None and adapter.supports_remittance_findings():
        return []
    hooks = work.app.hooks
    findings: list[ClaimFinding] = []
    with fee_schedules_visible(work):
        for index, service in enumerate(payment.services, start=1):
            finding = _contract_finding(hooks, payer, claim, payment, index, service)
            if finding is not None:
                findings.append(finding)
    return findings


#: SVC01-1 of a line paid under its NUBC revenue code only (835 of an institutional claim)
REVENUE_CODE_QUALIFIER = "NU"


def _contract_finding(hooks: PluginHooks, payer: Payer, claim: Claim, payment: ClaimPayment,
                      index: int, service: ServicePayment) -> ClaimFinding | None:
    if PAYMENT_REDUCING_MODIFIERS & set(service.modifiers) \
            or service.procedure_qualifier == REVENUE_CODE_QUALIFIER:
        return None
    on = service.service_date_from or claim.service_date_from
    per_unit = hooks.expected_allowed(
        payer=payer, procedure_code=service.procedure_code, modifiers=service.modifiers,
        place_of_service=claim.place_of_service, service_date=on)
    if per_unit is None:
        return None
    units = service.units or Decimal(1)
    expected = (per_unit * units).quantize(CENT)
    allowed = service.allowed_amount if service.allowed_amount is not None else (
        service.paid + sum((a.amount for a in service.adjustments
                            if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY), ZERO))
    if allowed <= ZERO or expected - allowed <= ZERO:
        return None
    label = service.procedure_code + "".join(f"-{m}" for m in service.modifiers)
    return ClaimFinding(
        severity=Severity.WARNING, code="fee_schedule.underpaid",
        message=(f"line {index} ({label} x {format(units.normalize(), 'f')}): allowed "
                 f"{allowed} is {expected - allowed} below the expected {expected} "
                 f"({payer.key} fee schedule for {on})"),
        claim_number=payment.claim_number, line_number=index, field="allowed_amount",
        fix_hint="compare with the contract; appeal or ask the payer to reprocess",
        source="fee_schedules")

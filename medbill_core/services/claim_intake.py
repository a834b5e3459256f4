"""837 intake: a batch of claims a practice's EHR sent in becomes draft claims.

A billing company receives 837P (and 837I) files from its clients. ``medbill claims import
FILE.837`` and ``POST /v1/claim-imports`` hand the file to the plugin that reads claim files
(hook ``medbill_decode_claims``), then store each claim on its own: the patient, the coverage
and the providers are matched or created (the rules: ``docs/claim-intake.md``), the claim is
created as a draft. Each claim is all or nothing (a savepoint): one that fails rolls back
alone, with its reason in the report; the others are kept.

* **Ambiguous matches are never guessed**: two patients who could be the one in the file, or a
  member ID on file for a patient with another birth date, hold the claim (outcome ``held``)
  and open an item on the ``intake`` work queue naming the file, CLM01, what is ambiguous and
  the candidate records. Once a person has settled it (merged the duplicate patients, fixed the
  birth date) the same file imported again brings the claim in.
* **Idempotent**: a file is known by its sender (ISA05:ISA06), interchange control number
  (ISA13) and content hash. Imported again, its imported claims are skipped and only the
  claims refused or held before are tried again; a file with the same ISA13 from the same
  sender and other content is refused whole (a client re-using a control number for another
  batch: nothing is imported until someone looks).
* **Recorded**: every run is a ``claim_imports`` row (file hash, ISA13, sender, who, when,
  counts) with one ``claim_import_claims`` row per claim (outcome, the new claim's id, the
  reason, the decoder's findings); the run is audited under the real actor, as are the
  patients, coverages, providers and claims it creates.

Messages name the file, CLM01, the segment position and the field, never a value from the
file (names, birth dates and member IDs are PHI); payer IDs and claim numbers are not PHI.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.domain import (
    BillableClaim,
    Coverage,
    DecodedClaim,
    DecodedClaimFile,
    Patient,
    Provider,
    Relationship,
    Sex,
)
from medbill_core.domain.base import saved_id
from medbill_core.errors import DecodeError, MedbillError, ValidationFailed
from medbill_core.permissions import Action
from medbill_core.services.patients import PatientService
from medbill_core.services.practices import practice_profile
from medbill_core.storage.schema import (
    ClaimImportClaimRow,
    ClaimImportRow,
    ClaimRow,
    CoverageRow,
    PatientRow,
    as_utc,
    utcnow,
)

#: How the claim intake answers when the file is X12 (ISA first) rather than JSON.
_X12_START = re.compile(r"\A[\ufeff\s]*ISA")
#: What a file name may keep (no path, no control characters).
_FILE_NAME = re.compile(r"[^A-Za-z0-9._ -]")


class Outcome(StrEnum):
    """What a run did with one claim of the file."""

    IMPORTED = "imported"
    SKIPPED = "skipped"
    REFUSED = "refused"
    HELD = "held"


@dataclass
class ClaimOutcome:
    """One claim's line in the report (no PHI: positions, claim numbers, record ids)."""

    position: int
    claim_number: str | None
    outcome: Outcome
    claim_id: int | None = None
    field: str | None = None
    reason: str | None = None
    candidates: list[int] = dataclasses.field(default_factory=list)
    findings: list[str] = dataclasses.field(default_factory=list)
    #: what was matched or created for it (``patient 12 matched``, ``coverage 7 created``)
    notes: list[str] = dataclasses.field(default_factory=list)
    charge: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {"position": self.position, "claim_number": self.claim_number,
                "outcome": self.outcome.value, "claim_id": self.claim_id, "field": self.field,
                "reason": self.reason, "candidates": self.candidates,
                "findings": self.findings, "notes": self.notes,
                "charge": str(self.charge) if self.charge is not None else None}

    def line(self, dry_run: bool = False) -> str:
        """The claim's line in the printed report."""
        name = f"claim {self.claim_number or '(unreadable CLM01)'} (segment {self.position})"
        if self.outcome is Outcome.IMPORTED:
            return f"{name}: " + ("would be imported" if dry_run
                                  else f"imported as claim id {self.claim_id}")
        if self.outcome is Outcome.SKIPPED:
            return f"{name}: skipped, already imported as claim id {self.claim_id}"
        about = f"{self.field}: " if self.field else ""
        tail = (f" (candidates: {', '.join(str(c) for c in self.candidates)})"
                if self.candidates else "")
        return f"{name}: {self.outcome.value}: {about}{self.reason}{tail}"


@dataclass
class IntakeReport:
    """What importing a claim file did (or, on a dry run, would do)."""

    file_name: str
    content_sha256: str
    interchange_control_number: str
    sender: str
    implementation: str
    dry_run: bool
    import_id: int | None = None
    claims: list[ClaimOutcome] = dataclasses.field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for claim in self.claims if claim.outcome is outcome)

    @property
    def ok(self) -> bool:
        """Every claim is in (imported now or before)."""
        return all(claim.outcome in (Outcome.IMPORTED, Outcome.SKIPPED)
                   for claim in self.claims)

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        return (f"{self.file_name}: {len(self.claims)} claims: {verb} "
                f"{self.count(Outcome.IMPORTED)}, skipped {self.count(Outcome.SKIPPED)} "
                f"(imported before), refused {self.count(Outcome.REFUSED)}, held "
                f"{self.count(Outcome.HELD)} for a person to decide (work queue intake)")

    def as_json(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "file": self.file_name,
                "content_sha256": self.content_sha256,
                "interchange_control_number": self.interchange_control_number,
                "sender": self.sender, "implementation": self.implementation,
                "dry_run": self.dry_run,
                "counts": {outcome.value: self.count(outcome) for outcome in Outcome},
                "claims": [claim.as_json() for claim in self.claims]}


class _Hold(Exception):
    """An ambiguous match: the claim waits for a person (never a guess)."""

    def __init__(self, what: str, reason: str, candidates: list[int]) -> None:
        super().__init__(reason)
        self.what, self.reason, self.candidates = what, reason, sorted(set(candidates))


class _Refuse(Exception):
    def __init__(self, what: str, reason: str) -> None:
        super().__init__(reason)
        self.what, self.reason = what, reason


def is_x12(content: str) -> bool:
    """Whether ``content`` is an X12 interchange (it starts with ISA)."""
    return _X12_START.match(content[:64]) is not None


def clean_file_name(name: str | None) -> str:
    """A file name fit for reports and the record: its last part, plain characters only."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _FILE_NAME.sub("_", base)[:255] or "upload"


def import_claim_file(work: UnitOfWork, content: str, *, file_name: str,
                      dry_run: bool = False) -> IntakeReport:
    """Import the claims of an 837 file as draft claims (the module docstring).

    :param dry_run: do everything, report it, keep nothing (the unit of work stays clean).
    :raises DecodeError: the file is not an 837 the enabled plugins read (a 270, a truncated
        interchange ...), positioned; nothing is imported.
    :raises ValidationFailed: the same ISA13 from the same sender was imported with other
        content; nothing is imported.
    :raises AdapterNotAvailable: no enabled plugin reads 837 files.
    """
    work.require(Action.CLAIMS_IMPORT)
    name = clean_file_name(file_name)
    if not is_x12(content):  # told apart here: no plugin is asked about text that is no X12
        raise DecodeError("segment 1: an X12 interchange starting with ISA (an 837 claim file)")
    decoded = work.app.hooks.decode_claims(content=content)
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    sender = f"{decoded.sender_qualifier}:{decoded.sender_id}"[:20]
    report = IntakeReport(name, digest, decoded.interchange_control_number, sender,
                          decoded.implementation, dry_run)
    earlier = _earlier_runs(work, decoded, sender, digest, name)
    outer = work.session.begin_nested() if dry_run else None
    context = _Context(work, decoded, dry_run)
    for claim in decoded.claims:
        report.claims.append(_import_one(context, claim, earlier))
    if outer is not None:
        outer.rollback()
        for outcome in report.claims:
            outcome.claim_id = None  # ids a dry run drew are no one's
        return report
    report.import_id = _record(work, report)
    return report


def _earlier_runs(work: UnitOfWork, decoded: DecodedClaimFile, sender: str, digest: str,
                  name: str) -> dict[int, int]:
    """The claims earlier runs of this file imported (CLM position -> claim id) that still
    exist; refuses another file under the same sender and ISA13."""
    runs = list(work.session.scalars(select(ClaimImportRow).where(
        ClaimImportRow.sender == sender,
        ClaimImportRow.interchange_control_number == decoded.interchange_control_number)
        .order_by(ClaimImportRow.id)))
    other = next((run for run in runs if run.content_sha256 != digest), None)
    if other is not None:
        raise ValidationFailed(name, [("ISA13", (
            f"interchange control number {decoded.interchange_control_number} from sender "
            f"{sender} was imported on {other.imported_at:%Y-%m-%d} (import {other.id}, "
            f"{other.file_name}) with other content; nothing was imported (ask the sender "
            "for a new control number, or delete nothing and check both files)"))])
    imported: dict[int, int] = {}
    if runs:
        rows = work.session.execute(
            select(ClaimImportClaimRow.position, ClaimImportClaimRow.claim_id)
            .join(ClaimRow, ClaimRow.id == ClaimImportClaimRow.claim_id)
            .where(ClaimImportClaimRow.import_id.in_([run.id for run in runs]),
                   ClaimImportClaimRow.outcome.in_([Outcome.IMPORTED.value,
                                                    Outcome.SKIPPED.value]),
                   ClaimRow.state != "deleted"))
        imported = {position: claim_id for position, claim_id in rows if claim_id is not None}
    return imported


class _Context:
    """What every claim of one file is matched against, read once."""

    def __init__(self, work: UnitOfWork, decoded: DecodedClaimFile, dry_run: bool) -> None:
        self.work = work
        self.dry_run = dry_run
        self.patients = PatientService(work.session, actor=work.actor, config=work.app.config)
        self.practice_npi = practice_profile(work).npi
        self.payers_by_id: dict[str, list[str]] = {}
        for key, payer in work.app.config.payers.items():
            self.payers_by_id.setdefault(payer.payer_id.upper(), []).append(key)
        self.decoded = decoded


def _import_one(context: _Context, decoded: DecodedClaim,
                earlier: dict[int, int]) -> ClaimOutcome:
    outcome = ClaimOutcome(decoded.position, decoded.claim_number, Outcome.REFUSED,
                           findings=list(decoded.findings))
    if decoded.bill is None:
        outcome.field, outcome.reason = "837", decoded.refusal
        return outcome
    bill = decoded.bill
    outcome.charge = bill.claim.total_charge
    if decoded.position in earlier:
        outcome.outcome, outcome.claim_id = Outcome.SKIPPED, earlier[decoded.position]
        return outcome
    work = context.work
    savepoint = work.session.begin_nested()
    try:
        outcome.claim_id = _store(context, bill, outcome.notes, outcome.findings)
        savepoint.commit()
        outcome.outcome = Outcome.IMPORTED
    except _Hold as hold:
        savepoint.rollback()
        outcome.outcome, outcome.field, outcome.reason = Outcome.HELD, hold.what, hold.reason
        outcome.candidates, outcome.notes = hold.candidates, []
    except _Refuse as refused:
        savepoint.rollback()
        outcome.field, outcome.reason, outcome.notes = refused.what, refused.reason, []
    except ValidationFailed as exc:
        savepoint.rollback()
        outcome.field = exc.problems[0][0] if exc.problems else None
        outcome.reason = "; ".join(message for _, message in exc.problems) or exc.message
        outcome.notes = []
    except MedbillError as exc:
        savepoint.rollback()
        outcome.reason, outcome.notes = exc.message, []
    except IntegrityError:
        # a claim of the practice stored at the same time took the number (claim numbers are
        # unique per practice: another practice's claims never refuse one)
        savepoint.rollback()
        outcome.field, outcome.notes = "CLM01 claim number", []
        outcome.reason = "already used by another claim"
    return outcome


def _store(context: _Context, bill: BillableClaim, notes: list[str],
           findings: list[str]) -> int:
    """Match or create what the claim needs and create it; the new claim's id."""
    claim = bill.claim
    if claim.billing_provider_npi != context.practice_npi:
        raise _Refuse("2010AA NM109 billing provider",
                      "the billing provider NPI is not this practice's: import the file into "
                      "the practice it bills for")
    payer_key = _payer_key(context, bill)
    patient_id = _patient(context, bill, payer_key, notes)
    coverage_id = _coverage(context, bill, patient_id, payer_key, notes)
    for provider, role in ((bill.rendering_provider, "rendering"),
                           (bill.referring_provider, "referring")):
        if provider is not None:
            _provider(context, provider, role, notes)
    if claim.institutional is not None:
        details = claim.institutional
        for npi, role in ((details.attending_provider_npi, "attending"),
                          (details.operating_provider_npi, "operating"),
                          (details.other_operating_provider_npi, "other operating")):
            if npi and context.patients.provider(npi) is None:
                findings.append(f"{role} provider NPI {npi} is not a registered provider "
                                "(register it: medbill providers / POST /v1/providers)")
    if bill.prior_adjudications:
        findings.append("the prior payers' adjudications (loop 2320) are not imported: the "
                        "claim is billed to its primary payer as sent; a secondary claim is "
                        "made after the primary's 835")
    stored = context.work.claims.create(claim.model_copy(update={
        "patient_id": patient_id, "coverage_id": coverage_id, "payer_key": payer_key}))
    return saved_id(stored)


def _payer_key(context: _Context, bill: BillableClaim) -> str:
    payer_id = bill.payer.payer_id if bill.payer is not None else ""
    keys = context.payers_by_id.get(payer_id.upper(), [])
    if not keys:
        raise _Refuse("2010BB NM109 payer", f"payer ID {payer_id} is not a configured payer "
                                            "(add it under [payers] in medbill.toml)")
    if len(keys) > 1:
        raise _Refuse("2010BB NM109 payer", f"payer ID {payer_id} is configured for several "
                                            f"payers ({', '.join(sorted(keys))})")
    return keys[0]


def _given_account(bill: BillableClaim) -> str | None:
    """The patient account number the file gives (2300 REF*EA); the decoder fills in CLM01
    when there is none, which names the visit, not the patient."""
    account = bill.patient.account_number
    return None if account == bill.claim.claim_number else account


def _same_person(row: PatientRow, patient: Patient) -> bool:
    return (row.last_name.casefold() == patient.last_name.casefold()
            and row.first_name.casefold() == patient.first_name.casefold()
            and row.birth_date == patient.birth_date
            and (row.sex == patient.sex.value or Sex.UNKNOWN.value in (row.sex,
                                                                        patient.sex.value)))


def _patient(context: _Context, bill: BillableClaim, payer_key: str,
             notes: list[str]) -> int:
    """The patient of the claim: matched (one candidate), created (none), or held (more)."""
    patient, coverage = bill.patient, bill.coverage
    session = context.work.session
    # by birth date (an index: few share one), the names compared here case-insensitively
    by_name = [row for row in session.scalars(select(PatientRow).where(
        PatientRow.birth_date == patient.birth_date,
        PatientRow.merged_into_id.is_(None)).order_by(PatientRow.id))
        if _same_person(row, patient)]
    # the patients holding this member ID with this payer as their own (relationship self)
    member_id = coverage.member_id if coverage is not None else None
    holders: list[PatientRow] = []
    if member_id:
        holders = list(session.scalars(select(PatientRow).join(
            CoverageRow, CoverageRow.patient_id == PatientRow.id).where(
            CoverageRow.payer_key == payer_key, CoverageRow.member_id == member_id,
            CoverageRow.relationship_code == Relationship.SELF.value,
            PatientRow.merged_into_id.is_(None)).order_by(PatientRow.id)))
    self_insured = coverage is None or coverage.relationship is Relationship.SELF
    account = _given_account(bill)
    if account is not None:
        named = session.scalar(select(PatientRow).where(PatientRow.account_number == account))
        for _ in range(10):  # a merged duplicate's account: the visit is the kept record's
            if named is None or named.merged_into_id is None:
                break
            named = session.get(PatientRow, named.merged_into_id)
        if named is not None:
            if not _same_person(named, patient):
                raise _Hold("patient (2300 REF*EA account number)",
                            "the account number is another patient's on file (name, birth "
                            "date or sex differ)", [named.id, *(row.id for row in by_name)])
            by_name = [named]
    if len(by_name) > 1:
        narrowed = [row for row in by_name if row.id in {h.id for h in holders}]
        if len(narrowed) != 1:
            raise _Hold("patient", f"{len(by_name)} patients have this name, birth date and "
                                   "sex", [row.id for row in by_name])
        by_name = narrowed
    if self_insured:
        others = [row for row in holders if not by_name or row.id != by_name[0].id]
        if others:
            raise _Hold("patient (2010BA NM109 member ID)",
                        "the member ID is on file with this payer for another patient "
                        "(another name or birth date)",
                        [row.id for row in others] + [row.id for row in by_name])
    if by_name:
        notes.append(f"patient {by_name[0].account_number} (id {by_name[0].id}) matched")
        return by_name[0].id
    stored, _, _ = context.patients.save(patient.model_copy(update={
        "id": None, "account_number": account or _new_account(session, bill)}))
    notes.append(f"patient {stored.account_number} created" if context.dry_run
                 else f"patient {stored.account_number} (id {stored.id}) created")
    return saved_id(stored)


def _new_account(session: Any, bill: BillableClaim) -> str:
    """An account number for a patient the file does not number: ``EHR-`` and CLM01 (the
    first visit that brought them in), made unique."""
    base = f"EHR-{bill.claim.claim_number}"[:26]
    taken = set(session.scalars(select(PatientRow.account_number).where(
        PatientRow.account_number.startswith(base, autoescape=True))))
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}-{suffix}"
    return candidate


def _coverage(context: _Context, bill: BillableClaim, patient_id: int, payer_key: str,
              notes: list[str]) -> int | None:
    """The patient's coverage with the claim's payer in the claim's order: matched (same
    member ID), created (none), or held (another member ID on file: a new card, or another
    person's)."""
    coverage = bill.coverage
    if coverage is None:  # pragma: no cover - an 837 always names its payer
        return None
    existing = context.patients.find_coverage(patient_id, payer_key, coverage.order.value)
    if existing is not None:
        if existing.member_id != coverage.member_id:
            raise _Hold("coverage (2010BA NM109 member ID)",
                        f"the patient's {coverage.order.value} coverage with payer "
                        f"{payer_key} has another member ID on file",
                        [saved_id(existing)])
        notes.append(f"coverage {existing.id} matched")
        return saved_id(existing)
    stored, _, _ = context.patients.save_coverage(patient_id, Coverage.model_validate({
        **coverage.model_dump(), "id": None, "patient_id": patient_id,
        "payer_key": payer_key}))
    made = "coverage" if context.dry_run else f"coverage {stored.id}"  # a dry run's ids go
    notes.append(f"{made} created (payer {payer_key}, {coverage.order.value})")
    return saved_id(stored)


def _provider(context: _Context, provider: Provider, role: str, notes: list[str]) -> None:
    """A provider is known by NPI: an existing record is used as it is (the file does not
    rename it), an unknown NPI is registered."""
    if context.patients.provider(provider.npi) is not None:
        return
    context.patients.register_provider(provider.model_copy(update={"id": None}))
    notes.append(f"{role} provider {provider.npi} registered")


def _record(work: UnitOfWork, report: IntakeReport) -> int:
    run = ClaimImportRow(
        file_name=report.file_name, content_sha256=report.content_sha256,
        interchange_control_number=report.interchange_control_number, sender=report.sender,
        implementation=report.implementation, actor=work.actor, imported_at=utcnow(),
        claims=len(report.claims), imported=report.count(Outcome.IMPORTED),
        skipped=report.count(Outcome.SKIPPED), refused=report.count(Outcome.REFUSED),
        held=report.count(Outcome.HELD))
    run.outcomes = [ClaimImportClaimRow(
        position=claim.position, claim_number=claim.claim_number,
        outcome=claim.outcome.value, charge=claim.charge, claim_id=claim.claim_id,
        field=claim.field, reason=(claim.reason or "")[:1000] or None,
        candidates=claim.candidates, findings=claim.findings) for claim in report.claims]
    work.session.add(run)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="claim_import.run",
                 entity_type="claim_import", entity_id=run.id, details={
                     "file": report.file_name, "sha256": report.content_sha256,
                     "interchange_control_number": report.interchange_control_number,
                     "sender": report.sender,
                     "counts": {outcome.value: report.count(outcome) for outcome in Outcome}})
    return run.id


def get_import(work: UnitOfWork, import_id: int) -> IntakeReport:
    """A run's report as recorded.

    :raises NotFound: no such run (in this practice).
    """
    from medbill_core.errors import NotFound

    work.require(Action.CLAIMS_READ)
    run = work.session.get(ClaimImportRow, import_id)
    if run is None:
        raise NotFound("claim import", import_id)
    report = IntakeReport(run.file_name, run.content_sha256, run.interchange_control_number,
                          run.sender, run.implementation, False, run.id)
    report.claims = [ClaimOutcome(
        row.position, row.claim_number, Outcome(row.outcome), row.claim_id, row.field,
        row.reason, list(row.candidates or []), list(row.findings or []), [], row.charge)
        for row in run.outcomes]
    return report


@dataclass(frozen=True)
class ImportRun:
    """One recorded run, as ``claims imports`` lists it (no PHI: file name, envelope, counts)."""

    id: int
    file_name: str
    interchange_control_number: str
    sender: str
    actor: str
    imported_at: datetime
    counts: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {"import_id": self.id, "file": self.file_name,
                "interchange_control_number": self.interchange_control_number,
                "sender": self.sender, "actor": self.actor,
                "imported_at": as_utc(self.imported_at).isoformat(), "counts": self.counts}


def list_imports(work: UnitOfWork, *, limit: int = 50) -> list[ImportRun]:
    """The practice's latest claim import runs, newest first."""
    work.require(Action.CLAIMS_READ)
    return [ImportRun(run.id, run.file_name, run.interchange_control_number, run.sender,
                      run.actor, run.imported_at,
                      {"claims": run.claims, "imported": run.imported, "skipped": run.skipped,
                       "refused": run.refused, "held": run.held})
            for run in work.session.scalars(select(ClaimImportRow)
                                            .order_by(ClaimImportRow.id.desc()).limit(limit))]


@dataclass(frozen=True)
class HeldClaim:
    """A claim an import held for a person to decide, still not imported."""

    id: int
    import_id: int
    file_name: str
    claim_number: str | None
    position: int
    field: str
    reason: str
    candidates: list[int]
    charge: Decimal
    since: date


def held_claims(work: UnitOfWork) -> list[HeldClaim]:
    """Claims held by the latest run of their file and not imported since (the intake work
    queue): one per file and claim position."""
    from medbill_core.money import ZERO
    from medbill_core.storage.schema import local_day

    # the held outcomes (an index), then only the runs of their files: whether a later run
    # of the same file settled the claim (imported it, or refused it for another reason)
    found = work.session.execute(
        select(ClaimImportClaimRow, ClaimImportRow.content_sha256, ClaimImportRow.file_name,
               ClaimImportRow.imported_at)
        .join(ClaimImportRow, ClaimImportRow.id == ClaimImportClaimRow.import_id)
        .where(ClaimImportClaimRow.outcome == Outcome.HELD.value)
        .order_by(ClaimImportClaimRow.id)).all()
    digests = {digest for _, digest, _, _ in found}
    latest: dict[tuple[str, int], int] = {}
    if digests:
        for position, row_id, digest in work.session.execute(
                select(ClaimImportClaimRow.position, ClaimImportClaimRow.id,
                       ClaimImportRow.content_sha256)
                .join(ClaimImportRow, ClaimImportRow.id == ClaimImportClaimRow.import_id)
                .where(ClaimImportRow.content_sha256.in_(digests))):
            key = (digest, position)
            latest[key] = max(latest.get(key, 0), row_id)
    held = [(row, name, at) for row, digest, name, at in found
            if latest.get((digest, row.position)) == row.id]
    numbers = {row.claim_number for row, _, _ in held if row.claim_number}
    existing = set(work.session.scalars(select(ClaimRow.claim_number).where(
        ClaimRow.claim_number.in_(numbers)))) if numbers else set()
    return [HeldClaim(row.id, row.import_id, name, row.claim_number, row.position,
                      row.field or "", row.reason or "", list(row.candidates or []),
                      row.charge if row.charge is not None else ZERO, local_day(at))
            for row, name, at in held if row.claim_number not in existing]

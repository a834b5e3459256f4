"""Writing the acknowledgments the simulator sends: TA1, 999 (X231A1) and 277CA (X214).

Built on the X12 engine's writer (:class:`InterchangeWriter`, :class:`SegmentBuffer`), so
counts, control numbers and delimiter checks come from one place. HL segments are written by
hand here because X214 leaves HL04 out of the patient level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from medbill_payer_generic_x12.api import (
    ControlNumberSource,
    EnvelopeSettings,
    InterchangeWriter,
    SegmentBuffer,
    TransactionWriter,
    format_date,
    format_money,
    format_time,
)

from medbill_clearinghouse_mock.simulator.envelope import GroupCheck, InterchangeCheck

ACK_VERSION = "005010X231A1"
CLAIM_ACK_VERSION = "005010X214"


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who the simulator's responses come from and go to."""

    sender_id: str
    receiver_id: str
    receiver_qualifier: str = "ZZ"
    usage: str = "T"

    def settings(self) -> EnvelopeSettings:
        receiver = (self.receiver_id or "UNKNOWN")[:15]
        qualifier = self.receiver_qualifier if len(self.receiver_qualifier) == 2 else "ZZ"
        return EnvelopeSettings(sender_id=self.sender_id, receiver_id=receiver,
                                receiver_qualifier=qualifier,
                                usage=self.usage if self.usage in ("P", "T") else "T")


def encode_ta1(check: InterchangeCheck, envelope: Envelope, numbers: ControlNumberSource,
               now: datetime) -> str:
    """An interchange holding one TA1 about the received interchange."""
    writer = InterchangeWriter(envelope.settings(), numbers, now=now)
    buffer = SegmentBuffer(writer.delimiters)
    received_date = check.date or now.date()
    received_time = check.time or now.time()
    status = "A" if check.accepted else "R"
    buffer.add("TA1", check.control_number, received_date.strftime("%y%m%d"),
               format_time(received_time), status, check.note_code)
    d = writer.delimiters
    lines = [writer.isa(), *buffer.lines, d.element.join(("IEA", "0", writer.control_number))]
    return d.segment.join(lines) + d.segment


def encode_999(check: InterchangeCheck, envelope: Envelope, numbers: ControlNumberSource,
               now: datetime) -> str:
    """One 999 transaction set per received functional group."""
    writer = InterchangeWriter(envelope.settings(), numbers, now=now)
    group_handle = writer.group("FA", ACK_VERSION)
    for group in check.groups:
        _write_999(group_handle.transaction("999", ACK_VERSION), group)
    return writer.text()


def _write_999(w: TransactionWriter, group: GroupCheck) -> None:
    w.add("AK1", group.functional_id or "HC", group.control_number or "0",
          group.version or None)
    for transaction in group.transactions:
        w.add("AK2", transaction.set_id or "837", transaction.control_number or "0000",
              transaction.implementation)
        for problem in transaction.problems[:20]:
            w.add("IK3", problem.segment_id, str(problem.position), problem.loop_id,
                  problem.code)
            if problem.element is not None:
                position: str | tuple[str | None, ...] = str(problem.element)
                if problem.component is not None:
                    position = (str(problem.element), str(problem.component))
                w.add("IK4", position, None, problem.element_code or "7")
        if group.ak9_codes:
            w.add("IK5", "R", *(transaction.ik5_codes or ["5"])[:5])
        elif transaction.accepted:
            w.add("IK5", "A")
        else:
            codes = list(transaction.ik5_codes)
            if transaction.problems and "5" not in codes:
                codes.append("5")
            w.add("IK5", "R", *codes[:5])
    received = len(group.transactions)
    w.add("AK9", group.status, str(group.declared_count if group.declared_count is not None
                                   else received),
          str(received), str(group.accepted_count), *group.ak9_codes[:5])


# -- 277CA ----------------------------------------------------------------------------------------

@dataclass(slots=True)
class StatusReason:
    """One STC composite: category (A2, A3, A6, A7), status code, entity (85, 82, IL ...)."""

    category: str
    code: str
    entity: str | None = None


@dataclass(slots=True)
class ClaimOutcome:
    """What a 277CA says about one claim (no PHI leaves this object except into the document)."""

    claim_number: str
    charge: Decimal
    accepted: bool
    payer_claim_number: str | None
    patient_last_name: str
    patient_first_name: str | None
    member_id: str | None
    service_from: date | None
    service_to: date | None
    billing_npi: str
    billing_name: str
    reasons: list[StatusReason] = field(default_factory=list)
    message: str | None = None


@dataclass(slots=True)
class ClaimAckBatch:
    reference: str  # BHT03 of the 837 we acknowledge
    submitter_name: str
    submitter_id: str
    received: date
    claims: list[ClaimOutcome]


def _clean(text: str | None, limit: int = 60) -> str | None:
    """Free text for a segment: delimiters and control characters become spaces."""
    if text is None:
        return None
    cleaned = "".join(" " if (not ch.isprintable() or ch in "*~:^|>") else ch for ch in text)
    return " ".join(cleaned.split())[:limit] or None


def encode_277ca(batch: ClaimAckBatch, envelope: Envelope, source_name: str, source_id: str,
                 numbers: ControlNumberSource, now: datetime) -> str:
    """One 277CA transaction set for one received 837 batch."""
    writer = InterchangeWriter(envelope.settings(), numbers, now=now)
    group = writer.group("HN", CLAIM_ACK_VERSION)
    w = group.transaction("277", CLAIM_ACK_VERSION)
    day = format_date(now.date())
    w.add("BHT", "0085", "08", _clean(batch.reference, 30) or "0", day, format_time(now), "TH")
    w.add("HL", "1", None, "20", "1")
    w.add("NM1", "PR", "2", _clean(source_name), None, None, None, None, "46", source_id)
    w.add("TRN", "1", w.control_number)
    w.add("DTP", "050", "D8", format_date(batch.received))
    w.add("DTP", "009", "D8", day)
    w.add("HL", "2", "1", "21", "1")
    w.add("NM1", "41", "2", _clean(batch.submitter_name) or "SUBMITTER", None, None, None, None,
          "46", _clean(batch.submitter_id, 80) or "UNKNOWN")
    w.add("TRN", "2", _clean(batch.reference, 50) or "0")
    accepted = [c for c in batch.claims if c.accepted]
    rejected = [c for c in batch.claims if not c.accepted]
    total = sum((c.charge for c in batch.claims), Decimal("0"))
    w.add("STC", ("A1", "19", "PR"), day, "WQ", format_money(total))
    if accepted:
        w.add("QTY", "90", str(len(accepted)))
    if rejected:
        w.add("QTY", "AA", str(len(rejected)))
    if accepted:
        w.add("AMT", "YU", format_money(sum((c.charge for c in accepted), Decimal("0"))))
    if rejected:
        w.add("AMT", "YY", format_money(sum((c.charge for c in rejected), Decimal("0"))))
    hl = 2
    providers: dict[tuple[str, str], list[ClaimOutcome]] = {}
    for claim in batch.claims:
        providers.setdefault((claim.billing_npi, claim.billing_name), []).append(claim)
    for (npi, name), claims in providers.items():
        hl += 1
        provider_hl = hl
        w.add("HL", str(provider_hl), "2", "19", "1")
        w.add("NM1", "85", "2", _clean(name) or "PROVIDER", None, None, None, None, "XX",
              npi if npi.isdigit() and len(npi) == 10 else "0000000000")
        w.add("TRN", "1", "0")
        ok = [c for c in claims if c.accepted]
        bad = [c for c in claims if not c.accepted]
        w.add("STC", ("A1", "19", "PR"), None, "WQ",
              format_money(sum((c.charge for c in claims), Decimal("0"))))
        if ok:
            w.add("QTY", "QA", str(len(ok)))
        if bad:
            w.add("QTY", "QC", str(len(bad)))
        if ok:
            w.add("AMT", "YU", format_money(sum((c.charge for c in ok), Decimal("0"))))
        if bad:
            w.add("AMT", "YY", format_money(sum((c.charge for c in bad), Decimal("0"))))
        for claim in claims:
            hl += 1
            w.add("HL", str(hl), str(provider_hl), "PT")
            w.add("NM1", "QC", "1", _clean(claim.patient_last_name) or "UNKNOWN",
                  _clean(claim.patient_first_name, 35), None, None, None,
                  "MI" if claim.member_id else None, _clean(claim.member_id, 80))
            w.add("TRN", "2", _clean(claim.claim_number, 50) or "0")
            if claim.accepted:
                w.add("STC", ("A2", "20"), day, "WQ", format_money(claim.charge))
            else:
                reasons = claim.reasons or [StatusReason("A3", "21")]
                composites = [(r.category, r.code, r.entity) for r in reasons[:3]]
                elements: list[str | tuple[str | None, ...] | None] = [
                    composites[0], day, "U", format_money(claim.charge),
                    None, None, None, None, None]
                elements.append(composites[1] if len(composites) > 1 else None)
                elements.append(composites[2] if len(composites) > 2 else None)
                elements.append(_clean(claim.message, 264))
                w.add("STC", *elements)
            if claim.payer_claim_number:
                w.add("REF", "1K", claim.payer_claim_number)
            if claim.service_from:
                if claim.service_to and claim.service_to != claim.service_from:
                    w.add("DTP", "472", "RD8", f"{format_date(claim.service_from)}-"
                          f"{format_date(claim.service_to)}")
                else:
                    w.add("DTP", "472", "D8", format_date(claim.service_from))
    return writer.text()

"""Reading an 837 batch a practice's EHR sent in, claim by claim (the core's claim intake).

The transaction decoders (:func:`~.transactions.claim_837p.decode_837p`) read a document whole
and stop at its first error: right for a file we wrote ourselves, wrong for a batch of 300
claims from a client's EHR where one claim lacks a diagnosis pointer. Here the envelope is
checked first (a truncated or malformed interchange refuses the file), then each claim is read
on its own: a transaction set of one claim is cut out of the file (the header, its billing
provider loop, its subscriber and patient loops, the claim's own segments) and given to the
decoder. An error names the segment number in the file as received, never a value.

The decoder is chosen by the implementation guide (ST03, else GS08): 005010X222 (837P) and
005010X223 (837I). Both decoders keep a value that breaks a business rule as sent, with a
positioned finding kept with the claim.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from medbill_core.api import BillableClaim, DecodedClaim, DecodedClaimFile
from medbill_payer_generic_x12.transactions.claim_837i import decode_837i_findings
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p_findings
from medbill_payer_generic_x12.x12.delimiters import Delimiters
from medbill_payer_generic_x12.x12.errors import (
    X12EnvelopeError,
    X12Error,
    X12UnsupportedError,
)
from medbill_payer_generic_x12.x12.findings import Finding
from medbill_payer_generic_x12.x12.reader import Segment, X12Reader, read_segments

#: Implementation guides of the claim transactions this module reads, by prefix.
PROFESSIONAL, INSTITUTIONAL = "005010X222", "005010X223"
#: A claim number we may repeat in a report: what the domain accepts (anything else is data
#: that may be garbled or hostile: the position says enough).
_CLAIM_NUMBER = re.compile(r"[A-Za-z0-9-]{1,20}")

#: a claim document's claims and what the decoder noticed without refusing them
Decoder = Callable[[str], tuple[list[BillableClaim], list[Finding]]]


def _read_837p(text: str) -> tuple[list[BillableClaim], list[Finding]]:
    # a value that breaks a business rule (an NPI check digit, a code not valid on the date)
    # is kept as sent with a finding: the claim comes in as a draft and the scrubber holds it
    return decode_837p_findings(text, check_codes=True)


def _read_837i(text: str) -> tuple[list[BillableClaim], list[Finding]]:
    # as the 837P's: an ICD-9 qualifier, a check digit, a code not valid on its date is a
    # finding on a claim that comes in as a draft
    return decode_837i_findings(text, check_codes=True)


def _decoder_for(implementation: str) -> Decoder | None:
    if implementation.startswith(PROFESSIONAL):
        return _read_837p
    if implementation.startswith(INSTITUTIONAL):
        return _read_837i
    return None


@dataclass
class _Transaction:
    """One ST...SE of the file: where it is and its claims' pieces (segment numbers: ISA = 1)."""

    start: int
    end: int
    set_id: str
    implementation: str


@dataclass
class _ClaimCut:
    """The segments (by number) of a transaction set holding one claim."""

    position: int
    numbers: list[int] = field(default_factory=list)


def decode_claim_file(text: str) -> DecodedClaimFile:
    """The envelope of an 837 interchange and each of its claims, read or refused.

    :raises X12Error: not an X12 interchange, a broken envelope (a truncated file, counts or
        control numbers that do not match), or a transaction set other than an 837P/837I;
        positioned.
    """
    header, transactions = _envelope(text)
    delimiters, segments = read_segments(text)
    claims: list[DecodedClaim] = []
    for transaction in transactions:
        decoder = _decoder_for(transaction.implementation)
        if decoder is None:
            raise X12UnsupportedError(
                "an 837 of implementation guide 005010X222A1 (837P) or 005010X223A2 (837I)"
                f", not {_safe(transaction.implementation) or 'none'}",
                segment_index=transaction.start, segment_id="ST", element=3)
        for cut in _claims_in(segments, transaction):
            claims.append(_decode_claim(segments, header, transaction, cut, decoder,
                                        delimiters))
    isa = segments[0]
    return DecodedClaimFile(
        implementation=transactions[0].implementation[:20],
        interchange_control_number=isa[13].strip(), sender_qualifier=isa[5].strip()[:2],
        sender_id=isa[6].strip()[:15] or "unknown", receiver_id=isa[8].strip()[:15],
        claims=claims)


def _safe(value: str) -> str:
    return value if re.fullmatch(r"[0-9A-Z]{1,12}", value) else ""


def _envelope(text: str) -> tuple[list[int], list[_Transaction]]:
    """Walk the whole interchange (every trailer checked) without decoding a claim.

    :returns: the segment numbers of ISA and GS, and the transaction sets.
    """
    reader = X12Reader.from_text(text)
    transactions: list[_Transaction] = []
    header: list[int] = []
    for interchange in reader.interchanges():
        if not interchange.enveloped:
            raise X12EnvelopeError("an interchange starting with ISA (a bare ST...SE has no "
                                   "interchange control number to recognise it by)",
                                   segment_index=1, segment_id="ST")
        if header:
            raise X12EnvelopeError("one interchange per file", segment_index=interchange
                                   .start_index, segment_id="ISA")
        header.append(interchange.start_index)
        for group in interchange.groups():
            if len(header) == 1:
                header.append(group.start_index)
            for transaction in group.transactions():
                if transaction.transaction_set_id != "837":
                    raise X12UnsupportedError(
                        f"an 837 claim transaction, not "
                        f"{_safe(transaction.transaction_set_id) or 'another transaction set'}",
                        segment_index=transaction.start_index, segment_id="ST", element=1)
                found = _Transaction(transaction.start_index, 0, "837",
                                     transaction.version or "")
                for _ in transaction.segments():
                    pass
                found.end = transaction.segment_index  # its SE, checked by the reader
                transactions.append(found)
    if not transactions:
        raise X12EnvelopeError("at least one 837 transaction set", segment_index=1)
    return header, transactions


def _claims_in(segments: Sequence[Segment], transaction: _Transaction) -> list[_ClaimCut]:
    """Each claim of the transaction set as the segments a one-claim transaction set needs:
    the header (ST up to the first HL), the claim's billing provider (HL 20) loop, subscriber
    (HL 22) and patient (HL 23) loops up to their first CLM, and the claim's own segments."""
    header: list[int] = []
    loops: dict[str, list[int]] = {}
    current: list[int] = header
    cuts: list[_ClaimCut] = []
    level = ""
    for number in range(transaction.start, transaction.end):
        segment = segments[number - 1]
        tag = segment[0]
        if tag == "HL":
            level = segment[3] if len(segment) > 3 else ""
            # a new billing provider starts again; a subscriber drops its patient
            drop = {"20": ("20", "22", "23"), "22": ("22", "23"), "23": ("23",)}
            for name in drop.get(level, ()):
                loops.pop(name, None)
            current = loops.setdefault(level, [])
            current.append(number)
        elif tag == "CLM":
            cut = _ClaimCut(number, [*header, *loops.get("20", []), *loops.get("22", []),
                                     *loops.get("23", [])])
            cuts.append(cut)
            current = cut.numbers
            current.append(number)
        else:
            current.append(number)
    return cuts


def _decode_claim(segments: Sequence[Segment], header: list[int], transaction: _Transaction,
                  cut: _ClaimCut, decoder: Decoder, delimiters: Delimiters) -> DecodedClaim:
    clm = segments[cut.position - 1]
    number = clm[1].strip() if len(clm) > 1 else ""
    claim_number = number if _CLAIM_NUMBER.fullmatch(number) else None
    isa, gs = segments[header[0] - 1], segments[header[1] - 1]
    body = [segments[n - 1] for n in cut.numbers]
    st = body[0]
    # the one-claim document: ISA, GS, ST...SE, GE, IEA; numbers map its segments back
    numbers = [header[0], header[1], *cut.numbers, transaction.end, transaction.end,
               transaction.end]
    pieces = [isa, gs, *body, ["SE", str(len(body) + 1), st[2] if len(st) > 2 else ""],
              ["GE", "1", gs[6] if len(gs) > 6 else ""], ["IEA", "1", isa[13]]]
    text = delimiters.segment.join(delimiters.element.join(piece) for piece in pieces) \
        + delimiters.segment
    try:
        bills, noticed = decoder(text)
    except X12Error as exc:
        refusal = _moved(exc, numbers)
        # a model check names the claim by its CLM's number in the one-claim document
        inner = f"claim at segment {numbers.index(cut.position) + 1} "
        refusal = refusal.replace(inner, f"claim at segment {cut.position} ")
        return DecodedClaim(position=cut.position, claim_number=claim_number, refusal=refusal)
    findings = [_moved_finding(finding, numbers) for finding in noticed]
    if not bills:  # left out by the decoder: its findings say why
        errors = [text for finding, text in zip(noticed, findings, strict=True)
                  if finding.severity.value == "error"] or findings
        return DecodedClaim(position=cut.position, claim_number=claim_number,
                            refusal="; ".join(errors[:3]) or
                            f"segment {cut.position} (CLM): the claim could not be read",
                            findings=findings)
    if len(bills) != 1:  # pragma: no cover - one CLM makes one claim
        return DecodedClaim(position=cut.position, claim_number=claim_number,
                            refusal=f"segment {cut.position} (CLM): one claim")
    return DecodedClaim(position=cut.position, claim_number=claim_number, bill=bills[0],
                        findings=findings)


def _moved_finding(finding: Finding, numbers: Sequence[int]) -> str:
    """The finding as a line, its segment number as in the file received."""
    index = finding.segment_index
    moved = numbers[index - 1] if index is not None and 1 <= index <= len(numbers) else None
    return str(dataclasses.replace(finding, segment_index=moved))


def _moved(exc: X12Error, numbers: Sequence[int]) -> str:
    """The error's message with its segment number as in the file received."""
    index = exc.segment_index
    index = numbers[index - 1] if index is not None and 1 <= index <= len(numbers) else None
    return str(type(exc)(exc.expected, segment_index=index, segment_id=exc.segment_id,
                         element=exc.element, component=exc.component))

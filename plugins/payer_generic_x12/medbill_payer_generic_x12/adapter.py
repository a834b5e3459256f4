"""The generic X12 payer adapter: any payer reached with standard 5010 transactions."""

from __future__ import annotations

import functools
import logging
import typing
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from medbill_core.api import (
    BillableClaim,
    ClaimFinding,
    ClaimKind,
    ClaimStatusRequest,
    ClaimStatusResponse,
    DecodedResponse,
    DecodeError,
    DocumentKind,
    EligibilityRequest,
    EligibilityResponse,
    InboundDocument,
    Payer,
    PayerAdapter,
    Relationship,
    RemittanceParts,
    Severity,
    SubmissionChannel,
    SubmissionError,
    SubmissionFile,
)
from medbill_payer_generic_x12.codec import read_document
from medbill_payer_generic_x12.transactions.claim_837i import encode_837i
from medbill_payer_generic_x12.transactions.claim_837p import (
    OTHER_SUBSCRIBER_RELATIONSHIPS,
    PATIENT_RELATIONSHIPS,
    encode_837p,
)
from medbill_payer_generic_x12.transactions.claim_status import decode_277, encode_276
from medbill_payer_generic_x12.transactions.common import Parties
from medbill_payer_generic_x12.transactions.eligibility import decode_271, encode_270
from medbill_payer_generic_x12.x12.control import ControlNumberSource, MemoryControlNumbers
from medbill_payer_generic_x12.x12.delimiters import strip_preamble
from medbill_payer_generic_x12.x12.errors import X12Error, X12SyntaxError, X12UnsupportedError
from medbill_payer_generic_x12.x12.writer import NOTHING_LEFT, data_problem


class GenericX12Options(BaseModel):
    """``[payers.<key>.options]`` for payers using ``adapter = "generic_x12"``.

    IDs come from the clearinghouse's (or payer's) companion guide.
    """

    model_config = ConfigDict(extra="forbid")

    submitter_id: str = Field(min_length=1, max_length=15, description="ISA06 and 1000A NM109")
    receiver_id: str = Field(min_length=1, max_length=15, description="ISA08 and 1000B NM109")
    submitter_name: str | None = Field(default=None, max_length=60)
    receiver_name: str | None = Field(default=None, max_length=60)
    submitter_contact_name: str | None = Field(default=None, max_length=60)
    submitter_phone: str | None = Field(default=None, pattern=r"^[0-9]{10}$")
    submitter_email: str | None = None
    sender_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)
    receiver_qualifier: str = Field(default="ZZ", min_length=2, max_length=2)
    application_sender: str | None = Field(default=None, max_length=15, description="GS02")
    application_receiver: str | None = Field(default=None, max_length=15, description="GS03")
    usage: Literal["P", "T"] = "P"
    acknowledgment_requested: bool = False
    payer_id: str | None = Field(default=None, description="2010BB NM109 when it differs from "
                                 "the payer's routing ID")
    payer_name: str | None = Field(default=None, max_length=60)
    claim_filing_indicator: str | None = Field(default=None, pattern=r"^[0-9A-Z]{2}$")
    max_lines_per_claim: int = Field(default=50, ge=1, le=50)
    max_claims_per_transaction: int = Field(default=5000, ge=1, le=5000)

    def parties(self) -> Parties:
        return Parties(
            submitter_id=self.submitter_id, submitter_name=self.submitter_name or self.submitter_id,
            receiver_id=self.receiver_id, receiver_name=self.receiver_name or self.receiver_id,
            submitter_contact=self.submitter_contact_name, submitter_phone=self.submitter_phone,
            submitter_email=self.submitter_email, sender_qualifier=self.sender_qualifier,
            receiver_qualifier=self.receiver_qualifier,
            application_sender=self.application_sender,
            application_receiver=self.application_receiver, usage=self.usage,
            acknowledgment_requested=self.acknowledgment_requested)


class GenericX12Adapter(PayerAdapter):
    """837P and 837I out, 999/TA1/277CA/271/277/835 in, 270/271 and 276/277 real-time, for
    any payer.

    :param control_numbers: source of ISA13/GS06; the plugin passes a persistent one.
    :param clock: the time stamped in envelopes (tests pass a fixed one).
    :param strict: refuse an inbound document with error findings (business rules broken in
        a structurally sound document, see :mod:`medbill_payer_generic_x12.x12.findings`);
        by default it is decoded and the findings are not a reason to refuse it.
    """

    identifier: ClassVar[str] = "generic_x12"
    verbose_name: ClassVar[str] = "Generic X12 5010 payer"
    payer_options_model: ClassVar[type[BaseModel] | None] = GenericX12Options

    def __init__(self, control_numbers: ControlNumberSource | None = None,
                 clock: Callable[[], datetime] = datetime.now, *, strict: bool = False) -> None:
        self.control_numbers = control_numbers or MemoryControlNumbers()
        self.clock = clock
        self.strict = strict

    def options(self, payer: Payer) -> GenericX12Options:
        try:
            return GenericX12Options.model_validate(payer.options)
        except ValueError as exc:
            from medbill_core.api import problems_from

            problems = "; ".join(f"{field}: {reason}" for field, reason in
                                 problems_from(exc))  # type: ignore[arg-type]
            raise SubmissionError(f"payer {payer.key!r} options: {problems}") from None

    # -- claims ---------------------------------------------------------------------------------
    def claim_edits(self, claim: BillableClaim) -> list[ClaimFinding]:
        findings: list[ClaimFinding] = []
        number = claim.claim.claim_number

        def add(severity: Severity, code: str, message: str, field: str | None = None,
                fix_hint: str | None = None) -> None:
            findings.append(ClaimFinding(severity=severity, code=f"x12.{code}", message=message,
                                         claim_number=number, field=field, fix_hint=fix_hint,
                                         source="generic_x12"))

        institutional = claim.claim.kind is ClaimKind.INSTITUTIONAL
        form = "837I" if institutional else "837P"
        if claim.coverage is None:
            add(Severity.ERROR, "self_pay", f"a self-pay claim cannot be sent as an {form}")
            return findings
        limit = self.options(claim.payer).max_lines_per_claim if claim.payer else 50
        if len(claim.claim.lines) > limit:
            add(Severity.ERROR, "too_many_lines",
                f"the payer accepts at most {limit} service lines per claim", "claim.lines")
        if institutional:
            _institutional_edits(claim, add)
        else:
            relationship = claim.coverage.relationship
            if relationship is not Relationship.SELF and relationship.value not in \
                    PATIENT_RELATIONSHIPS:
                add(Severity.ERROR, "relationship",
                    f"relationship code {relationship.value} is not allowed in 837P PAT01",
                    "coverage.relationship")
            for prior in claim.prior_adjudications:
                if prior.coverage.relationship.value not in OTHER_SUBSCRIBER_RELATIONSHIPS:
                    add(Severity.ERROR, "other_relationship",
                        "a prior payer's relationship code is not allowed in 837P 2320 SBR02",
                        "prior_adjudications.coverage.relationship")
        unwritable = _unwritable_text(claim)
        for field, problem in unwritable:
            add(Severity.ERROR, "unwritable",
                f"{field} cannot be written in an {form}: {problem}", field,
                "write it in Latin letters" if problem == NOTHING_LEFT else
                "take out the X12 delimiters (* ~ : ^) and control characters")
        written_as_is = {field for field, _ in unwritable}
        outside = [field for field in _outside_x12_charset(claim) if field not in written_as_is]
        if outside:
            add(Severity.WARNING, "charset",
                f"{', '.join(outside)} hold characters outside the X12 character set (accented "
                "letters ...): they are sent transliterated (Ñ as N, é as e)", outside[0])
        if claim.patient.address is None:
            add(Severity.ERROR, "patient_address",
                f"the patient's address is required in an {form} (2010BA or 2010CA N3/N4)",
                "patient.address")
        if len(claim.practice.address.postal_code) != 9:
            add(Severity.WARNING, "billing_zip",
                f"{form} billing provider ZIP codes should have 9 digits (2010AA N403)",
                "practice.address.postal_code")
        return findings

    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        options = self.options(payer)
        effective = payer
        overrides = {name: value for name, value in (
            ("payer_id", options.payer_id), ("name", options.payer_name),
            ("claim_filing_indicator", options.claim_filing_indicator)) if value}
        if overrides:
            effective = payer.model_copy(update=overrides)
        prepared = [claim if claim.payer == effective else
                    claim.model_copy(update={"payer": effective}) for claim in claims]
        now = self.clock()
        # an 837P and an 837I are different transaction sets: one file for each kind present
        files = []
        for kind, encode in ((DocumentKind.CLAIM_837P, encode_837p),
                             (DocumentKind.CLAIM_837I, encode_837i)):
            wanted = ClaimKind.INSTITUTIONAL if kind is DocumentKind.CLAIM_837I else \
                ClaimKind.PROFESSIONAL
            of_kind = [claim for claim in prepared if claim.claim.kind is wanted]
            if not of_kind:
                continue
            batch = encode(of_kind, parties=options.parties(),
                           control_numbers=self.control_numbers, now=now,
                           max_claims_per_transaction=options.max_claims_per_transaction,
                           max_lines_per_claim=options.max_lines_per_claim)
            if batch.transliterated:  # claim numbers and element names only: no PHI
                for number in sorted({n for n, _ in batch.transliterated if n}):
                    places = sorted({where for n, where in batch.transliterated
                                     if n == number})
                    log.info("claim %s: %s written transliterated to the X12 character set",
                             number, ", ".join(places))
            files.append(SubmissionFile(
                payer_key=payer.key, kind=kind, content=batch.text,
                claim_numbers=batch.claim_numbers, control_number=batch.control_number,
                filename=f"{kind.value}-{payer.key}-{batch.control_number}.x12",
                created_at=now))
        return files

    # -- real time -----------------------------------------------------------------------------
    def check_eligibility(self, request: EligibilityRequest,
                          channel: SubmissionChannel) -> EligibilityResponse:
        return self.check_eligibility_many([request], channel)[request.trace_number]

    def check_eligibility_many(self, requests: Sequence[EligibilityRequest],
                               channel: SubmissionChannel) -> dict[str, EligibilityResponse]:
        """One 270 for every request (one subscriber loop each, one transaction set per
        payer and provider), the 271's answers by their TRN trace numbers. An answer without
        a trace number (the payer refused the inquiry at the payer level) answers the requests
        no traced answer names; a lone request takes the first answer whatever its trace."""
        if not requests:
            return {}
        options = self.options(requests[0].payer)
        text = encode_270(requests, parties=options.parties(),
                          control_numbers=self.control_numbers, now=self.clock(),
                          subscribers_per_transaction=self.eligibility_batch_size)
        reply = channel.exchange("270", text)
        responses = decode_271(reply.content) if self._kind(reply.content) is \
            DocumentKind.ELIGIBILITY_271 else []
        if not responses:
            what = (f"eligibility {requests[0].trace_number}" if len(requests) == 1 else
                    f"eligibility of {len(requests)} requests")
            raise DecodeError(f"{what}: the payer answered with "
                              f"{self._kind(reply.content).value}, not a 271")
        wanted = {request.trace_number for request in requests}
        answers: dict[str, EligibilityResponse] = {}
        for response in responses:
            if response.trace_number in wanted and response.trace_number not in answers:
                answers[response.trace_number] = response
        untraced = next((r for r in responses if r.trace_number is None), None)
        if len(requests) == 1 and not answers:
            untraced = responses[0]
        for request in requests:
            if request.trace_number not in answers and untraced is not None:
                answers[request.trace_number] = untraced
        return answers

    def check_claim_status(self, request: ClaimStatusRequest,
                           channel: SubmissionChannel) -> ClaimStatusResponse:
        if request.claim.payer is None:
            raise SubmissionError(f"claim {request.claim.claim.claim_number}: no payer to ask")
        options = self.options(request.claim.payer)
        text = encode_276([request], parties=options.parties(),
                          control_numbers=self.control_numbers, now=self.clock())
        reply = channel.exchange("276", text)
        if self._kind(reply.content) is not DocumentKind.STATUS_277:
            raise DecodeError(f"claim status {request.trace_number}: the payer answered with "
                              f"{self._kind(reply.content).value}, not a 277")
        responses = decode_277(reply.content)
        for response in responses:
            if response.trace_number == request.trace_number:
                return response
        return responses[0]

    @staticmethod
    def _kind(text: str) -> DocumentKind:
        from medbill_payer_generic_x12.codec import detect_kind

        return detect_kind(text)

    # -- inbound -------------------------------------------------------------------------------
    def decode(self, document: InboundDocument) -> DecodedResponse | list[DecodedResponse] | None:
        """The document's domain object (a list when it holds several transaction sets, as an
        835 with several payments does); ``None`` when it is not X12 this engine reads.

        :raises DecodeError: malformed X12.
        """
        objects = self.decode_all(document)
        if objects is None:
            return None
        return objects[0] if len(objects) == 1 else objects

    def stream_remittances(self, document: InboundDocument) -> Iterator[RemittanceParts] | None:
        """An 835 document's transaction sets one at a time, each decoded claim payment by
        claim payment: memory stays flat in the file's size (``None``: not an 835)."""
        from medbill_payer_generic_x12.transactions.remittance_835 import stream_835_text

        if self.strict:
            return None  # read whole by decode(), so that findings can refuse it
        text = document.content
        head = text[:200]
        start = len(head) - len(strip_preamble(head))
        if not text.startswith("ISA", start):
            return None
        try:
            if self._kind(text[start:start + 4096]) is not DocumentKind.REMITTANCE_835:
                return None
        except X12Error:
            return None  # decode() reports what is wrong with it
        return stream_835_text(text)

    def decode_all(self, document: InboundDocument) -> list[DecodedResponse] | None:
        """Every transaction set of the document as domain objects."""
        text = strip_preamble(document.content)
        if not text.startswith(("ISA", "ST")):
            return None
        try:
            result = read_document(text, strict=self.strict)
            kind, objects = result.kind, result.objects
        except X12UnsupportedError:
            return None
        except X12SyntaxError as exc:
            if exc.segment_index == 1 and not text.startswith("ISA"):
                return None
            raise
        except X12Error:
            raise
        if kind in (DocumentKind.CLAIM_837P, DocumentKind.CLAIM_837I):
            return None  # our own outbound format is not a response
        return objects


__all__ = ["GenericX12Adapter", "GenericX12Options"]


log = logging.getLogger("medbill.x12")

_NAME_FIELDS = ("last_name", "first_name", "middle_name")
_ADDRESS_FIELDS = ("line1", "line2", "city")


def _institutional_edits(claim: BillableClaim,
                         add: Callable[[Severity, str, str, str | None], None]) -> None:
    """What the 837I encoder would refuse, found at scrub time: a provider named by NPI in the
    claim's details without a provider record (2310A-C need the name)."""
    details = claim.claim.institutional
    if details is None:
        add(Severity.ERROR, "institutional_details",
            "an institutional claim needs its institutional details (type of bill ...)",
            "claim.institutional")
        return
    for role, npi, provider in (
            ("attending", details.attending_provider_npi, claim.attending_provider),
            ("operating", details.operating_provider_npi, claim.operating_provider),
            ("other_operating", details.other_operating_provider_npi,
             claim.other_operating_provider)):
        if npi is not None and provider is None:
            add(Severity.ERROR, f"{role}_provider",
                f"the {role.replace('_', ' ')} provider's NPI has no provider record: the 837I "
                "needs the name (add the provider)", f"claim.institutional.{role}_provider_npi")


#: Text of a claim's parts no 837 carries (the rest is checked by :func:`_unwritable_text`).
_NOT_WRITTEN = frozenset({"email", "plan_name", "payer_key", "adapter", "channel"})


@functools.cache
def _text_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of ``model`` that may hold text an 837 carries: text, lists, records (not
    numbers, dates, flags or enumerations, nor a payer's options and fee schedule)."""

    def may_hold_text(annotation: object) -> bool:
        if annotation is str or annotation is list:
            return True
        if isinstance(annotation, type):  # a record; not a number, date, enumeration ...
            return issubclass(annotation, BaseModel)
        return typing.get_origin(annotation) is not dict and any(
            may_hold_text(arg) for arg in typing.get_args(annotation))

    return tuple(name for name, field in model.model_fields.items()
                 if name not in _NOT_WRITTEN and may_hold_text(field.annotation))


def _unwritable_text(claim: BillableClaim) -> list[tuple[str, str]]:
    """``(field, why)`` for each text of the claim, its parties and its payer that the X12
    writer would refuse (:func:`~medbill_payer_generic_x12.x12.writer.data_problem`: one of
    the delimiters, a control character, or nothing left once transliterated into the X12
    character set), in the claim's order of fields. Found when the claim is scrubbed, it
    blocks the claim rather than the payer's whole batch at submission. Names fields, never
    values."""
    found: list[tuple[str, str]] = []
    where: list[str | int] = []  # the path to the value checked (joined only when refused)

    def check(value: Any) -> None:
        kind = value.__class__
        if kind is str:
            problem = data_problem(value)
            if problem is not None:
                found.append(("".join(f"[{part}]" if part.__class__ is int else f".{part}"
                                      for part in where).lstrip("."), problem))
        elif kind is list:
            for index, item in enumerate(value):
                where.append(index)
                check(item)
                where.pop()
        elif value is not None:  # a record
            fields = value.__dict__
            for name in _text_fields(kind):
                where.append(name)
                check(fields[name])
                where.pop()

    check(claim)
    return found


def _outside_x12_charset(claim: BillableClaim) -> list[str]:
    """Names of the fields (never their values) the 837P will carry transliterated."""
    found = []
    people: list[tuple[str, BaseModel | None]] = [
        ("patient", claim.patient), ("rendering_provider", claim.rendering_provider),
        ("referring_provider", claim.referring_provider)]
    if claim.coverage is not None:
        people.append(("coverage.subscriber", claim.coverage.subscriber))
    for label, person in people:
        if person is None:
            continue
        for name in _NAME_FIELDS:
            value = getattr(person, name, None)
            if value and not value.isascii():  # what the writer transliterates
                found.append(f"{label}.{name}")
        address = getattr(person, "address", None)
        for name in _ADDRESS_FIELDS if address is not None else ():
            value = getattr(address, name)
            if value and not value.isascii():
                found.append(f"{label}.address.{name}")
    return found

"""Base classes for what plugins provide: payer adapters, submission channels, statement and
claim form renderers.

A plugin registers instances through the registration hooks
(:func:`~medbill_core.hookspecs.medbill_register_payer_adapters` and friends).
The core's default hook implementations dispatch to them by ``identifier``,
so a plugin author usually subclasses one of these and overrides a few
methods; a plugin that needs full control implements the hooks directly.

Rules every implementation follows:

* **Money** is :class:`decimal.Decimal`; never convert amounts to float.
* **PHI** (patient and subscriber names, birth dates, member IDs, addresses)
  may appear in the documents an adapter produces, but never in log records,
  exception messages or identifiers. Name records by claim number or internal id.
* **Errors** are raised as :mod:`medbill_core.errors` exceptions; anything
  else is wrapped by the plugin facade into a :class:`~medbill_core.errors.PluginError`.
* Methods receive domain objects (:mod:`medbill_core.domain`) and return
  domain objects; they never touch the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from medbill_core.domain import (
    BenefitSummary,
    BillableClaim,
    Claim,
    ClaimFinding,
    ClaimPayment,
    ClaimStatusRequest,
    ClaimStatusResponse,
    DecodedResponse,
    EligibilityRequest,
    EligibilityResponse,
    InboundDocument,
    Payer,
    ProviderAdjustment,
    Remittance,
    RenderedDocument,
    Statement,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.claim_forms import ClaimFormLayout, RenderedClaimForm
from medbill_core.domain.estimate import CostEstimate
from medbill_core.domain.institutional import ClaimKind
from medbill_core.errors import AdapterNotAvailable


class RemittanceParts(Protocol):
    """One 835 payment decoded as it is read: its claim payments one at a time, so that a
    file of any size is never held decoded whole (see :meth:`PayerAdapter.stream_remittances`).
    """

    def claims(self) -> Iterator[ClaimPayment]:
        """The claim payments in document order (an iterator read once)."""
        ...

    @property
    def header(self) -> Remittance:
        """The payment without claim payments; complete once the first claim payment is out
        (or :meth:`claims` is exhausted)."""
        ...

    @property
    def provider_adjustments(self) -> list[ProviderAdjustment]:
        """The PLB adjustments; complete once :meth:`claims` is exhausted."""
        ...


class _Identified:
    #: Unique, stable, lower-case name used in configuration (``adapter = "generic_x12"``).
    identifier: ClassVar[str] = ""
    #: Human-readable name for listings.
    verbose_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.identifier and not cls.identifier.replace("_", "").replace("-", "").isalnum():
            raise TypeError(f"{cls.__name__}.identifier must be letters, digits, '_' or '-'")

    def _unsupported(self, what: str) -> AdapterNotAvailable:
        return AdapterNotAvailable(f"{type(self).__name__} ({self.identifier}) does not {what}")


class PayerAdapter(_Identified):
    """Speaks one payer's (or one family of payers') formats and rules.

    :cvar payer_options_model: optional pydantic model validating
        ``Payer.options`` (companion-guide settings) for payers using this adapter.
    """

    payer_options_model: ClassVar[type[BaseModel] | None] = None

    # -- capabilities: the core asks these, it never probes an adapter's attributes ------
    #: The payer wants the rendering provider on every claim, even when it is the billing
    #: provider: the core's edits then flag a claim without one.
    requires_rendering_provider: ClassVar[bool] = False

    def supports_claims(self) -> bool:
        """True when :meth:`encode_claims` is implemented."""
        return type(self).encode_claims is not PayerAdapter.encode_claims

    def supports_eligibility(self) -> bool:
        """True when :meth:`check_eligibility` is implemented."""
        return type(self).check_eligibility is not PayerAdapter.check_eligibility

    def supports_eligibility_batches(self) -> bool:
        """True when :meth:`check_eligibility_many` is the adapter's own (one exchange for
        many requests); else the core asks request by request.

        .. versionadded:: 1.1
        """
        return type(self).check_eligibility_many is not PayerAdapter.check_eligibility_many

    def supports_claim_status(self) -> bool:
        """True when :meth:`check_claim_status` is implemented."""
        return type(self).check_claim_status is not PayerAdapter.check_claim_status

    def supports_remittance_findings(self) -> bool:
        """True when :meth:`remittance_findings` is implemented: the adapter judges the
        payer's adjudication itself (Medicare's adapter checks the MPFS), so the core's own
        underpayment check against the contracted fee schedule stands aside."""
        return type(self).remittance_findings is not PayerAdapter.remittance_findings

    # -- behaviour ----------------------------------------------------------------
    def validate_payer_options(self, payer: Payer) -> BaseModel | None:
        """Validate ``payer.options`` with :attr:`payer_options_model` (``None`` if none)."""
        if self.payer_options_model is None:
            return None
        return self.payer_options_model.model_validate(payer.options)

    def claim_edits(self, claim: BillableClaim) -> list[ClaimFinding]:
        """Payer-specific edits on a claim. Default: none."""
        return []

    def remittance_findings(self, payment: ClaimPayment, payer: Payer,
                            claim: Claim | None) -> list[ClaimFinding]:
        """Findings about a payer's adjudication as it is posted (e.g. an underpayment
        against the fee schedule). Default: none. Messages carry codes and amounts, no PHI."""
        return []

    def assumed_benefits(self, payer: Payer, service_date: date) -> BenefitSummary | None:
        """The benefits a patient estimate may assume when the payer's answer gives none
        (no eligibility check, or a 271 without amounts): a program's published standard
        benefit, e.g. Medicare Part B's deductible and 20% coinsurance. Default: none (plans
        differ too much to assume anything)."""
        return None

    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        """Encode claims for ``payer`` into one or more submission files.

        Must not change the claims; must list each file's claim numbers. A claim that cannot
        be encoded is a :class:`~medbill_core.errors.SubmissionError` naming it
        (``claim_number``): the core sends it back to draft and encodes the others (API 1.8).
        Find what cannot be encoded in :meth:`claim_edits` too, so the scrub catches it.
        """
        raise self._unsupported("encode claims")

    def check_eligibility(self, request: EligibilityRequest,
                          channel: SubmissionChannel) -> EligibilityResponse:
        """Ask the payer, through ``channel``, whether the patient is covered."""
        raise self._unsupported("check eligibility")

    #: The most requests the core hands :meth:`check_eligibility_many` at once.
    eligibility_batch_size: ClassVar[int] = 500

    def check_eligibility_many(self, requests: Sequence[EligibilityRequest],
                               channel: SubmissionChannel) -> dict[str, EligibilityResponse]:
        """Ask the payer about several patients in one exchange (a 270 with one subscriber
        loop per request): the answers by the requests' trace numbers. The requests are for
        one payer, at most :attr:`eligibility_batch_size`, their trace numbers distinct. A
        request the payer did not answer is left out (the core reports it as unanswered); a
        failure of the whole exchange raises. Default: :meth:`check_eligibility` for each.

        .. versionadded:: 1.1
        """
        return {request.trace_number: self.check_eligibility(request, channel)
                for request in requests}

    def check_claim_status(self, request: ClaimStatusRequest,
                           channel: SubmissionChannel) -> ClaimStatusResponse:
        """Ask the payer, through ``channel``, where a claim stands (276/277)."""
        raise self._unsupported("check claim status")

    def decode(self, document: InboundDocument) -> DecodedResponse | list[DecodedResponse] | None:
        """Decode a received document, or return ``None`` when it is not this adapter's format.

        A document holding several transactions (an 835 file with several payments)
        decodes to a list, in document order.
        """
        return None

    def stream_remittances(self, document: InboundDocument) -> Iterator[RemittanceParts] | None:
        """An 835 document's payments, one at a time, each decoded as it is read (``None``:
        this adapter cannot stream the document; :meth:`decode` is used then).

        Decoding errors are raised while iterating, as :class:`~medbill_core.errors.
        DecodeError`.
        """
        return None


class SubmissionChannel(_Identified):
    """Moves files between medbill and a clearinghouse or payer.

    Implementations must be safe to retry: :meth:`submit` takes an
    ``idempotency_key`` the remote end uses to recognise a repeated submission.
    """

    def supports_realtime(self) -> bool:
        """True when :meth:`exchange` (real-time request/response) is implemented."""
        return type(self).exchange is not SubmissionChannel.exchange

    def submit(self, submission: SubmissionFile, *, idempotency_key: str) -> SubmissionReceipt:
        """Send a batch; return the remote end's receipt."""
        raise self._unsupported("submit files")

    def fetch_responses(self) -> list[InboundDocument]:
        """Documents waiting for us (acknowledgments, remittances), oldest first."""
        raise self._unsupported("fetch responses")

    def acknowledge(self, document: InboundDocument) -> None:
        """Tell the remote end a fetched document was stored and need not be sent again."""

    def exchange(self, kind: str, content: str) -> InboundDocument:
        """Send a real-time request (a 270 or 276) and return the response document."""
        raise self._unsupported("exchange real-time requests")

    # -- paper: a channel that takes claims printed on claim forms (.. versionadded:: 1.3) --
    def prints_claim_forms(self) -> bool:
        """True when :meth:`submit_forms` is implemented: the channel takes an outbox batch
        printed on paper claim forms, not the adapter's encoded file.

        .. versionadded:: 1.3
        """
        return type(self).submit_forms is not SubmissionChannel.submit_forms

    def claim_form_renderer(self) -> str:
        """The claim form renderer a paper channel's batches are printed with (default
        ``claim_forms``: each claim on the form of its kind).

        .. versionadded:: 1.3
        """
        return "claim_forms"

    def claim_form_layout(self) -> ClaimFormLayout:
        """The layout a paper channel's batches are printed in.

        .. versionadded:: 1.3
        """
        return ClaimFormLayout.FORM

    def submit_forms(self, forms: RenderedClaimForm, submission: SubmissionFile, *,
                     idempotency_key: str) -> SubmissionReceipt:
        """Keep an outbox batch printed on claim forms (one document for the batch's claims)
        for printing and mailing; the receipt's ``submission_id`` names what was kept. A
        repeated call with the same key keeps no second copy and answers the first receipt.

        .. versionadded:: 1.3
        """
        raise self._unsupported("take printed claim forms")


class StatementRenderer(_Identified):
    """Turns a :class:`~medbill_core.domain.Statement` into a document for the patient.

    Every amount printed must come from the statement (which comes from the
    ledger); a renderer never computes balances of its own.
    """

    #: IANA media type of the output, e.g. ``application/pdf``.
    media_type: ClassVar[str] = "application/octet-stream"
    #: File extension without dot, e.g. ``pdf``.
    file_extension: ClassVar[str] = "bin"

    def supports_estimates(self) -> bool:
        """True when :meth:`render_estimate` is implemented."""
        return type(self).render_estimate is not StatementRenderer.render_estimate

    def render(self, statement: Statement) -> RenderedDocument:
        raise self._unsupported("render statements")

    def render_estimate(self, estimate: CostEstimate) -> RenderedDocument:
        """Render a good-faith cost estimate for the patient."""
        raise self._unsupported("render cost estimates")


class ClaimFormRenderer(_Identified):
    """Turns claims into a paper claim form (the CMS-1500 for professional claims, the UB-04
    for institutional ones, or a payer's own form) for printing and mailing.

    Every value printed comes from the claims given; a renderer never computes amounts of its
    own beyond the form's totals. A value longer than its box is cut to the box and reported
    as a ``form.truncated`` finding (naming the claim and the box, never the value).

    .. versionadded:: 1.3
    """

    #: IANA media type of the output.
    media_type: ClassVar[str] = "application/pdf"
    #: File extension without dot.
    file_extension: ClassVar[str] = "pdf"
    #: The kinds of claim the form is for (a CMS-1500 renderer: professional).
    claim_kinds: ClassVar[frozenset[ClaimKind]] = frozenset()
    #: The layouts the renderer draws.
    layouts: ClassVar[frozenset[ClaimFormLayout]] = frozenset(ClaimFormLayout)

    def supports(self, kind: ClaimKind) -> bool:
        """True when the form is for claims of ``kind``."""
        return kind in self.claim_kinds

    def render(self, claims: Sequence[BillableClaim], *,
               layout: ClaimFormLayout = ClaimFormLayout.FORM) -> RenderedClaimForm:
        """One document with the forms of ``claims``, in order (all of a kind the renderer
        supports: the core checks before it asks)."""
        raise self._unsupported("render claim forms")

"""Default hook implementations that dispatch to registered adapters, channels and renderers.

Every call into an adapter, channel or renderer goes through :meth:`PluginContext.call`:
an error, or an answer of the wrong type, is the plugin's that registered the part, never
this dispatcher's (``core:dispatch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from medbill_core.domain import (
    BillableClaim,
    ClaimAcknowledgmentBatch,
    ClaimStatusRequest,
    ClaimStatusResponse,
    DecodedResponse,
    EligibilityRequest,
    EligibilityResponse,
    FunctionalAcknowledgment,
    InboundDocument,
    InterchangeAcknowledgment,
    Payer,
    Remittance,
    RenderedDocument,
    Statement,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.claim_forms import ClaimFormLayout, RenderedClaimForm
from medbill_core.domain.estimate import CostEstimate
from medbill_core.errors import PluginError
from medbill_core.hookresults import (
    CLAIM_STATUS,
    DOCUMENTS,
    ELIGIBILITY,
    RECEIPT,
    RENDERED,
    RENDERED_FORM,
    SUBMISSION_FILES,
)
from medbill_core.hookspecs import hookimpl
from medbill_core.pluginctx import PluginContext


@hookimpl(trylast=True)
def medbill_check_eligibility(request: EligibilityRequest,
                              context: PluginContext) -> EligibilityResponse | None:
    adapter = context.adapter_for(request.payer)
    if not context.call(adapter, "supports_eligibility"):
        return None
    return context.call(adapter, "check_eligibility", request,
                        context.channel_for(request.payer), expected=ELIGIBILITY)


@hookimpl(trylast=True)
def medbill_encode_claims(payer: Payer, claims: Sequence[BillableClaim],
                          context: PluginContext) -> Sequence[SubmissionFile] | None:
    adapter = context.adapter_for(payer)
    if not context.call(adapter, "supports_claims"):
        return None
    return context.call(adapter, "encode_claims", payer, claims, expected=SUBMISSION_FILES)


@hookimpl(trylast=True)
def medbill_submit_file(submission: SubmissionFile, channel: str, idempotency_key: str,
                        context: PluginContext) -> SubmissionReceipt | None:
    return context.call(context.channel(channel), "submit", submission,
                        idempotency_key=idempotency_key, expected=RECEIPT)


@hookimpl(trylast=True)
def medbill_fetch_responses(channel: str,
                            context: PluginContext) -> Sequence[InboundDocument] | None:
    return context.call(context.channel(channel), "fetch_responses", expected=DOCUMENTS)


#: What ``decode`` may return (the members of :data:`DecodedResponse`).
DECODED_TYPES = (InterchangeAcknowledgment, FunctionalAcknowledgment, ClaimAcknowledgmentBatch,
                 EligibilityResponse, ClaimStatusResponse, Remittance)


@hookimpl(trylast=True)
def medbill_decode_response(
        document: InboundDocument,
        context: PluginContext) -> DecodedResponse | list[DecodedResponse] | None:
    for identifier, adapter in context.adapters.items():
        decoded = context.call(adapter, "decode", document)
        if decoded is not None:
            return checked_decoded(decoded, context.owner_of(identifier),
                                   f"payer adapter {identifier!r}")
    return None


def checked_decoded(decoded: object, plugin: str, source: str
                    ) -> DecodedResponse | list[DecodedResponse]:
    """``decoded`` when it is what the core can apply (a decoded response, or a non-empty
    list of them); else a :class:`PluginError` naming the plugin and ``source`` (its adapter
    or hook) -- never a document marked applied with nothing applied."""
    items = decoded if isinstance(decoded, list) else [decoded]
    wrong = [type(item).__name__ for item in items if not isinstance(item, DECODED_TYPES)]
    if wrong or not items:
        got = type(decoded).__name__ if not isinstance(decoded, list) else (
            f"a list of {', '.join(wrong)}" if wrong else "an empty list")
        raise PluginError(plugin, f"{source}: decode returned {got}, not a decoded response"
                                  " (an acknowledgment, a claim status or eligibility"
                                  " response, or a remittance)")
    return decoded  # type: ignore[return-value]


@hookimpl(trylast=True)
def medbill_check_claim_status(request: ClaimStatusRequest,
                               context: PluginContext) -> ClaimStatusResponse | None:
    payer = request.claim.payer
    if payer is None:
        return None
    adapter = context.adapter_for(payer)
    if not context.call(adapter, "supports_claim_status"):
        return None
    return context.call(adapter, "check_claim_status", request, context.channel_for(payer),
                        expected=CLAIM_STATUS)


@hookimpl(trylast=True)
def medbill_render_claim_forms(claims: Sequence[BillableClaim], renderer: str,
                               layout: ClaimFormLayout,
                               context: PluginContext) -> RenderedClaimForm | None:
    return context.call(context.form_renderer(renderer), "render", claims, layout=layout,
                        expected=RENDERED_FORM)


@hookimpl(trylast=True)
def medbill_render_estimate(estimate: CostEstimate, renderer: str,
                            context: PluginContext) -> RenderedDocument | None:
    implementation = context.renderer(renderer)
    if not context.call(implementation, "supports_estimates"):
        return None
    return context.call(implementation, "render_estimate", estimate, expected=RENDERED)


@hookimpl(trylast=True)
def medbill_expected_allowed(payer: Payer, procedure_code: str, modifiers: Sequence[str],
                             place_of_service: str, service_date: date,
                             context: PluginContext) -> Decimal | None:
    """The payer's contracted fee schedule on file for the date of service (``medbill fees
    load``; visible while a service holds :func:`~medbill_core.services.fees.
    fee_schedules_visible`), else the payer's configured ``fee_schedule`` (undated):
    ``"99213" = "92.50"`` or ``"99213-26" = ...``."""
    on_file = context.extras.get("fee_schedules")
    if on_file is not None:
        allowed: Decimal | None = on_file.allowed_for(payer.key, procedure_code, modifiers,
                                                      service_date)
        if allowed is not None:
            return allowed
    schedule = payer.fee_schedule
    for key in ("-".join([procedure_code, *modifiers]), procedure_code):
        if key in schedule:
            return schedule[key]
    return None


@hookimpl(trylast=True)
def medbill_render_statement(statement: Statement, renderer: str,
                             context: PluginContext) -> RenderedDocument | None:
    return context.call(context.renderer(renderer), "render", statement, expected=RENDERED)

"""Hook specifications: every point where a plugin can add to or change medbill.

Hooks are grouped by revenue-cycle phase. Each takes keyword arguments only
(pluggy calls them by name) and is prefixed ``medbill_``. Where one answer
wins (which adapter encodes a payer's claims) the hook is ``firstresult``
and the call **stops at the first non-None result**; where every plugin
contributes (claim edits, registrations) results are collected into a list.

The core's own behaviour is implemented as hooks too, in
:mod:`medbill_core.default_plugins`; a plugin overrides it by implementing
the same hook with ``tryfirst=True`` and returning a non-None result.

Call hooks through :class:`medbill_core.plugins.PluginHooks`, the typed
facade, never through ``pm.hook`` directly: the facade owns the error policy.

Versions and deprecation
------------------------
The plugin API (these hooks, the base classes in :mod:`medbill_core.adapters`, the
public modules) carries :data:`API_VERSION`, ``MAJOR.MINOR``:

* Adding a hook, an optional hook argument or a base-class method bumps the **minor**
  number; every hook says in its docstring (``versionadded``) since when it exists.
* A **renamed** hook keeps working under its old name for one minor version: the rename
  is entered in :data:`RENAMED_HOOKS` (old name -> new name, the version that renamed
  it); a plugin implementing the old name is registered under the new one and a
  :class:`HookDeprecationWarning` (also logged) names the plugin, the old and the new
  name. The minor version after that one removes the old name (a test fails while an
  entry outlives its window) and the old name becomes an unknown hook.
* A hook argument is never renamed within a major version: the new name is added beside
  the old one (pluggy passes each implementation only the arguments it names).
* Removing a hook or changing what it means or returns bumps the **major** number.

A plugin declares the API it was written for with a module attribute
``MEDBILL_API = "1.1"``: start-up refuses it, naming the plugin and both versions, when
this core has another major version or an older minor one. ``medbill plugins check``
reports this and every other mismatch (unknown or deprecated hook names, arguments no
hook has) for all installed plugins without starting medbill.

Changes by version
------------------
* **1.3** institutional claims (UB-04 / 837I): ``Claim.kind`` and ``Claim.institutional``
  (:class:`~medbill_core.domain.InstitutionalDetails`), ``ServiceLine.revenue_code``. A
  professional claim is unchanged; on an institutional claim a line may have a revenue code
  and no ``procedure_code`` (``None``), and no diagnosis pointers. ``ServiceLine.billed_code``
  is the code a line is billed under either way. Received 270 and 276 requests decode into
  :class:`~medbill_core.domain.EligibilityInquiry` and
  :class:`~medbill_core.domain.ClaimStatusInquiry` (what the sender wrote, nothing invented).
  ``BillableClaim.attending_provider``,
  ``operating_provider``, ``other_operating_provider`` (resolved from the details' NPIs);
  ``DocumentKind.CLAIM_837I``; on remittances ``ClaimPayment.drg_code``, ``.inpatient``
  (:class:`~medbill_core.domain.InpatientAdjudication`, 835 MIA), ``.outpatient``
  (:class:`~medbill_core.domain.OutpatientAdjudication`, MOA) and
  ``ServicePayment.revenue_code`` (SVC04).
  :func:`medbill_decode_claims`: read an 837 claim file received from a practice (claim
  intake).
  Paper claim forms:
  :class:`~medbill_core.adapters.ClaimFormRenderer` registered through
  :func:`medbill_register_claim_form_renderers` and called through
  :func:`medbill_render_claim_forms` (:class:`~medbill_core.domain.claim_forms.
  RenderedClaimForm`, :class:`~medbill_core.domain.claim_forms.ClaimFormLayout`).
* **1.4** payment gateways: :class:`~medbill_core.gateways.PaymentGateway` (card payments,
  refunds, signed webhooks) registered through :func:`medbill_register_payment_gateways`;
  a practice names the one it uses (``[medbill] payment_gateway``).
  :meth:`~medbill_core.domain.Address.mailing_lines` (an address as mailed, ZIP+4
  hyphenated), shared by statements and letters.
* **1.5** notifiers: :class:`~medbill_core.notifiers.Notifier` (text messages and e-mail
  from fixed templates, through the notification outbox) registered through
  :func:`medbill_register_notifiers` (``[medbill] notifier``); patient financing lenders:
  :class:`~medbill_core.financing_providers.FinancingProvider` registered through
  :func:`medbill_register_financing_providers` (``[medbill] financing_provider``).
  Hosted card pages: :attr:`~medbill_core.gateways.GatewayCapability.HOSTED_CHECKOUT` and
  :meth:`~medbill_core.gateways.PaymentGateway.checkout_url` (the patient keys the card on
  the gateway's page, never on medbill's); a statement's pay link
  (:attr:`~medbill_core.domain.Statement.pay_url`, ``pay_code``) for renderers to print;
  the pay page's services in :mod:`medbill_core.api.workspace` (pay links, visits).
* **1.6** :func:`medbill_render_statements`: a statement run's group rendered at once (the
  ``statements_pdf`` plugin renders PDFs in worker processes); the statements it leaves
  are rendered one at a time as before.
* **1.7** in :mod:`medbill_core.api.workspace`: an account's contact preference (how its
  addressee agreed to be reached about statements) read and set by a page:
  ``ContactChoice``, ``ContactPreference``, ``account_key_of``, ``addressee_preference``,
  ``set_contact_preference``.
* **1.8** :class:`~medbill_core.errors.SubmissionError` names the claim it is about
  (``claim_number``): a claim :func:`medbill_encode_claims` cannot encode is taken out of its
  payer's batch and sent back to draft, and the payer's other claims are sent.
* **1.9** :class:`~medbill_core.errors.GatewayError` says whether the gateway answered and
  refused the request (``refused=True``: a 4xx, nothing done) or may have done it (the
  default: unreachable, a timeout, a 5xx): a refused card refund leaves the next attempt a
  fresh idempotency key, a failed one keeps the key for the retry. In
  :mod:`medbill_core.api.workspace`: ``DuplicatePayment`` (a payment repeating one posted,
  refused unless ``record_payment(..., allow_duplicate=True)``).
* **1.10** in :mod:`medbill_core.api.http`: ``refusal_before_the_body(request)``, the
  refusal (not signed in, no CSRF token) of a request whose body failed before the principal
  was asked, so a page answers a form posted without a session as not signed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal

    import typer
    from fastapi import FastAPI
    from pydantic import BaseModel

    from medbill_core.adapters import (
        ClaimFormRenderer,
        PayerAdapter,
        StatementRenderer,
        SubmissionChannel,
    )
    from medbill_core.domain import (
        BillableClaim,
        Claim,
        ClaimFinding,
        ClaimStatusRequest,
        ClaimStatusResponse,
        DecodedClaimFile,
        DecodedResponse,
        EligibilityRequest,
        EligibilityResponse,
        InboundDocument,
        Payer,
        RenderedDocument,
        Statement,
        SubmissionFile,
        SubmissionReceipt,
    )
    from medbill_core.domain.claim_forms import ClaimFormLayout, RenderedClaimForm
    from medbill_core.domain.estimate import CostEstimate
    from medbill_core.financing_providers import FinancingProvider
    from medbill_core.gateways import PaymentGateway
    from medbill_core.lifecycle import Transition
    from medbill_core.notifiers import Notifier
    from medbill_core.pluginctx import PluginContext

PROJECT_NAME = "medbill"

#: The version of the plugin API (hooks, base classes, ``medbill_core.api``): the minor number
#: grows when something is added, the major one when something is removed or changes meaning.
API_VERSION = "1.10"

#: The module attribute in which a plugin declares the API version it needs (``"1.0"``).
PLUGIN_API_ATTRIBUTE = "MEDBILL_API"

#: Hooks renamed within the current major version: ``old name -> (new name, the API
#: version that renamed it)``. The old name works, with a warning, until the next minor
#: version after that one. No hook has been renamed yet.
RENAMED_HOOKS: dict[str, tuple[str, str]] = {}


class HookDeprecationWarning(DeprecationWarning):
    """A plugin implements a hook under a name this core still accepts but will drop."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------------------------------
# Start-up: settings and registration
# -------------------------------------------------------------------------------------------------


@hookspec
def medbill_plugin_settings_model() -> type[BaseModel] | None:
    """Declare the pydantic model that validates this plugin's ``[plugins.<name>]`` table.

    Called once per enabled plugin at start-up. The validated settings are
    available to the plugin as ``context.settings_for(<name>)``. An invalid
    table stops start-up with a message naming the plugin and the field.

    :returns: a pydantic model class, or ``None`` when the plugin takes no settings.

    .. versionadded:: 1.0
    """


@hookspec
def medbill_register_payer_adapters(context: PluginContext) -> Sequence[PayerAdapter]:
    """Provide payer adapters (formats and rules for payers).

    Every enabled plugin's adapters are collected; two with the same
    ``identifier`` stop start-up with a message naming both plugins.

    :param context: configuration and settings of the running instance.
    :returns: adapter instances (an empty sequence is fine).

    .. versionadded:: 1.0
    """


@hookspec
def medbill_register_channels(context: PluginContext) -> Sequence[SubmissionChannel]:
    """Provide submission channels (clearinghouse or payer connections).

    :param context: configuration and settings of the running instance.
    :returns: channel instances; identifiers must be unique across plugins.

    .. versionadded:: 1.0
    """


@hookspec
def medbill_register_statement_renderers(context: PluginContext) -> Sequence[StatementRenderer]:
    """Provide statement renderers (PDF, HTML, plain text ...).

    :param context: configuration and settings of the running instance.
    :returns: renderer instances; identifiers must be unique across plugins.

    .. versionadded:: 1.0
    """


@hookspec
def medbill_register_claim_form_renderers(
    context: PluginContext
) -> Sequence[ClaimFormRenderer]:
    """Provide claim form renderers (the CMS-1500, the UB-04, a payer's own paper form).

    :param context: configuration and settings of the running instance.
    :returns: renderer instances; identifiers must be unique across plugins.

    .. versionadded:: 1.3
    """


@hookspec
def medbill_register_payment_gateways(context: PluginContext) -> Sequence[PaymentGateway]:
    """Provide card payment gateways (:class:`~medbill_core.gateways.PaymentGateway`).

    Every enabled plugin's gateways are collected; two with the same ``identifier`` stop
    start-up naming both plugins. A practice uses the one its configuration names
    (``[medbill] payment_gateway``); card payments are created through it and post to the
    ledger only from its confirmation (:mod:`medbill_core.services.card_payments`).

    :param context: configuration and settings of the running instance.
    :returns: gateway instances (an empty sequence is fine).

    .. versionadded:: 1.4
    """


@hookspec
def medbill_register_notifiers(context: PluginContext) -> Sequence[Notifier]:
    """Provide text-message and e-mail providers (:class:`~medbill_core.notifiers.Notifier`).

    Every enabled plugin's notifiers are collected; two with the same ``identifier`` stop
    start-up naming both plugins. The installation sends through the one its configuration
    names (``[medbill] notifier``); messages are built by the core from fixed templates (the
    practice's name and a link, no PHI) and sent from the notification outbox
    (:mod:`medbill_core.services.notifications`), retried without being sent twice.

    :param context: configuration and settings of the running instance.
    :returns: notifier instances (an empty sequence is fine).

    .. versionadded:: 1.5
    """


@hookspec
def medbill_register_financing_providers(context: PluginContext
                                         ) -> Sequence[FinancingProvider]:
    """Provide patient financing lenders
    (:class:`~medbill_core.financing_providers.FinancingProvider`).

    Every enabled plugin's providers are collected; two with the same ``identifier`` stop
    start-up naming both plugins. Guarantors are referred to the one the configuration names
    (``[medbill] financing_provider``); an approval (its callback or a poll) posts the
    approved amount once as a patient payment from the lender
    (:mod:`medbill_core.services.financing`).

    :param context: configuration and settings of the running instance.
    :returns: provider instances (an empty sequence is fine).

    .. versionadded:: 1.5
    """


@hookspec
def medbill_register_commands(app: typer.Typer) -> None:
    """Add commands to the ``medbill`` CLI (for example ``medbill x12 ...``).

    Called for enabled plugins when the CLI starts. Commands must follow the
    CLI's error rule: one clear line and a non-zero exit, never a traceback.

    :param app: the root Typer application; add a sub-application or commands.

    .. versionadded:: 1.0
    """


@hookspec
def medbill_register_routes(app: FastAPI) -> None:
    """Add routes to the HTTP API that ``medbill serve`` runs (``/v1/...``).

    Called once for each app :func:`medbill_core.http.create_app` builds: the core's own
    routes first (its default plugin), then the enabled plugins': the first route matching
    a request answers it, so a plugin cannot shadow a core route. Routes follow the API's
    rules: errors as problems (raise :class:`~medbill_core.errors.MedbillError` subclasses,
    never PHI in their text), lists as cursor pages, every route but a health check behind
    an API key: :mod:`medbill_core.api.http` has what a route needs for each.

    :param app: the FastAPI application; add an ``APIRouter`` with ``app.include_router``.

    .. versionadded:: 1.2
    """


# -------------------------------------------------------------------------------------------------
# Before the visit: eligibility
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def medbill_check_eligibility(
    request: EligibilityRequest, context: PluginContext
) -> EligibilityResponse | None:
    """Verify a patient's coverage with the payer (270/271).

    The default implementation asks the payer's adapter through the payer's
    channel. Stops at first non-None result.

    :param request: who, which coverage, which date and service types.
    :param context: configuration, registered adapters and channels.
    :returns: the payer's benefits response, or ``None`` to let another plugin answer.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def medbill_expected_allowed(
    payer: Payer, procedure_code: str, modifiers: Sequence[str], place_of_service: str,
    service_date: date, context: PluginContext
) -> Decimal | None:
    """The amount ``payer`` is expected to allow for one unit of a service (fee schedule).

    Used for patient cost estimates and underpayment checks. The default implementation
    reads the payer's contracted fee schedule on file (``medbill fees load``), else
    ``fee_schedule`` from the payer's options. Stops at first non-None result.

    :param payer: the payer whose fee schedule applies.
    :param procedure_code: CPT/HCPCS code.
    :param modifiers: the line's modifiers (26/TC change the price).
    :param place_of_service: facility vs non-facility pricing.
    :param service_date: the fee schedule in force on this date.
    :param context: configuration and registered adapters.
    :returns: the allowed amount as a Decimal, or ``None`` when unknown.

    .. versionadded:: 1.0
    """


# -------------------------------------------------------------------------------------------------
# Building the claim: edits (scrubbing)
# -------------------------------------------------------------------------------------------------


@hookspec
def medbill_claim_edits(claim: BillableClaim, context: PluginContext) -> Sequence[ClaimFinding]:
    """Check a claim before submission; every enabled plugin contributes findings.

    Findings with severity ``error`` block submission; ``warning`` does not.
    Messages name fields and codes, never PHI values.

    :param claim: the claim with its practice, patient, coverage and payer.
    :param context: configuration and registered adapters.
    :returns: findings (an empty sequence when the claim passes this plugin's edits).

    .. versionadded:: 1.0
    """


# -------------------------------------------------------------------------------------------------
# Submission: encode, submit, fetch
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def medbill_encode_claims(
    payer: Payer, claims: Sequence[BillableClaim], context: PluginContext
) -> Sequence[SubmissionFile] | None:
    """Encode claims for one payer into submission files (for example 837P batches).

    The default implementation calls the payer's configured adapter. Stops at
    first non-None result.

    :param payer: the payer all ``claims`` are billed to.
    :param claims: claims that passed their edits.
    :param context: configuration and registered adapters.
    :returns: files to submit, each listing its claim numbers; ``None`` to pass.
    :raises SubmissionError: a claim cannot be encoded: with ``claim_number`` naming it, the
        core takes that claim out of the batch (back to draft, the message kept as the
        reason) and calls the hook again with the others; naming no claim, the payer's
        batch is not prepared.

    .. versionadded:: 1.0
    .. versionchanged:: 1.8
       A :class:`SubmissionError` naming a claim holds back that claim only.
    """


@hookspec(firstresult=True)
def medbill_submit_file(
    submission: SubmissionFile, channel: str, idempotency_key: str, context: PluginContext
) -> SubmissionReceipt | None:
    """Send one submission file through a channel.

    The default implementation calls the named channel. Cross-cutting plugins
    (audit, timing, rate limits) wrap this hook with ``wrapper=True``. Stops at
    first non-None result.

    :param submission: the encoded file.
    :param channel: identifier of the channel to use.
    :param idempotency_key: stable key: a retry of the same batch reuses it.
    :param context: configuration and registered channels.
    :returns: the channel's receipt, or ``None`` to pass.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def medbill_fetch_responses(
    channel: str, context: PluginContext
) -> Sequence[InboundDocument] | None:
    """Fetch documents waiting at a channel (acknowledgments, 277s, 835s).

    Stops at first non-None result.

    :param channel: identifier of the channel to poll.
    :param context: configuration and registered channels.
    :returns: received documents, oldest first; ``None`` to pass.

    .. versionadded:: 1.0
    """


# -------------------------------------------------------------------------------------------------
# Responses: decoding
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def medbill_decode_response(
    document: InboundDocument, context: PluginContext
) -> DecodedResponse | list[DecodedResponse] | None:
    """Decode a received document (999, 277CA, TA1, 271, 277, 835) into domain objects.

    The default implementation offers the document to each registered adapter
    in turn. Stops at first non-None result.

    :param document: the received file and what the channel knows about it.
    :param context: configuration and registered adapters.
    :returns: the decoded response (a list, in document order, when the file holds
        several transactions), or ``None`` when this plugin cannot read it.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def medbill_decode_claims(content: str, context: PluginContext) -> DecodedClaimFile | None:
    """Read a claim file a practice sends in (an 837P or 837I batch from its EHR) for the
    claim intake (``medbill claims import FILE.837``).

    Stops at first non-None result.

    A claim the plugin cannot read is refused within the result (positioned, no values from
    the file), the other claims are still read; a file that is not a claim file at all (a 270,
    a truncated interchange) raises a :class:`~medbill_core.errors.DecodeError` naming the
    segment position.

    :param content: the file's text (PHI: never log it).
    :param context: configuration and registered adapters.
    :returns: the envelope and each claim, or ``None`` when this plugin cannot read the file.

    .. versionadded:: 1.3
    """


@hookspec(firstresult=True)
def medbill_check_claim_status(
    request: ClaimStatusRequest, context: PluginContext
) -> ClaimStatusResponse | None:
    """Ask a payer where a submitted claim stands (276/277).

    Stops at first non-None result.

    :param request: the claim to ask about and a trace number.
    :param context: configuration, adapters and channels.
    :returns: the payer's status response, or ``None`` to pass.

    .. versionadded:: 1.0
    """


# -------------------------------------------------------------------------------------------------
# Patient billing: statements
# -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def medbill_render_statement(
    statement: Statement, renderer: str, context: PluginContext
) -> RenderedDocument | None:
    """Render a patient statement with the named renderer.

    Stops at first non-None result.

    :param statement: the statement; its amounts come from the ledger.
    :param renderer: identifier of the renderer asked for (``pdf``, ``text`` ...).
    :param context: configuration and registered renderers.
    :returns: the rendered document, or ``None`` to pass.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def medbill_render_statements(
    statements: Sequence[Statement], renderer: str, context: PluginContext
) -> Sequence[RenderedDocument] | None:
    """Render several patient statements with the named renderer at once (a statement run's
    group), for a plugin that renders faster in bulk (in worker processes, say).

    The answer is the documents of the first ``k`` statements, in order (``k`` up to
    ``len(statements)``); the core renders the rest one at a time with
    :func:`medbill_render_statement`. So a plugin that cannot render a statement in bulk
    stops there, and that statement then fails (or succeeds) exactly as it does alone: its
    error is the one a user sees. Each document must be byte for byte the one
    :func:`medbill_render_statement` gives for the same statement. Stops at first non-None
    result; with no answer, every statement is rendered one at a time.

    :param statements: the statements, in the order their documents are wanted.
    :param renderer: identifier of the renderer asked for (``pdf``, ``text`` ...).
    :param context: configuration and registered renderers.
    :returns: the documents of the first statements, in order, or ``None`` to pass.

    .. versionadded:: 1.6
    """


@hookspec(firstresult=True)
def medbill_render_estimate(
    estimate: CostEstimate, renderer: str, context: PluginContext
) -> RenderedDocument | None:
    """Render a patient cost estimate (good-faith estimate) with the named renderer.

    Stops at first non-None result.

    :param estimate: the estimate; every amount comes from it.
    :param renderer: identifier of the renderer asked for.
    :param context: configuration and registered renderers.
    :returns: the rendered document, or ``None`` to pass.

    .. versionadded:: 1.0
    """


@hookspec(firstresult=True)
def medbill_render_claim_forms(
    claims: Sequence[BillableClaim], renderer: str, layout: ClaimFormLayout,
    context: PluginContext
) -> RenderedClaimForm | None:
    """Render paper claim forms (one document for ``claims``, in order) with the named
    renderer: for printing one claim, or an outbox batch of a payer billed on paper.

    The default implementation calls the registered renderer. Stops at first non-None
    result.

    :param claims: the claims, each with its practice, patient, coverage and payer; all of a
        kind the renderer supports.
    :param renderer: identifier of the claim form renderer (``cms1500``, ``ub04`` ...).
    :param layout: ``form`` (the form drawn with the data) or ``data`` (the data alone, for
        pre-printed forms).
    :param context: configuration and registered renderers.
    :returns: the rendered forms, or ``None`` to pass.

    .. versionadded:: 1.3
    """


# -------------------------------------------------------------------------------------------------
# Lifecycle events
# -------------------------------------------------------------------------------------------------


@hookspec
def medbill_claim_transition_precommit(
    claim: Claim, transition: Transition, context: PluginContext
) -> None:
    """Called inside the database transaction that moves a claim to a new state.

    Raising any exception rolls the whole transaction back: the claim keeps its
    old state and nothing of the change is stored. Use it to veto or to check
    invariants; do not do slow or external work here.

    :param claim: the claim as it will be stored (already in ``transition.target``).
    :param transition: from-state, to-state, actor, reason and time.
    :param context: configuration of the running instance.

    .. versionadded:: 1.0
    """


@hookspec
def medbill_claim_transition_postcommit(
    claim: Claim, transition: Transition, context: PluginContext
) -> None:
    """Called after a claim's state change was committed.

    Exceptions are logged and do not undo the change (it is already stored).
    Use it for notifications and follow-up work.

    :param claim: the claim as stored.
    :param transition: from-state, to-state, actor, reason and time.
    :param context: configuration of the running instance.

    .. versionadded:: 1.0
    """


@hookspec
def medbill_billing_event_precommit(
    event_type: str, data: Mapping[str, Any], context: PluginContext
) -> None:
    """Called inside the database transaction of a billing change other than a claim's state
    change (those call :func:`medbill_claim_transition_precommit`).

    The events: ``remittance.posted`` (an 835 transaction posted: ``remittance_id``,
    ``trace_number``, ``payer_id``, ``payment_amount``, ``status``, ``claims_posted``),
    ``payment.posted`` (a patient payment: ``payment_id``, ``patient_id``, ``amount``,
    ``method``, ``claim_ids``, ``unapplied``), ``statement.produced`` (``statement_id``,
    ``statement_number``, ``patient_ids``, ``cycle``, ``balance_due``, ``dunning_stage``).
    ``data`` holds identifiers, codes, states and amounts (as strings) only,
    never PHI. The core's webhook outbox records each as a webhook event.

    Raising any exception rolls the whole transaction back, as for claim transitions: do not
    do slow or external work here.

    :param event_type: what happened (the names above; more may be added).
    :param data: the change's identifiers and amounts.
    :param context: configuration of the running instance.

    .. versionadded:: 1.2
    """

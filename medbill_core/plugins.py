"""The typed facade over pluggy: one method per hook, keyword-only, one error policy.

Start-up (:meth:`PluginHooks.start`):

1. the core's default plugins are registered (they implement the dispatch to
   registered adapters, the core claim edits, timing and lifecycle logging);
2. the plugins named in configuration are imported with stevedore and registered; a
   plugin declaring a plugin API this core cannot serve (``MEDBILL_API``) is refused,
   and a hook implemented under a renamed hook's old name is registered under the new
   name with a :class:`~medbill_core.hookspecs.HookDeprecationWarning`;
3. ``check_pending`` rejects any ``medbill_*`` function that matches no hookspec
   (a typo in a hook name), naming the plugin;
4. each plugin's settings table is validated with the model it declares;
5. registration hooks fill the adapter, channel and renderer registries;
   a duplicate identifier stops start-up naming both plugins.

Error policy (:meth:`PluginHooks._answers`): a :class:`~medbill_core.errors.MedbillError`
raised by a plugin passes through unchanged; anything else becomes a
:class:`~medbill_core.errors.PluginError` naming the plugin and the hook, with
the exception *type* only (its text might carry PHI). Post-commit hooks never raise.
The same policy covers every call into an adapter, channel or renderer
(:meth:`~medbill_core.pluginctx.PluginContext.call`, used by the dispatcher and by the
facade's methods for services such as :meth:`PluginHooks.remittance_findings`), naming the
plugin that registered it.

Results are checked where they are received (:mod:`medbill_core.hookresults`): an answer
of the wrong type fails naming the plugin that gave it, the hook and the type received.
"""

from __future__ import annotations

import difflib
import logging
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy
from pydantic import BaseModel, ValidationError

from medbill_core import hookspecs
from medbill_core.adapters import (
    ClaimFormRenderer,
    PayerAdapter,
    StatementRenderer,
    SubmissionChannel,
)
from medbill_core.config import section_problem
from medbill_core.domain import BenefitSummary
from medbill_core.errors import (
    AdapterNotAvailable,
    ConfigurationError,
    MedbillError,
    PluginError,
)
from medbill_core.financing_providers import FinancingProvider
from medbill_core.gateways import PaymentGateway
from medbill_core.hookresults import (
    CLAIM_STATUS,
    DECODED_CLAIMS,
    DOCUMENTS,
    ELIGIBILITY,
    FINDINGS,
    MONEY_OR_NONE,
    RECEIPT,
    RENDERED,
    RENDERED_FORM,
    RENDERED_MANY,
    SUBMISSION_FILES,
    Expected,
    checked,
    many,
    one_or_none,
)
from medbill_core.loading import load_enabled
from medbill_core.notifiers import Notifier
from medbill_core.plugincheck import (
    api_version_problem,
    deprecation_message,
    problems_of,
    renamed_hook,
)
from medbill_core.pluginctx import PluginContext

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal

    import typer
    from fastapi import FastAPI

    from medbill_core.adapters import RemittanceParts
    from medbill_core.config import MedbillConfig
    from medbill_core.domain import (
        BillableClaim,
        Claim,
        ClaimFinding,
        ClaimPayment,
        ClaimStatusRequest,
        ClaimStatusResponse,
        DecodedClaimFile,
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
    from medbill_core.lifecycle import Transition

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Each registration hook: the registry it fills, what it registers, what each item must be.
REGISTRATIONS: tuple[tuple[str, str, str, type], ...] = (
    ("medbill_register_payer_adapters", "adapters", "payer adapter", PayerAdapter),
    ("medbill_register_channels", "channels", "submission channel", SubmissionChannel),
    ("medbill_register_statement_renderers", "renderers", "statement renderer",
     StatementRenderer),
    ("medbill_register_claim_form_renderers", "form_renderers", "claim form renderer",
     ClaimFormRenderer),
    ("medbill_register_payment_gateways", "payment_gateways", "payment gateway",
     PaymentGateway),
    ("medbill_register_notifiers", "notifiers", "notifier", Notifier),
    ("medbill_register_financing_providers", "financing_providers", "financing provider",
     FinancingProvider),
)
BENEFITS_OR_NONE = one_or_none(BenefitSummary, "a BenefitSummary or None")

DEFAULT_PLUGINS = (
    "medbill_core.default_plugins.dispatch",
    "medbill_core.default_plugins.core_edits",
    "medbill_core.default_plugins.institutional_edits",
    "medbill_core.default_plugins.observability",
    "medbill_core.default_plugins.webhook_events",
    "medbill_core.default_plugins.http_routes",
)


class _HookManager(pluggy.PluginManager):
    """pluggy's plugin manager, registering an implementation of a renamed hook's old name
    (:data:`~medbill_core.hookspecs.RENAMED_HOOKS`) under the new name, and remembering it
    so that start-up can warn naming the plugin."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.renamed_seen: list[tuple[str, str, str]] = []

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        options = super().parse_hookimpl_opts(plugin, name)
        renamed = renamed_hook(name)
        if options is None or renamed is None or options.get("specname"):
            return options
        new, since = renamed
        self.renamed_seen.append((name, new, since))
        return {**options, "specname": new}


def _default_plugin_modules() -> list[tuple[str, Any]]:
    import importlib

    return [(f"core:{name.rsplit('.', 1)[-1]}", importlib.import_module(name))
            for name in DEFAULT_PLUGINS]


class PluginHooks:
    """The running plugin system of one medbill instance.

    Create it with :meth:`start`; tests may pass ``extra_plugins`` (objects
    with hookimpls) that are registered as if they were enabled plugins.
    """

    def __init__(self, manager: pluggy.PluginManager, context: PluginContext,
                 enabled: list[str]) -> None:
        self.manager = manager
        self.context = context
        self.enabled = enabled

    # -- start-up -----------------------------------------------------------------------------
    @classmethod
    def start(cls, config: MedbillConfig, *,
              extra_plugins: Iterable[tuple[str, Any]] = (),
              load_installed: bool = True) -> PluginHooks:
        """Build the plugin manager for ``config``.

        :param extra_plugins: ``(name, plugin)`` pairs registered after the configured ones.
        :param load_installed: import the plugins named in ``config.plugins`` (tests may skip).
        :raises ConfigurationError: an enabled plugin is missing or its settings are invalid.
        :raises PluginError: a plugin fails to import, implements an unknown hook, or
            registers a duplicate identifier.
        """
        manager = _HookManager()
        manager.add_hookspecs(hookspecs)
        for name, module in _default_plugin_modules():
            manager.register(module, name=name)
        loaded = load_enabled(config.plugins) if load_installed else []
        enabled: list[str] = []
        for name, plugin in [*loaded, *extra_plugins]:
            version_problem = api_version_problem(plugin)
            if version_problem is not None:
                raise PluginError(name, version_problem)
            manager.renamed_seen.clear()
            try:
                manager.register(plugin, name=name)
            except ValueError as exc:
                raise PluginError(name, f"cannot be registered: {exc}") from None
            except pluggy.PluginValidationError as exc:
                raise PluginError(name, _invalid_implementation(plugin, exc)) from None
            for old, new, since in manager.renamed_seen:
                message = deprecation_message(name, old, new, since)
                log.warning("%s", message)
                warnings.warn(message, hookspecs.HookDeprecationWarning, stacklevel=2)
            enabled.append(name)
        _check_pending(manager)
        context = PluginContext(config=config)
        hooks = cls(manager, context, enabled)
        hooks._load_settings()
        hooks._fill_registries()
        return hooks

    def _load_settings(self) -> None:
        config = self.context.config
        declared = self.plugin_settings_model()
        for name in self.enabled:
            raw = config.plugin_settings.get(name, {})
            model = declared.get(name)
            if model is None:
                if raw:
                    raise ConfigurationError(
                        f"[plugins.{name}]: the plugin takes no settings, but some are given")
                self.context.plugin_settings[name] = None
                continue
            try:
                self.context.plugin_settings[name] = model.model_validate(raw)
            except ValidationError as exc:
                raise section_problem(config, f"plugins.{name}", exc) from None
        stray = set(config.plugin_settings) - set(self.enabled)
        for name in sorted(stray):
            log.warning("settings for plugin %s are ignored: it is not enabled", name)

    def _fill_registries(self) -> None:
        for hook_name, attribute, kind, _base in REGISTRATIONS:
            registry: dict[str, Any] = getattr(self.context, attribute)
            owners: dict[str, str] = {}
            for plugin, item in self._registered(hook_name):
                identifier = item.identifier
                if not identifier:
                    raise PluginError(plugin, f"a {kind} has no identifier")
                if identifier in registry:
                    raise PluginError(
                        plugin, f"{kind} identifier {identifier!r} is already registered by "
                                f"plugin {owners[identifier]!r}")
                registry[identifier] = item
                owners[identifier] = plugin
                self.context.owners.setdefault(identifier, plugin)
        for payer in self.context.config.payers.values():
            if payer.adapter in self.context.adapters:
                adapter = self.context.adapters[payer.adapter]
                try:
                    self.context.call(adapter, "validate_payer_options", payer,
                                      passes=(ValidationError,))
                except ValidationError as exc:
                    raise section_problem(self.context.config, f"payers.{payer.key}.options",
                                          exc) from None

    # -- error policy -------------------------------------------------------------------------
    def _call_impl(self, impl: pluggy.HookImpl, hook_name: str, **kwargs: Any) -> Any:
        try:
            return impl.function(*(kwargs[arg] for arg in impl.argnames))
        except MedbillError:
            raise
        except Exception as exc:
            log.error("plugin %s raised %s in %s", impl.plugin_name, type(exc).__name__,
                      hook_name)
            raise PluginError(impl.plugin_name,
                              f"{type(exc).__name__} in {hook_name}") from exc

    def _answers(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """``(plugin, answer)`` of each implementation that answered (not ``None``), in
        pluggy's call order; for a ``firstresult`` hook the first answer only.

        Each implementation is called here, so an answer or an error is its plugin's. A hook
        some plugin wraps (``wrapper=True``) is called through pluggy instead, and an answer
        is attributed to the plugins that can answer it (:meth:`_answerers`).
        """
        hook = getattr(self.manager.hook, hook_name)
        impls = hook.get_hookimpls()
        first_only = bool(hook.spec is not None and hook.spec.opts.get("firstresult"))
        if any(impl.hookwrapper or impl.wrapper for impl in impls):
            result = self._call(hook_name, **kwargs)
            answerer = self._answerers(impls)
            if first_only:
                return [] if result is None else [(answerer, result)]
            return [(answerer, item) for item in result]
        answers = []
        for impl in reversed(impls):  # pluggy's call order
            result = self._call_impl(impl, hook_name, **kwargs)
            if result is not None:
                answers.append((impl.plugin_name, result))
                if first_only:
                    break
        return answers

    @staticmethod
    def _answerers(impls: Sequence[pluggy.HookImpl]) -> str:
        """Who may have answered a wrapped hook: the plugins' implementations (the core's
        dispatch checks its adapters' answers itself), else the core's."""
        answering = [impl.plugin_name for impl in reversed(impls)
                     if not (impl.hookwrapper or impl.wrapper)]
        plugins = [name for name in answering if not name.startswith("core:")]
        return " or ".join(plugins or answering) or "unknown"

    def _first(self, hook_name: str, expected: Expected[T], what: str, **kwargs: Any) -> T:
        """The first answer to a ``firstresult`` hook, checked; none at all is
        :class:`AdapterNotAvailable` ("no enabled plugin can ``what``")."""
        answers = self._answers(hook_name, **kwargs)
        if not answers:
            raise AdapterNotAvailable(f"no enabled plugin can {what}")
        plugin, result = answers[0]
        return checked(result, expected, plugin, hook_name)

    def _call(self, hook_name: str, **kwargs: Any) -> Any:
        hook = getattr(self.manager.hook, hook_name)
        try:
            return hook(**kwargs)
        except MedbillError:
            raise
        except Exception as exc:
            plugin = self._plugin_in_traceback(hook, exc) or "unknown"
            log.error("plugin %s raised %s in %s", plugin, type(exc).__name__, hook_name)
            raise PluginError(plugin, f"{type(exc).__name__} in {hook_name}") from exc

    @staticmethod
    def _plugin_in_traceback(hook: pluggy.HookCaller, exc: BaseException) -> str | None:
        codes = {impl.function.__code__: impl.plugin_name for impl in hook.get_hookimpls()
                 if hasattr(impl.function, "__code__")}
        found = None
        tb = exc.__traceback__
        while tb is not None:
            name = codes.get(tb.tb_frame.f_code)
            if name is not None:
                found = name  # keep the innermost matching frame
            tb = tb.tb_next
        return found

    # -- one method per hook ------------------------------------------------------------------
    def plugin_settings_model(self) -> dict[str, type[BaseModel]]:
        """The settings model each plugin declares, by plugin name."""
        declared: dict[str, type[BaseModel]] = {}
        for plugin, model in self._answers("medbill_plugin_settings_model"):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise PluginError(plugin, f"medbill_plugin_settings_model returned"
                                          f" {type(model).__name__}, not a pydantic model class")
            declared[plugin] = model
        return declared

    def register_payer_adapters(self) -> list[tuple[str, PayerAdapter]]:
        """``(plugin, adapter)`` for every adapter the plugins register, in pluggy's call
        order (the plugin enabled last first: its adapters are offered documents first)."""
        return self._registered("medbill_register_payer_adapters")

    def register_channels(self) -> list[tuple[str, SubmissionChannel]]:
        return self._registered("medbill_register_channels")

    def register_statement_renderers(self) -> list[tuple[str, StatementRenderer]]:
        return self._registered("medbill_register_statement_renderers")

    def register_claim_form_renderers(self) -> list[tuple[str, ClaimFormRenderer]]:
        return self._registered("medbill_register_claim_form_renderers")

    def _registered(self, hook_name: str) -> list[tuple[str, Any]]:
        _, _, kind, base = next(entry for entry in REGISTRATIONS if entry[0] == hook_name)
        expected: Expected[Sequence[Any]] = many(base, f"a list of {base.__name__} ({kind}s)")
        answers = self._answers(hook_name, context=self.context)
        return [(plugin, item) for plugin, items in answers
                for item in checked(items, expected, plugin, hook_name)]

    def register_payment_gateways(self) -> list[tuple[str, PaymentGateway]]:
        """``(plugin, gateway)`` for every card payment gateway the plugins register."""
        return self._registered("medbill_register_payment_gateways")

    def register_notifiers(self) -> list[tuple[str, Notifier]]:
        """``(plugin, notifier)`` for every text-message / e-mail provider registered."""
        return self._registered("medbill_register_notifiers")

    def register_financing_providers(self) -> list[tuple[str, FinancingProvider]]:
        """``(plugin, provider)`` for every patient financing lender registered."""
        return self._registered("medbill_register_financing_providers")

    def register_commands(self, *, app: typer.Typer) -> None:
        self._call("medbill_register_commands", app=app)

    def register_routes(self, *, app: FastAPI) -> None:
        """Let the core and every enabled plugin add routes to the HTTP API's ``app``
        (``medbill_register_routes``): the core's first, so that a plugin's route cannot
        shadow one of the core's (the first route matching a request answers it)."""
        hook = self.manager.hook.medbill_register_routes
        impls = list(reversed(hook.get_hookimpls()))  # pluggy's call order
        impls.sort(key=lambda impl: not impl.plugin_name.startswith("core:"))
        for impl in impls:
            self._call_impl(impl, "medbill_register_routes", app=app)

    def check_eligibility(self, *, request: EligibilityRequest) -> EligibilityResponse:
        return self._first("medbill_check_eligibility", ELIGIBILITY,
                           f"check eligibility with payer {request.payer.key!r}",
                           request=request, context=self.context)

    def claim_edits(self, *, claim: BillableClaim) -> list[ClaimFinding]:
        answers = self._answers("medbill_claim_edits", claim=claim, context=self.context)
        return [finding for plugin, findings in answers
                for finding in checked(findings, FINDINGS, plugin, "medbill_claim_edits")]

    def encode_claims(self, *, payer: Payer,
                      claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        return list(self._first("medbill_encode_claims", SUBMISSION_FILES,
                                f"encode claims for payer {payer.key!r}",
                                payer=payer, claims=list(claims), context=self.context))

    def submit_file(self, *, submission: SubmissionFile, channel: str,
                    idempotency_key: str) -> SubmissionReceipt:
        return self._first("medbill_submit_file", RECEIPT,
                           f"submit through channel {channel!r}", submission=submission,
                           channel=channel, idempotency_key=idempotency_key,
                           context=self.context)

    def fetch_responses(self, *, channel: str) -> list[InboundDocument]:
        return list(self._first("medbill_fetch_responses", DOCUMENTS,
                                f"fetch responses from channel {channel!r}",
                                channel=channel, context=self.context))

    def decode_response(self, *,
                        document: InboundDocument) -> DecodedResponse | list[DecodedResponse]:
        """The first plugin's decoding of ``document``, checked: a plugin answering with
        something the core cannot apply fails here, named (see :func:`checked_decoded`)."""
        from medbill_core.default_plugins.dispatch import checked_decoded

        answers = self._answers("medbill_decode_response", document=document,
                                context=self.context)
        if not answers:
            raise AdapterNotAvailable(
                f"no enabled plugin can decode document {document.document_id!r}")
        plugin, result = answers[0]
        return checked_decoded(result, plugin, "medbill_decode_response")

    def decode_claims(self, *, content: str) -> DecodedClaimFile:
        """The first plugin's reading of a claim file a practice sent in, checked.

        :raises AdapterNotAvailable: no enabled plugin reads claim files.
        """
        return self._first("medbill_decode_claims", DECODED_CLAIMS, "read an 837 claim file",
                           content=content, context=self.context)

    def check_claim_status(self, *, request: ClaimStatusRequest) -> ClaimStatusResponse:
        return self._first("medbill_check_claim_status", CLAIM_STATUS,
                           f"check status of claim {request.claim.claim.claim_number}",
                           request=request, context=self.context)

    def render_statement(self, *, statement: Statement, renderer: str) -> RenderedDocument:
        return self._first("medbill_render_statement", RENDERED,
                           f"render a statement with renderer {renderer!r}",
                           statement=statement, renderer=renderer, context=self.context)

    def render_statements(self, *, statements: Sequence[Statement],
                          renderer: str) -> Iterator[RenderedDocument]:
        """The documents of ``statements``, in order, as they are asked for: those a plugin
        renders at once (``medbill_render_statements``), then each of the rest with
        :meth:`render_statement`, so a statement that cannot be rendered raises its own
        error, when its document is asked for, after the documents before it."""
        answers = self._answers("medbill_render_statements", statements=list(statements),
                                renderer=renderer, context=self.context)
        done: Sequence[RenderedDocument] = []
        if answers:
            plugin, result = answers[0]
            done = checked(result, RENDERED_MANY, plugin, "medbill_render_statements")
            if len(done) > len(statements):
                raise PluginError(plugin, f"medbill_render_statements returned {len(done)}"
                                          f" documents for {len(statements)} statements")
        yield from done
        for statement in statements[len(done):]:
            yield self.render_statement(statement=statement, renderer=renderer)

    def render_claim_forms(self, *, claims: Sequence[BillableClaim], renderer: str,
                           layout: ClaimFormLayout) -> RenderedClaimForm:
        return self._first("medbill_render_claim_forms", RENDERED_FORM,
                           f"render claim forms with renderer {renderer!r}",
                           claims=list(claims), renderer=renderer, layout=layout,
                           context=self.context)

    def expected_allowed(self, *, payer: Payer, procedure_code: str, modifiers: Sequence[str],
                         place_of_service: str, service_date: date) -> Decimal | None:
        """The expected allowed amount per unit, or ``None`` when no plugin knows it."""
        answers = self._answers("medbill_expected_allowed", payer=payer,
                                procedure_code=procedure_code, modifiers=list(modifiers),
                                place_of_service=place_of_service, service_date=service_date,
                                context=self.context)
        if not answers:
            return None
        plugin, amount = answers[0]
        return checked(amount, MONEY_OR_NONE, plugin, "medbill_expected_allowed")

    def render_estimate(self, *, estimate: CostEstimate, renderer: str) -> RenderedDocument:
        return self._first("medbill_render_estimate", RENDERED,
                           f"render an estimate with renderer {renderer!r}",
                           estimate=estimate, renderer=renderer, context=self.context)

    def claim_transition_precommit(self, *, claim: Claim, transition: Transition) -> None:
        # called for every move of every claim: with no implementation (the core has none)
        # there is nothing to call, and pluggy's call costs more than the move's record
        if not self.manager.hook.medbill_claim_transition_precommit.get_hookimpls():
            return
        self._call("medbill_claim_transition_precommit", claim=claim, transition=transition,
                   context=self.context)

    def billing_event_precommit(self, *, event_type: str, data: Mapping[str, Any]) -> None:
        self._call("medbill_billing_event_precommit", event_type=event_type, data=data,
                   context=self.context)

    def claim_transition_postcommit(self, *, claim: Claim, transition: Transition) -> None:
        try:
            self._call("medbill_claim_transition_postcommit", claim=claim,
                       transition=transition, context=self.context)
        except MedbillError as exc:
            # Already committed: report, never undo.
            log.error("post-commit hook failed for claim %s: %s", transition.claim_id, exc)

    # -- calls into adapters and channels (the same error policy, their plugins named) -------
    def remittance_findings(self, adapter: PayerAdapter, *, payment: ClaimPayment,
                            payer: Payer, claim: Claim | None) -> list[ClaimFinding]:
        findings = self.context.call(adapter, "remittance_findings", payment, payer, claim,
                                     expected=FINDINGS)
        return list(findings)

    def assumed_benefits(self, adapter: PayerAdapter, *, payer: Payer,
                         service_date: date) -> BenefitSummary | None:
        return self.context.call(adapter, "assumed_benefits", payer, service_date,
                                 expected=BENEFITS_OR_NONE)

    def stream_remittances(self, adapter: PayerAdapter,
                           document: InboundDocument) -> Iterator[RemittanceParts] | None:
        """The adapter's streamed payments, read under the error policy to the last claim."""
        streams = self.context.call(adapter, "stream_remittances", document)
        if streams is None:
            return None
        return (_OwnedRemittanceParts(self.context, adapter, parts)
                for parts in self.context.iterate(adapter, "stream_remittances", streams))

    def acknowledge(self, channel: SubmissionChannel, document: InboundDocument) -> None:
        self.context.call(channel, "acknowledge", document)

    # -- introspection ------------------------------------------------------------------------
    def hooks_of(self, plugin_name: str) -> list[str]:
        """Names of the hooks ``plugin_name`` implements."""
        plugin = self.manager.get_plugin(plugin_name)
        if plugin is None:
            return []
        callers = self.manager.get_hookcallers(plugin) or []
        return sorted(caller.name for caller in callers)

    @staticmethod
    def _required(result: Any, what: str) -> Any:
        if result is None:
            raise AdapterNotAvailable(f"no enabled plugin can {what}")
        return result


class _OwnedRemittanceParts:
    """A payment streamed by an adapter (:class:`~medbill_core.adapters.RemittanceParts`)
    whose reading runs the adapter's code under the error policy of its plugin."""

    def __init__(self, context: PluginContext, adapter: PayerAdapter,
                 parts: RemittanceParts) -> None:
        self._context, self._adapter, self._parts = context, adapter, parts

    def claims(self) -> Iterator[ClaimPayment]:
        claims = self._context.run(self._adapter, "stream_remittances", self._parts.claims)
        return self._context.iterate(self._adapter, "stream_remittances", claims)

    @property
    def header(self) -> Remittance:
        return self._context.run(self._adapter, "stream_remittances",
                                 lambda: self._parts.header)

    @property
    def provider_adjustments(self) -> list[ProviderAdjustment]:
        return self._context.run(self._adapter, "stream_remittances",
                                 lambda: self._parts.provider_adjustments)


def _invalid_implementation(plugin: Any, exc: pluggy.PluginValidationError) -> str:
    """pluggy's refusal as one line: the first argument problem ``plugins check`` finds."""
    for problem in problems_of(plugin):
        if problem.kind == "unknown_argument":
            return f"invalid hook implementation: {problem.message}"
    return "invalid hook implementation: " + " ".join(str(exc).split())


def _check_pending(manager: pluggy.PluginManager) -> None:
    """Like ``pm.check_pending()`` but naming the plugin in a domain error."""
    known = [name for name in manager.hook.__dict__
             if not name.startswith("_") and getattr(manager.hook, name).has_spec()]
    for name in manager.hook.__dict__:
        if name.startswith("_"):
            continue
        caller = getattr(manager.hook, name)
        if not caller.has_spec():
            for impl in caller.get_hookimpls():
                if not impl.optionalhook:
                    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                    hint = f"did you mean {close[0]}?" if close else "typo?"
                    raise PluginError(impl.plugin_name,
                                      f"implements unknown hook {name!r} ({hint} see "
                                      "medbill_core/hookspecs.py)")


"""The typed facade over pluggy: one method per hook, keyword-only, one error policy.

Start-up (:meth:`PluginHooks.start`):

1. the core's default plugins are registered (they implement the dispatch to
   registered adapters, the core claim edits, timing and lifecycle logging);
2. the plugins named in configuration are imported with stevedore and registered;
3. ``check_pending`` rejects any ``medbill_*`` function that matches no hookspec
   (a typo in a hook name), naming the plugin;
4. each plugin's settings table is validated with the model it declares;
5. registration hooks fill the adapter, channel and renderer registries;
   a duplicate identifier stops start-up naming both plugins.

Error policy (:meth:`PluginHooks._call`): a :class:`~medbill_core.errors.MedbillError`
raised by a plugin passes through unchanged; anything else becomes a
:class:`~medbill_core.errors.PluginError` naming the plugin and the hook, with
the exception *type* only (its text might carry PHI). Post-commit hooks never raise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel, ValidationError

from medbill_core import hookspecs
from medbill_core.config import section_problem
from medbill_core.errors import (
    AdapterNotAvailable,
    ConfigurationError,
    MedbillError,
    PluginError,
)
from medbill_core.loading import load_enabled
from medbill_core.pluginctx import PluginContext

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal

    import typer

    from medbill_core.config import MedbillConfig
    from medbill_core.domain import (
        BillableClaim,
        Claim,
        ClaimFinding,
        ClaimStatusRequest,
        ClaimStatusResponse,
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
    from medbill_core.domain.estimate import CostEstimate
    from medbill_core.lifecycle import Transition

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "medbill_core.default_plugins.dispatch",
    "medbill_core.default_plugins.core_edits",
    "medbill_core.default_plugins.observability",
)


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
        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        for name, module in _default_plugin_modules():
            manager.register(module, name=name)
        loaded = load_enabled(config.plugins) if load_installed else []
        enabled: list[str] = []
        for name, plugin in [*loaded, *extra_plugins]:
            try:
                manager.register(plugin, name=name)
            except ValueError as exc:
                raise PluginError(name, f"cannot be registered: {exc}") from None
            except pluggy.PluginValidationError as exc:
                raise PluginError(name, f"invalid hook implementation: {exc}") from None
            enabled.append(name)
        _check_pending(manager)
        context = PluginContext(config=config)
        hooks = cls(manager, context, enabled)
        hooks._load_settings()
        hooks._fill_registries()
        return hooks

    def _load_settings(self) -> None:
        config = self.context.config
        declared: dict[str, type[BaseModel]] = {}
        for impl in self.manager.hook.medbill_plugin_settings_model.get_hookimpls():
            model = self._call_impl(impl, "medbill_plugin_settings_model")
            if model is not None:
                declared[impl.plugin_name] = model
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
        registrations: list[tuple[str, dict[str, Any], str]] = [
            ("medbill_register_payer_adapters", self.context.adapters, "payer adapter"),
            ("medbill_register_channels", self.context.channels, "submission channel"),
            ("medbill_register_statement_renderers", self.context.renderers,
             "statement renderer"),
        ]
        for hook_name, registry, kind in registrations:
            owners: dict[str, str] = {}
            hook = getattr(self.manager.hook, hook_name)
            for impl in reversed(hook.get_hookimpls()):  # registration order
                provided = self._call_impl(impl, hook_name, context=self.context) or ()
                for item in provided:
                    identifier = getattr(item, "identifier", "")
                    if not identifier:
                        raise PluginError(impl.plugin_name, f"a {kind} has no identifier")
                    if identifier in registry:
                        raise PluginError(
                            impl.plugin_name,
                            f"{kind} identifier {identifier!r} is already registered by "
                            f"plugin {owners[identifier]!r}")
                    registry[identifier] = item
                    owners[identifier] = impl.plugin_name
                    self.context.owners.setdefault(identifier, impl.plugin_name)
        for payer in self.context.config.payers.values():
            if payer.adapter in self.context.adapters:
                adapter = self.context.adapters[payer.adapter]
                try:
                    adapter.validate_payer_options(payer)
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
            raise PluginError(impl.plugin_name,
                              f"{type(exc).__name__} in {hook_name}") from exc

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
    def register_commands(self, *, app: typer.Typer) -> None:
        self._call("medbill_register_commands", app=app)

    def check_eligibility(self, *, request: EligibilityRequest) -> EligibilityResponse:
        result = self._call("medbill_check_eligibility", request=request, context=self.context)
        return self._required(result, f"check eligibility with payer {request.payer.key!r}")

    def claim_edits(self, *, claim: BillableClaim) -> list[ClaimFinding]:
        results = self._call("medbill_claim_edits", claim=claim, context=self.context)
        return [finding for findings in results for finding in (findings or ())]

    def encode_claims(self, *, payer: Payer,
                      claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        result = self._call("medbill_encode_claims", payer=payer, claims=list(claims),
                            context=self.context)
        return list(self._required(result, f"encode claims for payer {payer.key!r}"))

    def submit_file(self, *, submission: SubmissionFile, channel: str,
                    idempotency_key: str) -> SubmissionReceipt:
        result = self._call("medbill_submit_file", submission=submission, channel=channel,
                            idempotency_key=idempotency_key, context=self.context)
        return self._required(result, f"submit through channel {channel!r}")

    def fetch_responses(self, *, channel: str) -> list[InboundDocument]:
        result = self._call("medbill_fetch_responses", channel=channel, context=self.context)
        return list(self._required(result, f"fetch responses from channel {channel!r}"))

    def decode_response(self, *,
                        document: InboundDocument) -> DecodedResponse | list[DecodedResponse]:
        """The first plugin's decoding of ``document``, checked: a plugin answering with
        something the core cannot apply fails here, named (see :func:`checked_decoded`)."""
        from medbill_core.default_plugins.dispatch import checked_decoded

        hook = self.manager.hook.medbill_decode_response
        impls = hook.get_hookimpls()
        if any(impl.hookwrapper or getattr(impl, "wrapper", False) for impl in impls):
            result = self._call("medbill_decode_response", document=document,
                                context=self.context)
            return self._required(result, f"decode document {document.document_id!r}")
        for impl in reversed(impls):  # pluggy's order for a firstresult hook
            result = self._call_impl(impl, "medbill_decode_response", document=document,
                                     context=self.context)
            if result is not None:
                return checked_decoded(result, impl.plugin_name, "medbill_decode_response")
        return self._required(None, f"decode document {document.document_id!r}")

    def check_claim_status(self, *, request: ClaimStatusRequest) -> ClaimStatusResponse:
        result = self._call("medbill_check_claim_status", request=request, context=self.context)
        return self._required(result, f"check status of claim {request.claim.claim.claim_number}")

    def render_statement(self, *, statement: Statement, renderer: str) -> RenderedDocument:
        result = self._call("medbill_render_statement", statement=statement, renderer=renderer,
                            context=self.context)
        return self._required(result, f"render a statement with renderer {renderer!r}")

    def expected_allowed(self, *, payer: Payer, procedure_code: str, modifiers: Sequence[str],
                         place_of_service: str, service_date: date) -> Decimal | None:
        """The expected allowed amount per unit, or ``None`` when no plugin knows it."""
        return self._call("medbill_expected_allowed", payer=payer, procedure_code=procedure_code,
                          modifiers=list(modifiers), place_of_service=place_of_service,
                          service_date=service_date, context=self.context)

    def render_estimate(self, *, estimate: CostEstimate, renderer: str) -> RenderedDocument:
        result = self._call("medbill_render_estimate", estimate=estimate, renderer=renderer,
                            context=self.context)
        return self._required(result, f"render an estimate with renderer {renderer!r}")

    def claim_transition_precommit(self, *, claim: Claim, transition: Transition) -> None:
        self._call("medbill_claim_transition_precommit", claim=claim, transition=transition,
                   context=self.context)

    def claim_transition_postcommit(self, *, claim: Claim, transition: Transition) -> None:
        try:
            self._call("medbill_claim_transition_postcommit", claim=claim,
                       transition=transition, context=self.context)
        except MedbillError as exc:
            # Already committed: report, never undo.
            log.error("post-commit hook failed for claim %s: %s", transition.claim_id, exc)

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


def _check_pending(manager: pluggy.PluginManager) -> None:
    """Like ``pm.check_pending()`` but naming the plugin in a domain error."""
    for name in manager.hook.__dict__:
        if name.startswith("_"):
            continue
        caller = getattr(manager.hook, name)
        if not caller.has_spec():
            for impl in caller.get_hookimpls():
                if not impl.optionalhook:
                    raise PluginError(impl.plugin_name,
                                      f"implements unknown hook {name!r} (typo? see "
                                      "medbill_core/hookspecs.py)")


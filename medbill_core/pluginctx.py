"""What a plugin sees of the running instance: configuration, its settings, the registries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, Union, overload

from medbill_core.errors import AdapterNotAvailable, MedbillError, PluginError, UnknownPayer
from medbill_core.hookresults import Expected, checked

if TYPE_CHECKING:
    from pydantic import BaseModel

    from medbill_core.adapters import (
        ClaimFormRenderer,
        PayerAdapter,
        StatementRenderer,
        SubmissionChannel,
    )
    from medbill_core.config import MedbillConfig
    from medbill_core.domain import Payer
    from medbill_core.financing_providers import FinancingProvider
    from medbill_core.gateways import PaymentGateway
    from medbill_core.notifiers import Notifier

log = logging.getLogger(__name__)

T = TypeVar("T")

#: What plugins register: the part of a plugin whose calls :meth:`PluginContext.call` guards.
Part = Union["PayerAdapter", "SubmissionChannel", "StatementRenderer", "ClaimFormRenderer",
             "PaymentGateway", "Notifier", "FinancingProvider"]


#: the memo of the batch being worked on in this thread or task (see :func:`batch_scope`)
_BATCH_MEMO: ContextVar[dict[object, Any] | None] = ContextVar("medbill_batch_memo",
                                                                default=None)


@contextmanager
def batch_scope() -> Iterator[dict[object, Any]]:
    """A memo that the hook implementations called for the items of one batch (the claims a
    scrub works on together) may share: what they work out once per batch rather than once
    per item (:func:`batch_memo`). It is forgotten when the batch ends; a scope inside another
    starts empty."""
    memo: dict[object, Any] = {}
    token = _BATCH_MEMO.set(memo)
    try:
        yield memo
    finally:
        _BATCH_MEMO.reset(token)


def batch_memo() -> dict[object, Any] | None:
    """The memo of the current :func:`batch_scope`; ``None`` outside one."""
    return _BATCH_MEMO.get()


class _End:
    """The end of an iteration (a value no plugin can produce)."""


@dataclass
class PluginContext:
    """Passed to hooks as ``context``.

    Registries are filled at start-up from the registration hooks; lookups
    raise :class:`~medbill_core.errors.AdapterNotAvailable` naming what is
    missing, so a misconfigured payer fails with a clear message.
    """

    config: MedbillConfig
    plugin_settings: dict[str, BaseModel | None] = field(default_factory=dict)
    adapters: dict[str, PayerAdapter] = field(default_factory=dict)
    channels: dict[str, SubmissionChannel] = field(default_factory=dict)
    renderers: dict[str, StatementRenderer] = field(default_factory=dict)
    #: claim form renderers (CMS-1500, UB-04 ...), by identifier
    form_renderers: dict[str, ClaimFormRenderer] = field(default_factory=dict)
    #: card payment gateways, by identifier (.. versionadded:: 1.4)
    payment_gateways: dict[str, PaymentGateway] = field(default_factory=dict)
    #: text-message / e-mail providers, by identifier
    notifiers: dict[str, Notifier] = field(default_factory=dict)
    #: patient financing lenders, by identifier
    financing_providers: dict[str, FinancingProvider] = field(default_factory=dict)
    #: Free-form per-run services (e.g. an outbox) a caller may hand to plugins.
    extras: dict[str, Any] = field(default_factory=dict)
    #: The plugin that registered each adapter, channel and renderer, by identifier: an
    #: error in one is the plugin's, not the core's dispatcher's.
    owners: dict[str, str] = field(default_factory=dict)

    def owner_of(self, identifier: str) -> str:
        """The plugin that registered the adapter, channel or renderer ``identifier``."""
        return self.owners.get(identifier, "unknown")

    @overload
    def call(self, part: Part, method: str, *args: Any, expected: Expected[T],
             passes: tuple[type[BaseException], ...] = (), **kwargs: Any) -> T: ...

    @overload
    def call(self, part: Part, method: str, *args: Any, expected: None = None,
             passes: tuple[type[BaseException], ...] = (), **kwargs: Any) -> Any: ...

    def call(self, part: Part, method: str, *args: Any, expected: Expected[Any] | None = None,
             passes: tuple[type[BaseException], ...] = (), **kwargs: Any) -> Any:
        """``part.method(*args, **kwargs)`` under the plugins' error policy, for the plugin
        that registered ``part``: a :class:`~medbill_core.errors.MedbillError` (or one of
        ``passes``) goes through unchanged; anything else becomes a
        :class:`~medbill_core.errors.PluginError` naming that plugin, the part and the
        method, logged with the exception's type only (its text may carry PHI). With
        ``expected``, the answer is checked (:func:`~medbill_core.hookresults.checked`).
        """
        result = self.run(part, method, getattr(part, method), *args, passes=passes, **kwargs)
        if expected is None:
            return result
        return checked(result, expected, self.owner_of(part.identifier),
                       f"{kind_of(part)} {part.identifier!r}: {method}")

    def run(self, part: Part, method: str, function: Callable[..., T], *args: Any,
            passes: tuple[type[BaseException], ...] = (), **kwargs: Any) -> T:
        """``function(*args, **kwargs)``, code of ``part`` serving ``method``, under the error
        policy of :meth:`call` (for code run later, such as reading what ``method`` returned)."""
        try:
            return function(*args, **kwargs)
        except MedbillError:
            raise
        except passes:
            raise
        except Exception as exc:
            source = f"{kind_of(part)} {part.identifier!r}"
            owner = self.owner_of(part.identifier)
            log.error("plugin %s raised %s in %s.%s", owner, type(exc).__name__, source, method)
            raise PluginError(owner, f"{source}: {type(exc).__name__} in {method}") from exc

    def iterate(self, part: Part, method: str, items: Iterable[T]) -> Iterator[T]:
        """``items`` (produced by ``part``'s code as they are read) under :meth:`run`."""
        iterator: Iterator[T] = self.run(part, method, iter, items)
        end = _End()
        while not isinstance(item := self.run(part, method, next, iterator, end), _End):
            yield item

    def settings_for(self, plugin: str) -> Any:
        """The validated settings of ``plugin`` (``None`` if it declares no model)."""
        return self.plugin_settings.get(plugin)

    def payer(self, key: str) -> Payer:
        try:
            return self.config.payers[key]
        except KeyError:
            raise UnknownPayer(key) from None

    def adapter(self, identifier: str) -> PayerAdapter:
        found: PayerAdapter = _lookup(self.adapters, identifier, "payer adapter")
        return found

    def channel(self, identifier: str) -> SubmissionChannel:
        found: SubmissionChannel = _lookup(self.channels, identifier, "submission channel")
        return found

    def renderer(self, identifier: str) -> StatementRenderer:
        found: StatementRenderer = _lookup(self.renderers, identifier, "statement renderer")
        return found

    def form_renderer(self, identifier: str) -> ClaimFormRenderer:
        found: ClaimFormRenderer = _lookup(self.form_renderers, identifier,
                                           "claim form renderer")
        return found

    def payment_gateway(self, identifier: str | None = None) -> PaymentGateway:
        """The gateway ``identifier``, by default the one the configuration names
        (``[medbill] payment_gateway``).

        :raises AdapterNotAvailable: none is configured, or no enabled plugin provides it.

        .. versionadded:: 1.4
        """
        found: PaymentGateway = _configured(self.payment_gateways, identifier,
                                            self.config.payment_gateway, "payment gateway",
                                            "payment_gateway")
        return found

    def notifier(self, identifier: str | None = None) -> Notifier:
        """The notifier ``identifier``, by default the one the configuration names
        (``[medbill] notifier``).

        :raises AdapterNotAvailable: none is configured, or no enabled plugin provides it.

        .. versionadded:: 1.5
        """
        found: Notifier = _configured(self.notifiers, identifier, self.config.notifier,
                                      "notifier", "notifier")
        return found

    def financing_provider(self, identifier: str | None = None) -> FinancingProvider:
        """The financing provider ``identifier``, by default the one the configuration
        names (``[medbill] financing_provider``).

        :raises AdapterNotAvailable: none is configured, or no enabled plugin provides it.

        .. versionadded:: 1.5
        """
        found: FinancingProvider = _configured(self.financing_providers, identifier,
                                               self.config.financing_provider,
                                               "financing provider", "financing_provider")
        return found

    def adapter_for(self, payer: Payer) -> PayerAdapter:
        return self.adapter(payer.adapter)

    def channel_for(self, payer: Payer) -> SubmissionChannel:
        if not payer.channel:
            raise AdapterNotAvailable(f"payer {payer.key!r} has no channel configured")
        return self.channel(payer.channel)


def kind_of(part: object) -> str:
    """``payer adapter``, ``submission channel``, ``claim form renderer``, ``payment
    gateway``, ``notifier``, ``financing provider`` or ``statement renderer``."""
    from medbill_core.adapters import ClaimFormRenderer, PayerAdapter, SubmissionChannel
    from medbill_core.financing_providers import FinancingProvider
    from medbill_core.gateways import PaymentGateway
    from medbill_core.notifiers import Notifier

    if isinstance(part, PayerAdapter):
        return "payer adapter"
    if isinstance(part, SubmissionChannel):
        return "submission channel"
    if isinstance(part, ClaimFormRenderer):
        return "claim form renderer"
    if isinstance(part, PaymentGateway):
        return "payment gateway"
    if isinstance(part, Notifier):
        return "notifier"
    if isinstance(part, FinancingProvider):
        return "financing provider"
    return "statement renderer"


def _configured(registry: Mapping[str, Any], identifier: str | None, configured: str | None,
                kind: str, setting: str) -> Any:
    """``identifier``'s entry of ``registry``, by default the one the configuration names
    in ``[medbill] setting``.

    :raises AdapterNotAvailable: none is configured, or no enabled plugin provides it.
    """
    name = identifier if identifier is not None else configured
    if name is None:
        raise AdapterNotAvailable(f"no {kind} is configured: set {setting} in [medbill] and "
                                  "enable the plugin that provides it")
    return _lookup(registry, name, kind)


def _lookup(registry: Mapping[str, Any], identifier: str, kind: str) -> Any:
    try:
        return registry[identifier]
    except KeyError:
        known = ", ".join(sorted(registry)) or "none"
        raise AdapterNotAvailable(
            f"no enabled plugin provides the {kind} {identifier!r} (available: {known})"
        ) from None

"""Discovery of installed plugins (entry-point group ``medbill.plugins``) with stevedore.

Installed is not enabled: :func:`load_enabled` imports only the plugins named
in the configuration, in the configured order. Listing what is installed
(:func:`installed_plugins`) does not import anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from stevedore import NamedExtensionManager

from medbill_core.errors import ConfigurationError, PluginError

NAMESPACE = "medbill.plugins"


@dataclass(frozen=True)
class InstalledPlugin:
    """An entry point in ``medbill.plugins``: name, target and distribution."""

    name: str
    target: str
    distribution: str | None
    version: str | None


def _describe(entry_point: EntryPoint) -> InstalledPlugin:
    dist = entry_point.dist
    return InstalledPlugin(
        name=entry_point.name,
        target=entry_point.value,
        distribution=dist.metadata["Name"] if dist is not None else None,
        version=dist.version if dist is not None else None,
    )


def installed_plugins() -> list[InstalledPlugin]:
    """Every plugin installed in this environment, sorted by name (nothing is imported)."""
    found = {ep.name: _describe(ep) for ep in entry_points(group=NAMESPACE)}
    return [found[name] for name in sorted(found)]


def load_enabled(names: Sequence[str]) -> list[tuple[str, Any]]:
    """Import the named plugins, in the order given.

    :returns: ``(name, plugin object)`` pairs; the object is what the entry point
        names (usually a module of hook implementations).
    :raises ConfigurationError: a name is not installed.
    :raises PluginError: a plugin fails to import (the message names it).
    """
    if not names:
        return []
    missing: list[str] = []

    def on_missing(absent: Any) -> None:
        missing.extend(sorted(absent))

    def on_failure(_manager: Any, entry_point: EntryPoint, exc: BaseException) -> None:
        raise PluginError(entry_point.name,
                          f"failed to import {entry_point.value}: "
                          f"{type(exc).__name__}: {exc}") from exc

    manager: NamedExtensionManager[Any] = NamedExtensionManager(
        namespace=NAMESPACE,
        names=list(names),
        name_order=True,
        invoke_on_load=False,
        on_load_failure_callback=on_failure,
        on_missing_entrypoints_callback=on_missing,
    )
    if missing:
        installed = ", ".join(p.name for p in installed_plugins()) or "none"
        raise ConfigurationError(
            f"enabled plugin(s) not installed: {', '.join(missing)} (installed: {installed})"
        )
    return [(extension.name, extension.plugin) for extension in manager.extensions]

"""Names of a public API module resolved from their home modules on first use.

``import medbill_core.api`` must stay cheap: plugins import it while the command line starts,
and most of them need only the hook marker then. Each public name is looked up in its home
module the first time it is read (PEP 562 module ``__getattr__``), and kept.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def homes_by_name(exports: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, str]]:
    """``{home module: ("name", "attribute as name", ...)}`` turned into
    ``{public name: (home module, attribute)}``."""
    homes: dict[str, tuple[str, str]] = {}
    for module, names in exports.items():
        for entry in names:
            attribute, _, alias = entry.partition(" as ")
            public = alias or attribute
            if public in homes:
                raise ValueError(f"{public} is exported twice ({homes[public][0]}, {module})")
            homes[public] = (module, attribute)
    return homes


def lazy_attributes(namespace: dict[str, Any], homes: Mapping[str, tuple[str, str]]
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of the module whose globals are
    ``namespace``, serving the names of ``homes``."""

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = homes[name]
        except KeyError:
            raise AttributeError(
                f"module {namespace['__name__']!r} has no attribute {name!r}") from None
        home = importlib.import_module(module)
        try:
            value = getattr(home, attribute)
        except AttributeError:  # a submodule its package does not import itself
            value = importlib.import_module(f"{module}.{attribute}")
        namespace[name] = value  # later reads skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(homes))

    return __getattr__, __dir__

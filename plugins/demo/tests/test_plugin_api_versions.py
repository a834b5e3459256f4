"""Each installed plugin declares (``MEDBILL_API``) at least the plugin API of the hooks it
implements -- here, where every plugin of the repository is installed (the core suite's venv
holds none)."""

from __future__ import annotations

import inspect

from medbill_core import hookspecs
from medbill_core.loading import installed_plugins
from medbill_core.plugincheck import hook_arguments, parse_api_version

SPECS = hook_arguments()


def _since(name: str) -> tuple[int, ...]:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    version = parse_api_version(doc.split(".. versionadded:: ", 1)[1].split()[0])
    assert version is not None
    return version


def test_each_installed_plugin_declares_at_least_the_api_of_the_hooks_it_implements() -> None:
    """A plugin implementing a hook added in 1.3 while declaring ``MEDBILL_API = "1.0"``
    would load on a 1.0 core and never be called: the declaration must cover its hooks."""
    from medbill_core.loading import load_enabled

    checked = 0
    for installed in installed_plugins():
        [(name, plugin)] = load_enabled([installed.name])
        declared = parse_api_version(getattr(plugin, "MEDBILL_API", "1.0"))
        assert declared is not None, name
        for hook in sorted(n for n in dir(plugin) if n in SPECS):
            assert _since(hook) <= declared, (
                f"plugin {name} implements {hook} (since {'.'.join(map(str, _since(hook)))}) "
                f"but declares MEDBILL_API {getattr(plugin, 'MEDBILL_API', '1.0')}")
            checked += 1
    assert checked >= 10  # the repository's plugins are installed in the test environment

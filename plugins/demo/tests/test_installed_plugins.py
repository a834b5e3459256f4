"""The shipped plugins, installed: found with their versions, loaded only when named and in
the configured order, never merely because they are installed. (Moved from the core's
tests/test_plugins.py: with the core alone nothing is installed to find.)"""

from __future__ import annotations

from medbill_core.config import MedbillConfig
from medbill_core.loading import installed_plugins, load_enabled
from medbill_core.plugins import PluginHooks
from medbill_core.testing import factories

SHIPPED = {"payer_generic_x12", "payer_medicare", "clearinghouse_mock", "statements_pdf",
           "workspace_web"}


def config(**overrides: object) -> MedbillConfig:
    return MedbillConfig(**{"database_url": "sqlite://", "practice": factories.make_practice(),
                            **overrides})


def test_the_shipped_plugins_are_installed_with_versions() -> None:
    found = {plugin.name: plugin for plugin in installed_plugins()}
    assert set(found) >= SHIPPED
    for name in SHIPPED:
        assert found[name].version == "0.1.0"
        assert found[name].distribution == "medbill-" + name.replace("_", "-")


def test_installed_is_not_enabled() -> None:
    hooks = PluginHooks.start(config(plugins=[]))
    assert hooks.enabled == []
    registered = {name for name, _ in hooks.manager.list_name_plugin()}
    assert not registered & SHIPPED
    assert {"core:dispatch", "core:core_edits", "core:observability"} <= registered


def test_only_named_plugins_are_loaded_in_configured_order() -> None:
    loaded = load_enabled(["statements_pdf", "payer_generic_x12"])
    assert [name for name, _ in loaded] == ["statements_pdf", "payer_generic_x12"]
    hooks = PluginHooks.start(config(plugins=["statements_pdf"]))
    assert hooks.enabled == ["statements_pdf"]

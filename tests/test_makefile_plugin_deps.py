"""The Makefile builds each plugin's test venv from what the plugin declares.

``make test-plugins`` runs each plugin's suite in a venv holding the core, the plugin and the
plugins listed in the Makefile's ``DEPS_<plugin>``; pip installs those from this checkout, so
the list must name exactly the medbill distributions the plugin's pyproject.toml requires — a
plugin that starts to need another one would otherwise pass in CI by luck or fail for no
visible reason.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "plugins"


def makefile_variable(name: str) -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(name)} :=(.*)$", text, re.MULTILINE)
    assert match is not None, f"Makefile has no {name}"
    return match.group(1).split()


def folder_of(distribution: str) -> str:
    """``medbill-payer-generic-x12`` -> ``payer_generic_x12`` (the folder under plugins/)."""
    return distribution.removeprefix("medbill-").replace("-", "_")


def declared_plugins(plugin: str) -> set[str]:
    """The medbill plugins a plugin needs to run its tests alone: its dependencies and its
    ``test`` extra's (a page's tests may drive another plugin's simulator)."""
    project = tomllib.loads((PLUGINS / plugin / "pyproject.toml").read_text("utf-8"))["project"]
    specs = [*project.get("dependencies", []),
             *project.get("optional-dependencies", {}).get("test", [])]
    names = {Requirement(spec).name.lower() for spec in specs}
    return {folder_of(name) for name in names if name.startswith("medbill-")}


@pytest.mark.parametrize("plugin", makefile_variable("ALONE"))
def test_the_venv_of_each_plugin_holds_what_it_declares(plugin: str) -> None:
    assert (PLUGINS / plugin / "pyproject.toml").is_file()
    assert set(makefile_variable(f"DEPS_{plugin}")) == declared_plugins(plugin)


def test_every_plugin_but_the_demo_runs_alone() -> None:
    shipped = {path.parent.name for path in PLUGINS.glob("*/pyproject.toml")}
    assert set(makefile_variable("ALONE")) == shipped - {"demo"}
    assert set(makefile_variable("PLUGINS")) == shipped

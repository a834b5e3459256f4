"""A plugin measured against this core's plugin API, without starting medbill.

Start-up (:meth:`medbill_core.plugins.PluginHooks.start`) stops at the first problem; this
module finds every problem of a plugin object -- hooks this core does not know (typos,
with the closest known name), hooks implemented under a renamed hook's old name,
argument names no hook passes, the API version a plugin needs -- so that
``medbill plugins check`` can report all of them for all plugins at once.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import asdict, dataclass
from typing import Any

from medbill_core import hookspecs
from medbill_core.loading import installed_plugins

_SPEC_ATTRIBUTE = hookspecs.PROJECT_NAME + "_spec"
_IMPL_ATTRIBUTE = hookspecs.PROJECT_NAME + "_impl"


@dataclass(frozen=True)
class Problem:
    """One mismatch between a plugin and this core (``kind`` is a stable word for scripts)."""

    kind: str  # import_failed | unknown_hook | deprecated_hook | unknown_argument | api_version
    message: str
    hook: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def hook_arguments() -> dict[str, list[str]]:
    """Every hook this core specifies, with the argument names it passes."""
    return {name: _positional_names(function)
            for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
            if getattr(function, _SPEC_ATTRIBUTE, None) is not None}


def parse_api_version(text: object) -> tuple[int, int] | None:
    """``"1.2"`` as ``(1, 2)``; ``None`` when ``text`` is not ``MAJOR.MINOR``."""
    if not isinstance(text, str):
        return None
    major, dot, minor = text.strip().partition(".")
    if not (dot and major.isdigit() and minor.isdigit()):
        return None
    return int(major), int(minor)


def api_version_problem(plugin: Any) -> str | None:
    """Why this core cannot serve the API version ``plugin`` declares (``None``: it can, or
    the plugin declares none). Another major version, or a newer minor one, is refused."""
    required = getattr(plugin, hookspecs.PLUGIN_API_ATTRIBUTE, None)
    if required is None:
        return None
    provided = hookspecs.API_VERSION
    wanted = parse_api_version(required)
    if wanted is None:
        return (f"declares {hookspecs.PLUGIN_API_ATTRIBUTE} = {str(required)!r}, not a"
                f" MAJOR.MINOR version (this medbill provides plugin API {provided})")
    have = parse_api_version(provided)
    assert have is not None  # API_VERSION is written by us
    if wanted[0] != have[0] or wanted[1] > have[1]:
        return f"needs plugin API {required}, this medbill provides plugin API {provided}"
    return None


def renamed_hook(name: str) -> tuple[str, str] | None:
    """``(new name, version that renamed it)`` when ``name`` is a renamed hook's old name."""
    return hookspecs.RENAMED_HOOKS.get(name)


def removal_version(since: str) -> str:
    """The API version that drops a hook name renamed in ``since`` (one minor later)."""
    parsed = parse_api_version(since)
    return f"{parsed[0]}.{parsed[1] + 1}" if parsed else "the next minor version"


def deprecation_message(plugin_name: str, old: str, new: str, since: str) -> str:
    return (f"plugin {plugin_name!r} implements {old!r}, renamed {new!r} in plugin API"
            f" {since}; the old name stops working in {removal_version(since)}")


def hook_implementations(plugin: Any) -> dict[str, Any]:
    """The plugin's hook implementations by the name they are registered under (a
    ``specname`` given to ``@hookimpl`` wins over the function's name), as pluggy finds
    them: routines carrying the ``medbill_impl`` marker."""
    found: dict[str, Any] = {}
    for attribute in dir(plugin):
        try:
            function = getattr(plugin, attribute)
        except Exception:  # a property that fails is not a hook implementation
            continue
        if not inspect.isroutine(function):
            continue
        options = getattr(function, _IMPL_ATTRIBUTE, None)
        if not isinstance(options, dict):
            continue
        found[options.get("specname") or attribute] = function
    return found


def problems_of(plugin: Any) -> list[Problem]:
    """Every problem of an imported plugin object (module or instance) with this core."""
    specs = hook_arguments()
    problems: list[Problem] = []
    version = api_version_problem(plugin)
    if version is not None:
        problems.append(Problem("api_version", version))
    for name, function in sorted(hook_implementations(plugin).items()):
        spec_name = name
        renamed = renamed_hook(name)
        if renamed is not None:
            new, since = renamed
            problems.append(Problem(
                "deprecated_hook", hook=name,
                message=f"implements {name!r}, renamed {new!r} in plugin API {since}; the old"
                        f" name stops working in {removal_version(since)}"))
            spec_name = new
        if spec_name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(Problem("unknown_hook", hook=name,
                                    message=f"implements unknown hook {name!r}{hint}"))
            continue
        unknown = [arg for arg in _positional_names(function) if arg not in specs[spec_name]]
        if unknown:
            problems.append(Problem(
                "unknown_argument", hook=name,
                message=f"{name} takes {', '.join(map(repr, unknown))}, which the hook does"
                        f" not pass (it passes: {', '.join(specs[spec_name]) or 'nothing'})"))
    return problems


@dataclass(frozen=True)
class PluginReport:
    name: str
    module: str
    problems: list[Problem]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "module": self.module, "ok": not self.problems,
                "problems": [problem.as_dict() for problem in self.problems]}


def load_target(target: str) -> Any:
    """What an entry point ``module`` or ``module:attribute`` names (imports the module)."""
    module_name, _, attribute = target.partition(":")
    module: Any = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        module = getattr(module, part)
    return module


def check_installed(names: list[str] | None = None) -> tuple[list[PluginReport], list[str]]:
    """A report per installed plugin (or per one of ``names``), and the names not installed."""
    installed = {plugin.name: plugin for plugin in installed_plugins()}
    wanted = names if names else sorted(installed)
    reports = []
    for name in wanted:
        if name not in installed:
            continue
        target = installed[name].target
        try:
            plugin = load_target(target)
        except Exception as exc:  # a broken plugin is reported, never a crash of the check
            reports.append(PluginReport(name, target, [Problem(
                "import_failed", f"failed to import {target}: {type(exc).__name__}: {exc}")]))
            continue
        reports.append(PluginReport(name, target, problems_of(plugin)))
    return reports, [name for name in wanted if name not in installed]


def _positional_names(function: Any) -> list[str]:
    """The argument names pluggy passes by name: positional parameters without a default
    (``self`` of a bound method is not among them)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]

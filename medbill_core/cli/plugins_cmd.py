"""``medbill plugins list``: what is installed, what is enabled, which hooks each implements;
``medbill plugins check``: each plugin measured against this core's plugin API."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    load_cli_config,
    print_json,
    print_table,
    warn,
)
from medbill_core.cli.plugin_new_cmd import new_plugin
from medbill_core.hookspecs import API_VERSION
from medbill_core.loading import installed_plugins
from medbill_core.plugincheck import check_installed, hook_implementations

app = typer.Typer(help="Installed and enabled plugins.", no_args_is_help=True)
app.command("new")(new_plugin)


def implemented_hooks(target: str) -> tuple[list[str], str | None]:
    """Hook names the entry point's module implements, or an import error description."""
    module_name = target.split(":", 1)[0]
    try:
        module: Any = importlib.import_module(module_name)
    except Exception as exc:  # a broken plugin must not break the listing
        return [], f"{type(exc).__name__}: {exc}"
    if ":" in target:
        module = getattr(module, target.split(":", 1)[1], module)
    return sorted(hook_implementations(module)), None


@app.command("list")
@cli_errors
def list_plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Every installed plugin: enabled or not, version, hooks implemented."""
    config = load_cli_config()
    enabled = set(config.plugins)
    rows: list[dict[str, Any]] = []
    for plugin in installed_plugins():
        hooks, error = implemented_hooks(plugin.target)
        rows.append({"name": plugin.name, "enabled": plugin.name in enabled,
                     "version": plugin.version, "distribution": plugin.distribution,
                     "module": plugin.target, "hooks": hooks, "error": error})
    missing = sorted(enabled - {row["name"] for row in rows})
    if as_json:
        print_json({"plugins": rows, "enabled_but_not_installed": missing})
        return
    table = data_table("name", "enabled", "version", "hooks", title="medbill plugins",
                       keys=("name", "version"))
    for row in rows:
        if row["error"]:
            hooks_text = f"[red]import failed: {escape(row['error'])}[/]"
        else:
            hooks_text = ", ".join(h.removeprefix("medbill_") for h in row["hooks"]) or "-"
        table.add_row(row["name"], "yes" if row["enabled"] else "no", row["version"] or "?",
                      hooks_text)
    print_table(table)
    for name in missing:
        warn(f"enabled but not installed: {name}")


@app.command("check")
@cli_errors
def check_plugins(
    names: Annotated[list[str] | None, typer.Argument(
        help="Plugins to check (default: every installed plugin)", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Check installed plugins against this medbill's plugin API, without starting medbill.

    Reports every problem of every plugin (start-up stops at the first): hooks this medbill
    does not know (with the closest known name), hooks implemented under a deprecated name,
    arguments no hook passes, the plugin API version a plugin needs, import failures.
    Exit 0 when all are clean, 1 otherwise.
    """
    reports, missing = check_installed(names or None)
    flawed = [report.name for report in reports if report.problems]
    if as_json:
        print_json({"api_version": API_VERSION, "ok": not (flawed or missing),
                    "plugins": [report.as_dict() for report in reports],
                    "not_installed": missing})
    else:
        for report in reports:
            if not report.problems:
                _say(f"{report.name}: ok")
            for problem in report.problems:
                _say(f"{report.name}: {problem.message}")
    if flawed or missing:
        found = [f"problems in {len(flawed)} of {len(reports)} plugin(s)"] if flawed else []
        found += [f"not installed: {', '.join(missing)}"] if missing else []
        raise fail(f"plugin API {API_VERSION}: {'; '.join(found)}")
    if not as_json:
        _say(f"plugin API {API_VERSION}: {len(reports)} plugin(s) ok")


def _say(line: str) -> None:
    """A line of the report: plugin and hook names are text, never console markup."""
    console.print(escape(line), highlight=False, soft_wrap=True)

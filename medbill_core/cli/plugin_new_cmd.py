"""``medbill plugins new NAME --kind payer|channel|renderer``: a plugin package to start from.

The package is written from the templates in ``medbill_core/testing/templates`` (plain
:class:`string.Template` files): a pyproject with the ``medbill.plugins`` entry point, a
README, the plugin module with its hook implementations, the adapter, channel or renderer
class, and tests that run medbill's contract suite for it. Its own tests pass as generated.
"""

from __future__ import annotations

import keyword
from enum import StrEnum
from importlib import resources
from pathlib import Path
from string import Template
from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, print_json
from medbill_core.errors import MedbillError
from medbill_core.hookspecs import API_VERSION


class PluginKind(StrEnum):
    PAYER = "payer"
    CHANNEL = "channel"
    RENDERER = "renderer"


#: the module holding the kind's class, and the words the README uses for it
_KIND_MODULE = {PluginKind.PAYER: "adapter", PluginKind.CHANNEL: "channel",
                PluginKind.RENDERER: "renderer"}
_KIND_WORDS = {PluginKind.PAYER: "payer adapters (real 999, 277CA, 835, 271 and 277 documents "
                                 "through the adapter and through the core)",
               PluginKind.CHANNEL: "submission channels",
               PluginKind.RENDERER: "statement renderers"}
_CLASS_SUFFIX = {PluginKind.PAYER: "Adapter", PluginKind.CHANNEL: "Channel",
                 PluginKind.RENDERER: "Renderer"}
_USAGE = {
    PluginKind.PAYER: '\nA payer uses the adapter by its identifier:\n\n```toml\n'
                      '[payers.acme]\npayer_id = "ACME1"\nname = "Acme Health Plan"\n'
                      'adapter = "${identifier}"\nchannel = "..."\n\n[payers.acme.options]\n'
                      'submitter_id = "..."\nreceiver_id = "..."\nsubmitter_phone = "..."\n'
                      '```\n',
    PluginKind.CHANNEL: '\nA payer sends through the channel by its identifier: '
                        '`channel = "${identifier}"` in `[payers.<key>]`.\n',
    PluginKind.RENDERER: '\nStatements use it with `medbill statements run --renderer '
                         '${identifier}`.\n',
}


def check_name(name: str) -> str:
    """``name`` when it can name a plugin (a lower-case Python identifier), else an error."""
    if not name.isidentifier() or not name.isascii() or keyword.iskeyword(name):
        raise MedbillError(f"plugin name {name!r}: use a Python identifier (letters, digits "
                           "and '_', not starting with a digit), e.g. acme_payer")
    if name != name.lower():
        raise MedbillError(f"plugin name {name!r}: use lower case (it is the name in "
                           f"medbill.toml and the entry point), e.g. {name.lower()}")
    return name


def template_values(name: str, kind: PluginKind) -> dict[str, str]:
    parts = [part for part in name.split("_") if part]
    if len(parts) > 1 and parts[-1] == kind.value:  # acme_payer -> AcmeAdapter
        parts.pop()
    class_name = "".join(part.capitalize() for part in parts)
    if not class_name.endswith(_CLASS_SUFFIX[kind]):
        class_name += _CLASS_SUFFIX[kind]
    dependencies = ['  "medbill>=0.1.0",\n']
    if kind is PluginKind.PAYER:
        dependencies.append('  "medbill-payer-generic-x12>=0.1.0",\n')
    title = name.replace("_", " ").title()
    values = {"name": name, "package": f"medbill_{name}",
              "distribution": "medbill-" + name.replace("_", "-"),
              "class_name": class_name, "identifier": name, "title": title,
              "description": f"{title}: a medbill {kind.value} plugin.",
              "dependencies": "".join(dependencies), "kind_words": _KIND_WORDS[kind],
              "api_version": API_VERSION}
    plugins = ['"payer_generic_x12"'] if kind is PluginKind.PAYER else []
    values["enable_list"] = ", ".join([*plugins, f'"{name}"'])
    values["usage"] = Template(_USAGE[kind]).substitute(values)
    return values


def plugin_files(name: str, kind: PluginKind) -> dict[str, str]:
    """The generated package's files: relative path -> text."""
    values = template_values(check_name(name), kind)
    templates = resources.files("medbill_core.testing").joinpath("templates")

    def render(folder: str, template: str) -> str:
        text = templates.joinpath(folder, template).read_text(encoding="utf-8")
        return Template(text).substitute(values)

    package, module = values["package"], _KIND_MODULE[kind]
    return {
        "pyproject.toml": render("common", "pyproject.toml.tmpl"),
        "README.md": render("common", "README.md.tmpl"),
        f"{package}/__init__.py": render("common", "__init__.py.tmpl"),
        f"{package}/plugin.py": render(kind.value, "plugin.py.tmpl"),
        f"{package}/{module}.py": render(kind.value, f"{module}.py.tmpl"),
        "tests/conftest.py": render("common", "conftest.py.tmpl"),
        "tests/test_contract.py": render(kind.value, "test_contract.py.tmpl"),
    }


def write_plugin(name: str, kind: PluginKind, directory: Path) -> list[Path]:
    """Write the package into ``directory`` (created; refused when it exists non-empty)."""
    files = plugin_files(name, kind)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise MedbillError(f"{directory}: exists and is not an empty directory; choose "
                           "another with --dir")
    written = []
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@cli_errors
def new_plugin(
    name: Annotated[str, typer.Argument(help="Plugin name: a lower-case Python identifier "
                                             "(the name in medbill.toml), e.g. acme_payer")],
    kind: Annotated[PluginKind, typer.Option("--kind", help="What the plugin provides",
                                             case_sensitive=False)],
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Directory to create the package in (default: ./medbill-NAME)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a plugin package (payer adapter, channel or renderer) whose tests run medbill's
    contract suite, ready to install with pip install -e '.\\[test]'."""
    check_name(name)
    target = directory or Path("medbill-" + name.replace("_", "-"))
    written = write_plugin(name, kind, target)
    if as_json:
        print_json({"name": name, "kind": kind.value, "directory": str(target),
                    "files": [str(path.relative_to(target)) for path in written]})
        return
    typer.echo(f"created {kind.value} plugin {name} in {target} ({len(written)} files); next: "
               f"pip install -e '{target}[test]' && pytest {target}")

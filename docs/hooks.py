"""MkDocs hooks (``hooks:`` in mkdocs.yml): the reference pages, generated at build time.

Nothing here is checked in as Markdown, so the site cannot go stale:

* ``reference/hooks.md``: every hookspec of :mod:`medbill_core.hookspecs` (signature,
  docstring, firstresult or collected, options) with its example from
  ``docs/hook_examples/<hook name>.py``; a hook without an example is a build warning, which
  ``mkdocs build --strict`` turns into a failure;
* ``reference/testing.md``: the test kit, from the docstrings of its contract suites;
* ``reference/cli.md``: every command of the Typer application (the core's command table
  loaded in full), then the commands each installed plugin adds;
* ``plugins/<name>/index.md``: each ``plugins/<name>/README.md`` with the files of
  ``plugins/<name>/docs/`` it shows; the pages are appended to the navigation.

``@API_VERSION@`` in any page is replaced by :data:`medbill_core.hookspecs.API_VERSION`, and
``@LIFECYCLE_TABLE@`` by the claim states' table of :mod:`medbill_core.lifecycle`.
"""

from __future__ import annotations

import html
import importlib
import inspect
import logging
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.plugins.medbill_reference")

DOCS_DIR = Path(__file__).resolve().parent
REPO_ROOT = DOCS_DIR.parent
PLUGINS_DIR = REPO_ROOT / "plugins"
EXAMPLES_DIR = DOCS_DIR / "hook_examples"
HOOKS_PAGE = "reference/hooks.md"
CLI_PAGE = "reference/cli.md"
TESTING_PAGE = "reference/testing.md"
#: Where the test kit's suites live (``medbill_core.api.testing`` re-exports them).
CONTRACTS_MODULE = "medbill_core.testing.contracts"
API_VERSION_TOKEN = "@API_VERSION@"
LIFECYCLE_TOKEN = "@LIFECYCLE_TABLE@"
PROGRAM = "medbill"


# -------------------------------------------------------------------------------------------------
# MkDocs event handlers
# -------------------------------------------------------------------------------------------------


def on_config(config: Any) -> Any:
    """Append one navigation entry per plugin README (the list follows the plugins/ folder)."""
    pages = [{name: f"plugins/{name}/index.md"} for name in plugin_names()]
    if pages and config.nav is not None:
        config.nav.append({"Plugins": pages})
    return config


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, HOOKS_PAGE, content=hooks_page()))
    files.append(File.generated(config, CLI_PAGE, content=cli_page()))
    files.append(File.generated(config, TESTING_PAGE, content=testing_page()))
    for name in plugin_names():
        readme = PLUGINS_DIR / name / "README.md"
        files.append(File.generated(config, f"plugins/{name}/index.md",
                                    content=plugin_page(name, readme.read_text("utf-8"))))
        assets = PLUGINS_DIR / name / "docs"
        for asset in sorted(assets.rglob("*")) if assets.is_dir() else ():
            if asset.is_file() and asset.suffix != ".md":
                uri = f"plugins/{name}/docs/{asset.relative_to(assets).as_posix()}"
                files.append(File.generated(config, uri, abs_src_path=str(asset)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    from medbill_core.hookspecs import API_VERSION

    markdown = markdown.replace(API_VERSION_TOKEN, API_VERSION)
    if LIFECYCLE_TOKEN in markdown:
        markdown = markdown.replace(LIFECYCLE_TOKEN, lifecycle_table())
    return markdown


def lifecycle_table() -> str:
    """The claim states, who acts next in each, and where each may go (lifecycle.py)."""
    from medbill_core.lifecycle import ALLOWED_TRANSITIONS, NEXT_ACTOR

    rows = ["| state | who acts next | may move to |", "|---|---|---|"]
    for state, targets in ALLOWED_TRANSITIONS.items():
        allowed = ", ".join(f"`{target.value}`" for target in sorted(targets)) or "(final)"
        rows.append(f"| `{state.value}` | {NEXT_ACTOR.get(state, '')} | {allowed} |")
    return "\n".join(rows)


# -------------------------------------------------------------------------------------------------
# Hooks
# -------------------------------------------------------------------------------------------------


def hookspecs() -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    """``(phase, function, spec options)`` of every hookspec, in the module's order."""
    module = importlib.import_module("medbill_core.hookspecs")
    marker = f"{module.PROJECT_NAME}_spec"
    phases = phase_of_each_hook(inspect.getsource(module))
    found = []
    for name, value in vars(module).items():
        options = getattr(value, marker, None)
        if callable(value) and isinstance(options, dict):
            found.append((phases.get(name, "Other hooks"), value, options))
    return found


def phase_of_each_hook(source: str) -> dict[str, str]:
    """The section comment (``# Start-up: ...`` between two ruled lines) above each hook."""
    phases: dict[str, str] = {}
    current = "Hooks"
    lines = source.splitlines()
    for index, line in enumerate(lines):
        ruled = index > 0 and lines[index - 1].startswith("# ---")
        if ruled and line.startswith("# ") and not line.startswith("# ---"):
            current = line[2:].strip()
        match = re.match(r"def (\w+)\(", line)
        if match:
            phases[match.group(1)] = current
    return phases


def hooks_page() -> str:
    module = importlib.import_module("medbill_core.hookspecs")
    specs = hookspecs()
    out = ["# Every hook", "",
           f"Plugin API version **{module.API_VERSION}**; hooks are declared in "
           "`medbill_core/hookspecs.py`. This page is generated from that module when the "
           "site is built.", ""]
    out += [rst_to_markdown(inspect.getdoc(module) or ""), ""]
    out += ["| hook | phase | results |", "|---|---|---|"]
    for phase, function, options in specs:
        out.append(f"| [`{function.__name__}`](#{function.__name__}) | {phase} | "
                   f"{'first non-None result' if options.get('firstresult') else 'collected'} |")
    out.append("")
    previous_phase = None
    for phase, function, options in specs:
        if phase != previous_phase:
            out += [f"## {phase}", ""]
            previous_phase = phase
        out += hook_section(function, options)
    return "\n".join(out) + "\n"


def hook_section(function: Callable[..., Any], options: dict[str, Any]) -> list[str]:
    name = function.__name__
    out = [f"### `{name}` {{#{name}}}", "", "```python", hook_signature(function, options),
           "```", ""]
    if options.get("firstresult"):
        out.append("**firstresult**: the call stops at the first implementation that returns "
                   "something other than `None`; that value is the result.")
    else:
        out.append("**collected**: every enabled plugin's implementation is called; the "
                   "results are gathered into a list.")
    if options.get("historic"):
        out.append(" **historic**: a plugin registered late is called with the earlier calls.")
    if options.get("warn_on_impl"):
        out.append(f" **Implementing it warns:** {options['warn_on_impl']}")
    out += ["", rst_to_markdown(inspect.getdoc(function) or "(no docstring)"), ""]
    example = EXAMPLES_DIR / f"{name}.py"
    if example.is_file():
        out += ["**Example**", "", "```python", example.read_text("utf-8").rstrip(), "```", ""]
    else:
        log.warning("hook %s has no example: add docs/hook_examples/%s.py", name, name)
    return out


def hook_signature(function: Callable[..., Any], options: dict[str, Any]) -> str:
    """The declaration as in the module (annotations are strings there: shown as written)."""
    signature = inspect.signature(function)
    flags = [key for key in ("firstresult", "historic") if options.get(key)]
    decorator = "@hookspec" + (f"({', '.join(f'{flag}=True' for flag in flags)})" if flags else "")
    parameters = [f"    {name}: {parameter.annotation}"
                  if parameter.annotation is not inspect.Parameter.empty else f"    {name}"
                  for name, parameter in signature.parameters.items()]
    returns = ("" if signature.return_annotation is inspect.Signature.empty
               else f" -> {signature.return_annotation}")
    body = ",\n".join(parameters)
    return f"{decorator}\ndef {function.__name__}(\n{body}\n){returns}: ..." if parameters \
        else f"{decorator}\ndef {function.__name__}(){returns}: ..."


# -- reStructuredText docstrings to Markdown --------------------------------------------------

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(~?)([^`]+)`")
_DOUBLE_BACKTICKS = re.compile(r"``(.+?)``")
_FIELD = re.compile(
    r":(param|parameter|arg|returns?|raises?|rtype|ivar|cvar)\b\s*([\w.]*)\s*:\s*(.*)")
_DIRECTIVE = re.compile(r"\.\. ([\w-]+)::\s*(.*)")
_ADMONITIONS = {"deprecated": ("warning", "Deprecated since version {}"),
                "versionchanged": ("note", "Changed in version {}"),
                "note": ("note", "{}"), "warning": ("warning", "{}"),
                "seealso": ("info", "See also")}


def inline(text: str) -> str:
    """Roles and literals: ``:class:`~a.b.C``` -> `C`, ````x```` -> `x`."""

    def role(match: re.Match[str]) -> str:
        short, target = match.group(1), match.group(2)
        label = re.match(r"(.*?)\s*<.*>$", target, re.S)
        if label:
            return f"`{label.group(1)}`"
        target = "".join(target.split())  # a long target may be wrapped in the docstring
        return f"`{target.rsplit('.', 1)[-1] if short else target}`"

    return _DOUBLE_BACKTICKS.sub(r"`\1`", _ROLE.sub(role, text))


def _blocks(lines: list[str]) -> Iterator[tuple[str, str, list[str]]]:
    """Split a docstring into ("text", "", lines), ("field", head, lines) and
    ("directive", head, body lines); an indented line continues the block before it."""
    kind, head, body = "text", "", []  # type: tuple[str, str, list[str]]
    for line in lines:
        field = _FIELD.match(line)
        directive = _DIRECTIVE.match(line)
        if field or directive:
            if body or kind != "text":
                yield kind, head, body
            if field:
                kind, head, body = "field", f"{field.group(1)} {field.group(2)}".strip(), \
                    [field.group(3)]
            else:
                assert directive is not None
                kind, head, body = "directive", f"{directive.group(1)} {directive.group(2)}", []
            continue
        if kind != "text" and line and not line[0].isspace():
            yield kind, head, body
            kind, head, body = "text", "", []
        if kind != "text" and not line.strip():
            body.append("")
            continue
        body.append(line)
    if body or kind != "text":
        yield kind, head, body


_UNDERLINE = re.compile(r"([-=~^])\1{2,}")
_LIST_ITEM = re.compile(r"([*+-]|\d+[.)])\s")


def _indented(line: str) -> bool:
    return bool(line) and line[0].isspace()


def _text(lines: list[str]) -> list[str]:
    """Body text: reST literal blocks (a paragraph ending ``::``) become fenced code, section
    titles (underlined) headings, and definition lists (a term, its text indented below)
    Markdown definition lists."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.rstrip().endswith("::"):
            lead = line.rstrip()[:-2].rstrip()
            if lead:
                out.append(inline(lead) + ":")
            block: list[str] = []
            index += 1
            while index < len(lines) and (not lines[index].strip() or _indented(lines[index])):
                block.append(lines[index])
                index += 1
            out += ["", "```python", textwrap.dedent("\n".join(block)).strip("\n"), "```", ""]
            continue
        if line.strip() and _UNDERLINE.fullmatch(following.strip()) \
                and len(following.strip()) >= len(line.strip()):
            out += ["", f"## {inline(line.strip())}", ""]
            index += 2
            continue
        if line.strip() and not _indented(line) and _indented(following) \
                and not _LIST_ITEM.match(line):
            definition: list[str] = []
            index += 1
            while index < len(lines) and _indented(lines[index]):
                definition.append(lines[index].strip())
                index += 1
            out += ["", inline(line.strip()), f":   {inline(' '.join(definition))}", ""]
            continue
        out.append(inline(line))
        index += 1
    return out


def rst_to_markdown(docstring: str) -> str:
    out: list[str] = []
    params: list[str] = []
    tail: list[str] = []
    for kind, head, body in _blocks(docstring.splitlines()):
        if kind == "text":
            out += _text(body)
            continue
        text = inline(" ".join(part.strip() for part in body if part.strip()))
        if kind == "field":
            role, _, name = head.partition(" ")
            if role in ("param", "parameter", "arg", "ivar", "cvar"):
                params.append(f"* `{name}`: {text}")
            elif role in ("returns", "return"):
                tail += [f"**Returns:** {text}", ""]
            elif role in ("raises", "raise"):
                tail += [f"**Raises** `{name}`: {text}", ""]
            continue
        directive, _, argument = head.partition(" ")
        if directive == "versionadded":
            tail += [f"*Added in plugin API version {argument.strip()}.*"
                     + (f" {text}" if text else ""), ""]
        else:
            style, title = _ADMONITIONS.get(directive, ("note", directive + " {}"))
            body_md = textwrap.indent(text or argument.strip(), "    ")
            title_text = title.format(argument.strip()).strip().replace('"', "'")
            tail += [f'!!! {style} "{title_text}"', "", body_md, ""]
    if params:
        out += ["", "**Parameters**", "", *params]
    if tail:
        out += ["", *tail]
    return "\n".join(out).strip()


# -------------------------------------------------------------------------------------------------
# The test kit
# -------------------------------------------------------------------------------------------------


def testing_page() -> str:
    """The contract suites: the module's docstring, then each suite and the tests it runs."""
    module = importlib.import_module(CONTRACTS_MODULE)
    out = ["# The test kit", "",
           "Plugin tests import the kit from `medbill_core.api.testing`: the contract suites "
           f"below (defined in `{CONTRACTS_MODULE}`), the factories of domain objects, and "
           "the pytest fixtures of medbill's pytest plugin, active once medbill is installed. "
           "This page is generated from the kit's docstrings when the site is built.", "",
           rst_to_markdown(inspect.getdoc(module) or ""), ""]
    suites = [value for name, value in vars(module).items()
              if inspect.isclass(value) and name.endswith("Contract")
              and value.__module__ == module.__name__]
    for suite in suites:
        out += [f"## `{suite.__name__}` {{#{suite.__name__}}}", ""]
        bases = [base.__name__ for base in suite.__bases__ if base is not object]
        if bases:
            out += [f"Extends {', '.join(f'`{base}`' for base in bases)}.", ""]
        out += [rst_to_markdown(inspect.getdoc(suite) or ""), "", "Tests it runs:", ""]
        for name, member in inspect.getmembers(suite, inspect.isfunction):
            if name.startswith("test_"):
                summary = (inspect.getdoc(member) or "").split("\n\n")[0]
                out.append(f"* `{name}`" + (f": {inline(' '.join(summary.split()))}"
                                            if summary else ""))
        out.append("")
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------------------
# CLI reference
# -------------------------------------------------------------------------------------------------


def click_root(app: Any) -> Any:
    import typer

    return typer.main.get_command(app)


def walk_commands(command: Any, ctx: Any,
                  path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Every visible command below (and including) ``command``, depth first, in listing order."""
    from typer._click.core import Context

    yield path, command, ctx
    list_commands = getattr(command, "list_commands", None)
    for name in list_commands(ctx) if list_commands else ():
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from walk_commands(sub, Context(sub, info_name=name, parent=ctx), (*path, name))


def command_paths(app: Any) -> dict[tuple[str, ...], tuple[Any, Any]]:
    from typer._click.core import Context

    root = click_root(app)
    return {path: (command, ctx) for path, command, ctx
            in walk_commands(root, Context(root, info_name=PROGRAM), (PROGRAM,))}


def plugin_command_registrars() -> list[tuple[str, Callable[..., Any]]]:
    """``(plugin name, medbill_register_commands)`` of each installed plugin that adds commands."""
    from medbill_core.loading import installed_plugins, load_enabled

    found = []
    for plugin in installed_plugins():
        [(name, module)] = load_enabled([plugin.name])
        register = getattr(module, "medbill_register_commands", None)
        if register is not None:
            found.append((name, register))
    return found


def md_text(text: str) -> str:
    """Help text as Markdown that shows it literally (help is written for a terminal, in
    rich markup: ``\\[`` is a bracket shown as such)."""
    text = html.escape(text.replace("\\[", "["), quote=False)
    return re.sub(r"([\\`*_\[\]#])", r"\\\1", text)


def command_anchor(path: tuple[str, ...]) -> str:
    return "-".join(path)


def help_paragraphs(help_text: str) -> list[str]:
    """Click's help: paragraphs separated by blank lines; ``\\b`` marks unwrapped ones."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", inspect.cleandoc(help_text)):
        lines = [line for line in paragraph.splitlines() if line.strip() != "\b"]
        if lines:
            paragraphs.append("<br>\n".join(md_text(line.strip()) for line in lines)
                              if paragraph.lstrip().startswith("\b")
                              else md_text(" ".join(line.strip() for line in lines)))
    return paragraphs


def command_section(path: tuple[str, ...], command: Any, ctx: Any, level: int) -> list[str]:
    name = " ".join(path)
    out = [f"{'#' * min(level, 6)} `{name}` {{#{command_anchor(path)}}}", ""]
    if command.help:
        for paragraph in help_paragraphs(command.help):
            out += [paragraph, ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    out += ["```text", f"{name} {usage}".rstrip(), "```", ""]
    arguments, options = [], []
    for parameter in command.get_params(ctx):
        record = parameter.get_help_record(ctx)
        if record is None or record[0] == "--help":
            continue
        described = f": {md_text(' '.join(record[1].split()))}" if record[1] else ""
        line = f"* `{record[0]}`{described}"
        (arguments if parameter.param_type_name == "argument" else options).append(line)
    if arguments:
        out += ["**Arguments**", "", *arguments, ""]
    if options:
        out += ["**Options**", "", *options, ""]
    subcommands = [(sub, command.get_command(ctx, sub)) for sub in command.list_commands(ctx)] \
        if hasattr(command, "list_commands") else []
    visible = [(sub, obj) for sub, obj in subcommands if obj is not None and not obj.hidden]
    if visible:
        out += ["**Commands**", ""]
        out += [f"* [`{sub}`](#{command_anchor((*path, sub))})"
                + (f": {md_text(obj.get_short_help_str(limit=120))}" if obj.help else "")
                for sub, obj in visible]
        out.append("")
    return out


def cli_page() -> str:
    from medbill_core.cli.main import build_app

    core = command_paths(build_app())
    out = ["# CLI reference", "",
           "Generated from the Typer application when the site is built: first the core's "
           "commands under [`medbill`](#medbill) (`medbill_core/cli/main.py`, "
           "`CORE_COMMAND_TABLE`), then the commands each installed plugin "
           "adds when it is enabled in `medbill.toml`.", "",
           "Every command follows the same error rule: bad input is one line on stderr naming "
           "the record or field, and a non-zero exit code (2 for usage errors); never a "
           "traceback.", ""]
    for path, (command, ctx) in core.items():
        out += command_section(path, command, ctx, level=len(path) + 1)
    registrars = plugin_command_registrars()
    if registrars:
        out += ["## Commands added by plugins", "",
                "These exist only while the plugin is enabled (`plugins = [...]` in "
                "`[medbill]`).", ""]
    for plugin, register in registrars:
        app = build_app()
        register(app=app)
        added = {path: found for path, found in command_paths(app).items() if path not in core}
        out += [f"### Plugin `{plugin}` {{#plugin-{plugin}}}", "",
                f"See also the [{plugin} page](../plugins/{plugin}/index.md)."
                if (PLUGINS_DIR / plugin / "README.md").is_file() else "", ""]
        for path, (command, ctx) in added.items():
            out += command_section(path, command, ctx, level=len(path) + 2)
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------------------
# Plugin pages
# -------------------------------------------------------------------------------------------------


def plugin_names() -> list[str]:
    return sorted(path.parent.name for path in PLUGINS_DIR.glob("*/README.md"))


#: a README's link into the repository's docs/ folder (its screenshots): ``](../../docs/``
_README_DOCS_LINK = re.compile(r"\]\(\.\./\.\./docs/")


def plugin_page(name: str, readme: str) -> str:
    # the README sits at plugins/<name>/ in the repository and its page at plugins/<name>/ in
    # the site, whose root is docs/: the same file is two folders up there without "docs/"
    body = _README_DOCS_LINK.sub("](../../", readme.rstrip())
    return (f"{body}\n\n---\n\n*This page is `plugins/{name}/README.md`, included "
            "when the site is built.*\n")

"""The documentation site builds with warnings as errors, and leaves out no hook and no command.

The site is built once for this module (``mkdocs build --strict`` into a temporary folder:
a few seconds, nothing fetched). The hooks and commands checked here are found
independently of the build script (docs/hooks.py): from pluggy's view of the hookspecs and
from a walk of the click tree of the full application, so a bug in the generator that drops
a hook or a command fails a test instead of hiding it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pluggy
import pytest
import typer
from typer._click.core import Command, Context

from medbill_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "hook_examples"
PROGRAM = "medbill"

pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e .[docs])")


def build_site(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
         "--site-dir", str(out)],
        cwd=config.parent, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def built(
        tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("site")
    return out, build_site(ROOT / "mkdocs.yml", out)


@pytest.fixture(scope="module")
def site(built: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    out, result = built
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text("utf-8")


def hook_names() -> list[str]:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return sorted(name for name in vars(manager.hook) if name.startswith("medbill_"))


# -- the build ------------------------------------------------------------------------------------


def test_strict_build_passes_without_warnings(
        built: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, result = built
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr
    for name in ("index.html", "concepts/index.html", "money/index.html",
                 "writing-a-payer-plugin/index.html", "api-versioning/index.html",
                 "import-formats/index.html", "reference/hooks/index.html",
                 "reference/testing/index.html", "reference/cli/index.html"):
        assert (out / name).is_file(), name


def test_the_site_loads_nothing_from_elsewhere(site: Path) -> None:
    """No script, stylesheet or font from another host: the site works offline."""
    remote = [(path.relative_to(site), match.group(0))
              for path in site.rglob("*.html")
              for match in re.finditer(r'<(?:script|link|img)[^>]*(?:src|href)="(?:https?:)?//',
                                       path.read_text("utf-8"))]
    assert remote == []


def test_a_hook_without_example_fails_the_strict_build(tmp_path: Path) -> None:
    """The generator's warning is an error under --strict: a new hook cannot ship undocumented."""
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", tmp_path / "docs",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "docs" / "hook_examples" / "medbill_claim_edits.py").unlink()
    result = build_site(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "hook medbill_claim_edits has no example" in result.stderr


# -- hooks ----------------------------------------------------------------------------------------


def test_there_are_hooks_to_check() -> None:
    assert len(hook_names()) >= 15


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_on_the_hooks_page_with_its_example(site: Path, name: str) -> None:
    html = page(site, "reference/hooks")
    assert f'id="{name}"' in html, f"{name} has no section on the hooks page"
    assert f"def {name}(" in html, f"{name}: no signature or example shown"
    example = (EXAMPLES / f"{name}.py").read_text("utf-8")
    first_code_line = next(line for line in example.splitlines()
                           if line.startswith(("@hookimpl", "def ")))
    assert first_code_line.split("(")[0] in html


def test_every_example_belongs_to_a_hook() -> None:
    """No example outlives its hook (a renamed hook renames its example)."""
    assert sorted(path.stem for path in EXAMPLES.glob("*.py")) == hook_names()


#: The public API modules the docs' code imports, and, until they exist in this tree, the
#: modules that define their names today (a stand-in resolves each name from them).
PUBLIC_API_STAND_INS: dict[str, list[str]] = {
    "medbill_core.api": ["medbill_core.hookspecs", "medbill_core.adapters",
                         "medbill_core.pluginctx", "medbill_core.domain",
                         "medbill_core.domain.estimate", "medbill_core.errors",
                         "medbill_core.money", "medbill_core.lifecycle"],
    "medbill_core.api.testing": ["medbill_core.testing.contracts", "medbill_core.testing"],
    "medbill_payer_generic_x12.api": ["medbill_payer_generic_x12.adapter",
                                      "medbill_payer_generic_x12.x12",
                                      "medbill_payer_generic_x12.codec"],
}

STAND_IN_CODE = """
import importlib, sys, types

def install_stand_ins(stand_ins, modules=sys.modules):
    for name, sources in stand_ins.items():
        try:
            importlib.import_module(name)
            continue
        except ModuleNotFoundError as exc:
            if exc.name != name and not name.startswith(f"{exc.name}."):
                raise
        try:
            loaded = [importlib.import_module(source) for source in sources]
        except ModuleNotFoundError:
            continue  # that distribution is not installed: nothing to stand in for

        def resolve(attribute, loaded=loaded, name=name):
            if attribute == "factories":
                return importlib.import_module("medbill_core.testing.factories")
            # until the test kit's document suite is in this tree, its base suite stands in
            aliases = {"PayerDocumentContract": "PayerAdapterContract"}
            for candidate in (attribute, aliases.get(attribute)):
                for module in loaded:
                    if candidate and hasattr(module, candidate):
                        return getattr(module, candidate)
            raise AttributeError(f"{name} has no {attribute!r}")

        stand_in = types.ModuleType(name)
        stand_in.__getattr__ = resolve
        modules[name] = stand_in
"""


@pytest.fixture
def public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """The public API modules importable (the stand-ins are removed after the test)."""
    namespace: dict[str, Any] = {}
    exec(STAND_IN_CODE, namespace)
    installed: dict[str, types.ModuleType] = {}
    namespace["install_stand_ins"](PUBLIC_API_STAND_INS, installed)
    for name, module in installed.items():
        monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.parametrize("name", hook_names())
def test_every_example_is_a_valid_implementation_of_its_hook(public_api: None, name: str) -> None:
    """Each example imports from the public API only and registers: pluggy checks that its
    argument names are the hookspec's."""
    path = EXAMPLES / f"{name}.py"
    imported = {node.module for node in ast.walk(ast.parse(path.read_text("utf-8")))
                if isinstance(node, ast.ImportFrom) and node.module}
    internal = {module for module in imported
                if module.startswith("medbill_core") and module != "medbill_core.api"
                and not module.startswith("medbill_core.api.")}
    assert not internal, f"{path.name} imports internals: {sorted(internal)}"
    spec = importlib.util.spec_from_file_location(f"hook_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(module, name=path.stem)  # PluginValidationError on a wrong signature
    assert [impl.plugin_name for impl in getattr(manager.hook, name).get_hookimpls()] == [name]


def load_example(name: str) -> Any:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hook_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_do_what_their_page_says(public_api: None, tmp_path: Path) -> None:
    """A few examples called as the core would call them, their answers checked."""
    from datetime import datetime
    from decimal import Decimal

    from typer.testing import CliRunner

    from medbill_core.domain import ClaimState, ClaimStatusRequest, DocumentKind, SubmissionFile
    from medbill_core.errors import ValidationFailed
    from medbill_core.lifecycle import Transition
    from medbill_core.testing import factories

    settings = load_example("medbill_plugin_settings_model").medbill_plugin_settings_model()
    assert settings.model_validate({"trading_partner_id": "TP1"}).batch_size == 500
    with pytest.raises(ValueError, match="batsh_size"):
        settings.model_validate({"trading_partner_id": "TP1", "batsh_size": 5})

    [adapter] = load_example("medbill_register_payer_adapters").medbill_register_payer_adapters(
        context=None)
    assert adapter.identifier == "acme" and not adapter.supports_claims()

    priced = load_example("medbill_expected_allowed").medbill_expected_allowed
    acme = factories.make_payer()
    assert priced(payer=acme, procedure_code="99213", modifiers=[], place_of_service="11",
                  service_date=None, context=None) == Decimal("92.50")
    assert priced(payer=acme, procedure_code="99215", modifiers=[], place_of_service="11",
                  service_date=None, context=None) is None

    edits = load_example("medbill_claim_edits").medbill_claim_edits
    consult = factories.make_claim()
    consult = consult.model_copy(update={"lines": [factories.make_line(procedure_code="99243")]})
    claim = factories.make_billable_claim(claim=consult, referring_provider=None)
    assert [(finding.code, finding.line_number) for finding in edits(claim=claim, context=None)
            ] == [("ACME-REF", 1)]

    veto = load_example("medbill_claim_transition_precommit").medbill_claim_transition_precommit
    void = Transition(claim_id=1, claim_number="CLM0001", source=ClaimState.ACCEPTED,
                      target=ClaimState.VOIDED, actor="tester", at=datetime(2026, 1, 5))
    with pytest.raises(ValidationFailed, match="CLM0001"):
        veto(claim=factories.make_claim(), transition=void, context=None)
    veto(claim=factories.make_claim(), transition=void.model_copy(update={"reason": "dup"}),
         context=None)

    asked = load_example("medbill_check_claim_status").medbill_check_claim_status(
        request=ClaimStatusRequest(trace_number="T1", claim=factories.make_billable_claim()),
        context=None)
    assert [(status.claim_number, status.payer_claim_number, status.status_codes[0].category)
            for status in asked.claims] == [("CLM0001", "ACME778812", "A2")]

    channel_module = load_example("medbill_register_channels")
    channel = channel_module.DropFolderChannel(tmp_path)
    batch = SubmissionFile(payer_key="acme", kind=DocumentKind.CLAIM_837P, content="ISA*...",
                           claim_numbers=["CLM0001"], control_number="1", filename="b.x12")
    receipts = [channel.submit(batch, idempotency_key="key-1") for _ in range(2)]
    assert [receipt.submission_id for receipt in receipts] == ["key-1", "key-1"]
    assert [path.name for path in tmp_path.iterdir()] == ["key-1.x12"]

    app = typer.Typer()
    app.command("noop")(lambda: None)
    load_example("medbill_register_commands").medbill_register_commands(app=app)
    result = CliRunner().invoke(app, ["acme", "ping"])
    assert (result.exit_code, result.output.strip()) == (0, "acme: ok")


def test_the_wrapper_example_passes_the_receipt_through(public_api: None) -> None:
    """``medbill_submit_file`` (a wrapper) around another implementation, through pluggy."""
    from medbill_core.domain import DocumentKind, SubmissionFile, SubmissionReceipt

    class Channel:
        @hookspecs.hookimpl
        def medbill_submit_file(self, submission: Any, channel: str,
                                idempotency_key: str) -> SubmissionReceipt:
            return SubmissionReceipt(channel=channel, submission_id="S1", accepted=True)

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(Channel())
    manager.register(load_example("medbill_submit_file"))
    batch = SubmissionFile(payer_key="acme", kind=DocumentKind.CLAIM_837P, content="ISA*...",
                           claim_numbers=["CLM0001"], control_number="1", filename="b.x12")
    receipt = manager.hook.medbill_submit_file(submission=batch, channel="mock",
                                               idempotency_key="k", context=None)
    assert (receipt.submission_id, receipt.accepted) == ("S1", True)


# -- commands -------------------------------------------------------------------------------------


def full_application() -> typer.Typer:
    """The core's commands, all of them loaded, plus what every installed plugin adds."""
    from medbill_core.cli.main import build_app
    from medbill_core.loading import installed_plugins, load_enabled

    app = build_app()
    for plugin in installed_plugins():
        [(_name, module)] = load_enabled([plugin.name])
        register = getattr(module, "medbill_register_commands", None)
        if register is not None:
            register(app=app)
    return app


def command_paths() -> list[str]:
    paths: list[str] = []

    def walk(command: Command, ctx: Context, path: tuple[str, ...]) -> None:
        paths.append(" ".join(path))
        group: Any = command
        for name in group.list_commands(ctx) if hasattr(group, "list_commands") else ():
            sub = group.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                walk(sub, Context(sub, info_name=name, parent=ctx), (*path, name))

    root = typer.main.get_command(full_application())
    walk(root, Context(root, info_name=PROGRAM), (PROGRAM,))
    return paths


COMMANDS = command_paths()


def test_the_walk_sees_core_and_plugin_commands() -> None:
    assert len(COMMANDS) > 100
    assert {"medbill claims submit", "medbill responses fetch", "medbill ar aging"} <= set(COMMANDS)


def test_no_help_text_loses_words_to_markup() -> None:
    """Help is printed as rich markup: an unescaped ``[practice]`` or ``'.[test]'`` is taken
    for a style and vanishes ("A TOML file with its  section"); write ``\\[``."""
    from rich.text import Text

    lost = []

    def walk(command: Command, ctx: Context, path: str) -> None:
        texts = [("help", command.help or "")] + [
            (param.name or "", getattr(param, "help", None) or "") for param in command.params]
        lost.extend(f"{path} {name}" for name, text in texts
                    if Text.from_markup(text).plain != text.replace("\\[", "["))
        group: Any = command
        for name in group.list_commands(ctx) if hasattr(group, "list_commands") else ():
            sub = group.get_command(ctx, name)
            if sub is not None:
                walk(sub, Context(sub, info_name=name, parent=ctx), f"{path} {name}")

    root = typer.main.get_command(full_application())
    walk(root, Context(root, info_name=PROGRAM), PROGRAM)
    assert lost == []


@pytest.mark.parametrize("path", COMMANDS)
def test_every_command_is_in_the_cli_reference(site: Path, path: str) -> None:
    html = page(site, "reference/cli")
    assert f'id="{path.replace(" ", "-")}"' in html, f"'{path}' missing from the CLI reference"
    assert f"<code>{path}</code>" in html


def test_plugin_readmes_are_pages(site: Path) -> None:
    readmes = sorted((ROOT / "plugins").glob("*/README.md"))
    assert readmes
    for readme in readmes:
        title = readme.read_text("utf-8").splitlines()[0].lstrip("# ").strip()
        html = page(site, f"plugins/{readme.parent.name}")
        assert title in html, readme
    statement_image = ROOT / "plugins/statements_pdf/docs/statement-page1.png"
    if statement_image.is_file():  # the README shows it: it is copied next to the page
        copied = site / "plugins/statements_pdf/docs/statement-page1.png"
        assert copied.read_bytes() == statement_image.read_bytes()


def test_every_contract_suite_is_on_the_test_kit_page(site: Path) -> None:
    from medbill_core.testing import contracts

    suites = [name for name, value in vars(contracts).items()
              if isinstance(value, type) and name.endswith("Contract")
              and value.__module__ == contracts.__name__]
    assert "PayerAdapterContract" in suites
    html = page(site, "reference/testing")
    for suite in suites:
        assert f'id="{suite}"' in html, suite
        tests = [name for name in dir(getattr(contracts, suite)) if name.startswith("test_")]
        assert tests and all(f"<code>{name}</code>" in html for name in tests), suite


def test_api_version_is_filled_in(site: Path) -> None:
    html = page(site, "api-versioning")
    assert "@API_VERSION@" not in html
    assert f"<strong>{hookspecs.API_VERSION}</strong>" in html


def test_the_readme_states_the_api_version_of_today() -> None:
    """The README's "today X.Y" is the API version (it said 1.0 at 1.9)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`medbill_core.hookspecs.API_VERSION`, today {hookspecs.API_VERSION})" in readme


# -- the guide's plugin ---------------------------------------------------------------------------


def guide_files(markdown: str) -> dict[str, str]:
    """The files of a page: fenced blocks whose first line is ``# file: PATH``."""
    return {match.group(2): match.group(3) for match in re.finditer(
        r"```(\w+)\n# file: (\S+)\n(.*?)```", markdown, re.S)}


#: Until the test kit's document suite is in this tree, the guide's ``PayerDocumentContract``
#: is its base suite. Once the suite exists, nothing is patched: a public API that does not
#: export it then fails the guide's tests, as it would fail a vendor's.
DOCUMENT_SUITE_STAND_IN = """
from medbill_core.testing import contracts as _contracts
if not hasattr(_contracts, "PayerDocumentContract"):
    import medbill_core.api.testing as _kit
    _kit.PayerDocumentContract = _contracts.PayerAdapterContract
"""


def assemble_guide_package(tmp_path: Path, adapter_addition: str = "") -> Path:
    """The package "Writing a payer plugin" shows, written from the page into ``tmp_path``,
    with a conftest that makes the public API importable and registers its plugin module
    with the hookspecs (pluggy validates every hook implementation's arguments)."""
    files = guide_files((ROOT / "docs" / "writing-a-payer-plugin.md").read_text("utf-8"))
    assert {"pyproject.toml", "medbill_acme_payer/adapter.py", "medbill_acme_payer/plugin.py",
            "tests/test_contract.py"} <= set(files)
    files["medbill_acme_payer/adapter.py"] += adapter_addition
    package = tmp_path / "medbill-acme-payer"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text, "utf-8")
    (package / "conftest.py").write_text(
        STAND_IN_CODE + f"\ninstall_stand_ins({PUBLIC_API_STAND_INS!r})\n"
        + DOCUMENT_SUITE_STAND_IN +
        "\nimport pluggy\nfrom medbill_core import hookspecs\n"
        "from medbill_acme_payer import plugin\n"
        "manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)\n"
        "manager.add_hookspecs(hookspecs)\nmanager.register(plugin)\n", "utf-8")
    return package


def run_package_tests(package: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
    path = os.pathsep.join(filter(None, [str(package), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--medbill-backends=sqlite", str(package / "tests")],
        cwd=package, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PYTHONPATH": path})
    counts = {word: int(number) for number, word in
              re.findall(r"(\d+) (passed|failed|errors?|skipped)", result.stdout)}
    return result, counts


def test_the_payer_plugin_of_the_guide_passes_its_tests(tmp_path: Path) -> None:
    pytest.importorskip("medbill_payer_generic_x12", reason="the guide's plugin builds on it")
    result, counts = run_package_tests(assemble_guide_package(tmp_path))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert counts.get("passed", 0) >= 6 and not counts.get("failed"), result.stdout[-2000:]


#: What the issue-13 plugin did: ``decode`` handing the core the X12 engine's
#: ``(kind, objects)`` tuple instead of domain objects.
TUPLE_DECODE = """

from medbill_payer_generic_x12.api import decode_document


def _decode_to_the_engines_tuple(self, document):
    text = document.content.lstrip()
    if not text.startswith(("ISA", "ST")):
        return None
    return decode_document(text)


AcmeAdapter.decode = _decode_to_the_engines_tuple
AcmeAdapter.stream_remittances = lambda self, document: None
"""


def test_the_guide_plugin_with_a_tuple_decode_fails_its_tests(tmp_path: Path) -> None:
    """The issue's defect, made in the guide's plugin, is caught by the suite the guide wires."""
    from medbill_core.testing import contracts

    pytest.importorskip("medbill_payer_generic_x12", reason="the guide's plugin builds on it")
    if not hasattr(contracts, "PayerDocumentContract"):
        pytest.skip("the test kit's document contract is not in this tree")
    result, counts = run_package_tests(assemble_guide_package(tmp_path, TUPLE_DECODE))
    assert result.returncode != 0
    assert counts.get("failed", 0) >= 3, result.stdout[-3000:]


@pytest.mark.parametrize("page_name", ["money.md", "webhooks.md"])
def test_python_examples_of_the_page_run(page_name: str) -> None:
    markdown = (ROOT / "docs" / page_name).read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", markdown, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, page_name, "exec"), {"__name__": "docs_example"})

"""The declared plugin API (medbill_core.api, api.testing, api.cli; the X12 engine's api) and
the import contract that holds plugins to it (.importlinter, also run by `make lint`)."""

from __future__ import annotations

import ast
import configparser
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_PACKAGES = ("medbill_payer_generic_x12", "medbill_payer_medicare",
                   "medbill_clearinghouse_mock", "medbill_statements_pdf",
                   "medbill_claim_forms_pdf", "medbill_workspace_web")
API_MODULES = ("medbill_core.api", "medbill_core.api.testing", "medbill_core.api.cli",
               "medbill_core.api.http", "medbill_core.api.workspace")
ENGINE = "medbill_payer_generic_x12"
#: The plugins that build on the X12 engine: they may import only its api module.
ENGINE_USERS = ("payer_medicare", "clearinghouse_mock")


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


needs_plugins = pytest.mark.skipif(
    not all(_installed(name) for name in PLUGIN_PACKAGES),
    reason="the import contract is checked where every plugin is installed (make setup)")


# -- the API modules ------------------------------------------------------------------------------

@pytest.mark.parametrize("module_name", API_MODULES)
def test_every_public_name_resolves_once(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = module.__all__
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)
    unresolved = [name for name in names if getattr(module, name, None) is None]
    assert unresolved == []
    assert set(names) <= set(dir(module))


@pytest.mark.parametrize("module_name", API_MODULES)
def test_type_checkers_see_what_runs(module_name: str) -> None:
    """The ``if TYPE_CHECKING:`` imports, ``_EXPORTS`` (read at run time) and ``__all__``
    name the same things from the same homes."""
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    [block] = [node for node in tree.body if isinstance(node, ast.If)
               and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"]
    seen = {(alias.asname or alias.name): (node.module, alias.name)
            for node in block.body if isinstance(node, ast.ImportFrom)
            for alias in node.names}
    homes = {}
    for home, entries in module._EXPORTS.items():
        for entry in entries:
            attribute, _, public = entry.partition(" as ")
            homes[public or attribute] = (home, attribute)
    assert seen == homes
    assert set(module.__all__) == set(homes)


def test_a_name_is_its_home_modules_object() -> None:
    from medbill_core import api
    from medbill_core.codesets import mpfs
    from medbill_core.domain import Claim
    from medbill_core.hookspecs import hookimpl
    from medbill_core.services.estimates import estimate

    assert api.Claim is Claim and api.hookimpl is hookimpl
    assert api.estimate_costs is estimate and api.mpfs_schedule_for is mpfs.schedule_for
    with pytest.raises(AttributeError, match="no attribute 'ClaimService'"):
        api.ClaimService  # noqa: B018 - internal: not re-exported


def test_webhook_receivers_verify_signatures_through_the_api_cheaply() -> None:
    """``verify_signature`` is the signing module's own, and importing it for a receiver
    brings in neither the database layer nor the domain model."""
    from medbill_core import api
    from medbill_core.services import webhook_signing

    assert api.verify_signature is webhook_signing.verify_signature
    header = webhook_signing.signature_header("whsec_x", b"{}", timestamp=100)
    assert api.verify_signature("whsec_x", header, b"{}", now=100)
    probe = ("import sys; from medbill_core.api import verify_signature;"
             " print(sorted(m for m in ('pydantic', 'sqlalchemy', 'typer',"
             " 'medbill_core.domain', 'medbill_core.storage') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_importing_the_api_is_cheap() -> None:
    """Plugins import it while the command line starts: the hook marker must not bring in
    pydantic, SQLAlchemy, Typer or the domain model."""
    probe = ("import sys; import medbill_core.api, medbill_core.api.testing, medbill_core.api.cli;"
             " from medbill_core.api import hookimpl, API_VERSION;"
             " print(sorted(m for m in ('pydantic', 'sqlalchemy', 'typer', 'rich',"
             " 'medbill_core.domain', 'medbill_core.testing') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.skipif(not _installed(ENGINE), reason="the X12 engine plugin is not installed")
def test_the_engine_api_names_resolve_once() -> None:
    engine_api = importlib.import_module(f"{ENGINE}.api")
    names = engine_api.__all__
    assert len(names) == len(set(names))
    assert [name for name in names if getattr(engine_api, name, None) is None] == []


# -- the import contract --------------------------------------------------------------------------

def _contract() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter", encoding="utf-8")
    return parser


def _lines(value: str) -> set[str]:
    return {line.strip() for line in value.splitlines()
            if line.strip() and not line.strip().startswith("#")}


def _children(package_dir: Path, package: str) -> set[str]:
    return {f"{package}.{path.stem}" for path in package_dir.iterdir()
            if not path.name.startswith(("_", ".")) and (
                path.suffix == ".py" or (path / "__init__.py").exists())}


def test_the_contract_forbids_every_internal_module() -> None:
    """A new module of the core (or of the engine) is internal from the start: the forbidden
    lists of .importlinter must name it."""
    contract = _contract()
    core = _lines(contract["importlinter:contract:plugins-use-the-public-api"]["forbidden_modules"])
    assert core == _children(ROOT / "medbill_core", "medbill_core") - {"medbill_core.api"}
    engine_dir = ROOT / "plugins" / "payer_generic_x12" / ENGINE
    engine = _lines(contract["importlinter:contract:x12-engine-public-api"]["forbidden_modules"])
    assert engine == _children(engine_dir, ENGINE) - {f"{ENGINE}.api"}


@needs_plugins
def test_lint_imports_keeps_every_contract() -> None:
    result = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def private_imports(path: Path, *, engine_user: bool, root: Path = ROOT) -> list[str]:
    """``file:line module`` for each import in ``path`` of a core module other than the API
    (and, for a plugin built on the X12 engine, of an engine module other than its api)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from medbill_core import x` imports medbill_core.x
            modules = ([f"{node.module}.{alias.name}" for alias in node.names]
                       if node.module in ("medbill_core", ENGINE) else [node.module])
        else:
            continue
        for module in modules:
            top = module.partition(".")[0]
            if ((top == "medbill_core" and module not in API_MODULES)
                    or (engine_user and top == ENGINE and module != f"{ENGINE}.api")):
                found.append(f"{path.relative_to(root)}:{node.lineno} {module}")
    return found


def test_plugins_import_only_the_public_api() -> None:
    """A plain reading of every plugin module and plugin test (no install needed)."""
    found = []
    for plugin_dir in sorted((ROOT / "plugins").iterdir()):
        if plugin_dir.name == "demo":  # not a plugin: it drives the core and every plugin
            continue
        files = [*plugin_dir.glob("medbill_*/**/*.py"), *plugin_dir.glob("tests/**/*.py")]
        for path in sorted(files):
            found += private_imports(path, engine_user=plugin_dir.name in ENGINE_USERS)
    assert found == [], ("import these from medbill_core.api / api.testing / api.cli (or "
                         "medbill_payer_generic_x12.api):\n" + "\n".join(found))


def test_the_scan_finds_a_private_import(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("from medbill_core.domain import Claim\n"
                      "from medbill_core import hookspecs\n"
                      "from medbill_core.api import Claim as C\n"
                      "import medbill_payer_generic_x12.codec\n"
                      "from medbill_payer_generic_x12.api import decode_document\n"
                      "from medbill_core.api.testing import factories\n",
                      encoding="utf-8")
    assert private_imports(module, engine_user=True, root=tmp_path) == [
        "probe.py:1 medbill_core.domain", "probe.py:2 medbill_core.hookspecs",
        "probe.py:4 medbill_payer_generic_x12.codec"]
    assert private_imports(module, engine_user=False, root=tmp_path) == [
        "probe.py:1 medbill_core.domain", "probe.py:2 medbill_core.hookspecs"]

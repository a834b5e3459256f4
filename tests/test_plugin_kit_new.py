"""``medbill plugins new``: the generated package, installed in a fresh virtual environment,
passes its own tests (medbill's contract suite) at once; bad names and occupied directories
are one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import cli, ok, one_line_error

from medbill_core.cli.plugin_new_cmd import PluginKind, plugin_files

ROOT = Path(__file__).resolve().parents[1]
GENERIC_X12 = ROOT / "plugins" / "payer_generic_x12"


@pytest.mark.parametrize("kind", list(PluginKind))
def test_the_package_has_an_entry_point_hooks_a_class_and_contract_tests(kind: PluginKind
                                                                         ) -> None:
    files = plugin_files("acme_thing", kind)
    pyproject = files["pyproject.toml"]
    assert '[project.entry-points."medbill.plugins"]\nacme_thing = "medbill_acme_thing.plugin"' \
        in pyproject
    assert '"medbill>=0.1.0"' in pyproject
    assert ('"medbill-payer-generic-x12>=0.1.0"' in pyproject) is (kind is PluginKind.PAYER)
    assert "@hookimpl" in files["medbill_acme_thing/plugin.py"]
    assert 'identifier: ClassVar[str] = "acme_thing"' in "".join(files.values())
    assert "from medbill_core.api.testing import" in files["tests/test_contract.py"]
    imported = re.findall(r"^from (medbill_core[\w.]*) import", "".join(files.values()), re.M)
    assert set(imported) <= {"medbill_core.api", "medbill_core.api.testing"}, \
        "a generated plugin uses the public API only"
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")  # every generated module is valid Python
        assert "${" not in text, f"{path}: a template value was left unfilled"


def test_the_command_writes_the_package(tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = ok(None, "plugins", "new", "acme_payer", "--kind", "payer", "--dir", str(target),
                "--json")
    written = json.loads(result.stdout)
    assert (written["name"], written["kind"], written["directory"]) == (
        "acme_payer", "payer", str(target))
    assert {"pyproject.toml", "README.md", "medbill_acme_payer/adapter.py",
            "tests/test_contract.py"} <= set(written["files"])
    assert (target / "medbill_acme_payer" / "adapter.py").read_text().startswith(
        '"""AcmeAdapter: a payer adapter')


@pytest.mark.parametrize("name", ["9lives", "acme-payer", "Acme", "class", "acmé"])
def test_a_name_that_is_not_a_lower_case_identifier_is_refused(tmp_path: Path,
                                                                 name: str) -> None:
    line = one_line_error(cli(None, "plugins", "new", name, "--kind", "channel", "--dir",
                              str(tmp_path / "x")))
    assert f"plugin name {name!r}" in line
    assert not (tmp_path / "x").exists()


def test_an_existing_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    line = one_line_error(cli(None, "plugins", "new", "acme", "--kind", "renderer", "--dir",
                              str(tmp_path)))
    assert "exists and is not an empty directory" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def _run(argv: list[str], cwd: Path, timeout: float) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{' '.join(argv[:4])}...:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_generated_packages_pass_their_own_tests_in_a_fresh_venv(tmp_path: Path) -> None:
    """One fresh venv for the three kinds: the core and the generic X12 engine installed
    editable from this checkout, the generated packages with their test extras."""
    packages = {}
    for kind in PluginKind:
        target = tmp_path / f"medbill-acme-{kind.value}"
        ok(None, "plugins", "new", f"acme_{kind.value}", "--kind", kind.value, "--dir",
           str(target))
        packages[kind] = target
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, 120)
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--quiet", "setuptools>=77", "wheel"], tmp_path, 300)
    editable = [arg for path in (ROOT, GENERIC_X12) for arg in ("-e", str(path))]
    editable += [arg for path in packages.values() for arg in ("-e", f"{path}[test]")]
    _run([python, "-m", "pip", "install", "--quiet", "--no-build-isolation", *editable],
         tmp_path, 600)
    for kind, target in packages.items():
        output = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       "--medbill-backends=sqlite"], target, 300)
        summary = output.strip().splitlines()[-1]
        passed = re.search(r"(\d+) passed", summary)
        assert passed and int(passed.group(1)) > 0, f"{kind}: {summary}"
        assert "failed" not in summary and "error" not in summary, f"{kind}: {summary}"

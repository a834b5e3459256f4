"""The type hints check: mypy, configured in pyproject.toml (strict), finds no error in the
core and in the plugins shipped here, as ``make lint`` checks them. This test is how CI,
which runs only ``make test``, keeps it at zero."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mypy(cache: Path, *args: str, cwd: Path = ROOT,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # the cache goes to a temporary folder, never into the repository
    return subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _installed_plugins() -> list[Path]:
    """The folders of the plugins shipped here that are installed (none for the core
    alone): mypy finds their packages on MYPYPATH (installed editable, it cannot)."""
    folders = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
    return [folder for folder in folders
            if importlib.util.find_spec(next(folder.glob("medbill_*/__init__.py")).parent.name)]


def test_mypy_finds_no_error(tmp_path: Path) -> None:
    plugins = _installed_plugins()
    packages = ["medbill_core", *(next(f.glob("medbill_*/__init__.py")).parent.name
                                  for f in plugins)]
    env = {**os.environ, "MYPYPATH": os.pathsep.join(str(f) for f in plugins)}
    run = _mypy(tmp_path / "cache", *(arg for name in packages for arg in ("-p", name)),
                env=env)
    errors = [line for line in run.stdout.splitlines() if ": error: " in line]
    assert run.returncode == 0 and not errors, (
        f"mypy over {', '.join(packages)}: exit {run.returncode}, {len(errors)} error(s):\n"
        f"{run.stdout}{run.stderr}")
    # and it checked the core: a run over nothing would also succeed
    checked = re.search(r"Success: no issues found in (\d+) source files", run.stdout)
    core_modules = len(list((ROOT / "medbill_core").rglob("*.py")))
    assert checked is not None and int(checked.group(1)) >= core_modules, run.stdout


def test_mypy_configuration_is_strict(tmp_path: Path) -> None:
    # an unannotated function fails the configured check (strict = true)
    probe = tmp_path / "probe.py"
    probe.write_text("def untyped(value):\n    return value\n", encoding="utf-8")
    run = _mypy(tmp_path / "cache", "--config-file", str(ROOT / "pyproject.toml"), str(probe),
                cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Function is missing a type annotation  [no-untyped-def]" in run.stdout, run.stdout

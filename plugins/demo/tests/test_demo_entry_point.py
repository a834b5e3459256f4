"""`medbill demo` (the core's command) runs this distribution's runner, found by entry point
(the core never imports medbill_demo: `make lint`'s import contract keeps it so)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import medbill_demo.runner
import pytest
from medbill_demo.__main__ import main as demo_main

from medbill_core.cli.demo_cmd import demo_runner


def test_the_core_command_finds_the_installed_demo() -> None:
    assert demo_runner() is medbill_demo.runner.run_demo


def _module_demo(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "medbill_demo", *arguments],
                          capture_output=True, text=True, timeout=120, check=False)


def test_python_m_medbill_demo_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    """What `make demo` runs, given a file for the folder or no claims: one line, no
    traceback, a non-zero exit, nothing written."""
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    not_a_folder = _module_demo("--out", str(taken), "--claims", "3")
    assert (not_a_folder.returncode, not_a_folder.stderr) == (1, f"error: {taken}: File exists\n")
    for claims, why in [("0", "give 1 or more"), ("many", "'many' is not a whole number")]:
        refused = _module_demo("--out", str(tmp_path / "out"), "--claims", claims)
        assert refused.returncode == 2
        assert refused.stderr.splitlines()[-1].endswith(f"argument --claims: {why}")
        assert "Traceback" not in refused.stderr
    assert not (tmp_path / "out").exists()


def test_a_simulator_that_cannot_start_is_one_error_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from medbill_clearinghouse_mock.simulator.process import ProcessServer, SimulatorStartError

    def refuse(self: ProcessServer, timeout: float = 30.0) -> ProcessServer:
        raise SimulatorStartError("the clearinghouse simulator did not start: exit code 1")

    monkeypatch.setattr(ProcessServer, "start", refuse)
    monkeypatch.setattr(sys, "argv", ["medbill_demo", "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as ended:
        demo_main()
    assert ended.value.code == 1
    assert capsys.readouterr().err == ("error: the clearinghouse simulator did not start: "
                                       "exit code 1\n")

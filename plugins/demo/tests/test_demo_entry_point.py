"""`medbill demo` (the core's command) runs this distribution's runner, found by entry point
(the core never imports medbill_demo: `make lint`'s import contract keeps it so)."""

from __future__ import annotations

import medbill_demo.runner

from medbill_core.cli.demo_cmd import demo_runner


def test_the_core_command_finds_the_installed_demo() -> None:
    assert demo_runner() is medbill_demo.runner.run_demo

"""The command line imports only the module of the command it runs: each core command built
alone (in a fresh interpreter, as `medbill CMD ...` does) has every sub-command the whole
application has under that name -- a command another module adds to a group (cycle_cmd adds
`claims submit`) must not go missing when only that group is built."""

from __future__ import annotations

import json
import subprocess
import sys

import typer

from medbill_core.cli.main import CORE_COMMAND_TABLE, build_app

_LEAVES = """
import json, sys
import typer
from medbill_core.cli.main import build_app

def leaves(node, path=()):
    commands = getattr(node, "commands", None)
    if commands is None:
        yield list(path)
        return
    for name, child in commands.items():
        yield from leaves(child, (*path, name))

print(json.dumps(sorted(leaves(typer.main.get_command(build_app(sys.argv[1]))))))
"""


def _leaves(node: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    commands = getattr(node, "commands", None)
    if commands is None:
        return [path]
    return [leaf for name, child in commands.items() for leaf in _leaves(child, (*path, name))]


def test_each_core_command_built_alone_has_all_its_sub_commands() -> None:
    full = _leaves(typer.main.get_command(build_app()))
    assert {("claims", "submit"), ("claims", "status"), ("claims", "list")} <= set(full)
    names = sorted(CORE_COMMAND_TABLE)
    # one interpreter per command, two at a time: each must import what its group needs
    procs = {}
    for name in names:
        procs[name] = subprocess.Popen([sys.executable, "-c", _LEAVES, name],
                                       stdout=subprocess.PIPE, text=True)
        if len(procs) % 2 == 0:
            for pending in procs.values():
                pending.wait()
    missing = {}
    for name, proc in procs.items():
        out, _ = proc.communicate()
        assert proc.returncode == 0, name
        alone = {tuple(leaf) for leaf in json.loads(out)}
        wanted = {leaf for leaf in full if leaf[0] == name}
        if alone != wanted:
            missing[name] = sorted(wanted - alone)
    assert missing == {}


def test_the_table_names_every_core_command_once() -> None:
    assert {leaf[0] for leaf in _leaves(typer.main.get_command(build_app()))} == set(
        CORE_COMMAND_TABLE)


def test_the_root_help_lists_every_core_command_with_its_own_summary() -> None:
    """`medbill --help` is printed from stand-ins (no command module imported): each must
    carry the summary the real command shows."""
    from typer._click.core import Context  # typer vendors click

    def listing(app: typer.Typer) -> dict[str, str]:
        group = typer.main.get_command(app)
        ctx = Context(group)
        return {name: group.get_command(ctx, name).get_short_help_str(limit=10_000)
                for name in group.list_commands(ctx)}

    stand_ins = listing(build_app(help_only=True))
    assert stand_ins == listing(build_app())
    assert list(stand_ins) == list(CORE_COMMAND_TABLE)


def test_medbill_help_imports_no_command_module() -> None:
    probe = ("import sys; from medbill_core.cli.main import application;"
             " application(['--help']);"
             " print(sorted(m for m in sys.modules if m.startswith('medbill_core.cli.')"
             " and m.endswith('_cmd')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"

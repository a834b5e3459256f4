"""Meta-tests: every hook is prefixed, typed, documented, and exercised by some test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from medbill_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if callable(value) and getattr(value, "medbill_spec", None) is not None)


def test_there_are_hooks_and_all_are_prefixed() -> None:
    assert len(HOOKS) >= 15
    assert all(name.startswith("medbill_") for name in HOOKS)
    functions = {name for name, value in vars(hookspecs).items()
                 if inspect.isfunction(value) and value.__module__ == hookspecs.__name__}
    assert functions == set(HOOKS), "a function in hookspecs.py is not marked @hookspec"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_and_typed(name: str) -> None:
    function = getattr(hookspecs, name)
    doc = inspect.getdoc(function) or ""
    assert len(doc) > 60, f"{name} needs a real docstring"
    signature = inspect.signature(function)
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name})"
        assert f":param {parameter.name}:" in doc, f"{name}: document :param {parameter.name}:"
    assert signature.return_annotation is not inspect.Signature.empty
    if signature.return_annotation not in ("None", None):
        assert ":returns:" in doc, f"{name}: document :returns:"
    if function.medbill_spec["firstresult"]:
        assert "stops at first non-none result" in " ".join(doc.lower().split())


def _test_sources() -> str:
    sources = []
    for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/*/tests/**/*.py")]:
        if path.resolve() != Path(__file__).resolve():
            sources.append(path.read_text(encoding="utf-8"))
    return "\n".join(sources)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_exercised_by_a_test(name: str) -> None:
    facade_method = name.removeprefix("medbill_")
    sources = _test_sources()
    called = re.search(rf"\b({name}|hooks\.{facade_method}|\.{facade_method}\()", sources)
    assert called, f"no test mentions {name} or calls the facade's {facade_method}()"

"""Test-run settings shared by every suite (the core's, each plugin's, the integration suite):
they all run with this folder as their root."""

from __future__ import annotations

from typing import Any

import pytest

#: modules whose tests must run on one xdist worker (``--dist loadgroup``), by group name:
#: they share a costly module fixture (the query-plan test's 100,000-claim database takes a
#: minute to generate; split over two workers it is generated twice). Each such module also
#: carries ``pytest.mark.xdist_group(<name>)``; the collection check below keeps the two equal.
#:
#: Why a table beside the mark: pytest-xdist 3.8 groups by a suffix it appends to the test's
#: ``_nodeid`` on the worker, and pytest 9.2 computes ``nodeid`` from a structured id instead,
#: so the mark alone no longer groups anything (the tests were spread over both workers).
MODULE_GROUPS: dict[str, str] = {
    "tests/test_query_plans.py": "query_plans",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (in their order), the rest after them.

    ``make test`` runs suites on two xdist workers, which hand out tests in collection order:
    a test of several minutes collected last keeps one worker busy while the other has
    finished, and the suite lasts the sum of both. Started first, it runs beside the rest."""
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        declared = MODULE_GROUPS.get(item.nodeid.split("::", 1)[0])
        named = (mark.args[0] if mark.args else mark.kwargs.get("name")) if mark else None
        if named != declared:
            raise pytest.UsageError(
                f"{item.nodeid}: xdist_group {named!r} but conftest.MODULE_GROUPS says "
                f"{declared!r}; keep them equal")
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` grouping by :data:`MODULE_GROUPS` (every other test is
    distributed one by one, as ``load`` does)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling  # type: ignore[import-untyped]

    class ModuleGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]  # untyped base
        def _split_scope(self, nodeid: str) -> str:
            group = MODULE_GROUPS.get(nodeid.split("::", 1)[0])
            return f"group:{group}" if group else str(super()._split_scope(nodeid))

    return ModuleGroupScheduling(config, log)

"""Test-run settings shared by every suite (the core's, each plugin's, the integration suite):
they all run with this folder as their root."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first (in their order), the rest after them.

    ``make test`` runs suites on two xdist workers, which hand out tests in collection order:
    a test of several minutes collected last keeps one worker busy while the other has
    finished, and the suite lasts the sum of both. Started first, it runs beside the rest."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

"""Fixtures of the statements_pdf tests: synthetic statements (no real person is described)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from medbill_statements_pdf.samples import sample_statement

from medbill_core.api import Statement

# pool_renderers: renderers the worker processes of the pool tests import by this name
sys.path.append(str(Path(__file__).parent))

#: Enough lines for the detail PDF to run onto several pages.
LONG_LINES = 120


@pytest.fixture
def statement() -> Statement:
    """Eight lines over three claims, a patient payment, a guarantor and a remit-to box."""
    return sample_statement()


@pytest.fixture
def long_statement() -> Statement:
    return sample_statement(LONG_LINES, dunning_stage=2)

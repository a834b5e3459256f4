"""The integration suite: the core with every plugin (the demo's own dependencies)."""

import sys
from pathlib import Path

from medbill_core.testing.cli import cli_isolation  # noqa: F401

# The tests import their helpers (x12_fuzzing) by plain name. Appended, not prepended: other
# suites' tests import their own top-level helpers by common names.
sys.path.append(str(Path(__file__).parent))

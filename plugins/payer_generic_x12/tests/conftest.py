import sys
from pathlib import Path

# the command-line tests' isolation (the core's test kit)
from medbill_core.testing.cli import cli_isolation  # noqa: F401

# The tests import their helper module (x12_factories) by its plain, project-unique name.
sys.path.insert(0, str(Path(__file__).parent))

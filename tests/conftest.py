import sys
from pathlib import Path

# the command-line tests' isolation (shared with the plugins' suites)
from medbill_core.testing.cli import cli_isolation  # noqa: F401

# Test helper modules (in-test plugins) import by plain name under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

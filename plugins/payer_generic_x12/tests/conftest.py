import sys
from pathlib import Path

# The tests import their helpers (factories, pyx12_helper) as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))

FIXTURES = Path(__file__).parent / "fixtures"

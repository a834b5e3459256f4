import sys
from pathlib import Path

# The tests import their helper module (x12_factories) by its plain, project-unique name.
sys.path.insert(0, str(Path(__file__).parent))


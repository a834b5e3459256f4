import sys
from pathlib import Path

# Test helper modules (in-test plugins) import by plain name under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

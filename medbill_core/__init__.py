"""medbill core: the revenue-cycle lifecycle, data, ledger and hook specifications.

Plugins (payer adapters, submission channels, statement renderers) are separate
distributions discovered through the ``medbill.plugins`` entry-point group and
enabled by name in ``medbill.toml``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("medbill")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["__version__"]

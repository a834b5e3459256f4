"""The ``medbill`` command line (typer + rich)."""

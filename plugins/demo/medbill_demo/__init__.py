"""The demo: a synthetic practice, patients, coverages and encounters, run through the cycle.

A distribution of its own (``medbill-demo``): it configures and runs the core with the four
plugins, so it depends on all of them, and none of them (nor the core) depends on it. The
core's ``medbill demo`` finds it through the ``medbill.demo`` entry point.
"""

"""The demo: a synthetic practice, patients, coverages and encounters, run through the cycle."""

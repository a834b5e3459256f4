"""Configuration text for command-line tests (a practice and its payers)."""

from __future__ import annotations

from collections.abc import Sequence

from medbill_core.testing.factories import PRACTICE_NPI

BLUECROSS = """
[payers.bluecross]
payer_id = "BCBS1"
name = "Blue Cross"
adapter = "generic_x12"
timely_filing_days = 180
"""


def config_text(database_url: str, *, plugins: Sequence[str] = (), extra: str = "") -> str:
    quoted = ", ".join(f'"{name}"' for name in plugins)
    return f"""\
[medbill]
database_url = "{database_url}"
plugins = [{quoted}]
actor = "clerk"

[practice]
name = "Lakeside Family Practice"
npi = "{PRACTICE_NPI}"
tax_id = "12-3456789"

[practice.address]
line1 = "100 Main Street"
city = "Springfield"
state = "IL"
postal_code = "62701"

[payers.acme]
payer_id = "ACME1"
name = "Acme Health Plan"
adapter = "generic_x12"

[payers.medicare]
payer_id = "04412"
name = "Medicare Part B"
adapter = "medicare"
claim_filing_indicator = "MB"
{extra}"""

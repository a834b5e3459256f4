"""Plain-language text beside the codes medbill prints.

One function per kind of code, each returning the code with its meaning (never raising for an
unknown code: the answer then says the code is not in the shipped list)::

    explain_carc("CO", "45")            # "CO-45 Contractual obligation: Charge exceeds fee ..."
    explain_rarc("N130")
    explain_claim_status_category("A7")  # 277CA STC01-1 (X12 code source 507)
    explain_claim_status("21")           # 277CA STC01-2 (X12 code source 508)
    explain_aaa_reject("75")             # 271 AAA03 reject reason (X12 element 901)
    percent(Decimal("0.2"))              # "20%"

Sources and dates of the tables: ``data/SOURCES.md``.
"""

from __future__ import annotations

from decimal import Decimal


def percent(rate: Decimal | None) -> str:
    """A rate as people read it: ``0.2`` -> ``"20%"``, ``0.125`` -> ``"12.5%"``; none: ``"-"``."""
    if rate is None:
        return "-"
    value = (rate * 100).normalize()
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"

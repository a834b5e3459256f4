"""What an X12 file's envelope says, read without a full parser: the functional group control
numbers (GS06) and, per transaction set (ST02), the claim numbers (CLM01) inside it.

The core keeps outbox files as text written by a payer plugin; a 999 names the group (AK102)
and its transaction sets (AK202), so the batch and the claims it answers are found by these
numbers, whatever convention the plugin numbered them by. Anything that is not X12 reads as
empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EnvelopeNumbers:
    interchange_control_number: str | None = None
    #: GS06 of each functional group, as written
    group_control_numbers: tuple[str, ...] = ()
    #: ST02 -> the CLM01 claim numbers of that transaction set, in file order
    transactions: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _delimiters(text: str) -> tuple[str, str] | None:
    if text.startswith("ISA") and len(text) > 105:
        return text[3], text[105]
    return None


def envelope_numbers(content: str) -> EnvelopeNumbers:
    """The control numbers of ``content`` (an X12 interchange), empty when it is not one."""
    text = content.lstrip("\ufeff \t\r\n")
    found = _delimiters(text)
    if found is None:
        return EnvelopeNumbers()
    separator, terminator = found
    interchange: str | None = None
    groups: list[str] = []
    transactions: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.split(terminator):
        elements = raw.strip().split(separator)
        tag = elements[0]
        if tag == "ISA" and len(elements) > 13:
            interchange = elements[13].strip()
        elif tag == "GS" and len(elements) > 6:
            groups.append(elements[6].strip())
        elif tag == "ST" and len(elements) > 2:
            current = transactions.setdefault(elements[2].strip(), [])
        elif tag == "SE":
            current = None
        elif tag == "CLM" and len(elements) > 1 and current is not None:
            current.append(elements[1].strip())
    return EnvelopeNumbers(interchange, tuple(groups),
                           {number: tuple(claims) for number, claims in transactions.items()})


def _numeric(number: str) -> bool:
    # ASCII digits only: str.isdigit() also takes other scripts' digits, which X12 never has
    return number.isascii() and number.isdigit()


def same_number(a: str, b: str) -> bool:
    """Control numbers compared as X12 numbers are: ``"000000028"`` is ``"28"``."""
    a, b = a.strip(), b.strip()
    if _numeric(a) and _numeric(b):
        return int(a) == int(b)
    return a == b


def number_variants(number: str) -> set[str]:
    """The ways a control number may be written (``28``, ``0028``, ``000000028``): what
    :func:`same_number` takes for it, as a set to look stored numbers up with."""
    number = number.strip()
    if not _numeric(number):
        return {number}
    bare = number.lstrip("0") or "0"
    return {number, *(bare.zfill(width) for width in range(len(bare), 10))}

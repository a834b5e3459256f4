"""Medicare Beneficiary Identifier (MBI) format validation.

Source: CMS, "Understanding the Medicare Beneficiary Identifier (MBI) Format". An MBI has 11
characters in the pattern ``C A AN N A AN N A A N N``:

========  ==============================================  ======================
position  kind                                            allowed
========  ==============================================  ======================
1         C: numeric, never zero                          ``1``-``9``
2, 5, 8,  A: alphabetic                                   the 20 letters below
9
3, 6      AN: alphanumeric                                a letter below or 0-9
4, 7, 10, N: numeric                                      ``0``-``9``
11
========  ==============================================  ======================

Letters are A-Z **except S, L, O, I, B and Z** (to avoid confusion with digits), leaving
``A C D E F G H J K M N P Q R T U V W X Y``. Dashes are printed on the card (``1EG4-TE5-MK73``)
but are not part of the MBI; they are tolerated in input and stripped, as are spaces. Lower case
is accepted and upper-cased, as CMS does.

An MBI is PHI: :class:`MBIVerdict` reasons name positions and character *kinds*, never the
identifier or any of its characters, so a verdict may be logged or shown in a findings table.

Test identifiers: synthetic data generators (Synthea) make fake MBIs with ``S`` in position 2,
which can never collide with a real one. ``allow_test=True`` accepts exactly that deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MBI_LENGTH = 11
#: Letters CMS never uses in an MBI.
EXCLUDED_LETTERS = frozenset("SLOIBZ")
#: The 20 letters an MBI may contain.
MBI_LETTERS = frozenset(chr(c) for c in range(ord("A"), ord("Z") + 1)) - EXCLUDED_LETTERS
DIGITS = frozenset("0123456789")


class PositionKind(StrEnum):
    """What CMS allows at a position."""

    NUMERIC_NONZERO = "numeric 1-9"
    ALPHABETIC = "alphabetic"
    ALPHANUMERIC = "alphanumeric"
    NUMERIC = "numeric"


#: The kind of character each of the 11 positions (1-based) holds.
POSITION_KINDS: dict[int, PositionKind] = {
    1: PositionKind.NUMERIC_NONZERO,
    2: PositionKind.ALPHABETIC,
    3: PositionKind.ALPHANUMERIC,
    4: PositionKind.NUMERIC,
    5: PositionKind.ALPHABETIC,
    6: PositionKind.ALPHANUMERIC,
    7: PositionKind.NUMERIC,
    8: PositionKind.ALPHABETIC,
    9: PositionKind.ALPHABETIC,
    10: PositionKind.NUMERIC,
    11: PositionKind.NUMERIC,
}


@dataclass(frozen=True, slots=True)
class MBIVerdict:
    """The answer for one MBI.

    :ivar valid: True when the MBI has the CMS format.
    :ivar reason: why not (``None`` when valid); names the position and the rule, never the value.
    :ivar position: the first offending position (1-11), when the problem is at a position.
    :ivar normalized: the MBI without dashes, upper case (only when valid; it is PHI: do not log).
    :ivar test_identifier: True when accepted only because ``allow_test`` allowed ``S`` at
        position 2.
    """

    valid: bool
    reason: str | None = None
    position: int | None = None
    normalized: str | None = None
    test_identifier: bool = False

    def __bool__(self) -> bool:
        return self.valid


def normalize_mbi(value: str) -> str:
    """Upper-case ``value`` and drop dashes and spaces (the card prints ``1EG4-TE5-MK73``)."""
    return value.strip().upper().replace("-", "").replace(" ", "")


def _describe(char: str) -> str:
    """The kind of a character, without showing it (an MBI is PHI)."""
    if char in DIGITS:
        return "a digit"
    if char in EXCLUDED_LETTERS:
        return "an excluded letter (S, L, O, I, B and Z are never used)"
    if "A" <= char <= "Z":
        return "a letter"
    return "a character that is neither a letter nor a digit"


def _position_problem(position: int, char: str) -> str | None:
    kind = POSITION_KINDS[position]
    if char in EXCLUDED_LETTERS:
        return f"position {position} is {_describe(char)}"
    if kind is PositionKind.NUMERIC_NONZERO:
        if char in DIGITS and char != "0":
            return None
        if char == "0":
            return f"position {position} must be a digit 1-9 and is zero"
        return f"position {position} must be a digit 1-9 and is {_describe(char)}"
    if kind is PositionKind.NUMERIC:
        if char in DIGITS:
            return None
        return f"position {position} must be a digit and is {_describe(char)}"
    if kind is PositionKind.ALPHABETIC:
        if char in MBI_LETTERS:
            return None
        return f"position {position} must be a letter and is {_describe(char)}"
    if char in MBI_LETTERS or char in DIGITS:
        return None
    return f"position {position} must be a letter or a digit and is {_describe(char)}"


def check_mbi(value: str | None, *, allow_test: bool = False) -> MBIVerdict:
    """Check ``value`` against the CMS MBI format.

    Dashes and spaces are stripped and lower case is accepted. The verdict's reason names the
    first offending position and why (``"position 4 must be a digit and is a letter"``), or the
    length problem; it never contains the identifier.

    :param allow_test: accept ``S`` in position 2 (the Synthea convention for fake MBIs that
        can never be real ones); for test and demo data only.
    """
    if value is None or not value.strip():
        return MBIVerdict(False, "the MBI is empty")
    mbi = normalize_mbi(value)
    if len(mbi) != MBI_LENGTH:
        return MBIVerdict(False, f"an MBI has {MBI_LENGTH} characters (dashes not counted); "
                                 f"this one has {len(mbi)}")
    test_identifier = False
    for position, char in enumerate(mbi, start=1):
        if allow_test and position == 2 and char == "S":
            test_identifier = True
            continue
        problem = _position_problem(position, char)
        if problem is not None:
            return MBIVerdict(False, problem, position=position)
    return MBIVerdict(True, normalized=mbi, test_identifier=test_identifier)


def is_valid_mbi(value: str | None, *, allow_test: bool = False) -> bool:
    """True when ``value`` has the CMS MBI format (see :func:`check_mbi`)."""
    return check_mbi(value, allow_test=allow_test).valid

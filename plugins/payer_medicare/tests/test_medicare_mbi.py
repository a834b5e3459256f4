"""MBI format validation against the CMS rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from medbill_payer_medicare.mbi import (
    EXCLUDED_LETTERS,
    MBI_LETTERS,
    check_mbi,
    is_valid_mbi,
    normalize_mbi,
)

#: The regular expression in CMS's MBI format document (upper case, no dashes).
CMS_REGEX = re.compile(r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]"
                       r"[AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}$")


@pytest.mark.parametrize("mbi", [
    "1EG4-TE5-MK73",      # CMS's published example, as printed on the card
    "1EG4TE5MK73",        # the same, as systems carry it
    "1eg4-te5-mk73",      # lower case is accepted
    " 1EG4 TE5 MK73 ",    # spaces are tolerated like dashes
    "9AA0AA0AA00",        # letters in the alphanumeric positions 3 and 6
    "1A00A00AA99",        # digits in the alphanumeric positions 3 and 6
    "5YY9YY9YY99",
])
def test_valid_mbis(mbi: str) -> None:
    verdict = check_mbi(mbi)
    assert verdict.valid, verdict.reason
    assert verdict.reason is None
    assert verdict.normalized == normalize_mbi(mbi)
    assert "-" not in verdict.normalized
    assert is_valid_mbi(mbi)


# (mbi, position, words that must be in the reason)
POSITION_ERRORS = [
    ("0EG4TE5MK73", 1, "1-9 and is zero"),
    ("AEG4TE5MK73", 1, "must be a digit 1-9 and is a letter"),
    ("12G4TE5MK73", 2, "must be a letter and is a digit"),
    ("1E#4TE5MK73", 3, "must be a letter or a digit"),
    ("1EGATE5MK73", 4, "must be a digit and is a letter"),
    ("1EG47E5MK73", 5, "must be a letter and is a digit"),
    ("1EG4T.5MK73", 6, "must be a letter or a digit"),
    ("1EG4TEAMK73", 7, "must be a digit and is a letter"),
    ("1EG4TE59K73", 8, "must be a letter and is a digit"),
    ("1EG4TE5M973", 9, "must be a letter and is a digit"),
    ("1EG4TE5MKA3", 10, "must be a digit and is a letter"),
    ("1EG4TE5MK7A", 11, "must be a digit and is a letter"),
]


@pytest.mark.parametrize(("mbi", "position", "words"), POSITION_ERRORS)
def test_each_position_rule(mbi: str, position: int, words: str) -> None:
    verdict = check_mbi(mbi)
    assert not verdict.valid
    assert verdict.position == position
    assert f"position {position}" in verdict.reason
    assert words in verdict.reason
    assert mbi not in verdict.reason
    assert verdict.normalized is None


@pytest.mark.parametrize("letter", sorted(EXCLUDED_LETTERS))
@pytest.mark.parametrize("position", [2, 3, 5, 6, 8, 9])
def test_excluded_letters_in_letter_positions(letter: str, position: int) -> None:
    chars = list("1EG4TE5MK73")
    chars[position - 1] = letter
    mbi = "".join(chars)
    verdict = check_mbi(mbi)
    assert not verdict.valid
    assert verdict.position == position
    assert "excluded letter" in verdict.reason
    assert mbi not in verdict.reason


@pytest.mark.parametrize(("mbi", "words"), [
    ("", "empty"),
    ("   ", "empty"),
    ("1EG4-TE5-MK7", "has 10"),
    ("1EG4-TE5-MK733", "has 12"),
    ("1EG4-TE5-MK73-1", "has 12"),
    ("123456789A", "has 10"),  # an SSN-based HICN shape
])
def test_length_and_empty(mbi: str, words: str) -> None:
    verdict = check_mbi(mbi)
    assert not verdict.valid
    assert words in verdict.reason
    assert verdict.position is None


def test_none_is_invalid() -> None:
    assert not check_mbi(None)


def test_reason_never_shows_the_identifier_or_its_characters() -> None:
    mbi = "1EGATE5MK73"  # error at position 4 (a letter 'A')
    verdict = check_mbi(mbi)
    assert "'A'" not in verdict.reason and '"A"' not in verdict.reason
    assert "1EG" not in verdict.reason


def test_synthetic_test_mbis_only_when_allowed() -> None:
    synthetic = "1SA0AA0AA00"  # Synthea's convention: S in position 2, never a real MBI
    refused = check_mbi(synthetic)
    assert not refused.valid and refused.position == 2
    allowed = check_mbi(synthetic, allow_test=True)
    assert allowed.valid and allowed.test_identifier
    assert not check_mbi("1EG4TE5MK73", allow_test=True).test_identifier
    # allow_test only relaxes position 2
    assert not check_mbi("1ESATE5MK73", allow_test=True).valid


_mbi_alpha = st.sampled_from(sorted(MBI_LETTERS))
_digit = st.sampled_from("0123456789")
_alnum = st.one_of(_mbi_alpha, _digit)


@given(st.tuples(st.sampled_from("123456789"), _mbi_alpha, _alnum, _digit, _mbi_alpha, _alnum,
                 _digit, _mbi_alpha, _mbi_alpha, _digit, _digit))
def test_generated_valid_mbis(parts: tuple[str, ...]) -> None:
    mbi = "".join(parts)
    assert check_mbi(mbi).valid
    assert check_mbi(f"{mbi[:4]}-{mbi[4:7]}-{mbi[7:]}").valid
    assert CMS_REGEX.match(mbi)


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=11, max_size=11))
def test_agrees_with_the_cms_regex(mbi: str) -> None:
    assert check_mbi(mbi).valid == bool(CMS_REGEX.match(mbi))

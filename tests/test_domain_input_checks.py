"""Input checks of every domain record (control characters, numbers as text): one check per
record, reporting each refused field at its own position beside the record's other errors."""

from __future__ import annotations

from datetime import date

import pytest

from medbill_core.domain import Claim
from medbill_core.domain.base import validate_record
from medbill_core.errors import ValidationFailed
from medbill_core.testing.factories import make_claim


def _claim_data() -> dict:
    return make_claim().model_dump(mode="json", exclude={"id"})


def test_a_control_character_deep_in_a_claim_is_named_with_the_other_problems() -> None:
    data = _claim_data()
    data["claim_number"] = "A\x00B"  # refused here
    data["diagnoses"] = ["E11.9", "I10\x1b"]  # a list of text, refused as the field
    data["lines"][0]["units"] = "x"  # a plain validation error of a nested record
    with pytest.raises(ValidationFailed) as caught:
        validate_record(Claim, data, record="row 3")
    problems = caught.value.problems
    assert ("claim_number", "contains a control character (such as NUL or a line break)") \
        in problems
    assert ("diagnoses", "contains a control character (such as NUL or a line break)") \
        in problems
    assert [field for field, _ in problems].count("lines[0].units") == 1
    # in the record's order of fields, whoever found them
    fields = [field for field, _ in problems]
    assert fields.index("claim_number") < fields.index("lines[0].units")
    assert "A\x00B" not in str(caught.value) and "x" not in dict(problems).values()


def test_a_number_written_in_other_digits_is_refused_once_at_its_field() -> None:
    data = _claim_data()
    data["lines"][0]["units"] = "\u0661"  # ARABIC-INDIC DIGIT ONE: int() would read 1
    with pytest.raises(ValidationFailed) as caught:
        validate_record(Claim, data, record="row 1")
    assert caught.value.problems == [
        ("lines[0].units", "not a number: write ASCII digits, e.g. 12 or 12.5")]


def test_values_the_program_made_are_not_checked_again() -> None:
    """Without the input context (a record read back, a plugin's decoded claim), a claim
    number is validated by its own rules only."""
    claim = make_claim()
    assert Claim.model_validate(claim.model_dump()).claim_number == claim.claim_number
    assert validate_record(Claim, _claim_data(), record="row 1").service_date_from \
        <= date.today()

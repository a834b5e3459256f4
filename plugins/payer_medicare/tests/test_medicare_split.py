"""Splitting encounters into 837P-sized claims (<= 50 lines, <= 12 diagnoses)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from medbill_payer_medicare.split import Encounter, EncounterLine, plan_split, split_encounter

from medbill_core.api import Claim, ValidationFailed
from medbill_core.api.testing import factories

DIAGNOSES = ["E119", "I10", "E785", "N183", "J449", "M1990", "G4733", "K219", "F329", "E039",
             "I4891", "M545", "R0602", "Z7984", "E1122", "I2510", "N400", "H409", "L409", "D649"]
CODES = ["99213", "93000", "36415", "G0439", "99214", "J1100", "96372", "97110"]
START = date(2026, 1, 5)


def make_encounter(lines: list[EncounterLine], diagnoses: list[str] | None = None,
                   **overrides: Any) -> Encounter:
    values: dict[str, Any] = {
        "claim_number": "ENC0001", "patient_id": 1, "coverage_id": 1, "payer_key": "medicare",
        "billing_provider_npi": factories.PRACTICE_NPI,
        "rendering_provider_npi": factories.RENDERING_NPI, "place_of_service": "11",
        "diagnoses": diagnoses or DIAGNOSES, "lines": lines}
    return Encounter(**{**values, **overrides})


def big_encounter() -> Encounter:
    """120 lines over 20 diagnoses; pointers mix near and far diagnoses, 1 to 4 per line."""
    lines = []
    for i in range(120):
        count = i % 4 + 1
        pointers = list(dict.fromkeys((i * 7 + k * 5) % 20 + 1 for k in range(count)))
        lines.append(EncounterLine(
            procedure_code=CODES[i % len(CODES)], modifiers=["25"] if i % 9 == 0 else [],
            units=Decimal(i % 3 + 1), charge=Decimal("10.00") + Decimal(i) * Decimal("1.37"),
            diagnosis_pointers=pointers, service_date_from=START + timedelta(days=i % 30),
            line_control_number=f"LCN{i:04d}"))
    return make_encounter(lines)


def line_identity(line: Any, diagnoses: list[str]) -> tuple[Any, ...]:
    """What must survive a split: everything but the line number, pointers as diagnosis codes."""
    return (line.procedure_code, tuple(line.modifiers), line.units, line.unit_type, line.charge,
            line.service_date_from, line.service_date_to, line.place_of_service,
            line.line_control_number, line.description,
            tuple(diagnoses[p - 1] for p in line.diagnosis_pointers))


def assert_valid_split(encounter: Encounter, claims: list[Claim], max_lines: int = 50) -> None:
    for claim in claims:
        # every claim passes the domain model again from scratch
        assert Claim.model_validate(claim.model_dump()) == claim
        assert 1 <= len(claim.lines) <= max_lines
        assert len(claim.diagnoses) <= 12
        assert [line.line_number for line in claim.lines] == list(range(1, len(claim.lines) + 1))
        assert claim.service_date_from == min(line.service_date_from for line in claim.lines)
        assert claim.service_date_to == max(line.last_service_date for line in claim.lines)
        used = {p for line in claim.lines for p in line.diagnosis_pointers}
        assert used == set(range(1, len(claim.diagnoses) + 1)), "a diagnosis nobody points at"
        # the claim lists its diagnoses in encounter order
        order = [encounter.diagnoses.index(code) for code in claim.diagnoses]
        assert order == sorted(order)
    before = Counter(line_identity(line, encounter.diagnoses) for line in encounter.lines)
    after = Counter(line_identity(line, claim.diagnoses) for claim in claims
                    for line in claim.lines)
    assert before == after, "lines were lost, duplicated or changed"
    assert sum((c.total_charge for c in claims), Decimal("0.00")) == encounter.total_charge
    assert len({c.claim_number for c in claims}) == len(claims)


def test_120_lines_20_diagnoses() -> None:
    encounter = big_encounter()
    claims = split_encounter(encounter)
    assert_valid_split(encounter, claims)
    assert len(claims) >= 3
    assert sum(len(c.lines) for c in claims) == 120
    # 120 x 10.00 + 1.37 x (0 + 1 + ... + 119 = 7140)
    assert encounter.total_charge == Decimal("10981.80")
    assert [c.claim_number for c in claims] == [f"ENC0001-{i}" for i in range(1, len(claims) + 1)]
    for claim in claims:
        assert claim.payer_key == "medicare" and claim.coverage_id == 1
        assert claim.rendering_provider_npi == factories.RENDERING_NPI


def test_diagnoses_force_a_split_even_with_few_lines() -> None:
    # 5 lines, each with 4 diagnoses of its own: 20 diagnoses cannot go on one claim
    lines = [EncounterLine(procedure_code="99213", units=Decimal("1"), charge=Decimal("50.00"),
                           diagnosis_pointers=[4 * i + k for k in range(1, 5)],
                           service_date_from=START) for i in range(5)]
    encounter = make_encounter(lines)
    claims = split_encounter(encounter)
    assert_valid_split(encounter, claims)
    assert [len(c.lines) for c in claims] == [3, 2]
    assert [len(c.diagnoses) for c in claims] == [12, 8]


def test_line_pointer_order_and_primary_kept() -> None:
    lines = [EncounterLine(procedure_code="99213", units=Decimal("1"), charge=Decimal("50.00"),
                           diagnosis_pointers=[20, 3, 1], service_date_from=START)]
    [claim] = split_encounter(make_encounter(lines))
    assert claim.claim_number == "ENC0001"
    assert claim.diagnoses == ["E119", "E785", "D649"]
    assert claim.lines[0].diagnosis_pointers == [3, 2, 1]


def test_fits_on_one_claim_is_unchanged() -> None:
    lines = [EncounterLine(procedure_code="99213", units=Decimal("1"), charge=Decimal("50.00"),
                           diagnosis_pointers=[1, 2], service_date_from=START)
             for _ in range(50)]
    encounter = make_encounter(lines, diagnoses=["E119", "I10"])
    [claim] = split_encounter(encounter)
    assert claim.claim_number == "ENC0001" and len(claim.lines) == 50
    assert claim.diagnoses == ["E119", "I10"]


def test_51_lines_make_two_claims() -> None:
    lines = [EncounterLine(procedure_code="99213", units=Decimal("1"), charge=Decimal("50.00"),
                           diagnosis_pointers=[1], service_date_from=START) for _ in range(51)]
    claims = split_encounter(make_encounter(lines, diagnoses=["E119"]))
    assert [len(c.lines) for c in claims] == [50, 1]


def test_smaller_payer_limit() -> None:
    encounter = big_encounter()
    claims = split_encounter(encounter, max_lines=10)
    assert_valid_split(encounter, claims, max_lines=10)
    assert len(claims) >= 12


def test_claim_number_too_long_for_suffix() -> None:
    lines = [EncounterLine(procedure_code="99213", units=Decimal("1"), charge=Decimal("50.00"),
                           diagnosis_pointers=[1], service_date_from=START) for _ in range(51)]
    encounter = make_encounter(lines, diagnoses=["E119"], claim_number="A" * 19)
    with pytest.raises(ValidationFailed, match="claim_number"):
        split_encounter(encounter)


def test_encounter_validation() -> None:
    line = EncounterLine(procedure_code="99213", units=Decimal("1"), charge=Decimal("50.00"),
                         diagnosis_pointers=[3], service_date_from=START)
    with pytest.raises(ValueError, match="points past"):
        make_encounter([line], diagnoses=["E119", "I10"])
    with pytest.raises(ValueError, match="repeat"):
        make_encounter([line], diagnoses=["E119", "E119", "I10"])
    with pytest.raises(ValueError):
        EncounterLine(procedure_code="99213", units=Decimal("1"), charge=Decimal("50.00"),
                      diagnosis_pointers=[1, 2, 3, 4, 5], service_date_from=START)


@st.composite
def encounters(draw: st.DrawFn) -> Encounter:
    n_dx = draw(st.integers(1, 20))
    n_lines = draw(st.integers(1, 160))
    lines = []
    for _ in range(n_lines):
        pointers = draw(st.lists(st.integers(1, n_dx), min_size=1, max_size=min(4, n_dx),
                                 unique=True))
        cents = draw(st.integers(1, 500_000))
        lines.append(EncounterLine(
            procedure_code=draw(st.sampled_from(CODES)), units=Decimal(draw(st.integers(1, 5))),
            charge=Decimal(cents) / 100, diagnosis_pointers=pointers,
            service_date_from=START + timedelta(days=draw(st.integers(0, 40)))))
    return make_encounter(lines, diagnoses=DIAGNOSES[:n_dx])


@settings(max_examples=60, deadline=None)
@given(encounters())
def test_any_encounter_splits_into_valid_claims(encounter: Encounter) -> None:
    claims = split_encounter(encounter)
    assert_valid_split(encounter, claims)
    plan = plan_split(encounter)
    assert sorted(i for part in plan for i in part) == list(range(len(encounter.lines)))


def test_encounter_line_dates_in_order() -> None:
    from datetime import date as _date

    import pytest as _pytest
    from medbill_payer_medicare.split import EncounterLine
    from pydantic import ValidationError

    with _pytest.raises(ValidationError, match="end date is before its start date"):
        EncounterLine(procedure_code="99213", units=1, charge="10.00", diagnosis_pointers=[1],
                      service_date_from=_date(2026, 3, 2), service_date_to=_date(2026, 3, 1))

"""What the 837 writer would refuse is found when the claim is scrubbed (the adapter's claim
edits): a value holding one of the X12 delimiters (* ~ : ^) or a control character, or one
nothing is left of once transliterated into the X12 character set. Found there, it blocks
that claim; found only when the payer's batch is encoded, it stopped the whole batch.

The edit asks the writer's own rule (``data_problem``), so the two cannot drift apart: every
value the edit refuses, the writer refuses, and every value it lets through is written."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.transactions.claim_837i import encode_837i
from medbill_payer_generic_x12.transactions.claim_837p import encode_837p
from medbill_payer_generic_x12.x12 import MemoryControlNumbers, X12EncodeError
from medbill_payer_generic_x12.x12.writer import NOTHING_LEFT, data_problem
from x12_factories import address, claim, payer
from x12_institutional_factories import outpatient

from medbill_core.api import BillableClaim

THE_PAYER = payer().model_copy(update={"options": {
    "submitter_id": "SUB123", "receiver_id": "CLEARHOUSE", "submitter_phone": "8165551234"}})


def changed(billable: BillableClaim, path: str, value: Any) -> BillableClaim:
    """``billable`` with the value at ``path`` (``patient.address.line1``,
    ``claim.lines[0].description``) replaced, unvalidated (as data stored before a rule)."""
    head, _, rest = path.partition(".")
    name, _, index = head.partition("[")
    current = getattr(billable, name)
    if index:
        items = list(current)
        position = int(index.rstrip("]"))
        items[position] = changed(items[position], rest, value) if rest else value
        return billable.model_copy(update={name: items})
    return billable.model_copy(update={name: changed(current, rest, value) if rest else value})


def unwritable(billable: BillableClaim) -> list[tuple[str, str | None, str]]:
    return [(f.severity.value, f.field, f.message)
            for f in GenericX12Adapter().claim_edits(billable) if f.code == "x12.unwritable"]


@pytest.mark.parametrize(("path", "value", "why"), [
    ("patient.last_name", "李*~:^", "data must not contain the element separator '*'"),
    ("patient.last_name", "O~NEIL", "data must not contain the segment terminator '~'"),
    ("patient.first_name", "李", NOTHING_LEFT),
    ("patient.address.line1", "1 Main~St*", "data must not contain the segment terminator '~'"),
    ("patient.address.city", "SPRING:FIELD",
     "data must not contain the component separator ':'"),
    ("referring_provider.first_name", "MA^RY",
     "data must not contain the repetition separator '^'"),
    ("coverage.group_number", "G*100", "data must not contain the element separator '*'"),
    ("rendering_provider.last_name", "山田", NOTHING_LEFT),
    ("claim.lines[0].description", "FLU SHOT~", "data must not contain the segment terminator '~'"),
    ("claim.prior_authorization", "PA:1", "data must not contain the component separator ':'"),
    ("practice.name", "SUNRISE*CLINIC", "data must not contain the element separator '*'"),
    ("payer.name", "ACME~", "data must not contain the segment terminator '~'"),
])
def test_scrubbing_refuses_what_the_837p_writer_would_refuse(path: str, value: str,
                                                              why: str) -> None:
    bad = changed(claim(the_payer=THE_PAYER), path, value)
    assert unwritable(bad) == [("error", path, f"{path} cannot be written in an 837P: {why}")]
    finding = next(f for f in GenericX12Adapter().claim_edits(bad) if f.field == path)
    assert finding.blocks_submission and finding.fix_hint
    assert value not in finding.message + (finding.fix_hint or "")  # never the value (PHI)
    with pytest.raises(X12EncodeError) as refused:  # the writer agrees
        encode_837p([bad], control_numbers=MemoryControlNumbers())
    assert why in str(refused.value)


def test_the_837i_is_checked_the_same_way() -> None:
    bad = changed(outpatient(the_payer=THE_PAYER), "patient.address.line1", "1 Main~St*")
    assert unwritable(bad) == [("error", "patient.address.line1",
                                "patient.address.line1 cannot be written in an 837I: data must "
                                "not contain the segment terminator '~'")]
    with pytest.raises(X12EncodeError):
        encode_837i([bad], control_numbers=MemoryControlNumbers())


def test_text_written_transliterated_is_a_warning_and_the_refused_one_is_not_repeated() -> None:
    billable = claim(the_payer=THE_PAYER)
    patient = billable.patient.model_copy(update={
        "last_name": "Ñúñez", "first_name": "李", "address": address("12 Calle Peña", "64108")})
    findings = GenericX12Adapter().claim_edits(billable.model_copy(update={"patient": patient}))
    assert [(f.severity.value, f.code, f.field) for f in findings] == [
        ("error", "x12.unwritable", "patient.first_name"),
        ("warning", "x12.charset", "patient.last_name")]
    assert findings[1].message.startswith(
        "patient.last_name, patient.address.line1 hold characters outside")


def test_a_clean_claim_and_text_not_sent_are_not_findings() -> None:
    billable = claim(the_payer=THE_PAYER)
    assert unwritable(billable) == []
    # not carried by an 837: the patient's e-mail, the coverage's plan name
    patient = billable.patient.model_copy(update={"email": "a*b~c@example.com"})
    coverage = billable.coverage.model_copy(update={  # type: ignore[union-attr]
        "plan_name": "GOLD*PLAN"})
    assert unwritable(billable.model_copy(update={"patient": patient,
                                                  "coverage": coverage})) == []


TEXT = st.text(alphabet=st.sampled_from(list("AZaz09 .-'*~:^éÑß李山–\u00a0")), min_size=1,
               max_size=12)


@settings(max_examples=150, deadline=None)
@given(value=TEXT)
def test_the_edit_and_the_writer_agree_on_every_value(value: str) -> None:
    bad = changed(claim(the_payer=THE_PAYER), "patient.address.line1", value)
    problem = data_problem(value)
    assert [f for _, f, _ in unwritable(bad)] == ([] if problem is None
                                                  else ["patient.address.line1"])
    try:
        encode_837p([bad], control_numbers=MemoryControlNumbers())
    except X12EncodeError as refused:
        assert problem is not None and problem in str(refused), str(refused)
    else:
        assert problem is None

"""The transitions of a batch are built without validation only when validation would give
the same record: otherwise they are validated as before (texts stripped, lengths refused)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from medbill_core.domain import ClaimState
from medbill_core.lifecycle import Transition
from medbill_core.services.claims import _clean_text, _transition

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def built(actor: str, reason: str | None) -> Transition:
    return _transition(7, "C-7", ClaimState.DRAFT, ClaimState.VALIDATED, actor, reason, AT,
                       clean_actor=_clean_text(actor, 80))


def validated(actor: str, reason: str | None) -> Transition:
    return Transition(claim_id=7, claim_number="C-7", source=ClaimState.DRAFT,
                      target=ClaimState.VALIDATED, actor=actor, reason=reason, at=AT)


@pytest.mark.parametrize(("actor", "reason"), [
    ("billing", "scrubbed clean"), ("billing", None), ("billing", "  padded reason "),
    (" spaced actor ", "x"), ("billing", "r" * 500), ("a" * 80, "")])
def test_a_transition_is_what_validation_makes(actor: str, reason: str | None) -> None:
    fast, slow = built(actor, reason), validated(actor, reason)
    assert fast == slow
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set


@pytest.mark.parametrize(("actor", "reason"), [("billing", "r" * 501), ("", "x"),
                                               ("a" * 81, None)])
def test_what_validation_refuses_is_still_refused(actor: str, reason: str | None) -> None:
    with pytest.raises(ValidationError):
        built(actor, reason)

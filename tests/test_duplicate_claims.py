"""The scrubber flags a service billed again to the same payer on another live claim (both
databases): same patient, payer, date of service, code and modifiers; never the claims of one
encounter, a repeated or distinct service's modifiers, another date, payer or patient, nor a
claim voided or deleted since."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from medbill_core.app import Medbill
from medbill_core.domain import Claim, ClaimState, Severity
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.testing import factories


def setup(app: Medbill) -> tuple[int, int]:
    """A patient with acme coverage, and a second patient (ids)."""
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        first = work.patients.register(factories.make_patient(1))
        second = work.patients.register(factories.make_patient(2))
        for patient in (first, second):
            work.patients.add_coverage(patient.id, factories.make_coverage(patient.id))
        return first.id, second.id


def create(app: Medbill, patient_id: int, number: str, **overrides: Any) -> int:
    lines = overrides.pop("lines", None)
    claim = factories.make_claim(patient_id, coverage_id=None, payer_key="acme", number=number,
                                 **overrides)
    values = claim.model_dump()
    values.update(payer_key="acme")
    if lines is not None:
        values["lines"] = lines
    with app.unit_of_work() as work:
        coverage = work.patients.coverages(patient_id)[0]
        values["coverage_id"] = coverage.id
        return work.claims.create(Claim(**values)).id


def duplicates(app: Medbill, *claim_ids: int) -> dict[str, list[str]]:
    with app.unit_of_work() as work:
        report = scrub_claims(work, list(claim_ids), validate=False)
    return {result.claim_number: [f.message for f in result.findings
                                  if f.code == "claim.duplicate"]
            for result in report.results}


def test_a_service_billed_twice_is_flagged_on_both_claims(medbill_app: Medbill) -> None:
    app = medbill_app
    patient, _ = setup(app)
    first = create(app, patient, "DUP1")
    second = create(app, patient, "DUP2")
    found = duplicates(app, first, second, second)  # asked twice: flagged once
    assert found == {
        "DUP1": ["line 1 (99213) is billed to acme for the same patient and date of service "
                 "on claim DUP2 (draft): the payer denies a duplicate (CARC 18)"],
        "DUP2": ["line 1 (99213) is billed to acme for the same patient and date of service "
                 "on claim DUP1 (draft): the payer denies a duplicate (CARC 18)"]}
    with app.unit_of_work() as work:
        [result] = scrub_claims(work, [second]).results
        finding = next(f for f in result.findings if f.code == "claim.duplicate")
        # a warning: the biller decides (a second visit that day is billed apart on purpose)
        assert (finding.severity, finding.line_number, result.clean) == (
            Severity.WARNING, 1, True)
        assert "modifier 76" in (finding.fix_hint or "")
        # once one of them is deleted, the other is clean of it
        work.claims.delete_draft(first, reason="entered twice")
    assert duplicates(app, second) == {"DUP2": []}


def test_what_is_not_a_duplicate(medbill_app: Medbill) -> None:
    app = medbill_app
    patient, other_patient = setup(app)
    day = factories.recent_service_date()
    base = create(app, patient, "BASE")
    checked = [
        create(app, patient, "NEXTDAY", service_date=day - timedelta(days=1)),
        create(app, other_patient, "OTHERPT"),
        create(app, patient, "REPEAT", lines=[factories.make_line(
            1, service_date=day, modifiers=["76"])]),
        create(app, patient, "DISTINCT", lines=[factories.make_line(
            1, service_date=day, procedure_code="99213", modifiers=["25"])]),
        create(app, patient, "OTHERCODE", lines=[factories.make_line(
            1, service_date=day, procedure_code="99214")]),
        # the encounter's own claims (a secondary payer's, a replacement) repeat its lines
        create(app, patient, "SAMEVISIT", account_claim_id=base),
    ]
    found = duplicates(app, *checked)
    assert found == {number: [] for number in (
        "NEXTDAY", "OTHERPT", "REPEAT", "DISTINCT", "OTHERCODE", "SAMEVISIT")}


def test_a_claim_gone_is_no_duplicate(medbill_app: Medbill) -> None:
    app = medbill_app
    patient, _ = setup(app)
    gone = create(app, patient, "GONE")
    with app.unit_of_work() as work:
        work.claims.delete_draft(gone, reason="entered twice")
        assert work.claims.get(gone).state is ClaimState.DELETED
    again = create(app, patient, "AGAIN")
    assert duplicates(app, again) == {"AGAIN": []}


def test_a_payer_set_to_refuse_duplicates_blocks_the_claim(medbill_app: Medbill) -> None:
    """``duplicate_claims = "error"``: the duplicate is an error for that payer's claims (the
    claim goes back to draft and is not sent); a repeat modifier still clears it."""
    app = medbill_app
    app.config.payers["acme"] = app.config.payers["acme"].model_copy(
        update={"duplicate_claims": "error"})
    patient, _ = setup(app)
    first = create(app, patient, "ERR1")
    second = create(app, patient, "ERR2")
    with app.unit_of_work() as work:
        results = {r.claim_number: r for r in scrub_claims(work, [first, second]).results}
        for number in ("ERR1", "ERR2"):
            [finding] = [f for f in results[number].findings if f.code == "claim.duplicate"]
            assert (finding.severity, results[number].clean) == (Severity.ERROR, False)
        assert {work.claims.get(c).state for c in (first, second)} == {ClaimState.DRAFT}
    # billed again on purpose: modifier 76 on the second claim's line
    with app.unit_of_work() as work:
        claim = work.claims.get(second)
        work.claims.update_draft(second, claim.model_copy(update={"lines": [
            claim.lines[0].model_copy(update={"modifiers": ["76"]})]}))
    with app.unit_of_work() as work:
        results = {r.claim_number: r for r in scrub_claims(work, [first, second]).results}
        assert [r.clean for r in results.values()] == [True, True]
        assert work.claims.get(second).state is ClaimState.VALIDATED

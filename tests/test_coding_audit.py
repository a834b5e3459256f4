"""Issue 12, coding audit: E/M level distributions beside the practice reference with the
outlier flag, modifier rates, NCCI edits bypassed by modifier, denial rate by code, and
reproducible review samples with findings, accuracy rates and audit events.

The fixture practice has two providers with known coding (counts below), on SQLite and
PostgreSQL; every figure asserted is worked out by hand from those counts.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Remittance,
    ServicePayment,
)
from medbill_core.domain.identifiers import npi_with_check_digit
from medbill_core.errors import NotFound, UnknownPayer, ValidationFailed
from medbill_core.services import coding_audit as ca
from medbill_core.services.remittance import post_remittance
from medbill_core.storage.schema import AuditEventRow, ClaimRow
from medbill_core.testing import factories

D = Decimal
S = ClaimState
#: provider A codes high, provider B low (see _seed)
NPI_A = factories.RENDERING_NPI
NPI_B = npi_with_check_digit("154321098")
DOS = date(2026, 11, 2)
OLD_DOS = date(2026, 9, 1)
_traces = itertools.count(1)


def _line(number: int, code: str, modifiers: tuple[str, ...] = (), on: date = DOS) -> Any:
    return factories.make_line(number, service_date=on, procedure_code=code,
                               modifiers=list(modifiers), charge=D("100.00"))


class Practice:
    """The fixture practice: claim numbers by role, for the remittances and samples."""

    def __init__(self, app: Medbill) -> None:
        self.app = app
        self.numbers = itertools.count(1)
        with app.unit_of_work() as work:
            work.patients.register_provider(factories.make_provider(NPI_A, last_name="Able"))
            work.patients.register_provider(factories.make_provider(NPI_B, last_name="Baker"))
            patient = work.patients.register(factories.make_patient(1))
            self.patient_id = patient.id
            self.coverage_id = work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="acme", order=CoverageOrder.PRIMARY)).id
            self.secondary_id = work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="bluecross", order=CoverageOrder.SECONDARY, member_id="BC1")).id

    def claim(self, npi: str, *codes: str | tuple[str, tuple[str, ...]], on: date = DOS,
              prefix: str = "CA") -> tuple[int, str]:
        lines = []
        for number, item in enumerate(codes, start=1):
            code, modifiers = (item, ()) if isinstance(item, str) else item
            lines.append(_line(number, code, modifiers, on))
        number = f"{prefix}{next(self.numbers):04d}"
        with self.app.unit_of_work() as work:
            created = work.claims.create(factories.make_claim(
                self.patient_id, coverage_id=self.coverage_id, payer_key="acme",
                number=number, service_date=on, rendering_provider_npi=npi)
                .model_copy(update={"lines": lines}))
            for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(created.id, target)
        return created.id, number


def _seed(app: Medbill) -> dict[str, Any]:
    """Provider A: established 99213 x4, 99214 x4 (two with 25 beside 20610), 99215 x4; new
    99203 x2 (and 99205 once before October). Provider B: 99212 x3, 99213 x8 (one with 20611
    and 20610-59), 99214 x1 (with 36415-XU). Left out: a secondary claim and a replaced one."""
    p = Practice(app)
    roles: dict[str, Any] = {"practice": p}
    a13 = [p.claim(NPI_A, "99213") for _ in range(4)]
    a25 = [p.claim(NPI_A, ("99214", ("25",)), "20610") for _ in range(2)]
    a14 = [p.claim(NPI_A, "99214") for _ in range(2)]
    a15 = [p.claim(NPI_A, "99215") for _ in range(4)]
    [p.claim(NPI_A, "99203") for _ in range(2)]
    p.claim(NPI_A, "99205", on=OLD_DOS)
    [p.claim(NPI_B, "99212") for _ in range(3)]
    b13 = [p.claim(NPI_B, "99213") for _ in range(7)]
    p.claim(NPI_B, "99213", "20611", ("20610", ("59",)))
    p.claim(NPI_B, "99214", ("36415", ("XU",)))
    # not coded encounters of their own: a secondary payer's claim repeating A's 99215, and
    # a claim replaced by a correction
    with app.unit_of_work() as work:
        secondary = work.claims.create(factories.make_claim(
            p.patient_id, coverage_id=p.secondary_id, payer_key="bluecross", number="CA-SEC",
            service_date=DOS, rendering_provider_npi=NPI_A, account_claim_id=a15[0][0])
            .model_copy(update={"lines": [_line(1, "99215")]}))
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(secondary.id, target)
    replaced_id, _ = p.claim(NPI_A, "99215")
    with app.unit_of_work() as work:
        work.session.get(ClaimRow, replaced_id).state = S.REPLACED.value
    roles.update(a13=a13, a25=a25, a14=a14, a15=a15, b13=b13)
    return roles


def _remit(app: Medbill, *payments: ClaimPayment, payer_id: str = "ACME1") -> None:
    remittance = Remittance(
        trace_number=f"TRN-CA{next(_traces):04d}",
        payment_amount=sum((payment.paid for payment in payments), D(0)), payer_name="Payer",
        payer_id=payer_id, payee_name="Clinic", payment_date=date(2026, 11, 20),
        claims=list(payments))
    with app.unit_of_work() as work:
        post_remittance(work, remittance)


def _adjust(group: str, code: str, amount: str) -> Adjustment:
    return Adjustment(group=AdjustmentGroup(group), reason_code=code, amount=D(amount))


def _answers(app: Medbill, roles: dict[str, Any]) -> None:
    """B's first 99213 denied CO-50 (claim level); B's second paid; A's first 99214-25 +
    20610 answered by line, 20610 denied CO-97; A's first 99215 paid nothing, all PR-1
    (a deductible, not a denial); the secondary payer denied its claim for that 99215
    CO-16."""
    _remit(app,
           ClaimPayment(claim_number=roles["b13"][0][1], status=ClaimStatusCode.DENIED,
                        charge=D("100.00"), paid=D("0.00"),
                        adjustments=[_adjust("CO", "50", "100.00")]),
           ClaimPayment(claim_number=roles["b13"][1][1], status=ClaimStatusCode.PRIMARY,
                        charge=D("100.00"), paid=D("80.00"),
                        adjustments=[_adjust("CO", "45", "20.00")]),
           ClaimPayment(claim_number=roles["a25"][0][1], status=ClaimStatusCode.PRIMARY,
                        charge=D("200.00"), paid=D("70.00"), services=[
                            ServicePayment(procedure_code="99214", modifiers=["25"],
                                           charge=D("100.00"), paid=D("70.00"),
                                           service_date_from=DOS,
                                           adjustments=[_adjust("CO", "45", "30.00")]),
                            ServicePayment(procedure_code="20610", charge=D("100.00"),
                                           paid=D("0.00"), service_date_from=DOS,
                                           adjustments=[_adjust("CO", "97", "100.00")])]),
           ClaimPayment(claim_number=roles["a15"][0][1], status=ClaimStatusCode.PRIMARY,
                        charge=D("100.00"), paid=D("0.00"), patient_responsibility=D("100.00"),
                        adjustments=[_adjust("PR", "1", "100.00")]))
    # the secondary payer denies its claim for A's 99215: a denial of that code too
    _remit(app, ClaimPayment(claim_number="CA-SEC", status=ClaimStatusCode.DENIED,
                             charge=D("100.00"), paid=D("0.00"),
                             adjustments=[_adjust("CO", "16", "100.00")]), payer_id="BCBS1")


@pytest.fixture
def seeded(medbill_app: Medbill) -> tuple[Medbill, dict[str, Any]]:
    roles = _seed(medbill_app)
    _answers(medbill_app, roles)
    return medbill_app, roles


NOVEMBER = ca.AuditFilters(date_from=date(2026, 10, 1), date_to=date(2026, 11, 30))


def _report(app: Medbill, filters: ca.AuditFilters = NOVEMBER) -> ca.CodingReport:
    with app.unit_of_work() as work:
        return ca.coding_report(work, filters)


def _family(provider: ca.ProviderCoding, key: str) -> ca.FamilyDistribution:
    return next(family for family in provider.families if family.family.key == key)


def _levels(family: ca.FamilyDistribution) -> list[tuple[str, int, str | None, str | None]]:
    return [(level.code, level.count, ca._text(level.percent), ca._text(level.reference_percent))
            for level in family.levels]


# -- the report --------------------------------------------------------------------------------

def test_em_levels_per_provider_beside_the_practice_reference(seeded: Any) -> None:
    app, _roles = seeded
    report = _report(app)
    # 14 + 12 coded encounters in the dates; the secondary and the replaced claim left out
    assert report.reference_claims == 26
    assert report.reference == "reference: practice average, 26 claims"
    a, b = report.providers  # the provider with more claims first
    assert (a.npi, a.name, a.claims, a.lines) == (NPI_A, "Able, Dana", 14, 16)
    assert (b.npi, b.name, b.claims, b.lines) == (NPI_B, "Baker, Dana", 12, 15)
    # practice: 99212 3, 99213 12, 99214 5, 99215 4 (24 established visits)
    assert _levels(_family(a, "office_established")) == [
        ("99211", 0, "0.0", "0.0"), ("99212", 0, "0.0", "12.5"),
        ("99213", 4, "33.3", "50.0"), ("99214", 4, "33.3", "20.8"),
        ("99215", 4, "33.3", "16.7")]
    assert _levels(_family(b, "office_established")) == [
        ("99211", 0, "0.0", "0.0"), ("99212", 3, "25.0", "12.5"),
        ("99213", 8, "66.7", "50.0"), ("99214", 1, "8.3", "20.8"),
        ("99215", 0, "0.0", "16.7")]
    established = _family(a, "office_established")
    assert (established.visits, established.reference_visits) == (12, 24)
    assert (established.top_two_percent, established.reference_top_two_percent) == (
        D("66.7"), D("37.5"))
    # new patients: A's two 99203 (the 99205 is before --from); B has none
    assert _levels(_family(a, "office_new")) == [
        ("99202", 0, "0.0", "0.0"), ("99203", 2, "100.0", "100.0"),
        ("99204", 0, "0.0", "0.0"), ("99205", 0, "0.0", "0.0")]
    assert _levels(_family(b, "office_new"))[1] == ("99203", 0, None, "100.0")
    assert [f.family.key for f in a.families] == ["office_new", "office_established"]


def test_outlier_flag_follows_the_documented_rule(seeded: Any) -> None:
    app, _roles = seeded
    a, b = _report(app).providers
    # A: 8/12 = 66.7% in 99214-99215 against 9/24 = 37.5%: 29.2 points above -> high
    assert _family(a, "office_established").flag == "high"
    # B: 1/12 = 8.3%: 29.2 points below -> low
    assert _family(b, "office_established").flag == "low"
    # two new-patient visits: under the minimum of 10, never flagged
    assert _family(a, "office_new").flag is None
    assert a.flags == ["office_established: high"] and b.flags == ["office_established: low"]
    assert "at least 10 visits" in ca.OUTLIER_RULE and "15 percentage points" in ca.OUTLIER_RULE


def test_outlier_rule_edges() -> None:
    from collections import Counter

    family = ca.EM_FAMILIES[1]
    reference = Counter({"99213": 50, "99214": 50})  # top two share 50%
    # 13 of 20 = 65%: 15 points above, not more -> no flag; 14 of 20 = 70% -> high
    assert ca.outlier_flag(Counter({"99213": 7, "99214": 13}), reference, family) is None
    assert ca.outlier_flag(Counter({"99213": 6, "99214": 14}), reference, family) == "high"
    assert ca.outlier_flag(Counter({"99213": 14, "99214": 6}), reference, family) == "low"
    # nine visits, all 99215: under the minimum
    assert ca.outlier_flag(Counter({"99215": 9}), reference, family) is None
    assert ca.outlier_flag(Counter({"99215": 10}), reference, family) == "high"


def test_modifier_rates_beside_the_practice(seeded: Any) -> None:
    app, _roles = seeded
    a, b = _report(app).providers
    rows = {p.npi: [(r.modifier, r.over, r.lines, r.eligible, ca._text(r.percent),
                     r.practice_lines, r.practice_eligible, ca._text(r.practice_percent))
                    for r in p.modifiers] for p in (a, b)}
    # A: 14 E/M lines, 2 with 25; 16 lines. B: 12 E/M lines; 15 lines, one 59, one XU.
    # practice: 26 E/M lines, 31 lines
    assert rows[NPI_A] == [("25", "E/M lines", 2, 14, "14.3", 2, 26, "7.7"),
                           ("59", "all lines", 0, 16, "0.0", 1, 31, "3.2"),
                           ("X{EPSU}", "all lines", 0, 16, "0.0", 1, 31, "3.2")]
    assert rows[NPI_B] == [("25", "E/M lines", 0, 12, "0.0", 2, 26, "7.7"),
                           ("59", "all lines", 1, 15, "6.7", 1, 31, "3.2"),
                           ("X{EPSU}", "all lines", 1, 15, "6.7", 1, 31, "3.2")]


def test_ncci_edits_bypassed_by_modifier_per_provider_and_pair(seeded: Any) -> None:
    app, _roles = seeded
    a, b = _report(app).providers
    # A: 20610 / 99214 bypassed with 25 on two claims
    assert [p.as_json() for p in a.bypassed] == [
        {"column_1": "20610", "column_2": "99214", "modifiers": ["25"], "count": 2}]
    assert a.bypass_count == 2
    # B: 20611 / 20610 bypassed with 59; the 99213 beside 20611 and 20610 carries no modifier,
    # so its edits were not bypassed (the scrubber flags them) and are not counted
    assert [p.as_json() for p in b.bypassed] == [
        {"column_1": "20611", "column_2": "20610", "modifiers": ["59"], "count": 1}]


def test_denial_rate_by_procedure_code(seeded: Any) -> None:
    app, _roles = seeded
    report = _report(app)
    assert [r.as_json() for r in report.denials] == [
        {"code": "99213", "adjudicated_lines": 2, "denied_lines": 1, "percent": "50.0",
         "top_carcs": [{"code": "CO-50", "lines": 1}]},
        # the primary paid nothing, all deductible (PR-1): not a denial; the secondary
        # payer's CO-16 is
        {"code": "99215", "adjudicated_lines": 2, "denied_lines": 1, "percent": "50.0",
         "top_carcs": [{"code": "CO-16", "lines": 1}]},
        {"code": "20610", "adjudicated_lines": 1, "denied_lines": 1, "percent": "100.0",
         "top_carcs": [{"code": "CO-97", "lines": 1}]},
        {"code": "99214", "adjudicated_lines": 1, "denied_lines": 0, "percent": "0.0",
         "top_carcs": []}]
    # only acme's claims: the secondary payer's denial is not among them
    acme = _report(app, ca.AuditFilters(NOVEMBER.date_from, NOVEMBER.date_to,
                                        payer_key="acme"))
    assert [(r.code, r.adjudicated, r.denied) for r in acme.denials][-1] == ("99215", 1, 0)


def test_filters_by_provider_dates_and_payer(seeded: Any) -> None:
    app, _roles = seeded
    only_b = _report(app, ca.AuditFilters(NOVEMBER.date_from, NOVEMBER.date_to, NPI_B))
    assert [p.npi for p in only_b.providers] == [NPI_B]
    # the reference is still the whole practice's, the denials only B's claims
    assert only_b.reference_claims == 26
    assert _levels(_family(only_b.providers[0], "office_established"))[2] == (
        "99213", 8, "66.7", "50.0")
    assert [r.code for r in only_b.denials] == ["99213"]
    # without dates, A's 99205 of September counts
    everything = _report(app, ca.AuditFilters())
    assert everything.reference_claims == 27
    assert _levels(_family(everything.providers[0], "office_new"))[3] == (
        "99205", 1, "33.3", "33.3")
    # another payer: nothing
    none = _report(app, ca.AuditFilters(payer_key="medicare"))
    assert (none.reference_claims, none.providers, none.denials) == (0, (), ())


@pytest.mark.parametrize(("filters", "error", "message"), [
    (ca.AuditFilters(provider_npi=npi_with_check_digit("111111111")), NotFound,
     "not found"),
    (ca.AuditFilters(provider_npi="1234567890"), ValidationFailed, "not a valid NPI"),
    (ca.AuditFilters(payer_key="nobody"), UnknownPayer, "'nobody' is not configured"),
    (ca.AuditFilters(date(2026, 12, 1), date(2026, 11, 1)), ValidationFailed,
     "--from: is after --to"),
])
def test_bad_filters_are_refused(medbill_app: Medbill, filters: ca.AuditFilters,
                                 error: type[Exception], message: str) -> None:
    with medbill_app.unit_of_work() as work, pytest.raises(error, match=message):
        ca.coding_report(work, filters)


# -- samples, findings, accuracy ---------------------------------------------------------------

def _sample(app: Medbill, seed: int, per_provider: int = 3,
            filters: ca.AuditFilters = NOVEMBER) -> ca.Sample:
    with app.unit_of_work() as work:
        return ca.create_sample(work, filters, per_provider=per_provider, seed=seed)


def _numbers(sample: ca.Sample) -> list[tuple[str, str]]:
    return [(claim.provider_npi, claim.claim_number) for claim in sample.claims]


def test_sample_is_reproducible_by_seed(seeded: Any) -> None:
    app, _roles = seeded
    first, again, other = _sample(app, 42), _sample(app, 42), _sample(app, 7)
    assert first.id != again.id
    assert _numbers(first) == _numbers(again)  # same seed, same data: same claims
    assert _numbers(first) != _numbers(other)  # another seed: another draw
    for sample in (first, other):
        assert [npi for npi, _ in _numbers(sample)] == sorted([NPI_A] * 3 + [NPI_B] * 3)
    # the draw is the documented one: each provider's claims by number, seeded seed:NPI
    with app.unit_of_work() as work:
        claims = ca.coded_encounters(work, NOVEMBER)
    expected = []
    for npi in sorted({NPI_A, NPI_B}):
        pool = [c.claim_number for c in claims if ca.provider_of(c) == npi]
        import random
        expected += [(npi, n) for n in sorted(random.Random(f"42:{npi}").sample(pool, 3))]
    assert _numbers(first) == expected
    # more than a provider has: all of them
    everything = _sample(app, 1, per_provider=50)
    assert len(everything.claims) == 26


def test_sample_refuses_bad_input(seeded: Any) -> None:
    app, _roles = seeded
    with pytest.raises(ValidationFailed, match="--per-provider: must be from 1 to 1000"):
        _sample(app, 1, per_provider=0)
    with pytest.raises(ValidationFailed, match="--seed: must not be negative"):
        _sample(app, -1)
    with pytest.raises(ValidationFailed, match="claims: none match the filters"):
        _sample(app, 1, filters=ca.AuditFilters(date(2020, 1, 1), date(2020, 1, 31)))
    with app.unit_of_work() as work:
        assert ca.list_samples(work) == []


def test_findings_and_accuracy_per_provider_are_audited(seeded: Any) -> None:
    app, _roles = seeded
    sample = _sample(app, 42, per_provider=2)
    assert NPI_B < NPI_A  # the sample lists providers by NPI
    (_, b1), (_, b2), (_, a1), (_, a2) = _numbers(sample)
    with app.unit_of_work() as work:
        ca.record_finding(work, sample.id, a1, "agree")
        ca.record_finding(work, sample.id, a2, ca.Finding.CHANGE_CODE,
                          corrected_codes=["99213 "], note="Patient Jane: level 3 only")
        ca.record_finding(work, sample.id, b1, "documentation_missing")
    with app.unit_of_work() as work:
        rates = {rate.npi: rate.as_json() for rate in ca.accuracy(work, sample.id)}
        shown = ca.get_sample(work, sample.id)
    assert rates[NPI_A] == {"provider": NPI_A, "sampled": 2, "reviewed": 2, "agree": 1,
                            "change_code": 1, "documentation_missing": 0,
                            "accuracy_percent": "50.0"}
    assert rates[NPI_B] == {"provider": NPI_B, "sampled": 2, "reviewed": 1, "agree": 0,
                            "change_code": 0, "documentation_missing": 1,
                            "accuracy_percent": "0.0"}
    assert [(c.claim_number, c.finding, c.corrected_codes) for c in shown.claims] == [
        (b1, ca.Finding.DOCUMENTATION_MISSING, ()), (b2, None, ()),
        (a1, ca.Finding.AGREE, ()), (a2, ca.Finding.CHANGE_CODE, ("99213",))]
    assert shown.reviewed == 3 and shown.claims[0].reviewed_by == "tester"
    # a later finding replaces the earlier one: B now 1 of 1... agreed
    with app.unit_of_work() as work:
        ca.record_finding(work, sample.id, b1, "agree")
        assert [(r.npi, r.percent) for r in ca.accuracy(work, sample.id)] == [
            (NPI_B, D("100.0")), (NPI_A, D("50.0"))]
        events = list(work.session.scalars(
            select(AuditEventRow).where(AuditEventRow.action.like("coding_audit.%"))
            .order_by(AuditEventRow.id)))
        ids = {c.claim_number: c.claim_id for c in shown.claims}
    assert [(e.action, e.actor, e.entity_type, e.entity_id) for e in events] == [
        ("coding_audit.sample", "tester", "coding_audit_sample", str(sample.id)),
        *[("coding_audit.finding", "tester", "coding_audit_sample", str(sample.id))] * 4]
    assert events[0].details["seed"] == 42
    assert events[0].details["claim_ids"] == [c.claim_id for c in shown.claims]
    assert [e.details for e in events[1:]] == [
        {"claim_id": ids[a1], "finding": "agree", "corrected_codes": [], "previous": None},
        {"claim_id": ids[a2], "finding": "change_code", "corrected_codes": ["99213"],
         "previous": None},
        {"claim_id": ids[b1], "finding": "documentation_missing", "corrected_codes": [],
         "previous": None},
        {"claim_id": ids[b1], "finding": "agree", "corrected_codes": [],
         "previous": "documentation_missing"}]
    # the note (may hold PHI) is never in the audit trail
    assert all("Jane" not in json.dumps(e.details) for e in events)


@pytest.mark.parametrize(("claim", "finding", "codes", "message"), [
    ("NOPE", "agree", [], "claim: is not in this sample"),
    (None, "banana", [], "finding: must be one of agree, change_code, documentation_missing"),
    (None, "change_code", [], "--code: is required with change_code"),
    (None, "change_code", ["9921"], "--code: number 1: '9921': not a well-formed HCPCS"),
    (None, "change_code", ["99213", "ZZZZZ"],
     "--code: number 2: 'ZZZZZ': not a well-formed HCPCS Level II code"),
    (None, "change_code", ["A0000"], "--code: number 1: A0000: no such HCPCS Level II code"),
    (None, "change_code", ["C5271"],
     "--code: number 1: C5271: HCPCS Level II terminated after 2025-12-31, not valid on"),
    (None, "agree", ["99213"], "--code: only with change_code, not with agree"),
])
def test_findings_refuse_bad_input(seeded: Any, claim: str | None, finding: str,
                                   codes: list[str], message: str) -> None:
    app, _roles = seeded
    sample = _sample(app, 3, per_provider=1)
    number = claim or sample.claims[0].claim_number
    with app.unit_of_work() as work, pytest.raises(ValidationFailed, match=message):
        ca.record_finding(work, sample.id, number, finding, corrected_codes=codes)
    with app.unit_of_work() as work, pytest.raises(NotFound, match="sample 999 not found"):
        ca.record_finding(work, 999, number, "agree")
    with app.unit_of_work() as work:
        assert ca.get_sample(work, sample.id).reviewed == 0


def test_a_corrected_code_is_checked_on_the_claims_date_of_service(seeded: Any) -> None:
    app, _roles = seeded
    sample = _sample(app, 3, per_provider=1)
    claim = sample.claims[0]
    record = f"coding audit sample {sample.id}"
    for code, problem in (
            ("ZZZZZ", "'ZZZZZ': not a well-formed HCPCS Level II code: HCPCS codes are 5 "
                      "characters: a letter A-V and 4 digits (Level II), or 5 digits / 4 "
                      "digits + F, T or U (CPT, Level I)"),
            ("C5271", "C5271: HCPCS Level II terminated after 2025-12-31, not valid on "
                      f"{claim.service_date}")):
        with app.unit_of_work() as work, pytest.raises(ValidationFailed) as refused:
            ca.record_finding(work, sample.id, claim.claim_number, "change_code",
                              corrected_codes=[code])
        assert refused.value.message == f"{record}: --code: number 1: {problem}"
    with app.unit_of_work() as work:
        assert ca.get_sample(work, sample.id).reviewed == 0  # nothing recorded
        # a Level II code in effect then, and a CPT code by its format, are taken
        reviewed = ca.record_finding(work, sample.id, claim.claim_number, "change_code",
                                     corrected_codes=["j3301", "99213"])
    assert reviewed.corrected_codes == ("J3301", "99213")


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def audit_config(cli_isolation: None, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", extra="""
[payers.bluecross]
payer_id = "BCBS1"
name = "Blue Cross"
adapter = "generic_x12"
"""), encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        roles = _seed(app)
        _answers(app, roles)
    finally:
        app.close()
    return path, roles


def test_cli_report_text_and_json(audit_config: tuple[Path, dict[str, Any]]) -> None:
    path, _roles = audit_config
    window = ("--from", "2026-10-01", "--to", "2026-11-30")
    data = json.loads(ok(path, "audit-coding", "report", *window, "--json").stdout)
    assert data["reference"] == {"kind": "practice average", "claims": 26,
                                 "text": "reference: practice average, 26 claims"}
    assert [(p["npi"], p["claims"], p["flags"], p["ncci_bypassed"])
            for p in data["providers"]] == [(NPI_A, 14, ["office_established: high"], 2),
                                            (NPI_B, 12, ["office_established: low"], 1)]
    assert data["providers"][0]["modifiers"][0]["percent"] == "14.3"
    assert data["denials_by_code"][0]["code"] == "99213"
    text = ok(path, "audit-coding", "report", *window).stdout
    assert "reference: practice average, 26 claims" in text
    assert "outlier rule: flagged when the provider has at least 10 visits" in text
    assert f"provider {NPI_A} Able, Dana: 14 claims, 16 lines; office_established: high" in text
    assert "NCCI edits bypassed by modifier: 2" in text
    assert "established patient │ 99211 │ 0     │ 0.0%   │ 0.0%        │ high" in text
    assert "CO-50 (1)" in text
    only = json.loads(ok(path, "audit-coding", "report", "--provider", NPI_B,
                         "--json").stdout)
    assert [p["npi"] for p in only["providers"]] == [NPI_B]


def test_cli_sample_review_show_accuracy(audit_config: tuple[Path, dict[str, Any]]) -> None:
    path, _roles = audit_config
    window = ("--from", "2026-10-01", "--to", "2026-11-30")
    sample = json.loads(ok(path, "audit-coding", "sample", "--per-provider", "2", "--seed",
                           "42", *window, "--json").stdout)
    again = json.loads(ok(path, "audit-coding", "sample", "--per-provider", "2", "--seed",
                          "42", *window, "--json").stdout)
    assert [c["claim_number"] for c in sample["claims"]] == \
        [c["claim_number"] for c in again["claims"]]
    first = sample["claims"][2]["claim_number"]  # provider A's first (B's NPI sorts first)
    assert sample["claims"][2]["provider"] == NPI_A
    reviewed = json.loads(ok(path, "audit-coding", "review", str(sample["id"]), first,
                             "--finding", "change_code", "--code", "99213", "--note",
                             "[bold]x[/bold]", "--json").stdout)
    assert (reviewed["finding"], reviewed["corrected_codes"]) == ("change_code", ["99213"])
    refused = cli(path, "audit-coding", "review", str(sample["id"]), first, "--finding",
                  "change_code", "--code", "ZZZZZ")
    assert one_line_error(refused).startswith(
        f"error: coding audit sample {sample['id']}: --code: number 1: 'ZZZZZ': not a "
        "well-formed HCPCS Level II code")
    assert json.loads(ok(path, "audit-coding", "show", str(sample["id"]), "--json").stdout)[
        "claims"][2]["corrected_codes"] == ["99213"]  # the earlier finding stands
    assert "note" not in reviewed
    text = ok(path, "audit-coding", "review", str(sample["id"]),
              sample["claims"][3]["claim_number"], "--finding", "agree").stdout
    assert f"claim {sample['claims'][3]['claim_number']} reviewed: agree" in text
    rates = json.loads(ok(path, "audit-coding", "accuracy", str(sample["id"]),
                          "--json").stdout)
    assert rates[1] == {"provider": NPI_A, "sampled": 2, "reviewed": 2, "agree": 1,
                        "change_code": 1, "documentation_missing": 0,
                        "accuracy_percent": "50.0"}
    assert rates[0]["provider"] == NPI_B
    assert rates[0]["accuracy_percent"] is None  # nothing of B's reviewed yet
    shown = json.loads(ok(path, "audit-coding", "show", str(sample["id"]), "--json").stdout)
    assert shown["reviewed"] == 2 and shown["accuracy"] == rates
    listed = json.loads(ok(path, "audit-coding", "list", "--json").stdout)
    assert [(s["id"], s["seed"], s["per_provider"]) for s in listed] == [
        (again["id"], 42, 2), (sample["id"], 42, 2)]
    assert "accuracy of sample" in ok(path, "audit-coding", "show", str(sample["id"])).stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (("report", "--provider", npi_with_check_digit("111111111")), 1,
     f"provider {npi_with_check_digit('111111111')} not found"),
    (("report", "--provider", "12345"), 1, "--provider: is not a valid NPI"),
    (("report", "--from", "2026-02-30"), 2, "--from must be a date as YYYY-MM-DD"),
    (("report", "--to", "11/30/2026"), 2, "--to must be a date as YYYY-MM-DD"),
    (("report", "--payer", "nobody"), 1, "payer 'nobody' is not configured"),
    (("sample", "--per-provider", "0", "--seed", "1"), 1,
     "--per-provider: must be from 1 to 1000"),
    (("sample", "--per-provider", "-2", "--seed", "1"), 1,
     "--per-provider: must be from 1 to 1000"),
    (("review", "1", "CA0001", "--finding", "agree"), 1, "coding audit sample 1 not found"),
    (("review", "1", "NOPE", "--finding", "agree"), 1, "claim: is not in this sample"),
    (("review", "1", "CA0001", "--finding", "maybe"), 2, "'maybe' is not one of"),
    (("show", "77"), 1, "coding audit sample 77 not found"),
    (("accuracy", "77"), 1, "coding audit sample 77 not found"),
])
def test_cli_wrong_input_is_one_line(audit_config: tuple[Path, dict[str, Any]],
                                     args: tuple[str, ...], code: int, message: str) -> None:
    path, _roles = audit_config
    if args[:3] == ("review", "1", "NOPE"):
        ok(path, "audit-coding", "sample", "--per-provider", "1", "--seed", "5")
    line = one_line_error(cli(path, "audit-coding", *args), code)
    assert message in line, line
    assert "Value error" not in line, line  # pydantic's prefix on an enum option, dropped


# -- read a page at a time ---------------------------------------------------------------------

@pytest.mark.parametrize("page", [1, 2, 3])
def test_report_and_sample_read_in_pages_are_the_same(seeded: Any, page: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The report adds up, and the sample draws from, a page of claims at a time: however the
    claims fall into pages (one claim a page: every claim is its page's last), the report and
    the claims drawn are those of one page holding them all."""
    app, _roles = seeded
    only_b = ca.AuditFilters(NOVEMBER.date_from, NOVEMBER.date_to, NPI_B)
    whole = [_report(app).as_json(), _report(app, only_b).as_json()]
    drawn = [_numbers(_sample(app, 42)), _numbers(_sample(app, 7, per_provider=50))]
    assert len(drawn[1]) == 26 and whole[0]["reference"]["claims"] > 3
    monkeypatch.setattr(ca, "_PAGE", page)
    assert [_report(app).as_json(), _report(app, only_b).as_json()] == whole
    assert [_numbers(_sample(app, 42)), _numbers(_sample(app, 7, per_provider=50))] == drawn

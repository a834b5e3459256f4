"""Medicare claim edits: each kind of error gives the right finding; a clean claim passes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import medbill_payer_medicare.plugin as medicare_plugin
import pytest
from medbill_payer_medicare.adapter import MedicareAdapter
from medbill_payer_medicare.edits import (
    filing_deadline,
    medicare_claim_edits,
    ordered_service_kind,
)
from medbill_payer_medicare.testing import (
    EXAMPLE_MBI_PRINTED,
    make_medicare_billable_claim,
    make_medicare_payer,
    make_referring_provider,
)

from medbill_core.api import BillableClaim, ClaimFinding, MedbillConfig, Relationship, Severity
from medbill_core.api.testing import PluginHooks, factories, phi_values

TODAY = date(2026, 3, 16)
DOS = date(2026, 3, 2)


def edits(claim: BillableClaim, today: date = TODAY, **kwargs: object) -> list[ClaimFinding]:
    findings = medicare_claim_edits(claim, today=today, **kwargs)
    for found in findings:
        assert found.source == "payer_medicare"
        assert found.code.startswith("medicare.")
        assert found.fix_hint
        for value in phi_values(claim):
            assert value not in found.message
            assert value not in (found.fix_hint or "")
    return findings


def codes(findings: list[ClaimFinding]) -> list[str]:
    return [f.code for f in findings]


def with_line(claim: BillableClaim, **line_fields: object) -> BillableClaim:
    line = factories.make_line(1, service_date=claim.claim.service_date_from, **line_fields)
    return claim.model_copy(update={"claim": claim.claim.model_copy(update={"lines": [line]})})


@pytest.fixture
def clean() -> BillableClaim:
    return make_medicare_billable_claim(service_date=DOS, lines=2)


def test_clean_claim_passes(clean: BillableClaim) -> None:
    assert edits(clean) == []


def test_printed_mbi_with_dashes_is_clean() -> None:
    claim = make_medicare_billable_claim(service_date=DOS, member_id=EXAMPLE_MBI_PRINTED)
    assert edits(claim) == []


@pytest.mark.parametrize(("member_id", "position"), [
    ("0EG4TE5MK73", 1), ("1EGATE5MK73", 4), ("1EG4TE5MS73", 9), ("XYZ123456789", None),
])
def test_invalid_mbi(member_id: str, position: int | None) -> None:
    claim = make_medicare_billable_claim(service_date=DOS, member_id=member_id)
    [found] = edits(claim)
    assert found.code == "medicare.mbi.invalid"
    assert found.severity is Severity.ERROR and found.blocks_submission
    assert found.field == "coverage.member_id"
    assert member_id not in found.message
    if position:
        assert f"position {position}" in found.message


def test_test_mbi_only_with_the_option() -> None:
    claim = make_medicare_billable_claim(service_date=DOS, member_id="1SA0AA0AA00")
    assert codes(edits(claim)) == ["medicare.mbi.invalid"]
    [found] = edits(claim, allow_test_mbis=True)
    assert found.code == "medicare.mbi.test" and found.severity is Severity.WARNING


def test_patient_must_be_the_subscriber() -> None:
    coverage = factories.make_coverage(patient_id=1, payer_key="medicare", id=1, dependent=True,
                                       member_id="1EG4TE5MK73")
    claim = make_medicare_billable_claim(service_date=DOS, coverage=coverage)
    [found] = edits(claim)
    assert found.code == "medicare.subscriber" and found.blocks_submission
    assert coverage.relationship is Relationship.CHILD
    assert "Testsubscriber" not in found.message


def test_filing_indicator_other_than_mb_is_a_warning() -> None:
    payer = make_medicare_payer(claim_filing_indicator="CI")
    claim = make_medicare_billable_claim(service_date=DOS, payer=payer)
    [found] = edits(claim)
    assert found.code == "medicare.filing_indicator"
    assert found.severity is Severity.WARNING and not found.blocks_submission


class TestTimelyFiling:
    def test_deadline_is_one_calendar_year(self) -> None:
        assert filing_deadline(date(2025, 3, 15)) == date(2026, 3, 15)
        assert filing_deadline(date(2024, 2, 29)) == date(2025, 2, 28)

    def test_last_day_is_still_timely(self) -> None:
        claim = make_medicare_billable_claim(service_date=date(2025, 3, 16))
        assert "medicare.timely_filing.expired" not in codes(edits(claim, today=TODAY))

    def test_day_after_is_expired(self) -> None:
        claim = make_medicare_billable_claim(service_date=date(2025, 3, 15), lines=2)
        found = edits(claim, today=TODAY)
        assert codes(found) == ["medicare.timely_filing.expired"] * 2
        assert [f.line_number for f in found] == [1, 2]
        assert all(f.blocks_submission for f in found)

    def test_warning_when_close(self) -> None:
        claim = make_medicare_billable_claim(service_date=date(2025, 4, 1))
        [found] = edits(claim, today=TODAY)
        assert found.code == "medicare.timely_filing.near"
        assert found.severity is Severity.WARNING
        assert edits(claim, today=TODAY, timely_filing_warning_days=0) == []

    def test_per_line_dates(self) -> None:
        claim = make_medicare_billable_claim(service_date=date(2025, 3, 10))
        old = factories.make_line(1, service_date=date(2025, 3, 10))
        new = factories.make_line(2, service_date=date(2025, 6, 10), procedure_code="93000",
                                  charge=Decimal("40.00"))
        inner = claim.claim.model_copy(update={"lines": [old, new],
                                               "service_date_to": date(2025, 6, 10)})
        found = edits(claim.model_copy(update={"claim": inner}), today=TODAY)
        assert [(f.code, f.line_number) for f in found] == [("medicare.timely_filing.expired", 1)]


class TestAbnModifiers:
    @pytest.mark.parametrize(("modifiers", "expected"), [
        (["GA"], []),
        (["GY"], []),
        (["GX", "GY"], []),
        (["GA", "GZ"], ["medicare.abn.ga_gz"]),
        (["GX", "GA"], ["medicare.abn.gx_conflict"]),
        (["GX", "GZ"], ["medicare.abn.gx_conflict", "medicare.abn.gz"]),
        (["GX", "EY"], ["medicare.abn.gx_conflict"]),
        (["GX"], ["medicare.abn.gx_without_gy"]),
        (["GY", "GA"], ["medicare.abn.gy_conflict"]),
        (["GY", "GZ"], ["medicare.abn.gy_conflict", "medicare.abn.gz"]),
        (["GZ"], ["medicare.abn.gz"]),
    ])
    def test_combinations(self, clean: BillableClaim, modifiers: list[str],
                          expected: list[str]) -> None:
        claim = with_line(clean, modifiers=modifiers)
        found = edits(claim)
        assert codes(found) == expected
        errors = {"medicare.abn.ga_gz", "medicare.abn.gx_conflict"}
        for item in found:
            assert item.line_number == 1 and item.field == "modifiers"
            assert item.blocks_submission == (item.code in errors)


class TestReferringProvider:
    @pytest.mark.parametrize(("code", "kind"), [
        ("71046", "diagnostic radiology and ultrasound"), ("80053", "pathology and laboratory"),
        ("77067", "breast imaging (mammography, breast MRI)"), ("E0114", "durable medical "
                                                                        "equipment"),
        ("L3908", "orthotics and prosthetics"), ("99213", None), ("93000", None),
        ("36415", None), ("7001F", None), ("77427", None), ("G0439", None),
    ])
    def test_ordered_service_list(self, code: str, kind: str | None) -> None:
        assert ordered_service_kind(code) == kind

    @pytest.mark.parametrize("code", ["71046", "80053", "E0114"])
    def test_missing_for_ordered_services(self, clean: BillableClaim, code: str) -> None:
        claim = with_line(clean, procedure_code=code)
        [found] = edits(claim)
        assert found.code == "medicare.referring.missing" and found.blocks_submission
        assert found.line_number == 1 and code in found.message

    def test_present(self, clean: BillableClaim) -> None:
        claim = with_line(clean, procedure_code="80053").model_copy(
            update={"referring_provider": make_referring_provider()})
        assert edits(claim) == []

    def test_not_on_an_institutional_claim(self, clean: BillableClaim) -> None:
        # an ER visit with a chest X-ray (71046) and a CBC: the attending provider answers
        institutional = factories.make_institutional_claim(
            payer_key="medicare", service_date=DOS, diagnoses=["E119", "I10"])
        assert {line.procedure_code for line in institutional.lines} >= {"71046", "85025"}
        claim = clean.model_copy(update={"claim": institutional})
        assert [f.code for f in edits(claim) if f.code == "medicare.referring.missing"] == []

    def test_npi_alone_is_not_enough(self, clean: BillableClaim) -> None:
        claim = with_line(clean, procedure_code="80053")
        inner = claim.claim.model_copy(update={"referring_provider_npi": factories.REFERRING_NPI})
        [found] = edits(claim.model_copy(update={"claim": inner}))
        assert found.code == "medicare.referring.missing" and "2310A" in found.message


def test_every_kind_at_once() -> None:
    coverage = factories.make_coverage(patient_id=1, payer_key="medicare", id=1, dependent=True,
                                       member_id="1EG4TE5MKZ3")
    claim = make_medicare_billable_claim(
        service_date=date(2024, 1, 10), coverage=coverage,
        payer=make_medicare_payer(claim_filing_indicator="CI"))
    claim = with_line(claim, procedure_code="71046", modifiers=["GA", "GZ"])
    assert sorted(set(codes(edits(claim)))) == [
        "medicare.abn.ga_gz", "medicare.filing_indicator", "medicare.mbi.invalid",
        "medicare.referring.missing", "medicare.subscriber", "medicare.timely_filing.expired"]


def test_adapter_uses_payer_options_and_clock() -> None:
    adapter = MedicareAdapter(delegate=None, today=lambda: TODAY)
    payer = make_medicare_payer(options={"allow_test_mbis": True, "locality": "18",
                                         "mac": "01182"})
    claim = make_medicare_billable_claim(service_date=DOS, payer=payer, member_id="1SA0AA0AA00")
    assert codes(adapter.claim_edits(claim)) == ["medicare.mbi.test"]
    assert codes(MedicareAdapter(delegate=None, today=lambda: date(2027, 3, 3))
                 .claim_edits(make_medicare_billable_claim(service_date=DOS))) == [
        "medicare.timely_filing.expired"]


def test_through_the_plugin_hooks() -> None:
    """The core scrubber hook runs the Medicare edits for payers whose adapter is medicare."""
    payer = make_medicare_payer()
    config = MedbillConfig(plugins=[], practice=factories.make_practice(),
                           payers={payer.key: payer, "acme": factories.make_payer("acme")})
    hooks = PluginHooks.start(config, extra_plugins=[("payer_medicare", medicare_plugin)],
                              load_installed=False)
    assert isinstance(hooks.context.adapter("medicare"), MedicareAdapter)
    clean = make_medicare_billable_claim(payer=payer)
    assert [f for f in hooks.claim_edits(claim=clean) if f.source == "payer_medicare"] == []
    bad = make_medicare_billable_claim(payer=payer, member_id="1EG4TE5MK7")
    found = hooks.claim_edits(claim=bad)
    assert "medicare.mbi.invalid" in codes(found)
    commercial = factories.make_billable_claim()
    assert not [f for f in hooks.claim_edits(claim=commercial) if f.source == "payer_medicare"]


def test_invalid_options_stop_start_up() -> None:
    from medbill_core.api import ConfigurationError

    payer = make_medicare_payer(options={"mac": "01182", "locality": "99"})
    config = MedbillConfig(plugins=[], payers={payer.key: payer})
    with pytest.raises(ConfigurationError, match="locality"):
        PluginHooks.start(config, extra_plugins=[("payer_medicare", medicare_plugin)],
                          load_installed=False)


def test_recent_claim_is_inside_both_windows() -> None:
    claim = make_medicare_billable_claim()
    assert claim.claim.service_date_from > date.today() - timedelta(days=30)
    assert medicare_claim_edits(claim) == []

"""The OPPS imaging cap, CMS's NA rules and MPFS releases by date, with real CY2026 rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from medbill_payer_medicare.adapter import MedicareAdapter
from medbill_payer_medicare.feeschedule import (
    RULE_NA_FACILITY,
    RULE_NA_NONFACILITY,
    FeeSchedule,
    MedicarePricer,
    NotPriced,
)
from medbill_payer_medicare.testing import make_medicare_payer
from medbill_payer_medicare.underpayment import find_underpayments

from medbill_core.api import ClaimPayment, ClaimStatusCode, OppsCapAmount, ServicePayment
from medbill_core.api.testing import factories, mpfs_files, update_code_sets

CF_2026 = Decimal("33.4009")
LA_2026 = (Decimal("1.041"), Decimal("1.188"), Decimal("0.623"))  # Addendum E, 01182/18
CENT = Decimal("0.01")


def by_hand(work: str, pe: str, mp: str, cf: Decimal = CF_2026) -> Decimal:
    total = (Decimal(work) * LA_2026[0] + Decimal(pe) * LA_2026[1]
             + Decimal(mp) * LA_2026[2]) * cf
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(autouse=True)
def no_user_releases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Releases a developer loaded into their own code-set directory must not leak in."""
    folder = tmp_path / "codesets"
    folder.mkdir()
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(folder))
    return folder


@pytest.fixture
def la_2026() -> MedicarePricer:
    return MedicarePricer.for_locality("18", "01182", year=2026)


def payment(*services: ServicePayment) -> ClaimPayment:
    return ClaimPayment(claim_number="CLM0001", status=ClaimStatusCode.PRIMARY,
                        charge=sum((s.charge for s in services), Decimal("0")),
                        paid=sum((s.paid for s in services), Decimal("0")),
                        services=list(services))


def service(code: str, allowed: str, modifiers: tuple[str, ...] = (),
            day: date = date(2026, 8, 3)) -> ServicePayment:
    return ServicePayment(procedure_code=code, modifiers=list(modifiers),
                          charge=Decimal("900.00"), paid=(Decimal(allowed) * Decimal("0.8")
                                                          ).quantize(CENT),
                          allowed_amount=Decimal(allowed), units=Decimal("1"),
                          service_date_from=day)


# -- OPPS imaging cap --------------------------------------------------------------------------

def test_cap_applies_when_the_opps_amount_is_lower(la_2026: MedicarePricer) -> None:
    # 72191-TC (CT angiography, pelvis): PFS non-facility PE 6.60 / MP 0.03, OPPS PE 5.34 /
    # MP 0.02 (RVU26C "PE/MP used for OPPS payment amount")
    amount = la_2026.price("72191", "11", modifiers=["TC"])
    pfs, cap = by_hand("0.00", "6.60", "0.03"), by_hand("0.00", "5.34", "0.02")
    assert (pfs, cap) == (Decimal("262.51"), Decimal("212.31"))
    assert amount.pfs_unit_amount == pfs and amount.opps_cap_unit_amount == cap
    assert amount.opps_cap_applied and amount.unit_amount == cap
    assert amount.opps_cap_source == "RVU file OPPS columns"


def test_cap_on_the_global_service(la_2026: MedicarePricer) -> None:
    # global row: the OPPS columns include the professional component's PE and MP
    amount = la_2026.price("72191", "11")
    assert amount.pfs_unit_amount == by_hand("1.76", "7.20", "0.14")
    assert amount.unit_amount == by_hand("1.76", "5.94", "0.13") < amount.pfs_unit_amount
    assert amount.opps_cap_applied


def test_cap_not_applied_when_the_pfs_amount_is_lower(la_2026: MedicarePricer) -> None:
    # 70450-TC (CT head): PFS PE 2.00 < OPPS PE 3.18 -> the PFS amount stands
    amount = la_2026.price("70450", "11", modifiers=["TC"])
    assert amount.unit_amount == amount.pfs_unit_amount == by_hand("0.00", "2.00", "0.01")
    assert amount.opps_cap_unit_amount == by_hand("0.00", "3.18", "0.02")
    assert not amount.opps_cap_applied
    visit = la_2026.price("99213", "11")  # not an imaging service: no cap at all
    assert (visit.opps_cap_unit_amount, visit.opps_cap_applied) == (None, False)


def test_oppscap_file_amount_wins_over_the_computed_one(la_2026: MedicarePricer) -> None:
    schedule = replace(la_2026.schedule, opps_caps={
        ("72191", "TC", "01182", "18"): OppsCapAmount(Decimal("200.00"), Decimal("205.00"))})
    pricer = MedicarePricer(schedule, la_2026.locality)
    amount = pricer.price("72191", "11", modifiers=["TC"])
    assert (amount.unit_amount, amount.opps_cap_source) == (Decimal("205.00"),
                                                            "CMS OPPSCAP file")


def test_imaging_paid_at_the_cap_is_not_underpaid(la_2026: MedicarePricer) -> None:
    at_cap = payment(service("72191", "212.31", ("TC",)))
    assert find_underpayments(at_cap, la_2026, place_of_service="11") == []
    below = payment(service("72191", "200.00", ("TC",)))
    [found] = find_underpayments(below, la_2026, place_of_service="11")
    assert found.expected_amount == Decimal("212.31")
    assert "12.31 below the 2026 MPFS amount 212.31" in found.message
    assert "OPPS imaging cap 212.31 per unit applied to the PFS amount 262.51" in found.message


# -- NA in the RVU file ------------------------------------------------------------------------

def test_non_facility_na_is_paid_at_the_facility_pe(la_2026: MedicarePricer) -> None:
    # 11004 (debridement, genitalia/perineum): NA in the non-facility column
    office = la_2026.price("11004", "11")
    assert office.setting_rule == RULE_NA_NONFACILITY
    assert office.unit_amount == by_hand("10.53", "2.46", "2.12") == Decimal("507.86")
    hospital = la_2026.price("11004", "22")
    assert (hospital.unit_amount, hospital.setting_rule) == (office.unit_amount, "")


def test_facility_na_technical_component_is_not_paid_to_the_practitioner(
        la_2026: MedicarePricer) -> None:
    # 70450 global and TC: NA in the facility column; the facility is paid for the TC
    with pytest.raises(NotPriced, match=r"70450 is not paid in a facility setting .*"
                                        r"bill the professional component \(26\)"):
        la_2026.price("70450", "22")
    with pytest.raises(NotPriced, match="70450-TC is not paid in a facility setting"):
        la_2026.price("70450", "22", modifiers=["TC"])
    reading = la_2026.price("70450", "22", modifiers=["26"])
    assert reading.unit_amount == by_hand("0.83", "0.30", "0.05")
    assert la_2026.price("70450", "11").unit_amount == by_hand("0.83", "2.30", "0.06")


def test_facility_na_other_services(la_2026: MedicarePricer) -> None:
    # 90460 (vaccine counselling, PC/TC 0): priced from the facility column CMS publishes
    amount = la_2026.price("90460", "22")
    assert amount.setting_rule == RULE_NA_FACILITY
    assert amount.unit_amount == by_hand("0.23", "0.45", "0.02")
    # 90471 (immunization administration, PC/TC 5 incident-to): not paid for hospital patients
    with pytest.raises(NotPriced, match="incident-to services are not paid for hospital"):
        la_2026.price("90471", "22")


# -- releases by date of service ---------------------------------------------------------------

def test_pricer_names_the_release(la_2026: MedicarePricer) -> None:
    assert la_2026.price("99213", "11").release == "MPFS 2026 RVU26C (July 2026 release)"
    early = MedicarePricer.for_date(date(2026, 2, 2), "18", "01182")
    amount = early.price("99213", "11")
    assert amount.release == "MPFS 2026 RVU26C (July 2026 release, standing in for 2026 Q1-Q2)"
    assert amount.release_covered and amount.unit_amount == Decimal("105.01")


def test_past_the_newest_release_the_amount_is_an_estimate() -> None:
    adapter = MedicareAdapter(delegate=None)
    payer = make_medicare_payer()
    late = MedicarePricer.for_date(date(2026, 11, 16), "18", "01182")
    amount = late.price("99213", "11")
    assert amount.unit_amount == Decimal("105.01")  # from RVU26C, the nearest release
    assert not amount.release_covered
    assert "2026 Q4 (2026-10-01..2026-12-31) is not loaded" in amount.release_note
    # estimates get the nearest release's amount in the same year, nothing for another year
    assert adapter.expected_allowed(payer, "99213", [], "11", date(2026, 11, 16)) == Decimal(
        "105.01")
    assert adapter.expected_allowed(payer, "99213", [], "11", date(2027, 2, 1)) is None

    low = payment(service("99213", "100.00", day=date(2026, 11, 16)))
    claim = factories.make_claim(service_date=date(2026, 11, 16))
    [found] = adapter.underpayments(low, payer, claim=claim)
    assert "an estimate, not a certain amount" in found.message
    assert "medbill codes update" in found.message
    assert found.fix_hint is not None and found.fix_hint.startswith(
        "load the MPFS release named above")
    in_2027 = payment(service("99213", "100.00", day=date(2027, 2, 1)))
    assert adapter.underpayments(in_2027, payer,
                                 claim=factories.make_claim(service_date=date(2027, 2, 1))
                                 ) == []


def test_a_loaded_release_prices_its_quarter(tmp_path: Path, no_user_releases: Path) -> None:
    update_code_sets([mpfs_files.write_rvu_zip(tmp_path / "rvu26d.zip")],
                     data_dir=no_user_releases)
    adapter = MedicareAdapter(delegate=None)
    payer = make_medicare_payer()
    cf = Decimal(mpfs_files.CONVERSION_FACTOR)
    expected = by_hand("1.30", "1.46", "0.09", cf)
    assert adapter.expected_allowed(payer, "99213", [], "11", date(2026, 11, 16)) == expected
    low = payment(service("99213", "100.00", day=date(2026, 11, 16)))
    [found] = adapter.underpayments(low, payer,
                                    claim=factories.make_claim(service_date=date(2026, 11, 16)))
    assert "MPFS 2026 RVU26D (October 2026 release)" in found.message
    assert "estimate" not in found.message
    # the loaded OPPSCAP amount caps 72191-TC in Los Angeles
    pricer = MedicarePricer.for_date(date(2026, 11, 16), "18", "01182")
    tc = pricer.price("72191", "11", modifiers=["TC"])
    assert (tc.unit_amount, tc.opps_cap_source) == (Decimal(mpfs_files.OPPSCAP_72191_TC),
                                                    "CMS OPPSCAP file")
    assert FeeSchedule.load(2026).label == "MPFS 2026 RVU26D (October 2026 release)"

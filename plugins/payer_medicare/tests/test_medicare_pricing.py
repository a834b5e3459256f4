"""MPFS pricing against hand computations, and the 835 underpayment check."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from medbill_payer_medicare.adapter import MedicareAdapter
from medbill_payer_medicare.feeschedule import (
    FACILITY_POS,
    FeeSchedule,
    MedicarePricer,
    NotPriced,
    available_years,
    is_facility,
)
from medbill_payer_medicare.options import MedicareOptions
from medbill_payer_medicare.testing import make_medicare_payer
from medbill_payer_medicare.underpayment import allowed_amount, find_underpayments

from medbill_core.api import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    CodeSetError,
    ConfigurationError,
    PaymentFinding,
    ServicePayment,
)
from medbill_core.api.testing import factories

CF_2025 = Decimal("32.3465")
CENT = Decimal("0.01")
# 2025 GPCIs (Addendum E): MAC 01182 locality 18 Los Angeles; 13202/01 Manhattan
LA = (Decimal("1.042"), Decimal("1.194"), Decimal("0.69"))
MANHATTAN = (Decimal("1.065"), Decimal("1.166"), Decimal("1.656"))


def by_hand(work: str, pe: str, mp: str, gpci: tuple[Decimal, Decimal, Decimal]) -> Decimal:
    total = (Decimal(work) * gpci[0] + Decimal(pe) * gpci[1] + Decimal(mp) * gpci[2]) * CF_2025
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def la() -> MedicarePricer:
    return MedicarePricer.for_locality("18", "01182")


def test_shipped_year_and_conversion_factor() -> None:
    assert available_years() == [2025, 2026]
    schedule = FeeSchedule.load(2025)
    assert schedule.conversion_factor == CF_2025
    assert len(schedule.rvus) == 19_090
    assert len(schedule.localities) == 109


def test_99213_non_facility_los_angeles(la: MedicarePricer) -> None:
    # 99213: work 1.30, non-facility PE 1.35, MP 0.10
    # (1.30 x 1.042 + 1.35 x 1.194 + 0.10 x 0.69) x 32.3465 = 3.0355 x 32.3465 = 98.1878...
    priced = la.price("99213", "11")
    assert priced.amount == Decimal("98.19") == by_hand("1.30", "1.35", "0.10", LA)
    assert not priced.facility
    assert (priced.work_rvu, priced.pe_rvu, priced.mp_rvu) == (
        Decimal("1.30"), Decimal("1.35"), Decimal("0.10"))
    assert isinstance(priced.amount, Decimal)


def test_99213_facility_los_angeles(la: MedicarePricer) -> None:
    # facility PE 0.57: (1.3546 + 0.68058 + 0.069) x 32.3465 = 68.0628...
    priced = la.price("99213", "22")
    assert priced.facility and priced.pe_rvu == Decimal("0.57")
    assert priced.amount == Decimal("68.06") == by_hand("1.30", "0.57", "0.10", LA)


def test_99214_manhattan() -> None:
    pricer = MedicarePricer.for_locality("01", "13202")
    # (1.92 x 1.065 + 1.80 x 1.166 + 0.15 x 1.656) x 32.3465 = 4.392 x 32.3465 = 142.0658...
    assert pricer.price("99214", "11").amount == Decimal("142.07") == by_hand(
        "1.92", "1.80", "0.15", MANHATTAN)


def test_units_and_non_participating(la: MedicarePricer) -> None:
    assert la.price("99213", "11", units=Decimal("2")).amount == Decimal("196.38")
    nonpar = MedicarePricer(la.schedule, la.locality, participating=False)
    # 95% of 98.19 = 93.2805 -> 93.28
    assert nonpar.price("99213", "11").amount == Decimal("93.28")
    with pytest.raises(TypeError):
        la.price("99213", "11", units=1.0)  # type: ignore[arg-type]


def test_professional_and_technical_components(la: MedicarePricer) -> None:
    # 71046 (chest x-ray, 2 views): global 0.22/0.77/0.02, -26 0.22/0.08/0.01, -TC 0/0.69/0.01
    assert la.price("71046", "11").amount == by_hand("0.22", "0.77", "0.02", LA)
    pro = la.price("71046", "22", modifiers=["26"])
    assert pro.pricing_modifier == "26" and pro.amount == by_hand("0.22", "0.08", "0.01", LA)
    tech = la.price("71046", "11", modifiers=["TC", "RT"])
    assert tech.pricing_modifier == "TC" and tech.amount == by_hand("0.00", "0.69", "0.01", LA)
    # the global service is not paid in a facility: bill -26
    with pytest.raises(NotPriced, match=r"facility.*\(26\)"):
        la.price("71046", "22")
    with pytest.raises(NotPriced, match="no 26 row"):
        la.price("99213", "11", modifiers=["26"])
    with pytest.raises(NotPriced, match="select different"):
        la.price("71046", "11", modifiers=["26", "TC"])


@pytest.mark.parametrize(("code", "words"), [
    ("80053", "status X"),     # clinical lab: paid from the CLFS
    ("00100", "anesthesia"),   # base + time units
    ("J1100", "status E"),     # drug: ASP pricing
    ("36415", "status X"),
    ("99999", "not in the MPFS 2025 RVU25D"),
])
def test_not_priced(la: MedicarePricer, code: str, words: str) -> None:
    with pytest.raises(NotPriced, match=words):
        la.price(code, "11")


def test_facility_pos_list() -> None:
    assert {"21", "22", "23", "24", "19", "31", "02"} <= FACILITY_POS
    assert not is_facility("11") and not is_facility("12") and not is_facility("10")
    assert is_facility("22")


def test_localities() -> None:
    schedule = FeeSchedule.load()
    with pytest.raises(CodeSetError, match="several MACs"):
        schedule.locality("18")  # Los Angeles (01182) and Houston (04412)
    assert schedule.locality("18", "04412").name == "HOUSTON"
    assert schedule.locality("01", "13202").name == "MANHATTAN"
    with pytest.raises(CodeSetError, match="no locality 42"):
        schedule.locality("42", "01182")


class TestOptions:
    def test_defaults_validate(self) -> None:
        assert MedicareOptions().fee_schedule_year == 2025

    def test_unknown_year_and_locality(self) -> None:
        with pytest.raises(ValueError, match="available: 2025"):
            MedicareOptions(fee_schedule_year=2019)
        with pytest.raises(ValueError, match="no locality 99 under MAC 01182"):
            MedicareOptions(mac="01182", locality="99")
        with pytest.raises(ValueError, match="not in the 2025 GPCI"):
            MedicareOptions(mac="99999", locality="01")
        assert MedicareOptions(locality="1", mac="13202").locality == "01"

    @pytest.mark.parametrize("digits", [str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
                                        str.maketrans("0123456789", "０１２３４５６７８９")],
                             ids=["arabic-indic", "full-width"])
    def test_mac_and_locality_take_ascii_digits_only(self, digits: dict[int, str]) -> None:
        with pytest.raises(ValueError, match="mac"):
            MedicareOptions(mac="13202".translate(digits), locality="01")
        with pytest.raises(ValueError, match="locality"):
            MedicareOptions(mac="13202", locality="01".translate(digits))

    def test_pricer_from_payer(self) -> None:
        adapter = MedicareAdapter(delegate=None)
        assert adapter.pricer(make_medicare_payer()).price("99213", "11").amount == Decimal(
            "98.19")
        # MAC taken from the payer ID when the options give only the locality
        houston = make_medicare_payer(payer_id="04412", options={"locality": "18"})
        assert adapter.pricer(houston).locality.name == "HOUSTON"
        with pytest.raises(ConfigurationError, match="locality"):
            adapter.pricer(make_medicare_payer(options={}))


# -- underpayments ----------------------------------------------------------------------------

def service(code: str, charge: str, paid: str, *, allowed: str | None = None,
            adjustments: list[Adjustment] | None = None, modifiers: list[str] | None = None,
            units: str = "1", lcn: str | None = None) -> ServicePayment:
    return ServicePayment(procedure_code=code, charge=Decimal(charge), paid=Decimal(paid),
                          allowed_amount=Decimal(allowed) if allowed else None,
                          units=Decimal(units), modifiers=modifiers or [],
                          adjustments=adjustments or [], line_control_number=lcn,
                          service_date_from=date(2026, 3, 2))


def payment(*services: ServicePayment,
            status: ClaimStatusCode = ClaimStatusCode.PRIMARY) -> ClaimPayment:
    return ClaimPayment(claim_number="CLM0001", status=status,
                        charge=sum((s.charge for s in services), Decimal("0.00")),
                        paid=sum((s.paid for s in services), Decimal("0.00")),
                        services=list(services), member_id="1EG4TE5MK73",
                        patient_last_name="Testpatient1")


def co(reason: str, amount: str) -> Adjustment:
    return Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code=reason,
                      amount=Decimal(amount))


def pr(reason: str, amount: str) -> Adjustment:
    return Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY, reason_code=reason,
                      amount=Decimal(amount))


def test_underpaid_line_is_flagged(la: MedicarePricer) -> None:
    found = find_underpayments(payment(
        service("99213", "150.00", "70.56", allowed="90.00"),
        service("93000", "40.00", "12.11", allowed="15.45")), la, place_of_service="11")
    [only] = found
    assert only.code == "medicare.underpaid" and only.line_number == 1
    assert not only.blocks_submission
    assert "allowed 90.00 is 8.19 below the 2025 MPFS amount 98.19" in only.message
    assert "1EG4TE5MK73" not in only.message and "Testpatient1" not in only.message
    assert only.claim_number == "CLM0001" and only.fix_hint


def test_underpaid_line_carries_expected_allowed_and_paid(la: MedicarePricer) -> None:
    """The amounts ``medbill ar followup`` lists (stored while the 835 is posted)."""
    [only] = find_underpayments(payment(
        service("99213", "150.00", "70.56", allowed="90.00")), la, place_of_service="11")
    assert isinstance(only, PaymentFinding)
    assert (only.expected_amount, only.allowed_amount, only.paid_amount) == (
        Decimal("98.19"), Decimal("90.00"), Decimal("70.56"))


def test_allowed_derived_from_paid_and_patient_share(la: MedicarePricer) -> None:
    # Medicare: allowed 98.19; 20% coinsurance 19.64; sequestration 2% of 78.55 = 1.57
    full = service("99213", "150.00", "76.98",
                   adjustments=[co("45", "51.81"), pr("2", "19.64"), co("253", "1.57")])
    assert allowed_amount(full) == Decimal("98.19")
    assert find_underpayments(payment(full), la, place_of_service="11") == []
    short = service("99213", "150.00", "70.00",
                    adjustments=[co("45", "58.79"), pr("2", "19.64"), co("253", "1.57")])
    [found] = find_underpayments(payment(short), la, place_of_service="11")
    assert "allowed 91.21 is 6.98 below" in found.message


def test_units_count(la: MedicarePricer) -> None:
    two = service("99213", "300.00", "150.00", allowed="190.00", units="2")
    [found] = find_underpayments(payment(two), la, place_of_service="11")
    assert "x 2)" in found.message and "196.38" in found.message


def test_facility_setting_from_the_claim(la: MedicarePricer) -> None:
    paid = service("99213", "150.00", "53.00", allowed="68.06")
    claim = factories.make_claim(place_of_service="22", service_date=date(2026, 3, 2))
    assert find_underpayments(payment(paid), la, claim=claim) == []
    [found] = find_underpayments(payment(paid), la, place_of_service="11")
    assert "non-facility" in found.message


def test_line_matched_by_control_number(la: MedicarePricer) -> None:
    claim = factories.make_claim(lines=2, service_date=date(2026, 3, 2))
    lines = [claim.lines[0].model_copy(update={"line_control_number": "L1"}),
             claim.lines[1].model_copy(update={"line_control_number": "L2",
                                               "procedure_code": "99214"})]
    claim = claim.model_copy(update={"lines": lines})
    paid = service("99214", "150.00", "80.00", allowed="100.00", lcn="L2")
    [found] = find_underpayments(payment(paid), la, claim=claim)
    assert found.line_number == 2


@pytest.mark.parametrize("case", ["denied", "reversal", "unpriced", "modifier", "tolerance",
                                  "zero", "no_pos"])
def test_not_flagged(la: MedicarePricer, case: str) -> None:
    low = service("99213", "150.00", "40.00", allowed="50.00")
    kwargs: dict[str, object] = {"place_of_service": "11"}
    pay = payment(low)
    if case == "denied":
        pay = payment(service("99213", "150.00", "0.00", allowed="50.00"),
                      status=ClaimStatusCode.DENIED)
    elif case == "reversal":
        pay = payment(low, status=ClaimStatusCode.REVERSAL)
    elif case == "unpriced":
        pay = payment(service("80053", "50.00", "1.00", allowed="1.00"))
    elif case == "modifier":
        pay = payment(service("99213", "150.00", "40.00", allowed="50.00", modifiers=["52"]))
    elif case == "tolerance":
        pay = payment(service("99213", "150.00", "78.00", allowed="98.00"))
        kwargs["tolerance"] = Decimal("0.50")
    elif case == "zero":
        pay = payment(service("99213", "150.00", "0.00", adjustments=[co("50", "150.00")]))
    elif case == "no_pos":
        kwargs = {}
    assert find_underpayments(pay, la, **kwargs) == []  # type: ignore[arg-type]


def test_multiple_procedure_reductions_not_flagged(la: MedicarePricer) -> None:
    # two CT codes (multiple-procedure indicator 4): imaging MPPR legitimately reduces one
    first = service("74176", "500.00", "100.00", allowed="150.00")
    second = service("70450", "300.00", "50.00", allowed="60.00")
    assert find_underpayments(payment(first, second), la, place_of_service="11") == []
    # alone, the same CT line is flagged
    assert len(find_underpayments(payment(first), la, place_of_service="11")) == 1


def test_adapter_underpayments_use_the_options() -> None:
    adapter = MedicareAdapter(delegate=None)
    # the 2026 schedule prices the 2026-03-02 visit at 105.01: 15.01 short of it
    payer = make_medicare_payer(options={"mac": "01182", "locality": "18",
                                         "underpayment_tolerance": "15.01"})
    low = payment(service("99213", "150.00", "70.00", allowed="90.00"))
    claim = factories.make_claim(service_date=date(2026, 3, 2))
    assert adapter.underpayments(low, payer, claim=claim) == []
    strict = make_medicare_payer()
    assert [f.code for f in adapter.underpayments(low, strict, claim=claim)] == [
        "medicare.underpaid"]


class TestExpectedAllowedHook:
    """``medbill_expected_allowed`` answers Medicare payers from the MPFS."""

    @pytest.fixture
    def hooks(self) -> Any:
        import medbill_payer_medicare.plugin as medicare_plugin

        from medbill_core.api import MedbillConfig
        from medbill_core.api.testing import PluginHooks

        payers = {"medicare": make_medicare_payer(),
                  "medicare-2025": make_medicare_payer(
                      "medicare-2025", options={"mac": "01182", "locality": "18",
                                                "fee_schedule_year": 2025}),
                  "acme": factories.make_payer("acme", options={"fee_schedule": {
                      "99213": "80.00"}})}
        config = MedbillConfig(plugins=[], payers=payers)
        return PluginHooks.start(config, extra_plugins=[("payer_medicare", medicare_plugin)],
                                 load_installed=False)

    def ask(self, hooks: Any, key: str, code: str = "99213", pos: str = "11",
            day: date = date(2025, 6, 2), modifiers: tuple[str, ...] = ()) -> Decimal | None:
        return hooks.expected_allowed(payer=hooks.context.payer(key), procedure_code=code,
                                      modifiers=list(modifiers), place_of_service=pos,
                                      service_date=day)

    def test_medicare_price(self, hooks: Any) -> None:
        assert self.ask(hooks, "medicare") == Decimal("98.19")
        assert self.ask(hooks, "medicare", pos="22") == Decimal("68.06")
        assert self.ask(hooks, "medicare", code="71046", pos="22",
                        modifiers=("26",)) == by_hand("0.22", "0.08", "0.01", LA)

    def test_unknown_stays_unknown(self, hooks: Any) -> None:
        assert self.ask(hooks, "medicare", code="80053") is None          # CLFS, not MPFS
        assert self.ask(hooks, "medicare", day=date(2027, 6, 1)) is None  # 2027 not shipped
        # an explicit fee_schedule_year prices any date with that year
        assert self.ask(hooks, "medicare-2025", day=date(2026, 6, 1)) == Decimal("98.19")

    def test_other_payers_use_the_default(self, hooks: Any) -> None:
        assert self.ask(hooks, "acme") == Decimal("80.00")


# -- CY2026 (RVU26C): a 2026 date of service is priced with the 2026 schedule ------------------

CF_2026 = Decimal("33.4009")
LA_2026 = (Decimal("1.041"), Decimal("1.188"), Decimal("0.623"))  # 2026 Addendum E, 01182/18


def test_2026_schedule_shipped() -> None:
    schedule = FeeSchedule.load(2026)
    assert schedule.conversion_factor == CF_2026
    assert len(schedule.rvus) == 19_356
    row = schedule.rvu("99213")
    assert row is not None and (row.work, row.pe_nonfacility, row.mp) == (
        Decimal("1.30"), Decimal("1.46"), Decimal("0.09"))


def test_2026_date_of_service_gets_the_2026_amount() -> None:
    adapter = MedicareAdapter(delegate=None)
    # (1.30 x 1.041 + 1.46 x 1.188 + 0.09 x 0.623) x 33.4009 = 3.14385 x 33.4009 = 105.0074
    by_hand_2026 = ((Decimal("1.30") * LA_2026[0] + Decimal("1.46") * LA_2026[1]
                     + Decimal("0.09") * LA_2026[2]) * CF_2026).quantize(CENT, ROUND_HALF_UP)
    assert by_hand_2026 == Decimal("105.01")
    payer = make_medicare_payer()
    assert adapter.expected_allowed(payer, "99213", [], "11", date(2026, 2, 10)) == by_hand_2026
    assert adapter.expected_allowed(payer, "99213", [], "11", date(2025, 2, 10)) == Decimal(
        "98.19")


def test_underpayment_check_uses_the_visit_year() -> None:
    adapter = MedicareAdapter(delegate=None)
    payer = make_medicare_payer()
    paid_2026 = payment(service("99213", "150.00", "80.00", allowed="100.00"))
    claim_2026 = factories.make_claim(service_date=date(2026, 3, 2))
    [found] = adapter.underpayments(paid_2026, payer, claim=claim_2026)
    assert "allowed 100.00 is 5.01 below the 2026 MPFS amount 105.01" in found.message
    in_2025 = ServicePayment(procedure_code="99213", charge=Decimal("150.00"),
                             paid=Decimal("80.00"), allowed_amount=Decimal("100.00"),
                             units=Decimal("1"), service_date_from=date(2025, 3, 3))
    paid_2025 = ClaimPayment(claim_number="CLM0002", status=ClaimStatusCode.PRIMARY,
                             charge=Decimal("150.00"), paid=Decimal("80.00"),
                             services=[in_2025])
    claim_2025 = factories.make_claim(service_date=date(2025, 3, 3))
    assert adapter.underpayments(paid_2025, payer, claim=claim_2025) == []  # above 98.19


def test_medicare_estimate_assumes_part_b_when_benefits_are_not_verified() -> None:
    from medbill_payer_medicare.benefits import STANDARD_PART_B_COINSURANCE, part_b_deductible

    adapter = MedicareAdapter(delegate=None)
    assumed = adapter.assumed_benefits(make_medicare_payer(), date(2026, 3, 2))
    assert assumed is not None
    assert (assumed.deductible_remaining, assumed.coinsurance) == (
        Decimal("283.00"), STANDARD_PART_B_COINSURANCE)
    assert part_b_deductible(2025) == (2025, Decimal("257.00"))
    assert part_b_deductible(2030) == (2026, Decimal("283.00"))

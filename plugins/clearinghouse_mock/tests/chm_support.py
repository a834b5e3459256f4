"""Builders for the clearinghouse tests: synthetic claims, 837P/270/276 texts, response readers.

All people and numbers are made up. Named ``chm_support`` so that it cannot collide with other
plugins' test helpers when every suite runs in one pytest session.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from medbill_clearinghouse_mock.simulator.config import (
    Benefits,
    DenialRules,
    FeeScheduleEntry,
    Member,
    PayerPolicy,
    ProviderAdjustmentRule,
    SimulatorConfig,
)
from medbill_payer_generic_x12.api import (
    InterchangeWriter,
    MemoryControlNumbers,
    Parties,
    encode_837p,
    read_segments,
)

from medbill_core.api import (
    Address,
    BillableClaim,
    Claim,
    ClaimAdjustmentRef,
    ClaimPayment,
    Coverage,
    CoverageOrder,
    Patient,
    Payer,
    Practice,
    PriorPayerAdjudication,
    Provider,
    ServiceLine,
    Sex,
    npi_with_check_digit,
)
from medbill_core.api.testing import line_adjudications

BILLING_NPI = npi_with_check_digit("123456789")
RENDERING_NPI = npi_with_check_digit("198765432")
UNENROLLED_NPI = npi_with_check_digit("555555555")
TODAY = date.today()
SERVICE_DAY = TODAY - timedelta(days=10)
PARTIES = Parties(submitter_id="MEDBILLTEST", submitter_name="MEDBILL TEST",
                  receiver_id="MOCKCH", receiver_name="MOCK CLEARINGHOUSE",
                  submitter_contact="BILLING", submitter_phone="5555550100")
#: One counter for the whole session: no two test interchanges share a control number.
CONTROL_NUMBERS = MemoryControlNumbers(start=100)
_member_numbers = itertools.count(1)

ACCOUNTS = [f"acct{n:02d}" for n in range(1, 200)]


def api_key(account: str) -> str:
    return f"key-{account}-secret"


def fresh_member_id(prefix: str = "M") -> str:
    """A member ID no other test uses (accumulators are kept per payer and member)."""
    return f"{prefix}{next(_member_numbers):08d}X"


def fees(*items: tuple[str, str | None, str]) -> list[FeeScheduleEntry]:
    return [FeeScheduleEntry(code=c, modifier=m, amount=Decimal(a)) for c, m, a in items]


PPO = Benefits(plan_name="TEST PPO", deductible=Decimal("500.00"), coinsurance=Decimal("0.20"),
               copays={"11": Decimal("25.00")}, out_of_pocket_max=Decimal("3000.00"))
HDHP = Benefits(plan_name="TEST HDHP", deductible=Decimal("1000.00"),
                deductible_met=Decimal("950.00"), coinsurance=Decimal("0.20"),
                out_of_pocket_max=Decimal("2000.00"), out_of_pocket_met=Decimal("950.00"))


def suite_config(**overrides: Any) -> SimulatorConfig:
    """The configuration of the suite's server: two payers, a roster, an API key per account."""
    common_fees = fees(("99213", None, "90.00"), ("99214", None, "128.00"),
                       ("36415", None, "3.00"), ("85025", None, "8.00"),
                       ("97110", None, "29.00"), ("97110", "GP", "31.00"),
                       ("73721", None, "210.00"), ("93000", None, "17.00"))
    payers = [
        PayerPolicy(payer_id="ACME1", name="ACME HEALTH PLAN", tax_id="111111111",
                    fee_schedule=common_fees,
                    denials=DenialRules(non_covered_codes=["93000"], prior_auth_codes=["73721"],
                                        timely_filing_days=180),
                    provider_adjustments=[ProviderAdjustmentRule(
                        reason_code="L6", amount=Decimal("-1.25"), every=2)],
                    accept_unlisted_members=True, default_benefits=PPO),
        PayerPolicy(payer_id="STRICT1", name="STRICT HEALTH", tax_id="222222222",
                    fee_schedule=common_fees, enrolled_npis=[BILLING_NPI, RENDERING_NPI],
                    require_rendering_provider=True, accept_unlisted_members=True,
                    default_benefits=HDHP),
    ]
    members = [
        Member(payer_id="ACME1", member_id="ROSTER0001", last_name="RIVERA", first_name="SAM",
               birth_date=date(1975, 4, 3), sex="M", group_number="G100",
               plan_begin=date(2020, 1, 1), benefits=PPO.model_copy(update={
                   "deductible_met": Decimal("200.00"), "out_of_pocket_met": Decimal("300.00")})),
        Member(payer_id="ACME1", member_id="LAPSED0001", last_name="STONE", first_name="ALEX",
               birth_date=date(1960, 9, 9), sex="F", plan_begin=date(2010, 1, 1),
               plan_end=date(2015, 12, 31), benefits=PPO),
    ]
    values: dict[str, Any] = {
        "api_keys": [{"key": api_key(a), "account": a} for a in ACCOUNTS],
        "payers": payers, "members": members, "remit_delay_seconds": None,
        "invalid_diagnoses": ["R69"], "seed": 7,
    }
    values.update(overrides)
    return SimulatorConfig.model_validate(values)


def practice(npi: str = BILLING_NPI) -> Practice:
    return Practice(name="SUNRISE FAMILY MEDICINE", npi=npi, tax_id="431234567",
                    taxonomy="207Q00000X",
                    address=Address(line1="200 CLINIC DR", city="KANSAS CITY", state="MO",
                                    postal_code="64108"), phone="8165550100")


def payer(payer_id: str = "ACME1") -> Payer:
    return Payer(key=payer_id.lower(), payer_id=payer_id, name=f"{payer_id} PLAN",
                 adapter="generic_x12", channel="clearinghouse_mock")


def line(number: int, code: str = "99213", charge: str = "125.00", *, units: str = "1",
         modifiers: list[str] | None = None, day: date | None = None,
         pos: str | None = None) -> ServiceLine:
    return ServiceLine(line_number=number, procedure_code=code, modifiers=modifiers or [],
                       units=Decimal(units), charge=Decimal(charge), diagnosis_pointers=[1],
                       service_date_from=day or SERVICE_DAY, place_of_service=pos)


def claim(number: str, *, member_id: str, lines: list[ServiceLine] | None = None,
          payer_id: str = "ACME1", diagnoses: list[str] | None = None,
          pos: str = "11", prior_auth: str | None = None, frequency: str = "1",
          original: str | None = None, rendering: str | None = RENDERING_NPI,
          billing_npi: str = BILLING_NPI, order: CoverageOrder = CoverageOrder.PRIMARY,
          patient_last: str = "TESTPATIENT", patient_first: str = "JORDAN",
          priors: list[PriorPayerAdjudication] | None = None) -> BillableClaim:
    lines = lines or [line(1)]
    days = [item.service_date_from for item in lines]
    the_payer = payer(payer_id)
    return BillableClaim(
        claim=Claim(claim_number=number, patient_id=1, coverage_id=1, payer_key=the_payer.key,
                    billing_provider_npi=billing_npi, rendering_provider_npi=rendering,
                    frequency=frequency, original_claim_reference=original,
                    place_of_service=pos, service_date_from=min(days),
                    service_date_to=max(days), diagnoses=diagnoses or ["E119"], lines=lines,
                    prior_authorization=prior_auth),
        practice=practice(billing_npi),
        patient=Patient(account_number=f"ACCT-{number}", last_name=patient_last,
                        first_name=patient_first, birth_date=date(1980, 2, 28), sex=Sex.FEMALE,
                        address=Address(line1="15 ELM ST", city="KANSAS CITY", state="MO",
                                        postal_code="64108")),
        coverage=Coverage(payer_key=the_payer.key, member_id=member_id, order=order,
                          group_number="GRP-77"),
        payer=the_payer,
        rendering_provider=Provider(npi=rendering, last_name="SMITH", first_name="ALAN",
                                    taxonomy="207Q00000X") if rendering else None,
        prior_adjudications=priors or [])


def prior_from(payment: ClaimPayment, *, payer_id: str, member_id: str,
               order: CoverageOrder = CoverageOrder.PRIMARY,
               paid_date: date | None = None,
               lines_of: Claim | None = None) -> PriorPayerAdjudication:
    """A prior payer's adjudication for a secondary claim's 2320/2330 loops, made from that
    payer's payment the way medbill records it: every claim- and line-level adjustment at claim
    level, or, with ``lines_of`` (the claim the payment answers), its service payments as line
    adjudications (2430 loops) and only the claim-level adjustments in 2320."""
    the_payer = payer(payer_id)
    lines = line_adjudications(lines_of, payment) if lines_of is not None else []
    return PriorPayerAdjudication(
        payer=the_payer, coverage=Coverage(payer_key=the_payer.key, member_id=member_id,
                                           order=order),
        paid_amount=payment.paid, paid_date=paid_date or TODAY,
        claim_adjustments=[ClaimAdjustmentRef(group_code=a.group.value,
                                              reason_code=a.reason_code, amount=a.amount)
                           for a in (payment.adjustments if lines else payment.all_adjustments)],
        line_adjudications=lines)


def x837(claims: list[BillableClaim], **kwargs: Any) -> str:
    """An 837P interchange with a control number unique in the session."""
    return encode_837p(claims, parties=PARTIES, control_numbers=CONTROL_NUMBERS,
                       **kwargs).text


def _writer(functional_id: str, version: str, now: datetime | None = None
            ) -> tuple[InterchangeWriter, Any]:
    writer = InterchangeWriter(PARTIES.envelope(), CONTROL_NUMBERS, now=now)
    return writer, writer.group(functional_id, version)


def x270(member_id: str, *, payer_id: str = "ACME1", last: str = "RIVERA", first: str = "SAM",
         trace: str = "TRACE-1", service_types: tuple[str, ...] = ("30",),
         day: date | None = None, dependent: bool = False) -> str:
    writer, group = _writer("HS", "005010X279A1")
    w = group.transaction("270", "005010X279A1")
    w.add("BHT", "0022", "13", "REQ270", "20250101", "1200")
    w.add("HL", "1", None, "20", "1")
    w.add("NM1", "PR", "2", "ACME HEALTH PLAN", None, None, None, None, "PI", payer_id)
    w.add("HL", "2", "1", "21", "1")
    w.add("NM1", "1P", "2", "SUNRISE FAMILY MEDICINE", None, None, None, None, "XX",
          BILLING_NPI)
    w.add("HL", "3", "2", "22", "1" if dependent else "0")
    if not dependent:
        w.add("TRN", "1", trace, "9877281234")
    w.add("NM1", "IL", "1", last, first, None, None, None, "MI", member_id)
    w.add("DMG", "D8", "19750403", "M")
    if dependent:
        w.add("HL", "4", "3", "23", "0")
        w.add("TRN", "1", trace, "9877281234")
        w.add("NM1", "03", "1", last, "KID")
        w.add("DMG", "D8", "20100101", "F")
    w.add("DTP", "291", "D8", (day or TODAY).strftime("%Y%m%d"))
    w.add("EQ", list(service_types))  # EQ01 repeats
    return writer.text()


def x276(*, payer_id: str = "ACME1", payer_claim_number: str | None = None,
         claim_number: str | None = None, member_id: str = "M1", trace: str = "ST-1",
         charge: str = "125.00") -> str:
    writer, group = _writer("HR", "005010X212")
    w = group.transaction("276", "005010X212")
    w.add("BHT", "0010", "13", "REQ276", "20250101", "1200")
    w.add("HL", "1", None, "20", "1")
    w.add("NM1", "PR", "2", "ACME HEALTH PLAN", None, None, None, None, "PI", payer_id)
    w.add("HL", "2", "1", "21", "1")
    w.add("NM1", "41", "2", "MEDBILL TEST", None, None, None, None, "46", "MEDBILLTEST")
    w.add("HL", "3", "2", "19", "1")
    w.add("NM1", "1P", "2", "SUNRISE FAMILY MEDICINE", None, None, None, None, "XX",
          BILLING_NPI)
    w.add("HL", "4", "3", "22", "0")
    w.add("DMG", "D8", "19800228", "F")
    w.add("NM1", "IL", "1", "TESTPATIENT", "JORDAN", None, None, None, "MI", member_id)
    w.add("TRN", "1", trace)
    if payer_claim_number:
        w.add("REF", "1K", payer_claim_number)
    if claim_number:
        w.add("REF", "EJ", claim_number)
    w.add("AMT", "T3", charge)
    w.add("DTP", "472", "D8", SERVICE_DAY.strftime("%Y%m%d"))
    return writer.text()


def segments(text: str) -> list[list[str]]:
    return read_segments(text)[1]


def find(text: str, tag: str) -> list[list[str]]:
    return [s for s in segments(text) if s[0] == tag]


def claim_acks(text: str) -> dict[str, dict[str, Any]]:
    """From a 277CA: claim number -> {status composite(s), payer claim number, message}."""
    result: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    in_patient = False
    for segment in segments(text):
        tag = segment[0]
        if tag == "HL":
            in_patient = len(segment) > 3 and segment[3] == "PT"
            current = None
        elif tag == "TRN" and in_patient and segment[1] == "2":
            current = result.setdefault(segment[2], {"stc": [], "icn": None, "message": None})
        elif tag == "STC" and current is not None:
            current["stc"].append(segment[1])
            current["stc"].extend(s for s in segment[10:12] if s)
            if len(segment) > 12 and segment[12]:
                current["message"] = segment[12]
        elif tag == "REF" and current is not None and segment[1] == "1K":
            current["icn"] = segment[2]
    return result

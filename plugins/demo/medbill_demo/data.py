"""Deterministic synthetic demo data. No real person is described; names are invented.

Encounters use real, billable code combinations a family practice sends every day
(ICD-10-CM diagnoses with matching E/M, lab and preventive CPT/HCPCS codes).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from medbill_core.domain import (
    Address,
    Claim,
    Coverage,
    CoverageOrder,
    Patient,
    Payer,
    Practice,
    Provider,
    Relationship,
    ServiceLine,
    Sex,
    Subscriber,
)
from medbill_core.domain.base import saved_id
from medbill_core.domain.identifiers import npi_with_check_digit

FIRST_NAMES = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper",
               "Indigo", "Jules", "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker",
               "Quinn", "Reese", "Sage", "Taylor", "Umber", "Vale", "Wren", "Xen", "Yael"]
LAST_NAMES = ["Ashford", "Brightwater", "Cole", "Dunmore", "Ellery", "Fairbanks", "Greer",
              "Holloway", "Ingram", "Jessop", "Kingsley", "Lockhart", "Merriweather",
              "Northcott", "Oakes", "Pembrook", "Quill", "Ravenscroft", "Stroud", "Thorne",
              "Underhill", "Vance", "Whitlock", "Yardley", "Zeller"]
STREETS = ["Maple Avenue", "Cedar Lane", "Birch Road", "Willow Court", "Aspen Drive"]

#: (diagnoses, [(procedure, modifiers, units, charge)])
ENCOUNTERS: list[tuple[list[str], list[tuple[str, list[str], str, str]]]] = [
    (["E119", "I10"], [("99214", [], "1", "165.00"), ("83036", [], "1", "32.00"),
                       ("36415", [], "1", "12.00")]),
    (["J069"], [("99213", [], "1", "125.00")]),
    (["I10", "E785"], [("99213", [], "1", "125.00"), ("80061", [], "1", "45.00"),
                       ("36415", [], "1", "12.00")]),
    (["M5450"], [("99203", [], "1", "150.00"), ("97110", ["GP"], "2", "90.00")]),
    (["Z0000"], [("99396", [], "1", "210.00"), ("85025", [], "1", "28.00"),
                 ("80053", [], "1", "48.00"), ("36415", [], "1", "12.00")]),
    (["J45909", "J069"], [("99214", ["25"], "1", "165.00"), ("94640", [], "1", "40.00")]),
    (["F411"], [("99214", [], "1", "165.00"), ("96127", [], "2", "30.00")]),
    (["K219", "R1013"], [("99213", [], "1", "125.00"), ("81001", [], "1", "15.00")]),
    (["Z23"], [("90471", [], "1", "25.00"), ("90686", [], "1", "38.00")]),
    (["R0789", "I10"], [("99214", ["25"], "1", "165.00"), ("93000", [], "1", "60.00")]),
]
MEDICARE_ENCOUNTERS: list[tuple[list[str], list[tuple[str, list[str], str, str]]]] = [
    (["Z0000", "I10"], [("G0439", [], "1", "185.00"), ("99213", ["25"], "1", "125.00")]),
    (["E119", "E785", "I10"], [("99214", [], "1", "165.00"), ("83036", [], "1", "32.00"),
                               ("36415", [], "1", "12.00")]),
    (["M170"], [("99213", ["25"], "1", "125.00"), ("20610", ["RT"], "1", "140.00"),
                ("J3301", [], "4", "24.00")]),
]

PRACTICE = Practice(
    name="Riverbend Family Medicine", npi=npi_with_check_digit("160000001"),
    tax_id="36-1234567", taxonomy="207Q00000X",
    address=Address(line1="1200 River Road", city="Springfield", state="IL",
                    postal_code="627011234"),
    phone="2175550100", contact_name="Billing Office")

PROVIDERS = [
    Provider(npi=npi_with_check_digit("170000002"), last_name="Okafor", first_name="Amara",
             taxonomy="207Q00000X"),
    Provider(npi=npi_with_check_digit("170000003"), last_name="Lindqvist", first_name="Erik",
             taxonomy="207R00000X"),
]

#: The demo's default practice: 25 patients and 2 providers for 40 claims. Larger runs scale
#: these (and the span of service dates) with the claim count, so 10,000 claims do the same
#: work per claim as 1,000 instead of the simulator denying thousands as exact duplicates.
CLAIMS_PER_PATIENT = 40 / 25
CLAIMS_PER_PROVIDER = 500
SERVICE_DAYS = (3, 60)
#: the oldest service date stays well inside the shortest timely-filing limit (180 days)
MAX_SERVICE_AGE = 150


@dataclass(frozen=True)
class PracticeSize:
    patients: int
    providers: list[Provider]
    service_days: tuple[int, int]


def practice_size(claims: int) -> PracticeSize:
    """The synthetic practice for ``claims`` encounters: at most 40 claims, the default one."""
    patients = max(25, math.ceil(claims / CLAIMS_PER_PATIENT))
    extra = max(0, math.ceil(claims / CLAIMS_PER_PROVIDER) - len(PROVIDERS))
    providers = PROVIDERS + [
        Provider(npi=npi_with_check_digit(f"17100{n:04d}"), last_name=LAST_NAMES[n % 25],
                 first_name=FIRST_NAMES[(n * 3) % 25], taxonomy="207Q00000X")
        for n in range(extra)]
    # dates of service spread so one patient's visits stay as far apart as at the default size
    oldest = min(MAX_SERVICE_AGE, max(SERVICE_DAYS[1], claims // 100))
    return PracticeSize(patients, providers, (SERVICE_DAYS[0], oldest))


PAYERS = {
    "medicare": Payer(key="medicare", payer_id="04412", name="Medicare Part B (JJ)",
                      adapter="medicare", channel="clearinghouse_mock",
                      claim_filing_indicator="MB", timely_filing_days=365),
    "acme": Payer(key="acme", payer_id="ACME1", name="Acme Health Plan", adapter="generic_x12",
                  channel="clearinghouse_mock", claim_filing_indicator="CI",
                  timely_filing_days=180),
    "bluecross": Payer(key="bluecross", payer_id="BCBS1", name="Blue Cross of Illinois",
                       adapter="generic_x12", channel="clearinghouse_mock",
                       claim_filing_indicator="BL", timely_filing_days=365),
}


@dataclass
class DemoPatient:
    patient: Patient
    coverages: list[Coverage]


def _mbi(rng: random.Random) -> str:
    letters = "ACDEFGHJKMNPQRTUVWXY"
    alnum = letters + "0123456789"
    return (str(rng.randint(1, 9)) + rng.choice(letters) + rng.choice(alnum)
            + str(rng.randint(0, 9)) + rng.choice(letters) + rng.choice(alnum)
            + str(rng.randint(0, 9)) + rng.choice(letters) + rng.choice(letters)
            + str(rng.randint(0, 9)) + str(rng.randint(0, 9)))


def demo_patients(count: int = 25, seed: int = 5010) -> list[DemoPatient]:
    """``count`` patients: about a third on Medicare, the rest on two commercial plans,
    some with a secondary coverage and some covered as a dependent."""
    return list(iter_demo_patients(count, seed))


def iter_demo_patients(count: int = 25, seed: int = 5010) -> Iterator[DemoPatient]:
    """:func:`demo_patients` one at a time (a large practice is registered page by page)."""
    rng = random.Random(seed)
    for index in range(count):
        medicare = index % 3 == 0
        birth = date(1948, 1, 1) + timedelta(days=rng.randint(0, 4000)) if medicare else \
            date(1965, 1, 1) + timedelta(days=rng.randint(0, 15000))
        patient = Patient(
            account_number=f"RB{10000 + index}",
            first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(index * 7 + index // 25) % len(LAST_NAMES)],
            birth_date=birth, sex=Sex.FEMALE if index % 2 else Sex.MALE,
            address=Address(line1=f"{100 + index * 3} {STREETS[index % len(STREETS)]}",
                            city="Springfield", state="IL", postal_code="62704"),
            phone=f"217555{1000 + index % 9000:04d}")
        coverages: list[Coverage] = []
        if medicare:
            coverages.append(Coverage(payer_key="medicare", member_id=_mbi(rng),
                                      plan_name="Medicare Part B",
                                      start_date=date(2013, 1, 1)))
            if index % 2 == 0:
                coverages.append(Coverage(payer_key="bluecross", order=CoverageOrder.SECONDARY,
                                          member_id=f"XOF{rng.randint(10**8, 10**9 - 1)}",
                                          group_number="MEDIGAP1", plan_name="Medigap Plan G",
                                          start_date=date(2013, 1, 1)))
        else:
            payer = "acme" if index % 3 == 1 else "bluecross"
            dependent = index % 5 == 4
            subscriber = Subscriber(last_name=patient.last_name, first_name="Robin",
                                    birth_date=birth - timedelta(days=9000), sex=Sex.UNKNOWN,
                                    address=patient.address) if dependent else None
            coverages.append(Coverage(
                payer_key=payer, member_id=f"{payer[:3].upper()}{rng.randint(10**8, 10**9 - 1)}",
                group_number=f"G{rng.randint(1000, 9999)}", plan_name=f"{payer.title()} PPO",
                relationship=Relationship.CHILD if dependent else Relationship.SELF,
                subscriber=subscriber, start_date=date(2020, 1, 1)))
        yield DemoPatient(patient, coverages)


def encounter_claim(number: int, patient: Patient | int, coverage: Coverage | None,
                    service_date: date, rng: random.Random,
                    providers: list[Provider] = PROVIDERS) -> Claim:
    """A claim for one realistic encounter of ``patient`` (registered, or its id)."""
    medicare = coverage is not None and coverage.payer_key == "medicare"
    diagnoses, procedures = rng.choice(MEDICARE_ENCOUNTERS if medicare else ENCOUNTERS)
    provider = providers[number % len(providers)]
    lines = [
        ServiceLine(line_number=i, procedure_code=code, modifiers=mods, units=Decimal(units),
                    charge=Decimal(charge) * Decimal(units),
                    diagnosis_pointers=list(range(1, min(len(diagnoses), 4) + 1)),
                    service_date_from=service_date, line_control_number=f"{number}-{i}")
        for i, (code, mods, units, charge) in enumerate(procedures, start=1)]
    return Claim(
        claim_number=f"RB{number:07d}",
        patient_id=patient if isinstance(patient, int) else saved_id(patient),
        coverage_id=coverage.id if coverage else None,
        payer_key=coverage.payer_key if coverage else None,
        billing_provider_npi=PRACTICE.npi, rendering_provider_npi=provider.npi,
        place_of_service="11", service_date_from=service_date, service_date_to=service_date,
        diagnoses=diagnoses, lines=lines)

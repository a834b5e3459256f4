"""How ``medbill claims show`` prints an institutional claim: the type of bill, the stay, the
diagnoses with their present-on-admission indicators, the ICD-10-PCS procedures and the
NUBC codes, then the lines by revenue code (an institutional line has no diagnosis pointers).
"""

from __future__ import annotations

from medbill_core.cli.common import console, data_table, print_table
from medbill_core.codesets.nubc import bill_type, describe_revenue_code
from medbill_core.domain import Claim
from medbill_core.domain.institutional import InstitutionalDetails, PresentOnAdmission


def _hour(hour: int | None) -> str:
    return f" {hour:02d}h" if hour is not None else ""


def _poa(indicator: PresentOnAdmission | None) -> str:
    return indicator.value if indicator is not None else "exempt"


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_institutional(claim: Claim, details: InstitutionalDetails) -> None:
    """The header lines of an institutional claim (after the claim's first line)."""
    tob = claim.type_of_bill or ""
    _say(f"type of bill {tob} ({bill_type(details.facility_type_code) or 'not a NUBC bill type'})"
         f", statement {claim.service_date_from} to {claim.service_date_to}")
    stay = [f"admitted {details.admission_date}{_hour(details.admission_hour)}"
            if details.admission_date else "no admission date"]
    if details.admission_type:
        stay.append(f"type {details.admission_type}")
    if details.admission_source:
        stay.append(f"source {details.admission_source}")
    if details.discharge_hour is not None:
        stay.append(f"discharged{_hour(details.discharge_hour)}")
    stay.append(f"patient status {details.patient_status}")
    if details.drg:
        stay.append(f"DRG {details.drg}")
    _say(", ".join(stay))
    poa = details.present_on_admission
    diagnoses = [code + (f" (POA {_poa(poa[n])})" if poa else "")
                 for n, code in enumerate(claim.diagnoses)]
    _say("diagnoses (principal first): " + ", ".join(diagnoses))
    for label, codes in (("admitting diagnosis", [details.admitting_diagnosis or ""]),
                         ("reason for visit", details.reason_for_visit),
                         ("external causes", details.external_causes)):
        if any(codes):
            _say(f"{label}: {', '.join(c for c in codes if c)}")
    procedures = ([details.principal_procedure] if details.principal_procedure else []) \
        + details.other_procedures
    if procedures:
        _say("procedures (ICD-10-PCS, principal first): " + ", ".join(
            f"{p.code} on {p.procedure_date}" for p in procedures))
    providers = [(role, npi) for role, npi in (
        ("attending", details.attending_provider_npi),
        ("operating", details.operating_provider_npi),
        ("other operating", details.other_operating_provider_npi)) if npi]
    if providers:
        _say(", ".join(f"{role} {npi}" for role, npi in providers))
    nubc = [*(f"condition {c}" for c in details.condition_codes),
            *(f"occurrence {o.code} {o.occurrence_date}" for o in details.occurrences),
            *(f"span {s.code} {s.date_from}..{s.date_to}" for s in details.occurrence_spans),
            *(f"value {v.code} {v.amount}" for v in details.values)]
    if nubc:
        _say("; ".join(nubc))


def print_institutional_lines(claim: Claim) -> None:
    """The lines by revenue code, with the group's description and the HCPCS code if any."""
    table = data_table("#", "rev", "revenue description", "HCPCS", "modifiers", "units",
                       "charge", keys=("#", "rev"), numeric=("#", "units", "charge"))
    for line in claim.lines:
        revenue = line.revenue_code or ""
        table.add_row(str(line.line_number), revenue, describe_revenue_code(revenue),
                      line.procedure_code or "", " ".join(line.modifiers), str(line.units),
                      str(line.charge))
    print_table(table)

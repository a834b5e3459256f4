"""Claim edits for institutional claims (UB-04 / 837I), beside the core edits.

The domain model already refuses the structural errors (a revenue code on every line, POA
indicators one per diagnosis, other procedures only with a principal one, an admission hour
only with a date); the edits here need the NUBC lists (:mod:`medbill_core.codesets.nubc`), the
code sets on the claim's dates and the claim as a whole. They run only on institutional
claims; :mod:`.core_edits` skips the professional edits that do not apply to them (diagnosis
pointers, place of service, the practitioner NCCI tables).

=================================  ========  ===============================================
code                               severity  when
=================================  ========  ===============================================
type_of_bill.invalid               error     facility type / classification pair (FL4
                                             digits 2-3) NUBC does not assign
attending.missing                  error     no attending provider (FL76, 837I 2310A)
admission.date_missing             error     inpatient claim without an admission date
admission.after_statement          error     inpatient admission after the statement period
                                             begins
admission.type_missing             error     inpatient claim without admission type (FL14)
admission.source_missing           error     inpatient claim without point of origin (FL15)
discharge.hour_missing             warning   inpatient final bill without a discharge hour
patient_status.still_patient       error     status 30 (still a patient) on an admit-through-
                                             discharge bill (frequency 1)
revenue.invalid                    error     revenue code outside every NUBC group
revenue.hcpcs_required             error     outpatient line under a revenue code that needs
                                             a HCPCS code, without one
revenue.accommodation_outpatient   warning   room-and-board revenue code on an outpatient bill
revenue.no_accommodation           warning   inpatient Part A bill without a room-and-board
                                             line
poa.missing                        error     hospital inpatient bill (011x) with no POA
                                             indicators
poa.not_expected                   warning   POA indicators on an outpatient bill
diagnosis.principal_manifestation  error     principal diagnosis is a manifestation code
diagnosis.principal_external_cause error     principal diagnosis is an external cause code
diagnosis.external_cause_invalid   error     an external cause code (FL72) outside V00-Y99
icd10.<reason>                     error     admitting diagnosis, reason for visit or external
                                             cause code not valid on the statement's last day
icd10pcs.<reason>                  error     an ICD-10-PCS procedure not valid on its date
procedure.date_outside_statement   error     a procedure dated after the statement period
procedure.pcs_outpatient           warning   ICD-10-PCS procedures on an outpatient bill
=================================  ========  ===============================================

Not checked, and why:

- **POA-exempt codes.** CMS publishes the list of ICD-10-CM codes exempt from POA reporting
  (about 37,700 codes) as a yearly file that could not be obtained here: a ``None`` indicator
  (exempt) is accepted on any code. Only whether indicators are reported at all, and their
  values (the domain allows Y, N, U, W), are checked.
- **Manifestation codes** are recognised by their title ("... in diseases classified
  elsewhere"), the wording ICD-10-CM gives the codes its "code first" convention bars as
  principal; the CMS Medicare Code Editor's own list is not shipped.
- **Hospital outpatient NCCI** (the CMS "hospital" PTP and MUE files) is not shipped: the
  practitioner tables do not apply to facility claims, so no NCCI edit runs on them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from medbill_core.codesets import CodeSetError, nubc
from medbill_core.default_plugins.core_edits import (
    ERROR,
    WARNING,
    Edit,
    EditEnv,
    _finding,
    _verdict_finding,
    environment,
)
from medbill_core.domain import BillableClaim, ClaimFinding, ClaimFrequency, ClaimKind
from medbill_core.domain.institutional import InstitutionalDetails, InstitutionalProcedure
from medbill_core.hookspecs import hookimpl
from medbill_core.pluginctx import PluginContext

#: ICD-10-CM chapter 20, external causes of morbidity (V00-Y99): never a principal diagnosis
_EXTERNAL_CAUSE = re.compile(r"^[V-Y][0-9]")
#: the title ICD-10-CM gives manifestation codes (its "code first" convention)
_MANIFESTATION = "in diseases classified elsewhere"
#: facility types whose classification digits 1/2 mean an inpatient stay (not home health 3,
#: clinics 7 or special facilities 8, where 1/2 mean other things)
_STAY_FACILITIES = "1246"
#: patient status 30: still a patient (an interim bill)
_STILL_A_PATIENT = "30"


def _details(claim: BillableClaim) -> InstitutionalDetails | None:
    c = claim.claim
    if c.kind is not ClaimKind.INSTITUTIONAL:
        return None
    return c.institutional


def is_inpatient_stay(details: InstitutionalDetails) -> bool:
    """An inpatient stay in a hospital, SNF, RNHCI or intermediate care facility (bill
    classification 1 or 2 of facility types 1, 2, 4, 6)."""
    return details.facility_type_code[0] in _STAY_FACILITIES and details.is_inpatient


def is_outpatient_hospital(details: InstitutionalDetails) -> bool:
    """A hospital outpatient (013x) or other (014x) bill, or a critical access hospital's
    outpatient bill (085x): the bills whose lines are identified by HCPCS codes."""
    return details.facility_type_code in ("13", "14", "85")


def _is_inpatient_hospital(details: InstitutionalDetails) -> bool:
    """Hospital inpatient, Part A (011x): the bills POA indicators are required on and that
    bill room and board (012x bills only Part B ancillaries of a stay)."""
    return details.facility_type_code == "11"


# -- type of bill, providers, the stay --------------------------------------------------------

def type_of_bill(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """The facility type code is a pair NUBC assigns; the frequency digit comes from the
    claim's frequency (1, 7, 8), whose reference rule the core ``frequency`` edit checks."""
    details = _details(claim)
    if details is None or nubc.bill_type(details.facility_type_code) is not None:
        return []
    return [_finding(claim, ERROR, "type_of_bill.invalid",
                     f"type of bill 0{details.facility_type_code}x: facility type"
                     f" {details.facility_type_code[0]} has no bill classification"
                     f" {details.facility_type_code[1]}",
                     field="institutional.facility_type_code",
                     hint="use the facility type and classification of the NUBC type of bill"
                          " list (e.g. 11 hospital inpatient, 13 hospital outpatient)")]


def attending(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    details = _details(claim)
    if details is None or details.attending_provider_npi:
        return []
    return [_finding(claim, ERROR, "attending.missing", "no attending provider",
                     field="institutional.attending_provider_npi",
                     hint="add the NPI of the physician responsible for the patient's care"
                          " (UB-04 FL76)")]


def stay(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Admission date, type and source on inpatient bills; the admission not after the
    statement period begins; status 30 only on interim bills; a discharge hour on final
    inpatient bills."""
    details = _details(claim)
    if details is None:
        return []
    c = claim.claim
    findings = []
    if details.patient_status == _STILL_A_PATIENT and c.frequency is ClaimFrequency.ORIGINAL:
        findings.append(_finding(
            claim, ERROR, "patient_status.still_patient",
            "patient status 30 (still a patient) on an admit-through-discharge bill"
            f" (type of bill {c.type_of_bill})", field="institutional.patient_status",
            hint="give the discharge status; a bill for a patient still in the facility is"
                 " an interim bill (frequency 2-4), which medbill does not send"))
    if not is_inpatient_stay(details):
        return findings
    if details.admission_date is None:
        findings.append(_finding(claim, ERROR, "admission.date_missing",
                                 "inpatient bill without an admission date",
                                 field="institutional.admission_date",
                                 hint="enter the date of admission (UB-04 FL12)"))
    elif details.admission_date > c.service_date_from:
        findings.append(_finding(claim, ERROR, "admission.after_statement",
                                 "admission date is after the start of the statement period",
                                 field="institutional.admission_date",
                                 hint="the statement period (FL6) starts on or after the"
                                      " admission"))
    if details.admission_type is None:
        findings.append(_finding(claim, ERROR, "admission.type_missing",
                                 "inpatient bill without a priority (type) of admission",
                                 field="institutional.admission_type",
                                 hint="enter the admission type (FL14: 1 emergency, 2 urgent,"
                                      " 3 elective, 4 newborn, 5 trauma)"))
    if details.admission_source is None:
        findings.append(_finding(claim, ERROR, "admission.source_missing",
                                 "inpatient bill without a point of origin",
                                 field="institutional.admission_source",
                                 hint="enter the point of origin for admission (FL15)"))
    if details.discharge_hour is None and details.patient_status != _STILL_A_PATIENT:
        findings.append(_finding(claim, WARNING, "discharge.hour_missing",
                                 "inpatient bill of a discharged patient without a discharge"
                                 " hour", field="institutional.discharge_hour",
                                 hint="enter the discharge hour (FL16, 00-23)"))
    return findings


# -- revenue codes -----------------------------------------------------------------------------

def revenue_codes(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Each revenue code in a NUBC group; outpatient hospital lines under a group that needs a
    HCPCS code have one (CMS requires HCPCS on OPPS bills: Claims Processing Manual ch. 4;
    packaged pharmacy 025x, supplies 027x and the like do not); room and board where it
    belongs."""
    details = _details(claim)
    if details is None:
        return []
    outpatient = is_outpatient_hospital(details)
    findings = []
    accommodation = False
    for line in claim.claim.lines:
        code = line.revenue_code
        if code is None:  # the domain requires one; a claim built without validation
            continue
        group = nubc.revenue_group(code)
        if group is None:
            findings.append(_finding(claim, ERROR, "revenue.invalid",
                                     f"line {line.line_number}: revenue code {code} is not in a"
                                     " NUBC revenue code group", line=line.line_number,
                                     field="revenue_code",
                                     hint="use the revenue code of the facility's chargemaster"
                                          " (NUBC UB-04 manual)"))
            continue
        accommodation = accommodation or group.accommodation
        if outpatient and group.accommodation:
            findings.append(_finding(claim, WARNING, "revenue.accommodation_outpatient",
                                     f"line {line.line_number}: room-and-board revenue code"
                                     f" {code} on an outpatient bill", line=line.line_number,
                                     field="revenue_code",
                                     hint="bill observation under 0762 with its HCPCS code, or"
                                          " bill the stay as inpatient"))
        if outpatient and line.procedure_code is None \
                and group.outpatient_hcpcs is nubc.HcpcsRule.REQUIRED:
            findings.append(_finding(claim, ERROR, "revenue.hcpcs_required",
                                     f"line {line.line_number}: revenue code {code}"
                                     f" ({group.description}) needs a HCPCS code on an"
                                     " outpatient bill", line=line.line_number,
                                     field="procedure_code",
                                     hint="add the CPT/HCPCS code of the service"))
    if _is_inpatient_hospital(details) and not accommodation:
        findings.append(_finding(claim, WARNING, "revenue.no_accommodation",
                                 "inpatient bill without a room-and-board (accommodation)"
                                 " revenue code", field="revenue_code",
                                 hint="add the room-and-board days (010x-021x) of the stay"))
    return findings


# -- diagnoses ---------------------------------------------------------------------------------

def present_on_admission(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Inpatient hospital bills report POA (one indicator per diagnosis, the domain checks the
    count); outpatient bills do not. Exempt codes are not checked (module docstring)."""
    details = _details(claim)
    if details is None:
        return []
    if _is_inpatient_hospital(details) and not details.present_on_admission:
        return [_finding(claim, ERROR, "poa.missing",
                         "inpatient hospital bill without present-on-admission indicators",
                         field="institutional.present_on_admission",
                         hint="give Y, N, U or W for each diagnosis (none for a code exempt"
                              " from POA reporting)")]
    if not is_inpatient_stay(details) and any(details.present_on_admission):
        return [_finding(claim, WARNING, "poa.not_expected",
                         "present-on-admission indicators on a bill that is not an inpatient"
                         " stay", field="institutional.present_on_admission",
                         hint="remove the indicators: POA is reported on inpatient bills")]
    return []


def principal_diagnosis(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """The principal diagnosis may be neither a manifestation code nor an external cause
    code (ICD-10-CM Official Guidelines I.A.13 and I.C.20); its validity on the statement's
    last day is the core ``diagnosis_codes`` edit's."""
    if _details(claim) is None or not claim.claim.diagnoses:
        return []
    c = claim.claim
    code = c.diagnoses[0]
    if _EXTERNAL_CAUSE.match(code):
        return [_finding(claim, ERROR, "diagnosis.principal_external_cause",
                         f"principal diagnosis {code} is an external cause code",
                         field="diagnoses[0]",
                         hint="put the injury or condition first; external causes go in the"
                              " external cause codes (FL72)")]
    try:
        info = env.codesets.get("icd10cm", code, c.service_date_to)
    except CodeSetError:
        return []  # the core edit warns icd10.unavailable
    if info is not None and _MANIFESTATION in info.description.lower():
        return [_finding(claim, ERROR, "diagnosis.principal_manifestation",
                         f"principal diagnosis {code} is a manifestation code",
                         field="diagnoses[0]",
                         hint="put the underlying disease first (ICD-10-CM 'code first')")]
    return []


def other_diagnosis_codes(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """The admitting diagnosis, reasons for visit and external cause codes: valid ICD-10-CM
    on the statement's last day (the date an inpatient stay is coded for); external causes
    from chapter 20."""
    details = _details(claim)
    if details is None:
        return []
    on = claim.claim.service_date_to
    coded: list[tuple[str, str]] = []
    if details.admitting_diagnosis:
        coded.append(("institutional.admitting_diagnosis", details.admitting_diagnosis))
    coded += [(f"institutional.reason_for_visit[{n}]", code)
              for n, code in enumerate(details.reason_for_visit)]
    coded += [(f"institutional.external_causes[{n}]", code)
              for n, code in enumerate(details.external_causes)]
    findings = []
    for field, code in coded:
        if field.startswith("institutional.external_causes") and not _EXTERNAL_CAUSE.match(code):
            findings.append(_finding(claim, ERROR, "diagnosis.external_cause_invalid",
                                     f"{code} is not an external cause code (V00-Y99)",
                                     field=field, hint="move the code to the diagnoses"))
            continue
        try:
            verdict = env.codesets.icd10cm(code, on)
        except CodeSetError:
            return findings  # the core edit warns icd10.unavailable
        if not verdict.ok:
            findings.append(_verdict_finding(claim, "icd10", verdict, field=field))
    return findings


# -- ICD-10-PCS procedures ---------------------------------------------------------------------

def _procedures(details: InstitutionalDetails) -> list[tuple[str, InstitutionalProcedure]]:
    found = []
    if details.principal_procedure is not None:
        found.append(("institutional.principal_procedure", details.principal_procedure))
    found += [(f"institutional.other_procedures[{n}]", procedure)
              for n, procedure in enumerate(details.other_procedures)]
    return found


def procedures(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Each ICD-10-PCS procedure valid in the release governing its own date, and not dated
    after the statement period; PCS codes belong on inpatient bills."""
    details = _details(claim)
    if details is None:
        return []
    c = claim.claim
    findings = []
    listed = _procedures(details)
    if listed and not is_inpatient_stay(details):
        findings.append(_finding(claim, WARNING, "procedure.pcs_outpatient",
                                 "ICD-10-PCS procedures on a bill that is not an inpatient"
                                 " stay", field=listed[0][0],
                                 hint="outpatient procedures are reported with their HCPCS"
                                      " codes on the lines"))
    for field, procedure in listed:
        if procedure.procedure_date > c.service_date_to:
            findings.append(_finding(claim, ERROR, "procedure.date_outside_statement",
                                     f"procedure {procedure.code} is dated after the statement"
                                     " period", field=field,
                                     hint="correct the procedure date or the statement period"))
        try:
            verdict = env.codesets.icd10pcs(procedure.code, procedure.procedure_date)
        except CodeSetError as exc:
            return [*findings, _finding(claim, WARNING, "icd10pcs.unavailable",
                                        f"procedures not checked: {exc.message}", field=field)]
        if not verdict.ok:
            findings.append(_verdict_finding(claim, "icd10pcs", verdict, field=field))
    return findings


#: The institutional edits in the order they run (name, function).
INSTITUTIONAL_EDITS: tuple[tuple[str, Edit], ...] = (
    ("type_of_bill", type_of_bill),
    ("attending", attending),
    ("stay", stay),
    ("revenue_codes", revenue_codes),
    ("present_on_admission", present_on_admission),
    ("principal_diagnosis", principal_diagnosis),
    ("other_diagnosis_codes", other_diagnosis_codes),
    ("procedures", procedures),
)


def run_institutional_edits(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    """Every institutional edit on ``claim`` (none on a professional claim)."""
    if claim.claim.kind is not ClaimKind.INSTITUTIONAL:
        return []
    findings: list[ClaimFinding] = []
    for _, edit in INSTITUTIONAL_EDITS:
        findings.extend(edit(claim, env))
    return findings


@hookimpl
def medbill_claim_edits(claim: BillableClaim, context: PluginContext) -> Sequence[ClaimFinding]:
    if claim.claim.kind is not ClaimKind.INSTITUTIONAL:
        return []
    return run_institutional_edits(claim, environment(claim, context))

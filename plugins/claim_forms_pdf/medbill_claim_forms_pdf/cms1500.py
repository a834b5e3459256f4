"""The CMS-1500 (02/12): its boxes on the NUCC print grid, and a professional claim put in
them as the NUCC 1500 Claim Form Reference Instruction Manual says, box by box.

Rows and columns are the NUCC's print positions (10 characters an inch, 6 lines an inch;
line 1 at the top of the page). Six service lines fit a form: a claim with more goes on as
many forms as it needs, each with the claim's header, ``CONTINUED`` in box 28 of every form
but the last and the total charge (with the amount paid) on the last.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from medbill_claim_forms_pdf import formtext as t
from medbill_claim_forms_pdf.sheet import Box, Sheet
from medbill_core.api import (
    BillableClaim,
    ClaimFrequency,
    PriorPayerAdjudication,
    Relationship,
    Sex,
    total,
)

#: Service lines on one form (24A-J).
LINES_PER_FORM = 6
#: Diagnoses in box 21 (A-L).
DIAGNOSES = 12
#: The data line of service line ``n`` (1-6); its shaded supplemental line is the one above.
FIRST_SERVICE_LINE = 44

#: Box 1: the column of each program's check box, by the payer's claim filing indicator
#: (SBR09); anything else is "other".
_PROGRAM_COLUMNS = {"MA": 1, "MB": 1, "MC": 8, "CH": 15, "VA": 24, "FI": 39}
_GROUP_HEALTH_PLAN = 31
_OTHER = 45
#: Box 6 by relationship (X12 codes): self, spouse, child, other.
_RELATIONSHIP_COLUMNS = {Relationship.SELF: 33, Relationship.SPOUSE: 38,
                         Relationship.CHILD: 42}
#: Commercial, Blue Cross Blue Shield, HMO and the PPO / POS / EPO / indemnity / HMO
#: Medicare risk codes: a group health plan (auto, workers' compensation ... are "other").
_GROUP_PLANS = {"CI", "BL", "HM", "12", "13", "14", "15", "16", "17"}

#: how findings name the form's boxes
TERM = "box "


def boxes() -> list[Box]:
    """The form's boxes (for the drawn layout)."""
    result = [
        Box("CARRIER: PAYER NAME AND ADDRESS", 1, 40, 6, 81),
        Box("1. MEDICARE   MEDICAID   TRICARE   CHAMPVA   GROUP HEALTH PLAN   FECA BLK LUNG"
            "   OTHER", 7, 1, 9, 49),
        Box("1a. INSURED'S I.D. NUMBER (For Program in Item 1)", 7, 49, 9, 81),
        Box("2. PATIENT'S NAME (Last Name, First Name, Middle Initial)", 9, 1, 11, 30),
        Box("3. PATIENT'S BIRTH DATE  MM DD YY        SEX  M    F", 9, 30, 11, 49),
        Box("4. INSURED'S NAME (Last Name, First Name, Middle Initial)", 9, 49, 11, 81),
        Box("5. PATIENT'S ADDRESS (No., Street)", 11, 1, 13, 30),
        Box("6. PATIENT RELATIONSHIP TO INSURED  Self Spouse Child Other", 11, 30, 13, 49),
        Box("7. INSURED'S ADDRESS (No., Street)", 11, 49, 13, 81),
        Box("CITY                                    STATE", 13, 1, 15, 30),
        Box("8. RESERVED FOR NUCC USE", 13, 30, 17, 49),
        Box("CITY                                    STATE", 13, 49, 15, 81),
        Box("ZIP CODE            TELEPHONE (Include Area Code)", 15, 1, 17, 30),
        Box("ZIP CODE            TELEPHONE (Include Area Code)", 15, 49, 17, 81),
        Box("9. OTHER INSURED'S NAME (Last Name, First Name, Middle Initial)", 17, 1, 19, 30),
        Box("10. IS PATIENT'S CONDITION RELATED TO:", 17, 30, 19, 49),
        Box("11. INSURED'S POLICY GROUP OR FECA NUMBER", 17, 49, 19, 81),
        Box("a. OTHER INSURED'S POLICY OR GROUP NUMBER", 19, 1, 21, 30),
        Box("a. EMPLOYMENT? (Current or Previous)  YES   NO", 19, 30, 21, 49),
        Box("a. INSURED'S DATE OF BIRTH  MM DD YY         SEX  M    F", 19, 49, 21, 81),
        Box("b. RESERVED FOR NUCC USE", 21, 1, 23, 30),
        Box("b. AUTO ACCIDENT?  YES   NO   PLACE (State)", 21, 30, 23, 49),
        Box("b. OTHER CLAIM ID (Designated by NUCC)", 21, 49, 23, 81),
        Box("c. RESERVED FOR NUCC USE", 23, 1, 25, 30),
        Box("c. OTHER ACCIDENT?  YES   NO", 23, 30, 25, 49),
        Box("c. INSURANCE PLAN NAME OR PROGRAM NAME", 23, 49, 25, 81),
        Box("d. INSURANCE PLAN NAME OR PROGRAM NAME", 25, 1, 27, 30),
        Box("10d. CLAIM CODES (Designated by NUCC)", 25, 30, 27, 49),
        Box("d. IS THERE ANOTHER HEALTH BENEFIT PLAN?  YES   NO", 25, 49, 27, 81),
        Box("12. PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE   SIGNED / DATE", 27, 1, 31, 49),
        Box("13. INSURED'S OR AUTHORIZED PERSON'S SIGNATURE   SIGNED", 27, 49, 31, 81),
        Box("14. DATE OF CURRENT ILLNESS, INJURY, or PREGNANCY (LMP)  QUAL.", 31, 1, 33, 30),
        Box("15. OTHER DATE  QUAL.  MM DD YY", 31, 30, 33, 49),
        Box("16. DATES PATIENT UNABLE TO WORK IN CURRENT OCCUPATION  FROM  TO", 31, 49, 33,
            81),
        Box("17. NAME OF REFERRING PROVIDER OR OTHER SOURCE", 33, 1, 35, 30),
        Box("17a.        17b. NPI", 33, 30, 35, 49),
        Box("18. HOSPITALIZATION DATES RELATED TO CURRENT SERVICES  FROM  TO", 33, 49, 35,
            81),
        Box("19. ADDITIONAL CLAIM INFORMATION (Designated by NUCC)", 35, 1, 37, 49),
        Box("20. OUTSIDE LAB?  YES   NO     $ CHARGES", 35, 49, 37, 81),
        Box("21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY  Relate A-L to service line "
            "below (24E)      ICD Ind.", 37, 1, 41, 49),
        Box("22. RESUBMISSION CODE        ORIGINAL REF. NO.", 37, 49, 39, 81),
        Box("23. PRIOR AUTHORIZATION NUMBER", 39, 49, 41, 81),
        Box("24. A. DATE(S) OF SERVICE  From MM DD YY  To MM DD YY", 41, 1, 43, 19),
        Box("B. PLACE OF SERVICE", 41, 19, 43, 22),
        Box("C. EMG", 41, 22, 43, 25),
        Box("D. PROCEDURES, SERVICES, OR SUPPLIES  CPT/HCPCS  MODIFIER", 41, 25, 43, 45),
        Box("E. DIAGNOSIS POINTER", 41, 45, 43, 50),
        Box("F. $ CHARGES", 41, 50, 43, 59),
        Box("G. DAYS OR UNITS", 41, 59, 43, 63),
        Box("H. EPSDT", 41, 63, 43, 65),
        Box("I. ID. QUAL.", 41, 65, 43, 68),
        Box("J. RENDERING PROVIDER ID. #", 41, 68, 43, 81),
    ]
    columns = ((1, 19), (19, 22), (22, 25), (25, 45), (45, 50), (50, 59), (59, 63),
               (63, 65), (65, 68), (68, 81))
    for n in range(LINES_PER_FORM):
        top = FIRST_SERVICE_LINE - 1 + 2 * n
        result.append(Box("", top, 1, top + 1, 81, shaded=True))
        result.extend(Box("", top, left, top + 2, right) for left, right in columns)
    result += [
        Box("25. FEDERAL TAX I.D. NUMBER   SSN EIN", 55, 1, 57, 22),
        Box("26. PATIENT'S ACCOUNT NO.", 55, 22, 57, 37),
        Box("27. ACCEPT ASSIGNMENT?  YES   NO", 55, 37, 57, 49),
        Box("28. TOTAL CHARGE", 55, 49, 57, 61),
        Box("29. AMOUNT PAID", 55, 61, 57, 71),
        Box("30. Rsvd for NUCC Use", 55, 71, 57, 81),
        Box("31. SIGNATURE OF PHYSICIAN OR SUPPLIER INCLUDING DEGREES OR CREDENTIALS", 57, 1,
            63, 22),
        Box("32. SERVICE FACILITY LOCATION INFORMATION", 57, 22, 61, 49),
        Box("33. BILLING PROVIDER INFO & PH #", 57, 49, 61, 81),
        Box("32a. NPI          b.", 61, 22, 63, 49),
        Box("33a. NPI          b.", 61, 49, 63, 81),
    ]
    return result


TITLES = [(6.2, 1, 11.0, "HEALTH INSURANCE CLAIM FORM"),
          (5.4, 1, 6.0, "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12"),
          (64, 1, 6.0, "NUCC Instruction Manual available at: www.nucc.org"),
          (64, 60, 6.0, "APPROVED OMB-0938-1197 FORM 1500 (02-12)")]


def forms_needed(claim: BillableClaim) -> int:
    return -(-len(claim.claim.lines) // LINES_PER_FORM)


def fill(sheet: Sheet, bc: BillableClaim, page: int, pages: int, today: date) -> None:
    """Put form ``page`` (1-based) of ``pages`` of the claim on ``sheet``."""
    claim, patient, coverage, payer = bc.claim, bc.patient, bc.coverage, bc.payer
    # carrier block (top right): who the form is mailed to
    if payer is not None:
        sheet.text(2, 41, 40, payer.name, "carrier")
        if payer.address is not None:
            sheet.text(3, 41, 40, t.street(payer.address), "carrier")
            sheet.text(4, 41, 40, t.city_state_zip(payer.address), "carrier")
    # 1, 1a
    if payer is not None:
        indicator = payer.claim_filing_indicator
        column = _PROGRAM_COLUMNS.get(indicator) or (
            _GROUP_HEALTH_PLAN if indicator in _GROUP_PLANS else _OTHER)
        sheet.mark(8, column)
    if coverage is not None:
        sheet.text(8, 50, 29, coverage.member_id, "1a")
    # 2, 3
    sheet.text(10, 1, 28, t.patient_name(patient), "2")
    month, day, year = t.mm_dd_yyyy(patient.birth_date)
    sheet.text(10, 31, 2, month, "3")
    sheet.text(10, 34, 2, day, "3")
    sheet.text(10, 37, 4, year, "3")
    if patient.sex is Sex.MALE:
        sheet.mark(10, 42)
    elif patient.sex is Sex.FEMALE:
        sheet.mark(10, 47)
    # 5: the patient's address
    _address(sheet, 12, 1, patient.address, patient.phone, "5")
    if coverage is not None:
        # 4, 6, 7, 11, 11a, 11c
        sheet.text(10, 50, 29, t.insured_name(patient, coverage), "4")
        sheet.mark(12, _RELATIONSHIP_COLUMNS.get(coverage.relationship, 47))
        address = t.insured_address(patient, coverage)
        _address(sheet, 12, 50, address,
                 patient.phone if t.is_self(coverage) else None, "7")
        sheet.text(18, 50, 29, coverage.group_number, "11")
        birth, sex = t.insured_birth(patient, coverage)
        if birth is not None:
            month, day, year = t.mm_dd_yyyy(birth)
            sheet.text(20, 53, 2, month, "11a")
            sheet.text(20, 56, 2, day, "11a")
            sheet.text(20, 59, 4, year, "11a")
        if sex is Sex.MALE:
            sheet.mark(20, 68)
        elif sex is Sex.FEMALE:
            sheet.mark(20, 75)
        sheet.text(24, 50, 29, coverage.plan_name or (payer.name if payer else None), "11c")
    # 9, 9a, 9d, 11d: the other coverage (for a secondary claim, the payer before)
    prior = _prior_payer(bc)
    if prior is not None:
        sheet.text(18, 1, 28, t.insured_name(patient, prior.coverage), "9")
        sheet.text(20, 1, 28, prior.coverage.member_id, "9a")
        sheet.text(26, 1, 28, prior.coverage.plan_name or prior.payer.name, "9d")
    sheet.mark(26, 52 if prior is not None else 57)
    # 10a-c: medbill records no accident or employment relation: answered "no"
    for question_line in (20, 22, 24):
        sheet.mark(question_line, 41)
    # 12, 13
    if claim.release_of_information:
        sheet.text(29, 7, 20, "SIGNATURE ON FILE", "12")
    if claim.benefits_assigned:
        sheet.text(29, 55, 20, "SIGNATURE ON FILE", "13")
    # 17, 17b
    if bc.referring_provider is not None:
        referrer = bc.referring_provider
        sheet.text(34, 1, 2, "DN", "17")
        sheet.text(34, 4, 25, t.person_name(referrer.last_name, referrer.first_name), "17")
        sheet.text(34, 33, 15, referrer.npi, "17b")
    elif claim.referring_provider_npi:
        sheet.text(34, 1, 2, "DN", "17")
        sheet.text(34, 33, 15, claim.referring_provider_npi, "17b")
    # 20: no outside lab
    sheet.mark(36, 57)
    # 21: ICD indicator 0 (ICD-10-CM), diagnoses A-L
    sheet.text(37, 46, 1, "0", "21")
    for index, code in enumerate(claim.diagnoses[:DIAGNOSES]):
        sheet.text(38 + index // 4, 3 + 13 * (index % 4), 8, t.icd(code),
                   f"21{'ABCDEFGHIJKL'[index]}")
    # 22: resubmission code 7 (replacement) or 8 (void) and the original claim's reference
    if claim.frequency is not ClaimFrequency.ORIGINAL:
        sheet.text(38, 50, 11, claim.frequency.value, "22")
        sheet.text(38, 62, 18, claim.original_claim_reference, "22")
    # 23
    sheet.text(40, 50, 29, claim.prior_authorization, "23")
    # 24
    lines = claim.lines[(page - 1) * LINES_PER_FORM: page * LINES_PER_FORM]
    rendering_npi = claim.rendering_provider_npi or (
        bc.rendering_provider.npi if bc.rendering_provider else None)
    taxonomy = bc.rendering_provider.taxonomy if bc.rendering_provider else None
    for n, line in enumerate(lines):
        row = FIRST_SERVICE_LINE + 2 * n
        box = f"24 line {line.line_number}"
        if taxonomy:  # shaded 24I/24J: the rendering provider's taxonomy, qualifier ZZ
            sheet.text(row - 1, 65, 2, "ZZ", f"{box} 24I")
            sheet.text(row - 1, 68, 13, taxonomy, f"{box} 24J")
        for column, served in ((1, line.service_date_from),
                               (10, line.service_date_to or line.service_date_from)):
            for offset, part in zip((0, 3, 6), t.mm_dd_yy(served), strict=True):
                sheet.text(row, column + offset, 2, part, f"{box} 24A")
        sheet.text(row, 19, 2, line.place_of_service or claim.place_of_service, f"{box} 24B")
        sheet.text(row, 25, 6, line.procedure_code, f"{box} 24D")
        for index, modifier in enumerate(line.modifiers):
            sheet.text(row, 33 + 3 * index, 2, modifier, f"{box} 24D")
        sheet.text(row, 45, 4, "".join("ABCDEFGHIJKL"[p - 1] for p in line.diagnosis_pointers),
                   f"{box} 24E")
        sheet.amount(row, 50, 5, 56, line.charge, f"{box} 24F")
        sheet.text(row, 59, 3, t.units(line.units), f"{box} 24G", align_right=True)
        sheet.text(row, 68, 10, rendering_npi, f"{box} 24J")
    # 25, 26, 27, 28, 29
    practice = bc.practice
    sheet.text(56, 1, 15, t.digits_only(practice.tax_id), "25")
    sheet.mark(56, 19)  # EIN
    sheet.text(56, 23, 14, claim.claim_number, "26")
    sheet.mark(56, 38 if claim.accepts_assignment else 43)
    if page < pages:
        sheet.text(56, 50, 10, "CONTINUED", "28")
    else:
        sheet.amount(56, 50, 7, 58, claim.total_charge, "28")
        sheet.amount(56, 62, 5, 68, _amount_paid(bc), "29")
    # 31
    sheet.text(60, 1, 20, "SIGNATURE ON FILE", "31")
    sheet.text(61, 6, 8, " ".join(t.mm_dd_yy(today)), "31")
    # 33, 33a, 33b
    phone = t.phone_parts(practice.phone)
    if phone is not None:
        sheet.text(57, 66, 3, phone[0], "33")
        sheet.text(57, 70, 7, phone[1], "33")
    sheet.text(58, 50, 30, practice.name, "33")
    sheet.text(59, 50, 30, t.street(practice.address), "33")
    sheet.text(60, 50, 30, t.city_state_zip(practice.address), "33")
    sheet.text(61, 50, 10, claim.billing_provider_npi, "33a")
    if practice.taxonomy:
        sheet.text(61, 63, 16, "ZZ" + practice.taxonomy, "33b")
    if pages > 1:
        sheet.text(64, 40, 14, f"PAGE {page} OF {pages}", "page")


def _address(sheet: Sheet, line: int, column: int, address: object, phone: str | None,
             box: str) -> None:
    from medbill_core.api import Address

    if not isinstance(address, Address):
        return
    sheet.text(line, column, 28, t.street(address), box)
    sheet.text(line + 2, column, 24, address.city, box)
    sheet.text(line + 2, column + 25, 2, address.state, box)
    sheet.text(line + 4, column, 10, address.postal_code, box)
    parts = t.phone_parts(phone)
    if parts is not None:
        sheet.text(line + 4, column + 14, 3, parts[0], box)
        sheet.text(line + 4, column + 18, 8, parts[1], box)


def _prior_payer(bc: BillableClaim) -> PriorPayerAdjudication | None:
    """The payer billed before this one (the last of the prior payers)."""
    return bc.prior_adjudications[-1] if bc.prior_adjudications else None


def _amount_paid(bc: BillableClaim) -> Decimal | None:
    """Box 29: what other payers paid on the claim (a secondary claim); none on a primary."""
    if not bc.prior_adjudications:
        return None
    return total(prior.paid_amount for prior in bc.prior_adjudications)

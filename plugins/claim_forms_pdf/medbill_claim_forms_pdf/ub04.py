"""The UB-04 (CMS-1450): its 81 form locators (FL) on a 10-pitch, 6-lines-an-inch grid, and an
institutional claim put in them as the NUBC's UB-04 instructions say, locator by locator.

Twenty-two service lines fit a form (FL42-49, lines 1-22); line 23 carries ``PAGE x OF y``,
the creation date and, on the last page only, the totals. A claim with more lines goes on as
many forms as it needs, each with the claim's header. Code lists the form has fewer places
for than the claim has codes (FL18-28 condition codes: 11, FL31-34 occurrences: 8, FL35-36
spans: 4, FL39-41 values: 12, FL67 diagnoses: 18, FL74 procedures: 6) print what fits and
report the rest (``form.not_printed``): the 837I carries them all.
"""

from __future__ import annotations

from datetime import date

from medbill_claim_forms_pdf import formtext as t
from medbill_claim_forms_pdf.sheet import Box, Sheet
from medbill_core.api import (
    BillableClaim,
    ClaimFinding,
    ClaimFrequency,
    Coverage,
    Payer,
    Severity,
    Sex,
)

LINES_PER_FORM = 22
FIRST_SERVICE_LINE = 19
TOTALS_LINE = FIRST_SERVICE_LINE + LINES_PER_FORM  # line 23 of FL42-49

CONDITION_CODES = 11
OCCURRENCES = 8
SPANS = 4
VALUES = 12
DIAGNOSES = 18  # the principal (FL67) and A-Q
PROCEDURES = 6  # the principal and a-e
#: 837 relationship codes as FL59 prints them (01 spouse, 18 self, 19 child, G8 other ...)

#: how findings name the form's boxes
TERM = "FL"


def boxes() -> list[Box]:
    result = [
        Box("1", 1, 1, 5, 26),
        Box("2", 1, 26, 5, 52),
        Box("3a PAT. CNTL #", 1, 52, 2, 76), Box("b. MED. REC. #", 2, 52, 3, 76),
        Box("4 TYPE OF BILL", 1, 76, 3, 81),
        Box("5 FED. TAX NO.", 3, 52, 5, 62),
        Box("6 STATEMENT COVERS PERIOD FROM  THROUGH", 3, 62, 5, 76),
        Box("7", 3, 76, 5, 81),
        Box("8 PATIENT NAME  a", 5, 1, 7, 30),
        Box("9 PATIENT ADDRESS  a", 5, 30, 7, 81),
        Box("10 BIRTHDATE", 7, 1, 9, 11), Box("11 SEX", 7, 11, 9, 13),
        Box("12 ADMISSION DATE", 7, 13, 9, 20), Box("13 HR", 7, 20, 9, 23),
        Box("14 TYPE", 7, 23, 9, 25), Box("15 SRC", 7, 25, 9, 27),
        Box("16 DHR", 7, 27, 9, 30), Box("17 STAT", 7, 30, 9, 33),
        Box("18-28 CONDITION CODES", 7, 33, 9, 66),
        Box("29 ACDT STATE", 7, 66, 9, 69), Box("30", 7, 69, 9, 81),
    ]
    for n, label in enumerate(("31 OCCURRENCE", "32 OCCURRENCE", "33 OCCURRENCE",
                               "34 OCCURRENCE")):
        result.append(Box(f"{label} CODE DATE", 9, 1 + 11 * n, 12, 12 + 11 * n))
    result += [Box("35 OCCURRENCE SPAN CODE FROM THROUGH", 9, 45, 12, 62),
               Box("36 OCCURRENCE SPAN CODE FROM THROUGH", 9, 62, 12, 79),
               Box("37", 9, 79, 12, 81),
               Box("38 RESPONSIBLE PARTY NAME AND ADDRESS", 12, 1, 18, 43)]
    for n in range(3):
        result.append(Box(f"{39 + n} VALUE CODES CODE AMOUNT", 12, 43 + 12 * n, 18,
                          55 + 12 * n))
    result += [
        Box("42 REV. CD.", 17, 1, 18, 6), Box("43 DESCRIPTION", 17, 6, 18, 31),
        Box("44 HCPCS / RATE / HIPPS CODE", 17, 31, 18, 46),
        Box("45 SERV. DATE", 17, 46, 18, 53), Box("46 SERV. UNITS", 17, 53, 18, 61),
        Box("47 TOTAL CHARGES", 17, 61, 18, 72), Box("48 NON-COVERED CHARGES", 17, 72, 18, 81),
    ]
    for left, right in ((1, 6), (6, 31), (31, 46), (46, 53), (53, 61), (61, 72), (72, 81)):
        result.append(Box("", 18, left, TOTALS_LINE, right))
    result += [
        Box("", TOTALS_LINE, 1, TOTALS_LINE + 1, 81, shaded=True),
        Box("50 PAYER NAME", 42, 1, 46, 25), Box("51 HEALTH PLAN ID", 42, 25, 46, 41),
        Box("52 REL INFO", 42, 41, 46, 44), Box("53 ASG BEN", 42, 44, 46, 47),
        Box("54 PRIOR PAYMENTS", 42, 47, 46, 59), Box("55 EST. AMOUNT DUE", 42, 59, 46, 70),
        Box("56 NPI / 57 OTHER PRV ID", 42, 70, 46, 81),
        Box("58 INSURED'S NAME", 46, 1, 50, 27), Box("59 P.REL", 46, 27, 50, 30),
        Box("60 INSURED'S UNIQUE ID", 46, 30, 50, 51), Box("61 GROUP NAME", 46, 51, 50, 66),
        Box("62 INSURANCE GROUP NO.", 46, 66, 50, 81),
        Box("63 TREATMENT AUTHORIZATION CODES", 50, 1, 54, 31),
        Box("64 DOCUMENT CONTROL NUMBER", 50, 31, 54, 58),
        Box("65 EMPLOYER NAME", 50, 58, 54, 81),
        Box("66 DX / 67 PRINCIPAL AND OTHER DIAGNOSES (POA)", 54, 1, 56, 81),
        Box("69 ADMIT DX", 56, 1, 58, 18), Box("70 PATIENT REASON DX", 56, 18, 58, 43),
        Box("71 PPS CODE", 56, 43, 58, 49), Box("72 ECI", 56, 49, 58, 81),
        Box("74 PRINCIPAL PROCEDURE CODE DATE   a. OTHER PROCEDURE   b. OTHER PROCEDURE",
            58, 1, 60, 50),
        Box("c. OTHER PROCEDURE   d. OTHER PROCEDURE   e. OTHER PROCEDURE", 60, 1, 62, 50),
        Box("76 ATTENDING  NPI  LAST  FIRST", 58, 50, 60, 81),
        Box("77 OPERATING  NPI  LAST  FIRST", 60, 50, 62, 81),
        Box("80 REMARKS", 62, 1, 66, 25), Box("81 CC", 62, 25, 66, 50),
        Box("78 OTHER  NPI  LAST  FIRST", 62, 50, 64, 81),
        Box("79 OTHER  NPI  LAST  FIRST", 64, 50, 66, 81),
    ]
    return result


TITLES = [(65.3, 1, 5.5, "UB-04 CMS-1450   APPROVED OMB NO. 0938-0997   NUBC National "
                         "Uniform Billing Committee")]


def forms_needed(claim: BillableClaim) -> int:
    return -(-len(claim.claim.lines) // LINES_PER_FORM)


def fill(sheet: Sheet, bc: BillableClaim, page: int, pages: int, today: date) -> None:
    claim, patient, practice = bc.claim, bc.patient, bc.practice
    details = claim.institutional
    if details is None:  # the renderer takes institutional claims only
        return
    # FL1 billing provider, FL2 pay-to (when payments go elsewhere)
    _lines(sheet, 1, 2, 24, [practice.name, t.street(practice.address),
                             t.city_state_zip(practice.address), practice.phone], "1")
    if practice.pay_to_address is not None:
        _lines(sheet, 1, 28, 24, [practice.name, t.street(practice.pay_to_address),
                                  t.city_state_zip(practice.pay_to_address)], "2")
    # FL3a patient control number = the claim number, FL3b medical record number, FL4
    sheet.text(1, 58, 18, claim.claim_number, "3a")
    sheet.text(2, 58, 18, patient.account_number, "3b")
    sheet.text(2, 77, 4, claim.type_of_bill, "4")
    # FL5, FL6
    sheet.text(4, 52, 10, t.digits_only(practice.tax_id), "5")
    sheet.text(4, 63, 6, t.mmddyy(claim.service_date_from), "6")
    sheet.text(4, 70, 6, t.mmddyy(claim.service_date_to), "6")
    # FL8b patient name, FL9 address
    sheet.text(6, 3, 27, t.patient_name(patient), "8b")
    if patient.address is not None:
        sheet.text(5, 38, 43, t.street(patient.address), "9a")
        sheet.text(6, 31, 26, patient.address.city, "9b")
        sheet.text(6, 58, 2, patient.address.state, "9c")
        sheet.text(6, 61, 10, patient.address.postal_code, "9d")
    # FL10-17
    sheet.text(8, 1, 8, t.mmddccyy(patient.birth_date), "10")
    sheet.text(8, 12, 1, {Sex.MALE: "M", Sex.FEMALE: "F"}.get(patient.sex, "U"), "11")
    sheet.text(8, 14, 6, t.mmddyy(details.admission_date), "12")
    if details.admission_hour is not None:
        sheet.text(8, 21, 2, f"{details.admission_hour:02d}", "13")
    sheet.text(8, 24, 1, details.admission_type, "14")
    sheet.text(8, 26, 1, details.admission_source, "15")
    if details.discharge_hour is not None:
        sheet.text(8, 28, 2, f"{details.discharge_hour:02d}", "16")
    sheet.text(8, 31, 2, details.patient_status, "17")
    # FL18-28 condition codes
    for n, code in enumerate(details.condition_codes[:CONDITION_CODES]):
        sheet.text(8, 34 + 3 * n, 2, code, f"{18 + n}")
    _not_printed(sheet, "18-28", len(details.condition_codes), CONDITION_CODES)
    # FL31-34 occurrences (rows a and b), FL35-36 spans
    for n, occurrence in enumerate(details.occurrences[:OCCURRENCES]):
        row, column = 10 + n // 4, 1 + 11 * (n % 4)
        sheet.text(row, column, 2, occurrence.code, f"{31 + n % 4}")
        sheet.text(row, column + 3, 6, t.mmddyy(occurrence.occurrence_date), f"{31 + n % 4}")
    _not_printed(sheet, "31-34", len(details.occurrences), OCCURRENCES)
    for n, span in enumerate(details.occurrence_spans[:SPANS]):
        row, column = 10 + n // 2, 45 + 17 * (n % 2)
        sheet.text(row, column, 2, span.code, f"{35 + n % 2}")
        sheet.text(row, column + 3, 6, t.mmddyy(span.date_from), f"{35 + n % 2}")
        sheet.text(row, column + 10, 6, t.mmddyy(span.date_to), f"{35 + n % 2}")
    _not_printed(sheet, "35-36", len(details.occurrence_spans), SPANS)
    # FL38 responsible party: the insured
    coverage = bc.coverage
    if coverage is not None:
        address = t.insured_address(patient, coverage)
        _lines(sheet, 13, 2, 40, [t.insured_name(patient, coverage), t.street(address),
                                  t.city_state_zip(address)], "38")
    # FL39-41 value codes (rows a-d, three locators across)
    for n, value in enumerate(details.values[:VALUES]):
        row, column = 14 + n % 4, 44 + 12 * (n // 4)
        sheet.text(row, column, 2, value.code, f"{39 + n // 4}")
        sheet.amount(row, column + 3, 6, column + 10, value.amount, f"{39 + n // 4}")
    _not_printed(sheet, "39-41", len(details.values), VALUES)
    # FL42-47 service lines
    lines = claim.lines[(page - 1) * LINES_PER_FORM: page * LINES_PER_FORM]
    for n, line in enumerate(lines):
        row, box = FIRST_SERVICE_LINE + n, f"42-47 line {line.line_number}"
        sheet.text(row, 1, 4, line.revenue_code, box)
        sheet.text(row, 7, 24, line.description, box)
        code = (line.procedure_code or "") + "".join(line.modifiers)
        sheet.text(row, 32, 14, code or None, box)
        sheet.text(row, 47, 6, t.mmddyy(line.service_date_from), box)
        sheet.text(row, 54, 7, t.units(line.units), box, align_right=True)
        sheet.amount(row, 62, 7, 70, line.charge, box)
    sheet.text(TOTALS_LINE, 1, 4, "0001", "42 line 23")
    sheet.text(TOTALS_LINE, 7, 24, f"PAGE {page} OF {pages}", "43 line 23")
    sheet.text(TOTALS_LINE, 47, 6, t.mmddyy(today), "45 line 23")
    if page == pages:
        sheet.amount(TOTALS_LINE, 62, 7, 70, claim.total_charge, "47 line 23")
    # FL50-55 payers (A, B, C: the payers billed before, then this one), FL56 NPI
    payers: list[tuple[Payer, Coverage, bool]] = [
        (prior.payer, prior.coverage, False) for prior in bc.prior_adjudications]
    if bc.payer is not None and coverage is not None:
        payers.append((bc.payer, coverage, True))
    sheet.text(43, 71, 10, claim.billing_provider_npi, "56")
    for n, (payer, payer_coverage, billed) in enumerate(payers[:3]):
        row, letter = 43 + n, "ABC"[n]
        sheet.text(row, 1, 23, payer.name, f"50{letter}")
        sheet.text(row, 26, 15, payer.payer_id, f"51{letter}")
        sheet.text(row, 42, 1, "Y" if claim.release_of_information else "I", f"52{letter}")
        sheet.text(row, 45, 1, "Y" if claim.benefits_assigned else "N", f"53{letter}")
        if not billed:
            paid = bc.prior_adjudications[n].paid_amount
            sheet.amount(row, 48, 8, 57, paid, f"54{letter}")
        # FL58-62 the insured under each payer
        row = 47 + n
        sheet.text(row, 1, 25, t.insured_name(patient, payer_coverage), f"58{letter}")
        sheet.text(row, 28, 2, payer_coverage.relationship.value, f"59{letter}")
        sheet.text(row, 31, 20, payer_coverage.member_id, f"60{letter}")
        sheet.text(row, 52, 14, payer_coverage.group_name, f"61{letter}")
        sheet.text(row, 67, 14, payer_coverage.group_number, f"62{letter}")
    # FL63 authorization, FL64 the original claim's document control number (7 or 8)
    sheet.text(51, 1, 30, claim.prior_authorization, "63A")
    if claim.frequency is not ClaimFrequency.ORIGINAL:
        sheet.text(51, 32, 26, claim.original_claim_reference, "64A")
    # FL66 ICD-10 indicator, FL67 principal and other diagnoses with POA
    sheet.text(55, 1, 1, "0", "66")
    poa = details.present_on_admission
    for n, code in enumerate(claim.diagnoses[:DIAGNOSES]):
        row, column = 55 + n // 9, 3 + 8 * (n % 9)
        name = "67" if n == 0 else f"67{'ABCDEFGHIJKLMNOPQ'[n - 1]}"
        sheet.text(row, column, 7, t.icd(code), name)
        indicator = poa[n] if n < len(poa) else None
        if indicator is not None:
            sheet.text(row, column + 7, 1, indicator.value, name)
    _not_printed(sheet, "67", len(claim.diagnoses), DIAGNOSES)
    # FL69 admitting, FL70 reason for visit, FL71 PPS (DRG), FL72 external causes
    if details.admitting_diagnosis:
        sheet.text(57, 5, 7, t.icd(details.admitting_diagnosis), "69")
    for n, code in enumerate(details.reason_for_visit):
        sheet.text(57, 19 + 8 * n, 7, t.icd(code), f"70{'abc'[n]}")
    sheet.text(57, 44, 4, details.drg, "71")
    for n, code in enumerate(details.external_causes[:3]):
        sheet.text(57, 50 + 10 * n, 8, t.icd(code), f"72{'abc'[n]}")
    _not_printed(sheet, "72", len(details.external_causes), 3)
    # FL74 procedures: principal and a-b (top row), c-e (bottom row)
    procedures = ([details.principal_procedure] if details.principal_procedure else []) \
        + details.other_procedures
    for n, procedure in enumerate(procedures[:PROCEDURES]):
        row, column = 59 + 2 * (n // 3), 1 + 16 * (n % 3)
        name = "74" if n == 0 else f"74{'abcde'[n - 1]}"
        sheet.text(row, column, 7, procedure.code, name)
        sheet.text(row, column + 8, 6, t.mmddyy(procedure.procedure_date), name)
    _not_printed(sheet, "74", len(procedures), PROCEDURES)
    # FL76-79 physicians
    _physician(sheet, bc, 58, details.attending_provider_npi, None, "76")
    _physician(sheet, bc, 60, details.operating_provider_npi, None, "77")
    _physician(sheet, bc, 62, details.other_operating_provider_npi, "ZZ", "78")
    _physician(sheet, bc, 64, claim.referring_provider_npi, "DN", "79")


def _physician(sheet: Sheet, bc: BillableClaim, row: int, npi: str | None,
               qualifier: str | None, box: str) -> None:
    """NPI (and a qualifier for FL78-79) on the locator's first row, the name on its second
    when the claim's providers name it."""
    if not npi:
        return
    if qualifier:
        sheet.text(row, 61, 2, qualifier, box)
    sheet.text(row, 64, 10, npi, box)
    for provider in (bc.rendering_provider, bc.referring_provider):
        if provider is not None and provider.npi == npi:
            sheet.text(row + 1, 54, 14, provider.last_name, box)
            sheet.text(row + 1, 70, 11, provider.first_name, box)
            break


def _lines(sheet: Sheet, first: int, column: int, width: int, values: list[str | None],
           box: str) -> None:
    for n, value in enumerate(values):
        sheet.text(first + n, column, width, value, box)


def _not_printed(sheet: Sheet, box: str, count: int, room: int) -> None:
    if count > room:
        sheet.findings.append(ClaimFinding(
            severity=Severity.WARNING, code="form.not_printed",
            message=f"FL{box} has room for {room} codes: {count - room} of the claim's "
                    f"{count} are not on the paper form", claim_number=sheet.claim_number,
            field=f"FL{box}", source=sheet.source))

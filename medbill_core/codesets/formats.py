"""Code shapes per code system, normalisation, and the CPT modifier numbers.

Shapes only: a well-formed code can still be unknown or not valid on a date.
"""

from __future__ import annotations

import re

from medbill_core.codesets.model import CodeSystem

# Without the dot. The second character is a digit in every category but the QA ones
# (QA0 from April 2026, QA1 from FY2027, e.g. QA1.71 Lynch syndrome), so it may be a letter.
ICD10CM_RE = re.compile(r"^[A-Z][0-9A-Z]{2,6}$")
# Seven characters, each a digit or a letter other than I and O (CMS leaves those out so
# they are not read as 1 and 0).
ICD10PCS_RE = re.compile(r"^[0-9A-HJ-NP-Z]{7}$")
HCPCS2_RE = re.compile(r"^[A-V][0-9]{4}$")
# CPT: 5 digits (Category I), 4 digits + F (Category II), T (Category III) or
# U (Proprietary Laboratory Analyses).
CPT_RE = re.compile(r"^[0-9]{4}[0-9AFMTU]$")  # A: vaccine admin, M: multianalyte
MODIFIER_RE = re.compile(r"^[0-9A-Z]{2}$")
POS_RE = re.compile(r"^[0-9]{2}$")
CARC_RE = re.compile(r"^[A-Z]?[0-9]{1,3}$")
RARC_RE = re.compile(r"^(?:M|MA|N)[0-9]{1,3}$")
GROUP_RE = re.compile(r"^[A-Z]{2}$")

SHAPES: dict[CodeSystem, re.Pattern[str]] = {
    CodeSystem.ICD10CM: ICD10CM_RE,
    CodeSystem.ICD10PCS: ICD10PCS_RE,
    CodeSystem.HCPCS: HCPCS2_RE,
    CodeSystem.CPT: CPT_RE,
    CodeSystem.MODIFIER: MODIFIER_RE,
    CodeSystem.POS: POS_RE,
    CodeSystem.CARC: CARC_RE,
    CodeSystem.RARC: RARC_RE,
    CodeSystem.GROUP: GROUP_RE,
}

SHAPE_HINTS: dict[CodeSystem, str] = {
    CodeSystem.ICD10CM: "ICD-10-CM codes are 3-7 letters/digits starting with a letter"
    " (the dot after the third is optional)",
    CodeSystem.ICD10PCS: "ICD-10-PCS codes are 7 characters, each a digit or a letter other"
    " than I and O (no dot)",
    CodeSystem.HCPCS: "HCPCS codes are 5 characters: a letter A-V and 4 digits (Level II),"
    " or 5 digits / 4 digits + F, T or U (CPT, Level I)",
    CodeSystem.CPT: "CPT codes are 5 digits, or 4 digits followed by F, T or U",
    CodeSystem.MODIFIER: "modifiers are 2 letters or digits",
    CodeSystem.POS: "place of service codes are 2 digits (01-99)",
    CodeSystem.CARC: "CARCs are 1-3 digits, optionally after one letter (45, B7, P21)",
    CodeSystem.RARC: "RARCs are M, MA or N followed by 1-3 digits (M15, MA130, N362)",
    CodeSystem.GROUP: "claim adjustment group codes are 2 letters (CO, OA, PI, PR)",
}

# CPT modifier numbers in current use (codes only: their descriptors are
# AMA-licensed and not shipped). Other two-digit numbers from 22 to 99 pass on
# format with a note.
CPT_MODIFIERS: frozenset[str] = frozenset({
    "22", "23", "24", "25", "26", "27", "32", "33", "47", "50", "51", "52", "53", "54", "55",
    "56", "57", "58", "59", "62", "63", "66", "73", "74", "76", "77", "78", "79", "80", "81",
    "82", "90", "91", "92", "93", "95", "96", "97", "99",
})


def normalize(system: CodeSystem, code: str) -> str:
    """Canonical form: stripped, upper-case; ICD-10-CM without its dot."""
    code = code.strip().upper()
    if system is CodeSystem.ICD10CM:
        code = code.replace(".", "")
    return code


def is_cpt_modifier_number(code: str) -> bool:
    """Two ASCII digits from 22 to 99 (``str.isdigit`` alone also takes ``"٢٥"``)."""
    return len(code) == 2 and code.isascii() and code.isdigit() and 22 <= int(code) <= 99

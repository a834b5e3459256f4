"""Small CMS RVU zips for tests of ``medbill codes update`` and MPFS pricing.

The files follow CMS's layouts (``PPRRVU*.csv`` with its banner rows and its column names
spread over five header rows, as in CMS's RVU25A file; ``GPCI*.csv`` with the Addendum E
banner and footnotes; ``OPPSCAP*.csv``; and what an update skips: ``ANES*``, ``*LOCCO*``,
.txt and .xlsx copies, a binary file). The values are CMS's RVU26C values for a few real
codes (99213, 11004, 99223, 70450, 72191) plus synthetic filler rows (codes ``X0000``...) so
the file has the row count of a real one; the conversion factor is synthetic (33.5500) so a
test can tell the loaded release from the packaged one. Descriptions are synthetic: CPT
descriptors are never stored.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

CONVERSION_FACTOR = "33.5500"
#: LA (01182/18) GPCIs of CY2026 Addendum E.
LA_GPCI = ("1.041", "1.188", "0.623")
#: OPPSCAP amounts of the fixture for 72191 in 01182/18 (TC and global), facility = non-facility.
OPPSCAP_72191_TC = "210.00"
OPPSCAP_72191_GLOBAL = "300.00"

_BANNER = [
    "{year} National Physician Fee Schedule Relative Value File {month} Release",
    "CPT codes and descriptions only are copyright 2025 American Medical Association.  All"
    " Rights Reserved.  Applicable FARS/DFARS Apply. ",
    "Dental codes (D codes) are copyright 2025/26 American Dental Association.  All Rights"
    " Reserved.",
    " ",
    "RELEASED 09/30/2026",
]
# CMS's five header rows (RVU25A layout): each column's name is read top to bottom.
_HEADER = [
    ",, , ,,,,,,,,,,,,,,,,,,,,,,,,,NON-FACILITY,FACILITY,",
    ",,,,NOT USED,,,,,,,,,,,,,,,,,,,,,PHYSICIAN,,DIAGNOSTIC,PE USED,PE USED,MP USED",
    ",,,,FOR,,,NON-FAC,,FACILITY ,,,,,,,,,,,,,,,,SUPERVISION OF,,IMAGING,FOR OPPS,FOR OPPS,"
    "FOR OPPS",
    ",,,STATUS,MEDICARE ,WORK,NON-FAC,NA,FACILITY,NA,MP,NON-FACILITY,FACILITY,PCTC,GLOB,PRE,"
    "INTRA,POST,MULT,BILAT,ASST,CO-,TEAM,ENDO,CONV,DIAGNOSTIC,CALCULATION,FAMILY,PAYMENT,"
    "PAYMENT,PAYMENT",
    "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,"
    "IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,"
    "AMOUNT,AMOUNT",
]
# hcpcs, mod, status, work, nf pe, nf na, f pe, f na, mp, pctc, glob, mult proc, opps nf pe,
# opps f pe, opps mp: CMS RVU26C values.
REAL_ROWS = [
    ("99213", "", "A", "1.30", "1.46", "", "0.55", "", "0.09", "0", "XXX", "0", "0.00", "0.00",
     "0.00"),
    ("11004", "", "A", "10.53", "2.46", "NA", "2.46", "", "2.12", "0", "000", "2", "0.00",
     "0.00", "0.00"),
    ("99223", "", "A", "3.50", "0.90", "NA", "0.90", "", "0.28", "0", "XXX", "0", "0.00",
     "0.00", "0.00"),
    ("70450", "", "A", "0.83", "2.30", "", "2.30", "NA", "0.06", "1", "XXX", "4", "3.48",
     "3.48", "0.07"),
    ("70450", "26", "A", "0.83", "0.30", "", "0.30", "", "0.05", "1", "XXX", "4", "0.00",
     "0.00", "0.00"),
    ("70450", "TC", "A", "0.00", "2.00", "", "2.00", "NA", "0.01", "1", "XXX", "4", "3.18",
     "3.18", "0.02"),
    ("72191", "", "A", "1.76", "7.20", "", "7.20", "NA", "0.14", "1", "XXX", "4", "5.94",
     "5.94", "0.13"),
    ("72191", "26", "A", "1.76", "0.60", "", "0.60", "", "0.11", "1", "XXX", "4", "0.00",
     "0.00", "0.00"),
    ("72191", "TC", "A", "0.00", "6.60", "", "6.60", "NA", "0.03", "1", "XXX", "4", "5.34",
     "5.34", "0.02"),
]


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def pprrvu_csv(*, year: int = 2026, month: str = "October", filler_rows: int = 1000,
               conversion_factor: str = CONVERSION_FACTOR, banner: bool = True) -> str:
    """A PPRRVU csv in CMS's layout (31 columns, DESCRIPTION third)."""
    out = []
    if banner:
        out += [_line(["", "", text.format(year=year, month=month)] + [""] * 28)
                for text in _BANNER]
    out += [row + "\n" for row in _HEADER]
    rows = [list(r) for r in REAL_ROWS] + [
        [f"X{n:04d}", "", "I", "0.00", "0.00", "", "0.00", "", "0.00", "9", "XXX", "9", "0.00",
         "0.00", "0.00"] for n in range(filler_rows)]
    for number, (code, mod, status, work, nfpe, nfna, fpe, fna, mp, pctc, glob, mult, onf,
                 of, omp) in enumerate(rows):
        nf_total = f"{float(work) + float(nfpe) + float(mp):.2f}"
        f_total = f"{float(work) + float(fpe) + float(mp):.2f}"
        out.append(_line([code, mod, f"Synthetic descriptor {number}", status, "", work, nfpe,
                          nfna, fpe, fna, mp, nf_total, f_total, pctc, glob, "0.00", "0.00",
                          "0.00", mult, "0", "0", "0", "0", "", conversion_factor, "09", "0",
                          "99", onf, of, omp]))
    return "".join(out)


def gpci_csv(*, localities: int = 60) -> str:
    """An Addendum E GPCI csv: banner, header, LA plus synthetic localities, footnotes."""
    out = [_line(["ADDENDUM E. FINAL CY 2026 GEOGRAPHIC PRACTICE COST INDICES (GPCIs) BY STATE"
                  " AND MEDICARE LOCALITY", "", "", "", "", "", ""]),
           _line([""] * 7),
           _line(["Medicare Administrative Contractor (MAC)", "State", "Locality Number",
                  "Locality Name", "2026 PW GPCI (with 1.0 Floor)***", "2026 PE GPCI",
                  "2026 MP GPCI"]),
           _line(["01182", "CA", "18", "LOS ANGELES-LONG BEACH-ANAHEIM (LOS ANGELES CNTY)",
                  *LA_GPCI]),
           _line(["02102", "AK", "01", "ALASKA*", "1.500", "1.065", "0.551"])]
    out += [_line([f"{90000 + n}", "ZZ", "00", f"SYNTHETIC LOCALITY {n}", "1.000", "1.000",
                   "1.000"]) for n in range(localities - 2)]
    out += [_line([""] * 7),
            _line(["*Work GPCI reflects a 1.5 floor in Alaska established by the MIPPA."]
                  + [""] * 6)]
    return "".join(out)


def oppscap_csv() -> str:
    return ("HCPCS,MOD,PROCSTAT,CARRIER,LOCALITY,FACILITY PRICE,NON-FACILTY PRICE\n"
            f"72191,TC,A,01182,18,{OPPSCAP_72191_TC},{OPPSCAP_72191_TC}\n"
            f"72191,,A,01182,18,{OPPSCAP_72191_GLOBAL},{OPPSCAP_72191_GLOBAL}\n")


def write_rvu_zip(path: Path, *, pprrvu: str | None = None, gpci: str | None = None,
                  oppscap: str | None = "", rvu_name: str = "PPRRVU26_OCT.csv",
                  transform: Callable[[str], str] | None = None,
                  qpp_factor: str | None = None) -> Path:
    """Write a CMS-style RVU zip at ``path`` (name it like ``rvu26d.zip``).

    :param oppscap: the OPPSCAP csv text ('' = the default one, None = no OPPSCAP file).
    :param transform: applied to the PPRRVU text (to break it for a test).
    :param qpp_factor: also write the QPP twin of ``rvu_name`` (which must contain
        ``nonQPP``) with this conversion factor.
    """
    text = pprrvu if pprrvu is not None else pprrvu_csv()
    if transform is not None:
        text = transform(text)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("RVU26D.docx", b"read-me")
        archive.writestr(rvu_name, text)
        if qpp_factor is not None:  # CY2026 zips carry a second file for QPs
            archive.writestr(rvu_name.replace("nonQPP", "QPP"),
                             text.replace(CONVERSION_FACTOR, qpp_factor))
        archive.writestr(rvu_name.rsplit(".", 1)[0] + ".txt",
                         "HDR CPT codes and descriptions only are copyright AMA\n")
        archive.writestr(rvu_name.rsplit(".", 1)[0] + ".xlsx", b"PK\x03\x04\x00\x00binary")
        archive.writestr("CHECKSUMS", b"\x00\x01 not text \x00")
        archive.writestr("GPCI2026.csv", gpci if gpci is not None else gpci_csv())
        if oppscap is not None:
            archive.writestr("OPPSCAP_OCT.csv", oppscap or oppscap_csv())
        archive.writestr("ANES2026.csv", "Contractor,Locality,Locality Name,2026 Anesthesia"
                                         " Conversion Factor\n01182,18,LOS ANGELES,21.9000\n")
        archive.writestr("26LOCCO.csv", "Medicare Adminstrative Contractor,Locality Number,"
                                        "State,Fee Schedule Area,Counties\n01182,18,CA,"
                                        "LOS ANGELES,LOS ANGELES\n")
    return path

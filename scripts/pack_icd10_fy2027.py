"""Build the packaged ICD-10-CM and ICD-10-PCS FY2027 files from the team's shared data.

Run once by a maintainer (not at run time, not by the tests)::

    python scripts/pack_icd10_fy2027.py /work/shared/data/2026

It writes into ``medbill_core/codesets/data/``:

* ``icd10cm_fy2027.csv.gz`` -- ``code,description,billable,short_description`` from the
  rebuilt FY2027 table (its ``seq`` column is not CMS's order number and is dropped);
* ``icd10cm_fy2027_added.csv``, ``..._deleted.csv``, ``..._revised.csv``,
  ``..._billable_changes.csv`` -- the FY2027 change lists, byte for byte (medbill derives
  the April 2026 table from FY2027 by undoing them);
* ``icd10pcs_fy2027.csv.gz`` -- ``code,description,note`` (a code without a title keeps
  an empty description and a note saying so);
* ``icd10pcs_addenda_2027.txt`` -- the CMS FY2027 addenda, byte for byte (medbill derives
  FY2026 from FY2027 by undoing them).

and prints the sha256 of every source, for ``data/SOURCES.md``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import shutil
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "medbill_core" / "codesets" / "data"
CHANGES = {
    "fy2027-changes_added.csv": "icd10cm_fy2027_added.csv",
    "fy2027-changes_deleted.csv": "icd10cm_fy2027_deleted.csv",
    "fy2027-changes_revised.csv": "icd10cm_fy2027_revised.csv",
    "fy2027-changes_billable-status-changes.csv": "icd10cm_fy2027_billable_changes.csv",
}
PCS_MISSING_NOTE = ("title not in medbill's data (rebuilt FY2027 table); the code is valid"
                    " per the CMS Medicare Code Editor v44")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_gz(target: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    # mtime=0: the same input gives the same bytes
    target.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8"), 9, mtime=0))


def main(shared: Path) -> None:
    cm_source = shared / "icd10cm_fy2027_codes_rebuilt.csv"
    with cm_source.open(encoding="utf-8", newline="") as handle:
        cm_rows = [(r["code"], r["long_description"], r["billable"],
                    r["short_description_if_known"]) for r in csv.DictReader(handle)]
    _write_gz(DATA / "icd10cm_fy2027.csv.gz",
              ("code", "description", "billable", "short_description"), cm_rows)
    print(f"{cm_source.name}: {len(cm_rows)} rows, sha256 {_sha256(cm_source)}")

    for name, target in CHANGES.items():
        source = shared / "icd10cm_fy2027_changes" / name
        shutil.copyfile(source, DATA / target)
        print(f"{name} -> {target}: sha256 {_sha256(source)}")

    pcs_source = shared / "icd10pcs_fy2027_codes_rebuilt.csv"
    with pcs_source.open(encoding="utf-8", newline="") as handle:
        pcs_rows = []
        for r in csv.DictReader(handle):
            missing = r["title_source"].startswith("MISSING")
            pcs_rows.append((r["code"], "" if missing else r["long_title"],
                             PCS_MISSING_NOTE if missing else ""))
    _write_gz(DATA / "icd10pcs_fy2027.csv.gz", ("code", "description", "note"), pcs_rows)
    print(f"{pcs_source.name}: {len(pcs_rows)} rows, sha256 {_sha256(pcs_source)}")

    addenda = shared / "icd10pcs_codes_addenda_2027.txt"
    shutil.copyfile(addenda, DATA / "icd10pcs_addenda_2027.txt")
    print(f"{addenda.name}: sha256 {_sha256(addenda)}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/2026"))

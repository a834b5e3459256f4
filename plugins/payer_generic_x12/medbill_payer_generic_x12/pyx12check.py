"""An independent check of the X12 we write: pyx12's validator, called from Python.

pyx12 (PyPI) is a test dependency (``medbill-payer-generic-x12[test]``); it is imported
when a check runs. Its ``x12valid`` console script does not report the verdict in its exit
code, so the document API is used and its JSON error tree is flattened into messages.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from pathlib import Path
from typing import Any


def _errors(doc: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for isa in doc.get("interchanges", []):
        found += [f"ISA {e['err_cde']}: {e['err_str']}" for e in isa.get("errors", [])]
        for gs in isa.get("groups", []):
            found += [f"GS {e['err_cde']}: {e['err_str']}" for e in gs.get("errors", [])]
            for st in gs.get("transactions", []):
                found += [f"ST {e['err_cde']}: {e['err_str']}" for e in st.get("errors", [])]
                for seg in st.get("segments", []):
                    where = f"{seg['seg_id']}#{seg.get('seg_count')} ({seg.get('ls_id')})"
                    found += [f"{where} {e['err_cde']}: {e['err_str']}"
                              for e in seg.get("errors", [])]
                    for ele in seg.get("elements", []):
                        found += [f"{where} {seg['seg_id']}{int(ele['ele_pos']):02d} "
                                  f"{e['err_cde']}: {e['err_str']}" for e in ele.get("errors", [])]
    return found


def pyx12_verdict(text: str) -> tuple[bool, list[str]]:
    """``(valid, errors)`` for an X12 document, from pyx12's x12n_document."""
    import pyx12.params
    import pyx12.x12n_document

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.x12"
        path.write_text(text, encoding="ascii")
        fd_json = io.StringIO()
        logger = logging.getLogger("pyx12")
        previous = logger.level
        logger.setLevel(logging.CRITICAL)
        try:
            ok = pyx12.x12n_document.x12n_document(
                param=pyx12.params.params(), src_file=str(path), fd_997=io.StringIO(),
                fd_html=None, fd_json=fd_json)
        finally:
            logger.setLevel(previous)
    raw = fd_json.getvalue()
    errors = _errors(json.loads(raw)) if raw else []
    return bool(ok) and not errors, errors

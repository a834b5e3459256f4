"""Plain-language text beside the codes medbill prints.

One function per kind of code, each returning the code with its meaning (never raising for an
unknown code: the answer then says the code is not in the shipped list)::

    explain_carc("CO", "45")            # "CO-45 Contractual Obligations: Charge exceeds fee ..."
    explain_adjustment("CO-45")         # the same, from the text medbill prints
    explain_rarc("N130")
    explain_claim_status_category("A7")  # 277CA STC01-1 (X12 code source 507)
    explain_claim_status("21")           # 277CA STC01-2 (X12 code source 508)
    explain_aaa_reject("75")             # 271 AAA03 reject reason (X12 element 901)
    explain_ta1_note("025")              # TA1 interchange note code (X12 element I18)
    explain_999_error("IK5", "5")        # 999 error codes (IK5, AK9, IK3, IK4)
    percent(Decimal("0.2"))              # "20%"

Sources and dates of the tables: ``data/SOURCES.md``.
"""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal

from medbill_core.codesets.model import CodeSystem, Reason
from medbill_core.codesets.registry import default_codesets
from medbill_core.codesets.tables import read_packaged_csv


def percent(rate: Decimal | None) -> str:
    """A rate as people read it: ``0.2`` -> ``"20%"``, ``0.125`` -> ``"12.5%"``; none: ``"-"``."""
    if rate is None:
        return "-"
    value = (rate * 100).normalize()
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


@functools.cache
def _table(name: str) -> dict[str, str]:
    """A shipped ``code,description`` table (``follow_up`` appended when present)."""
    table: dict[str, str] = {}
    for row in read_packaged_csv(name):
        text = row["description"].strip()
        follow_up = (row.get("follow_up") or "").strip()
        table[row["code"].strip().upper()] = f"{text} ({follow_up})" if follow_up else text
    return table


def _known(system: CodeSystem, code: str, on: date | None) -> str | None:
    """The description of ``code`` in a loaded code set (user files first), with a note when
    it is not valid on ``on``."""
    norm = code.strip().upper()
    info = default_codesets().table(system).get(norm)
    if info is None:
        return None
    text = info.description.rstrip(".") + "."
    if on is not None and info.status_on(on) is Reason.TERMINATED:
        text += f" (stopped after {info.terminated})"
    return text


def _unknown(kind: str, code: str) -> str:
    return f"{code}: not in medbill's {kind} list"


def explain_group(group: str) -> str:
    """A claim adjustment group code (CAS01): ``"CO"`` -> ``"Contractual Obligations"``."""
    norm = group.strip().upper()
    return _known(CodeSystem.GROUP, norm, None) or _unknown("adjustment group", norm)


def explain_carc(group: str | None, reason: str, on: date | None = None) -> str:
    """A claim adjustment as printed on a remittance: ``explain_carc("CO", "45")`` ->
    ``"CO-45 Contractual Obligations: Charge exceeds fee schedule/..."``. ``group`` may be
    ``None`` for a bare CARC."""
    code = reason.strip().upper()
    meaning = _known(CodeSystem.CARC, code, on) or "not in medbill's CARC list."
    if not group:
        return f"{code} {meaning}"
    norm = group.strip().upper()
    group_text = _known(CodeSystem.GROUP, norm, None)
    label = group_text.rstrip(".") if group_text else "unknown group"
    return f"{norm}-{code} {label}: {meaning}"


def explain_adjustment(printed: str, on: date | None = None) -> str:
    """An adjustment as medbill prints it elsewhere (``"CO-45"``, ``"PR 2"``, ``"45"``)."""
    text = printed.strip().upper().replace(" ", "-")
    group, dash, reason = text.partition("-")
    if not dash:
        return explain_carc(None, text, on)
    return explain_carc(group, reason, on)


def brief_adjustment(printed: str, on: date | None = None, width: int = 60) -> str:
    """The first sentence of an adjustment's CARC meaning, for a table cell beside the code:
    ``"CO-96"`` -> ``"Non-covered charge(s)"`` (the whole text is in ``--json``)."""
    text = printed.strip().upper().replace(" ", "-")
    reason = text.rpartition("-")[2]
    meaning = _known(CodeSystem.CARC, reason, on)
    if not meaning:
        return "not in medbill's CARC list"
    first = meaning.split(". ", 1)[0].rstrip(".")
    return first if len(first) <= width else first[:width - 1].rstrip() + "…"


def explain_rarc(code: str, on: date | None = None) -> str:
    """A remittance advice remark code: ``"N130"`` -> ``"N130 Consult plan benefit ..."``."""
    norm = code.strip().upper()
    meaning = _known(CodeSystem.RARC, norm, on)
    return f"{norm} {meaning}" if meaning else _unknown("RARC", norm)


def explain_claim_status_category(code: str) -> str:
    """A 277/277CA claim status category (STC01-1, X12 code source 507): ``"A7"`` ->
    ``"A7 Acknowledgement/Rejected for Invalid Information: ..."``."""
    norm = code.strip().upper()
    meaning = _table("claim_status_category.csv").get(norm)
    return f"{norm} {meaning}" if meaning else _unknown("claim status category", norm)


def explain_claim_status(code: str) -> str:
    """A 277/277CA claim status code (STC01-2, X12 code source 508): ``"21"`` ->
    ``"21 Missing or invalid information ..."``."""
    norm = code.strip().lstrip("0") or "0"
    meaning = _table("claim_status.csv").get(norm)
    return f"{norm} {meaning}" if meaning else _unknown("claim status code", norm)


def explain_aaa_reject(code: str) -> str:
    """A 271 AAA reject reason (AAA03, X12 element 901): ``"75"`` ->
    ``"75 Subscriber/insured not found. (check member ID, ...)"``."""
    norm = code.strip().upper()
    meaning = _table("aaa_reject_reason.csv").get(norm)
    return f"{norm} {meaning}" if meaning else _unknown("AAA reject reason", norm)


def explain_ta1_note(code: str) -> str:
    """A TA1 interchange note code (TA105, X12 element I18): ``"025"`` ->
    ``"025 Duplicate interchange control number. (the ISA13 was used before ...)"``."""
    norm = code.strip()
    norm = norm.zfill(3) if norm.isdigit() and len(norm) <= 3 else norm.upper()
    meaning = _table("ta1_note.csv").get(norm)
    return f"{norm} {meaning}" if meaning else _unknown("TA1 note code", norm)


def explain_999_error(segment: str, code: str) -> str:
    """A 999 error code, named by the segment carrying it (``IK5`` transaction set, ``AK9``
    functional group, ``IK3`` segment, ``IK4`` element): ``("IK5", "5")`` ->
    ``"IK5 5 One or more segments in error. (see the segment errors (IK3) beside it)"``."""
    where, norm = segment.strip().upper(), code.strip().upper()
    meaning = _table("x12_999_errors.csv").get(f"{where}:{norm}")
    return f"{where} {norm} {meaning}" if meaning else _unknown(f"999 {where} error code", norm)


def explain_claim_status_pair(printed: str) -> str | None:
    """A 277CA status as medbill records it, category and code (``"A7:21"``): both
    meanings (:func:`explain_status_pair`), or None when ``printed`` is not such a pair."""
    category, colon, status = printed.strip().upper().partition(":")
    if not colon or not category or not status:
        return None
    return explain_status_pair(category, status)


def explain_status_pair(category: str, code: str) -> str:
    """A 277/277CA STC01 pair as medbill prints it (``"A3:33"``), with both meanings:
    ``"A3:33 — A3 Acknowledgement/Returned as unprocessable claim ...; 33 Subscriber ..."``."""
    category_text = explain_claim_status_category(category).rstrip(".")
    return (f"{category.strip().upper()}:{code.strip()} — {category_text}; "
            f"{explain_claim_status(code)}")


def status_pairs_in(text: str) -> list[tuple[str, str]]:
    """The STC01 ``category:code`` pairs in a 277CA history reason medbill wrote
    (``"277CA A3:33,A7:562 message"``); none for any other text."""
    words = text.split()
    if len(words) < 2 or words[0].upper() != "277CA":
        return []
    pairs = []
    for token in words[1].split(","):
        category, colon, code = token.partition(":")
        if colon and category and code:
            pairs.append((category, code))
    return pairs

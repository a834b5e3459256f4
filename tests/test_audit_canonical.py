"""The audit trail's fast canonical forms give exactly the texts of the plain JSON round trip:
a hash computed at commit must be the hash ``medbill audit verify`` recomputes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

import pytest

from medbill_core.audit import stored_details
from medbill_core.audit_chain import _reference_row_content, canonical_json, row_content


class _Kind(StrEnum):
    CLAIM = "claim"


DETAILS: list[dict[Any, Any]] = [
    {"from": "draft", "to": "validated"},
    {"to": "b", "from": "a", "lines": 3, "ok": True, "none": None},
    {"fields": ["phone", "address"], "count": 0},
    {"text": "na\u00efve \u2603 \"quoted\" back\\slash\ttab \ud800 \U0001f600"},
    {"nested": {"b": 1, "a": [1, "x", None]}, "tuple": (1, 2)},
    {2: "int keys", 1: "become text"},
    {"kind": _Kind.CLAIM},
    {"amount": 1.5, "big": 10**30, "negative": -7},
    {"list": [1, [2, 3]], "empty": [], "empty_map": {}},
]


@pytest.mark.parametrize("details", DETAILS)
def test_stored_details_are_what_canonical_json_reads_back(details: dict[Any, Any]) -> None:
    expected = json.loads(canonical_json(dict(details)))
    stored = stored_details(details)
    assert stored == expected
    assert list(stored) == list(expected)  # the same key order, stored as JSON text
    assert json.dumps(stored) == json.dumps(expected)


def test_stored_details_do_not_share_lists_with_the_caller() -> None:
    fields = ["a", "b"]
    stored = stored_details({"fields": fields})
    fields.append("c")
    assert stored == {"fields": ["a", "b"]}


def test_stored_details_refuse_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        stored_details({"amount": float("nan")})


ROWS: list[dict[str, Any]] = [
    {"id": 1, "chain_seq": 1, "at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
     "actor": "alice", "os_user": "root", "action": "claim.transition", "entity_type": "claim",
     "entity_id": "12", "details": {"from": "draft", "to": "validated"}, "note": None},
    {"id": 2**40, "chain_seq": 99, "at": datetime(2026, 1, 2, 3, 4, 5),  # naive: SQLite
     "actor": "b\u00f6b \"the\" <admin>", "os_user": None, "action": "ledger.post",
     "entity_type": "posting", "entity_id": "x\ny", "details": None, "note": "a\\note \u2603"},
    {"id": 3, "chain_seq": None, "at": datetime(2026, 1, 2, 23, 0, tzinfo=timezone(
        timedelta(hours=-5))), "actor": "", "os_user": "u", "action": "a", "entity_type": "t",
     "entity_id": "", "details": {"nested": {"z": [1, 2.5, None, True]}, "a": "b"},
     "note": ""},
]


@pytest.mark.parametrize("row", ROWS)
def test_row_content_is_the_canonical_json_of_the_row(row: dict[str, Any]) -> None:
    content = row_content(row)
    assert content == _reference_row_content(row)
    assert json.loads(content)["id"] == row["id"]


@pytest.mark.parametrize("moment", [
    datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(1999, 1, 1), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(999, 3, 4, 5, 6, 7, 8), datetime(1, 1, 1, tzinfo=UTC)])
def test_canonical_time_is_the_strftime_text(moment: datetime) -> None:
    from medbill_core.audit_chain import canonical_time
    from medbill_core.storage.schema import as_utc

    expected = as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert canonical_time(moment) == expected


@pytest.mark.parametrize("details", [d for d in DETAILS if not any(
    type(key) is not str for key in d)] + [None, {}, {"flag": False, "n": [True, None]}])
def test_row_content_of_each_kind_of_details(details: dict[str, Any] | None) -> None:
    row = {**ROWS[0], "details": details}
    assert row_content(row) == _reference_row_content(row)


def test_row_content_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        row_content({**ROWS[0], "details": {"amount": float("inf")}})

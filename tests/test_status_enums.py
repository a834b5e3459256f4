"""Status columns hold one enum's values, owned beside the table (no bare strings)."""

from __future__ import annotations

import ast
from pathlib import Path

import medbill_core
from medbill_core.storage.schema import DocumentStatus, SubmissionStatus

SERVICES = Path(medbill_core.__file__).parent / "services"


def test_the_stored_strings_are_unchanged() -> None:
    """The enums name the strings already in databases: no migration."""
    assert [s.value for s in SubmissionStatus] == [
        "pending", "sending", "sent", "refused", "accepted", "partially accepted", "rejected"]
    assert [s.value for s in DocumentStatus] == [
        "received", "posting", "applied", "duplicate", "undecodable", "failed"]


def test_answered_means_a_999_or_ta1_came_back() -> None:
    assert {s for s in SubmissionStatus if s.answered} == {
        SubmissionStatus.ACCEPTED, SubmissionStatus.PARTIALLY_ACCEPTED,
        SubmissionStatus.REJECTED}


def _bare_status_writes(path: Path) -> list[str]:
    """``x.status = "..."`` and ``status="..."`` with a string literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.IfExp):
            values = [node.value] if isinstance(node.value, ast.Constant) else \
                [node.value.body, node.value.orelse]
            if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in node.targets) \
                    and any(isinstance(v, ast.Constant) and isinstance(v.value, str)
                            for v in values):
                found.append(f"{path.name}:{node.lineno}")
        if isinstance(node, ast.keyword) and node.arg == "status" \
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_the_outbox_and_inbound_writers_use_the_enums() -> None:
    assert [hit for name in ("submission.py", "responses.py", "remittance_parts.py")
            for hit in _bare_status_writes(SERVICES / name)] == []

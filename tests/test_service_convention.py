"""The services' convention (medbill_core/services/__init__.py): a public service function
takes ``work: UnitOfWork`` (one transaction) or ``app: Medbill`` (several, or a call out),
never a bare session."""

from __future__ import annotations

import ast
from pathlib import Path

import medbill_core.services

SERVICES = Path(medbill_core.services.__file__).parent
#: known outliers, to move (listed so that no new one slips in): guarantors.py is used by
#: PatientService with its session, practices.profile_of by ClaimService with its session
KNOWN = {"guarantors.resolve_guarantor", "practices.profile_of"}


def _first_parameters() -> dict[str, str]:
    found = {}
    for path in sorted(SERVICES.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") \
                    and node.args.args and node.args.args[0].annotation is not None:
                found[f"{path.stem}.{node.name}"] = ast.unparse(node.args.args[0].annotation)
    return found


def test_no_service_function_takes_a_bare_session() -> None:
    bare = {name for name, annotation in _first_parameters().items()
            if annotation == "Session"}
    assert bare == KNOWN


def test_the_moved_outliers_take_a_unit_of_work() -> None:
    first = _first_parameters()
    assert (first["submission.list_outbox"], first["fees.loads"],
            first["estimates.estimate_for_patient"]) == ("UnitOfWork", "UnitOfWork", "Medbill")

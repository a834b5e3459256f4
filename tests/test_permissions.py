"""The role x action table (medbill_core/permissions.py): every cell, ``require`` and the
table the documentation prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import PermissionDenied
from medbill_core.permissions import (
    PERMISSIONS,
    Action,
    allowed,
    permission_table_markdown,
    require,
)

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "users-and-roles.md"

#: Written out a second time, on purpose: a change to the table must be made here too.
BILLER = {
    "practices.read", "patients.read", "patients.write", "coverages.read", "coverages.write",
    "guarantors.read", "guarantors.write", "providers.read", "eligibility.check",
    "estimates.create", "claims.read", "claims.write", "claims.submit", "claims.status",
    "claims.correct", "responses.fetch", "remittance.read", "remittance.post",
    "remittance.resolve", "denials.read", "denials.work", "appeals.read", "appeals.write",
    "payments.read", "payments.post", "plans.read", "plans.write", "statements.read",
    "statements.run", "collections.read", "reports.read", "receivables.resolve", "fees.read",
    "codes.read", "jobs.read", "jobs.run",
    # the 837 intake (issue 17): creates the patients, coverages and providers its claims need
    "claims.import",
    # work queues (issue 16): reads and works them; handing work to others is the manager's
    "queues.read", "queues.work",
    # financial assistance (issue 18): takes applications; deciding is the manager's
    "assistance.read", "assistance.apply",
    # write-offs (issue 18): the biller asks, a manager approves
    "writeoffs.read", "writeoffs.request",
    # texts and e-mails, patient financing (issue 18)
    "notifications.read", "notifications.send", "financing.read", "financing.refer",
    # pay links (issue 18): issued on the phone, revoked when a statement went astray
    "pay_links.read", "pay_links.issue"}
FRONT_DESK = {
    "practices.read", "patients.read", "patients.write", "coverages.read", "coverages.write",
    "guarantors.read", "guarantors.write", "providers.read", "eligibility.check",
    "estimates.create", "claims.read", "payments.read", "payments.post", "plans.read",
    "plans.write", "statements.read", "codes.read",
    # financial assistance (issue 18): applications and documents taken at the window
    "assistance.read", "assistance.apply",
    # texts and e-mails seen, financing offered at checkout (issue 18)
    "notifications.read", "financing.read", "financing.refer",
    # pay links (issue 18): handed to a patient at the window
    "pay_links.read", "pay_links.issue"}
NOT_FOR_THE_MANAGER = {"users.manage", "keys.manage", "practices.manage", "codes.load",
                       "audit.read"}
ALL = {action.value for action in Action}
EXPECTED = {
    Role.ADMINISTRATOR: ALL,
    Role.BILLING_MANAGER: ALL - NOT_FOR_THE_MANAGER,
    Role.BILLER: BILLER,
    Role.FRONT_DESK: FRONT_DESK,
    Role.AUDITOR: {action for action in ALL if action.endswith(".read")},
}


def principal(role: Role, kind: PrincipalKind = PrincipalKind.USER) -> Principal:
    return Principal(kind=kind, id=7, name="someone", practice_id=1, role=role)


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_cell_of_the_table(role: Role, action: Action) -> None:
    expected = action.value in EXPECTED[role]
    assert allowed(role, action) is expected
    if expected:
        require(principal(role), action)
        require(principal(role, PrincipalKind.API_KEY), action)
    else:
        with pytest.raises(PermissionDenied) as raised:
            require(principal(role, PrincipalKind.API_KEY), action)
        assert str(raised.value) == f"{role.value} may not {action.value}"
        assert raised.value.exit_code == 3


def test_the_table_names_every_action_and_only_roles() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert all(roles <= set(Role) and Role.ADMINISTRATOR in roles
               for roles in PERMISSIONS.values())


def test_the_auditor_reads_everything_and_changes_nothing() -> None:
    reads = {action for action in Action if action.is_read}
    assert {action for action in Action if allowed(Role.AUDITOR, action)} == reads
    assert Action.AUDIT_READ in reads and Action.CLAIMS_READ in reads
    assert not any(action.is_read for action in Action
                   if action.value.endswith((".write", ".manage", ".post", ".run")))


def test_separation_of_duties() -> None:
    """What a billing team keeps from the biller: money forgiven or leaving, voids, merges;
    from the manager: who may sign in, and reviewing the trail."""
    for action in (Action.CLAIMS_VOID, Action.DENIALS_WRITE_OFF, Action.PAYMENTS_REFUND,
                   Action.PATIENTS_MERGE, Action.USERS_MANAGE, Action.AUDIT_READ):
        assert not allowed(Role.BILLER, action), action
    for action in (Action.USERS_MANAGE, Action.KEYS_MANAGE, Action.PRACTICES_MANAGE,
                   Action.AUDIT_READ):
        assert not allowed(Role.BILLING_MANAGER, action), action
    assert allowed(Role.BILLING_MANAGER, Action.CLAIMS_VOID)
    assert allowed(Role.FRONT_DESK, Action.PAYMENTS_POST)
    assert not allowed(Role.FRONT_DESK, Action.CLAIMS_SUBMIT)


def test_an_action_missing_from_a_table_is_nobodys() -> None:
    assert not allowed(Role.ADMINISTRATOR, "no.such")  # type: ignore[arg-type]


def test_markdown_table_has_a_row_per_action_and_a_column_per_role() -> None:
    lines = permission_table_markdown().splitlines()
    assert lines[0] == ("| action | administrator | billing manager | biller | front desk "
                        "| auditor |")
    assert lines[1] == "|---|---|---|---|---|---|"
    assert len(lines) == 2 + len(Action)
    void = next(line for line in lines if line.startswith("| `claims.void` |"))
    assert void == "| `claims.void` | yes | yes | - | - | - |"
    audit_row = next(line for line in lines if line.startswith("| `audit.read` |"))
    assert audit_row == "| `audit.read` | yes | - | - | - | yes |"


def test_the_docs_page_prints_the_table() -> None:
    text = DOCS_PAGE.read_text("utf-8")
    found = re.search(r"<!-- permissions:begin -->\n(.*?)<!-- permissions:end -->", text,
                      re.DOTALL)
    assert found is not None, "docs/users-and-roles.md: the permissions markers are missing"
    assert found.group(1).strip() == permission_table_markdown().strip(), (
        "docs/users-and-roles.md is out of date: paste permission_table_markdown() between "
        "its markers")

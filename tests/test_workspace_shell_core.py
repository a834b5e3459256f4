"""The core parts of the workspace's shell (issue 16), on SQLite and PostgreSQL: moving a
browser session to another practice of its user, the user's memberships, the workspace's
claim and patient searches (scoped to the practice, audited), and the route table's
knowledge of a plugin's public routes and pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import select

from medbill_core import audit
from medbill_core.api.http import CurrentPrincipal, permitted, public_route, signed_in_route
from medbill_core.app import Medbill
from medbill_core.domain import ClaimState
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from medbill_core.http.route_table import route_actions, route_table_markdown
from medbill_core.permissions import Action, allowed
from medbill_core.services import identity, sessions
from medbill_core.services.workspace_search import search_claims, search_patients
from medbill_core.storage.schema import UserSessionRow
from medbill_core.testing.factories import make_claim, make_coverage, make_patient, make_provider

PASSWORD = "correct horse battery"


@dataclass
class Two:
    """Practice "default" (a claim each for two patients) and "north" (one), the user "ada"
    (administrator of both) and "bill" (biller of default only)."""

    app: Medbill
    ada: Principal
    north_id: int
    claims: dict[str, list[int]]
    patients: dict[str, list[int]]


def _fill(app: Medbill, principal: Principal, prefix: str, count: int) -> tuple[list[int],
                                                                                list[int]]:
    claims, patients = [], []
    with app.unit_of_work(principal=principal) as work:
        work.patients.register_provider(make_provider())
        for number in range(1, count + 1):
            patient = work.patients.register(make_patient(
                number, account_number=f"{prefix}{number:04d}",
                last_name=f"{prefix.title()}patient{number}"))
            assert patient.id is not None
            coverage = work.patients.add_coverage(patient.id, make_coverage(patient.id))
            claim = work.claims.create(make_claim(patient.id, coverage_id=coverage.id,
                                                  number=f"{prefix.upper()}CLAIM{number}",
                                                  lines=2))
            assert claim.id is not None
            claims.append(claim.id)
            patients.append(patient.id)
    return claims, patients


@pytest.fixture
def two(medbill_app: Medbill) -> Iterator[Two]:
    app = medbill_app
    with app.unit_of_work() as work:
        bootstrap = identity.local_principal(work, app.config)
        ada = identity.add_user(work, bootstrap, "ada", Role.ADMINISTRATOR, password=PASSWORD)
    practice = app.default_practice_id()
    assert practice is not None
    ada_default = Principal(kind=PrincipalKind.USER, id=ada.id, name="ada",
                            practice_id=practice, role=Role.ADMINISTRATOR)
    with app.unit_of_work(principal=ada_default) as work:
        north = identity.add_practice(work, ada_default, "north", "North Clinic")
        identity.add_user(work, ada_default, "bill", Role.BILLER, password=PASSWORD)
    ada_north = ada_default.model_copy(update={"practice_id": north.id})
    default_claims, default_patients = _fill(app, ada_default, "dflt", 2)
    north_claims, north_patients = _fill(app, ada_north, "nrth", 1)
    yield Two(app, ada_default, north.id, {"default": default_claims, "north": north_claims},
              {"default": default_patients, "north": north_patients})


# -- switching practice -------------------------------------------------------------------------

def test_switching_opens_a_session_in_the_other_practice_and_ends_the_old(two: Two) -> None:
    opened = sessions.login(two.app, "ada", PASSWORD, "default")
    assert [(m.practice_code, m.practice_name, m.role) for m in sessions.memberships(
        two.app, opened.session)] == [("default", "Example Family Medicine",
                                       Role.ADMINISTRATOR),
                                      ("north", "North Clinic", Role.ADMINISTRATOR)]
    moved = sessions.switch_practice(two.app, opened.session, "NORTH ")
    assert moved.session.practice_code == "north"
    assert moved.session.principal.practice_id == two.north_id
    assert moved.session.principal.role is Role.ADMINISTRATOR
    assert moved.session.csrf_token != opened.session.csrf_token
    # the switch does not extend the sign-in's absolute end
    assert moved.session.expires_at == opened.session.expires_at
    with pytest.raises(NotAuthenticated):
        sessions.resume(two.app, opened.token)
    assert sessions.resume(two.app, moved.token).practice_code == "north"
    with two.app.unit_of_work(read_only=True) as work:
        events = audit.query(work.session, actor="user:ada", limit=3)
        assert [e.action for e in reversed(events)] == [
            "session.switched", "session.ended", "session.started"]
        switched = events[2]
        assert switched.entity_id == str(opened.session.id)
        assert switched.details == {"from": "default", "to": "north",
                                    "new_session": moved.session.id}
        assert events[1].details == {"reason": "switched"}
        rows = work.session.scalars(select(UserSessionRow).order_by(UserSessionRow.id)).all()
        assert [row.revoked_at is not None for row in rows] == [True, False]


def test_switching_to_a_practice_of_which_one_is_no_member_is_not_found(two: Two) -> None:
    opened = sessions.login(two.app, "bill", PASSWORD)
    assert [m.practice_code for m in sessions.memberships(two.app, opened.session)] == [
        "default"]
    for code in ("north", "nowhere", "Bad Code!"):
        with pytest.raises(NotFound) as caught:
            sessions.switch_practice(two.app, opened.session, code)
        assert "Bad Code" not in str(caught.value)
    with pytest.raises(ValidationFailed, match="is the current practice"):
        sessions.switch_practice(two.app, opened.session, "default")
    assert sessions.resume(two.app, opened.token).practice_code == "default"  # unchanged


def test_an_ended_session_cannot_switch(two: Two) -> None:
    opened = sessions.login(two.app, "ada", PASSWORD, "default")
    sessions.logout(two.app, opened.session)
    with pytest.raises(NotAuthenticated):
        sessions.switch_practice(two.app, opened.session, "north")


# -- the searches -------------------------------------------------------------------------------

def test_claims_search_is_the_practices_newest_first_and_audited(two: Two) -> None:
    with two.app.unit_of_work(principal=two.ada) as work:
        rows = search_claims(work)
    assert [row.id for row in rows] == sorted(two.claims["default"], reverse=True)
    first = rows[-1]
    assert (first.claim_number, first.patient_account, first.patient_name, first.state) == (
        "DFLTCLAIM1", "dflt0001", "Dfltpatient1, Jordan", ClaimState.DRAFT)
    assert first.total_charge == Decimal("143.50")
    with two.app.unit_of_work(principal=two.ada) as work:
        assert [r.claim_number for r in search_claims(work, query="dfltclaim2")] == [
            "DFLTCLAIM2"]
        assert [r.claim_number for r in search_claims(work, query="DFLT0001")] == [
            "DFLTCLAIM1"]
        assert [r.claim_number for r in search_claims(work, query="dfltpatient2, jor")] == [
            "DFLTCLAIM2"]
        assert search_claims(work, query="NRTHCLAIM1") == []  # the other practice's
        assert search_claims(work, state=ClaimState.PAID) == []
        assert search_claims(work, payer_key="bluecross") == []
        # keyset: one a page, the one more says a page follows
        page = search_claims(work, limit=1)
        assert [r.claim_number for r in page] == ["DFLTCLAIM2", "DFLTCLAIM1"]
        assert [r.claim_number for r in search_claims(work, limit=1, before_id=page[0].id)] \
            == ["DFLTCLAIM1"]
        event = audit.query(work.session, action="patient.list", limit=1)[0]
    # the last search showed one patient; what was searched for is not recorded
    assert event.details == {"via": "workspace", "ids": [two.patients["default"][0]]}


def test_patients_search_and_roles(two: Two) -> None:
    with two.app.unit_of_work(principal=two.ada) as work:
        assert [r.name for r in search_patients(work)] == ["Dfltpatient2, Jordan",
                                                           "Dfltpatient1, Jordan"]
        assert [r.account_number for r in search_patients(work, query="dflt0002")] == [
            "dflt0002"]
        assert search_patients(work, query="Nrth") == []
    # the workspace opens no door the API keeps shut: the role is checked in the service
    no_role_for_patients = [role for role in Role if not allowed(role, Action.PATIENTS_READ)]
    for role in no_role_for_patients:  # (today every role reads patients)
        with two.app.unit_of_work(principal=two.ada.model_copy(update={"role": role})) as work, \
                pytest.raises(PermissionDenied):
            search_patients(work)


# -- the route table ----------------------------------------------------------------------------

def test_the_route_table_knows_declared_access_and_pages() -> None:
    router = APIRouter(prefix="/ws", include_in_schema=False)

    @router.get("/login")
    @public_route
    def login_page() -> str:
        return "form"

    @router.post("/logout")
    @signed_in_route
    def logout(principal: CurrentPrincipal) -> str:
        return "bye"

    @router.get("/claims")
    def claims(principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_READ))]) -> str:
        return "list"

    app = FastAPI()
    app.include_router(router)
    found = {(item.method, item.path): item for item in route_actions(app)}
    assert found[("GET", "/ws/login")].access == "public" and found[("GET", "/ws/login")].public
    assert found[("POST", "/ws/logout")].any_signed_in
    assert found[("GET", "/ws/claims")].action is Action.CLAIMS_READ
    assert all(item.page for item in found.values())
    table = route_table_markdown(app)
    assert "| GET | `/ws/login` | (none) | public |" in table
    assert "| POST | `/ws/logout` | (none) | anyone signed in |" in table


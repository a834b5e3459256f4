"""The HTTP API with the real identity service: keys made by ``medbill keys create``'s service
authenticate requests, revoked and altered ones do not, and the audit trail names the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain.identity import Role
from medbill_core.http import create_app
from medbill_core.services import identity
from medbill_core.testing.factories import make_patient


@pytest.fixture
def api(medbill_app: Medbill) -> Iterator[tuple[TestClient, Medbill]]:
    with TestClient(create_app(medbill_app)) as client:  # the default authenticator
        yield client, medbill_app


def _key(app: Medbill, label: str, role: Role = Role.BILLER) -> tuple[str, int]:
    with app.unit_of_work() as work:
        principal = identity.local_principal(work, app.config)  # the bootstrap administrator
        created = identity.create_key(work, principal, label, role)
    return created.token, created.key.id


def test_a_created_key_reads_and_its_revocation_ends_it(api: tuple[TestClient, Medbill]) -> None:
    client, app = api
    token, key_id = _key(app, "ehr-sync")
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/v1/patients", headers=headers,
                          json=make_patient(1).model_dump(mode="json", exclude_none=True))
    assert created.status_code == 201, created.text
    patient_id = created.json()["id"]
    read = client.get(f"/v1/patients/{patient_id}", headers=headers)
    assert read.status_code == 200
    assert read.json()["id"] == patient_id
    with app.unit_of_work(read_only=True) as work:
        reads = audit.query(work.session, action="patient.read")
    assert [(event.actor, event.entity_id) for event in reads] == [
        ("key:ehr-sync", str(patient_id))]

    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    refused = client.get("/v1/claims", headers={"Authorization": f"Bearer {altered}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert token[-8:] not in refused.text

    with app.unit_of_work() as work:
        identity.revoke_key(work, identity.local_principal(work, app.config), str(key_id))
    assert client.get("/v1/claims", headers=headers).status_code == 401

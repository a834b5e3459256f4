"""An institutional claim's page: the type of bill in words, the lines by revenue code, and
the edit form that keeps a line without a procedure code without one."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from medbill_workspace_web.testing import PRACTICE_A, client_sign_in
from records_seed import Records, page_text, records_workspace

from medbill_core.api.testing import factories
from medbill_core.api.workspace import Role


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    with records_workspace(tmp_path_factory.mktemp("institutional")) as made:
        yield made


def _draft(records: Records, number: str, *, inpatient: bool) -> int:
    ada = records.seed.principal(records.seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    patient_id = records.seed.patients[PRACTICE_A][2]
    with records.medbill.unit_of_work(principal=ada) as work:
        coverage = work.patients.coverages(patient_id)[0]
        claim = work.claims.create(factories.make_institutional_claim(
            patient_id, coverage_id=coverage.id, payer_key="acme", number=number,
            inpatient=inpatient))
    assert claim.id is not None
    return claim.id


def test_the_page_shows_type_of_bill_and_revenue_codes(records: Records) -> None:
    claim_id = _draft(records, "UBPAGE1", inpatient=True)
    with TestClient(records.app, base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        client_sign_in(client, "bill")
        page = client.get(f"/workspace/claims/{claim_id}")
    assert page.status_code == 200
    text = page_text(page.text)
    assert "Type of bill 0111 Hospital, inpatient (including Medicare Part A)" in text
    assert "Patient status 01" in text
    assert re.search(r"2 0250 Pharmacy — .* 12 \$480\.00", text), text
    assert "Place of service" not in text
    assert "K3580" in text and "(POA Y)" in text and "(POA N)" in text
    assert re.search(r"Procedures \(ICD-10-PCS\) 0DTJ4ZZ \S", text), text


def test_editing_a_revenue_code_line_keeps_it_without_a_procedure(records: Records) -> None:
    claim_id = _draft(records, "UBEDIT1", inpatient=True)
    claim = f"/workspace/claims/{claim_id}"
    with TestClient(records.app, base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        csrf = client_sign_in(client, "bill")
        form = client.get(claim).text
        assert 'name="revenue_code_2" type="text" maxlength="4" size="5" value="0250"' in form
        assert 'name="procedure_code_2" type="text" maxlength="5" size="6" value=""' in form
        answer = client.post(f"{claim}/edit", data={
            "csrf_token": csrf, "procedure_code_2": "", "revenue_code_2": "0259",
            "charge_2": "500.00"}, follow_redirects=False)
        assert answer.status_code == 303
    ada = records.seed.principal(records.seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    with records.medbill.unit_of_work(principal=ada, read_only=True) as work:
        line = work.claims.get(claim_id).lines[1]
    assert (line.revenue_code, line.procedure_code, str(line.charge)) == ("0259", None,
                                                                          "500.00")

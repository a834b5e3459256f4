"""Every operation of the HTTP API's OpenAPI document called with generated input
(Schemathesis over Hypothesis), on SQLite and PostgreSQL.

The operations are read from the app's own ``/openapi.json`` when the test runs, so a route
added to the core or by a plugin (``medbill_register_routes``) is fuzzed without being named
here. Each operation gets valid and invalid input (``generation.mode = all``: the examples,
the coverage phase's boundary values and the fuzzing phase) against a seeded database (a few
patients with coverages, claims, a real API key from the identity service), and each
response is checked:

* no server error (5xx);
* it conforms to the document: a documented status code, its content type, its body's
  schema, its headers;
* an error response quotes no PHI of the seeded data (names, dates of birth, member ids,
  account numbers, addresses) and does not echo the request's own string values in the
  problem's ``detail`` or ``errors`` (a value sent may be PHI too).

Deterministic (a fixed seed: a failure repeats on the next run) and bounded (at most
:data:`MAX_EXAMPLES` fuzzed requests per operation), so it runs in ``make test``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from inproc_plugins import make_line_plugin
from schemathesis import Case, CheckContext, Response

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import ClaimState, Guarantor, Payment, PaymentMethodKind
from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Role
from medbill_core.http import create_app
from medbill_core.http.resources.jobs import stop_jobs
from medbill_core.services import identity
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.payments import Overpayment, record_payment
from medbill_core.testing.factories import (
    make_address,
    make_claim,
    make_coverage,
    make_patient,
    make_provider,
)

#: fuzzed requests per operation (the examples and coverage phases add their own few)
MAX_EXAMPLES = 30
SEED = 20261206
#: shorter strings of a request are words any message may hold ("id", "true", "A1")
ECHO_MIN_LENGTH = 4
#: Names the API's own messages use (a code set's, the record a body's problems are about): a
#: request that sends one as a value (a line's description "ICD-10-CM", a reason "request") is
#: not echoed by "not an ICD-10-CM code" or "request: body.x: ..."; nor is a string "true"
#: by "must not be true or false" (a boolean where text belongs); nor a claim form's layout
#: ("form", "data") by "no claim form renderer ..."; nor the fuzzer's favourite value "string"
#: by pydantic's "unable to parse string as an integer" (a line's units sent as text)
OWN_WORDS = frozenset({"icd-10-cm", "request", "true", "false", "form", "data", "string"})

#: The seeded patients' PHI: distinctive values, so a match in a response is never chance.
PATIENTS = (
    {"last_name": "Quillfeather", "first_name": "Ottoline", "birth_date": date(1961, 3, 14),
     "member_id": "QF8812345670", "account_number": "FZ00001", "line1": "71 Wrenfield Lane"},
    {"last_name": "Abernathy-Sloane", "first_name": "Perpetua",
     "birth_date": date(1977, 11, 29), "member_id": "AS7723456781", "account_number": "FZ00002",
     "line1": "9 Thistlecombe Road"},
    {"last_name": "Vandermolen", "first_name": "Casimir", "birth_date": date(1990, 7, 4),
     "member_id": "VM6634567892", "account_number": "FZ00003", "line1": "4 Larkspur Court"},
)

GUARANTOR = {"last_name": "Thistlewood", "first_name": "Marigold", "line1": "12 Quincebrook Row"}


@dataclass(frozen=True)
class Seeded:
    """What the fuzzed API's database holds: the key's token and the PHI never to disclose."""

    token: str
    phi: tuple[str, ...]


def _seed(app: Medbill) -> Seeded:
    phi: list[str] = []
    claim_ids: list[int] = []
    with app.unit_of_work() as work:
        work.patients.register_provider(make_provider())
        for number, person in enumerate(PATIENTS, start=1):
            patient = work.patients.register(make_patient(
                number, last_name=person["last_name"], first_name=person["first_name"],
                birth_date=person["birth_date"], account_number=person["account_number"],
                address=make_address(line1=person["line1"])))
            coverage = work.patients.add_coverage(patient.id, make_coverage(
                member_id=person["member_id"]))
            for serial in range(3):
                claim = work.claims.create(make_claim(
                    patient.id, coverage_id=coverage.id, number=f"FZ{number}{serial:03d}",
                    lines=1 + serial % 2))
                claim_ids.append(claim.id)
            phi += [person["last_name"], person["first_name"], person["member_id"],
                    person["account_number"], person["line1"], person["birth_date"].isoformat(),
                    person["birth_date"].strftime("%Y%m%d")]
        work.claims.transition(claim_ids[0], ClaimState.VALIDATED)
        # a guarantor and a payment (its credit refundable), so their reads answer 200s too
        GuarantorService(work.session, actor=work.actor).add(Guarantor(
            last_name=GUARANTOR["last_name"], first_name=GUARANTOR["first_name"],
            address=make_address(line1=GUARANTOR["line1"])))
        phi += list(GUARANTOR.values())
        first_patient = work.patients.by_account(str(PATIENTS[0]["account_number"]))
        record_payment(work, Payment(patient_id=saved_id(first_patient), amount=Decimal("10.00"),
                                     method=PaymentMethodKind.CHECK, received_on=date.today()),
                       overpayment=Overpayment.CREDIT)
    with app.unit_of_work() as work:
        administrator = identity.local_principal(work, app.config)
        token = identity.create_key(work, administrator, "fuzzer", Role.ADMINISTRATOR).token
    return Seeded(token, tuple(phi))


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    """The payers served by the in-process line adapter and channel: an eligibility check is
    answered (a payer no enabled plugin serves is the installation's 503, not the request's)."""
    return medbill_config.model_copy(update={"payers": {
        key: payer.model_copy(update={"adapter": "line_format", "channel": "loopback"})
        for key, payer in medbill_config.payers.items()}})


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]


@pytest.fixture
def seeded(medbill_app: Medbill) -> Seeded:
    return _seed(medbill_app)


@pytest.fixture
def api_schema(request: pytest.FixtureRequest, medbill_app: Medbill,
               seeded: Seeded) -> Iterator[Any]:
    """The app's OpenAPI document, loaded by Schemathesis through ASGI (no network)."""
    node: Any = request.node
    if not hasattr(node, "_nodeid"):
        # Schemathesis's lazy loader (4.32) renames the test per operation through the
        # node's _nodeid, which pytest 9.2 no longer has (it derives nodeid from _id)
        node._nodeid = node.nodeid
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        # the key for the document's bearer scheme: Schemathesis also sends requests without
        # it, or with a wrong one, and expects a 401 (its ignored_auth check)
        "auth": {"openapi": {"HTTPBearer": {"bearer": seeded.token}}},
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                       "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        # a schema-valid request may still be refused with a 422 by a rule no JSON schema
        # states (a cursor the list did not issue, a birth date in the future, an unknown
        # payer): answered as a problem, which the other checks look at
        "checks": {"positive_data_acceptance": {"enabled": False}},
    })
    app = create_app(medbill_app)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    finally:
        stop_jobs(app)  # the jobs the fuzzer started (submissions, statement runs) end first


#: A key that reads as a field's name: a problem names fields by design (``body.birth_date``)
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _values(value: Any) -> Iterator[str]:
    """Every string value inside a request's part, and each key of a JSON object that is not
    a field's name (``{"<a patient's name>": 1}``: a key is input too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not _FIELD_NAME.fullmatch(key):
                yield key
            yield from _values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _values(item)


def _sent_strings(case: Case) -> set[str]:
    """The request's strings long enough that finding one in a message is no coincidence."""
    headers = {name: value for name, value in (case.headers or {}).items()
               if name.lower() != "authorization"}
    # not the path's parameters: a problem's instance is the path, and a 404 names the id
    # it did not find ("claim 7 not found"); ids are not PHI
    parts = [case.body if isinstance(case.body, dict | list | str | bytes) else None,
             case.query, case.cookies, headers]
    return {text for part in parts for text in _values(part)
            if len(text.strip()) >= ECHO_MIN_LENGTH and text.strip().lower() not in OWN_WORDS}


def no_disclosure(phi: tuple[str, ...]) -> Any:
    """The check: an error response names none of ``phi``, and its problem does not quote
    the request's own strings."""

    def no_phi_in_errors(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if response.status_code < 400:
            return None
        text = response.text
        for value in phi:
            if value.lower() in text.lower():
                raise AssertionError(f"error response {response.status_code} discloses "
                                     f"seeded PHI {value!r}: {text[:300]}")
        try:
            problem = json.loads(text)
        except ValueError:
            return True
        if not isinstance(problem, dict):
            return True
        if response.status_code == 401:
            # refused before the request was read (its key): a fixed sentence, whatever was
            # sent ("authentication required" is no echo of a generated "required")
            return True
        errors = [item for item in problem.get("errors") or [] if isinstance(item, dict)]
        quoted = [str(problem.get("detail") or "")] + [str(item.get("message", ""))
                                                      for item in errors]
        # a field's path is named by design (query.last_name), whatever value was sent
        for path in {str(item.get("field", "")) for item in errors} - {""}:
            quoted = [said.replace(path, "") for said in quoted]
        for value in _sent_strings(case):
            # as a whole word: a sent "other" is not echoed by "another request"
            echoed = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")
            for said in quoted:
                if echoed.search(said):
                    raise AssertionError(f"error response {response.status_code} echoes "
                                         f"the request's value {value!r}: {said[:300]}")
        return True

    return no_phi_in_errors


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_answers_within_its_schema_and_without_phi(
        case: Case, seeded: Seeded) -> None:
    case.call_and_validate(additional_checks=[no_disclosure(seeded.phi)])


# -- the check itself bites -------------------------------------------------------------------

def _problem(status: int, detail: str, field: str = "query.last_name") -> Any:
    body = {"type": "urn:medbill:problem:validation-failed", "title": "Validation failed",
            "status": status, "detail": detail,
            "errors": [{"field": field, "code": "invalid", "message": detail}]}
    return SimpleNamespace(status_code=status, text=json.dumps(body))


def _sent(**query: Any) -> Any:
    return SimpleNamespace(body=None, query=query, cookies=None,
                           headers={"Authorization": "Bearer mbk_secret"},
                           path_parameters={"patient_id": "12345"})


def test_the_disclosure_check_refuses_phi_and_echoed_input_in_errors_only() -> None:
    check = no_disclosure(("Quillfeather", "1961-03-14"))
    with pytest.raises(AssertionError, match="seeded PHI 'Quillfeather'"):
        check(None, _problem(404, "patient QUILLFEATHER not found"), _sent())
    with pytest.raises(AssertionError, match="echoes the request's value 'Smithers'"):
        check(None, _problem(422, "no patient named Smithers"), _sent(last_name="Smithers"))
    # a 2xx may hold PHI (it is the record asked for); a field's name, a short value and
    # the path's id are not echoes
    assert check(None, SimpleNamespace(status_code=200, text="Quillfeather"), _sent()) is None
    assert check(None, _problem(422, "query.limit: must be at most 500", "query.limit"),
                 _sent(limit="limit", state="ok")) is True
    assert check(None, _problem(404, "patient 12345 not found"), _sent()) is True
    assert check(None, _problem(422, "used with another request"), _sent(x="other")) is True
    assert check(None, _problem(422, "body.diagnoses[0]: not an ICD-10-CM code"),
                 _sent(description="ICD-10-CM")) is True


def test_a_405_allows_every_method_of_the_path(medbill_app: Medbill) -> None:
    """Several routes on one path (the list's GET, the create's POST, one added here): the
    405 names every method."""
    from fastapi.testclient import TestClient

    app = create_app(medbill_app)
    app.add_api_route("/v1/claims", lambda: None, methods=["PUT"])
    with TestClient(app) as client:
        refused = client.request("OPTIONS", "/v1/claims")
    assert refused.status_code == 405
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["allow"] == "GET, POST, PUT"

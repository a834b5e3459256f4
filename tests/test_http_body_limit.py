"""A request body beyond its route's limit is a 413 problem, whether its length is declared
or it comes in chunks, with or without a key (exploratory testing found one 300 MB body, no
key, taking a server to 1 GB)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from test_http_api import EHR, assert_problem, fake_authenticate

from medbill_core.app import Medbill
from medbill_core.http import create_app
from medbill_core.http.body_limit import JSON_LIMIT
from medbill_core.http.resources.inbound_documents import MAX_UPLOAD_BYTES


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as test_client:
        yield test_client


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """A JSON body sent in chunks, without a length (Transfer-Encoding: chunked)."""
    yield b'{"last_name": "'
    sent = 0
    while sent < total:
        yield b"A" * size
        sent += size
    yield b'"}'


@pytest.mark.parametrize("headers", [{}, EHR], ids=["no key", "a key"])
def test_a_declared_length_beyond_the_limit_is_refused_unread(client: TestClient,
                                                              headers: dict[str, str]) -> None:
    body = b'{"last_name": "' + b"A" * JSON_LIMIT + b'"}'
    answer = client.post("/v1/patients", content=body,
                         headers={**headers, "Content-Type": "application/json"})
    problem = assert_problem(answer, 413, "too-large")
    assert problem["detail"] == f"the request body is larger than {JSON_LIMIT} bytes"
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("headers", [{}, EHR], ids=["no key", "a key"])
def test_a_chunked_body_is_cut_off_at_the_limit(client: TestClient,
                                                headers: dict[str, str]) -> None:
    answer = client.post("/v1/patients", content=_chunks(2 * JSON_LIMIT),
                         headers={**headers, "Content-Type": "application/json"})
    assert "content-length" not in answer.request.headers
    assert_problem(answer, 413, "too-large")


def test_under_the_limit_a_route_answers_as_before(client: TestClient) -> None:
    answer = client.post("/v1/patients", content=_chunks(JSON_LIMIT // 4),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 401  # no key: not the body's size
    answer = client.post("/v1/patients", content=b"{", headers={
        **EHR, "Content-Type": "application/json"})
    assert answer.status_code in (400, 422)


def test_an_x12_upload_has_its_own_larger_limit(client: TestClient) -> None:
    text = "ISA*" + "A" * (JSON_LIMIT + 10)  # past the JSON limit, within the upload's
    answer = client.post("/v1/inbound-documents", content=text.encode(), headers={
        **EHR, "Content-Type": "application/edi-x12"})
    assert answer.status_code != 413, answer.text
    too_large = client.post("/v1/inbound-documents", content=_chunks(MAX_UPLOAD_BYTES + 1),
                            headers={**EHR, "Content-Type": "application/edi-x12"})
    problem = assert_problem(too_large, 413, "too-large")
    assert problem["detail"] == f"the request body is larger than {MAX_UPLOAD_BYTES} bytes"

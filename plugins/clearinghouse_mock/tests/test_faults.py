"""Fault injection on the real server, and how the channel copes: retries with backoff on
timeouts, 5xx and dropped connections; never on 4xx; no duplicate submissions; feeds read
once each even when delivered twice or out of order."""

from __future__ import annotations

import time

import httpx
import pytest
from chm_support import api_key, claim, fresh_member_id, x837
from medbill_clearinghouse_mock.channel import ClearinghouseUnavailable

from medbill_core.api import DocumentKind, SubmissionError, SubmissionFile


def batch(number: str) -> SubmissionFile:
    text = x837([claim(number, member_id=fresh_member_id())])
    return SubmissionFile(payer_key="acme1", kind=DocumentKind.CLAIM_837P, content=text,
                          claim_numbers=[number], control_number=number, filename=f"{number}.837")


def submissions_seen(http: httpx.Client) -> list[str]:
    """Submission IDs that produced a 277CA in the account's feed."""
    docs = http.get("/v1/responses", params={"limit": 1000}).json()["documents"]
    return [d["submission_id"] for d in docs if d["kind"] == "277CA"]


def test_503s_on_submit_are_retried_and_submitted_once(make_channel, faults, http) -> None:  # type: ignore[no-untyped-def]
    faults({"endpoint": "submit", "kind": "status", "status": 503, "first": 2})
    channel = make_channel()
    receipt = channel.submit(batch("F503"), idempotency_key="f503")
    assert receipt.accepted
    assert channel.last_attempts == 3
    assert submissions_seen(http) == [receipt.submission_id]


def test_500_after_processing_is_retried_and_replayed(make_channel, faults, http) -> None:  # type: ignore[no-untyped-def]
    faults({"endpoint": "submit", "kind": "status", "status": 500, "phase": "after",
            "first": 1})
    channel = make_channel()
    receipt = channel.submit(batch("F500"), idempotency_key="f500")
    assert channel.last_attempts == 2
    assert submissions_seen(http) == [receipt.submission_id]


@pytest.mark.parametrize("phase", ["before", "after"])
def test_timeout_on_submit_is_retried_without_a_second_submission(  # type: ignore[no-untyped-def]
        make_channel, faults, http, phase: str) -> None:
    faults({"endpoint": "submit", "kind": "timeout", "seconds": 1.5, "phase": phase,
            "first": 1})
    channel = make_channel(read_timeout=0.5)
    started = time.monotonic()
    receipt = channel.submit(batch(f"FTO{phase[0]}"), idempotency_key=f"fto-{phase}")
    assert channel.last_attempts == 2
    assert time.monotonic() - started < 10
    assert submissions_seen(http) == [receipt.submission_id]


@pytest.mark.parametrize("phase", ["before", "after"])
def test_dropped_connection_is_retried(make_channel, faults, http, phase: str) -> None:  # type: ignore[no-untyped-def]
    faults({"endpoint": "submit", "kind": "drop", "phase": phase, "first": 1})
    channel = make_channel()
    receipt = channel.submit(batch(f"FDR{phase[0]}"), idempotency_key=f"fdrop-{phase}")
    assert channel.last_attempts == 2
    assert submissions_seen(http) == [receipt.submission_id]


def test_raw_drop_is_a_connection_error(server, faults, http) -> None:  # type: ignore[no-untyped-def]
    faults({"endpoint": "responses", "kind": "drop", "first": 1})
    with pytest.raises(httpx.TransportError):
        http.get("/v1/responses")
    assert http.get("/v1/responses").status_code == 200


def test_retries_are_bounded(make_channel, faults, http) -> None:  # type: ignore[no-untyped-def]
    faults({"endpoint": "submit", "kind": "status", "status": 503})
    channel = make_channel(max_retries=2)
    with pytest.raises(ClearinghouseUnavailable, match="after 3 attempts .*HTTP 503"):
        channel.submit(batch("FBOUND"), idempotency_key="fbound")
    assert channel.last_attempts == 3
    assert submissions_seen(http) == []


def test_4xx_is_never_retried(make_channel, server) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel(api_key="not-a-valid-key")
    with pytest.raises(SubmissionError, match="HTTP 401"):
        channel.submit(batch("F401"), idempotency_key="f401")
    assert channel.last_attempts == 1
    good = make_channel()
    good.submit(batch("F409"), idempotency_key="f409")
    with pytest.raises(SubmissionError, match=r"HTTP 409 \(idempotency_key_reused\)"):
        good.submit(batch("F409B"), idempotency_key="f409")
    assert good.last_attempts == 1


def test_backoff_grows_and_is_capped(make_channel) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel(backoff_initial=0.5, backoff_max=3.0)
    delays = [channel.backoff(n) for n in range(6)]
    for n, delay in enumerate(delays):
        ceiling = min(3.0, 0.5 * 2 ** n)
        assert ceiling / 2 <= delay <= ceiling


def test_channel_sleeps_between_retries(server, account, faults) -> None:  # type: ignore[no-untyped-def]
    from medbill_clearinghouse_mock.channel import ClearinghouseChannel
    from medbill_clearinghouse_mock.settings import ClearinghouseMockSettings

    faults({"endpoint": "submit", "kind": "status", "status": 503, "first": 3})
    slept: list[float] = []
    channel = ClearinghouseChannel(ClearinghouseMockSettings(
        base_url=server.base_url, api_key=api_key(account), backoff_initial=1.0,
        backoff_max=10.0), sleep=slept.append)
    channel.submit(batch("FSLEEP"), idempotency_key="fsleep")
    channel.close()
    assert len(slept) == 3
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0 and 2.0 <= slept[2] <= 4.0


def test_feed_delivered_twice_is_read_once(make_channel, faults, http) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel()
    channel.submit(batch("FDUP"), idempotency_key="fdup")
    faults({"endpoint": "responses", "kind": "duplicate"})
    raw = [d["document_id"] for d in http.get("/v1/responses").json()["documents"]]
    assert len(raw) == 4 and len(set(raw)) == 2
    documents = channel.fetch_responses()
    assert [d.kind for d in documents] == [DocumentKind.FUNCTIONAL_ACK_999,
                                           DocumentKind.CLAIM_ACK_277CA]


def test_feed_out_of_order_is_put_back_in_order(make_channel, faults, http) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel()
    channel.submit(batch("FORD1"), idempotency_key="ford1")
    channel.submit(batch("FORD2"), idempotency_key="ford2")
    faults({"endpoint": "responses", "kind": "reorder"})
    raw = [d["sequence"] for d in http.get("/v1/responses").json()["documents"]]
    assert raw == sorted(raw, reverse=True)
    documents = channel.fetch_responses()
    assert [int(d.cursor or 0) for d in documents] == sorted(raw)


def test_feed_errors_are_retried_and_ack_removes_documents(make_channel, faults) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel(page_size=1)
    channel.submit(batch("FACK"), idempotency_key="fack")
    faults({"endpoint": "responses", "kind": "status", "status": 502, "every": 2})
    documents = channel.fetch_responses()
    assert len(documents) == 2
    channel.acknowledge(documents[0])
    channel.acknowledge_many(documents)  # acknowledging again is harmless
    assert channel.fetch_responses() == []


def test_latency(server, faults, http) -> None:  # type: ignore[no-untyped-def]
    faults({"endpoint": "responses", "kind": "latency", "seconds": 0.3})
    started = time.monotonic()
    assert http.get("/v1/responses").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_same_835_published_twice(make_channel, faults) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel()
    channel.submit(batch("FREP"), idempotency_key="frep")
    faults({"kind": "republish"})
    channel.run_payments()
    remits = [d for d in channel.fetch_responses() if d.kind is DocumentKind.REMITTANCE_835]
    assert len(remits) == 2
    assert remits[0].document_id != remits[1].document_id
    assert remits[0].content == remits[1].content


def test_fault_header_with_first_count(server, http) -> None:  # type: ignore[no-untyped-def]
    text = x837([claim("FHDR", member_id=fresh_member_id())]).encode()
    headers = {"Idempotency-Key": "fhdr", "X-Mock-Fault": "status=503;phase=after;first=1"}
    first = http.post("/v1/claims/batches", content=text, headers=headers)
    second = http.post("/v1/claims/batches", content=text, headers=headers)
    assert first.status_code == 503
    assert second.status_code == 202
    assert second.headers["idempotent-replayed"] == "true"
    bad = http.post("/v1/claims/batches", content=text,
                    headers={"Idempotency-Key": "x", "X-Mock-Fault": "explode"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_fault"


def test_fault_rules_are_validated(server, http) -> None:  # type: ignore[no-untyped-def]
    response = http.put("/v1/test/faults", json=[{"kind": "meteor"}])
    assert response.status_code == 400
    assert http.get("/v1/test/faults").json() == {"faults": []}

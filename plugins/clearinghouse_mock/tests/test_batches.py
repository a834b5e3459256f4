"""The simulator at scale: a batch adjudicated in one transaction gives what claim-by-claim
submissions give, and a payment run splits large groups into bounded 835s."""

from __future__ import annotations

from pathlib import Path

from chm_support import claim, fresh_member_id, line, suite_config, x837
from medbill_clearinghouse_mock.simulator.service import ClearinghouseService
from medbill_clearinghouse_mock.simulator.store import Store
from medbill_payer_generic_x12.api import decode_835


def _service(tmp_path: Path, name: str, **config: object) -> ClearinghouseService:
    return ClearinghouseService(suite_config(**config), Store(tmp_path / f"{name}.db"))


def _paid(service: ClearinghouseService) -> dict[str, tuple[object, object]]:
    """Claim number -> (paid, patient responsibility) over every 835 of a payment run."""
    found = {}
    with service.store.transaction() as connection:
        contents = [row["content"] for row in connection.execute(
            "SELECT content FROM documents WHERE kind = '835' ORDER BY seq")]
    for content in contents:
        for remittance in decode_835(content):
            for payment in remittance.claims:
                found[payment.claim_number] = (payment.paid, payment.patient_responsibility)
    return found


def test_one_batch_adjudicates_as_claim_by_claim_submissions_do(tmp_path: Path) -> None:
    member = fresh_member_id()
    claims = [claim(f"ACC{n}", member_id=member, lines=[line(1, "99213", "125.00")])
              for n in range(8)]  # the deductible runs out part way through
    at_once = _service(tmp_path, "once")
    at_once.submit_claims("acct01", "k", x837(claims).encode())
    at_once.payment_run()
    one_by_one = _service(tmp_path, "each")
    for n, item in enumerate(claims):
        one_by_one.submit_claims("acct01", f"k{n}", x837([item]).encode())
    one_by_one.payment_run()
    assert _paid(at_once) == _paid(one_by_one)
    assert len({value for value in _paid(at_once).values()}) > 1  # the deductible moved
    with at_once.store.transaction() as connection:
        stored = connection.execute("SELECT deductible_met FROM accumulators").fetchall()
    with one_by_one.store.transaction() as connection:
        expected = connection.execute("SELECT deductible_met FROM accumulators").fetchall()
    assert [tuple(r) for r in stored] == [tuple(r) for r in expected]


def test_a_payment_run_splits_a_large_group_into_bounded_835s(tmp_path: Path) -> None:
    service = _service(tmp_path, "split", max_claims_per_remittance=2)
    claims = [claim(f"SPL{n}", member_id=fresh_member_id()) for n in range(5)]
    service.submit_claims("acct01", "k", x837(claims).encode())
    runs = service.payment_run()
    assert [r["claim_payments"] for r in runs] == [2, 2, 1]
    assert len({r["trace_number"] for r in runs}) == 3
    assert sorted(_paid(service)) == sorted(c.claim.claim_number for c in claims)
    assert service.payment_run() == []


def test_a_payment_run_writes_the_same_835s_from_kept_payments_as_from_stored_json(
        tmp_path: Path) -> None:
    """The payment run takes back the payments its process adjudicated instead of parsing
    their stored JSON again: the 835s are byte for byte those of a simulator that parses it
    (as one restarted on the state file does)."""
    from datetime import datetime

    member, roster = fresh_member_id(), "ROSTER0001"
    claims = [
        claim("KEPT1", member_id=member, lines=[line(1, "99213", "125.00"),
                                                line(2, "36415", "12.50")]),
        claim("KEPT2", member_id=member, lines=[line(1, "99214", "180.00", units="2")]),
        claim("KEPT3", member_id=roster, lines=[line(1, "97110", "40.00", modifiers=["GP"])]),
        claim("KEPT4", member_id=member, lines=[line(1, "93000", "55.00")]),  # not covered
        claim("KEPT5", member_id=member, lines=[line(1, "73721", "900.00")]),  # no auth
        claim("KEPT6", member_id=fresh_member_id(), payer_id="STRICT1",
              lines=[line(1, "85025", "19.99")]),
    ]
    body = x837(claims).encode()
    now = datetime(2026, 3, 2, 9, 30)
    documents = []
    for name, keep in (("kept", True), ("parsed", False)):
        service = _service(tmp_path, name)
        service.now = lambda: now  # type: ignore[method-assign]
        service.submit_claims("acct01", "k", body)
        assert len(service._written_payments) == 6  # denials are payments too
        if not keep:
            service._written_payments.clear()
        runs = service.payment_run()
        assert service._written_payments == {}
        with service.store.transaction() as connection:
            documents.append([row["content"] for row in connection.execute(
                "SELECT content FROM documents WHERE kind = '835' ORDER BY seq")])
        assert sum(r["claim_payments"] for r in runs) == 6
    kept, parsed = documents
    assert len(kept) == 2 and kept == parsed

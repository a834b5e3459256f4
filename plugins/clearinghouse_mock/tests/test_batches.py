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

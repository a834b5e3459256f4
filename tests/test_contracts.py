"""The contract suites in medbill_core.testing, run against the in-test plugins.

This proves the suites pass for a well-behaved adapter and fail for a misbehaving one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from inproc_plugins import LineAdapter, LoopbackChannel, TextRenderer

from medbill_core.adapters import PayerAdapter
from medbill_core.domain import BillableClaim, Payer, SubmissionFile
from medbill_core.testing import factories
from medbill_core.testing.contracts import (
    PayerAdapterContract,
    StatementRendererContract,
    SubmissionChannelContract,
)


class TestLineAdapterContract(PayerAdapterContract):
    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return LineAdapter()


class TestLoopbackChannelContract(SubmissionChannelContract):
    @pytest.fixture
    def channel(self) -> LoopbackChannel:
        return LoopbackChannel()

    @pytest.fixture
    def submission(self) -> SubmissionFile:
        return LineAdapter().encode_claims(factories.make_payer(),
                                           [factories.make_billable_claim()])[0]


class TestTextRendererContract(StatementRendererContract):
    @pytest.fixture
    def renderer(self) -> TextRenderer:
        return TextRenderer()

    @pytest.fixture
    def statement(self):
        from datetime import date
        from decimal import Decimal

        from medbill_core.domain import Statement
        return Statement(statement_number="S-1", practice=factories.make_practice(),
                         patient=factories.make_patient(id=1), account_number="A00001",
                         statement_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                         balance_due=Decimal("10.00"))


class MutatingAdapter(LineAdapter):
    identifier = "mutating"

    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        files = super().encode_claims(payer, claims)
        claims[0].claim.prior_authorization = "CHANGED"
        return files


def test_contract_catches_an_adapter_that_mutates_claims() -> None:
    suite = PayerAdapterContract()
    payer = factories.make_payer(adapter="mutating")
    claims = [factories.make_billable_claim(payer=payer)]
    with pytest.raises(AssertionError, match="encode_claims changed its input"):
        suite.test_encodes_every_claim_without_mutating_it(MutatingAdapter(), payer, claims)

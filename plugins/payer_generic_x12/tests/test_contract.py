"""The core's payer adapter contract suite, run against the generic X12 adapter."""

from __future__ import annotations

from datetime import datetime

import pytest
from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.x12 import MemoryControlNumbers

from medbill_core.api import Payer, PayerAdapter
from medbill_core.api.testing import PayerAdapterContract, factories


class TestGenericX12AdapterContract(PayerAdapterContract):
    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return GenericX12Adapter(MemoryControlNumbers(), clock=lambda: datetime(2024, 3, 5))

    @pytest.fixture
    def payer(self, adapter: PayerAdapter) -> Payer:
        payer = factories.make_payer(adapter=adapter.identifier)
        return payer.model_copy(update={"options": {
            "submitter_id": "SUB123", "receiver_id": "CLEARHOUSE",
            "submitter_phone": "8165550100"}})

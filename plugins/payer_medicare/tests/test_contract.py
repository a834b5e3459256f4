"""The core's payer document contract, run against the Medicare adapter: real 999, 277CA,
835 (reversal, PLB), 271 and 277 documents through the adapter and through the core."""

from __future__ import annotations

import pytest
from medbill_payer_medicare.adapter import MedicareAdapter, find_generic_x12_adapter
from medbill_payer_medicare.testing import EXAMPLE_MBI, make_medicare_payer

from medbill_core.api import Coverage, Payer, PayerAdapter
from medbill_core.api.testing import PayerDocumentContract, factories

pytestmark = pytest.mark.skipif(find_generic_x12_adapter() is None,
                                reason="the Medicare adapter reads X12 through payer_generic_x12")


class TestMedicareDocumentContract(PayerDocumentContract):
    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return MedicareAdapter()

    @pytest.fixture
    def payer(self, adapter: PayerAdapter) -> Payer:
        return make_medicare_payer()

    @pytest.fixture
    def contract_coverage(self, payer: Payer) -> Coverage:
        return factories.make_coverage(payer_key=payer.key, member_id=EXAMPLE_MBI,
                                       group_number=None, plan_name="Medicare Part B")

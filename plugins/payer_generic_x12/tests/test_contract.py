"""The core's payer adapter contract suites, run against the generic X12 adapter, and the
kit's X12 documents checked once with pyx12 (an independent reader of X12 5010)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.x12 import MemoryControlNumbers

from medbill_core.api import Payer, PayerAdapter
from medbill_core.api.testing import (
    ContractDocuments,
    ContractScenario,
    PayerDocumentContract,
    factories,
    x12_documents,
)

X12_OPTIONS = {"submitter_id": "SUB123", "receiver_id": "CLEARHOUSE",
               "submitter_phone": "8165550100"}


class TestGenericX12AdapterContract(PayerDocumentContract):
    @pytest.fixture
    def adapter(self) -> PayerAdapter:
        return GenericX12Adapter(MemoryControlNumbers(), clock=lambda: datetime(2024, 3, 5))

    @pytest.fixture
    def payer(self, adapter: PayerAdapter) -> Payer:
        payer = factories.make_payer(adapter=adapter.identifier)
        return payer.model_copy(update={"options": X12_OPTIONS})


#: pyx12 4.0 has no maps for 005010X279A1 (271) and 005010X212 (277): those two documents are
#: read by the strict X12 decoder in the contract above, not by pyx12
NO_PYX12_MAP = {"eligibility", "claim_status"}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(ContractDocuments)
                                  if f.name not in NO_PYX12_MAP])
def test_the_kit_x12_documents_are_valid_for_pyx12(name: str) -> None:
    pytest.importorskip("pyx12")
    scenario = ContractScenario(practice=factories.make_practice(),
                                payer=factories.make_payer(), patient=factories.make_patient(1),
                                coverage=factories.make_coverage(1))
    valid, errors = pyx12_verdict(getattr(x12_documents(scenario), name).content)
    assert valid, errors

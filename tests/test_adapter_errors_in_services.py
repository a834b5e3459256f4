"""An adapter or channel failing inside a service (remittance posting, fetching responses) is
named by the plugin that registered it -- never ``core:dispatch`` -- and leaves nothing
half-written (both databases)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from inproc_plugins import LoopbackChannel
from sqlalchemy import func, select
from test_receivables import ago, claim_number, new_claim, remit

from medbill_core.adapters import PayerAdapter, SubmissionChannel
from medbill_core.app import Medbill
from medbill_core.domain import Claim, ClaimPayment, DocumentKind, InboundDocument, Payer
from medbill_core.errors import PluginError
from medbill_core.hookspecs import hookimpl
from medbill_core.services.responses import fetch_and_apply
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    InboundDocumentRow,
    LedgerEntryRow,
    PostingRow,
    RemittanceRow,
)


class KaboomAdapter(PayerAdapter):
    """Fails while its findings about an 835 are asked for (a bug in a vendor's adapter)."""

    identifier = "kaboom"

    def remittance_findings(self, payment: ClaimPayment, payer: Payer,
                            claim: Claim | None) -> list[Any]:
        raise KeyError(f"member {payment.claim_number}")


class DeafChannel(LoopbackChannel):
    """Delivers documents but cannot acknowledge them."""

    identifier = "deaf"

    def acknowledge(self, document: InboundDocument) -> None:
        raise ConnectionResetError("peer went away")


def vendor_plugin(channel: DeafChannel) -> SimpleNamespace:
    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [KaboomAdapter()]

    @hookimpl
    def medbill_register_channels(context: Any) -> list[SubmissionChannel]:
        return [channel]

    return SimpleNamespace(medbill_register_payer_adapters=medbill_register_payer_adapters,
                           medbill_register_channels=medbill_register_channels)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("acme_vendor", vendor_plugin(DeafChannel()))]


@pytest.fixture
def medbill_config(medbill_config: Any) -> Any:
    payers = dict(medbill_config.payers)
    payers["acme"] = payers["acme"].model_copy(update={"adapter": "kaboom"})
    return medbill_config.model_copy(update={"payers": payers})


def _count(app: Medbill, row: Any) -> int:
    with app.unit_of_work() as work:
        return int(work.session.scalar(select(func.count()).select_from(row)) or 0)


def test_an_adapter_failing_during_posting_is_its_plugins_and_nothing_is_posted(
        medbill_app: Medbill, caplog: pytest.LogCaptureFixture) -> None:
    app = medbill_app
    claim = new_claim(app, service=ago(40), submitted=ago(35))
    number = claim_number(app, claim)
    with app.unit_of_work() as work:
        state_before = work.claims.get(claim).state
    before = {row: _count(app, row) for row in (PostingRow, LedgerEntryRow)}
    with pytest.raises(PluginError) as raised:
        remit(app, number, paid="64.00", co="36.00", on=ago(10))
    assert raised.value.plugin == "acme_vendor"  # not core:dispatch, not "unknown"
    assert str(raised.value) == ("plugin 'acme_vendor': payer adapter 'kaboom': KeyError in"
                                 " remittance_findings")
    assert number not in caplog.text  # the exception's text is never logged
    assert _count(app, RemittanceRow) == 0 and _count(app, ClaimAdjudicationRow) == 0
    assert {row: _count(app, row) for row in (PostingRow, LedgerEntryRow)} == before
    with app.unit_of_work() as work:
        assert work.claims.get(claim).state is state_before


def test_a_channel_failing_to_acknowledge_is_its_plugins(medbill_app: Medbill) -> None:
    app = medbill_app
    channel = app.hooks.context.channel("deaf")
    assert isinstance(channel, DeafChannel)
    channel.waiting.append(InboundDocument(
        channel="deaf", document_id="ack-1", kind=DocumentKind.OTHER,
        content="not a document any adapter reads"))
    with pytest.raises(PluginError) as raised:
        fetch_and_apply(app, "deaf")
    assert raised.value.plugin == "acme_vendor"
    assert str(raised.value) == ("plugin 'acme_vendor': submission channel 'deaf':"
                                 " ConnectionResetError in acknowledge")
    assert _count(app, InboundDocumentRow) == 1  # stored before it was acknowledged

"""The channel: medbill's SubmissionChannel contract, real-time exchange, plugin registration."""

from __future__ import annotations

import medbill_clearinghouse_mock.plugin as plugin_module
import pytest
from chm_support import claim, fresh_member_id, x270, x276, x837
from medbill_clearinghouse_mock.channel import ClearinghouseChannel
from medbill_clearinghouse_mock.settings import ClearinghouseMockSettings

from medbill_core.api import (
    ConfigurationError,
    DocumentKind,
    MedbillConfig,
    SubmissionError,
    SubmissionFile,
)
from medbill_core.api.testing import PluginHooks, SubmissionChannelContract


class TestClearinghouseChannelContract(SubmissionChannelContract):
    @pytest.fixture
    def channel(self, make_channel) -> ClearinghouseChannel:  # type: ignore[no-untyped-def]
        return make_channel()

    @pytest.fixture
    def submission(self) -> SubmissionFile:
        text = x837([claim("CONTRACT1", member_id=fresh_member_id()),
                     claim("CONTRACT2", member_id=fresh_member_id())])
        return SubmissionFile(payer_key="acme1", kind=DocumentKind.CLAIM_837P, content=text,
                              claim_numbers=["CONTRACT1", "CONTRACT2"], control_number="1",
                              filename="contract.837")


def test_receipt_carries_the_immediate_acknowledgments(make_channel) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel()
    text = x837([claim("RCPT", member_id=fresh_member_id())])
    receipt = channel.submit(SubmissionFile(
        payer_key="acme1", kind=DocumentKind.CLAIM_837P, content=text, claim_numbers=["RCPT"],
        control_number="9", filename="r.837"), idempotency_key="rcpt")
    assert receipt.accepted and receipt.channel == "clearinghouse_mock"
    assert receipt.idempotency_key == "rcpt"
    assert "1 of 1 claims" in (receipt.message or "")
    (ack,) = receipt.immediate_responses
    assert ack.kind is DocumentKind.FUNCTIONAL_ACK_999
    fetched = channel.fetch_responses()
    assert fetched[0].document_id == ack.document_id  # the feed has it too, same id
    status = channel.submission_status(receipt.submission_id)
    assert status["claim_states"][0]["claim_number"] == "RCPT"


def test_rejected_submission_receipt(make_channel) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel()
    receipt = channel.submit(SubmissionFile(
        payer_key="acme1", kind=DocumentKind.CLAIM_837P, content="garbage", claim_numbers=[],
        control_number="0", filename="g.837"), idempotency_key="garbage")
    assert not receipt.accepted
    assert [d.kind for d in receipt.immediate_responses] == [
        DocumentKind.INTERCHANGE_ACK_TA1]


def test_realtime_exchange(make_channel) -> None:  # type: ignore[no-untyped-def]
    channel = make_channel()
    assert channel.supports_realtime()
    answer = channel.exchange("270", x270("ROSTER0001"))
    assert answer.kind is DocumentKind.ELIGIBILITY_271
    assert "EB*1*IND*30**TEST PPO" in answer.content
    status = channel.exchange("276", x276(claim_number="NONE"))
    assert status.kind is DocumentKind.STATUS_277
    rejected = channel.exchange("270", "not x12")
    assert rejected.kind is DocumentKind.INTERCHANGE_ACK_TA1
    with pytest.raises(SubmissionError, match="not offered"):
        channel.exchange("837", "x")


def test_plugin_registers_the_channel_with_its_settings() -> None:
    config = MedbillConfig(plugin_settings={"clearinghouse_mock": {
        "base_url": "http://127.0.0.1:9999/", "api_key": "k", "max_retries": 1}})
    hooks = PluginHooks.start(config, extra_plugins=[("clearinghouse_mock", plugin_module)],
                              load_installed=False)
    channel = hooks.context.channel("clearinghouse_mock")
    assert isinstance(channel, ClearinghouseChannel)
    assert channel.settings.base_url == "http://127.0.0.1:9999"
    assert channel.settings.max_retries == 1
    assert sorted(hooks.hooks_of("clearinghouse_mock")) == [
        "medbill_plugin_settings_model", "medbill_register_channels",
        "medbill_register_commands"]


@pytest.mark.parametrize("settings", [{"base_url": "ftp://x"}, {"max_retries": 99},
                                      {"unknown": 1}])
def test_invalid_plugin_settings_stop_start_up(settings: dict) -> None:
    config = MedbillConfig(plugin_settings={"clearinghouse_mock": settings})
    with pytest.raises(ConfigurationError, match=r"\[plugins.clearinghouse_mock\]"):
        PluginHooks.start(config, extra_plugins=[("clearinghouse_mock", plugin_module)],
                          load_installed=False)


def test_default_settings_point_at_loopback() -> None:
    assert ClearinghouseMockSettings().base_url.startswith("http://127.0.0.1:")

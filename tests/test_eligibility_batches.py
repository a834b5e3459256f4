"""Eligibility in batches: services.eligibility.check_eligibility_many and the adapters'
check_eligibility_many (one exchange for many requests, answers by trace number)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from inproc_plugins import LineAdapter, make_line_plugin
from test_plugins import start

from medbill_core.adapters import PayerAdapter, SubmissionChannel
from medbill_core.domain import CoverageStatus, EligibilityRequest, EligibilityResponse
from medbill_core.errors import AdapterNotAvailable, DecodeError, MedbillError, SubmissionError
from medbill_core.hookspecs import hookimpl
from medbill_core.plugins import PluginHooks
from medbill_core.services.eligibility import check_eligibility_many
from medbill_core.testing import factories


class BatchLineAdapter(LineAdapter):
    """Answers a batch in one exchange; leaves out traces with MISSING, fails with FAIL."""

    eligibility_batch_size = 3

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def check_eligibility_many(self, requests: Sequence[EligibilityRequest],
                               channel: SubmissionChannel) -> dict[str, EligibilityResponse]:
        traces = [r.trace_number for r in requests]
        self.batches.append(traces)
        if any("FAIL" in t for t in traces):
            raise SubmissionError("clearinghouse: real-time 270 failed")
        return {t: EligibilityResponse(trace_number=t, status=CoverageStatus.ACTIVE)
                for t in traces if "MISSING" not in t}


def _batch_plugin(adapter: PayerAdapter) -> SimpleNamespace:
    plugin = make_line_plugin()

    @hookimpl
    def medbill_register_payer_adapters(context: Any) -> list[PayerAdapter]:
        return [adapter]

    plugin.medbill_register_payer_adapters = medbill_register_payer_adapters
    return plugin


def _request(hooks: PluginHooks, trace: str, payer_key: str = "linepay") -> EligibilityRequest:
    return EligibilityRequest(
        trace_number=trace, practice=factories.make_practice(),
        patient=factories.make_patient(id=1), coverage=factories.make_coverage(payer_key=payer_key),
        payer=hooks.context.payer(payer_key), service_date=date.today())


def test_requests_go_in_batches_and_answers_come_back_in_order() -> None:
    adapter = BatchLineAdapter()
    hooks = start(("batch", _batch_plugin(adapter)))
    traces = ["T-1", "T-2", "T-MISSING", "T-4", "T-5", "T-6", "T-7"]
    answers = check_eligibility_many(hooks, [_request(hooks, t) for t in traces])
    assert adapter.batches == [["T-1", "T-2", "T-MISSING"], ["T-4", "T-5", "T-6"], ["T-7"]]
    assert [a.trace_number if isinstance(a, EligibilityResponse) else None
            for a in answers] == ["T-1", "T-2", None, "T-4", "T-5", "T-6", "T-7"]
    missing = answers[2]
    assert isinstance(missing, DecodeError)
    assert str(missing) == ("eligibility T-MISSING: the answer of payer 'linepay' holds none"
                            " to this request")


def test_a_failing_exchange_fails_only_its_own_requests() -> None:
    adapter = BatchLineAdapter()
    hooks = start(("batch", _batch_plugin(adapter)))
    traces = ["T-1", "T-FAIL", "T-3", "T-4"]
    answers = check_eligibility_many(hooks, [_request(hooks, t) for t in traces])
    assert [type(a).__name__ for a in answers] == [
        "SubmissionError", "SubmissionError", "SubmissionError", "EligibilityResponse"]


def test_a_repeated_trace_number_is_asked_alone() -> None:
    adapter = BatchLineAdapter()
    hooks = start(("batch", _batch_plugin(adapter)))
    answers = check_eligibility_many(hooks, [_request(hooks, "T-1"), _request(hooks, "T-1")],
                                     batch_size=10)
    assert adapter.batches == [["T-1"]]  # the second went through check_eligibility
    assert all(isinstance(a, EligibilityResponse) and a.trace_number == "T-1" for a in answers)


def test_an_adapter_without_batches_is_asked_request_by_request() -> None:
    hooks = start(("lineplug", make_line_plugin()))
    adapter = hooks.context.adapter("line_format")
    assert adapter.supports_eligibility() and not adapter.supports_eligibility_batches()
    answers = check_eligibility_many(hooks, [_request(hooks, "T-1"), _request(hooks, "T-2")])
    assert answers == [EligibilityResponse(trace_number="T-1", status=CoverageStatus.ACTIVE),
                       EligibilityResponse(trace_number="T-2", status=CoverageStatus.ACTIVE)]


def test_a_plugin_answering_the_hook_is_asked_for_every_request() -> None:
    adapter = BatchLineAdapter()
    asked: list[str] = []

    @hookimpl(tryfirst=True)
    def medbill_check_eligibility(request: EligibilityRequest,
                                  context: Any) -> EligibilityResponse:
        asked.append(request.trace_number)
        return EligibilityResponse(trace_number=request.trace_number,
                                   status=CoverageStatus.INACTIVE)

    hooks = start(("batch", _batch_plugin(adapter)),
                  ("cache", SimpleNamespace(medbill_check_eligibility=medbill_check_eligibility)))
    answers = check_eligibility_many(hooks, [_request(hooks, "T-1"), _request(hooks, "T-2")])
    assert asked == ["T-1", "T-2"] and adapter.batches == []
    assert [a.status for a in answers if isinstance(a, EligibilityResponse)] == [
        CoverageStatus.INACTIVE, CoverageStatus.INACTIVE]


def test_a_payer_without_a_channel_is_an_error_per_request() -> None:
    hooks = start(("batch", _batch_plugin(BatchLineAdapter())), payers={
        "linepay": factories.make_payer("linepay", adapter="line_format", channel="loopback"),
        "nochannel": factories.make_payer("nochannel", adapter="line_format", channel=None)})
    answers = check_eligibility_many(hooks, [_request(hooks, "T-1", "nochannel"),
                                             _request(hooks, "T-2")])
    assert isinstance(answers[0], AdapterNotAvailable)
    assert str(answers[0]) == "payer 'nochannel' has no channel configured"
    assert isinstance(answers[1], EligibilityResponse)


def test_an_adapter_answering_the_wrong_type_is_named() -> None:
    class Sloppy(BatchLineAdapter):
        def check_eligibility_many(self, requests: Sequence[EligibilityRequest],
                                   channel: SubmissionChannel) -> Any:
            return [EligibilityResponse(status=CoverageStatus.ACTIVE)]

    hooks = start(("sloppy", _batch_plugin(Sloppy())))
    [answer] = check_eligibility_many(hooks, [_request(hooks, "T-1")])
    assert isinstance(answer, MedbillError)
    assert "'sloppy'" in str(answer) and "check_eligibility_many returned list" in str(answer)


@pytest.mark.parametrize("size", [1, 2, 500])
def test_the_batch_size_splits_the_requests_and_their_order_is_kept(size: int) -> None:
    adapter = BatchLineAdapter()
    hooks = start(("batch", _batch_plugin(adapter)))
    traces = [f"T-{n}" for n in range(7)]
    answers = check_eligibility_many(hooks, [_request(hooks, t) for t in traces],
                                     batch_size=size)
    assert [a.trace_number for a in answers if isinstance(a, EligibilityResponse)] == traces
    assert [len(b) for b in adapter.batches] == [len(traces[i:i + size])
                                                 for i in range(0, len(traces), size)]

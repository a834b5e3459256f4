"""Timing and logging around submissions and claim transitions. Logs carry no PHI."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator

from medbill_core.domain import Claim, SubmissionFile, SubmissionReceipt
from medbill_core.hookspecs import hookimpl
from medbill_core.lifecycle import Transition
from medbill_core.pluginctx import PluginContext

log = logging.getLogger("medbill.submission")
lifecycle_log = logging.getLogger("medbill.lifecycle")


@hookimpl(wrapper=True)
def medbill_submit_file(submission: SubmissionFile, channel: str, idempotency_key: str,
                        context: PluginContext) -> Generator[None, SubmissionReceipt | None,
                                                             SubmissionReceipt | None]:
    started = time.perf_counter()
    try:
        receipt = yield
    except Exception as exc:
        log.warning("submission %s via %s failed after %.3fs: %s", submission.control_number,
                    channel, time.perf_counter() - started, type(exc).__name__)
        raise
    log.info("submission %s (%d claims) via %s took %.3fs", submission.control_number,
             len(submission.claim_numbers), channel, time.perf_counter() - started)
    return receipt


@hookimpl
def medbill_claim_transition_postcommit(claim: Claim, transition: Transition,
                                        context: PluginContext) -> None:
    lifecycle_log.info("claim %s: %s -> %s by %s", transition.claim_id,
                       transition.source.value, transition.target.value, transition.actor)

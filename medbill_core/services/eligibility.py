"""Eligibility checks (270/271) for a patient's coverage, which coverage is primary on a date,
and what a payer's reject means.

The payer answers a request it cannot process with AAA segments (request validation):
"75" subscriber not found, "72" invalid member ID ... A check answered that way did not
tell whether the patient is covered, so the caller treats it as a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain import (
    Coverage,
    CoverageStatus,
    EligibilityRequest,
    EligibilityResponse,
    Payer,
    Relationship,
)
from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Principal
from medbill_core.errors import DecodeError, MedbillError, PluginError, ValidationFailed
from medbill_core.permissions import Action
from medbill_core.plugins import PluginHooks
from medbill_core.services.practices import practice_profile

#: AAA04 follow-up action codes.
AAA_FOLLOW_UPS = {
    "C": "please correct and resubmit",
    "N": "resubmission not allowed",
    "P": "please resubmit original transaction",
    "R": "resubmission allowed",
    "S": "do not resubmit; inquiry initiated to a third party",
    "W": "please wait 30 days and resubmit",
    "X": "please wait 10 days and resubmit",
    "Y": "do not resubmit; we will hand deliver",
}


def primary_coverage(coverages: Iterable[Coverage], on: date) -> Coverage | None:
    """The coverage that pays first for a service on ``on`` (``None``: none is active).

    Only plans active on the date count (an ended plan's payer is not the one that would pay).
    Among them the lowest coordination-of-benefits order (primary, then secondary ...) wins.
    Two plans in the same order (a plan change entered before the old one was ended) are
    decided as coordination of benefits does: the plan covering the patient as the subscriber
    before one covering them as a dependent, then the plan that began latest (it replaced the
    other), then the one entered first.
    """
    active = [c for c in coverages if c.is_active_on(on)]
    if not active:
        return None
    return min(active, key=lambda c: (
        c.order.rank, c.relationship is not Relationship.SELF,
        -(c.start_date or date.min).toordinal(), c.id if c.id is not None else 0))


def explain_reject(reason: str, follow_up: str | None = None) -> str:
    """``"75", "C"`` -> ``"75 Subscriber/insured not found. (check member ID ...);
    payer says: please correct and resubmit"`` (the reason from the shipped AAA table,
    :func:`~medbill_core.codesets.explain.explain_aaa_reject`, then the payer's AAA04)."""
    from medbill_core.codesets.explain import explain_aaa_reject

    text = explain_aaa_reject(reason)
    if follow_up:
        text += f"; payer says: {AAA_FOLLOW_UPS.get(follow_up, follow_up)}"
    return text


@dataclass(frozen=True)
class EligibilityCheck:
    coverage: Coverage
    payer: Payer
    request: EligibilityRequest
    response: EligibilityResponse

    @property
    def rejected(self) -> bool:
        return bool(self.response.issues) and self.response.status in (
            CoverageStatus.ERROR, CoverageStatus.UNKNOWN)

    @property
    def reasons(self) -> list[str]:
        return [explain_reject(issue.reject_reason, issue.follow_up)
                for issue in self.response.issues]


def check_patient_eligibility(medbill: Medbill, account_number: str, on: date,
                              service_types: list[str], *, coverage_id: int | None = None,
                              principal: Principal | None = None) -> EligibilityCheck:
    """Ask the payer of the patient's primary coverage active on the date of service (or of
    the coverage ``coverage_id``: a secondary, say); the check is audited.

    A payer's AAA reject is returned (``check.rejected``), not raised, so that the caller can
    show what came back before failing.

    ``principal``: who asks (default :attr:`Medbill.acting_as`).

    :raises ValidationFailed: ``coverage_id`` is not a coverage of this patient.
    :raises PermissionDenied: the principal's role may not ``eligibility.check``.
    """
    medbill.require(Action.ELIGIBILITY_CHECK, principal=principal)
    with medbill.unit_of_work(principal=principal, read_only=True) as work:
        found = work.patients.by_account(account_number)
        on_file = work.patients.coverages(saved_id(found))
        if coverage_id is not None:
            chosen = [c for c in on_file if c.id == coverage_id]
            if not chosen:
                raise ValidationFailed(f"patient account {account_number}", [(
                    "coverage", f"{coverage_id} is not a coverage of this patient "
                    "(medbill coverages list --patient ...)")])
            coverage = chosen[0]
        else:
            if not on_file:
                raise MedbillError(f"patient account {account_number} has no coverage on file")
            primary = primary_coverage(on_file, on)
            if primary is None:
                raise ValidationFailed(f"patient account {account_number}", [(
                    "coverage", f"none active on {on.isoformat()} (its plan dates: medbill "
                    "coverages list --patient ...)")])
            coverage = primary
        payer = medbill.hooks.context.payer(coverage.payer_key)
        request = EligibilityRequest(
            trace_number=f"ELG{found.id}{on:%Y%m%d}", practice=practice_profile(work),
            patient=found, coverage=coverage, payer=payer, service_date=on,
            service_types=service_types)
    response = medbill.hooks.check_eligibility(request=request)
    with medbill.unit_of_work(principal=principal) as work:
        audit.record(work.session, actor=work.actor, action="eligibility.check",
                     entity_type="coverage", entity_id=coverage.id,
                     details={"status": response.status.value, "payer_key": payer.key,
                              "reject_reasons": [i.reject_reason for i in response.issues]})
    return EligibilityCheck(coverage, payer, request, response)


def check_eligibility_many(hooks: PluginHooks, requests: Sequence[EligibilityRequest], *,
                           batch_size: int | None = None
                           ) -> list[EligibilityResponse | MedbillError]:
    """Ask the payers about many patients: the answer to each request, in order, or the
    :class:`MedbillError` that kept it from one (one failing exchange fails only its own
    requests).

    Requests go by payer to the adapters that take batches
    (:meth:`~medbill_core.adapters.PayerAdapter.check_eligibility_many`: one exchange, a
    270 with a subscriber loop per request, for up to ``batch_size`` or the adapter's
    ``eligibility_batch_size`` requests), answers matched back by trace number. Otherwise
    -- an adapter without batches, a trace number repeated within a batch, or a plugin
    implementing ``medbill_check_eligibility`` itself -- each request is asked alone through
    that hook, exactly as :meth:`PluginHooks.check_eligibility` asks it. Nothing is audited
    here (:func:`check_patient_eligibility` audits its check).
    """
    results: list[EligibilityResponse | MedbillError | None] = [None] * len(requests)
    if _hook_answered_by_a_plugin(hooks):
        return [_alone(hooks, request) for request in requests]
    context = hooks.context
    by_payer: dict[str, list[int]] = {}
    for index, request in enumerate(requests):
        by_payer.setdefault(request.payer.key, []).append(index)
    for indexes in by_payer.values():
        payer = requests[indexes[0]].payer
        try:
            adapter = context.adapter_for(payer)
            batches = bool(context.call(adapter, "supports_eligibility")) and bool(
                context.call(adapter, "supports_eligibility_batches"))
        except MedbillError as exc:
            for index in indexes:
                results[index] = exc
            continue
        if not batches:
            for index in indexes:
                results[index] = _alone(hooks, requests[index])
            continue
        size = max(1, batch_size or adapter.eligibility_batch_size)
        for start in range(0, len(indexes), size):
            chunk: list[int] = []
            for index in indexes[start:start + size]:
                if any(requests[i].trace_number == requests[index].trace_number
                       for i in chunk):
                    results[index] = _alone(hooks, requests[index])
                else:
                    chunk.append(index)
            for index, answer in zip(chunk, _batch(hooks, [requests[i] for i in chunk]),
                                     strict=True):
                results[index] = answer
    return [answer if answer is not None else _unanswered(requests[index])
            for index, answer in enumerate(results)]


def _hook_answered_by_a_plugin(hooks: PluginHooks) -> bool:
    """A plugin (not the core's dispatch) implements ``medbill_check_eligibility``: it may
    answer in the adapters' place, so every request goes through the hook."""
    impls = hooks.manager.hook.medbill_check_eligibility.get_hookimpls()
    return any(not impl.plugin_name.startswith("core:") for impl in impls)


def _alone(hooks: PluginHooks, request: EligibilityRequest) -> EligibilityResponse | MedbillError:
    try:
        return hooks.check_eligibility(request=request)
    except MedbillError as exc:
        return exc


def _batch(hooks: PluginHooks, requests: list[EligibilityRequest]
           ) -> list[EligibilityResponse | MedbillError]:
    """One exchange for ``requests`` (one payer, distinct trace numbers)."""
    context = hooks.context
    payer = requests[0].payer
    try:
        adapter = context.adapter_for(payer)
        answers = context.call(adapter, "check_eligibility_many", requests,
                               context.channel_for(payer))
    except MedbillError as exc:
        return [exc] * len(requests)
    if not isinstance(answers, dict) or any(
            not isinstance(value, EligibilityResponse) for value in answers.values()):
        wrong = type(answers).__name__ if not isinstance(answers, dict) else "a dict holding " + \
            ", ".join(sorted({type(v).__name__ for v in answers.values()
                              if not isinstance(v, EligibilityResponse)}))
        error = PluginError(context.owner_of(adapter.identifier),
                            f"payer adapter {adapter.identifier!r}: check_eligibility_many "
                            f"returned {wrong}, not a dict of EligibilityResponse by trace number")
        return [error] * len(requests)
    return [answers.get(request.trace_number) or _unanswered(request) for request in requests]


def _unanswered(request: EligibilityRequest) -> MedbillError:
    return DecodeError(f"eligibility {request.trace_number}: the answer of payer "
                       f"{request.payer.key!r} holds none to this request")

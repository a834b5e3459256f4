"""Estimating what a patient will owe, from benefits and expected allowed amounts.

A payer allows the lesser of the billed charge and its expected allowed amount (the
contracted fee): a service charged below its contracted fee is allowed at its charge, and a
note says so; without an expected allowed amount, the charge is used.

For each planned service (in the order given): a copay applies once per visit to the
first evaluation-and-management service when the plan has one; otherwise the
remaining deductible is met first and coinsurance applies to the rest. The total
the patient owes never exceeds the out-of-pocket maximum still remaining. Without
coverage the patient owes the charges (less any self-pay discount).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from medbill_core.app import Medbill, UnitOfWork
from medbill_core.codesets import CodeSets, Reason, default_codesets
from medbill_core.codesets.explain import percent
from medbill_core.domain import BenefitSummary, EligibilityRequest, Patient, Payer, Practice
from medbill_core.domain.estimate import CostEstimate, EstimatedService, PlannedService
from medbill_core.domain.identity import Principal
from medbill_core.errors import AdapterNotAvailable, ValidationFailed
from medbill_core.money import CENT, ZERO, total
from medbill_core.permissions import Action
from medbill_core.plugins import PluginHooks
from medbill_core.services.eligibility import primary_coverage
from medbill_core.services.fees import FeeSchedules, fee_schedules_visible
from medbill_core.services.practices import practice_profile

_VISIT_PREFIXES = ("992", "993", "994", "G04")


def _is_visit(code: str) -> bool:
    return code.startswith(_VISIT_PREFIXES)


def _described(service: PlannedService) -> dict[str, Any]:
    return {"procedure_code": service.procedure_code, "modifiers": service.modifiers,
            "units": service.units, "description": service.description,
            "diagnoses": service.diagnoses}


def estimate(*, estimate_number: str, practice: Practice, patient: Patient, service_date: date,
             services: Sequence[PlannedService], benefits: BenefitSummary | None,
             payer_name: str | None = None,
             self_pay_discount: Decimal = Decimal("0")) -> CostEstimate:
    """Apply ``benefits`` to ``services`` (see the module docstring).

    :raises ValidationFailed: a service has no charge (price it first, e.g. from the charge
        master as :func:`estimate_for_patient` does).
    """
    unpriced = [n for n, s in enumerate(services, start=1) if s.charge is None]
    if unpriced:
        raise ValidationFailed("estimate", [(f"service {n} charge", "none given")
                                            for n in unpriced])
    notes: list[str] = []
    results: list[EstimatedService] = []
    if benefits is None:
        notes.append("No insurance on file: the patient owes the charges"
                     + (f" less a {self_pay_discount:%} self-pay discount"
                        if self_pay_discount else "") + ".")
        for service in services:
            assert service.charge is not None  # unpriced services refused above
            owed = (service.charge * (1 - self_pay_discount)).quantize(CENT, ROUND_HALF_UP)
            results.append(EstimatedService(**_described(service), charge=service.charge,
                                            allowed=owed, patient_owes=owed, plan_pays=ZERO))
    else:
        deductible_left = benefits.deductible_remaining if benefits.deductible_remaining \
            is not None else (benefits.deductible or ZERO)
        coinsurance = benefits.coinsurance if benefits.coinsurance is not None else Decimal(0)
        copay_used = benefits.copay is None
        for service in services:
            assert service.charge is not None  # unpriced services refused above
            allowed = service.allowed if service.allowed is not None else service.charge
            if service.allowed is None:
                notes.append(f"{service.procedure_code}: no expected allowed amount; "
                             "the charge was used.")
            elif service.allowed > service.charge:
                # a payer allows the lesser of the billed charge and the contracted amount
                allowed = service.charge
                notes.append(f"{service.procedure_code}: the charge {service.charge} is below "
                             f"the expected allowed amount {service.allowed}; the payer allows "
                             "the charge.")
            copay = deductible = coins = ZERO
            if not copay_used and _is_visit(service.procedure_code):
                copay = min(benefits.copay or ZERO, allowed)
                copay_used = True
            else:
                deductible = min(deductible_left, allowed)
                deductible_left -= deductible
                coins = ((allowed - deductible) * coinsurance).quantize(CENT, ROUND_HALF_UP)
            owed = copay + deductible + coins
            results.append(EstimatedService(
                **_described(service), charge=service.charge, allowed=allowed, copay=copay,
                deductible=deductible, coinsurance=coins, patient_owes=owed,
                plan_pays=allowed - owed))
        cap = benefits.out_of_pocket_remaining
        owed_total = total(r.patient_owes for r in results)
        if cap is not None and owed_total > cap:
            notes.append(f"Capped at the out-of-pocket maximum remaining ({cap}).")
            excess = owed_total - cap
            for index in range(len(results) - 1, -1, -1):  # reduce from the last service
                item = results[index]
                cut = min(excess, item.patient_owes)
                results[index] = item.model_copy(update={
                    "patient_owes": item.patient_owes - cut, "plan_pays": item.plan_pays + cut})
                excess -= cut
                if excess == ZERO:
                    break
    notes.append("This is an estimate based on the benefits reported by the payer and the "
                 "expected allowed amounts; the final amount may differ.")
    return CostEstimate(
        estimate_number=estimate_number, practice=practice, patient=patient,
        payer_name=payer_name, service_date=service_date, benefits=benefits, services=results,
        total_charge=total(s.charge for s in results),
        total_allowed=total(s.allowed for s in results),
        patient_total=total(s.patient_owes for s in results),
        plan_total=total(s.plan_pays for s in results), notes=notes)


#: A code unknown to the loaded HCPCS file may simply be newer than it.
_LOAD_HINT = {Reason.UNKNOWN: " (if it is new, load the current HCPCS file: medbill codes load "
                              "hcpcs FILE)"}


def check_services(services: Sequence[PlannedService], service_date: date,
                   codesets: CodeSets | None = None) -> list[PlannedService]:
    """Refuse services an estimate cannot honestly price: a procedure code or modifier that
    is not valid on the date of service (HCPCS Level II by the loaded file, CPT by format).

    :returns: the services, each HCPCS Level II one with its description when it had none
        (CPT descriptors are AMA-licensed and not shipped), so the patient reads what it is.
    :raises ValidationFailed: every problem at once, each naming the service by position.
    """
    codesets = codesets or default_codesets()
    problems: list[tuple[str, str]] = []
    described: list[PlannedService] = []
    for number, service in enumerate(services, start=1):
        verdict = codesets.hcpcs(service.procedure_code, service_date)
        if not verdict.ok:
            problems.append((f"service {number} procedure code",
                             verdict.message + _LOAD_HINT.get(verdict.reason, "")))
        for modifier in service.modifiers:
            verdict_modifier = codesets.modifier(modifier, service_date)
            if not verdict_modifier.ok:
                problems.append((f"service {number} modifier", verdict_modifier.message))
        info = verdict.info
        if service.description is None and info is not None and not info.format_only:
            service = service.model_copy(update={
                "description": info.description or info.short_description})
        described.append(service)
    if problems:
        raise ValidationFailed("estimate", problems)
    return described


def estimate_for_patient(app: Medbill, patient_id: int, services: Sequence[PlannedService],
                         *, service_date: date, place_of_service: str = "11",
                         check_eligibility: bool = True,
                         principal: Principal | None = None) -> CostEstimate:
    """Estimate for a registered patient: benefits from a live eligibility check of the
    primary coverage (when its payer's adapter supports it), allowed amounts from the
    fee-schedule hook (a service charged below it is allowed at its charge: see
    :func:`estimate`).

    Where the payer's answer lacks a benefit (no check asked for, the check failed, or the 271
    states no amount), the payer adapter's published standard benefit is assumed (Medicare
    Part B: deductible unmet, 20% coinsurance) and a note says so; a plan without a standard
    leaves it out, and the note says the patient's share is not known rather than zero.

    What is on file is read in one read-only unit of work that is closed before the payer is
    asked: a transaction held open across the network round trip would hold SQLite's write
    lock (and a PostgreSQL snapshot) for as long as the payer takes to answer. Nothing is
    written, so nothing needs redoing if the records change meanwhile.

    ``principal``: who asks (default :attr:`Medbill.acting_as`).

    :raises ValidationFailed: an invalid code or modifier for the date, or a service without
        a charge.
    :raises PermissionDenied: the principal's role may not ``estimates.create``.
    """
    app.require(Action.ESTIMATES_CREATE, principal=principal)
    hooks = app.hooks
    with app.unit_of_work(principal=principal, read_only=True) as work:
        practice = practice_profile(work)
        priced_notes: list[str] = []
        services = _with_charges(work, check_services(services, service_date), service_date,
                                 priced_notes)
        patient = work.patients.get(patient_id)
        primary = primary_coverage(work.patients.coverages(patient_id), service_date)
        priced = list(services)
        payer = None
        if primary is not None:
            payer = hooks.context.payer(primary.payer_key)
            with fee_schedules_visible(work):
                priced = [s if s.allowed is not None else s.model_copy(update={
                    "allowed": _allowed(hooks, payer, s, place_of_service, service_date)})
                    for s in services]
    benefits = None
    notes: list[str] = priced_notes
    if primary is not None and payer is not None:
        if check_eligibility:
            request = EligibilityRequest(
                trace_number=f"EST{patient_id}{service_date:%Y%m%d}", practice=practice,
                patient=patient, coverage=primary, payer=payer, service_date=service_date)
            try:
                benefits = hooks.check_eligibility(request=request).summary()
            except AdapterNotAvailable as exc:
                notes.append(f"Benefits not verified: {exc.message}.")
        else:
            notes.append("Benefits not verified: no eligibility check was asked for.")
        benefits = _complete(benefits, _assumed(hooks, payer, service_date), notes)
    result = estimate(estimate_number=f"GFE-P{patient_id:07d}-{service_date:%Y%m%d}",
                      practice=practice, patient=patient, service_date=service_date,
                      services=priced, benefits=benefits,
                      payer_name=payer.name if payer is not None else None)
    return result.model_copy(update={"notes": notes + result.notes})


def _with_charges(work: UnitOfWork, services: Sequence[PlannedService],
                  service_date: date, notes: list[str]) -> list[PlannedService]:
    """Services without a charge get the charge master's price (per unit x units), quantized
    to cents as computed amounts are; where that rounds (fractional units), ``notes`` says so.

    :raises ValidationFailed: naming each service the charge master has no price for.
    """
    schedules = FeeSchedules(work.session)
    priced: list[PlannedService] = []
    problems: list[tuple[str, str]] = []
    for number, service in enumerate(services, start=1):
        if service.charge is None:
            per_unit = schedules.charge_for(service.procedure_code, service.modifiers,
                                            service_date)
            if per_unit is None:
                problems.append((f"service {number} charge", "none given and the charge "
                                 f"master has no price for {service.procedure_code} on "
                                 f"{service_date}"))
                continue
            exact = per_unit * service.units
            charge = exact.quantize(CENT, ROUND_HALF_UP)
            if charge != exact:
                notes.append(f"{service.procedure_code}: charge {charge} from the charge master"
                             f" ({per_unit} per unit x {service.units} units = "
                             f"{exact.normalize():f}, rounded to cents).")
            service = service.model_copy(update={"charge": charge})
        priced.append(service)
    if problems:
        raise ValidationFailed("estimate", problems)
    return priced


def _assumed(hooks: PluginHooks, payer: Payer, service_date: date) -> BenefitSummary | None:
    adapter = hooks.context.adapters.get(payer.adapter)
    if adapter is None:
        return None
    return hooks.assumed_benefits(adapter, payer=payer, service_date=service_date)


_BENEFIT_FIELDS = ("copay", "coinsurance", "deductible", "deductible_remaining",
                   "out_of_pocket", "out_of_pocket_remaining")


def _complete(verified: BenefitSummary | None, assumed: BenefitSummary | None,
              notes: list[str]) -> BenefitSummary:
    """The verified benefits, gaps filled from the payer's standard benefit (with a note)."""
    verified = verified or BenefitSummary()
    if assumed is None:
        if verified.deductible_remaining is None and verified.deductible is None \
                and verified.coinsurance is None and verified.copay is None:
            notes.append("No benefit details: the patient's share (deductible, coinsurance, "
                         "copay) is not known and is not included; ask the payer.")
        return verified
    filled = {name: getattr(assumed, name) for name in _BENEFIT_FIELDS
              if getattr(verified, name) is None and getattr(assumed, name) is not None}
    if verified.deductible_remaining is None and verified.deductible is not None:
        filled.pop("deductible_remaining", None)  # the verified deductible is the one to meet
    if not filled:
        return verified
    shown = []
    if "deductible_remaining" in filled:
        shown.append(f"deductible {filled['deductible_remaining']} not yet met")
    if "coinsurance" in filled:
        shown.append(f"{percent(filled['coinsurance'])} coinsurance")
    if "copay" in filled:
        shown.append(f"copay {filled['copay']}")
    if shown:
        notes.append("Assumed the payer's standard benefits where none were verified: "
                     + ", ".join(shown) + ".")
    return verified.model_copy(update=filled)


def _allowed(hooks: PluginHooks, payer: Payer, service: PlannedService, place_of_service: str,
             service_date: date) -> Decimal | None:
    per_unit = hooks.expected_allowed(payer=payer, procedure_code=service.procedure_code,
                                      modifiers=service.modifiers,
                                      place_of_service=place_of_service,
                                      service_date=service_date)
    return None if per_unit is None else (per_unit * service.units).quantize(CENT, ROUND_HALF_UP)

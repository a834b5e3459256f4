"""Answer eligibility for one payer from a local roster instead of a 270/271 exchange."""

from medbill_core.api import CoverageStatus, EligibilityResponse, hookimpl

ROSTER = {"W123456789"}  # member ids a capitated clinic was sent by the plan


@hookimpl
def medbill_check_eligibility(request, context):
    if request.payer.key != "clinic_plan":
        return None  # not ours: the next implementation (the payer's adapter) answers
    covered = request.coverage.member_id in ROSTER
    return EligibilityResponse(
        trace_number=request.trace_number, payer_name=request.payer.name,
        status=CoverageStatus.ACTIVE if covered else CoverageStatus.INACTIVE)

"""Answer 276/277 from the payer's web portal instead of an X12 exchange."""

from medbill_core.api import ClaimStatus, ClaimStatusResponse, StatusCode, hookimpl


def portal_lookup(claim_number):
    """The portal's answer for one claim: (payer claim number, category code, status code)."""
    return ("ACME778812", "A2", "20")  # stand-in for an HTTP call


@hookimpl
def medbill_check_claim_status(request, context):
    if request.claim.payer is None or request.claim.payer.key != "acme":
        return None
    claim_number = request.claim.claim.claim_number
    payer_claim_number, category, status = portal_lookup(claim_number)
    return ClaimStatusResponse(
        trace_number=request.trace_number, payer_name=request.claim.payer.name,
        claims=[ClaimStatus(claim_number=claim_number, payer_claim_number=payer_claim_number,
                            status_codes=[StatusCode(category=category, code=status)])])

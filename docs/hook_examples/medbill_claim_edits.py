"""A payer rule: Acme wants a referring provider on every consultation claim."""

from medbill_core.api import ClaimFinding, Severity, hookimpl

CONSULTATIONS = {"99242", "99243", "99244", "99245"}


@hookimpl
def medbill_claim_edits(claim, context):
    if claim.payer is None or claim.payer.key != "acme":
        return []
    findings = []
    for line in claim.claim.lines:
        if line.procedure_code in CONSULTATIONS and claim.referring_provider is None:
            findings.append(ClaimFinding(
                severity=Severity.ERROR, code="ACME-REF", source="acme_payer",
                claim_number=claim.claim.claim_number, line_number=line.line_number,
                field="referring_provider_npi",
                message=f"{line.procedure_code} needs a referring provider for Acme",
                fix_hint="set referring_provider_npi on the claim"))  # codes and fields, no PHI
    return findings

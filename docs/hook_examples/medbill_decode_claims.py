"""Read claim files a practice's EHR exports in a format of its own for the 837 intake.

Return ``DecodedClaimFile``: the envelope that identifies the file (sender, control number)
and each claim, read (``bill``) or refused at its position (``refusal``), so that one bad
claim does not hold back the others.
"""

from medbill_core.api import DecodedClaim, DecodedClaimFile, hookimpl


def read_ehr_rows(text):
    """Yield ``(row number, claim number, BillableClaim or None, why not)`` (left out)."""
    raise NotImplementedError


@hookimpl
def medbill_decode_claims(content, context):
    if not content.startswith("EHRX-CLAIMS,"):
        return None  # not ours: X12 files go to the X12 engine
    header = content.split("\n", 1)[0].split(",")
    claims = [DecodedClaim(position=row, claim_number=number, bill=bill, refusal=why)
              for row, number, bill, why in read_ehr_rows(content)]
    return DecodedClaimFile(implementation="EHRX-1", interchange_control_number=header[2],
                            sender_id=header[1], claims=claims)

"""Split one payer's batches at 100 claims, then let the payer's adapter encode each."""

from medbill_core.api import hookimpl

BATCH_LIMIT = 100


@hookimpl(tryfirst=True)
def medbill_encode_claims(payer, claims, context):
    if payer.key != "acme" or len(claims) <= BATCH_LIMIT:
        return None  # the core's default: the payer's adapter encodes them all at once
    adapter = context.adapter_for(payer)
    files = []
    for start in range(0, len(claims), BATCH_LIMIT):
        files += adapter.encode_claims(payer, claims[start:start + BATCH_LIMIT])
    return files

"""Decode a payer's proprietary CSV remittance into the core's domain type.

Return ``Remittance`` (or another ``DecodedResponse`` type, or a list of them): never a
tuple or a format engine's own objects, which the core cannot apply.
"""

from medbill_core.api import hookimpl


def read_acme_csv(text):
    """Parse the CSV into a ``Remittance`` (left out of the example)."""
    raise NotImplementedError


@hookimpl
def medbill_decode_response(document, context):
    if document.channel != "acme_portal" or not document.content.startswith("ACME-ERA,"):
        return None  # not ours: the registered adapters get the document
    return read_acme_csv(document.content)

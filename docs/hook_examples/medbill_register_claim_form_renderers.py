"""Register a payer's own paper form; ``medbill claims form CLAIM --renderer state-wc`` and a
paper channel (``claim_form_renderer``) select it."""

from medbill_core.api import (
    ClaimFormLayout,
    ClaimFormRenderer,
    ClaimKind,
    RenderedClaimForm,
    hookimpl,
)


class WorkersCompForm(ClaimFormRenderer):
    identifier = "state-wc"
    media_type = "text/plain"
    file_extension = "txt"
    claim_kinds = frozenset({ClaimKind.PROFESSIONAL})

    def render(self, claims, *, layout=ClaimFormLayout.FORM):
        # one line per claim: its number and total (exact: amounts are Decimal)
        text = "".join(f"{bc.claim.claim_number} {bc.claim.total_charge}\n" for bc in claims)
        return RenderedClaimForm(
            renderer=self.identifier, layout=layout, media_type=self.media_type,
            filename=f"{claims[0].claim.claim_number}.txt", content=text.encode("utf-8"),
            pages=len(claims), claim_numbers=[bc.claim.claim_number for bc in claims])


@hookimpl
def medbill_register_claim_form_renderers(context):
    return [WorkersCompForm()]

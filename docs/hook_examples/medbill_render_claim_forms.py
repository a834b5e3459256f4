"""Print a payer's claims on its own form whatever renderer was asked for (the default
implementation calls the registered renderer named by ``renderer``)."""

from medbill_core.api import hookimpl


@hookimpl(tryfirst=True)
def medbill_render_claim_forms(claims, renderer, layout, context):
    if any(bc.payer is not None and bc.payer.key == "state-wc" for bc in claims):
        return context.form_renderers["state-wc"].render(claims, layout=layout)
    return None  # the registered renderer answers

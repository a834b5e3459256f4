"""Render a good-faith estimate as plain text (``medbill estimate ... --render text``)."""

from medbill_core.api import RenderedDocument, hookimpl


@hookimpl
def medbill_render_estimate(estimate, renderer, context):
    if renderer != "text":
        return None
    lines = [f"Good faith estimate {estimate.estimate_number} for {estimate.service_date}"]
    lines += [f"  total charge     {estimate.total_charge:>10}",
              f"  your plan pays   {estimate.plan_total:>10}",
              f"  you pay about    {estimate.patient_total:>10}"]  # every amount from the estimate
    return RenderedDocument(renderer="text", media_type="text/plain",
                            filename=f"{estimate.estimate_number}.txt",
                            content="\n".join(lines).encode("utf-8"))

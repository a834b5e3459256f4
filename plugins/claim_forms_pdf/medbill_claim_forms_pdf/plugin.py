"""Hook implementations of the `claim_forms_pdf` plugin (entry point `medbill.plugins`)."""

from __future__ import annotations

from medbill_claim_forms_pdf.paper import PaperChannel
from medbill_claim_forms_pdf.renderer import (
    Cms1500Renderer,
    PdfClaimFormRenderer,
    Ub04Renderer,
)
from medbill_claim_forms_pdf.settings import ClaimFormsPdfSettings
from medbill_core.api import ClaimFormRenderer, PluginContext, SubmissionChannel, hookimpl

PLUGIN_NAME = "claim_forms_pdf"
#: The plugin API this plugin was written for: claim form renderers came with 1.3.
MEDBILL_API = "1.3"


@hookimpl
def medbill_plugin_settings_model() -> type[ClaimFormsPdfSettings]:
    return ClaimFormsPdfSettings


def renderers(settings: ClaimFormsPdfSettings | None = None) -> list[ClaimFormRenderer]:
    """``claim_forms`` (each claim on its kind's form), ``cms1500`` and ``ub04``."""
    return [PdfClaimFormRenderer(settings), Cms1500Renderer(settings), Ub04Renderer(settings)]


@hookimpl
def medbill_register_claim_form_renderers(context: PluginContext) -> list[ClaimFormRenderer]:
    return renderers(context.settings_for(PLUGIN_NAME))


@hookimpl
def medbill_register_channels(context: PluginContext) -> list[SubmissionChannel]:
    return [PaperChannel(context.settings_for(PLUGIN_NAME))]

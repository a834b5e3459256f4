"""The ``[plugins.claim_forms_pdf]`` settings: where the data lands on a pre-printed form, and
where the paper channel keeps the batches it prints."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from medbill_core.api import ClaimFormLayout


class ClaimFormsPdfSettings(BaseModel):
    """Printers feed paper a little differently: every form is shifted by the offsets
    (inches, right and down; negative moves left and up) so that the data-only layout lands
    in the boxes of the red forms a practice bought.

    ``paper_dir`` (relative to the configuration file) is where the ``paper`` channel keeps
    each printed batch, owner-only; ``paper_layout`` is how it prints them: ``form`` on plain
    paper, ``data`` onto pre-printed red forms.
    """

    model_config = ConfigDict(extra="forbid")

    offset_right_in: Decimal = Field(default=Decimal("0"), ge=Decimal("-0.5"),
                                     le=Decimal("0.5"))
    offset_down_in: Decimal = Field(default=Decimal("0"), ge=Decimal("-0.5"),
                                    le=Decimal("0.5"))
    paper_dir: str = "paper-claims"
    paper_layout: ClaimFormLayout = ClaimFormLayout.FORM

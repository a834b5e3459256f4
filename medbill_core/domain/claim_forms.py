"""Paper claim forms (CMS-1500, UB-04): how a form is laid out and what a renderer gives back.

A renderer (:class:`~medbill_core.adapters.ClaimFormRenderer`) turns claims into a printable
document. What it could not fit in a box is not overprinted: it is cut to the box and
reported as a finding (``form.truncated``), so a biller can check the printed form before it
is mailed.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel
from medbill_core.domain.findings import ClaimFinding


class ClaimFormLayout(StrEnum):
    """What a claim form renderer draws.

    .. versionadded:: 1.3
    """

    #: the form itself (boxes, labels, the red ink) with the claim's data in its boxes
    FORM = "form"
    #: the data alone, placed for printing onto purchased red pre-printed forms
    DATA = "data"


class RenderedClaimForm(DomainModel):
    """The output of a claim form renderer: one document holding one form (or more, for a
    claim with more lines than a form has) per claim, in the order the claims were given.

    .. versionadded:: 1.3
    """

    renderer: str
    layout: ClaimFormLayout
    media_type: str
    filename: str
    content: bytes
    pages: int = Field(ge=1)
    #: the claim numbers rendered, in document order
    claim_numbers: list[str] = Field(min_length=1)
    #: what did not fit (cut to the box) or could not be printed; never PHI
    findings: list[ClaimFinding] = Field(default_factory=list)

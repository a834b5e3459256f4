"""Paper claim forms of one claim: the CMS-1500 or UB-04 (or a plugin's form) as a document.

The renderer is the one asked for, or the first registered one (by identifier) whose form
is for the claim's kind. A renderer that does not exist is :class:`NotFound`; one whose form
is for the other kind of claim is refused (:class:`ValidationFailed`) before anything is
drawn. The form holds PHI: each rendering is audited (``claim.form_rendered``: renderer,
layout, pages and the document's SHA-256, never its content).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from medbill_core import audit
from medbill_core.domain import BillableClaim, Claim
from medbill_core.domain.claim_forms import ClaimFormLayout, RenderedClaimForm
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.permissions import Action

if TYPE_CHECKING:
    from medbill_core.adapters import ClaimFormRenderer
    from medbill_core.app import UnitOfWork
    from medbill_core.pluginctx import PluginContext


class UnknownFormRenderer(NotFound):
    """No claim form renderer of the name asked for. The message lists the registered ones
    and does not repeat the name (what was typed is never echoed into an error)."""

    def __init__(self, available: list[str]) -> None:
        super().__init__("claim form renderer", "asked for")
        self.message = (f"no claim form renderer of that name (available: "
                        f"{', '.join(available) or 'none'})")
        self.args = (self.message,)


def renderer_for(context: PluginContext, claims: Sequence[Claim],
                 identifier: str | None = None) -> str:
    """The claim form renderer to draw ``claims`` with: ``identifier`` when it is registered
    and its form is for every claim's kind, else (``None`` asked) the first one that is.

    :raises NotFound: no renderer ``identifier``.
    :raises ValidationFailed: the renderer's form is not for a claim's kind, or no
        registered renderer's is (naming the first such claim).
    """
    registered: dict[str, ClaimFormRenderer] = context.form_renderers
    if identifier is not None:
        renderer = registered.get(identifier)
        if renderer is None:
            raise UnknownFormRenderer(sorted(registered))
        for claim in claims:
            if not context.call(renderer, "supports", claim.kind):
                raise ValidationFailed(f"claim {claim.claim_number}", [(
                    "renderer", f"the {identifier} form is not for {claim.kind.value} claims")])
        return identifier
    kinds = {claim.kind for claim in claims}
    for name in sorted(registered):
        if all(context.call(registered[name], "supports", kind) for kind in kinds):
            return name
    first = claims[0] if claims else None
    raise ValidationFailed(f"claim {first.claim_number}" if first else "claims", [(
        "renderer", "no enabled plugin prints claim forms for "
                    + " and ".join(sorted(kind.value for kind in kinds)) + " claims "
                    "(enable claim_forms_pdf)")])


def render_forms(work: UnitOfWork, claims: Sequence[BillableClaim], *, renderer: str | None,
                 layout: ClaimFormLayout) -> RenderedClaimForm:
    """``claims`` on their forms, in order, through the renderer hook."""
    context = work.app.hooks.context
    identifier = renderer_for(context, [bc.claim for bc in claims], renderer)
    if layout not in context.form_renderers[identifier].layouts:
        raise ValidationFailed(f"renderer {identifier}", [(
            "layout", f"the {identifier} form has no {layout.value} layout")])
    return work.app.hooks.render_claim_forms(claims=claims, renderer=identifier,
                                             layout=layout)


def render_claim_form(work: UnitOfWork, reference: str | int, *, renderer: str | None = None,
                      layout: ClaimFormLayout = ClaimFormLayout.FORM) -> RenderedClaimForm:
    """The claim (by id or number) on its paper form; audited. ``work`` must be writable
    (the audit record), its principal allowed to read claims."""
    work.require(Action.CLAIMS_READ)
    claim = work.claims.find(reference)
    billable = work.claims.billable(claim.id) if claim.id is not None else None
    if billable is None:
        raise NotFound("claim", reference)
    rendered = render_forms(work, [billable], renderer=renderer, layout=layout)
    audit.record(work.session, actor=work.actor, action="claim.form_rendered",
                 entity_type="claim", entity_id=claim.id,
                 details={"renderer": rendered.renderer, "layout": rendered.layout.value,
                          "pages": rendered.pages, "sha256": sha256(rendered.content),
                          "findings": len(rendered.findings)})
    return rendered


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def refuse_errors(rendered: RenderedClaimForm, record: str) -> None:
    """A form with an error finding (an amount that could not be printed) is not mailed.

    :raises ValidationFailed: naming the first such claim and box.
    """
    errors = [finding for finding in rendered.findings if finding.blocks_submission]
    if errors:
        raise ValidationFailed(record, [(
            f"claim {finding.claim_number} {finding.field or ''}".strip(), finding.message)
            for finding in errors])

"""What the core accepts from a hook or an adapter call, checked where it is received.

A plugin answering with the wrong type fails here, loudly, naming the plugin and the hook
(or the adapter and its method) and the *type* it returned -- never the value, which may
carry PHI -- instead of failing somewhere deeper, or, worse, being stored as nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar, cast

from medbill_core.domain import (
    ClaimFinding,
    ClaimStatusResponse,
    DecodedClaimFile,
    EligibilityResponse,
    InboundDocument,
    RenderedDocument,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.claim_forms import RenderedClaimForm
from medbill_core.errors import PluginError

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
K = TypeVar("K")


@dataclass(frozen=True)
class Expected(Generic[T_co]):
    """An accepted answer (of type ``T``): an instance of ``types`` (``many``: a list or
    tuple of them; ``optional``: ``None`` too). ``description`` completes "returned X, not
    ..."."""

    types: tuple[type, ...]
    description: str
    many: bool = False
    optional: bool = False

    def problem(self, value: object) -> str | None:
        """What was received, described by type, when it is not acceptable (else ``None``)."""
        if value is None:
            return None if self.optional else "None"
        if not self.many:
            return None if self._accepts(value) else type(value).__name__
        if not isinstance(value, (list, tuple)):
            return type(value).__name__
        wrong = sorted({type(item).__name__ for item in value if not self._accepts(item)})
        return f"a {type(value).__name__} holding {', '.join(wrong)}" if wrong else None

    def _accepts(self, value: object) -> bool:
        # bool is an int, and a float is never money: exact types only where it matters
        return isinstance(value, self.types) and not isinstance(value, bool)


def one(kind: type[K], description: str) -> Expected[K]:
    return Expected((kind,), description)


def one_or_none(kind: type[K], description: str) -> Expected[K | None]:
    return Expected((kind,), description, optional=True)


def many(kind: type[K], description: str) -> Expected[Sequence[K]]:
    return Expected((kind,), description, many=True)


#: An amount of money: a Decimal or nothing (a float is refused, money is never a float).
MONEY_OR_NONE = one_or_none(Decimal, "a Decimal amount or None (money is never a float)")


#: What each hook (and the adapter, channel or renderer method serving it) must answer.
ELIGIBILITY = one(EligibilityResponse, "an EligibilityResponse")
SUBMISSION_FILES = many(SubmissionFile, "a list of SubmissionFile")
RECEIPT = one(SubmissionReceipt, "a SubmissionReceipt")
DOCUMENTS = many(InboundDocument, "a list of InboundDocument")
CLAIM_STATUS = one(ClaimStatusResponse, "a ClaimStatusResponse")
RENDERED = one(RenderedDocument, "a RenderedDocument")
RENDERED_MANY = many(RenderedDocument, "a list of RenderedDocument")
DECODED_CLAIMS = one(DecodedClaimFile, "a DecodedClaimFile")
RENDERED_FORM = one(RenderedClaimForm, "a RenderedClaimForm")
FINDINGS = many(ClaimFinding, "a list of ClaimFinding")


def checked(value: object, expected: Expected[T], plugin: str, source: str) -> T:
    """``value`` when ``expected`` accepts it; else a :class:`PluginError` naming ``plugin``
    and ``source`` (``"medbill_encode_claims"``, ``"payer adapter 'acme': encode_claims"``)."""
    got = expected.problem(value)
    if got is not None:
        raise PluginError(plugin, f"{source} returned {got}, not {expected.description}")
    return cast(T, value)

"""The one domain error hierarchy every caller of medbill sees.

Rules for every message in this module's exceptions:

* it is safe to show to a user and to write to a log: it names records by
  internal identifier (claim id, patient id, row number) and fields by name,
  and never carries PHI (names, dates of birth, member IDs, addresses);
* it says what is wrong and, where useful, what was expected.

Plugins raise these (or subclasses) instead of their own exception types; the
plugin facade wraps anything else a plugin raises in :class:`PluginError`.
"""

from __future__ import annotations


class MedbillError(Exception):
    """Base of every error medbill reports to a user."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(MedbillError):
    """The configuration file, an environment override or a plugin's settings are invalid."""

    exit_code = 2


class PluginError(MedbillError):
    """A plugin failed to load, is misconfigured, or raised while serving a hook."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin


class ValidationFailed(MedbillError):
    """Input data failed validation.

    :param record: internal reference of the record (``"patient P-12"``, ``"row 4"``).
    :param problems: ``(field, reason)`` pairs; reasons never echo the input value.
    """

    def __init__(self, record: str, problems: list[tuple[str, str]]) -> None:
        self.record = record
        self.problems = problems
        detail = "; ".join(f"{field}: {reason}" for field, reason in problems)
        super().__init__(f"{record}: {detail}")


class NotFound(MedbillError):
    """A record referenced by identifier does not exist.

    :param message: said instead of ``"<kind> <identifier> not found"`` when the identifier
        is text a user typed that may be PHI (a patient's name typed where an account number
        goes): the message must not repeat it.
    """

    def __init__(self, kind: str, identifier: object, *, message: str | None = None) -> None:
        super().__init__(message if message is not None else f"{kind} {identifier} not found")
        self.kind = kind
        self.identifier = identifier


class IllegalTransition(MedbillError):
    """A claim was asked to move to a state its current state does not allow."""

    def __init__(self, claim_id: object, current: str, target: str, allowed: list[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (terminal state)"
        super().__init__(
            f"claim {claim_id}: cannot move from {current!r} to {target!r}; allowed: {allowed_text}"
        )
        self.claim_id = claim_id
        self.current = current
        self.target = target


class LedgerError(MedbillError):
    """A posting would break a ledger rule (for example an unannounced negative balance)."""


class DuplicatePosting(LedgerError):
    """The same source document was already posted; nothing was written again."""


class UnknownPayer(MedbillError):
    """A payer key is not configured."""

    def __init__(self, payer_key: str) -> None:
        super().__init__(f"payer {payer_key!r} is not configured (see [payers] in medbill.toml)")
        self.payer_key = payer_key


class AdapterNotAvailable(MedbillError):
    """No enabled plugin provides the adapter, channel or renderer that was asked for."""


class SubmissionError(MedbillError):
    """A submission could not be encoded or delivered.

    :param claim_number: the one claim the error is about, when it is about one: an adapter
        whose :meth:`~medbill_core.adapters.PayerAdapter.encode_claims` cannot encode a claim
        names it here, and the core takes that claim out of the batch (back to draft, the
        message as the reason) and encodes the others (since plugin API 1.8).
    """

    def __init__(self, message: str, *, claim_number: str | None = None) -> None:
        super().__init__(message)
        self.claim_number = claim_number


class DecodeError(MedbillError):
    """A received document could not be decoded.

    X12-specific subclasses add the segment position.
    """


class NotAuthenticated(MedbillError):
    """No valid credentials: an unknown, revoked or expired API key, a wrong password, a
    locked or disabled account. The message never says which of these it was."""

    exit_code = 3


class PermissionDenied(MedbillError):
    """The authenticated user or key may not perform this action (its role lacks it) or may
    not act in this practice. The message names the action and the role, nothing else."""

    exit_code = 3


class GatewayError(SubmissionError):
    """A payment gateway could not be reached, or refused a request (not a decline: a
    declined card is a failed payment). The message names the gateway, never card data.

    :param refused: the gateway answered and refused the request (a 4xx: it did nothing and
        stored that answer under the request's idempotency key); ``False`` (the default):
        it could not be reached, timed out or failed (a 5xx), and may have done it, so a
        retry must send the same key. Since plugin API 1.9.
    """

    def __init__(self, message: str, *, claim_number: str | None = None,
                 refused: bool = False) -> None:
        super().__init__(message, claim_number=claim_number)
        self.refused = refused


class WebhookRefused(MedbillError):
    """A received webhook whose signature or timestamp does not verify: nothing was done."""

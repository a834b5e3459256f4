"""Patient financing providers: the base class a health care credit plugin implements.

A practice refers a guarantor who cannot pay the balance at once to a lender (a health care
credit card or an instalment loan); the lender decides on the application and, when it
approves, pays the practice the approved amount and collects from the applicant. The common
lenders publish no API: a plugin wraps whatever the practice's lender offers (a partner API, a
portal driven by staff), and the mock (plugins/payments_mock) records the referral and the
decision that comes back.

A plugin registers :class:`FinancingProvider` instances through
:func:`~medbill_core.hookspecs.medbill_register_financing_providers`; the installation names
the one it refers to (``[medbill] financing_provider = "mock"``). The core's financing service
(:mod:`medbill_core.services.financing`) refers, takes the decision from the provider's
signed callback (:meth:`FinancingProvider.verify_callback`) or a poll
(:meth:`FinancingProvider.check_application`), whichever comes first, and posts the approved
amount once as a patient payment from the lender.

What goes to the provider (:class:`FinancingRequest`) is what a lender needs to invite the
applicant to apply and nothing else: the applicant's (the guarantor's) name and the contact
the applicant agreed to be reached at, the amount, the practice's name and our random
reference. Never the patient's identity when the patient is not the applicant, a birth date,
a member id, an address, a diagnosis, a procedure or a date of service: the lender asks the
applicant for its credit data itself.

Money is :class:`decimal.Decimal` dollars with cents, in and out. Errors are
:class:`FinancingError` (one line, no applicant data).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from medbill_core.errors import SubmissionError

__all__ = ["FinancingDecision", "FinancingError", "FinancingProvider", "FinancingRequest",
           "FinancingStatus"]


class FinancingStatus(StrEnum):
    """Where an application stands at the lender."""

    #: received, not decided yet (the applicant has not finished applying)
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    #: the applicant never finished, or an approval was not used in time
    EXPIRED = "expired"


@dataclass(frozen=True)
class FinancingRequest:
    """A referral to send.

    :param reference: our random reference (``fin_...``), names nobody.
    :param amount: what the practice asks the lender to finance (Decimal, > 0).
    :param applicant_first_name: the guarantor's first name (the applicant).
    :param applicant_last_name: the guarantor's last name.
    :param applicant_email: the e-mail the applicant agreed to be reached at, if any.
    :param applicant_phone: the phone number (ten digits) likewise, if any.
    :param practice_name: the practice the applicant owes (the lender's merchant).
    :param idempotency_key: the same for a retry of the same referral.
    """

    reference: str
    amount: Decimal
    applicant_first_name: str
    applicant_last_name: str
    applicant_email: str | None
    applicant_phone: str | None
    practice_name: str
    idempotency_key: str


@dataclass(frozen=True)
class FinancingDecision:
    """An application as the lender reports it.

    ``approved_amount`` is set when ``status`` is approved (it may be less than asked);
    ``merchant_fee`` is what the lender keeps of it (its discount to the practice), when it
    reports one.
    """

    application_id: str
    status: FinancingStatus
    #: the lender's name, as the payer of the payment it makes (``Mock Health Credit``)
    lender_name: str
    approved_amount: Decimal | None = None
    merchant_fee: Decimal | None = None
    #: the lender's words for a decline (no credit data)
    decline_reason: str | None = None
    #: our reference, as the lender returns it
    reference: str | None = None


class FinancingError(SubmissionError):
    """The provider is unreachable or refused a request (one line, no applicant data): as a
    gateway's error, a request to an outside party that did not go through."""


class FinancingProvider:
    """A patient financing lender. Subclass it, set :attr:`identifier` and
    :attr:`verbose_name`, implement :meth:`refer` and :meth:`check_application`, and
    :meth:`verify_callback` when the lender calls back.

    .. versionadded:: 1.5
    """

    #: Unique, stable, lower-case name used in configuration (``financing_provider = "mock"``).
    identifier: ClassVar[str] = ""
    #: Human-readable name for listings.
    verbose_name: ClassVar[str] = ""

    def refer(self, request: FinancingRequest) -> FinancingDecision:
        """Send a referral; the answer is usually ``pending`` (the applicant applies at the
        lender), or already decided."""
        raise FinancingError(f"financing provider {self.identifier!r} cannot take referrals")

    def check_application(self, application_id: str) -> FinancingDecision:
        """The application as the lender has it now (a poll)."""
        raise FinancingError(f"financing provider {self.identifier!r} cannot be polled")

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> FinancingDecision:
        """Turn a received callback (raw body, header names lower case) into a verified
        decision.

        :raises WebhookRefused: the signature or its timestamp does not verify.
        """
        from medbill_core.errors import WebhookRefused

        raise WebhookRefused(f"financing provider {self.identifier!r} sends no callbacks")

"""The letter that tells a guarantor the decision on a financial-assistance application.

Plain text, addressed to the guarantor (their name and mailing address: what a letter needs,
nothing more -- no patient names, birth dates or dates of service, no income figure). An
approval says the discount, the percent of the poverty guidelines it rests on and the dates
of service it covers; a denial gives the reason and how to apply again; a revocation says
from when the discount no longer holds. A pending application has no letter yet.
"""

from __future__ import annotations

import textwrap
from datetime import date

from medbill_core.app import UnitOfWork
from medbill_core.domain import Address
from medbill_core.errors import ValidationFailed
from medbill_core.permissions import Action
from medbill_core.services.financial_assistance import (
    Application,
    ApplicationStatus,
    get_application,
)
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.practices import practice_profile

WIDTH = 78


def _address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    return address.mailing_lines()


def _long(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _paragraphs(*texts: str) -> list[str]:
    lines: list[str] = []
    for text in texts:
        lines += [*textwrap.wrap(text, WIDTH), ""]
    return lines


def _body(application: Application) -> list[str]:
    number = f"application {application.id}"
    if application.status is ApplicationStatus.APPROVED:
        assert application.effective_from is not None and application.expires_on is not None
        tier = application.tier
        what = (f"you will owe a nominal fee of ${tier.nominal_fee} for each visit and no "
                "more" if tier.nominal_fee is not None else
                f"your share of the bill will be reduced by {tier.discount_percent:f}%")
        return _paragraphs(
            f"We are pleased to tell you that your financial assistance {number} is "
            f"approved. Your household income is {application.percent_of_guideline}% of the "
            f"{application.guideline_year} federal poverty guidelines for a household of "
            f"{application.household_size}.",
            f"For care received from {_long(application.effective_from)} through "
            f"{_long(application.expires_on)}, {what}. This applies to what you owe after "
            "insurance, for everyone in your household whose bills come to you. Any discount "
            "on visits already billed appears on your next statement.",
            "Please apply again before this approval ends if you still need help, or tell "
            "us if your household or income changes.")
    if application.status is ApplicationStatus.DENIED:
        return _paragraphs(
            f"We reviewed your financial assistance {number} and are unable to approve it.",
            f"Reason: {application.decision_reason or 'not given'}.",
            "You may apply again at any time, for example if your household or income "
            "changes. Please call our billing office if you have questions or would like to "
            "discuss a payment plan.")
    if application.status is ApplicationStatus.REVOKED:
        assert application.revoked_on is not None
        return _paragraphs(
            f"The financial assistance approved under {number} was withdrawn on "
            f"{_long(application.revoked_on)}.",
            f"Reason: {application.decision_reason or 'not given'}.",
            "Discounts given under it no longer apply, and your next statement shows the "
            "balance you owe. Please call our billing office to discuss a payment plan or to "
            "apply again.")
    raise ValidationFailed(f"assistance application {application.id}", [
        ("status", "is pending; a letter follows the decision")])


def decision_letter(work: UnitOfWork, application_id: int, *,
                    on: date | None = None) -> str:
    """The letter for an application's decision, as text.

    :raises NotFound: no such application.
    :raises ValidationFailed: the application is still pending.
    """
    work.require(Action.ASSISTANCE_READ)
    application = get_application(work, application_id)
    body = _body(application)
    practice = practice_profile(work)
    guarantor = GuarantorService(work.session, actor=work.actor).get(
        application.guarantor_id)
    lines = [practice.name, *_address_lines(practice.address)]
    if practice.phone:
        lines.append(f"Phone {practice.phone}")
    lines += ["", _long(on or date.today()), "", guarantor.display_name,
              *_address_lines(guarantor.address), "",
              f"Re: financial assistance application {application.id}", "",
              f"Dear {guarantor.display_name},", "", *body, "Sincerely,", "",
              f"Billing office, {practice.name}"]
    return "\n".join(lines) + "\n"

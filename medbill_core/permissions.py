"""What each role may do: one table, role x action, read by the services, the HTTP API and
the documentation alike (``docs/users-and-roles.md`` prints :func:`permission_table_markdown`).

An :class:`Action` names one verb of the service layer (every command of the CLI that reads or
changes a practice's records maps onto one). The table :data:`PERMISSIONS` says, per action,
which roles may perform it; :func:`allowed` reads it and :func:`require` refuses with
:class:`~medbill_core.errors.PermissionDenied`. Commands that act on the installation rather
than on a practice's records (``init``, ``db``, ``plugins``, ``worker``, ``demo``) belong to
whoever runs the installation (its operating-system account), not to a role.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from medbill_core.domain.identity import Principal, Role
from medbill_core.errors import PermissionDenied


class Action(StrEnum):
    """A verb of the service layer, ``area.verb``. A ``*.read`` action never writes."""

    PRACTICES_READ = "practices.read"
    PRACTICES_MANAGE = "practices.manage"
    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"
    KEYS_READ = "keys.read"
    KEYS_MANAGE = "keys.manage"
    WEBHOOKS_READ = "webhooks.read"
    WEBHOOKS_MANAGE = "webhooks.manage"
    AUDIT_READ = "audit.read"

    PATIENTS_READ = "patients.read"
    PATIENTS_WRITE = "patients.write"
    PATIENTS_MERGE = "patients.merge"
    COVERAGES_READ = "coverages.read"
    COVERAGES_WRITE = "coverages.write"
    GUARANTORS_READ = "guarantors.read"
    GUARANTORS_WRITE = "guarantors.write"
    PROVIDERS_READ = "providers.read"
    PROVIDERS_WRITE = "providers.write"
    ELIGIBILITY_CHECK = "eligibility.check"
    ESTIMATES_CREATE = "estimates.create"

    CLAIMS_READ = "claims.read"
    CLAIMS_WRITE = "claims.write"
    CLAIMS_IMPORT = "claims.import"
    CLAIMS_SUBMIT = "claims.submit"
    CLAIMS_STATUS = "claims.status"
    CLAIMS_CORRECT = "claims.correct"
    CLAIMS_VOID = "claims.void"
    RESPONSES_FETCH = "responses.fetch"
    REMITTANCE_READ = "remittance.read"
    REMITTANCE_POST = "remittance.post"
    REMITTANCE_RESOLVE = "remittance.resolve"
    DENIALS_READ = "denials.read"
    DENIALS_WORK = "denials.work"
    DENIALS_WRITE_OFF = "denials.write_off"
    APPEALS_READ = "appeals.read"
    APPEALS_WRITE = "appeals.write"

    PAYMENTS_READ = "payments.read"
    PAYMENTS_POST = "payments.post"
    PAYMENTS_REFUND = "payments.refund"
    PLANS_READ = "plans.read"
    PLANS_WRITE = "plans.write"
    PAY_LINKS_READ = "pay_links.read"
    PAY_LINKS_ISSUE = "pay_links.issue"
    ASSISTANCE_READ = "assistance.read"
    ASSISTANCE_APPLY = "assistance.apply"
    ASSISTANCE_DECIDE = "assistance.decide"
    STATEMENTS_READ = "statements.read"
    STATEMENTS_RUN = "statements.run"
    COLLECTIONS_READ = "collections.read"
    COLLECTIONS_PLACE = "collections.place"
    COLLECTIONS_MANAGE = "collections.manage"
    WRITEOFFS_READ = "writeoffs.read"
    WRITEOFFS_REQUEST = "writeoffs.request"
    WRITEOFFS_APPROVE = "writeoffs.approve"
    REPORTS_READ = "reports.read"
    RECEIVABLES_RESOLVE = "receivables.resolve"

    FEES_READ = "fees.read"
    FEES_LOAD = "fees.load"
    CODES_READ = "codes.read"
    CODES_LOAD = "codes.load"
    CODING_AUDIT_READ = "coding_audit.read"
    CODING_AUDIT_WRITE = "coding_audit.write"
    JOBS_READ = "jobs.read"
    JOBS_RUN = "jobs.run"

    QUEUES_READ = "queues.read"
    QUEUES_WORK = "queues.work"
    QUEUES_MANAGE = "queues.manage"

    ACCOUNTING_READ = "accounting.read"
    ACCOUNTING_EXPORT = "accounting.export"

    NOTIFICATIONS_READ = "notifications.read"
    NOTIFICATIONS_SEND = "notifications.send"
    FINANCING_READ = "financing.read"
    FINANCING_REFER = "financing.refer"

    @property
    def is_read(self) -> bool:
        return self.value.endswith(".read")


ADMIN, MANAGER, BILLER, FRONT, AUDITOR = (Role.ADMINISTRATOR, Role.BILLING_MANAGER, Role.BILLER,
                                          Role.FRONT_DESK, Role.AUDITOR)
EVERYONE = frozenset(Role)


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


#: THE table: action -> the roles that may perform it. The administrator may do everything.
#: The billing manager runs the billing team: everything but who may sign in (users, keys),
#: the practices themselves and what is shared by every practice of the installation (code
#: sets); reading the audit trail is left to the administrator and the auditor (whoever is
#: audited should not be the one reviewing the trail). Segregation of duties puts money that
#: leaves or is forgiven (refunds, write-offs, voids) and irreversible record surgery (merges)
#: with the manager, not the biller who posted it. The front desk registers patients and takes
#: money at the window; the auditor reads everything and changes nothing.
PERMISSIONS: Mapping[Action, frozenset[Role]] = {
    # -- the installation and who may sign in
    # every member sees which practice it works in
    Action.PRACTICES_READ: EVERYONE,
    # a practice is a tenant of the installation: creating or closing one is the operator's
    Action.PRACTICES_MANAGE: _roles(ADMIN),
    # who has access is reviewed by the manager (the team) and the auditor (HIPAA access review)
    Action.USERS_READ: _roles(ADMIN, MANAGER, AUDITOR),
    # granting access is the one power that grants every other: administrators only
    Action.USERS_MANAGE: _roles(ADMIN),
    Action.KEYS_READ: _roles(ADMIN, MANAGER, AUDITOR),
    # a key is an integration's password, often with a broad role: administrators only
    Action.KEYS_MANAGE: _roles(ADMIN),
    Action.WEBHOOKS_READ: _roles(ADMIN, MANAGER, AUDITOR),
    # where claim events are sent (a vendor's URL): the manager runs the integrations
    Action.WEBHOOKS_MANAGE: _roles(ADMIN, MANAGER),
    # the trail shows what everyone did: its reviewers are not the people it records at work
    Action.AUDIT_READ: _roles(ADMIN, AUDITOR),
    # -- registration
    Action.PATIENTS_READ: EVERYONE,
    # registration is the front desk's job; billers fix demographics a payer rejected
    Action.PATIENTS_WRITE: _roles(ADMIN, MANAGER, BILLER, FRONT),
    # a merge moves claims, ledger and coverages between records: hard to undo
    Action.PATIENTS_MERGE: _roles(ADMIN, MANAGER),
    Action.COVERAGES_READ: EVERYONE,
    Action.COVERAGES_WRITE: _roles(ADMIN, MANAGER, BILLER, FRONT),
    Action.GUARANTORS_READ: EVERYONE,
    Action.GUARANTORS_WRITE: _roles(ADMIN, MANAGER, BILLER, FRONT),
    Action.PROVIDERS_READ: EVERYONE,
    # NPIs and taxonomies are credentialing data: wrong ones reject every claim
    Action.PROVIDERS_WRITE: _roles(ADMIN, MANAGER),
    # a 270 goes to the payer: checked at check-in and again before billing
    Action.ELIGIBILITY_CHECK: _roles(ADMIN, MANAGER, BILLER, FRONT),
    # the good-faith estimate is given at scheduling or check-in
    Action.ESTIMATES_CREATE: _roles(ADMIN, MANAGER, BILLER, FRONT),
    # -- claims and the payer's answers
    # the front desk answers "did you bill my insurance?"
    Action.CLAIMS_READ: EVERYONE,
    # import, edit drafts, scrub, reopen a rejected claim, delete a draft never sent
    Action.CLAIMS_WRITE: _roles(ADMIN, MANAGER, BILLER),
    # creates patients, coverages and providers as well as claims: whoever enters claims
    Action.CLAIMS_IMPORT: _roles(ADMIN, MANAGER, BILLER),
    Action.CLAIMS_SUBMIT: _roles(ADMIN, MANAGER, BILLER),
    Action.CLAIMS_STATUS: _roles(ADMIN, MANAGER, BILLER),
    # a replacement claim (frequency 7) is routine rework after a denial
    Action.CLAIMS_CORRECT: _roles(ADMIN, MANAGER, BILLER),
    # a void asks the payer to take its payment back: the manager decides
    Action.CLAIMS_VOID: _roles(ADMIN, MANAGER),
    Action.RESPONSES_FETCH: _roles(ADMIN, MANAGER, BILLER),
    Action.REMITTANCE_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    Action.REMITTANCE_POST: _roles(ADMIN, MANAGER, BILLER),
    # closing an 835 exception after matching it by hand is daily posting work
    Action.REMITTANCE_RESOLVE: _roles(ADMIN, MANAGER, BILLER),
    Action.DENIALS_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    # appeal, resend, move a PR amount to the patient: working the denial queue
    Action.DENIALS_WORK: _roles(ADMIN, MANAGER, BILLER),
    # forgiving money the payer owes: approved by the manager, never by who worked the claim
    Action.DENIALS_WRITE_OFF: _roles(ADMIN, MANAGER),
    Action.APPEALS_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    Action.APPEALS_WRITE: _roles(ADMIN, MANAGER, BILLER),
    # -- patient money
    # the front desk sees what a patient paid before asking for more
    Action.PAYMENTS_READ: EVERYONE,
    # copays at the window, checks in the mail, credits applied to open balances
    Action.PAYMENTS_POST: _roles(ADMIN, MANAGER, BILLER, FRONT),
    # money leaving the practice (refunds) or taken back (a returned check)
    Action.PAYMENTS_REFUND: _roles(ADMIN, MANAGER),
    Action.PLANS_READ: EVERYONE,
    # a payment plan is agreed with the patient at checkout or on the phone with billing
    Action.PLANS_WRITE: _roles(ADMIN, MANAGER, BILLER, FRONT),
    Action.PAY_LINKS_READ: _roles(ADMIN, MANAGER, BILLER, FRONT, AUDITOR),
    # a link (and revoking one) is handed to a patient at the window or on the phone
    Action.PAY_LINKS_ISSUE: _roles(ADMIN, MANAGER, BILLER, FRONT),
    # a household's income is private: the people who take and review applications
    Action.ASSISTANCE_READ: _roles(ADMIN, MANAGER, BILLER, FRONT, AUDITOR),
    # the front desk takes applications and the income documents at the window
    Action.ASSISTANCE_APPLY: _roles(ADMIN, MANAGER, BILLER, FRONT),
    # approving forgives patient balances (a write-off), and the schedule sets how much
    Action.ASSISTANCE_DECIDE: _roles(ADMIN, MANAGER),
    # who was texted or e-mailed a statement's link, and whether it went out
    Action.NOTIFICATIONS_READ: _roles(ADMIN, MANAGER, BILLER, FRONT, AUDITOR),
    # sending the outbox now, or a link by hand, is the billing office's
    Action.NOTIFICATIONS_SEND: _roles(ADMIN, MANAGER, BILLER),
    Action.FINANCING_READ: _roles(ADMIN, MANAGER, BILLER, FRONT, AUDITOR),
    # financing is offered at checkout or on the phone; the lender's approval posts as a
    # payment, as a check in the mail would
    Action.FINANCING_REFER: _roles(ADMIN, MANAGER, BILLER, FRONT),
    Action.STATEMENTS_READ: _roles(ADMIN, MANAGER, BILLER, FRONT, AUDITOR),
    Action.STATEMENTS_RUN: _roles(ADMIN, MANAGER, BILLER),
    Action.COLLECTIONS_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    # sending an account to a collection agency (or recalling it) is a manager's decision: it
    # ends the practice's own statements and hands the patient to a third party
    Action.COLLECTIONS_PLACE: _roles(ADMIN, MANAGER),
    # which agencies the practice uses and the share they keep: the practice's contracts
    Action.COLLECTIONS_MANAGE: _roles(ADMIN, MANAGER),
    Action.WRITEOFFS_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    # the biller asks (a small balance under the practice's limit is approved by the policy)
    Action.WRITEOFFS_REQUEST: _roles(ADMIN, MANAGER, BILLER),
    # forgiving a patient's debt: a manager, never whoever asked (the service refuses that)
    Action.WRITEOFFS_APPROVE: _roles(ADMIN, MANAGER),
    # A/R aging, follow-up lists, remittance exceptions, the coding report
    Action.REPORTS_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    # closing an underpayment finding on the follow-up list
    Action.RECEIVABLES_RESOLVE: _roles(ADMIN, MANAGER, BILLER),
    # -- reference data
    # contracted rates are the practice's business secrets: not the front desk's to browse
    Action.FEES_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    # a contract's prices decide every underpayment finding: the manager loads them
    Action.FEES_LOAD: _roles(ADMIN, MANAGER),
    Action.CODES_READ: EVERYONE,
    # code sets are shared by every practice of the installation
    Action.CODES_LOAD: _roles(ADMIN),
    Action.CODING_AUDIT_READ: _roles(ADMIN, MANAGER, AUDITOR),
    # reviewing coders' work is a compliance task, not the coders' own
    Action.CODING_AUDIT_WRITE: _roles(ADMIN, MANAGER),
    Action.JOBS_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    Action.JOBS_RUN: _roles(ADMIN, MANAGER, BILLER),
    # -- work queues (issue 16). The queues show insurance A/R, denials and collections, which
    # the front desk does not read (reports, denials, collections): not theirs. The auditor
    # reads them and changes nothing.
    Action.QUEUES_READ: _roles(ADMIN, MANAGER, BILLER, AUDITOR),
    # take an item, note it, snooze it: the biller's own day
    Action.QUEUES_WORK: _roles(ADMIN, MANAGER, BILLER),
    # hand work to others and see each person's output: whoever runs the team
    Action.QUEUES_MANAGE: _roles(ADMIN, MANAGER),
    # -- the accounting export (issue 18): the books are the manager's; the auditor reads
    # what was exported and when
    Action.ACCOUNTING_READ: _roles(ADMIN, MANAGER, AUDITOR),
    # an IIF import cannot be undone, and the chart of accounts decides where money lands
    Action.ACCOUNTING_EXPORT: _roles(ADMIN, MANAGER),
}


def allowed(role: Role, action: Action) -> bool:
    """Whether ``role`` may perform ``action`` (an action missing from the table: nobody)."""
    return role in PERMISSIONS.get(action, frozenset())


def require(principal: Principal, action: Action) -> None:
    """Refuse unless the principal's role allows ``action``.

    :raises PermissionDenied: ``"<role> may not <action>"`` (nothing about the records).
    """
    if not allowed(principal.role, action):
        raise PermissionDenied(f"{principal.role.value} may not {action.value}")


def role_label(role: Role) -> str:
    """``billing_manager`` as a heading: ``billing manager``."""
    return role.value.replace("_", " ")


def permission_table_markdown() -> str:
    """The table as Markdown, one row per action (the docs page prints it; a test keeps them
    equal)."""
    roles = list(Role)
    lines = ["| action | " + " | ".join(role_label(role) for role in roles) + " |",
             "|---|" + "---|" * len(roles)]
    for action in Action:
        marks = " | ".join("yes" if allowed(role, action) else "-" for role in roles)
        lines.append(f"| `{action.value}` | {marks} |")
    return "\n".join(lines) + "\n"

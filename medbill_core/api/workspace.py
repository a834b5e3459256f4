"""What a plugin that shows the practice's records to people (the workspace's pages, hook
``medbill_register_routes``) uses of the core: the services it calls, the roles and actions
it shows or hides buttons by, and the instance a request's app serves.

The pages call the same services as the CLI and the HTTP API (the services are the only
place business rules live), inside a unit of work opened for the signed-in principal:
``with medbill_of(request).unit_of_work(principal=principal) as work: ...``. The service
checks the role and scopes every query to the principal's practice; a page only decides
what to show.

Same stability promise as :mod:`medbill_core.api`. Importing this module is cheap; each name
is imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api._lazy import homes_by_name, lazy_attributes

if TYPE_CHECKING:  # what type checkers and editors see; at run time _EXPORTS is read
    # -- the instance, who acts, what they may do
    from medbill_core.app import Medbill, UnitOfWork
    from medbill_core.domain.identity import Principal, PrincipalKind, Role
    from medbill_core.http.auth import medbill_of, session_policy
    from medbill_core.permissions import Action, allowed

    # isort: split
    # -- the shell: sign-in, practices (workspace_web's layout)
    # (each section's imports sorted on their own: "isort: split" above each)
    from medbill_core.errors import NotAuthenticated, PermissionDenied
    from medbill_core.http.app import create_app
    from medbill_core.services.identity import (
        AUTHENTICATION_FAILED,
        add_practice,
        add_user,
        grant,
    )
    from medbill_core.services.sessions import (
        Membership,
        NewSession,
        SessionPolicy,
        memberships,
        switch_practice,
    )
    from medbill_core.services.sessions import login as sign_in
    from medbill_core.services.sessions import logout as sign_out
    from medbill_core.services.sessions import resume as resume_session
    from medbill_core.services.workspace_search import (
        ClaimSearchRow,
        PatientSearchRow,
        search_claims,
        search_patients,
    )

    # isort: split
    # -- work queues
    from medbill_core.services.remittance import post_remittance
    from medbill_core.services.work_item_actions import Resent, correct_and_resend
    from medbill_core.services.work_item_actions import appeal as appeal_work_item
    from medbill_core.services.work_item_actions import resolve as resolve_work_item
    from medbill_core.services.work_item_actions import status_check as status_check_work_item
    from medbill_core.services.work_item_actions import (
        transfer_to_patient as transfer_work_item,
    )
    from medbill_core.services.work_item_actions import write_off as write_off_work_item
    from medbill_core.services.work_queue_sources import NextAction, Queue
    from medbill_core.services.work_queues import (
        PRIORITY_RULE,
        Productivity,
        QueueFilter,
        QueueSummary,
        WorkItem,
        read_queue,
        read_summaries,
    )
    from medbill_core.services.work_queues import Note as WorkItemNote
    from medbill_core.services.work_queues import add_note as add_work_item_note
    from medbill_core.services.work_queues import assign as assign_work_items
    from medbill_core.services.work_queues import get_item as get_work_item
    from medbill_core.services.work_queues import notes as work_item_notes
    from medbill_core.services.work_queues import productivity as queue_productivity
    from medbill_core.services.work_queues import snooze as snooze_work_items
    # isort: split
    # -- KPIs and the dashboard
    from medbill_core.services.kpi import (
        CSV_COLUMNS,
        DEFINITIONS,
        PAYER_MIX_DEFINITION,
        ROUNDING,
        Figure,
        Kpi,
        KpiClaim,
        KpiReport,
        Part,
        Point,
        Unit,
        check_period,
        display,
        display_quantity,
        kpi_claims,
        kpi_of,
        kpi_report,
    )
    # -- the claim page and the patient account page
    # isort: split
    from medbill_core.http.resources.statement_runs import statements_dir
    from medbill_core.services.api_records import StatementFileGone, statement_document
    from medbill_core.services.claim_documents import (
        ClaimDocument,
        claim_documents,
        document_content,
    )
    from medbill_core.services.claim_page import (
        AvailableAction,
        ClaimAction,
        ClaimPage,
        claim_page,
    )
    from medbill_core.services.claim_status import check_claim_status
    from medbill_core.services.denials import appeal as appeal_denial
    from medbill_core.services.denials import (
        get_denial,
        mark_resend,
        transfer_to_patient,
        write_off,
    )
    from medbill_core.services.notifications import (
        ContactChoice,
        ContactPreference,
        account_key_of,
        addressee_preference,
        set_contact_preference,
    )
    from medbill_core.services.patient_account import (
        InstallmentStatus,
        PatientAccount,
        patient_account,
    )
    from medbill_core.services.payments import (
        DuplicatePayment,
        Overpayment,
        new_plan,
        record_payment,
    )
    from medbill_core.services.scrubbing import scrub_claims
    from medbill_core.services.submission import submit as submit_claims
    # isort: split
    # -- the patient pay page (issue 18; API 1.5)
    from medbill_core.services.card_payments import CardPaymentStatus
    from medbill_core.services.pay_links import (
        PAGE_PATH,
        IssuedLink,
        LinkProblem,
        PayLinkUnusable,
        issue_link,
        normalize_code,
    )
    from medbill_core.services.pay_visits import (
        RETURN_PATH,
        Balance,
        BirthDateCheck,
        CheckOutcome,
        PatientBalance,
        PlanChoice,
        StartedPayment,
        Visit,
        balance_of,
        check_birth_date,
        csrf_token,
        end_visit,
        enrol_plan,
        finish_payment,
        open_visit,
        plan_choices,
        start_payment,
        visit_of,
    )

#: Each public name by its home module (``"attribute as name"`` renames).
_EXPORTS: dict[str, tuple[str, ...]] = {
    # -- the instance, who acts, what they may do
    "medbill_core.app": ("Medbill", "UnitOfWork"),
    "medbill_core.domain.identity": ("Principal", "PrincipalKind", "Role"),
    # (session_policy, PrincipalKind: the shell's, here since a dict names each home once)
    "medbill_core.http.auth": ("medbill_of", "session_policy"),
    "medbill_core.permissions": ("Action", "allowed"),
    # -- the shell: sign-in, practices (workspace_web's layout)
    "medbill_core.errors": ("NotAuthenticated", "PermissionDenied"),
    "medbill_core.http.app": ("create_app",),
    "medbill_core.services.sessions": ("Membership", "NewSession", "SessionPolicy", "memberships",
                                       "switch_practice", "login as sign_in",
                                       "logout as sign_out", "resume as resume_session"),
    # (users and practices: the workspace's test harness seeds them as an administrator would)
    "medbill_core.services.identity": ("AUTHENTICATION_FAILED", "add_practice", "add_user",
                                       "grant"),
    "medbill_core.services.workspace_search": ("ClaimSearchRow", "PatientSearchRow",
                                               "search_claims", "search_patients"),

    # -- work queues
    "medbill_core.services.work_queue_sources": ("NextAction", "Queue"),
    # (the queues' page tests post a payer's answer (an 835's claim payment) to deny claims)
    "medbill_core.services.remittance": ("post_remittance",),
    "medbill_core.services.work_queues": (
        "PRIORITY_RULE", "Note as WorkItemNote", "Productivity", "QueueFilter",
        "QueueSummary", "WorkItem", "add_note as add_work_item_note",
        "assign as assign_work_items", "get_item as get_work_item",
        "notes as work_item_notes", "productivity as queue_productivity", "read_queue",
        "read_summaries", "snooze as snooze_work_items"),
    "medbill_core.services.work_item_actions": (
        "Resent", "appeal as appeal_work_item", "correct_and_resend",
        "resolve as resolve_work_item", "status_check as status_check_work_item",
        "transfer_to_patient as transfer_work_item", "write_off as write_off_work_item"),

    # -- KPIs and the dashboard
    "medbill_core.services.kpi": (
        "CSV_COLUMNS", "DEFINITIONS", "PAYER_MIX_DEFINITION", "ROUNDING", "Figure", "Kpi",
        "KpiClaim", "KpiReport", "Part", "Point", "Unit", "check_period", "display",
        "display_quantity",
        "kpi_claims", "kpi_of", "kpi_report"),

    # -- the claim page and the patient account page
    "medbill_core.http.resources.statement_runs": ("statements_dir",),
    "medbill_core.services.api_records": ("StatementFileGone", "statement_document"),
    "medbill_core.services.claim_documents": ("ClaimDocument", "claim_documents",
                                              "document_content"),
    "medbill_core.services.claim_page": ("AvailableAction", "ClaimAction", "ClaimPage",
                                         "claim_page"),
    "medbill_core.services.claim_status": ("check_claim_status",),
    "medbill_core.services.denials": ("appeal as appeal_denial", "get_denial", "mark_resend",
                                      "transfer_to_patient", "write_off"),
    "medbill_core.services.patient_account": ("InstallmentStatus", "PatientAccount",
                                              "patient_account"),
    "medbill_core.services.notifications": ("ContactChoice", "ContactPreference",
                                            "account_key_of", "addressee_preference",
                                            "set_contact_preference"),
    "medbill_core.services.payments": ("DuplicatePayment", "Overpayment", "new_plan",
                                       "record_payment"),
    "medbill_core.services.scrubbing": ("scrub_claims",),
    "medbill_core.services.submission": ("submit as submit_claims",),

    # -- the patient pay page (issue 18; API 1.5)
    "medbill_core.services.card_payments": ("CardPaymentStatus",),
    "medbill_core.services.pay_links": (
        "IssuedLink", "LinkProblem", "PAGE_PATH", "PayLinkUnusable", "issue_link",
        "normalize_code"),
    "medbill_core.services.pay_visits": (
        "Balance", "BirthDateCheck", "CheckOutcome", "PatientBalance", "PlanChoice", "RETURN_PATH",
        "StartedPayment", "Visit", "balance_of", "check_birth_date", "csrf_token", "end_visit",
        "enrol_plan", "finish_payment", "open_visit", "plan_choices", "start_payment", "visit_of"),
}

# in sections, one per part of issue 16 (parts merge without touching each other's lines),
# sorted within each: not one sorted list
__all__ = [  # noqa: RUF022
    # -- the instance, who acts, what they may do
    "Action", "Medbill", "Principal", "PrincipalKind", "Role", "UnitOfWork", "allowed",
    "medbill_of",
    # -- the shell: sign-in, practices (workspace_web's layout)
    "AUTHENTICATION_FAILED", "ClaimSearchRow", "Membership", "NewSession", "NotAuthenticated",
    "PatientSearchRow", "PermissionDenied", "SessionPolicy", "add_practice", "add_user",
    "create_app", "grant",
    "memberships", "resume_session",
    "search_claims", "search_patients", "session_policy", "sign_in", "sign_out",
    "switch_practice",

    # -- work queues
    "PRIORITY_RULE", "NextAction", "Productivity", "Queue", "QueueFilter", "QueueSummary",
    "Resent", "WorkItem", "WorkItemNote", "add_work_item_note", "appeal_work_item",
    "assign_work_items", "correct_and_resend", "get_work_item", "post_remittance",
    "queue_productivity", "read_queue", "read_summaries", "resolve_work_item", "snooze_work_items",
    "status_check_work_item", "transfer_work_item", "work_item_notes", "write_off_work_item",

    # -- KPIs and the dashboard
    "CSV_COLUMNS", "DEFINITIONS", "PAYER_MIX_DEFINITION", "ROUNDING", "Figure", "Kpi",
    "KpiClaim", "KpiReport", "Part", "Point", "Unit", "check_period", "display",
    "display_quantity", "kpi_claims", "kpi_of", "kpi_report",

    # -- the claim page and the patient account page
    "AvailableAction", "ClaimAction", "ClaimDocument", "ClaimPage", "InstallmentStatus",
    "Overpayment", "PatientAccount", "StatementFileGone", "appeal_denial", "check_claim_status",
    "claim_documents", "claim_page", "document_content", "get_denial", "mark_resend", "new_plan",
    "patient_account", "record_payment", "scrub_claims", "statement_document",
    "statements_dir", "submit_claims", "transfer_to_patient", "write_off",
    # (API 1.7: how the account's addressee agreed to be reached, shown and set on its page)
    "ContactChoice", "ContactPreference", "account_key_of", "addressee_preference",
    "set_contact_preference",
    # (API 1.9: a payment repeating one already posted, refused unless the page says so)
    "DuplicatePayment",

    # -- the patient pay page (issue 18; API 1.5)
    "CardPaymentStatus", "Balance", "BirthDateCheck", "CheckOutcome", "IssuedLink", "LinkProblem",
    "PAGE_PATH", "PatientBalance", "PayLinkUnusable", "PlanChoice", "RETURN_PATH", "StartedPayment",
    "Visit", "balance_of", "check_birth_date", "csrf_token", "end_visit", "enrol_plan",
    "finish_payment", "issue_link", "normalize_code", "open_visit", "plan_choices", "start_payment",
    "visit_of",
]

if not TYPE_CHECKING:  # type checkers see the imports above: a misspelt name fails there
    __getattr__, __dir__ = lazy_attributes(globals(), homes_by_name(_EXPORTS))

"""The core's resources, one router per module, registered through the routes hook by the
default plugin :mod:`medbill_core.default_plugins.http_routes` (as a plugin's would be).

Each module is the pattern for the next: handlers call services (never SQL), lists are
keyset pages (:mod:`medbill_core.http.pagination`), reads that only read use a read-only
unit of work, a POST takes :data:`~medbill_core.http.idempotency.IdempotencyParam` and stores
its response in the change's unit of work, and every route but ``/v1/health`` needs a key.
"""

from __future__ import annotations

from fastapi import FastAPI

from medbill_core.http.resources import (
    accounting,
    appeals,
    assistance,
    audit_trail,
    card_payments,
    claim_actions,
    claim_forms,
    claim_imports,
    claims,
    collection_placements,
    contact_preferences,
    coverages,
    credits,
    eligibility,
    estimates,
    financing,
    guarantors,
    health,
    inbound_documents,
    jobs,
    kpi,
    notifications,
    patient_records,
    patients,
    pay_links,
    payer_refunds,
    payers,
    payments,
    plans,
    practices,
    providers,
    remittances,
    reports,
    statement_runs,
    statements,
    webhooks,
    work_queues,
    write_offs,
)

ROUTERS = (health.router, payers.router, claims.router, claim_actions.router, patients.router,
           patient_records.router, providers.router, remittances.router, reports.router,
           audit_trail.router, jobs.router, statement_runs.router, eligibility.router,
           estimates.router, inbound_documents.router, practices.router, guarantors.router,
           coverages.router, payments.router, plans.router, statements.router, appeals.router,
           webhooks.router,
           kpi.router,  # issue 16: the KPIs of the dashboard
           work_queues.router,  # issue 16: the work queues
           claim_imports.router,  # issue 17: the 837 intake
           claim_forms.router,  # issue 17: paper claim forms
           assistance.router,  # issue 18: financial assistance
           accounting.router,  # issue 18: the accounting export
           card_payments.router,  # issue 18: card payments, gateways' webhooks
           # issue 18: refunds, write-offs, collections
           credits.router, write_offs.router, collection_placements.router,
           payer_refunds.router,
           # issue 18: texts and e-mails about statements; patient financing; pay-by-link
           notifications.router, financing.router, pay_links.router,
           contact_preferences.router)  # contact preferences over the API, not only the CLI


def include_core_routes(app: FastAPI) -> None:
    from medbill_core.http import sessions  # sign-in: beside the resources, not one of them

    for router in (*ROUTERS, sessions.router):
        app.include_router(router)

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
    from medbill_core.domain.identity import Principal, Role
    from medbill_core.http.auth import medbill_of
    from medbill_core.permissions import Action, allowed

    # -- the shell: sign-in, practices (workspace_web's layout)
    # -- work queues
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
        kpi_claims,
        kpi_of,
        kpi_report,
    )
    # -- the claim page and the patient account page

#: Each public name by its home module (``"attribute as name"`` renames).
_EXPORTS: dict[str, tuple[str, ...]] = {
    # -- the instance, who acts, what they may do
    "medbill_core.app": ("Medbill", "UnitOfWork"),
    "medbill_core.domain.identity": ("Principal", "Role"),
    "medbill_core.http.auth": ("medbill_of",),
    "medbill_core.permissions": ("Action", "allowed"),
    # -- the shell: sign-in, practices (workspace_web's layout)

    # -- work queues

    # -- KPIs and the dashboard
    "medbill_core.services.kpi": (
        "CSV_COLUMNS", "DEFINITIONS", "PAYER_MIX_DEFINITION", "ROUNDING", "Figure", "Kpi",
        "KpiClaim", "KpiReport", "Part", "Point", "Unit", "check_period", "display",
        "kpi_claims", "kpi_of", "kpi_report"),

    # -- the claim page and the patient account page

}

__all__ = [  # noqa: RUF022 (grouped by the parts of issue 16, as _EXPORTS is)
    # -- the instance, who acts, what they may do
    "Action", "Medbill", "Principal", "Role", "UnitOfWork", "allowed", "medbill_of",
    # -- the shell: sign-in, practices (workspace_web's layout)

    # -- work queues

    # -- KPIs and the dashboard
    "CSV_COLUMNS", "DEFINITIONS", "PAYER_MIX_DEFINITION", "ROUNDING", "Figure", "Kpi",
    "KpiClaim", "KpiReport", "Part", "Point", "Unit", "check_period", "display", "kpi_claims",
    "kpi_of", "kpi_report",

    # -- the claim page and the patient account page

]

if not TYPE_CHECKING:  # type checkers see the imports above: a misspelt name fails there
    __getattr__, __dir__ = lazy_attributes(globals(), homes_by_name(_EXPORTS))

"""The layout's navigation: each area of the workspace, the page it opens and the action a
role needs to see it (an entry a role may not use is not shown; the page refuses it anyway).

An area's owner sets its action here when it has one of its own (the work queues' and the
dashboard's may get theirs).
"""

from __future__ import annotations

from dataclasses import dataclass

from medbill_core.api.workspace import Action


@dataclass(frozen=True)
class NavEntry:
    label: str
    href: str
    action: Action


NAV: tuple[NavEntry, ...] = (
    NavEntry("Work queues", "/workspace/queues", Action.QUEUES_READ),
    NavEntry("Dashboard", "/workspace/dashboard", Action.REPORTS_READ),
    NavEntry("Claims", "/workspace/claims", Action.CLAIMS_READ),
    NavEntry("Patients", "/workspace/patients", Action.PATIENTS_READ),
)

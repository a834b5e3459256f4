"""Who acts: users, API keys and the roles that say what each may do in a practice.

A :class:`Principal` is the authenticated actor a service call runs as; the service layer
checks its role per action (``medbill_core.permissions``) and records :attr:`Principal.actor`
in the audit trail, so the CLI, the HTTP API and the workspace obey the same rules.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel


class Role(StrEnum):
    """What a user or key may do in one practice (the permission table is keyed by these)."""

    ADMINISTRATOR = "administrator"
    BILLING_MANAGER = "billing_manager"
    BILLER = "biller"
    FRONT_DESK = "front_desk"
    #: read-only, and the only role besides the administrator that reads the audit trail
    AUDITOR = "auditor"


class PrincipalKind(StrEnum):
    """How the actor proved who it is."""

    USER = "user"  # a person: password (browser, API) or the CLI's named local user
    API_KEY = "key"  # a system: an EHR, a vendor's integration


class Principal(DomainModel):
    """An authenticated actor acting in one practice with one role.

    :param kind: a user or an API key.
    :param id: the user's or the key's row id.
    :param name: the user name or the key's label (never a secret).
    :param practice_id: the practice this principal acts in.
    :param role: its role in that practice.
    """

    kind: PrincipalKind
    id: int
    name: str = Field(min_length=1, max_length=64)
    practice_id: int
    role: Role

    @property
    def actor(self) -> str:
        """The audit trail's actor name: ``user:alice`` or ``key:ehr-sync``."""
        return f"{self.kind.value}:{self.name}"

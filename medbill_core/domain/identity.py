"""Who acts: users, API keys and the roles that say what each may do in a practice.

A :class:`Principal` is the authenticated actor a service call runs as; the service layer
checks its role per action (``medbill_core.permissions``) and records :attr:`Principal.actor`
in the audit trail, so the CLI, the HTTP API and the workspace obey the same rules.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel

#: A user name or an API key's label: what the audit trail shows after ``user:`` / ``key:``.
#: Letters, digits and ``. _ @ -``, starting with a letter or digit; compared in lower case.
USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
#: A practice's code: a short lower-case slug (``default``, ``smith-peds``).
PRACTICE_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
#: The code of the practice made from the ``[practice]`` configuration when none is named.
DEFAULT_PRACTICE_CODE = "default"


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
    :param bootstrap: the command line's stand-in administrator while the database has no
        user at all (``id`` 0, no row): so the first user can be added.
    """

    kind: PrincipalKind
    id: int
    name: str = Field(min_length=1, max_length=64)
    practice_id: int
    role: Role
    bootstrap: bool = False

    @property
    def actor(self) -> str:
        """The audit trail's actor name: ``user:alice`` or ``key:ehr-sync``."""
        return f"{self.kind.value}:{self.name}"

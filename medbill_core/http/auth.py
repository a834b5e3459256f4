"""Who calls: ``Authorization: Bearer <API key>``, checked by an injected authenticator.

The authenticator is ``authenticate(medbill, token) -> Principal`` (raising
:class:`~medbill_core.errors.NotAuthenticated` for a key that is unknown, revoked or expired);
it runs its own transactions (a key's last use is recorded even when the request then fails).
By default it is :func:`medbill_core.services.identity.authenticate_key`, imported when the
first request asks (so the app can be built, and tested with another authenticator, without
it); :func:`create_app`'s ``authenticate`` argument replaces it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from medbill_core.domain.identity import Principal
from medbill_core.errors import ConfigurationError, NotAuthenticated
from medbill_core.permissions import Action, require

if TYPE_CHECKING:
    from medbill_core.app import Medbill

#: ``authenticate(medbill, token) -> Principal``
Authenticator = Callable[["Medbill", str], Principal]
#: Where the default authenticator lives (part "identity" of issue 15).
IDENTITY_MODULE = "medbill_core.services.identity"

_bearer = HTTPBearer(auto_error=False, description="An API key: `medbill keys create`")


def default_authenticator(medbill: Medbill, token: str) -> Principal:
    """:func:`medbill_core.services.identity.authenticate_key`, imported on first use."""
    try:
        module = importlib.import_module(IDENTITY_MODULE)
    except ImportError:
        raise ConfigurationError("no identity service (medbill_core.services.identity): "
                                 "API keys cannot be checked") from None
    authenticate = cast(Authenticator, module.authenticate_key)
    return authenticate(medbill, token)


@dataclass(frozen=True)
class ApiState:
    """What every request of one app needs: the medbill instance and the authenticator."""

    medbill: Medbill
    authenticate: Authenticator


def api_state(request: Request) -> ApiState:
    return cast(ApiState, request.app.state.medbill_api)


def authenticated(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None,
                                         Security(_bearer)]) -> Principal:
    """The principal the request's bearer key names; 401 without one or with a bad one."""
    if credentials is None or not credentials.credentials.strip():
        raise NotAuthenticated("authentication required: send 'Authorization: Bearer "
                               "<API key>'")
    state = api_state(request)
    try:
        return state.authenticate(state.medbill, credentials.credentials.strip())
    except NotAuthenticated:
        raise NotAuthenticated("the API key is not valid") from None


#: A route's parameter for the authenticated principal.
CurrentPrincipal = Annotated[Principal, Depends(authenticated)]

#: The attribute of a :func:`permitted` dependency naming its action (the role x route table
#: of the tests and the documentation reads it from the app's routes).
ACTION_ATTRIBUTE = "medbill_action"


def permitted(action: Action) -> Callable[[Principal], Principal]:
    """A route's dependency: the authenticated principal, refused with 403 unless its role
    may perform ``action``. The service the route calls checks again (the command line goes
    through the same check); checking here too answers 403 before a body is validated.

    Use: ``principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_WRITE))]``.
    """
    def checked(principal: CurrentPrincipal) -> Principal:
        require(principal, action)
        return principal

    setattr(checked, ACTION_ATTRIBUTE, action)
    checked.__name__ = f"permitted_{action.value.replace('.', '_')}"
    return checked

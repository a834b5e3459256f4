"""Who calls: ``Authorization: Bearer <API key>``, checked by an injected authenticator.

The authenticator is ``authenticate(session, token) -> Principal`` (raising
:class:`~medbill_core.errors.NotAuthenticated` for a key that is unknown, revoked or expired).
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
from sqlalchemy.orm import Session

from medbill_core.domain.identity import Principal
from medbill_core.errors import ConfigurationError, NotAuthenticated

if TYPE_CHECKING:
    from medbill_core.app import Medbill

#: ``authenticate(session, token) -> Principal``
Authenticator = Callable[[Session, str], Principal]
#: Where the default authenticator lives (part "identity" of issue 15).
IDENTITY_MODULE = "medbill_core.services.identity"
#: The actor of the transaction an authentication runs in (before anyone is known).
AUTHENTICATING_ACTOR = "http:authenticate"

_bearer = HTTPBearer(auto_error=False, description="An API key: `medbill keys create`")


def default_authenticator(session: Session, token: str) -> Principal:
    """:func:`medbill_core.services.identity.authenticate_key`, imported on first use."""
    try:
        module = importlib.import_module(IDENTITY_MODULE)
    except ImportError:
        raise ConfigurationError("no identity service (medbill_core.services.identity): "
                                 "API keys cannot be checked") from None
    authenticate = cast(Authenticator, module.authenticate_key)
    return authenticate(session, token)


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
    failure: NotAuthenticated | None = None
    # what the authenticator writes (a key's last use, a failed attempt) is committed even
    # when it refuses the key
    with state.medbill.unit_of_work(AUTHENTICATING_ACTOR) as work:
        try:
            principal = state.authenticate(work.session, credentials.credentials.strip())
        except NotAuthenticated as exc:
            failure = exc
    if failure is not None:
        raise NotAuthenticated("the API key is not valid") from None
    return principal


#: A route's parameter for the authenticated principal.
CurrentPrincipal = Annotated[Principal, Depends(authenticated)]

"""Browser sessions: a user signs in with a password and gets a session cookie.

* :func:`login` checks the password with :func:`medbill_core.services.identity.
  authenticate_password` (argon2id, failures counted, lockout) and opens a session: a random
  token (``mbs_<43 characters>``, returned once, for the cookie; only its SHA-256 is stored)
  and a CSRF token bound to the session.
* :func:`resume` finds the session of a cookie's token on each request and refuses one that
  ended: revoked, past its absolute end (:attr:`SessionPolicy.lifetime` after sign-in), idle
  for :attr:`SessionPolicy.idle_timeout`, its user disabled, its membership in the practice
  taken away, its practice closed. The role is read from the membership on every request, so
  a changed role applies at once. Use pushes the idle end forward, written at most once a
  minute (:data:`IDLE_RESOLUTION`) so that reads stay reads.
* :func:`logout` revokes a session. :func:`switch_practice` moves a member of several
  practices to another of them (:func:`memberships` lists them): a new session there, the old
  one ended, as a sign-in would (the CSRF token changes with the session). Disabling a
  user, taking a membership away and setting a password revoke the user's sessions too
  (:func:`medbill_core.services.identity._end_sessions`).

Audit: ``user.login`` (by the identity service) and ``session.started`` with the user as
actor; ``session.ended`` at logout; ``session.switched`` (the old session, both practices'
codes), ``session.ended`` (reason ``switched``) and ``session.started`` on a switch; failed
sign-ins as the identity service records them (``user.login_failed``, ``user.locked``). No
password, hash or token is ever recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, update

from medbill_core import audit
from medbill_core.domain.identity import PRACTICE_CODE_PATTERN, Principal, PrincipalKind, Role
from medbill_core.errors import NotAuthenticated, NotFound, ValidationFailed
from medbill_core.services import identity
from medbill_core.storage.schema import (
    MembershipRow,
    PracticeRow,
    UserRow,
    UserSessionRow,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from medbill_core.app import Medbill

#: A session ends this long after sign-in, however busy.
LIFETIME = timedelta(hours=12)
#: ... and this long after its last use.
IDLE_TIMEOUT = timedelta(minutes=30)
#: The idle end is written at most this often (a request within a minute of the last write
#: only reads), so a session may end up to this much earlier than its last use + timeout.
IDLE_RESOLUTION = timedelta(minutes=1)
TOKEN_PREFIX = "mbs"
#: The one answer to a cookie that names no live session (unknown, ended, revoked).
SESSION_ENDED = "the session has ended or is not valid: sign in again (POST /v1/sessions)"
#: The answer to an unsafe request with the cookie but without the session's CSRF token.
CSRF_REFUSED = ("this request needs the session's CSRF token: send it in the X-CSRF-Token "
                "header (or the csrf_token field of a form)")
_TOKEN_LENGTH = len(TOKEN_PREFIX) + 1 + 43
#: A practice code is named in an error only when it is one (whatever else was sent is input)
_PRACTICE_CODE = re.compile(PRACTICE_CODE_PATTERN)


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last, the clock they are measured by (tests move it), and whether
    the cookie is marked ``Secure`` (None: when the request came over https, as uvicorn sees
    it behind a proxy that sends ``X-Forwarded-Proto``)."""

    lifetime: timedelta = LIFETIME
    idle_timeout: timedelta = IDLE_TIMEOUT
    clock: Callable[[], datetime] = field(default=utcnow)
    secure_cookie: bool | None = None


DEFAULT_POLICY = SessionPolicy()


@dataclass(frozen=True)
class SessionInfo:
    """A live session: who it acts as, and its CSRF token (never the cookie's token)."""

    id: int
    principal: Principal
    practice_code: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    idle_expires_at: datetime


@dataclass(frozen=True)
class NewSession:
    """A session just opened and its token: the only time the token exists outside the
    browser's cookie jar."""

    session: SessionInfo
    token: str


def token_hash(token: str) -> str:
    # SHA-256, not argon2: the token is 256 random bits (as an API key's secret is)
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def login(app: Medbill, name: str, password: str, practice_code: str | None = None,
          policy: SessionPolicy = DEFAULT_POLICY) -> NewSession:
    """Sign ``name`` in with ``password`` and open a session in the practice
    ``practice_code`` names (needed only for a member of several practices).

    :raises NotAuthenticated: :data:`~medbill_core.services.identity.AUTHENTICATION_FAILED`,
        whatever the reason (wrong name or password, locked, disabled, no such membership).
    """
    principal = identity.authenticate_password(app, name, password, practice_code)
    now = policy.clock()
    token = f"{TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"
    with app.unit_of_work(principal=principal) as work:
        session = work.session
        # the user's ended sessions go now: the table holds live sessions and recent ones
        session.execute(delete(UserSessionRow).where(
            UserSessionRow.user_id == principal.id,
            or_(UserSessionRow.revoked_at.is_not(None), UserSessionRow.expires_at <= now,
                UserSessionRow.idle_expires_at <= now))
            .execution_options(synchronize_session=False))
        expires_at = now + policy.lifetime
        row = UserSessionRow(token_hash=token_hash(token), user_id=principal.id,
                             practice_id=principal.practice_id,
                             csrf_token=secrets.token_urlsafe(32), created_at=now,
                             expires_at=expires_at,
                             idle_expires_at=min(now + policy.idle_timeout, expires_at))
        session.add(row)
        session.flush()
        practice = session.get(PracticeRow, principal.practice_id)
        assert practice is not None  # the sign-in found it
        audit.record(session, actor=principal.actor, action="session.started",
                     entity_type="user_session", entity_id=row.id,
                     details={"practice": practice.code,
                              "expires_at": as_utc(row.expires_at).isoformat()})
        info = _info(row, principal, practice.code)
    return NewSession(info, token)


def resume(app: Medbill, token: str, policy: SessionPolicy = DEFAULT_POLICY) -> SessionInfo:
    """The live session of a cookie's token, its idle end pushed forward (written at most
    once a :data:`IDLE_RESOLUTION`).

    :raises NotAuthenticated: :data:`SESSION_ENDED` for an unknown, revoked, expired or idle
        session, or one whose user, membership or practice no longer allows it.
    """
    token = token.strip()
    if not token.startswith(f"{TOKEN_PREFIX}_") or len(token) != _TOKEN_LENGTH:
        raise NotAuthenticated(SESSION_ENDED)
    now = policy.clock()
    with app.unit_of_work(actor="anonymous", read_only=True) as work:
        found = work.session.execute(
            select(UserSessionRow, UserRow.name, MembershipRow.role, PracticeRow.code)
            .join(UserRow, UserRow.id == UserSessionRow.user_id)
            .join(PracticeRow, PracticeRow.id == UserSessionRow.practice_id)
            .join(MembershipRow, (MembershipRow.user_id == UserSessionRow.user_id)
                  & (MembershipRow.practice_id == UserSessionRow.practice_id))
            .where(UserSessionRow.token_hash == token_hash(token),
                   UserSessionRow.revoked_at.is_(None), UserRow.disabled_at.is_(None),
                   PracticeRow.active.is_(True))).first()
    if found is None:
        raise NotAuthenticated(SESSION_ENDED)
    row, user_name, role, practice_code = found
    if as_utc(row.expires_at) <= now or as_utc(row.idle_expires_at) <= now:
        raise NotAuthenticated(SESSION_ENDED)
    principal = Principal(kind=PrincipalKind.USER, id=row.user_id, name=user_name,
                          practice_id=row.practice_id, role=Role(role))
    idle_end = min(now + policy.idle_timeout, as_utc(row.expires_at))
    if idle_end - as_utc(row.idle_expires_at) >= IDLE_RESOLUTION:
        with app.unit_of_work(principal=principal) as work:
            # not audited: a session's use is audited by what each request does
            work.session.execute(
                update(UserSessionRow).where(UserSessionRow.id == row.id,
                                             UserSessionRow.revoked_at.is_(None))
                .values(idle_expires_at=idle_end).execution_options(synchronize_session=False))
        return _info(row, principal, practice_code, idle_expires_at=idle_end)
    return _info(row, principal, practice_code)


def logout(app: Medbill, info: SessionInfo, policy: SessionPolicy = DEFAULT_POLICY, *,
           reason: str = "logout") -> None:
    """End the session (the cookie's token fails from now on); ``reason``: ``logout``, or
    ``replaced`` by a new sign-in in the same browser."""
    with app.unit_of_work(principal=info.principal) as work:
        ended = work.session.execute(
            update(UserSessionRow).where(UserSessionRow.id == info.id,
                                         UserSessionRow.revoked_at.is_(None))
            .values(revoked_at=policy.clock()).execution_options(synchronize_session=False))
        if getattr(ended, "rowcount", 0):
            audit.record(work.session, actor=info.principal.actor, action="session.ended",
                         entity_type="user_session", entity_id=info.id,
                         details={"reason": reason})


@dataclass(frozen=True)
class Membership:
    """A practice the session's user belongs to, and the user's role there."""

    practice_code: str
    practice_name: str
    role: Role


def memberships(app: Medbill, info: SessionInfo) -> list[Membership]:
    """The active practices the session's user is a member of, by code: where
    :func:`switch_practice` may move the session (the current one included). Needs no action:
    a user's own memberships, as "who am I" needs none."""
    with app.unit_of_work(principal=info.principal, read_only=True) as work:
        rows = work.session.execute(
            select(PracticeRow.code, PracticeRow.name, MembershipRow.role)
            .join(MembershipRow, MembershipRow.practice_id == PracticeRow.id)
            .where(MembershipRow.user_id == info.principal.id, PracticeRow.active.is_(True))
            .order_by(PracticeRow.code)).all()
    return [Membership(code, name, Role(role)) for code, name, role in rows]


def switch_practice(app: Medbill, info: SessionInfo, practice_code: str,
                    policy: SessionPolicy = DEFAULT_POLICY) -> NewSession:
    """Move the signed-in user to another practice they are a member of: a new session there
    (with the role of that membership and a new CSRF token), the old one ended. The new one
    ends when the old one would have (a switch does not extend a sign-in's 12 hours).

    :raises NotFound: ``practice <code>`` when the user is no member of an active practice
        of that code (another practice is as if it did not exist).
    :raises ValidationFailed: ``practice``: it is the session's practice already.
    """
    code = practice_code.strip().lower()
    now = policy.clock()
    token = f"{TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"
    old = info.principal
    with app.unit_of_work(principal=old) as work:
        session = work.session
        found = session.execute(
            select(MembershipRow.role, PracticeRow.id, PracticeRow.code)
            .join(PracticeRow, PracticeRow.id == MembershipRow.practice_id)
            .join(UserRow, UserRow.id == MembershipRow.user_id)
            .where(MembershipRow.user_id == old.id, PracticeRow.code == code,
                   PracticeRow.active.is_(True), UserRow.disabled_at.is_(None))).first()
        if found is None:
            raise NotFound("practice", code if _PRACTICE_CODE.fullmatch(code) else "(code)")
        if found[1] == old.practice_id:
            raise ValidationFailed("practice switch", [("practice", "is the current practice")])
        role, practice_id, new_code = found
        ended = session.execute(
            update(UserSessionRow).where(UserSessionRow.id == info.id,
                                         UserSessionRow.revoked_at.is_(None))
            .values(revoked_at=now).execution_options(synchronize_session=False))
        if not getattr(ended, "rowcount", 0):  # ended meanwhile (signed out in another tab)
            raise NotAuthenticated(SESSION_ENDED)
        principal = Principal(kind=PrincipalKind.USER, id=old.id, name=old.name,
                              practice_id=practice_id, role=Role(role))
        expires_at = info.expires_at
        row = UserSessionRow(token_hash=token_hash(token), user_id=old.id,
                             practice_id=practice_id, csrf_token=secrets.token_urlsafe(32),
                             created_at=now, expires_at=expires_at,
                             idle_expires_at=min(now + policy.idle_timeout, expires_at))
        session.add(row)
        session.flush()
        audit.record(session, actor=old.actor, action="session.switched",
                     entity_type="user_session", entity_id=info.id,
                     details={"from": info.practice_code, "to": new_code,
                              "new_session": row.id})
        audit.record(session, actor=old.actor, action="session.ended",
                     entity_type="user_session", entity_id=info.id,
                     details={"reason": "switched"})
        audit.record(session, actor=old.actor, action="session.started",
                     entity_type="user_session", entity_id=row.id,
                     details={"practice": new_code,
                              "expires_at": as_utc(row.expires_at).isoformat()})
        new_info = _info(row, principal, new_code)
    return NewSession(new_info, token)


def csrf_matches(info: SessionInfo, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token (compared in constant time)."""
    if not sent:
        return False
    return hmac.compare_digest(info.csrf_token.encode("ascii"),
                               sent.strip().encode("utf-8", "replace"))


def _info(row: UserSessionRow, principal: Principal, practice_code: str, *,
          idle_expires_at: datetime | None = None) -> SessionInfo:
    return SessionInfo(id=row.id, principal=principal, practice_code=practice_code,
                       csrf_token=row.csrf_token, created_at=as_utc(row.created_at),
                       expires_at=as_utc(row.expires_at),
                       idle_expires_at=idle_expires_at or as_utc(row.idle_expires_at))

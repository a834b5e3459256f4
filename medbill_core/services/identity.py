"""Who may act: practices, users and their roles, API keys, and signing in.

* **Practices.** The single-practice ``[practice]`` configuration becomes the first row of
  ``practices`` (:func:`ensure_practice`, run by ``medbill db upgrade``).
* **Users** belong to practices with one role each (``memberships``). Passwords are hashed
  with argon2id (argon2-cffi); :func:`authenticate_password` counts failures and locks the
  account for :data:`LOCKOUT` after :data:`MAX_FAILED_LOGINS` in a row, and answers every
  failure with the same :class:`~medbill_core.errors.NotAuthenticated` message.
* **API keys** belong to one practice with one role. :func:`create_key` returns the token
  ``mbk_<prefix>_<secret>`` once; only the prefix (to find the row) and the secret's SHA-256
  are stored. :func:`authenticate_key` refuses revoked and expired keys.
* **The command line** acts as a named local user (:func:`local_principal`).

Every change is audited with the acting principal's :attr:`~Principal.actor`; the services
that change who may do what require ``users.manage`` / ``keys.manage``
(:mod:`medbill_core.permissions`) in the practice they touch.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.domain import Practice
from medbill_core.domain.identity import (
    DEFAULT_PRACTICE_CODE,
    PRACTICE_CODE_PATTERN,
    USER_NAME_PATTERN,
    Principal,
    PrincipalKind,
    Role,
)
from medbill_core.errors import (
    ConfigurationError,
    MedbillError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from medbill_core.permissions import Action, allowed, require
from medbill_core.storage.schema import (
    ApiKeyRow,
    MembershipRow,
    PracticeRow,
    UserRow,
    UserSessionRow,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from medbill_core.app import Medbill, UnitOfWork
    from medbill_core.config import MedbillConfig

#: Failed password logins in a row that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
#: The one answer to every failed sign-in (unknown user or key, wrong password, locked,
#: disabled, revoked, expired, not a member of the practice): it tells a guesser nothing.
AUTHENTICATION_FAILED = "authentication failed: wrong credentials, or the account or key " \
                        "may not sign in (ask an administrator)"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
#: A key's ``last_used_at`` is written at most this often: every API call writing it would
#: turn each read into a write (on SQLite, a wait for the one writer).
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_PREFIX = "mbk"
_TOKEN = re.compile(r"^mbk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_KEY_PREFIX = re.compile(r"^(?:mbk_)?([0-9a-f]{12})(?:_.*)?$")
_NAME = re.compile(USER_NAME_PATTERN)
_PRACTICE_CODE = re.compile(PRACTICE_CODE_PATTERN)
_NAME_RULE = "1-64 letters, digits or . _ @ -, starting with a letter or digit"


# -- what the services return ------------------------------------------------------------------

@dataclass(frozen=True)
class PracticeInfo:
    id: int
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class UserInfo:
    """A user as one practice sees it: ``role`` is the user's role there (None: no member)."""

    id: int
    name: str
    role: Role | None
    practice_code: str | None
    has_password: bool
    disabled_at: datetime | None
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None

    @property
    def status(self) -> str:
        if self.disabled_at is not None:
            return "disabled"
        if self.locked_until is not None and self.locked_until > utcnow():
            return "locked"
        return "active"


@dataclass(frozen=True)
class KeyInfo:
    """An API key, never its secret."""

    id: int
    practice_code: str
    role: Role
    label: str
    prefix: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"


@dataclass(frozen=True)
class CreatedKey:
    """A new key and its token: the only time the token exists outside the caller's hands."""

    key: KeyInfo
    token: str


# -- practices ---------------------------------------------------------------------------------

def ensure_practice(work: UnitOfWork, config: MedbillConfig) -> PracticeInfo | None:
    """Create the practice row from the configuration when the database has none: code
    ``[medbill] practice_code`` (default ``default``), name from ``[practice]``. Returns the
    new practice, or None when one existed already.

    Not audited: like the schema migration that runs beside it, it carries the installation's
    configuration into the database; it is no one's change to a record.
    """
    session = work.session
    if session.scalar(select(PracticeRow.id).limit(1)) is not None:
        return None
    code = config.practice_code or DEFAULT_PRACTICE_CODE
    name = config.practice.name if config.practice is not None else code
    row = PracticeRow(code=code, name=name, active=True, created_at=utcnow())
    session.add(row)
    session.flush()
    return _practice_info(row)


def list_practices(work: UnitOfWork) -> list[PracticeInfo]:
    return [_practice_info(row) for row in
            work.session.scalars(select(PracticeRow).order_by(PracticeRow.code))]


def _practice_info(row: PracticeRow) -> PracticeInfo:
    return PracticeInfo(row.id, row.code, row.name, row.active)


def _practice_by_code(session: Session, code: str) -> PracticeRow:
    row = session.scalar(select(PracticeRow).where(PracticeRow.code == code.strip().lower()))
    if row is None:  # other practices' codes are not listed: they are other tenants'
        raise NotFound("practice", repr(code.strip()))
    return row


def _target_practice(session: Session, principal: Principal, code: str | None) -> PracticeRow:
    if code is None:
        row = session.get(PracticeRow, principal.practice_id)
        if row is None:
            raise NotFound("practice", principal.practice_id)
        return row
    return _practice_by_code(session, code)


def _require_in(session: Session, principal: Principal, action: Action,
                practice: PracticeRow) -> None:
    """``require`` for ``practice``, which may be another than the principal's own: a user
    acts there with the role of its membership there; a key only ever in its own practice.

    To a principal with no membership there, the practice does not exist (the same
    :class:`NotFound` as an unknown code): another tenant's codes are not to be probed.
    """
    if practice.id == principal.practice_id or principal.bootstrap:
        require(principal, action)
        return
    membership = None
    if principal.kind is PrincipalKind.USER:
        membership = session.scalar(select(MembershipRow.role).where(
            MembershipRow.user_id == principal.id, MembershipRow.practice_id == practice.id))
    if membership is None:
        raise NotFound("practice", repr(practice.code))
    role = Role(membership)
    if not allowed(role, action):
        raise PermissionDenied(f"{role.value} may not {action.value} in practice "
                               f"{practice.code}")


# -- the command line's user -------------------------------------------------------------------

def local_principal(work: UnitOfWork, config: MedbillConfig) -> Principal:
    """Who the command line acts as.

    While the database has no user at all, a bootstrap administrator named after the OS
    account (so today's single-user command line keeps working and can add the first user).
    Otherwise the user ``[medbill] user`` / ``MEDBILL_USER`` names, else the user named like
    the OS account, in the practice ``practice_code`` names (needed only for a member of
    several practices).

    :raises ConfigurationError: no such user, no membership, no practice yet.
    :raises NotAuthenticated: the user is disabled.
    """
    session = work.session
    if session.scalar(select(UserRow.id).limit(1)) is None:
        practice = _local_practice(session, config)
        return Principal(kind=PrincipalKind.USER, id=0, name=audit.os_user()[:64],
                         practice_id=practice.id, role=Role.ADMINISTRATOR, bootstrap=True)
    name = (config.user or audit.os_user()).lower()
    user = session.scalar(select(UserRow).where(UserRow.name == name))
    if user is None:
        if config.user:
            raise ConfigurationError(f"[medbill] user {config.user!r} (or MEDBILL_USER) names "
                                     "no user of this database")
        raise ConfigurationError("this database has users: set [medbill] user (or "
                                 "MEDBILL_USER) to the one the command line acts as")
    if user.disabled_at is not None:
        raise NotAuthenticated(f"local user {user.name!r} is disabled")
    memberships = session.execute(
        select(MembershipRow.role, PracticeRow).join(PracticeRow).where(
            MembershipRow.user_id == user.id).order_by(PracticeRow.code)).all()
    if config.practice_code:
        chosen = [(role, practice) for role, practice in memberships
                  if practice.code == config.practice_code]
        if not chosen:
            raise ConfigurationError(f"local user {user.name!r} is not a member of practice "
                                     f"{config.practice_code!r} ([medbill] practice_code)")
    else:
        chosen = list(memberships)
        if not chosen:
            raise ConfigurationError(f"local user {user.name!r} is a member of no practice "
                                     "(an administrator can 'medbill users grant' one)")
        if len(chosen) > 1:
            codes = ", ".join(practice.code for _, practice in chosen)
            raise ConfigurationError(
                f"local user {user.name!r} is a member of several practices ({codes}): choose "
                "one with [medbill] practice_code or MEDBILL_PRACTICE_CODE")
    role, practice = chosen[0]
    if not practice.active:
        raise ConfigurationError(f"practice {practice.code!r} is closed")
    return Principal(kind=PrincipalKind.USER, id=user.id, name=user.name,
                     practice_id=practice.id, role=Role(role))


def _local_practice(session: Session, config: MedbillConfig) -> PracticeRow:
    if config.practice_code:
        row = session.scalar(select(PracticeRow).where(PracticeRow.code == config.practice_code))
        if row is None:
            raise ConfigurationError(f"[medbill] practice_code {config.practice_code!r} names "
                                     "no practice of this database")
        return row
    configured = session.scalar(select(PracticeRow).where(
        PracticeRow.code == DEFAULT_PRACTICE_CODE))
    if configured is not None:  # the practice [practice] describes
        return configured
    rows = list(session.scalars(select(PracticeRow).order_by(PracticeRow.id).limit(2)))
    if not rows:
        raise ConfigurationError("the database has no practice yet: run 'medbill db upgrade'")
    if len(rows) > 1:
        raise ConfigurationError("the database has several practices: choose one with "
                                 "[medbill] practice_code or MEDBILL_PRACTICE_CODE")
    return rows[0]


# -- users -------------------------------------------------------------------------------------

def _normal_name(name: str, record: str = "user") -> str:
    if not _NAME.match(name.strip()):
        raise ValidationFailed(record, [("name", _NAME_RULE)])
    return name.strip().lower()


def _user(session: Session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name.strip().lower()))
    if row is None:
        raise NotFound("user", repr(name.strip()))
    return row


def _user_info(session: Session, row: UserRow, practice: PracticeRow | None) -> UserInfo:
    role = None
    if practice is not None:
        held = session.scalar(select(MembershipRow.role).where(
            MembershipRow.user_id == row.id, MembershipRow.practice_id == practice.id))
        role = Role(held) if held is not None else None
    return UserInfo(id=row.id, name=row.name, role=role,
                    practice_code=practice.code if practice is not None else None,
                    has_password=row.password_hash is not None,
                    disabled_at=_aware(row.disabled_at), locked_until=_aware(row.locked_until),
                    created_at=as_utc(row.created_at), last_login_at=_aware(row.last_login_at))


def _aware(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None


def _check_password(name: str, password: str) -> None:
    problem = None
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = f"at least {MIN_PASSWORD_LENGTH} characters"
    elif len(password) > MAX_PASSWORD_LENGTH:
        problem = f"at most {MAX_PASSWORD_LENGTH} characters"
    elif password.strip().lower() == name.lower():
        problem = "must not be the user name"
    if problem:
        raise ValidationFailed(f"user {name}", [("password", problem)])


@functools.cache
def _hasher() -> PasswordHasher:
    # argon2id with the library's defaults (RFC 9106's second recommended profile: 64 MiB,
    # 3 passes); imported here, not at start-up, which most commands do not need it for
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against when there is no user (or no password): the failure then
    costs what a wrong password costs, so timing does not tell which names exist."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _active_administrators(session: Session, practice_id: int, *, besides: int) -> int:
    return session.scalar(
        select(func.count()).select_from(MembershipRow).join(UserRow).where(
            MembershipRow.practice_id == practice_id,
            MembershipRow.role == Role.ADMINISTRATOR.value,
            MembershipRow.user_id != besides, UserRow.disabled_at.is_(None))) or 0


def _keep_an_administrator(session: Session, user: UserRow, practice_ids: Sequence[int]) -> None:
    """Refuse a change that would leave a practice without an active administrator: no one
    could then manage its users or keys."""
    for practice_id in practice_ids:
        role = session.scalar(select(MembershipRow.role).where(
            MembershipRow.user_id == user.id, MembershipRow.practice_id == practice_id))
        if role == Role.ADMINISTRATOR.value \
                and _active_administrators(session, practice_id, besides=user.id) == 0:
            code = session.get(PracticeRow, practice_id)
            raise MedbillError(
                f"user {user.name} is the last active administrator of practice "
                f"{code.code if code else practice_id}: make another user administrator first")


def add_user(work: UnitOfWork, principal: Principal, name: str, role: Role, *,
             practice_code: str | None = None, password: str | None = None) -> UserInfo:
    """A new user with ``role`` in the practice (default: the principal's), and a password
    when given (without one, the user can act only as the command line's local user).

    The first user of the database must be an administrator: no one could manage users
    otherwise.
    """
    session = work.session
    practice = _target_practice(session, principal, practice_code)
    _require_in(session, principal, Action.USERS_MANAGE, practice)
    normal = _normal_name(name)
    if session.scalar(select(UserRow.id).where(UserRow.name == normal)) is not None:
        raise ValidationFailed(f"user {normal}", [("name", "already exists")])
    if role is not Role.ADMINISTRATOR and session.scalar(select(UserRow.id).limit(1)) is None:
        raise ValidationFailed(f"user {normal}", [(
            "role", "the first user must be an administrator (no one could manage users "
                    "otherwise)")])
    if password is not None:
        _check_password(normal, password)
    row = UserRow(name=normal, failed_logins=0, created_at=utcnow(),
                  password_hash=_hasher().hash(password) if password is not None else None)
    session.add(row)
    session.flush()
    session.add(MembershipRow(user_id=row.id, practice_id=practice.id, role=role.value))
    session.flush()
    audit.record(session, actor=principal.actor, action="user.created", entity_type="user",
                 entity_id=row.id, details={"practice": practice.code, "role": role.value,
                                            "password": password is not None})
    return _user_info(session, row, practice)


def list_users(work: UnitOfWork, principal: Principal, *,
               practice_code: str | None = None) -> list[UserInfo]:
    """The members of the practice (default: the principal's), by name."""
    session = work.session
    practice = _target_practice(session, principal, practice_code)
    _require_in(session, principal, Action.USERS_READ, practice)
    rows = session.scalars(select(UserRow).join(MembershipRow).where(
        MembershipRow.practice_id == practice.id).order_by(UserRow.name))
    return [_user_info(session, row, practice) for row in rows]


def _practices_of(session: Session, user: UserRow) -> list[PracticeRow]:
    return list(session.scalars(select(PracticeRow).join(MembershipRow).where(
        MembershipRow.user_id == user.id).order_by(PracticeRow.code)))


def _require_over_user(session: Session, principal: Principal, user: UserRow) -> None:
    """Managing a user (disable, password) takes ``users.manage`` in each of its practices,
    or in the principal's own for a user who belongs to none."""
    practices = _practices_of(session, user) or [_target_practice(session, principal, None)]
    for practice in practices:
        _require_in(session, principal, Action.USERS_MANAGE, practice)


def disable_user(work: UnitOfWork, principal: Principal, name: str) -> UserInfo:
    """The user may no longer sign in or act (its rows and its audit trail stay)."""
    session = work.session
    user = _user(session, name)
    _require_over_user(session, principal, user)
    if principal.kind is PrincipalKind.USER and principal.id == user.id:
        raise MedbillError(f"user {user.name}: you cannot disable yourself")
    if user.disabled_at is not None:
        raise MedbillError(f"user {user.name} is already disabled")
    _keep_an_administrator(session, user, [p.id for p in _practices_of(session, user)])
    user.disabled_at = utcnow()
    session.flush()
    audit.record(session, actor=principal.actor, action="user.disabled", entity_type="user",
                 entity_id=user.id)
    _end_sessions(session, principal, user.id, reason="user.disabled")
    return _user_info(session, user, _target_practice(session, principal, None))


def enable_user(work: UnitOfWork, principal: Principal, name: str) -> UserInfo:
    """A disabled or locked user may sign in again (its failed-login count starts over)."""
    session = work.session
    user = _user(session, name)
    _require_over_user(session, principal, user)
    user.disabled_at = None
    user.locked_until = None
    user.failed_logins = 0
    session.flush()
    audit.record(session, actor=principal.actor, action="user.enabled", entity_type="user",
                 entity_id=user.id)
    return _user_info(session, user, _target_practice(session, principal, None))


def set_password(work: UnitOfWork, principal: Principal, name: str, password: str) -> None:
    """Set (or replace) a user's password: the user's own, or anyone's with ``users.manage``
    in the user's practices. A lock from failed logins is lifted."""
    session = work.session
    user = _user(session, name)
    own = principal.kind is PrincipalKind.USER and principal.id == user.id
    if not own:
        _require_over_user(session, principal, user)
    _check_password(user.name, password)
    user.password_hash = _hasher().hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    audit.record(session, actor=principal.actor, action="user.password_set",
                 entity_type="user", entity_id=user.id)
    _end_sessions(session, principal, user.id, reason="user.password_set")


def grant(work: UnitOfWork, principal: Principal, name: str, role: Role, *,
          practice_code: str | None = None) -> UserInfo:
    """Give the user ``role`` in the practice: a new membership, or a new role in one it
    has. Nothing is written when it already has that role."""
    session = work.session
    practice = _target_practice(session, principal, practice_code)
    _require_in(session, principal, Action.USERS_MANAGE, practice)
    user = _user(session, name)
    membership = session.scalar(select(MembershipRow).where(
        MembershipRow.user_id == user.id, MembershipRow.practice_id == practice.id))
    if membership is None:
        session.add(MembershipRow(user_id=user.id, practice_id=practice.id, role=role.value))
        session.flush()
        audit.record(session, actor=principal.actor, action="membership.granted",
                     entity_type="user", entity_id=user.id,
                     details={"practice": practice.code, "role": role.value})
    elif membership.role != role.value:
        if role is not Role.ADMINISTRATOR:
            _keep_an_administrator(session, user, [practice.id])
        before = membership.role
        membership.role = role.value
        session.flush()
        audit.record(session, actor=principal.actor, action="membership.role_changed",
                     entity_type="user", entity_id=user.id,
                     details={"practice": practice.code, "from": before, "to": role.value})
    return _user_info(session, user, practice)


def revoke(work: UnitOfWork, principal: Principal, name: str, *,
           practice_code: str | None = None) -> UserInfo:
    """Take the user's membership (and role) in the practice away."""
    session = work.session
    practice = _target_practice(session, principal, practice_code)
    _require_in(session, principal, Action.USERS_MANAGE, practice)
    user = _user(session, name)
    membership = session.scalar(select(MembershipRow).where(
        MembershipRow.user_id == user.id, MembershipRow.practice_id == practice.id))
    if membership is None:
        raise ValidationFailed(f"user {user.name}",
                               [("practice", f"not a member of practice {practice.code}")])
    _keep_an_administrator(session, user, [practice.id])
    role = membership.role
    session.delete(membership)
    session.flush()
    audit.record(session, actor=principal.actor, action="membership.revoked",
                 entity_type="user", entity_id=user.id,
                 details={"practice": practice.code, "role": role})
    _end_sessions(session, principal, user.id, practice_id=practice.id,
                 reason="membership.revoked")
    return _user_info(session, user, practice)


def _end_sessions(session: Session, principal: Principal, user_id: int, *,
                 practice_id: int | None = None, reason: str) -> int:
    """Revoke the user's live browser sessions (in one practice, or all): called when the
    user is disabled, its membership taken away or its password set. Returns how many; when
    any, a ``sessions.revoked`` event says so (``reason``: the change that ended them)."""
    query = update(UserSessionRow).where(UserSessionRow.user_id == user_id,
                                         UserSessionRow.revoked_at.is_(None))
    if practice_id is not None:
        query = query.where(UserSessionRow.practice_id == practice_id)
    ended = session.execute(query.values(revoked_at=utcnow())
                            .execution_options(synchronize_session=False))
    count = int(getattr(ended, "rowcount", 0) or 0)
    if count:
        audit.record(session, actor=principal.actor, action="sessions.revoked",
                     entity_type="user", entity_id=user_id,
                     details={"count": count, "reason": reason})
    return count


def authenticate_password(app: Medbill, name: str, password: str,
                          practice_code: str | None = None) -> Principal:
    """Sign a user in with a password, in the practice ``practice_code`` names (may be left
    out by a member of one practice only).

    A wrong password counts; :data:`MAX_FAILED_LOGINS` in a row lock the account for
    :data:`LOCKOUT` (a locked account fails even with the right password). The count is
    committed before the refusal is raised, so a refusal still counts. An unknown name costs
    what a wrong password costs (a hash is verified either way). The hash is verified
    outside any transaction: argon2's tenth of a second must not hold SQLite's write lock.

    :raises NotAuthenticated: :data:`AUTHENTICATION_FAILED`, whatever the reason.
    """
    now = utcnow()
    stored: str | None = None
    user_id: int | None = None
    practice_id: int | None = None
    with app.unit_of_work(read_only=True) as work:
        user = (work.session.scalar(select(UserRow).where(UserRow.name == name.strip().lower()))
                if _NAME.match(name.strip()) else None)
        if user is not None and user.disabled_at is None \
                and (user.locked_until is None or as_utc(user.locked_until) <= now):
            stored, user_id = user.password_hash, user.id
            practice_id = _signing_into(work.session, user.id, practice_code)
    if stored is None or user_id is None:
        _verify(_decoy_hash(), password)
        raise NotAuthenticated(AUTHENTICATION_FAILED)
    # the sign-in and its failures are the audit trail of the practice signed into (that of
    # the installation's configured practice only when none is found: no such membership)
    if not _verify(stored, password):
        with app.unit_of_work(actor="anonymous", practice_id=practice_id) as work:
            _count_failure(work.session, user_id, now)
        raise NotAuthenticated(AUTHENTICATION_FAILED)
    rehashed = _hasher().hash(password) if _hasher().check_needs_rehash(stored) else None
    with app.unit_of_work(practice_id=practice_id) as work:
        principal = _signed_in(work.session, user_id, stored, practice_code, now, rehashed)
    if principal is None:
        raise NotAuthenticated(AUTHENTICATION_FAILED)
    return principal


def _memberships(user_id: int, practice_code: str | None) -> Select[str, PracticeRow]:
    """The user's memberships in active practices (in the practice ``practice_code`` names)."""
    query = select(MembershipRow.role, PracticeRow).join(PracticeRow).where(
        MembershipRow.user_id == user_id, PracticeRow.active.is_(True))
    if practice_code is not None:
        query = query.where(PracticeRow.code == practice_code.strip().lower())
    return query


def _signing_into(session: Session, user_id: int, practice_code: str | None) -> int | None:
    """The practice a sign-in of the user would open (None: none, or several and none named)."""
    found = session.execute(_memberships(user_id, practice_code).limit(2)).all()
    return found[0][1].id if len(found) == 1 else None


def _count_failure(session: Session, user_id: int, now: datetime) -> None:
    # one statement adds the failure: two wrong guesses at once both count
    session.execute(update(UserRow).where(UserRow.id == user_id)
                    .values(failed_logins=UserRow.failed_logins + 1)
                    .execution_options(synchronize_session=False))
    user = session.get(UserRow, user_id, populate_existing=True)
    if user is None:  # deleted meanwhile
        return
    audit.record(session, actor="anonymous", action="user.login_failed", entity_type="user",
                 entity_id=user.id, details={"failed_logins": user.failed_logins})
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0
        session.flush()
        audit.record(session, actor="anonymous", action="user.locked", entity_type="user",
                     entity_id=user.id, details={"minutes": int(LOCKOUT.total_seconds() // 60)})


def _signed_in(session: Session, user_id: int, verified_hash: str, practice_code: str | None,
               now: datetime, rehashed: str | None) -> Principal | None:
    """The sign-in of a user whose password matched ``verified_hash``, unless the account
    changed since it was read (disabled, locked, its password replaced) or has no membership
    in the practice asked for (or several, and none asked for)."""
    user = session.get(UserRow, user_id, populate_existing=True)
    if (user is None or user.disabled_at is not None or user.password_hash != verified_hash
            or (user.locked_until is not None and as_utc(user.locked_until) > now)):
        return None
    found = session.execute(_memberships(user.id, practice_code).limit(2)).all()
    if len(found) != 1:
        return None
    role, practice = found[0]
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if rehashed is not None:  # the library's parameters grew since: stronger from now on
        user.password_hash = rehashed
    session.flush()
    principal = Principal(kind=PrincipalKind.USER, id=user.id, name=user.name,
                          practice_id=practice.id, role=Role(role))
    audit.record(session, actor=principal.actor, action="user.login", entity_type="user",
                 entity_id=user.id, details={"practice": practice.code})
    return principal


# -- API keys ----------------------------------------------------------------------------------

def _secret_hash(secret: str) -> str:
    # SHA-256, not argon2: the secret is 256 random bits (secrets.token_urlsafe(32)), so no
    # dictionary or brute-force search over it is feasible, and a slow hash (made to protect
    # guessable human passwords) would only add tens of milliseconds to every API call.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _key_info(row: ApiKeyRow, practice_code: str) -> KeyInfo:
    return KeyInfo(id=row.id, practice_code=practice_code, role=Role(row.role), label=row.label,
                   prefix=row.prefix, created_at=as_utc(row.created_at),
                   created_by=row.created_by, revoked_at=_aware(row.revoked_at),
                   last_used_at=_aware(row.last_used_at), expires_at=_aware(row.expires_at))


def create_key(work: UnitOfWork, principal: Principal, label: str, role: Role, *,
               practice_code: str | None = None,
               expires_at: datetime | None = None) -> CreatedKey:
    """A new API key for the practice (default: the principal's) acting with ``role``.

    The token is returned here and never again: only its prefix and the SHA-256 of its
    secret are stored. ``label`` names the key in the audit trail (``key:<label>``): unique
    among the practice's keys not revoked.
    """
    session = work.session
    practice = _target_practice(session, principal, practice_code)
    _require_in(session, principal, Action.KEYS_MANAGE, practice)
    normal = _normal_name(label, "key")
    if expires_at is not None and as_utc(expires_at) <= utcnow():
        raise ValidationFailed(f"key {normal}", [("expires", "must be in the future")])
    taken = session.scalar(select(ApiKeyRow.id).where(
        ApiKeyRow.practice_id == practice.id, ApiKeyRow.label == normal,
        ApiKeyRow.revoked_at.is_(None)))
    if taken is not None:
        raise ValidationFailed(f"key {normal}", [(
            "label", f"key {taken} of practice {practice.code} has it (revoke it first, or "
                     "choose another)")])
    prefix = secrets.token_hex(6)
    while session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.prefix == prefix)) is not None:
        prefix = secrets.token_hex(6)  # 48 bits: a repeat is rare, never silent
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(practice_id=practice.id, role=role.value, label=normal, prefix=prefix,
                    secret_hash=_secret_hash(secret), created_at=utcnow(),
                    created_by=principal.actor[:80], expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.record(session, actor=principal.actor, action="api_key.created", entity_type="api_key",
                 entity_id=row.id, details={"practice": practice.code, "role": role.value,
                                            "label": normal, "prefix": prefix})
    return CreatedKey(_key_info(row, practice.code), f"{TOKEN_PREFIX}_{prefix}_{secret}")


def list_keys(work: UnitOfWork, principal: Principal, *,
              practice_code: str | None = None) -> list[KeyInfo]:
    """The practice's keys (default: the principal's practice), revoked ones too, newest
    first."""
    session = work.session
    practice = _target_practice(session, principal, practice_code)
    _require_in(session, principal, Action.KEYS_READ, practice)
    rows = session.scalars(select(ApiKeyRow).where(ApiKeyRow.practice_id == practice.id)
                           .order_by(ApiKeyRow.id.desc()))
    return [_key_info(row, practice.code) for row in rows]


def revoke_key(work: UnitOfWork, principal: Principal, id_or_prefix: str) -> KeyInfo:
    """Revoke a key named by its id or its prefix (``3``, ``1a2b3c4d5e6f``, ``mbk_1a2b...``):
    it fails every sign-in from now on."""
    session = work.session
    given = id_or_prefix.strip()
    row: ApiKeyRow | None
    if given.isdigit() and len(given) < 10:  # an id; a prefix is 12 characters (all digits
        row = session.get(ApiKeyRow, int(given))  # one time in 280)
    else:
        match = _KEY_PREFIX.match(given)
        row = (session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == match.group(1)))
               if match else None)
    if row is None:
        raise NotFound("key", repr(given[:20]))
    practice = session.get(PracticeRow, row.practice_id)
    assert practice is not None  # a foreign key
    _require_in(session, principal, Action.KEYS_MANAGE, practice)
    if row.revoked_at is not None:
        raise MedbillError(f"key {row.id} ({row.label}) is already revoked")
    row.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor=principal.actor, action="api_key.revoked", entity_type="api_key",
                 entity_id=row.id, details={"practice": practice.code, "prefix": row.prefix})
    return _key_info(row, practice.code)


#: an API key by its prefix, with whether its practice is open
_KEY_LOOKUP = select(ApiKeyRow.id, ApiKeyRow.label, ApiKeyRow.role, ApiKeyRow.secret_hash,
                     ApiKeyRow.revoked_at, ApiKeyRow.expires_at, ApiKeyRow.last_used_at,
                     ApiKeyRow.practice_id, PracticeRow.active) \
    .join(PracticeRow, PracticeRow.id == ApiKeyRow.practice_id) \
    .where(ApiKeyRow.prefix == bindparam("prefix"))


def authenticate_key(app: Medbill, token: str) -> Principal:
    """The principal an API key's token acts as; records when the key was last used (to
    the minute: see :data:`LAST_USED_RESOLUTION`).

    :raises NotAuthenticated: :data:`AUTHENTICATION_FAILED` for a malformed, unknown,
        revoked or expired key, or one of a closed practice.
    """
    match = _TOKEN.match(token.strip())
    now = utcnow()
    principal: Principal | None = None
    stale = False
    # one Core read, not a unit of work: every API request pays for it, and an ORM session
    # with two loaded entities cost as much as the balance read the request came for
    with app.database.read_connection() as connection:
        row = connection.execute(_KEY_LOOKUP, {"prefix": match.group(1)}).first() \
            if match else None
    # the digest is computed and compared whatever was found (constant time)
    digest = _secret_hash(match.group(2) if match else "")
    if row is not None and (hmac.compare_digest(row.secret_hash, digest)
                            and row.revoked_at is None
                            and (row.expires_at is None or as_utc(row.expires_at) > now)
                            and row.active):
        principal = Principal(kind=PrincipalKind.API_KEY, id=row.id, name=row.label,
                              practice_id=row.practice_id, role=Role(row.role))
        stale = (row.last_used_at is None
                 or as_utc(row.last_used_at) < now - LAST_USED_RESOLUTION)
    if principal is None:
        raise NotAuthenticated(AUTHENTICATION_FAILED)
    if stale:
        with app.unit_of_work(actor=principal.actor) as work:
            # not audited: a timestamp of use, not a change of any record (the calls
            # themselves are audited by what they do)
            work.session.execute(
                update(ApiKeyRow).where(ApiKeyRow.id == principal.id).values(last_used_at=now)
                .execution_options(synchronize_session=False))
    return principal


# -- practices (tenants) -----------------------------------------------------------------------

def add_practice(work: UnitOfWork, principal: Principal, code: str, name: str, *,
                 details: Practice | None = None) -> PracticeInfo:
    """A new practice (a billing company's new client). An administrator of the practice the
    principal acts in creates it and becomes its administrator (the stand-in administrator of
    a database without users creates it alone). ``details``: the billing provider (name, NPI,
    tax id, address ...) its claims are sent as; without them it cannot bill yet.
    """
    require(principal, Action.PRACTICES_MANAGE)
    session = work.session
    normal = code.strip().lower()
    if not _PRACTICE_CODE.match(normal):
        raise ValidationFailed(f"practice {code.strip()!r}", [(
            "code", "1-32 lower-case letters, digits or '-', starting with a letter or digit")])
    if not name.strip() or len(name.strip()) > 60:
        raise ValidationFailed(f"practice {normal}", [("name", "1-60 characters")])
    if session.scalar(select(PracticeRow.id).where(PracticeRow.code == normal)) is not None:
        raise ValidationFailed(f"practice {normal}", [("code", "already exists")])
    row = PracticeRow(code=normal, name=name.strip(), active=True, created_at=utcnow(),
                      details=details.model_dump(mode="json") if details is not None else None)
    session.add(row)
    session.flush()
    if not principal.bootstrap and principal.kind is PrincipalKind.USER:
        session.add(MembershipRow(user_id=principal.id, practice_id=row.id,
                                  role=Role.ADMINISTRATOR.value))
    audit.record(session, actor=principal.actor, action="practice.created",
                 entity_type="practice", entity_id=row.id,
                 details={"code": normal, "details": details is not None})
    return _practice_info(row)


def set_practice_details(work: UnitOfWork, principal: Principal, details: Practice, *,
                         practice_code: str | None = None) -> PracticeInfo:
    """Set the billing provider details of a practice (default: the principal's)."""
    session = work.session
    practice = _target_practice(session, principal, practice_code)
    _require_in(session, principal, Action.PRACTICES_MANAGE, practice)
    practice.details = details.model_dump(mode="json")
    practice.name = details.name[:60]
    audit.record(session, actor=principal.actor, action="practice.details_set",
                 entity_type="practice", entity_id=practice.id, details={"code": practice.code})
    return _practice_info(practice)


def practices_of(work: UnitOfWork, principal: Principal) -> list[PracticeInfo]:
    """The practices ``principal`` may act in: a user's memberships, a key's own practice."""
    require(principal, Action.PRACTICES_READ)
    session = work.session
    if principal.kind is PrincipalKind.USER and not principal.bootstrap:
        rows = session.scalars(select(PracticeRow).join(
            MembershipRow, MembershipRow.practice_id == PracticeRow.id).where(
            MembershipRow.user_id == principal.id).order_by(PracticeRow.code))
        return [_practice_info(row) for row in rows]
    if principal.bootstrap:
        return list_practices(work)
    row = session.get(PracticeRow, principal.practice_id)
    return [_practice_info(row)] if row is not None else []

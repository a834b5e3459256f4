"""Identity services (medbill_core/services/identity.py) on SQLite and PostgreSQL: the
configured practice as a row, users and roles, passwords with lockout, API keys, the command
line's local user."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import (
    ConfigurationError,
    MedbillError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from medbill_core.services import identity
from medbill_core.services.identity import (
    AUTHENTICATION_FAILED,
    MAX_FAILED_LOGINS,
    authenticate_key,
    authenticate_password,
)
from medbill_core.storage.schema import ApiKeyRow, PracticeRow, UserRow, utcnow

PASSWORD = "correct horse battery"


def as_user(app: Medbill, name: str | None = None, practice_code: str | None = None
            ) -> Principal:
    config = app.config.model_copy(update={"user": name, "practice_code": practice_code})
    with app.unit_of_work(read_only=True) as work:
        return identity.local_principal(work, config)


def with_admin(app: Medbill, name: str = "alice") -> Principal:
    """The first user, an administrator with a password, added by the bootstrap one."""
    bootstrap = as_user(app)
    with app.unit_of_work() as work:
        identity.add_user(work, bootstrap, name, Role.ADMINISTRATOR, password=PASSWORD)
    return as_user(app, name)


def add(app: Medbill, by: Principal, name: str, role: Role, **options: Any) -> None:
    with app.unit_of_work() as work:
        identity.add_user(work, by, name, role, **options)


def second_practice(app: Medbill, code: str = "north") -> int:
    with app.unit_of_work() as work:
        row = PracticeRow(code=code, name="North Clinic", active=True, created_at=utcnow())
        work.session.add(row)
        work.session.flush()
        return row.id


def events(app: Medbill, action: str) -> list[audit.AuditEvent]:
    with app.unit_of_work(read_only=True) as work:
        return list(audit.query(work.session, action=action))


# -- the practice row and the bootstrap administrator ----------------------------------------

def test_upgrade_makes_the_configured_practice_a_row_once(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work(read_only=True) as work:
        practices = identity.list_practices(work)
    assert [(p.code, p.name, p.active) for p in practices] == [
        ("default", medbill_app.config.practice.name, True)]  # type: ignore[union-attr]
    with medbill_app.unit_of_work() as work:
        assert identity.ensure_practice(work, medbill_app.config) is None
        assert len(identity.list_practices(work)) == 1


def test_the_practice_code_comes_from_the_configuration(medbill_config: Any) -> None:
    config = medbill_config.model_copy(update={"practice_code": "smith-peds"})
    app = Medbill.open(config, load_installed=False, upgrade=True)
    try:
        with app.unit_of_work(read_only=True) as work:
            assert [p.code for p in identity.list_practices(work)] == ["smith-peds"]
        assert as_user(app, practice_code="smith-peds").bootstrap
    finally:
        app.close()


def test_without_users_the_cli_is_a_bootstrap_administrator(medbill_app: Medbill) -> None:
    me = as_user(medbill_app)
    assert (me.kind, me.id, me.role, me.bootstrap) == (
        PrincipalKind.USER, 0, Role.ADMINISTRATOR, True)
    assert me.actor == f"user:{audit.os_user()}"
    with pytest.raises(ConfigurationError, match="practice_code 'nowhere' names no practice"):
        as_user(medbill_app, practice_code="nowhere")


def test_the_first_user_must_be_an_administrator(medbill_app: Medbill) -> None:
    bootstrap = as_user(medbill_app)
    with pytest.raises(ValidationFailed, match="role: the first user must be an administrator"):
        add(medbill_app, bootstrap, "bob", Role.BILLER)
    add(medbill_app, bootstrap, "Alice", Role.ADMINISTRATOR)
    created = events(medbill_app, "user.created")
    assert [(e.actor, e.details) for e in created] == [
        (bootstrap.actor, {"practice": "default", "role": "administrator", "password": False})]
    alice = as_user(medbill_app, "alice")
    assert (alice.name, alice.role, alice.bootstrap, alice.actor) == (
        "alice", Role.ADMINISTRATOR, False, "user:alice")


# -- users and roles ---------------------------------------------------------------------------

def test_user_names_are_checked_and_unique(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    with pytest.raises(ValidationFailed, match="user alice: name: already exists"):
        add(medbill_app, alice, "ALICE", Role.BILLER)
    for bad in ("", "-dash", "has space", "x" * 65, "[/x]"):
        with pytest.raises(ValidationFailed, match="name: 1-64 letters"):
            add(medbill_app, alice, bad, Role.BILLER)
    with pytest.raises(ValidationFailed, match="password: at least 12 characters"):
        add(medbill_app, alice, "bob", Role.BILLER, password="short")
    with pytest.raises(NotFound, match="practice 'nowhere' not found"):
        add(medbill_app, alice, "bob", Role.BILLER, practice_code="nowhere")


def test_only_a_role_with_users_manage_changes_users(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "bob", Role.BILLER)
    add(medbill_app, alice, "meg", Role.BILLING_MANAGER)
    add(medbill_app, alice, "ann", Role.AUDITOR)
    bob, meg, ann = (as_user(medbill_app, name) for name in ("bob", "meg", "ann"))
    for who in (bob, meg, ann):
        with pytest.raises(PermissionDenied, match=f"^{who.role.value} may not users.manage$"):
            add(medbill_app, who, "eve", Role.ADMINISTRATOR)
    with medbill_app.unit_of_work(read_only=True) as work:
        listed = identity.list_users(work, ann)  # the auditor reviews access
        assert [(u.name, u.role, u.status) for u in listed] == [
            ("alice", Role.ADMINISTRATOR, "active"), ("ann", Role.AUDITOR, "active"),
            ("bob", Role.BILLER, "active"), ("meg", Role.BILLING_MANAGER, "active")]
        with pytest.raises(PermissionDenied, match="^biller may not users.read$"):
            identity.list_users(work, bob)


def test_grant_changes_a_role_and_revoke_takes_it(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "bob", Role.BILLER)
    with medbill_app.unit_of_work() as work:
        assert identity.grant(work, alice, "bob", Role.BILLING_MANAGER).role \
            is Role.BILLING_MANAGER
        identity.grant(work, alice, "bob", Role.BILLING_MANAGER)  # already: nothing written
    assert [e.details for e in events(medbill_app, "membership.role_changed")] == [
        {"practice": "default", "from": "biller", "to": "billing_manager"}]
    with medbill_app.unit_of_work() as work:
        assert identity.revoke(work, alice, "bob").role is None
        with pytest.raises(ValidationFailed, match="not a member of practice default"):
            identity.revoke(work, alice, "bob")
    with pytest.raises(ConfigurationError, match="'bob' is a member of no practice"):
        as_user(medbill_app, "bob")


def test_a_practice_keeps_an_active_administrator(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "bob", Role.ADMINISTRATOR)
    bob = as_user(medbill_app, "bob")
    with medbill_app.unit_of_work() as work:
        with pytest.raises(MedbillError, match="you cannot disable yourself"):
            identity.disable_user(work, alice, "alice")
        identity.disable_user(work, bob, "alice")
    with pytest.raises(NotAuthenticated, match="local user 'alice' is disabled"):
        as_user(medbill_app, "alice")
    with medbill_app.unit_of_work() as work:
        for change in (lambda: identity.grant(work, bob, "bob", Role.BILLER),
                       lambda: identity.revoke(work, bob, "bob")):
            with pytest.raises(MedbillError, match="last active administrator of practice"):
                change()
        identity.enable_user(work, bob, "alice")
        identity.grant(work, alice, "bob", Role.BILLER)  # alice is active again: allowed
    assert as_user(medbill_app, "bob").role is Role.BILLER


def test_other_practices_take_a_role_there(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    second_practice(medbill_app)
    # to a non-member, another tenant's practice is as unknown as a code that does not exist
    with medbill_app.unit_of_work() as work, pytest.raises(NotFound,
                                                           match="^practice 'north' not found$"):
        identity.add_user(work, alice, "bob", Role.BILLER, practice_code="north")
    # a bootstrap administrator acts in any practice: here it makes alice a member of north
    with medbill_app.unit_of_work() as work:
        identity.grant(work, alice.model_copy(update={"bootstrap": True}), "alice",
                       Role.ADMINISTRATOR, practice_code="north")
    with medbill_app.unit_of_work() as work:
        identity.add_user(work, alice, "bob", Role.BILLER, practice_code="north")
    bob = as_user(medbill_app, "bob")
    with medbill_app.unit_of_work() as work:  # a member, without the role: refused as such
        with pytest.raises(PermissionDenied, match="^biller may not users.manage$"):
            identity.grant(work, bob, "bob", Role.ADMINISTRATOR)
        alice_default = as_user(medbill_app, "alice", practice_code="default")
        identity.grant(work, alice_default, "bob", Role.AUDITOR, practice_code="north")
        identity.grant(work, alice_default, "bob", Role.BILLER)  # in default: a second one
    north_bob = as_user(medbill_app, "bob", practice_code="north")
    with medbill_app.unit_of_work() as work, pytest.raises(
            PermissionDenied, match="^biller may not users.read in practice default$"):
        identity.list_users(work, north_bob, practice_code="default")
    with pytest.raises(ConfigurationError, match="member of several practices"):
        as_user(medbill_app, "alice")
    assert as_user(medbill_app, "alice", practice_code="north").role is Role.ADMINISTRATOR


def test_the_local_user_is_named_or_the_os_account(medbill_app: Medbill) -> None:
    with_admin(medbill_app)
    with pytest.raises(ConfigurationError, match="user 'nobody' .* names no user"):
        as_user(medbill_app, "nobody")
    if audit.os_user() != "alice":
        with pytest.raises(ConfigurationError, match="set \\[medbill\\] user"):
            as_user(medbill_app)


# -- passwords ---------------------------------------------------------------------------------

def test_password_sign_in(medbill_app: Medbill) -> None:
    with_admin(medbill_app)
    signed_in = authenticate_password(medbill_app, "Alice", PASSWORD)
    assert (signed_in.name, signed_in.role, signed_in.kind) == (
        "alice", Role.ADMINISTRATOR, PrincipalKind.USER)
    assert authenticate_password(medbill_app, "alice", PASSWORD, "default") == signed_in
    with medbill_app.unit_of_work(read_only=True) as work:
        row = work.session.scalar(select(UserRow).where(UserRow.name == "alice"))
        assert row is not None and row.last_login_at is not None
        assert row.password_hash is not None and row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash
    assert [e.actor for e in events(medbill_app, "user.login")] == ["user:alice"] * 2


def test_a_sign_in_is_audited_in_the_practice_signed_into(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    north = second_practice(medbill_app)
    with medbill_app.unit_of_work() as work:  # a bootstrap administrator makes alice north's
        identity.grant(work, alice.model_copy(update={"bootstrap": True}), "alice",
                       Role.ADMINISTRATOR, practice_code="north")
    add(medbill_app, alice, "nora", Role.BILLER, practice_code="north", password=PASSWORD)
    with pytest.raises(NotAuthenticated):
        authenticate_password(medbill_app, "nora", "wrong password!")
    assert authenticate_password(medbill_app, "nora", PASSWORD).practice_id == north
    # the default practice's trail holds nothing of north's user (it held both before)
    assert [e.entity_id for e in events(medbill_app, "user.login")] == []
    assert events(medbill_app, "user.login_failed") == []
    with medbill_app.unit_of_work(practice_id=north, read_only=True) as work:
        assert sorted((e.action, e.actor) for e in audit.query(work.session)
                      if e.action.startswith("user.login")) == [
            ("user.login", "user:nora"), ("user.login_failed", "anonymous")]


def test_every_failure_gets_the_same_answer(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "nopass", Role.BILLER)
    second_practice(medbill_app)
    attempts = [("alice", "wrong password!"), ("nobody", PASSWORD), ("nopass", PASSWORD),
                ("[/x]", PASSWORD), ("alice", "")]
    messages = set()
    for name, password in attempts:
        with pytest.raises(NotAuthenticated) as raised:
            authenticate_password(medbill_app, name, password)
        messages.add(str(raised.value))
    with pytest.raises(NotAuthenticated) as raised:  # right password, not a member there
        authenticate_password(medbill_app, "alice", PASSWORD, "north")
    messages.add(str(raised.value))
    assert messages == {AUTHENTICATION_FAILED}


def test_five_failures_lock_the_account(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(NotAuthenticated):
            authenticate_password(medbill_app, "alice", "not the password")
    with pytest.raises(NotAuthenticated, match="^authentication failed"):
        authenticate_password(medbill_app, "alice", PASSWORD)  # locked: even the right one
    assert [e.details for e in events(medbill_app, "user.locked")] == [{"minutes": 15}]
    assert [e.details["failed_logins"]  # type: ignore[index]
            for e in reversed(events(medbill_app, "user.login_failed"))] == [1, 2, 3, 4, 5]
    with medbill_app.unit_of_work(read_only=True) as work:
        assert [u.status for u in identity.list_users(work, alice)] == ["locked"]
    with medbill_app.unit_of_work() as work:  # fifteen minutes later
        work.session.execute(update(UserRow).values(locked_until=utcnow() - timedelta(1)))
    assert authenticate_password(medbill_app, "alice", PASSWORD).name == "alice"


def test_a_failure_count_starts_over_after_a_sign_in(medbill_app: Medbill) -> None:
    with_admin(medbill_app)
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(NotAuthenticated):
            authenticate_password(medbill_app, "alice", "not the password")
    authenticate_password(medbill_app, "alice", PASSWORD)
    with pytest.raises(NotAuthenticated):
        authenticate_password(medbill_app, "alice", "not the password")
    assert authenticate_password(medbill_app, "alice", PASSWORD).name == "alice"


def test_set_password_own_or_as_administrator(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "bob", Role.BILLER)
    bob = as_user(medbill_app, "bob")
    with medbill_app.unit_of_work() as work:
        identity.set_password(work, bob, "bob", "bobs own passphrase")
        with pytest.raises(PermissionDenied, match="^biller may not users.manage$"):
            identity.set_password(work, bob, "alice", "taken over by bob")
        with pytest.raises(ValidationFailed, match="password: must not be the user name"):
            identity.set_password(work, alice, "bob", "BOB" + " " * 10)
    assert authenticate_password(medbill_app, "bob", "bobs own passphrase").role is Role.BILLER
    assert [e.actor for e in events(medbill_app, "user.password_set")] == ["user:bob"]


def test_a_disabled_user_cannot_sign_in(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "bob", Role.BILLER, password=PASSWORD)
    with medbill_app.unit_of_work() as work:
        assert identity.disable_user(work, alice, "bob").status == "disabled"
    with pytest.raises(NotAuthenticated, match="^authentication failed"):
        authenticate_password(medbill_app, "bob", PASSWORD)
    with medbill_app.unit_of_work() as work:
        identity.enable_user(work, alice, "bob")
    assert authenticate_password(medbill_app, "bob", PASSWORD).name == "bob"


# -- API keys ----------------------------------------------------------------------------------

def test_a_key_is_shown_once_and_stored_hashed(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    with medbill_app.unit_of_work() as work:
        created = identity.create_key(work, alice, "EHR-sync", Role.BILLER)
    token = created.token
    prefix, secret = token.split("_", 2)[1:]
    assert token.startswith("mbk_") and created.key.prefix == prefix and len(secret) == 43
    with medbill_app.unit_of_work(read_only=True) as work:
        row = work.session.scalar(select(ApiKeyRow))
        assert row is not None
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in json.dumps([str(v) for v in vars(row).values()])
        listed = identity.list_keys(work, alice)
    assert [(k.label, k.role, k.status, k.created_by) for k in listed] == [
        ("ehr-sync", Role.BILLER, "active", "user:alice")]
    assert secret not in repr(listed)
    [event] = events(medbill_app, "api_key.created")
    assert event.actor == "user:alice" and secret not in json.dumps(event.details)

    principal = authenticate_key(medbill_app, token)
    assert (principal.kind, principal.name, principal.role, principal.actor) == (
        PrincipalKind.API_KEY, "ehr-sync", Role.BILLER, "key:ehr-sync")
    with medbill_app.unit_of_work(read_only=True) as work:
        used = identity.list_keys(work, alice)[0].last_used_at
    assert used is not None
    authenticate_key(medbill_app, token)  # again within the minute: not written again
    with medbill_app.unit_of_work(read_only=True) as work:
        assert identity.list_keys(work, alice)[0].last_used_at == used


def test_bad_revoked_and_expired_keys_fail_alike(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    with medbill_app.unit_of_work() as work:
        token = identity.create_key(work, alice, "ehr", Role.FRONT_DESK).token
        old = identity.create_key(work, alice, "old", Role.AUDITOR).token
    prefix = token.split("_")[1]
    wrong_secret = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    forged = [wrong_secret, "mbk_000000000000_" + token.split("_", 2)[2], "", "mbk_",
              token.upper(), "Bearer " + token]
    with medbill_app.unit_of_work() as work:
        work.session.execute(update(ApiKeyRow).where(ApiKeyRow.label == "old")
                             .values(expires_at=utcnow() - timedelta(seconds=1)))
    for bad in [*forged, old]:
        with pytest.raises(NotAuthenticated) as raised:
            authenticate_key(medbill_app, bad)
        assert str(raised.value) == AUTHENTICATION_FAILED
    assert authenticate_key(medbill_app, token).role is Role.FRONT_DESK
    with medbill_app.unit_of_work() as work:
        assert identity.revoke_key(work, alice, f"mbk_{prefix}").status == "revoked"
        with pytest.raises(MedbillError, match="is already revoked"):
            identity.revoke_key(work, alice, prefix)
    with pytest.raises(NotAuthenticated):
        authenticate_key(medbill_app, token)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert {k.label: k.status for k in identity.list_keys(work, alice)} == {
            "ehr": "revoked", "old": "expired"}


def test_a_key_whose_prefix_is_all_digits_is_revoked_by_it(
        medbill_app: Medbill, monkeypatch: pytest.MonkeyPatch) -> None:
    """A prefix is 12 hexadecimal digits, all decimal one time in 280: it is still a prefix,
    not an id (CI once drew one)."""
    alice = with_admin(medbill_app)
    monkeypatch.setattr(identity.secrets, "token_hex", lambda _n: "581682083774")
    with medbill_app.unit_of_work() as work:
        token = identity.create_key(work, alice, "ehr", Role.BILLER).token
    assert token.startswith("mbk_581682083774_")
    with medbill_app.unit_of_work() as work:
        assert identity.revoke_key(work, alice, "581682083774").status == "revoked"


def test_key_labels_roles_and_expiry(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "meg", Role.BILLING_MANAGER)
    meg = as_user(medbill_app, "meg")
    with medbill_app.unit_of_work() as work:
        first = identity.create_key(work, alice, "ehr", Role.BILLER).key
        with pytest.raises(ValidationFailed, match=f"label: key {first.id} of practice "
                                                   "default has it"):
            identity.create_key(work, alice, "EHR", Role.BILLER)
        with pytest.raises(ValidationFailed, match="expires: must be in the future"):
            identity.create_key(work, alice, "late", Role.BILLER, expires_at=utcnow())
        with pytest.raises(PermissionDenied, match="^billing_manager may not keys.manage$"):
            identity.create_key(work, meg, "mine", Role.ADMINISTRATOR)
        assert [k.id for k in identity.list_keys(work, meg)] == [first.id]  # keys.read
        with pytest.raises(PermissionDenied, match="^billing_manager may not keys.manage$"):
            identity.revoke_key(work, meg, str(first.id))
        identity.revoke_key(work, alice, str(first.id))
        again = identity.create_key(work, alice, "ehr", Role.BILLER).key  # rotated
        assert again.id != first.id
        for unknown in ("999", "nothing", "mbk_ffffffffffff", "99999999999999999999"):
            with pytest.raises(NotFound, match="^key '.*' not found$"):
                identity.revoke_key(work, alice, unknown)


def test_a_key_acts_only_in_its_own_practice(medbill_app: Medbill) -> None:
    alice = with_admin(medbill_app)
    second_practice(medbill_app)
    with medbill_app.unit_of_work() as work:
        token = identity.create_key(work, alice, "admin-key", Role.ADMINISTRATOR).token
    key = authenticate_key(medbill_app, token)
    with medbill_app.unit_of_work() as work:
        with pytest.raises(NotFound, match="^practice 'north' not found$"):
            identity.create_key(work, key, "other", Role.BILLER, practice_code="north")
        made = identity.create_key(work, key, "made-by-key", Role.BILLER).key
    assert made.created_by == "key:admin-key"
    with medbill_app.unit_of_work() as work:  # a closed practice's keys stop working
        work.session.execute(update(PracticeRow).values(active=False))
    with pytest.raises(NotAuthenticated):
        authenticate_key(medbill_app, token)


def test_failures_at_the_same_moment_all_count(medbill_app: Medbill) -> None:
    """Guesses sent in parallel (a script, several clients) still lock the account: each
    failure is added by one UPDATE, never read-modify-written."""
    from concurrent.futures import ThreadPoolExecutor

    with_admin(medbill_app)

    def guess(_attempt: int) -> str:
        try:
            authenticate_password(medbill_app, "alice", "a guessed password")
        except NotAuthenticated as exc:
            return str(exc)
        return "signed in"

    with ThreadPoolExecutor(max_workers=MAX_FAILED_LOGINS) as pool:
        answers = list(pool.map(guess, range(MAX_FAILED_LOGINS)))
    assert answers == [AUTHENTICATION_FAILED] * MAX_FAILED_LOGINS
    assert len(events(medbill_app, "user.locked")) == 1
    with pytest.raises(NotAuthenticated):
        authenticate_password(medbill_app, "alice", PASSWORD)


def test_the_password_is_verified_outside_any_transaction(
        medbill_app: Medbill, monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's tenth of a second holds no write lock (on SQLite every writer would wait for
    it): another transaction writes meanwhile, here disabling the account, and the sign-in
    sees that change and refuses."""
    alice = with_admin(medbill_app)
    add(medbill_app, alice, "bob", Role.BILLER, password=PASSWORD)
    real_verify = identity._verify

    def verify_while_an_administrator_acts(password_hash: str, password: str) -> bool:
        matched = real_verify(password_hash, password)
        with medbill_app.unit_of_work() as work:  # would wait for a held write lock
            identity.disable_user(work, alice, "bob")
        return matched

    monkeypatch.setattr(identity, "_verify", verify_while_an_administrator_acts)
    with pytest.raises(NotAuthenticated):
        authenticate_password(medbill_app, "bob", PASSWORD)
    assert events(medbill_app, "user.login") == []

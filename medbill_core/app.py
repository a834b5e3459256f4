"""The application object: configuration + database + plugins, and units of work."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.collector import tune_garbage_collector
from medbill_core.config import MedbillConfig, load_config
from medbill_core.domain.identity import Principal
from medbill_core.ledger import Ledger
from medbill_core.permissions import Action, require
from medbill_core.plugins import PluginHooks
from medbill_core.services.claims import ClaimService
from medbill_core.services.patients import PatientService
from medbill_core.storage import tenancy, webhook_outbox
from medbill_core.storage.database import Database

log = logging.getLogger(__name__)

#: The principal of the work running in this thread (or task): :meth:`Medbill.acting_for`.
_acting_for: ContextVar[Principal | None] = ContextVar("medbill_acting_for", default=None)


@dataclass
class UnitOfWork:
    """One transaction's worth of work by one actor.

    Everything done through it commits together when the ``with`` block ends,
    or not at all when it raises. Post-commit callbacks (lifecycle hooks) run
    only after a successful commit.
    """

    app: Medbill
    session: Session
    actor: str
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: run after the transaction was rolled back because the block raised (each in a
    #: transaction of its own, if it writes): what must be remembered although the work
    #: failed, such as a request a payment gateway refused (its key is spent)
    after_rollback: list[Callable[[], None]] = field(default_factory=list)
    #: who acts (a user or an API key, in one practice with one role); None for the
    #: installation's own work (migrations, the worker's dispatch, tests of one service)
    principal: Principal | None = None

    def require(self, action: Action) -> None:
        """Refuse ``action`` unless this unit of work's principal's role allows it
        (:mod:`medbill_core.permissions`). The installation's own work (no principal) may do
        anything: it is not a person acting on a practice's records.

        :raises PermissionDenied: the role does not allow the action.
        """
        if self.principal is not None:
            require(self.principal, action)

    @property
    def patients(self) -> PatientService:
        return PatientService(self.session, actor=self.actor, config=self.app.config,
                              principal=self.principal)

    @property
    def claims(self) -> ClaimService:
        return ClaimService(self.session, actor=self.actor, config=self.app.config,
                            hooks=self.app.hooks, after_commit=self.after_commit,
                            principal=self.principal)

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.session, actor=self.actor)

    @contextmanager
    def batch(self) -> Iterator[Session]:
        """The session, for a set-based (batch) service: no query inside flushes first.

        With autoflush (the default) every query first writes the session's pending ORM
        changes, so a loop that adds a row and then queries, per claim, flushes per claim. A
        batch service reads what it needs for the whole batch first (one query per batch),
        builds its rows in memory and writes them with Core executemany
        (``session.execute(insert(Table), rows)``) or leaves ORM objects to the commit's one
        flush. Inside the block a query does not see ORM objects added inside it: call
        ``session.flush()`` where one must. Audit events are not ORM objects: a read of the
        audit table still sees those recorded (:func:`medbill_core.audit_chain.flush_pending`).
        For a whole unit of work: ``Medbill.unit_of_work(autoflush=False)``.
        """
        with self.session.no_autoflush:
            yield self.session


class Medbill:
    """A running medbill instance."""

    def __init__(self, config: MedbillConfig, database: Database, hooks: PluginHooks) -> None:
        self.config = config
        self.database = database
        self.hooks = hooks
        #: the principal units of work act as when none is given: the command line sets its
        #: local user here (:func:`medbill_core.services.identity.local_principal`)
        self.acting_as: Principal | None = None
        self._default_practice_id: int | None = None

    @classmethod
    def open(cls, config: MedbillConfig | None = None, *,
             extra_plugins: Iterable[tuple[str, Any]] = (), load_installed: bool = True,
             upgrade: bool = False, hooks: PluginHooks | None = None) -> Medbill:
        """Start plugins and open the database.

        :param upgrade: apply pending migrations (otherwise an outdated schema is an error
            at the first unit of work).
        :param hooks: plugins already started for ``config`` (the command line starts them
            to add their commands); they are not started again.
        """
        config = config or load_config()
        tune_garbage_collector()
        if hooks is None:
            hooks = PluginHooks.start(config, extra_plugins=extra_plugins,
                                      load_installed=load_installed)
        database = Database(config.database_url)
        app = cls(config, database, hooks)
        if upgrade:
            database.upgrade()
            app.ensure_practice()
            app.default_practice_id()  # looked up now, not inside the first unit of work
        return app

    def ensure_practice(self) -> None:
        """The ``[practice]`` configuration as the database's first practice row, once
        (:func:`medbill_core.services.identity.ensure_practice`)."""
        from sqlalchemy.exc import IntegrityError

        from medbill_core.services.identity import ensure_practice

        try:
            with self.unit_of_work() as work:
                ensure_practice(work, self.config)
        except IntegrityError:
            pass  # another process upgrading at the same moment created it

    def default_practice_id(self) -> int | None:
        """The practice a unit of work without a principal acts in: the one ``[medbill]
        practice_code`` names (default ``default``, the practice made from ``[practice]``).
        None while the database has no such practice: then the unit of work is the
        installation's own (it sees every practice's rows and may create none)."""
        if self._default_practice_id is None:
            from sqlalchemy import select

            from medbill_core.domain.identity import DEFAULT_PRACTICE_CODE
            from medbill_core.storage.schema import PracticeRow

            code = self.config.practice_code or DEFAULT_PRACTICE_CODE
            with self.database.reader() as session:
                # a practice's id never changes and practices are never deleted: kept
                self._default_practice_id = session.scalar(
                    select(PracticeRow.id).where(PracticeRow.code == code))
        return self._default_practice_id

    def require(self, action: Action, *, principal: Principal | None = None,
                actor: str | None = None) -> None:
        """Refuse ``action`` unless the principal a unit of work opened with these arguments
        would act as (``principal``, else :attr:`acting_as` when no ``actor`` is named) may
        perform it: for services that open their own units of work, before the first.

        :raises PermissionDenied: the role does not allow the action.
        """
        principal = self._principal(principal, actor)
        if principal is not None:
            require(principal, action)

    def _principal(self, principal: Principal | None, actor: str | None, *,
                   installation: bool = False) -> Principal | None:
        """Who a unit of work opened with these arguments acts as: ``principal``; else, unless
        an ``actor`` is named or it is the ``installation``'s own work, the principal of
        :meth:`acting_for`, else :attr:`acting_as`."""
        if principal is not None or actor is not None or installation:
            return principal
        return _acting_for.get() or self.acting_as

    def local_principal(self) -> Principal:
        """Who the command line acts as (:func:`medbill_core.services.identity.local_principal`)."""
        from medbill_core.services.identity import local_principal

        with self.unit_of_work(read_only=True) as work:
            return local_principal(work, self.config)

    @contextmanager
    def acting_for(self, principal: Principal) -> Iterator[None]:
        """Inside the block, in this thread only, units of work opened without a principal
        or an actor act as ``principal``: a service that opens its own units of work (submit,
        an eligibility check, a statement run) runs for the HTTP request, or the background
        job, that called it, while other threads of the same server act for their own."""
        token = _acting_for.set(principal)
        try:
            yield
        finally:
            _acting_for.reset(token)

    @contextmanager
    def unit_of_work(self, actor: str | None = None, *, principal: Principal | None = None,
                     practice_id: int | None = None, all_practices: bool = False,
                     read_only: bool = False, autoflush: bool = True) -> Iterator[UnitOfWork]:
        """A transaction for ``principal`` (default: the principal of :meth:`acting_for`, else
        :attr:`acting_as`), recorded as its actor;
        without one, for ``actor`` (default: the configured actor, else the OS user).

        It sees and creates the records of the principal's practice; without a principal,
        of ``practice_id`` (the installation's own work for one practice: a worker's job),
        else of the configured practice (:meth:`default_practice_id`). ``all_practices``:
        the installation's own work over every practice's records (a server's start marking
        the jobs a stop interrupted); it may create none.

        ``read_only``: for commands that only read (lists, reports): it never waits for a
        writer, even a long posting on SQLite, and anything it would write is refused.
        ``autoflush=False``: for batch services, the whole transaction as in
        :meth:`UnitOfWork.batch`.
        """
        principal = self._principal(principal, actor,
                                    installation=practice_id is not None or all_practices)
        if principal is not None:
            actor = principal.actor
            practice_id = principal.practice_id
        elif all_practices:
            practice_id = None
        elif practice_id is None:
            # a service's own unit of work inside a job acting for one practice acts there too
            practice_id = tenancy.acting_practice_id() or self.default_practice_id()
        actor = actor or self.config.actor or audit.os_user()
        if read_only:
            with tenancy.acting_in(practice_id), self.database.reader() as session:
                tenancy.scoped(session, practice_id)
                yield UnitOfWork(self, session, actor, principal=principal)
            return
        # webhook_outbox.bound: lifecycle hooks record their webhook events into this session
        work: UnitOfWork | None = None
        try:
            with tenancy.acting_in(practice_id), \
                    self.database.transaction(autoflush=autoflush) as session, \
                    webhook_outbox.bound(session):
                tenancy.scoped(session, practice_id)
                work = UnitOfWork(self, session, actor, principal=principal)
                yield work
        except Exception as exc:
            for undone in work.after_rollback if work is not None else ():
                try:
                    undone()
                except Exception as failed:  # the block's own error is the one to report
                    log.error("after a rollback (%s): %s failed", type(exc).__name__,
                              type(failed).__name__)
            raise
        assert work is not None  # the block ran
        for callback in work.after_commit:
            callback()

    def close(self) -> None:
        self.database.dispose()

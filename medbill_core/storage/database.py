"""Engine, sessions, transactions and migrations for one database URL."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from medbill_core.errors import ConfigurationError, MedbillError
from medbill_core.privatefiles import create_private
from medbill_core.storage import tenancy
from medbill_core.storage.schema import ClaimRow, CoverageRow, PatientRow, ProviderRow

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# Alembic (and the template engine it pulls in) is imported where a migration is run or
# the schema revision read, not here: every command opens a database, few migrate, and the
# import alone costs a fifth of the CLI's start-up.

MIGRATIONS = Path(__file__).with_name("migrations")


class _NoResultRows(logging.Filter):
    """Drops SQLAlchemy's DEBUG "Row (...)" records: result rows hold PHI."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Row %r"


# SQLAlchemy logs to this logger whenever it is enabled, e.g. by a root logger at DEBUG.
logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NoResultRows())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions itself, lazily before the first DML statement; a SAVEPOINT
    # issued first then starts its own transaction and RELEASE commits it, so a failed import
    # would be half-committed. Hand transaction control to SQLAlchemy (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    # synchronous=NORMAL, the usual choice under WAL: a commit appends to the WAL without an
    # fsync; the WAL is synced at each checkpoint. Committed data survives any crash of medbill
    # itself (a killed worker, an exception, SIGKILL), and the file is never corrupted. Only a
    # power cut or OS crash can undo the commits made since the last checkpoint (seconds, not
    # a broken database). FULL (SQLite's default) fsyncs the WAL at every commit: 3-4 ms each
    # on this machine, and the cycle commits 1.6 times per claim today, which alone caps it
    # below 200 claims/s. A practice that needs power-cut durability of every last commit, or
    # several machines, runs on PostgreSQL (synchronous_commit on). Backups are unaffected:
    # take them with the backup API or VACUUM INTO (they read through the WAL), not by copying
    # the file alone.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _keep_alive(session: Session, instance: object) -> None:
    # The identity map holds rows weakly: a claim read, converted to its domain object and
    # dropped is fetched again (with its lines) by the next lookup in the same transaction.
    # Keeping the few row kinds that are looked up repeatedly alive for the session's (one
    # transaction's) lifetime turns those lookups into identity-map hits; what is read does
    # not change, as a row still in the identity map is never overwritten by a re-query.
    if isinstance(instance, ClaimRow | CoverageRow | PatientRow | ProviderRow):
        session.info.setdefault("medbill.kept_rows", []).append(instance)
        # claims are also looked up by their number, unique in the session's one practice
        if isinstance(instance, ClaimRow):
            session.info.setdefault("medbill.claim_ids", {})[instance.claim_number] = instance.id
        elif isinstance(instance, ProviderRow):  # providers by their unique NPI
            session.info.setdefault("medbill.providers", {})[instance.npi] = instance


#: execution option of the connections :meth:`Database.reader` sessions use
READ_ONLY_OPTION = "medbill_read_only"
#: ``session.info`` key set on :meth:`Database.reader` sessions (audit events refuse to flush)
READ_ONLY_SESSION = "medbill.read_only"


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a concurrent writer then waits (busy_timeout)
    # instead of failing with "database is locked" when a read transaction turns into a write.
    # A reader never writes, and in WAL mode it reads a snapshot without any lock: a deferred
    # BEGIN lets it run while a long posting holds the write lock.
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise MedbillError("internal error: a read-only transaction tried to write")


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite's procedure for changing a table's constraints (sqlite.org/lang_altertable.html):
    foreign keys off outside the transaction, rebuild the table (copy, DROP, rename), check
    the keys, commit. With them on, dropping a table that others refer to fails, and no
    pragma can turn them off inside a transaction. Other databases are left alone."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")  # autocommit mode: before BEGIN
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection, what: str = "upgrade") -> None:
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
        if broken is not None:
            raise MedbillError(f"database {what} failed: table {broken[0]} row {broken[1]} "
                               f"refers to a missing {broken[2]} row; nothing was changed")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite gets foreign keys, WAL and a busy timeout)."""
    try:
        # hide_parameters: bound values are PHI; keep them out of SQL logs and error text.
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"),
                               hide_parameters=True)
    except Exception as exc:  # unknown dialect, malformed URL
        raise ConfigurationError(f"database_url is not usable: {type(exc).__name__}") from None
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:") \
                and Path(database).parent.is_dir():
            create_private(Path(database))  # the data is PHI: owner-only from the start
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def driver_reason(exc: OperationalError) -> str:
    """Why the database refused, in the driver's words: its first line only (refused
    connection, missing directory, locked file), as later lines may quote row values."""
    lines = str(exc.orig).strip().splitlines()
    return lines[0] if lines else type(exc.orig).__name__


def _unreachable(exc: OperationalError, what: str) -> MedbillError:
    return MedbillError(f"{what}: {driver_reason(exc)}")


class Database:
    """A database medbill stores its data in.

    :meth:`transaction` is the only way to write: everything inside commits
    together or not at all.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Readers share the engine's pool; the option tells the SQLite begin listener.
        self._read_engine = self.engine.execution_options(**{READ_ONLY_OPTION: True})
        self._readers = sessionmaker(self._read_engine, expire_on_commit=False,
                                     info={READ_ONLY_SESSION: True})
        for sessions in (self._sessions, self._readers):
            event.listen(sessions, "loaded_as_persistent", _keep_alive)
            event.listen(sessions, "pending_to_persistent", _keep_alive)
        event.listen(self._readers, "before_flush", _refuse_writes)
        for sessions in (self._sessions, self._readers):
            tenancy.install(sessions, sqlite=self.engine.dialect.name == "sqlite")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def alembic_config(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` (``head`` by default)."""
        config = self.alembic_config()
        try:
            with self.engine.connect() as connection, _sqlite_foreign_keys_off(connection), \
                    connection.begin():
                config.attributes["connection"] = connection
                from alembic import command
                from alembic.runtime.migration import MigrationContext

                def schema_version() -> str | None:
                    return MigrationContext.configure(connection).get_current_revision()

                before = schema_version()
                command.upgrade(config, revision)
                if revision == "head":  # the job queue's tables (PostgreSQL: medbill worker)
                    from medbill_core.jobs.schema import ensure_schema

                    ensure_schema(connection)
                # only a migration can have broken a key (they run with the keys off); the
                # check reads every row, seconds on a big database for an upgrade that did
                # nothing
                if schema_version() != before:
                    _check_foreign_keys(connection)
        except OperationalError as exc:
            raise _unreachable(exc, "database upgrade failed") from None

    def downgrade(self, revision: str) -> None:
        """Undo the migrations after ``revision`` (the migration tests take a database holding
        rows down and up again), as :meth:`upgrade` applies them: on SQLite with the foreign
        keys off while tables are rebuilt (a rebuilt table is dropped and made anew: with the
        keys on, dropping ``claims`` would delete its lines or be refused), checked before the
        commit."""
        config = self.alembic_config()
        try:
            with self.engine.connect() as connection, _sqlite_foreign_keys_off(connection), \
                    connection.begin():
                config.attributes["connection"] = connection
                from alembic import command

                command.downgrade(config, revision)
                _check_foreign_keys(connection, "downgrade")
        except OperationalError as exc:
            raise _unreachable(exc, "database downgrade failed") from None

    def current_revision(self) -> str | None:
        """The schema version of the database (``None`` when empty).

        :raises MedbillError: the database cannot be opened.
        """
        try:
            with self._read_engine.connect() as connection:
                from alembic.runtime.migration import MigrationContext

                return MigrationContext.configure(connection).get_current_revision()
        except OperationalError as exc:
            raise _unreachable(exc, "cannot open the database") from None

    def head_revision(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def require_current(self) -> None:
        """Raise unless the schema is at the newest migration.

        Every command asks this, so it reads the version table with one query and the head
        from the migration files' ``revision`` lines (:func:`script_head`), without loading
        Alembic and every migration module (half a second of each command's start-up).
        """
        try:
            with self._read_engine.connect() as connection:
                current = connection.exec_driver_sql(
                    "SELECT version_num FROM alembic_version").scalar()
        except OperationalError:
            current = self.current_revision()  # no version table yet, or unreachable: say so
        except DBAPIError:
            current = None
        if current != script_head():
            raise MedbillError("the database schema is not up to date: run 'medbill db upgrade'")

    @contextmanager
    def transaction(self, *, autoflush: bool = True) -> Iterator[Session]:
        """A session inside one transaction: commit on success, roll back on any exception.

        ``autoflush=False``: queries never flush pending ORM changes first (see
        :meth:`medbill_core.app.UnitOfWork.batch`); the commit flushes them.
        """
        with self._sessions.begin() as session:
            session.autoflush = autoflush
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A session for reads only: it never waits for a writer (on SQLite its transaction
        starts deferred and reads a WAL snapshot), is rolled back at the end, and refuses to
        flush changes."""
        with self._readers() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection for one short read of installation-wide rows (no ORM session, no
        practice scope: the caller filters), rolled back at the end; on SQLite it never
        waits for a writer, like :meth:`reader`."""
        with self._read_engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


_REVISION_LINE = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|None)',
                            re.MULTILINE)


@functools.cache
def script_head() -> str | None:
    """The newest migration's revision id, read from the ``revision`` / ``down_revision``
    lines of the files in ``migrations/versions`` (Alembic's ScriptDirectory gives the same
    answer -- a test keeps them equal -- after importing every migration)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    if len(heads) != 1:  # a branched history: let Alembic decide
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        return ScriptDirectory.from_config(config).get_current_head()
    return heads.pop()

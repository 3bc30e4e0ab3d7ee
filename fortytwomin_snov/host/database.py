"""The reference host's one SQLite file, and how every change to it is made.

Everything the host keeps lives in one file (default: :func:`default_database_path`):

=================  ==========================================================================
``connections``    one row per integration slug: the record ``connect`` returned, without its
                   secret fields (``record``), the secret fields Fernet-encrypted
                   (``sealed``, see :mod:`fortytwomin_snov.host.secrets`), and a ``revision``
                   that changes on every connect.
``settings``       one row per slug: the document ``validate_settings`` returned, its
                   warnings, and a ``revision`` that changes on every save.
``jobs``           the durable queue: one row per queued event (see
                   :mod:`fortytwomin_snov.host.jobs`).
``sync_log``       one row per attempt at a job, never changed afterwards.
``kv``             the plugin's key-value store (``host.store``), created and used by
                   :class:`~fortytwomin_snov.stores.SqliteStore` on the same file.
``users``          who may sign in to the admin pages, and their role (see
                   :mod:`fortytwomin_snov.host.users`).
``sign_in_links``  the one-time sign-in links not yet used: a SHA-256 hash of each token,
                   never the token, with its user and when it expires.
``form_questions`` the label (and form) registered for a booking-form question or a
                   routing-form field (see :mod:`fortytwomin_snov.host.questions`).
=================  ==========================================================================

A new file is made readable by its owner only. The file is in WAL mode (readers never wait
for the writer), with a busy timeout so that processes sharing it queue for the write lock
instead of failing, and ``synchronous=NORMAL``: a committed change survives the process
being killed (it is in the WAL), though not a power cut. Every change that touches more
than one row runs in one ``BEGIN IMMEDIATE`` transaction (:meth:`Database.transaction`),
which takes the write lock up front, so two processes never interleave their
read-then-write steps.

The schema is versioned with ``PRAGMA user_version``: opening a file applies the
migrations it has not seen yet, in one transaction, so opening it again (or from several
processes at once) changes nothing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import platformdirs

from fortytwomin_snov.host.dialect import SQLITE, Dialect, HostDatabase, Statement, sqlite_ddl
from fortytwomin_snov.host.errors import DatabaseError
from fortytwomin_snov.host.secrets import exposed_to_others
from fortytwomin_snov.stores import enable_wal

_log = logging.getLogger(__name__)

APP_NAME = "fortytwomin-snov"
DATABASE_NAME = "host.db"

MIGRATIONS: tuple[tuple[Statement, ...], ...] = (
    # 1: connections, settings, the job queue and the sync log.
    (
        """CREATE TABLE connections (
            integration TEXT PRIMARY KEY,
            record TEXT NOT NULL,
            sealed TEXT NOT NULL,
            revision TEXT NOT NULL,
            saved_at REAL NOT NULL
        )""",
        """CREATE TABLE settings (
            integration TEXT PRIMARY KEY,
            document TEXT NOT NULL,
            warnings TEXT NOT NULL,
            revision TEXT NOT NULL,
            saved_at REAL NOT NULL
        )""",
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            integration TEXT NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            event TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('queued', 'running', 'done', 'parked', 'failed')),
            blocked_on TEXT CHECK (blocked_on IN ('credentials', 'settings')),
            attempts INTEGER NOT NULL DEFAULT 0,
            run_after REAL NOT NULL,
            lease_until REAL,
            worker TEXT,
            last_status TEXT,
            last_reason TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            CHECK ((state = 'parked') = (blocked_on IS NOT NULL)),
            CHECK ((state = 'running') = (lease_until IS NOT NULL))
        )""",
        "CREATE INDEX jobs_due ON jobs (integration, state, run_after)",
        """CREATE TABLE sync_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            job_id INTEGER NOT NULL REFERENCES jobs (id),
            attempt INTEGER NOT NULL,
            integration TEXT NOT NULL,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            email TEXT,
            status TEXT NOT NULL CHECK (status IN ('synced', 'skipped', 'deferred', 'failed')),
            reason TEXT NOT NULL,
            message TEXT NOT NULL,
            retry_after REAL,
            blocked_on TEXT,
            outcome TEXT NOT NULL
        )""",
        "CREATE INDEX sync_log_status ON sync_log (status, id)",
        "CREATE INDEX sync_log_job ON sync_log (job_id, id)",
    ),
    # 2: the admin pages' users and their one-time sign-in links.
    (
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            email TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE sign_in_links (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            expires_at REAL NOT NULL
        )""",
    ),
    # 3: the labels an admin gave the questions of the host's forms.
    (
        """CREATE TABLE form_questions (
            source TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            form TEXT,
            saved_at REAL NOT NULL
        )""",
    ),
    # 4: backfill. A job's origin ('live' or 'backfill') is its claim priority and marks its
    # log entries; a paused backfill job (always queued) is claimed by no worker until
    # resumed. Claims look up one origin at a time along jobs_claim, which also serves
    # every lookup jobs_due served (same leading columns), so jobs_due goes; a backfill
    # queues an event id at most once (jobs_backfill_event) and never one a live job already
    # has (jobs_event).
    (
        "ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'live'"
        " CHECK (origin IN ('live', 'backfill'))",
        "ALTER TABLE jobs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0"
        " CHECK (paused = 0 OR (paused = 1 AND origin = 'backfill' AND state = 'queued'))",
        "ALTER TABLE sync_log ADD COLUMN origin TEXT NOT NULL DEFAULT 'live'"
        " CHECK (origin IN ('live', 'backfill'))",
        "CREATE INDEX jobs_claim ON jobs (integration, state, paused, origin, run_after)",
        "DROP INDEX jobs_due",
        "CREATE INDEX jobs_event ON jobs (integration, event_id)",
        "CREATE UNIQUE INDEX jobs_backfill_event ON jobs (integration, event_id)"
        " WHERE origin = 'backfill'",
    ),
    # 5: whom each job is about (jobs.person_key of its event), so that a claim takes a
    # person's due jobs together. Jobs queued before this step have none: each is claimed
    # on its own, as before.
    (
        "ALTER TABLE jobs ADD COLUMN person TEXT",
        "CREATE INDEX jobs_person ON jobs (integration, person, state)",
    ),
)
"""The schema, one tuple of statements per version step (append, never edit): SQLite's SQL,
which :func:`~fortytwomin_snov.host.dialect.postgres_ddl` translates for PostgreSQL (a
statement it cannot translate is a :class:`~fortytwomin_snov.host.dialect.PerEngine`)."""

SCHEMA_VERSION = len(MIGRATIONS)


SHARED_DATABASE_ENV = "FORTYTWOMIN_SNOV_ALLOW_SHARED_DB"
"""Set to 1 to open a database file other users may read, with a warning instead of a refusal."""


def _refuse_if_exposed(path: Path) -> None:
    """Refuse a database file other users may read: it holds personal data and the plugin's
    store. By ``os.stat`` of the path only (see the note on ``os.chmod`` below)."""
    problem = exposed_to_others(path.stat(), path, what="The database file")
    if problem is None:
        return
    if os.environ.get(SHARED_DATABASE_ENV, "").strip() == "1":
        _log.warning("%s (opened anyway: %s=1)", problem, SHARED_DATABASE_ENV)
        return
    raise DatabaseError(f"{problem}, or set {SHARED_DATABASE_ENV}=1 to open it all the same")


def default_database_path() -> Path:
    """``host.db`` in the user's data directory (``~/.local/share/fortytwomin-snov`` on Linux)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / DATABASE_NAME


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: str | Path) -> bool:
    """Whether a ``--db`` value names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def open_database(location: str | Path, *, busy_timeout: float = 30.0) -> HostDatabase:
    """The host's database: a ``postgresql://`` URL (needs the ``postgres`` extra), else a
    SQLite file."""
    if not is_postgres_url(location):
        return Database(location, busy_timeout=busy_timeout)
    try:
        from fortytwomin_snov.host.postgres import PostgresDatabase
    except ImportError:
        raise DatabaseError(
            "A PostgreSQL database needs psycopg: pip install 'fortytwomin-snov[postgres]'"
        ) from None
    return PostgresDatabase(str(location), statement_timeout=busy_timeout)


class SqliteConnection(sqlite3.Connection):
    """A SQLite connection that says its :class:`~fortytwomin_snov.host.dialect.Dialect`."""

    dialect: Dialect = SQLITE


class Database:
    """One connection to the host's SQLite file, safe to share between threads.

    Use :meth:`transaction` for every change and :meth:`read` for queries. Another process
    (or another :class:`Database` on the same path) may use the file at the same time.
    """

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        if not created:
            _refuse_if_exposed(self.path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path,
            timeout=busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            factory=SqliteConnection,
        )
        if created:
            # The file holds personal data and the plugin's cached tokens: owner only, set
            # before anything is written (SQLite gives its -wal and -shm files the same
            # mode). By path, never by opening the file: closing any descriptor of it would
            # drop every POSIX lock this process holds on it, those of the open SQLite
            # connections included, and the next process to close the file would take
            # itself for the last user and delete the WAL under them.
            os.chmod(self.path, 0o600)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            enable_wal(self._db, busy_timeout)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise DatabaseError(
                f"{self.path} cannot be used as the host's database: {error}"
            ) from None
        except BaseException:
            self._db.close()
            raise

    dialect = SQLITE

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    @property
    def shown(self) -> str:
        return str(self.path)

    def _migrate(self) -> None:
        with self.transaction() as tx:
            version = int(tx.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise DatabaseError(
                    f"{self.path} was written by a newer version of fortytwomin-snov"
                    f" (schema {version}; this one knows {SCHEMA_VERSION}): upgrade the package"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    tx.execute(sqlite_ddl(statement))
            if version < SCHEMA_VERSION:
                tx.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        with self.read() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[SqliteConnection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed when the block ends,
        rolled back if it raises (anything, ``KeyboardInterrupt`` included)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[SqliteConnection]:
        """The connection for queries; several statements see one snapshot."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

"""The host's database on a PostgreSQL server (``--db postgresql://...``): the same tables,
queries and transactions as the SQLite file (:mod:`.database`), through a psycopg
connection pool. Needs the ``postgres`` extra (``pip install 'fortytwomin-snov[postgres]'``).

- Every :meth:`~PostgresDatabase.transaction` runs on one pooled connection, READ COMMITTED;
  the statements that read rows before changing them lock them (see :mod:`.dialect`), and
  job claims skip the rows another worker is claiming (``FOR UPDATE SKIP LOCKED``).
- :meth:`~PostgresDatabase.read` is one REPEATABLE READ, READ ONLY transaction: its
  statements see one snapshot, as on SQLite.
- The schema is versioned in a ``schema_version`` table (one row), with the same version
  numbers as SQLite's ``user_version``; opening the database applies the steps it has not
  seen, in one transaction under an advisory lock, so processes opening it at once apply
  each step once.
- Timeouts are explicit: connecting (``connect_timeout``), each statement and lock wait
  (``statement_timeout``), and waiting for a free pooled connection.

The URL's password never reaches a message, a log line or a repr: they name the database
by :func:`redacted` URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from fortytwomin_snov.host.database import MIGRATIONS, SCHEMA_VERSION
from fortytwomin_snov.host.dialect import POSTGRESQL, Dialect, postgres_ddl, postgres_placeholders
from fortytwomin_snov.host.errors import DatabaseError

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_STATEMENT_TIMEOUT = 30.0
DEFAULT_POOL_SIZE = 4

_MIGRATION_LOCK = 0x42_5E0F_0001
"""The advisory lock that serialises migrations (any number unique to this schema)."""


def redacted(url: str) -> str:
    """``url`` without its password (``postgresql://user@host:port/db``)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:
        return "a PostgreSQL URL that cannot be read"


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class Row:
    """A row that reads by column name and by position, as :class:`sqlite3.Row` does."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: Sequence[Any]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str | int) -> Any:
        return self._values[self._index[key] if isinstance(key, str) else key]

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    names = {column.name: position for position, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        return Row(names, values)

    return make


class PostgresConnection:
    """One transaction's connection: SQLite's SQL (``?`` placeholders) run on PostgreSQL."""

    dialect: Dialect = POSTGRESQL

    def __init__(self, connection: psycopg.Connection[Row]) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Row]:
        query = postgres_placeholders(sql)
        return self._connection.execute(query, tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Row]:
        query = postgres_placeholders(sql)
        cursor = self._connection.cursor()
        cursor.executemany(query, [tuple(row) for row in parameters])
        return cursor


class PostgresDatabase:
    """The host's database on a PostgreSQL server, safe to share between threads (each
    transaction takes a pooled connection). See the module documentation."""

    dialect = POSTGRESQL

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self._shown = redacted(url)
        self._password = _password(url)
        options = f"-c statement_timeout={int(statement_timeout * 1000)}"
        self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            url,
            connection_class=psycopg.Connection[Row],
            kwargs={
                "autocommit": True,
                "row_factory": _rows,
                "connect_timeout": max(1, round(connect_timeout)),
                "options": options,
            },
            min_size=1,
            max_size=max(1, pool_size),
            timeout=connect_timeout + statement_timeout,
            open=False,
            name="fortytwomin-snov",
        )
        try:
            # One connection first, so that a wrong URL, password or server fails here with
            # the server's reason, rather than as a pool that never fills.
            with psycopg.connect(url, connect_timeout=max(1, round(connect_timeout))):
                pass
            self._pool.open(wait=True, timeout=connect_timeout)
            self._migrate()
        except psycopg.Error as error:
            self._pool.close()
            raise self._unusable(error) from None
        except PoolTimeout:
            self._pool.close()
            raise DatabaseError(
                f"{self._shown} cannot be used as the host's database: no connection within"
                f" {connect_timeout:g} s"
            ) from None
        except BaseException:
            self._pool.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresDatabase({self._shown!r})"

    @property
    def shown(self) -> str:
        return self._shown

    def _unusable(self, error: BaseException) -> DatabaseError:
        reason = " ".join(str(error).split()) or type(error).__name__
        if self._password:
            reason = reason.replace(self._password, "***")
        return DatabaseError(f"{self._shown} cannot be used as the host's database: {reason}")

    def _migrate(self) -> None:
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = tx.execute("SELECT version FROM schema_version").fetchone()
            version = 0 if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise DatabaseError(
                    f"{self._shown} was written by a newer version of fortytwomin-snov"
                    f" (schema {version}; this one knows {SCHEMA_VERSION}): upgrade the package"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    tx.execute(postgres_ddl(statement))
            if row is None:
                tx.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:
                tx.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    @property
    def schema_version(self) -> int:
        with self.read() as db:
            row = db.execute("SELECT version FROM schema_version").fetchone()
            return 0 if row is None else int(row[0])

    @contextmanager
    def _connection(self, *, read_only: bool) -> Iterator[PostgresConnection]:
        try:
            with self._pool.connection() as connection, connection.transaction():
                if read_only:
                    connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield PostgresConnection(connection)
        except psycopg.Error as error:
            raise self._unusable(error) from None
        except PoolTimeout:
            raise DatabaseError(
                f"{self._shown} cannot be used: every pooled connection stayed busy"
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[PostgresConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises
        (anything, ``KeyboardInterrupt`` included)."""
        with self._connection(read_only=False) as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[PostgresConnection]:
        """A read-only transaction whose statements see one snapshot."""
        with self._connection(read_only=True) as connection:
            yield connection

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

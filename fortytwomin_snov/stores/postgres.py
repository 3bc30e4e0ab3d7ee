"""A :class:`~fortytwomin_snov.contract.store.Store` in a PostgreSQL database, shared by the
workers of several machines: the reference host's store when its database is PostgreSQL.
Needs the ``postgres`` extra (``pip install 'fortytwomin-snov[postgres]'``).

Keys live in a ``kv`` table (created if absent) with an ``expires_at`` column in seconds of
the store's clock, as :class:`~fortytwomin_snov.stores.SqliteStore` keeps them. Every
operation is one statement, so it is atomic on the server without a lock held across a
round trip: ``set`` is an upsert; ``add`` an insert that, on a conflict, replaces only an
expired row (``ON CONFLICT ... DO UPDATE ... WHERE``) and says whether a row was written;
``incr`` an upsert that adds to the stored integer, or starts again from ``amount`` (with
the new TTL) when the stored value has expired.

An operation that fails on the server or the network raises
:class:`~fortytwomin_snov.contract.errors.StoreUnavailable` (after at most the connect and
statement timeouts), never retried and never holding the URL's password.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from fortytwomin_snov.contract.errors import StoreUnavailable
from fortytwomin_snov.contract.store import Add, Clock, Delete, Get, Incr, Op, Result, Set

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_STATEMENT_TIMEOUT = 10.0
DEFAULT_POOL_SIZE = 4

_SCHEMA_LOCK = 0x42_5E0F_0002
"""The advisory lock under which the ``kv`` table is created (once, by one process)."""
_PURGE_EVERY = 500
"""Writes (per store object) between two purge steps."""
_PURGE_STEP = 2000
"""Keys one purge step looks at: four per write, where a write makes at most one key."""
_PURGE_STEP_SQL = (
    "WITH step AS (SELECT key FROM kv WHERE key > %(after)s ORDER BY key LIMIT %(keys)s),"
    " gone AS (DELETE FROM kv WHERE key IN (SELECT key FROM step) AND expires_at <= %(now)s)"
    " SELECT max(key), count(*) FROM step"
)
"""One purge step: the expired keys among the next keys after ``after``, in key order (a
range of the primary key). The expiry is checked on the row the ``DELETE`` takes, so a key
renewed meanwhile stays. Answers the last key looked at and how many were."""


def _where(url: str) -> str:
    """The server and database of ``url``, without user name or password."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port is not None else ""
        return urlunsplit(("postgresql", f"{parts.hostname or ''}{port}", parts.path, "", ""))
    except ValueError:
        return "postgresql://?"


class PostgresStore:
    """A :class:`Store` in one PostgreSQL database. Make one with :meth:`from_url`; it owns
    a small connection pool, is thread safe, and is closed with :meth:`close`."""

    def __init__(self, pool: ConnectionPool, *, where: str, clock: Clock = time.time) -> None:
        """Wrap an open pool whose connections are in autocommit mode (see :meth:`from_url`)."""
        self._pool = pool
        self._where = where
        self._clock = clock
        self._writes = 0
        self._swept = ""  # the last key the purge looked at
        self._count = threading.Lock()
        with (
            self._errors("could not be set up"),
            self._pool.connection() as connection,
            connection.transaction(),
        ):
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            connection.execute(
                "CREATE TABLE IF NOT EXISTS kv"
                " (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at DOUBLE PRECISION)"
            )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        clock: Clock = time.time,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> PostgresStore:
        """A store in the database at ``url`` (``postgresql://user:password@host:port/db``).

        ``connect_timeout`` bounds every connection attempt and the wait for a free pooled
        connection, ``statement_timeout`` every statement (seconds).
        """
        where = _where(url)
        pool: ConnectionPool = ConnectionPool(
            url,
            kwargs={
                "autocommit": True,
                "connect_timeout": max(1, round(connect_timeout)),
                "options": f"-c statement_timeout={int(statement_timeout * 1000)}",
            },
            min_size=1,
            max_size=max(1, pool_size),
            timeout=connect_timeout,
            open=False,
            name="fortytwomin-snov-store",
        )
        try:
            pool.open(wait=True, timeout=connect_timeout)
            return cls(pool, where=where, clock=clock)
        except PoolTimeout:
            pool.close()
            raise StoreUnavailable(
                f"The shared store (PostgreSQL at {where}) could not be reached; try again later"
            ) from None
        except BaseException:
            pool.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self._where})"

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _errors(self, what: str = "failed") -> Iterator[None]:
        """Turn psycopg's errors into the contract's (never chained: they may describe the
        connection)."""
        try:
            yield
        except (pg_errors.InvalidTextRepresentation, pg_errors.NumericValueOutOfRange):
            raise ValueError("the value is not an integer") from None
        except pg_errors.QueryCanceled:
            raise self._unavailable("did not answer in time") from None
        except (psycopg.OperationalError, PoolTimeout):
            raise self._unavailable("could not be reached") from None
        except psycopg.Error:
            raise self._unavailable(what) from None

    def _unavailable(self, what: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"The shared store (PostgreSQL at {self._where}) {what}; try again later"
        )

    def _run(
        self,
        sql: Any,
        params: tuple[Any, ...] | dict[str, Any],
        connection: psycopg.Connection[Any] | None = None,
    ) -> tuple[Any, ...] | None:
        """One statement, in its own transaction or in ``connection``'s; its first row."""
        if connection is not None:
            cursor = connection.execute(sql, params)
            return None if cursor.description is None else cursor.fetchone()
        with self._errors(), self._pool.connection() as pooled:
            return self._run(sql, params, pooled)

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    def _wrote(self) -> None:
        with self._count:
            self._writes += 1
            purge = self._writes % _PURGE_EVERY == 0
        if purge:
            self._purge_step()

    def _purge_step(self) -> None:
        """Delete the expired keys among the next :data:`_PURGE_STEP` keys after the last one
        looked at, and start again from the first key past the last.

        Expired keys are invisible already; this only keeps the table small. A step costs
        the same however many keys the table holds, where one ``DELETE`` over the whole
        table scanned every row. Two threads stepping at once look at the same keys: no
        harm done.
        """
        row = self._run(
            _PURGE_STEP_SQL, {"after": self._swept, "keys": _PURGE_STEP, "now": self._clock()}
        )
        assert row is not None
        last, looked_at = row
        self._swept = "" if last is None or looked_at < _PURGE_STEP else str(last)

    def get(self, key: str) -> str | None:
        return self._get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._set(key, value, ttl)
        self._wrote()

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        written = self._add(key, value, ttl)
        self._wrote()
        return written

    def delete(self, key: str) -> None:
        self._delete(key)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        total = self._incr(key, amount, ttl)
        self._wrote()
        return total

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        """Every operation in one transaction: atomic, and one round trip's worth of waiting
        for a pooled connection."""
        with self._errors(), self._pool.connection() as connection, connection.transaction():
            if all(isinstance(op, Get) for op in ops):
                # Reads only: one snapshot, so writers' batches are seen whole or not at all.
                connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            results = [self._apply_one(op, connection) for op in ops]
        if any(not isinstance(op, Get | Delete) for op in ops):
            self._wrote()
        return results

    def _apply_one(self, op: Op, connection: psycopg.Connection[Any]) -> Result:
        if isinstance(op, Get):
            return self._get(op.key, connection)
        if isinstance(op, Set):
            self._set(op.key, op.value, op.ttl, connection)
            return None
        if isinstance(op, Add):
            return self._add(op.key, op.value, op.ttl, connection)
        if isinstance(op, Delete):
            self._delete(op.key, connection)
            return None
        assert isinstance(op, Incr)
        return self._incr(op.key, op.amount, op.ttl, connection)

    # ---- the statements, each in its own transaction or in the caller's -----------------

    def _get(self, key: str, connection: psycopg.Connection[Any] | None = None) -> str | None:
        row = self._run(
            "SELECT value FROM kv WHERE key = %s AND (expires_at IS NULL OR expires_at > %s)",
            (key, self._clock()),
            connection,
        )
        return None if row is None else str(row[0])

    def _set(
        self,
        key: str,
        value: str,
        ttl: float | None,
        connection: psycopg.Connection[Any] | None = None,
    ) -> None:
        self._run(
            "INSERT INTO kv (key, value, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, self._expiry(ttl)),
            connection,
        )

    def _add(
        self,
        key: str,
        value: str,
        ttl: float | None,
        connection: psycopg.Connection[Any] | None = None,
    ) -> bool:
        # A conflicting row is replaced only when it has expired; RETURNING says whether a
        # row was written. Two adds at once: the second waits for the first's row, then
        # finds it alive.
        row = self._run(
            "INSERT INTO kv (key, value, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value, expires_at = excluded.expires_at"
            " WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= %s"
            " RETURNING 1",
            (key, value, self._expiry(ttl), self._clock()),
            connection,
        )
        return row is not None

    def _delete(self, key: str, connection: psycopg.Connection[Any] | None = None) -> None:
        self._run("DELETE FROM kv WHERE key = %s", (key,), connection)

    def _incr(
        self,
        key: str,
        amount: int,
        ttl: float | None,
        connection: psycopg.Connection[Any] | None = None,
    ) -> int:
        now = self._clock()
        row = self._run(
            "INSERT INTO kv (key, value, expires_at) VALUES (%(key)s, %(amount)s::text, %(until)s)"
            " ON CONFLICT (key) DO UPDATE SET"
            " value = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= %(now)s"
            "   THEN excluded.value"
            "   ELSE (CAST(kv.value AS BIGINT) + %(amount)s::bigint)::text END,"
            " expires_at = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= %(now)s"
            "   THEN excluded.expires_at ELSE kv.expires_at END"
            " RETURNING value",
            {"key": key, "amount": amount, "until": self._expiry(ttl), "now": now},
            connection,
        )
        assert row is not None
        return int(row[0])

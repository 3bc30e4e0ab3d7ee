"""A :class:`~fortytwomin_snov.contract.store.Store` in one SQLite file, shared safely by
the processes of one machine: the reference host's default."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fortytwomin_snov.contract.store import Add, Clock, Delete, Get, Incr, Op, Result, Set


def enable_wal(db: sqlite3.Connection, busy_timeout: float) -> None:
    """Put a SQLite file in WAL mode, which lets readers and one writer work at once.

    Switching a new file to WAL takes a lock the busy timeout does not wait for: when
    several processes open the same new file at once, all but one see "database is
    locked" here, so they retry until the first one has switched it.
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class SqliteStore:
    """A :class:`Store` in one SQLite file, shared safely by processes on one machine.

    Each operation is one transaction; ``BEGIN IMMEDIATE`` serialises the
    read-modify-write ones (``add``, ``incr``) across processes. :meth:`apply` runs a batch
    in one transaction (a deferred one when it only reads).
    """

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS kv ("
        " key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)"
    )
    _PURGE_EVERY = 500

    def __init__(
        self, path: str | Path, *, clock: Clock = time.time, busy_timeout: float = 30.0
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        self._db = sqlite3.connect(
            self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        enable_wal(self._db, busy_timeout)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(self._SCHEMA)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, serialised against threads and other processes."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, key: str) -> tuple[str, float | None] | None:
        row = self._db.execute(
            "SELECT value, expires_at FROM kv"
            " WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, self._clock()),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def _write(self, key: str, value: str, expires_at: float | None) -> None:
        self._db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE"
            " SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, expires_at),
        )
        self._writes += 1
        if self._writes % self._PURGE_EVERY == 0:
            # Expired keys are invisible already; this only keeps the file small.
            self._db.execute(
                "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?", (self._clock(),)
            )

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._read(key)
            return None if item is None else item[0]

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._transaction():
            self._write(key, value, self._expiry(ttl))

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        with self._transaction():
            return self._add(key, value, ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._transaction():
            return self._incr(key, amount, ttl)

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        if all(isinstance(op, Get) for op in ops):
            # One snapshot for every read, without taking the write lock.
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    return [self._run(op) for op in ops]
                finally:
                    self._db.execute("COMMIT")
        with self._transaction():
            return [self._run(op) for op in ops]

    # ---- the operations, inside a transaction ------------------------------------------

    def _add(self, key: str, value: str, ttl: float | None) -> bool:
        if self._read(key) is not None:
            return False
        self._write(key, value, self._expiry(ttl))
        return True

    def _incr(self, key: str, amount: int, ttl: float | None) -> int:
        current = self._read(key)
        if current is None:
            total, expires_at = amount, self._expiry(ttl)
        else:
            total, expires_at = int(current[0]) + amount, current[1]
        self._write(key, str(total), expires_at)
        return total

    def _run(self, op: Op) -> Result:
        if isinstance(op, Get):
            item = self._read(op.key)
            return None if item is None else item[0]
        if isinstance(op, Set):
            self._write(op.key, op.value, self._expiry(op.ttl))
            return None
        if isinstance(op, Add):
            return self._add(op.key, op.value, op.ttl)
        if isinstance(op, Delete):
            self._db.execute("DELETE FROM kv WHERE key = ?", (op.key,))
            return None
        assert isinstance(op, Incr)
        return self._incr(op.key, op.amount, op.ttl)

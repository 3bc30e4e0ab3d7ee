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

    Each operation is one statement, which SQLite runs as a transaction of its own: ``add``
    and ``incr`` decide inside their ``INSERT ... ON CONFLICT`` whether the key is live, so
    no other process can slip in between a read and a write. :meth:`apply` runs a batch in
    one transaction (``BEGIN IMMEDIATE``, or a deferred one when it only reads). A statement
    per operation, instead of a ``BEGIN``, a read, a write and a ``COMMIT``, is what a
    store round trip costs here.
    """

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS kv ("
        " key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL) WITHOUT ROWID"
    )
    """Keyed by the key itself (``WITHOUT ROWID``): a write changes one b-tree instead of a
    table and its key index, about a third less CPU per write transaction. A file made
    before keeps its table as it is; both work."""
    _UPSERT = (
        "INSERT INTO kv (key, value, expires_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(key) DO UPDATE"
        " SET value = excluded.value, expires_at = excluded.expires_at"
    )
    _ADD = (
        "INSERT INTO kv (key, value, expires_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(key) DO UPDATE"
        " SET value = excluded.value, expires_at = excluded.expires_at"
        " WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ?4"
    )
    """Writes unless a live value is there (?4 is now): a change count of 0 means refused."""
    _INCR = (
        "INSERT INTO kv (key, value, expires_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(key) DO UPDATE SET"
        " value = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ?4"
        " THEN excluded.value ELSE CAST(CAST(kv.value AS INTEGER) + ?5 AS TEXT) END,"
        " expires_at = CASE WHEN kv.expires_at IS NOT NULL AND kv.expires_at <= ?4"
        " THEN excluded.expires_at ELSE kv.expires_at END"
        " WHERE (kv.expires_at IS NOT NULL AND kv.expires_at <= ?4)"
        " OR (CAST(CAST(kv.value AS INTEGER) AS TEXT) = kv.value"
        " AND abs(CAST(kv.value AS INTEGER)) < 4611686018427387904)"
        " RETURNING value"
    )
    """Adds in SQL when the value is an integer written the way ``str(int)`` writes one and
    the sum cannot overflow SQLite's 64 bits (both below 2**62); any other value returns no
    row, and :meth:`_incr_read` does the sum (or raises ValueError) in Python."""
    _SQL_INCR_LIMIT = 1 << 62
    _PURGE_EVERY = 500
    """Writes between two purge steps."""
    _PURGE_STEP = 2000
    """Keys one purge step looks at. Four per write, where a write makes at most one key:
    the sweep goes round faster than expired keys pile up."""

    def __init__(
        self, path: str | Path, *, clock: Clock = time.time, busy_timeout: float = 30.0
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        self._swept = ""  # the last key the purge looked at
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
        """One write transaction, serialised against threads and other processes; the
        caller holds the lock."""
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

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % self._PURGE_EVERY == 0:
            self._purge_step()

    def _purge_step(self) -> None:
        """Delete the expired keys among the next :attr:`_PURGE_STEP` keys after the last
        one looked at, and start again from the first key past the last.

        Expired keys are invisible already; this only keeps the file small. A step is a
        range of the primary key, so it costs the same however many keys the file holds:
        one ``DELETE`` over the whole table, every 500 writes, scanned every row (about
        0.1 s with a million keys, the write lock held all along).
        """
        end = self._db.execute(
            "SELECT key FROM kv WHERE key > ? ORDER BY key LIMIT 1 OFFSET ?",
            (self._swept, self._PURGE_STEP - 1),
        ).fetchone()
        now = self._clock()
        if end is None:
            self._db.execute("DELETE FROM kv WHERE key > ? AND expires_at <= ?", (self._swept, now))
            self._swept = ""
        else:
            self._db.execute(
                "DELETE FROM kv WHERE key > ? AND key <= ? AND expires_at <= ?",
                (self._swept, end[0], now),
            )
            self._swept = end[0]

    def _write(self, key: str, value: str, expires_at: float | None) -> None:
        self._db.execute(self._UPSERT, (key, value, expires_at))
        self._wrote()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._read(key)
            return None if item is None else item[0]

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._lock:
            self._write(key, value, self._expiry(ttl))

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        with self._lock:
            return self._add(key, value, ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._lock:
            total = self._incr_sql(key, amount, ttl)
            if total is not None:
                return total
            with self._transaction():
                return self._incr_read(key, amount, ttl)

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        if len(ops) == 1 and not isinstance(ops[0], Incr):
            # One statement is atomic by itself: no BEGIN and COMMIT around it.
            with self._lock:
                return [self._run(ops[0])]
        with self._lock:
            if all(isinstance(op, Get) for op in ops):
                # One snapshot for every read, without taking the write lock.
                self._db.execute("BEGIN")
                try:
                    return [self._run(op) for op in ops]
                finally:
                    self._db.execute("COMMIT")
            with self._transaction():
                return [self._run(op) for op in ops]

    # ---- the operations, each one statement (or a transaction's part) -------------------

    def _add(self, key: str, value: str, ttl: float | None) -> bool:
        now = self._clock()
        expires_at = None if ttl is None else now + ttl
        added = self._db.execute(self._ADD, (key, value, expires_at, now)).rowcount > 0
        if added:
            self._wrote()
        return added

    def _incr_sql(self, key: str, amount: int, ttl: float | None) -> int | None:
        """The sum, in one statement; None when the value needs :meth:`_incr_read`."""
        if not -self._SQL_INCR_LIMIT < amount < self._SQL_INCR_LIMIT:
            return None
        now = self._clock()
        expires_at = None if ttl is None else now + ttl
        rows = self._db.execute(self._INCR, (key, str(amount), expires_at, now, amount)).fetchall()
        if not rows:
            return None
        self._wrote()
        return int(rows[0][0])

    def _incr_read(self, key: str, amount: int, ttl: float | None) -> int:
        """The sum of any value ``int()`` reads (inside a transaction)."""
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
        total = self._incr_sql(op.key, op.amount, op.ttl)
        return self._incr_read(op.key, op.amount, op.ttl) if total is None else total

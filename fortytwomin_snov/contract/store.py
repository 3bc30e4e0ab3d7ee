"""The key-value store a host lends plugins as ``host.store``.

A plugin keeps here the state that several worker processes must share: cached access
tokens, the rate-limit budget, idempotency and ordering marks, cached choices. A host
may back it with anything (Redis, its own database) as long as it offers the five
operations of :class:`Store` with these semantics. A store may also run several
operations in one round trip (:class:`BatchStore`); :func:`apply` uses that when it can and
falls back to one call per operation otherwise. :class:`MemoryStore` is the
process-local one (``host=None`` means one of these); shared implementations live in
:mod:`fortytwomin_snov.stores`.

Keys and values are strings; callers serialise their own JSON. Expiry times are
wall-clock seconds (``clock()``, default :func:`time.time`) because they are shared
between processes; the clock is injectable so tests never sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Clock = Callable[[], float]


@runtime_checkable
class Store(Protocol):
    """What the plugin needs from ``host.store``. Every operation is atomic.

    An implementation may raise
    :class:`~fortytwomin_snov.contract.errors.StoreUnavailable` from any operation when its
    backend is unreachable; it raises nothing else of its backend's own.
    """

    def get(self, key: str) -> str | None:
        """The value of ``key``, or ``None`` if it is absent or expired."""

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, replacing any value; expire after ``ttl`` seconds."""

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent (or expired). True if it was stored."""

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens if it is absent."""

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to the integer at ``key`` (absent counts as 0) and return the sum.

        ``ttl`` applies only when the key is created by this call. A value that is not an
        integer raises :class:`ValueError`.
        """


# ---- several operations in one round trip --------------------------------------------


@dataclass(frozen=True)
class Get:
    """:meth:`Store.get` as one operation of a batch; its result is the value or None."""

    key: str


@dataclass(frozen=True)
class Set:
    """:meth:`Store.set` in a batch; its result is None."""

    key: str
    value: str
    ttl: float | None = None


@dataclass(frozen=True)
class Add:
    """:meth:`Store.add` in a batch; its result is whether it stored the value."""

    key: str
    value: str
    ttl: float | None = None


@dataclass(frozen=True)
class Delete:
    """:meth:`Store.delete` in a batch; its result is None."""

    key: str


@dataclass(frozen=True)
class Incr:
    """:meth:`Store.incr` in a batch; its result is the sum."""

    key: str
    amount: int = 1
    ttl: float | None = None


Op = Get | Set | Add | Delete | Incr
Result = str | bool | int | None


@runtime_checkable
class BatchStore(Store, Protocol):
    """A :class:`Store` that also runs a batch of operations in one round trip."""

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        """Run ``ops`` in order, each with its single operation's semantics, as one atomic
        unit (no other client sees a state between two of them); one result per operation.

        A ``ValueError`` from an :class:`Incr` raises; which of the batch's other
        operations then took effect depends on the store.
        """


def run_one(store: Store, op: Op) -> Result:
    """One operation of a batch, as a single call."""
    if isinstance(op, Get):
        return store.get(op.key)
    if isinstance(op, Set):
        store.set(op.key, op.value, op.ttl)
        return None
    if isinstance(op, Add):
        return store.add(op.key, op.value, op.ttl)
    if isinstance(op, Delete):
        store.delete(op.key)
        return None
    return store.incr(op.key, op.amount, op.ttl)


def apply(store: Store, ops: Sequence[Op]) -> list[Result]:
    """Run ``ops`` in order on ``store``: in one round trip, atomically, when it is a
    :class:`BatchStore`, else one call each (each atomic on its own, the batch not).

    Callers must be correct either way: a batch saves round trips, it guarantees nothing a
    host's plain :class:`Store` could not.
    """
    if not ops:
        return []
    batch = getattr(store, "apply", None)
    if callable(batch):
        return list(batch(ops))
    return [run_one(store, op) for op in ops]


class MemoryStore:
    """A process-local :class:`Store`, thread safe."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore(keys={len(self._data)})"

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at is not None and expires_at <= self._clock():
            del self._data[key]
            return None
        return value

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._lock:
            self._set(key, value, ttl)

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        with self._lock:
            return self._add(key, value, ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._lock:
            return self._incr(key, amount, ttl)

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        with self._lock:
            return [self._run(op) for op in ops]

    # ---- the operations, with the lock held ------------------------------------------

    def _set(self, key: str, value: str, ttl: float | None) -> None:
        self._data[key] = (value, self._expiry(ttl))

    def _add(self, key: str, value: str, ttl: float | None) -> bool:
        if self._live(key) is not None:
            return False
        self._data[key] = (value, self._expiry(ttl))
        return True

    def _incr(self, key: str, amount: int, ttl: float | None) -> int:
        current = self._live(key)
        if current is None:
            total, expires_at = amount, self._expiry(ttl)
        else:
            total, expires_at = int(current) + amount, self._data[key][1]
        self._data[key] = (str(total), expires_at)
        return total

    def _run(self, op: Op) -> Result:
        if isinstance(op, Get):
            return self._live(op.key)
        if isinstance(op, Set):
            self._set(op.key, op.value, op.ttl)
            return None
        if isinstance(op, Add):
            return self._add(op.key, op.value, op.ttl)
        if isinstance(op, Delete):
            self._data.pop(op.key, None)
            return None
        return self._incr(op.key, op.amount, op.ttl)

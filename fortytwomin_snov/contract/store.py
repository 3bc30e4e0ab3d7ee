"""The key-value store a host lends plugins as ``host.store``.

A plugin keeps here the state that several worker processes must share: cached access
tokens, the rate-limit budget, idempotency and ordering marks, cached choices. A host
may back it with anything (Redis, its own database) as long as it offers the five
operations of :class:`Store` with these semantics. :class:`MemoryStore` is the
process-local one (``host=None`` means one of these); shared implementations live in
:mod:`fortytwomin_snov.stores`.

Keys and values are strings; callers serialise their own JSON. Expiry times are
wall-clock seconds (``clock()``, default :func:`time.time`) because they are shared
between processes; the clock is injectable so tests never sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
            self._data[key] = (value, self._expiry(ttl))

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, self._expiry(ttl))
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._lock:
            current = self._live(key)
            if current is None:
                total, expires_at = amount, self._expiry(ttl)
            else:
                total, expires_at = int(current) + amount, self._data[key][1]
            self._data[key] = (str(total), expires_at)
            return total

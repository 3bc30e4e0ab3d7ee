"""A :class:`~fortytwomin_snov.contract.store.Store` wrapper that counts what the plugin
asks of the host's store: operations, writes and round trips.

A batch (``apply``) is one round trip on a store that runs batches itself, and one per
operation on a store that does not (:func:`~fortytwomin_snov.contract.store.apply` then
falls back to single calls), so the count is the one a network store would see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fortytwomin_snov.contract.store import Delete, Get, Op, Result, Store, apply, run_one

WRITES = frozenset({"set", "add", "delete", "incr"})


@dataclass
class Counts:
    """What one stretch of work cost."""

    round_trips: int = 0
    ops: list[str] = field(default_factory=list)
    """Each operation's name (``get``, ``set``, ``add``, ``delete``, ``incr``), in order."""

    @property
    def writes(self) -> int:
        return sum(op in WRITES for op in self.ops)


def _name(op: Op) -> str:
    if isinstance(op, Get):
        return "get"
    if isinstance(op, Delete):
        return "delete"
    return type(op).__name__.lower()


class CountingStore:
    """Wraps a store; :attr:`counts` grows with every call (reset it with :meth:`reset`)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.counts = Counts()
        self._batches = callable(getattr(inner, "apply", None))

    def __repr__(self) -> str:
        return f"CountingStore({self.inner!r})"

    def reset(self) -> Counts:
        """The counts so far; counting starts again from zero."""
        counts, self.counts = self.counts, Counts()
        return counts

    def _one(self, name: str) -> None:
        self.counts.round_trips += 1
        self.counts.ops.append(name)

    def get(self, key: str) -> str | None:
        self._one("get")
        return self.inner.get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._one("set")
        self.inner.set(key, value, ttl)

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        self._one("add")
        return self.inner.add(key, value, ttl)

    def delete(self, key: str) -> None:
        self._one("delete")
        self.inner.delete(key)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self._one("incr")
        return self.inner.incr(key, amount, ttl)

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        if not ops:
            return []
        self.counts.round_trips += 1 if self._batches else len(ops)
        self.counts.ops.extend(_name(op) for op in ops)
        if self._batches:
            return apply(self.inner, ops)
        return [run_one(self.inner, op) for op in ops]

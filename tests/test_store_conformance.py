"""One suite for every :class:`Store`: MemoryStore, SqliteStore, PostgresStore and RedisStore.

Each case runs against each store through a :class:`Subject`: the store, and a way to
let time pass for it without sleeping.

- MemoryStore, SqliteStore and PostgresStore expire on an injected clock: ``elapse``
  moves a :class:`ManualClock`. PostgresStore runs on a database of its own on the
  session's throwaway PostgreSQL server.
- RedisStore expires on the server's clock, which no test can move. ``elapse`` there
  takes the seconds off the remaining TTL of every key of the test's prefix (``PEXPIRE``
  to ``PTTL`` minus them, deleting the keys whose time is up): the server then sees the
  same future the other stores see. That checks which TTL each operation left on which
  key (set replacing and clearing it, incr keeping the first one), the part RedisStore
  writes. That the server then really expires keys on its own is checked in
  ``test_store.py`` without sleeping either: ``PTTL`` ranges right after each operation,
  and 1 ms TTLs polled until the key is gone, within a bounded deadline.

Real time passes on the Redis server between an operation and ``elapse``, so a key a
test expects to be alive always has a second or more left. The atomicity cases race 8
threads on one store object, and processes (spawned, each opening its own store) on the
three stores that processes can share.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import redis

from fortytwomin_snov.contract.store import (
    Add,
    BatchStore,
    Delete,
    Get,
    Incr,
    MemoryStore,
    Set,
    Store,
    apply,
)
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.stores.postgres import PostgresStore
from fortytwomin_snov.stores.redis import RedisStore
from fortytwomin_snov.testing.clock import ManualClock

if TYPE_CHECKING:  # imported by pytest as a plugin, so that its asserts are rewritten
    from tests.servers import RedisServer

pytest_plugins = ["tests.servers"]


@dataclass
class Subject:
    """A store under test, and how to let ``seconds`` pass for its TTLs."""

    store: Store
    elapse: Callable[[float], None]
    # Opens another handle on the same shared data, in another process (picklable).
    open_again: Callable[[], Any] | None = None


def _elapse_on_redis(client: redis.Redis, prefix: str, seconds: float) -> None:
    """Take ``seconds`` off the remaining TTL of every key under ``prefix``."""
    spent = round(seconds * 1000)
    for key in client.scan_iter(match=prefix + "*"):
        remaining = int(client.pttl(key))
        if remaining < 0:  # no TTL (-1), or already gone (-2)
            continue
        if remaining <= spent:
            client.delete(key)
        else:
            client.pexpire(key, remaining - spent)


def _subject(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    if kind == "memory":
        clock = ManualClock()
        yield Subject(MemoryStore(clock=clock), clock.advance)
    elif kind == "sqlite":
        clock = ManualClock()
        path = tmp_path / "store.db"
        sqlite_store = SqliteStore(path, clock=clock)
        yield Subject(sqlite_store, clock.advance, functools.partial(SqliteStore, str(path)))
        sqlite_store.close()
    elif kind == "postgres":
        clock = ManualClock()
        url: str = request.getfixturevalue("postgres_url")
        postgres_store = PostgresStore.from_url(url, clock=clock)
        yield Subject(postgres_store, clock.advance, functools.partial(PostgresStore.from_url, url))
        postgres_store.close()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix: str = request.getfixturevalue("redis_prefix")
        redis_store = RedisStore.from_url(server.url, prefix=prefix)
        raw = redis.Redis.from_url(server.url, decode_responses=True, socket_timeout=5)
        yield Subject(
            redis_store,
            functools.partial(_elapse_on_redis, raw, prefix),
            functools.partial(RedisStore.from_url, server.url, prefix=prefix),
        )
        redis_store.close()
        raw.close()


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    yield from _subject(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    """The stores several processes can share."""
    yield from _subject(request.param, request, tmp_path)


# -- plain operations ------------------------------------------------------------------


def test_satisfies_the_protocol(subject: Subject) -> None:
    assert isinstance(subject.store, Store)


def test_get_set_delete(subject: Subject) -> None:
    store = subject.store
    assert store.get("k") is None
    store.set("k", "v1")
    assert store.get("k") == "v1"
    store.set("k", "v2")
    assert store.get("k") == "v2"
    store.delete("k")
    assert store.get("k") is None


def test_delete_of_an_absent_key_is_quiet(subject: Subject) -> None:
    subject.store.delete("never-set")
    subject.store.delete("never-set")
    assert subject.store.get("never-set") is None


def test_keys_are_independent(subject: Subject) -> None:
    store = subject.store
    store.set("a", "1")
    store.set("b", "2")
    store.set("a:b", "3")
    store.delete("a")
    assert (store.get("a"), store.get("b"), store.get("a:b")) == (None, "2", "3")


def test_empty_strings_are_values(subject: Subject) -> None:
    subject.store.set("k", "")
    assert subject.store.get("k") == ""
    assert subject.store.add("k", "other") is False


def test_unicode_keys_and_values(subject: Subject) -> None:
    store = subject.store
    key, value = "person:zoë@exämple.com:日本:🙂", 'Zoë "Ünïcode" ✓ 🙂\n\t'
    store.set(key, value)
    assert store.get(key) == value
    assert store.add(key, "x") is False
    assert store.incr("compteur:é✓") == 1
    store.delete(key)
    assert store.get(key) is None


def test_repr_shows_no_value(subject: Subject) -> None:
    subject.store.set("token", "secret-value")
    assert "secret-value" not in repr(subject.store)


# -- TTLs ------------------------------------------------------------------------------


def test_ttl_expires(subject: Subject) -> None:
    subject.store.set("k", "v", ttl=10)
    subject.elapse(9)
    assert subject.store.get("k") == "v"
    subject.elapse(1)
    assert subject.store.get("k") is None


def test_fractional_ttl(subject: Subject) -> None:
    subject.store.set("k", "v", ttl=2.5)
    subject.elapse(1.5)
    assert subject.store.get("k") == "v"
    subject.elapse(1)
    assert subject.store.get("k") is None


def test_set_replaces_the_ttl(subject: Subject) -> None:
    subject.store.set("k", "v", ttl=10)
    subject.store.set("k", "w", ttl=100)
    subject.elapse(50)
    assert subject.store.get("k") == "w"
    subject.elapse(50)
    assert subject.store.get("k") is None


def test_set_without_ttl_clears_an_earlier_ttl(subject: Subject) -> None:
    subject.store.set("k", "v", ttl=10)
    subject.store.set("k", "w")
    subject.elapse(1000)
    assert subject.store.get("k") == "w"


def test_set_with_a_ttl_gives_a_ttl_to_a_key_without_one(subject: Subject) -> None:
    subject.store.set("k", "v")
    subject.store.set("k", "w", ttl=10)
    subject.elapse(10)
    assert subject.store.get("k") is None


# -- add -------------------------------------------------------------------------------


def test_add_only_when_absent_or_expired(subject: Subject) -> None:
    store = subject.store
    assert store.add("k", "first", ttl=5) is True
    assert store.add("k", "second") is False
    assert store.get("k") == "first"
    subject.elapse(5)
    assert store.add("k", "third") is True
    assert store.get("k") == "third"
    subject.elapse(1000)  # added without a TTL: it stays
    assert store.add("k", "fourth") is False


def test_a_refused_add_changes_neither_value_nor_ttl(subject: Subject) -> None:
    store = subject.store
    store.set("k", "v", ttl=10)
    assert store.add("k", "w", ttl=1000) is False
    subject.elapse(10)
    assert store.get("k") is None


def test_add_after_delete(subject: Subject) -> None:
    assert subject.store.add("k", "v") is True
    subject.store.delete("k")
    assert subject.store.add("k", "w") is True
    assert subject.store.get("k") == "w"


# -- incr ------------------------------------------------------------------------------


def test_incr_counts_from_zero(subject: Subject) -> None:
    store = subject.store
    assert store.incr("n") == 1
    assert store.incr("n") == 2
    assert store.incr("n", 5) == 7
    assert store.incr("n", -10) == -3
    assert store.get("n") == "-3"
    assert store.incr("m", -2) == -2


def test_incr_continues_a_value_set_as_a_string(subject: Subject) -> None:
    subject.store.set("n", "41")
    assert subject.store.incr("n") == 42
    assert subject.store.get("n") == "42"


def test_incr_applies_the_ttl_only_when_it_creates_the_key(subject: Subject) -> None:
    store = subject.store
    assert store.incr("n", ttl=10) == 1
    subject.elapse(6)
    assert store.incr("n", 5, ttl=10) == 6
    subject.elapse(3)
    assert store.get("n") == "6"
    subject.elapse(1)  # ten seconds after creation: the later ttl did not extend it
    assert store.get("n") is None
    assert store.incr("n", -2) == -2  # counting again from zero, now without a TTL
    subject.elapse(1000)
    assert store.get("n") == "-2"


def test_the_first_ttl_survives_later_incrs_without_one(subject: Subject) -> None:
    store = subject.store
    store.incr("n", ttl=10)
    subject.elapse(5)
    assert store.incr("n") == 2
    subject.elapse(5)
    assert store.get("n") is None


def test_incr_with_a_ttl_on_a_key_without_one_adds_none(subject: Subject) -> None:
    store = subject.store
    store.set("n", "5")
    assert store.incr("n", ttl=10) == 6
    subject.elapse(1000)
    assert store.get("n") == "6"


def test_incr_of_a_value_that_is_not_an_integer_raises_value_error(subject: Subject) -> None:
    store = subject.store
    store.set("n", "not a number")
    with pytest.raises(ValueError):  # noqa: PT011 - the contract names only the type
        store.incr("n")
    with pytest.raises(ValueError):  # noqa: PT011
        store.incr("n", ttl=10)
    assert store.get("n") == "not a number"


# -- batches (apply) -------------------------------------------------------------------


def test_every_shared_store_runs_batches(subject: Subject) -> None:
    assert isinstance(subject.store, BatchStore)


def test_a_batch_runs_in_order_with_one_result_per_operation(subject: Subject) -> None:
    store = subject.store
    store.set("held", "someone")
    results = apply(
        store,
        [
            Add("claim", "me", ttl=60),
            Get("claim"),
            Add("held", "me"),
            Get("held"),
            Set("note", "v", ttl=60),
            Incr("n", 5),
            Incr("n", -2),
            Delete("held"),
            Get("held"),
            Get("absent"),
        ],
    )
    assert results == [True, "me", False, "someone", None, 5, 3, None, None, None]
    assert (store.get("claim"), store.get("note"), store.get("n")) == ("me", "v", "3")


def test_an_empty_batch_is_no_round_trip(subject: Subject) -> None:
    assert apply(subject.store, []) == []


def test_a_batch_keeps_each_operations_ttl(subject: Subject) -> None:
    store = subject.store
    store.set("kept", "v")
    apply(
        store,
        [Set("short", "v", ttl=10), Add("long", "v", ttl=100), Incr("n", ttl=10), Set("kept", "w")],
    )
    subject.elapse(10)
    assert [store.get(key) for key in ("short", "long", "n", "kept")] == [None, "v", None, "w"]
    subject.elapse(90)
    assert store.get("long") is None


def test_a_refused_add_in_a_batch_changes_neither_value_nor_ttl(subject: Subject) -> None:
    store = subject.store
    store.set("k", "v", ttl=10)
    assert apply(store, [Add("k", "w", ttl=1000), Get("k")]) == [False, "v"]
    subject.elapse(10)
    assert store.get("k") is None


def test_a_batch_is_atomic_under_threads(subject: Subject) -> None:
    """Writers move two keys together; a reader's batch never sees them apart."""
    store = subject.store
    apply(store, [Set("a", "0"), Set("b", "0")])
    seen: list[tuple[object, object]] = []

    def work(thread: int) -> None:
        for _ in range(100):
            if thread % 2:
                apply(store, [Incr("a"), Incr("b")])
            else:
                a, b = apply(store, [Get("a"), Get("b")])
                seen.append((a, b))

    _in_threads(work)
    assert all(a == b for a, b in seen)
    assert store.get("a") == store.get("b") == str(THREADS // 2 * 100)


class _PlainStore:
    """A host's store with the five operations only."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.calls: list[str] = []

    def get(self, key: str) -> str | None:
        self.calls.append("get")
        return self.inner.get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self.calls.append("set")
        self.inner.set(key, value, ttl)

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        self.calls.append("add")
        return self.inner.add(key, value, ttl)

    def delete(self, key: str) -> None:
        self.calls.append("delete")
        self.inner.delete(key)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self.calls.append("incr")
        return self.inner.incr(key, amount, ttl)


def test_a_store_without_batches_runs_them_one_call_each() -> None:
    plain = _PlainStore()
    assert isinstance(plain, Store)
    assert not isinstance(plain, BatchStore)
    results = apply(plain, [Add("k", "v"), Get("k"), Incr("n"), Set("s", "x"), Delete("k")])
    assert results == [True, "v", 1, None, None]
    assert plain.calls == ["add", "get", "incr", "set", "delete"]


# -- atomicity -------------------------------------------------------------------------

THREADS = 8


def _in_threads(work: Callable[[int], None]) -> None:
    """Run ``work(thread)`` in THREADS threads released together; re-raise any failure."""
    start = threading.Barrier(THREADS, timeout=30)
    errors: list[BaseException] = []

    def run(thread: int) -> None:
        try:
            start.wait()
            work(thread)
        except BaseException as error:  # noqa: BLE001 - handed to the test below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def test_incr_is_atomic_under_threads(subject: Subject) -> None:
    rounds = 200

    def count(_thread: int) -> None:
        for _ in range(rounds):
            subject.store.incr("counter", ttl=60)

    _in_threads(count)
    assert subject.store.get("counter") == str(THREADS * rounds)


def test_add_lets_exactly_one_thread_through(subject: Subject) -> None:
    keys = 50
    winners: list[tuple[str, str]] = []
    lock = threading.Lock()

    def race(thread: int) -> None:
        for n in range(keys):
            if subject.store.add(f"claim:{n}", f"thread-{thread}", ttl=60):
                with lock:
                    winners.append((f"claim:{n}", f"thread-{thread}"))

    _in_threads(race)
    assert Counter(key for key, _ in winners) == Counter(f"claim:{n}" for n in range(keys))
    # The stored value is the winner's.
    assert all(subject.store.get(key) == thread for key, thread in winners)


PROCESSES = 4
PROCESS_ROUNDS = 150


def _count_and_claim(open_store: Callable[[], Any], start: Any, worker: int) -> None:
    """In another process: race the others to incr one counter and to add claims."""
    store = open_store()
    start.wait()
    for n in range(PROCESS_ROUNDS):
        store.incr("counter", ttl=600)
        if store.add(f"claim:{n}", f"worker-{worker}", ttl=600):
            store.incr("claims won")
            store.incr(f"won by:{worker}")
    store.close()


def test_incr_and_add_are_atomic_across_processes(shared: Subject) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES, timeout=60)
    workers = [
        context.Process(target=_count_and_claim, args=(shared.open_again, start, worker))
        for worker in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    store = shared.store
    assert store.get("counter") == str(PROCESSES * PROCESS_ROUNDS)
    # Each claim was won by exactly one worker: add-if-absent never let two through.
    assert store.get("claims won") == str(PROCESS_ROUNDS)
    assert sum(int(store.get(f"won by:{w}") or 0) for w in range(PROCESSES)) == PROCESS_ROUNDS

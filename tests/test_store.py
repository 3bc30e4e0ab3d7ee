"""What is particular to one store. The operations every store shares are in
``test_store_conformance.py``.

RedisStore's expiry runs on the server's clock: here each operation's TTL is read back
with ``PTTL`` right after it, and 1 ms TTLs are polled until the server has dropped the
key (within a bounded deadline); nothing sleeps.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from fortytwomin_snov.contract.errors import IntegrationError, StoreUnavailable
from fortytwomin_snov.stores import SqliteStore, postgres
from fortytwomin_snov.stores.postgres import PostgresStore
from fortytwomin_snov.stores.redis import DEFAULT_PREFIX, RedisStore
from fortytwomin_snov.testing.clock import ManualClock

if TYPE_CHECKING:  # imported by pytest as a plugin, so that its asserts are rewritten
    from tests.servers import RedisServer

pytest_plugins = ["tests.servers"]

PASSWORD = "s3cret-Pa55word"


# -- SqliteStore -----------------------------------------------------------------------


def test_sqlite_store_persists_across_instances(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "s.db")
    first.set("k", "v")
    first.close()
    second = SqliteStore(tmp_path / "s.db")
    assert second.get("k") == "v"
    second.close()


# -- the purge of expired keys (SqliteStore and PostgresStore) -------------------------


@dataclass
class Swept:
    """A store whose purge is under test, its clock, and every key its table holds (the
    expired ones too, which the store itself no longer shows)."""

    store: SqliteStore | PostgresStore
    clock: ManualClock
    table: Callable[[], list[str]]


@pytest.fixture(params=["sqlite", "postgres"])
def swept(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Swept]:
    """A store that purges a step of 3 keys every 5 writes."""
    clock = ManualClock()
    if request.param == "sqlite":
        monkeypatch.setattr(SqliteStore, "_PURGE_EVERY", 5)
        monkeypatch.setattr(SqliteStore, "_PURGE_STEP", 3)
        path = tmp_path / "s.db"
        sqlite_store = SqliteStore(path, clock=clock)

        def sqlite_keys() -> list[str]:
            with sqlite3.connect(path) as db:
                return [row[0] for row in db.execute("SELECT key FROM kv ORDER BY key")]

        yield Swept(sqlite_store, clock, sqlite_keys)
        sqlite_store.close()
        return
    import psycopg

    monkeypatch.setattr(postgres, "_PURGE_EVERY", 5)
    monkeypatch.setattr(postgres, "_PURGE_STEP", 3)
    url: str = request.getfixturevalue("postgres_url")
    postgres_store = PostgresStore.from_url(url, clock=clock)

    def postgres_keys() -> list[str]:
        with psycopg.connect(url) as db:
            return [row[0] for row in db.execute("SELECT key FROM kv ORDER BY key")]

    yield Swept(postgres_store, clock, postgres_keys)
    postgres_store.close()


def test_expired_keys_are_purged_every_few_writes(swept: Swept) -> None:
    for key in ("a", "b", "c"):
        swept.store.set(key, "1", ttl=10)
    swept.clock.advance(11)
    swept.store.set("z", "live")  # the 4th write
    assert swept.table() == ["a", "b", "c", "z"]
    swept.store.set("z", "live")  # the 5th: a purge step
    assert swept.table() == ["z"]


def test_a_purge_step_looks_at_a_few_keys_in_order_then_starts_again(swept: Swept) -> None:
    """Each step looks at 3 keys past the last one looked at; a live key among them stays."""
    swept.store.set("k3", "no expiry")
    for key in ("k0", "k1", "k2", "k4", "k5", "k6"):  # 7 writes: a step at the 5th, too early
        swept.store.set(key, "1", ttl=10)
    assert len(swept.table()) == 7
    swept.clock.advance(11)
    steps = [swept.table()]
    for _ in range(4):  # a step every 5 writes of a key that stays
        for _ in range(5):
            swept.store.set("live", "1")
        steps.append([key for key in swept.table() if key != "live"])
    assert steps[1:] == [
        # The step at write 5 looked at k0, k1, k2 (none expired yet); this one at k3, k4, k5.
        ["k0", "k1", "k2", "k3", "k6"],
        # k6 and "live": the end of the keys, so the next step starts from the first again.
        ["k0", "k1", "k2", "k3"],
        ["k3"],
        ["k3"],
    ]


def test_a_sqlite_purge_step_reads_a_range_of_the_key_never_the_whole_table(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "s.db")
    try:
        for index in range(10):
            store.set(f"k{index}", "1", ttl=1)
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        store._purge_step()
        store._db.set_trace_callback(None)
        assert statements, "the purge step ran no statement"
        for statement in statements:
            plan = [row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {statement}")]
            assert any("USING PRIMARY KEY (key>?" in line for line in plan), (statement, plan)
            assert not any(line.startswith("SCAN") for line in plan), (statement, plan)
    finally:
        store.close()


# -- RedisStore ------------------------------------------------------------------------


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client on the test server, to look behind the store."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def redis_store(redis_server: RedisServer, redis_prefix: str) -> Iterator[RedisStore]:
    store = RedisStore.from_url(redis_server.url, prefix=redis_prefix)
    yield store
    store.close()


def _until(condition: Callable[[], bool], deadline: float = 5.0) -> bool:
    """Ask the server again and again until ``condition`` holds or ``deadline`` passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
    return False


def test_keys_live_under_the_prefix(
    redis_store: RedisStore, raw: redis.Redis, redis_prefix: str
) -> None:
    redis_store.set("k", "v")
    redis_store.incr("n")
    assert sorted(raw.scan_iter(match=redis_prefix + "*")) == [
        redis_prefix + "k",
        redis_prefix + "n",
    ]


def test_two_prefixes_on_one_server_never_meet(redis_server: RedisServer) -> None:
    first = RedisStore.from_url(redis_server.url, prefix="test:host-a:")
    second = RedisStore.from_url(redis_server.url, prefix="test:host-b:")
    first.delete("k")
    second.delete("k")
    assert first.add("k", "a") is True
    assert second.add("k", "b") is True
    assert (first.get("k"), second.get("k")) == ("a", "b")
    first.delete("k")
    assert second.get("k") == "b"
    second.delete("k")
    first.close()
    second.close()


def test_the_default_prefix(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(redis_server.url)
    assert store.prefix == DEFAULT_PREFIX == "fortytwomin:"
    store.close()


def test_each_operation_leaves_the_ttl_it_promises(
    redis_store: RedisStore, raw: redis.Redis, redis_prefix: str
) -> None:
    def pttl(key: str) -> int:
        return int(raw.pttl(redis_prefix + key))

    redis_store.set("set", "v", ttl=10)
    assert 9000 < pttl("set") <= 10000
    redis_store.set("set", "v")
    assert pttl("set") == -1  # no expiry
    assert redis_store.add("add", "v", ttl=10) is True
    assert 9000 < pttl("add") <= 10000
    assert redis_store.add("add", "v", ttl=100) is False
    assert pttl("add") <= 10000
    redis_store.incr("incr", ttl=10)
    assert 9000 < pttl("incr") <= 10000
    redis_store.incr("incr", ttl=100)
    redis_store.incr("incr")
    assert 9000 < pttl("incr") <= 10000
    redis_store.set("fraction", "v", ttl=2.0004)  # rounded up to whole milliseconds
    assert 1000 < pttl("fraction") <= 2001


def test_the_server_really_expires_keys(redis_store: RedisStore) -> None:
    redis_store.set("set", "v", ttl=0.001)
    assert redis_store.add("add", "v", ttl=0.0001) is True  # a tiny TTL is 1 ms, never 0
    assert redis_store.incr("incr", ttl=0.001) == 1
    assert _until(lambda: redis_store.get("set") is None)
    assert _until(lambda: redis_store.get("add") is None)
    assert _until(lambda: redis_store.get("incr") is None)
    assert redis_store.add("add", "again") is True
    assert redis_store.incr("incr") == 1


def test_an_unreachable_server_raises_store_unavailable_at_once() -> None:
    port = _port_nobody_listens_on()
    store = RedisStore.from_url(
        f"redis://:{PASSWORD}@127.0.0.1:{port}/3", socket_connect_timeout=2, socket_timeout=2
    )  # nothing is connected yet
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        store.get("k")
    assert time.monotonic() - started < 1.5  # refused, not retried
    for operation in (
        lambda: store.set("k", "v", ttl=1),
        lambda: store.add("k", "v"),
        lambda: store.incr("k", ttl=1),
        lambda: store.delete("k"),
    ):
        with pytest.raises(StoreUnavailable):
            operation()
    assert isinstance(caught.value, IntegrationError)
    assert f"127.0.0.1:{port}/3" in str(caught.value)
    assert "try again later" in str(caught.value)
    _assert_no_password(store, caught.value)
    store.close()


def test_a_server_that_does_not_answer_raises_store_unavailable_after_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        store = RedisStore.from_url(
            f"redis://user:{PASSWORD}@127.0.0.1:{port}/0",
            socket_timeout=0.2,
            socket_connect_timeout=0.2,
        )
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="did not answer in time") as caught:
            store.incr("k", ttl=5)
        assert time.monotonic() - started < 2
    _assert_no_password(store, caught.value)
    store.close()


def test_repr_shows_where_the_server_is_never_its_password(redis_server: RedisServer) -> None:
    store = RedisStore.from_url(
        f"redis://admin:{PASSWORD}@127.0.0.1:{redis_server.port}/2", prefix="p:"
    )
    assert repr(store) == f"RedisStore(127.0.0.1:{redis_server.port}/2, prefix='p:')"
    assert PASSWORD not in str(store)
    store.close()


def _assert_no_password(store: RedisStore, error: BaseException) -> None:
    assert PASSWORD not in repr(store)
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error)
    assert error.__cause__ is None
    assert error.__suppress_context__  # the redis error is not shown in tracebacks
    assert PASSWORD not in "".join(traceback.format_exception(error))


def _port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_stores_package_works_without_redis_installed() -> None:
    """``redis`` is an extra: only ``fortytwomin_snov.stores.redis`` needs it."""
    script = (
        "import sys; sys.modules['redis'] = None\n"
        "import fortytwomin_snov.stores, fortytwomin_snov.host.reference\n"
        "try:\n"
        "    import fortytwomin_snov.stores.redis\n"
        "except ImportError:\n"
        "    print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr

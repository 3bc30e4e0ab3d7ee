"""The key-value stores a host lends the plugin: MemoryStore and SqliteStore."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from fortytwomin_snov.contract.store import MemoryStore, Store
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.testing.clock import ManualClock


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore(clock=clock)
    else:
        sqlite_store = SqliteStore(tmp_path / "store.db", clock=clock)
        yield sqlite_store
        sqlite_store.close()


def test_both_stores_satisfy_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_get_set_delete(store: Store) -> None:
    assert store.get("k") is None
    store.set("k", "v1")
    assert store.get("k") == "v1"
    store.set("k", "v2")
    assert store.get("k") == "v2"
    store.delete("k")
    assert store.get("k") is None
    store.delete("k")  # deleting an absent key is not an error


def test_ttl_expires_with_the_clock(store: Store, clock: ManualClock) -> None:
    store.set("k", "v", ttl=10)
    clock.now += 9.9
    assert store.get("k") == "v"
    clock.now += 0.1
    assert store.get("k") is None


def test_set_without_ttl_clears_an_earlier_ttl(store: Store, clock: ManualClock) -> None:
    store.set("k", "v", ttl=10)
    store.set("k", "w")
    clock.now += 1000
    assert store.get("k") == "w"


def test_add_only_when_absent_or_expired(store: Store, clock: ManualClock) -> None:
    assert store.add("k", "first", ttl=5) is True
    assert store.add("k", "second") is False
    assert store.get("k") == "first"
    clock.now += 5
    assert store.add("k", "third") is True
    assert store.get("k") == "third"


def test_incr_counts_from_zero_and_keeps_the_first_ttl(store: Store, clock: ManualClock) -> None:
    assert store.incr("n", ttl=10) == 1
    clock.now += 6
    assert store.incr("n", 5, ttl=10) == 6
    clock.now += 4  # ten seconds after creation: the later ttl did not extend it
    assert store.get("n") is None
    assert store.incr("n", -2) == -2


def test_keys_are_independent(store: Store) -> None:
    store.set("a", "1")
    store.set("b", "2")
    store.delete("a")
    assert store.get("b") == "2"


def test_repr_names_the_store_not_its_values(tmp_path: Path) -> None:
    memory = MemoryStore()
    memory.set("token", "secret-value")
    assert "secret-value" not in repr(memory)
    sqlite_store = SqliteStore(tmp_path / "s.db")
    sqlite_store.set("token", "secret-value")
    assert "secret-value" not in repr(sqlite_store)
    sqlite_store.close()


def test_sqlite_store_persists_across_instances(tmp_path: Path) -> None:
    first = SqliteStore(tmp_path / "s.db")
    first.set("k", "v")
    first.close()
    second = SqliteStore(tmp_path / "s.db")
    assert second.get("k") == "v"
    second.close()


def _increment_and_claim(path: str, worker: int, rounds: int) -> None:
    shared = SqliteStore(path)
    for n in range(rounds):
        shared.incr("counter")
        if shared.add(f"claim:{n}", f"worker-{worker}"):
            shared.incr("claims won")
    shared.close()


def test_sqlite_store_is_atomic_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")  # the workers race to create it, too
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_increment_and_claim, args=(path, worker, 150))
        for worker in range(3)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    shared = SqliteStore(path)
    assert shared.get("counter") == "450"
    # Each claim was won by exactly one worker: add-if-absent never let two through.
    assert shared.get("claims won") == "150"
    shared.close()

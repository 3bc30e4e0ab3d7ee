"""The host's store down: every hook answers as it can, and no event is lost.

``on_booking_event``/``on_booking_events`` answer ``deferred``, ``store_unavailable`` (the
host runs the event again); ``validate_credentials`` and ``render_settings_schema`` work
without the store; ``connect`` and ``validate_settings`` raise the contract's
StoreUnavailable with a message for the admin.
"""

# ruff: noqa: F811 - the fixtures imported from test_sync are parameters here
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
import pluggy
import pytest

from fortytwomin_snov.contract.errors import StoreUnavailable
from fortytwomin_snov.contract.store import MemoryStore, Op, Result, apply
from fortytwomin_snov.stores.redis import RedisStore
from fortytwomin_snov.sync import STORE_RETRY
from tests.servers import free_port
from tests.test_sync import (
    ADD,
    BY_EMAIL,
    JANE,
    OUTCOME_SCHEMA,
    SECRET,
    USER_ID,
    Snov,
    booking_event,
    connection_of,
    host,  # noqa: F401 - a fixture
    reason_of,
    settings_of,
    snov,  # noqa: F401 - a fixture
)


class Outage(Exception):
    """What a host's own store lets through (not the contract's error)."""


class SwitchedStore:
    """A MemoryStore behind a switch: while ``down``, every operation raises ``error``.

    ``fail_after``: the store goes down by itself after that many more round trips.
    """

    def __init__(self, error: Exception | None = None) -> None:
        self.inner = MemoryStore()
        self.down = False
        self.error = error or StoreUnavailable("The shared store could not be reached")
        self.fail_after: int | None = None

    def _check(self) -> None:
        if self.fail_after is not None:
            if self.fail_after == 0:
                self.down = True
            self.fail_after -= 1
        if self.down:
            raise self.error

    def get(self, key: str) -> str | None:
        self._check()
        return self.inner.get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._check()
        self.inner.set(key, value, ttl)

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        self._check()
        return self.inner.add(key, value, ttl)

    def delete(self, key: str) -> None:
        self._check()
        self.inner.delete(key)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self._check()
        return self.inner.incr(key, amount, ttl)

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        self._check()
        return apply(self.inner, ops)


@dataclass
class DownHost:
    store: Any


def sync(
    hook: pluggy.HookRelay, event: Any, store: Any, connection: Any, settings: Any = None
) -> dict[str, Any]:
    outcome = hook.on_booking_event(
        integration="snov",
        connection=connection,
        settings=settings or settings_of(4242),
        event=event,
        host=DownHost(store),
    )
    assert isinstance(outcome, dict)
    jsonschema.validate(outcome, OUTCOME_SCHEMA)
    assert SECRET not in json.dumps(outcome)
    return outcome


def assert_store_unavailable(outcome: dict[str, Any]) -> None:
    assert reason_of(outcome) == ("deferred", "store_unavailable")
    assert outcome["retry_after"] == STORE_RETRY
    assert "shared store" in outcome["message"]


# ---- on_booking_event / on_booking_events -------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        StoreUnavailable("The shared store could not be reached"),
        Outage("redis://:hunter2@cache:6379 refused"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=["store-unavailable", "a-host-store-s-own-error", "sqlite-locked"],
)
def test_a_store_that_fails_defers_the_event(
    hook: pluggy.HookRelay, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    store = SwitchedStore(error)
    store.down = True
    outcome = sync(hook, booking_event(), store, connection_of(USER_ID, SECRET))
    assert_store_unavailable(outcome)
    assert (outcome["email"], outcome["list_id"]) == (JANE, 4242)
    # The driver's own text (it may hold a password) reaches neither the outcome nor the log.
    assert "hunter2" not in json.dumps(outcome)
    assert "hunter2" not in caplog.text


def test_a_redis_store_with_no_server_defers_the_event(hook: pluggy.HookRelay) -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=2)
    try:
        outcome = sync(hook, booking_event(), store, connection_of(USER_ID, SECRET))
        outcomes = hook.on_booking_events(
            integration="snov",
            connection=connection_of(USER_ID, SECRET),
            settings=settings_of(4242),
            events=[booking_event(), booking_event(invitee={"email": "sam@example.com"})],
            host=DownHost(store),
        )
    finally:
        store.close()
    assert_store_unavailable(outcome)
    assert [reason_of(item) for item in outcomes] == [("deferred", "store_unavailable")] * 2


def test_a_batch_keeps_the_people_written_before_the_store_failed(snov: Snov) -> None:
    store = SwitchedStore()
    sam = booking_event(invitee={"email": "sam@example.com", "name": "Sam"})
    jane = booking_event()
    first = snov.sync.hook.on_booking_events(
        integration="snov",
        connection=snov.sync.connection,
        settings=snov.sync.settings,
        events=[booking_event(event_id="warm-up")],
        host=DownHost(store),
    )
    assert first[0]["status"] == "synced"
    store.fail_after = 2  # Sam's claims (with the ticket and the token), step and permit; then down
    outcomes = snov.sync.hook.on_booking_events(
        integration="snov",
        connection=snov.sync.connection,
        settings=snov.sync.settings,
        events=[sam, jane],
        host=DownHost(store),
    )
    assert [reason_of(item) for item in outcomes] == [("deferred", "store_unavailable")] * 2
    assert snov.calls(ADD) == 2  # the warm-up's and Sam's: Jane's was never tried
    for outcome in outcomes:
        jsonschema.validate(outcome, OUTCOME_SCHEMA)


def test_a_store_lost_after_the_write_landed_loses_nothing_and_writes_once(snov: Snov) -> None:
    store = SwitchedStore()
    event = booking_event()
    warm_up = booking_event(invitee={"email": "sam@example.com", "name": "Sam"})
    sync(snov.sync.hook, warm_up, store, snov.sync.connection, snov.sync.settings)
    # The claims (with the ticket and the token), the step and the permit: the add leaves,
    # then the store goes down before the marks are written back.
    store.fail_after = 2
    outcome = sync(snov.sync.hook, event, store, snov.sync.connection, snov.sync.settings)
    assert_store_unavailable(outcome)
    assert len(snov.profiles(JANE, snov.target)) == 1
    # The store is back; the host retries once the event's lease has run out.
    store.down, store.fail_after = False, None
    store.inner = _after_the_lease(store.inner)
    outcome = sync(snov.sync.hook, event, store, snov.sync.connection, snov.sync.settings)
    assert reason_of(outcome) == ("synced", "prospect_added")
    # Sam's add and Jane's, then the retry's look: no second add.
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (2, 1)
    assert len(snov.profiles(JANE, snov.target)) == 1


def _after_the_lease(store: MemoryStore) -> MemoryStore:
    """The store's data as it is once the claim and the lock of the lost attempt expired."""
    later = MemoryStore()
    for key, (value, _) in store._data.items():
        if not key.startswith(("snov:event:", "snov:lock:")):
            later.set(key, value)
    return later


# ---- the other hooks ------------------------------------------------------------------


def test_validate_credentials_checks_the_keys_without_the_store(snov: Snov) -> None:
    store = SwitchedStore()
    store.down = True
    check = snov.sync.hook.validate_credentials(
        integration="snov",
        credentials={
            "api_user_id": snov.sync.connection["api_user_id"],
            "api_secret": snov.sync.connection["api_secret"],
        },
        host=DownHost(store),
    )
    assert check["ok"] is True


def test_the_settings_form_reads_snov_without_the_store_and_says_so(snov: Snov) -> None:
    store = SwitchedStore()
    store.down = True
    form = snov.sync.hook.render_settings_schema(
        integration="snov", connection=snov.sync.connection, host=DownHost(store)
    )
    notice = form["ui_schema"]["ui:options"]["notice"]
    assert notice["level"] == "warning"
    assert "shared store" in notice["message"]
    assert form["schema"]["description"] == notice["message"]
    assert "42min bookings" in json.dumps(form["schema"])  # the lists, read from Snov.io


def test_connect_and_validate_settings_raise_the_contracts_error(snov: Snov) -> None:
    store = SwitchedStore()
    store.down = True
    with pytest.raises(StoreUnavailable, match="shared store could not be reached"):
        snov.sync.hook.connect(
            integration="snov",
            credentials={
                "api_user_id": snov.sync.connection["api_user_id"],
                "api_secret": snov.sync.connection["api_secret"],
            },
            actor={"id": "usr_admin", "role": "admin"},
            host=DownHost(store),
        )
    with pytest.raises(StoreUnavailable, match="The settings could not be checked"):
        snov.sync.hook.validate_settings(
            integration="snov",
            connection=snov.sync.connection,
            settings=snov.sync.settings,
            host=DownHost(store),
        )

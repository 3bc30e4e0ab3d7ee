"""What one synced event costs the host's store, counted on every store.

At most 3 round trips per synced event with a cached token: one batch that claims the
event, tries the person's lock, reads their marks, draws the request's rate-limit ticket and
reads the token; the permit, taken in one batch with the step noted before an add; one batch
that writes everything back (and, after an add, drops the cached choices, whose prospect
counts changed). A duplicate makes no request: it gives its ticket back in its last batch.
"""

# ruff: noqa: F811 - the fixtures imported from test_sync are parameters here
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.stores.redis import RedisStore
from fortytwomin_snov.testing.counting import CountingStore
from tests.test_sync import (
    JANE,
    Snov,
    booking_event,
    host,  # noqa: F401 - a fixture
    reason_of,
    snov,  # noqa: F401 - a fixture
)

if TYPE_CHECKING:
    from tests.servers import RedisServer

pytest_plugins = ["tests.servers"]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def counted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CountingStore]:
    if request.param == "memory":
        yield CountingStore(MemoryStore())
    elif request.param == "sqlite":
        store = SqliteStore(tmp_path / "store.db")
        yield CountingStore(store)
        store.close()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix: str = request.getfixturevalue("redis_prefix")
        redis_store = RedisStore.from_url(server.url, prefix=prefix)
        yield CountingStore(redis_store)
        redis_store.close()


def test_round_trips_per_event(snov: Snov, counted: CountingStore) -> None:
    snov.sync.host.store = counted  # type: ignore[assignment]

    def cost(event: dict[str, Any]) -> tuple[tuple[str, str], int, int]:
        counted.reset()
        outcome = snov.sync.hook.on_booking_event(
            integration="snov",
            connection=snov.sync.connection,
            settings=snov.sync.settings,
            event=event,
            host=snov.sync.host,
        )
        counts = counted.reset()
        return reason_of(outcome), counts.round_trips, counts.writes

    cost(booking_event(invitee={"email": "warm-up@example.com"}))  # fetches the token
    cancel = booking_event("booking.canceled", at="2025-03-15T09:30:00Z")
    assert cost(booking_event()) == (("synced", "prospect_added"), 3, 11)
    # No step is noted before an update, so none is deleted after it.
    assert cost(booking_event(at="2025-03-14T10:30:00Z")) == (("synced", "prospect_updated"), 3, 8)
    assert cost(cancel) == (("synced", "status_updated"), 3, 8)
    assert cost(cancel) == (("skipped", "duplicate_event"), 2, 5)
    assert snov.member(JANE).custom_fields

"""The reference host's batches: N due jobs of one connection claimed at once and handed to
``on_booking_events``; a plugin without that hook gets them one at a time; a damaged job row
is set aside and the queue goes on. Scripted plugins on a real PluginManager, a ManualClock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pluggy
import pytest

from fortytwomin_snov.contract import hookspecs
from fortytwomin_snov.contract.hookspecs import hookimpl
from fortytwomin_snov.host import jobs
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event
from tests.test_host_queue import ADMIN, CREDENTIALS, SLUG, SYNCED, FakePlugin, outcome

if TYPE_CHECKING:  # imported by pytest as a plugin, so that its asserts are rewritten
    from tests.servers import HostDatabase

pytest_plugins = ["tests.servers"]


class BatchPlugin(FakePlugin):
    """The scripted plugin, with ``on_booking_events``: each batch answers in one call."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    @hookimpl
    def on_booking_events(
        self,
        integration: str,
        connection: dict[str, Any],
        settings: dict[str, Any],
        events: list[dict[str, Any]],
        host: Any,
    ) -> list[dict[str, Any]] | None:
        if integration != SLUG:
            return None
        self.batches.append([event["id"] for event in events])
        answers = []
        for event in events:
            answer = self.answers.pop(0)
            assert isinstance(answer, dict)
            answers.append({"event_id": event["id"], "event_type": event["type"], **answer})
        return answers


def someone(number: int) -> dict[str, Any]:
    """Event ``number``, about a person of its own."""
    return booking_event(number, f"person-{number}@example.com")


def ready_host(
    plugin: FakePlugin, place: HostDatabase, clock: ManualClock, **options: Any
) -> ReferenceHost:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name=SLUG)
    host = ReferenceHost(
        place.location,
        integration=SLUG,
        plugin_manager=manager,
        clock=clock,
        sleep=clock.sleep,
        environ=place.environ,
        worker_id="worker-a",
        **options,
    )
    host.connect(CREDENTIALS, ADMIN)
    host.save_settings({"list": "leads"})
    return host


@pytest.fixture
def clock() -> ManualClock:
    # After the factories' events (2025-03-14): the host refuses events from its future.
    return ManualClock(1_750_000_000.0)


@pytest.fixture
def batching(
    host_database: HostDatabase, clock: ManualClock
) -> Iterator[tuple[ReferenceHost, BatchPlugin]]:
    plugin = BatchPlugin()
    with ready_host(plugin, host_database, clock, batch_size=3) as host:
        yield host, plugin


def test_the_worker_claims_n_jobs_and_hands_them_over_in_one_call(
    batching: tuple[ReferenceHost, BatchPlugin], clock: ManualClock
) -> None:
    host, plugin = batching
    ids = host.enqueue_many([someone(number) for number in range(1, 6)])
    plugin.answers += [
        SYNCED,
        outcome("deferred", "rate_limited", retry_after=30.0),
        outcome("failed", "list_not_found", blocked_on="settings"),
        SYNCED,
        SYNCED,
        SYNCED,  # evt-2 again
    ]
    first = host.work_batch()
    assert [attempt.entry.job_id for attempt in first] == ids[:3]
    assert plugin.batches == [["evt-1", "evt-2", "evt-3"]]
    assert not plugin.calls  # the single-event hook was never called
    assert [attempt.job_state for attempt in first] == ["done", "queued", "parked"]
    assert first[1].run_after == clock() + 30.0
    # The deferral holds the integration until that job comes due.
    assert host.work_batch() == []
    clock.advance(30.0)
    second = host.work_batch()
    assert plugin.batches[1] == ["evt-4", "evt-5", "evt-2"]
    assert [attempt.entry.status for attempt in second] == ["synced"] * 3
    assert host.job_counts() == {"queued": 0, "running": 0, "done": 4, "parked": 1, "failed": 0}


def test_work_counts_every_attempt_of_a_batch_and_respects_max_attempts(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    host.enqueue_many([someone(number) for number in range(1, 6)])
    plugin.answers += [SYNCED] * 5
    summary = host.work(max_attempts=4)
    assert summary.attempts == 4
    assert plugin.batches == [["evt-1", "evt-2", "evt-3"], ["evt-4"]]
    assert host.work(until_empty=True).attempts == 1


def test_a_plugin_without_the_batch_hook_gets_one_event_at_a_time(
    host_database: HostDatabase, clock: ManualClock
) -> None:
    plugin = FakePlugin()
    with ready_host(plugin, host_database, clock, batch_size=20) as host:
        host.enqueue_many([booking_event(number) for number in range(1, 4)])
        plugin.answers += [SYNCED] * 3
        relay = host.plugin_manager.hook
        assert not relay.on_booking_events.get_hookimpls()
        assert (
            relay.on_booking_events(
                integration=SLUG, connection={}, settings={}, events=[], host=host
            )
            is None
        )
        attempts = host.work_batch()
        assert len(attempts) == 1  # nothing claimed ahead of a one-at-a-time plugin
        assert host.work(until_empty=True).attempts == 2
        assert [call["event"]["id"] for call in plugin.calls] == ["evt-1", "evt-2", "evt-3"]


class ShortPlugin(FakePlugin):
    """Answers a batch with one outcome, whatever its length."""

    @hookimpl
    def on_booking_events(self, integration: str) -> list[dict[str, Any]] | None:
        if integration != SLUG:
            return None
        return [{**SYNCED, "event_id": "evt-1", "event_type": "booking.created"}]


def test_a_wrong_number_of_outcomes_fails_the_batch_with_invalid_outcome(
    host_database: HostDatabase, clock: ManualClock
) -> None:
    with ready_host(ShortPlugin(), host_database, clock) as host:
        host.enqueue_many([booking_event(1), booking_event(2)])
        attempts = host.work_batch()
    assert {(a.entry.status, a.entry.reason) for a in attempts} == {
        ("failed", jobs.INVALID_OUTCOME)
    }
    assert "1 outcomes for 2 events" in attempts[0].entry.message


def test_an_unreadable_job_row_is_set_aside_and_the_queue_goes_on(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    ids = host.enqueue_many([booking_event(number) for number in range(1, 4)])
    with host.database.transaction() as tx:
        tx.execute("UPDATE jobs SET event = ? WHERE id = ?", ('{"id": "evt-2", "ty', ids[1]))
        tx.execute("UPDATE jobs SET event = ? WHERE id = ?", ("[1, 2]", ids[2]))
    plugin.answers += [SYNCED]
    attempts = host.work(until_empty=True)
    assert attempts.attempts == 1
    assert plugin.batches == [["evt-1"]]
    assert host.job_counts()["failed"] == 2
    for job_id in ids[1:]:
        (entry,) = host.sync_log(job_id=job_id)
        assert (entry.status, entry.reason) == ("failed", jobs.UNREADABLE_JOB)
        assert "cannot be read" in entry.message
    # Listing the jobs still works with the damaged rows in the table.
    assert [job.event for job in host.jobs(state="failed")] == [{}, {}]


def test_one_at_a_time_claims_set_a_damaged_row_aside_too(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    ids = host.enqueue_many([booking_event(1), booking_event(2)])
    with host.database.transaction() as tx:
        tx.execute("UPDATE jobs SET event = 'not json' WHERE id = ?", (ids[0],))
    plugin.answers += [SYNCED]
    attempt = host.work_once()
    assert attempt is not None
    assert attempt.entry.job_id == ids[1]
    assert host.job(ids[0]).state == "failed"  # type: ignore[union-attr]

"""Claims by person: a batch takes, with each due job, the other due jobs of the same person
of the same connection, so that the plugin writes that person once; a person another worker
holds is passed over; the lookups stay on the indexes. On a SQLite file and on PostgreSQL,
scripted plugins on a real PluginManager, a ManualClock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fortytwomin_snov.host import jobs
from fortytwomin_snov.host.database import MIGRATIONS, Database
from fortytwomin_snov.host.dialect import sqlite_ddl
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event, routing_form_event
from tests.test_host_batch import BatchPlugin, batching, clock, ready_host, someone
from tests.test_host_queue import SLUG, SYNCED, outcome

if TYPE_CHECKING:  # imported by pytest as a plugin, so that its asserts are rewritten
    from tests.servers import HostDatabase

pytest_plugins = ["tests.servers"]
__all__ = ["batching", "clock"]  # test_host_batch's fixtures (batches of 3), used here too


def test_a_batch_takes_each_persons_later_jobs_with_their_first(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    ann = "ann@example.com"
    host.enqueue_many(
        [
            booking_event(1, ann),
            someone(2),
            booking_event(3, ann, kind="booking.canceled"),
            someone(4),
            routing_form_event(5, ann),
            someone(6),
        ]
    )
    plugin.answers += [SYNCED] * 6
    first = host.work_batch()
    # Three people (the batch size): Ann with all three of her events, then the next two.
    assert plugin.batches == [["evt-1", "evt-3", "evt-5", "evt-2", "evt-4"]]
    assert {attempt.job_state for attempt in first} == {"done"}
    assert host.work(until_empty=True).attempts == 1
    assert plugin.batches[1:] == [["evt-6"]]


def test_one_person_is_one_email_whatever_its_case_and_spaces(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    host.enqueue_many(
        [
            booking_event(1, "Ann@Example.COM"),
            someone(2),
            someone(3),
            someone(4),
            booking_event(5, " ann@example.com "),
        ]
    )
    plugin.answers += [SYNCED] * 4
    host.work_batch()
    assert plugin.batches == [["evt-1", "evt-5", "evt-2", "evt-3"]]
    keys = {jobs.person_key(booking_event(1, email)) for email in ("A@b.example", "a@B.example")}
    assert len(keys) == 1
    assert jobs.person_key(booking_event(1, None)) is None


def test_events_without_an_email_are_each_a_person_of_their_own(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    host.enqueue_many([booking_event(number, None) for number in range(1, 5)])
    plugin.answers += [SYNCED] * 3
    host.work_batch()
    assert plugin.batches == [["evt-1", "evt-2", "evt-3"]]


def test_a_batch_holds_at_most_five_jobs_a_person(
    host_database: HostDatabase, clock: ManualClock
) -> None:
    plugin = BatchPlugin()
    with ready_host(plugin, host_database, clock, batch_size=1) as host:
        host.enqueue_many([booking_event(number) for number in range(1, 8)])
        plugin.answers += [SYNCED] * 7
        assert len(host.work_batch()) == jobs.MAX_JOBS_PER_PERSON == 5
        assert host.work(until_empty=True).attempts == 2
    assert plugin.batches == [[f"evt-{n}" for n in range(1, 6)], ["evt-6", "evt-7"]]


def test_work_once_still_takes_one_job(batching: tuple[ReferenceHost, BatchPlugin]) -> None:
    host, plugin = batching
    host.enqueue_many([booking_event(1), booking_event(2)])
    plugin.answers += [SYNCED]
    attempt = host.work_once()
    assert attempt is not None
    assert plugin.batches == [["evt-1"]]


def test_a_person_another_worker_holds_waits_until_its_lease_runs_out(
    batching: tuple[ReferenceHost, BatchPlugin], clock: ManualClock
) -> None:
    host, plugin = batching
    ids = host.enqueue_many([booking_event(1), someone(2)])
    with host.database.transaction() as tx:
        (held,) = jobs.claim_jobs(
            tx, SLUG, worker="worker-b", now=clock(), lease=host.lease, people=1
        )
    assert held.id == ids[0]
    host.enqueue(booking_event(3))  # Jane again, while worker-b holds her first event
    plugin.answers += [SYNCED] * 3
    host.work_batch()
    assert plugin.batches == [["evt-2"]]
    assert host.work_batch() == []
    clock.advance(host.lease)  # worker-b died: its job and Jane's next one go together
    host.work_batch()
    assert plugin.batches[1:] == [["evt-1", "evt-3"]]


def test_on_postgresql_a_claim_under_way_keeps_its_person_from_a_concurrent_claim(
    postgres_url: str, clock: ManualClock
) -> None:
    from tests.servers import HOST_KEY, HostDatabase

    place = HostDatabase(postgres_url, {"FORTYTWOMIN_SNOV_KEY": HOST_KEY})
    with ready_host(BatchPlugin(), place, clock) as host:
        ids = host.enqueue_many([booking_event(1), booking_event(2), someone(3)])
        database = host.database
        # The first claim has taken Jane's first job and not committed yet; her second job
        # is unlocked and looks queued to the second claim, which must still pass it over.
        with database.transaction() as first:
            taken = jobs.claim_jobs(
                first, SLUG, worker="a", now=clock(), lease=60.0, people=1, max_jobs=1
            )
            with database.transaction() as second:
                other = jobs.claim_jobs(
                    second, SLUG, worker="b", now=clock(), lease=60.0, people=5, max_jobs=10
                )
    assert [job.id for job in taken] == [ids[0]]
    assert [job.id for job in other] == [ids[2]]


def test_the_claim_lookups_follow_the_indexes(tmp_path: Path) -> None:
    with Database(tmp_path / "host.db") as database, database.read() as db:
        for name, (query, count) in jobs.CLAIM_QUERIES.items():
            plan = [
                str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {query}", ("x",) * count)
            ]
            searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
            assert searches, (name, plan)
            assert all(" USING " in step and "INDEX" in step for step in searches), (name, plan)
            # Sorting is left only to one person's due jobs, a handful of rows.
            assert not any("TEMP B-TREE" in step for step in plan) or name == "person_due"


def test_jobs_queued_before_the_upgrade_are_claimed_one_by_one(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "host.db"
    old = sqlite3.connect(path)
    for step in MIGRATIONS[:3]:
        for statement in step:
            old.execute(sqlite_ddl(statement))
    old.execute("PRAGMA user_version = 3")
    for number in (1, 2):
        old.execute(
            "INSERT INTO jobs (integration, event_id, event_type, event, state, run_after,"
            " created_at, updated_at) VALUES (?, ?, 'booking.created', ?, 'queued', 0, 0, 0)",
            (SLUG, f"evt-{number}", jobs.to_json_text(booking_event(number))),
        )
    old.commit()
    old.close()
    path.chmod(0o600)
    from tests.servers import HostDatabase

    plugin = BatchPlugin()
    with ready_host(plugin, HostDatabase(path, {}), clock, batch_size=1) as host:
        host.enqueue(booking_event(3))
        plugin.answers += [SYNCED] * 3
        assert host.work(until_empty=True).attempts == 3
    assert plugin.batches == [["evt-1"], ["evt-2"], ["evt-3"]]


def test_a_host_can_still_hand_over_one_job_at_a_time(
    host_database: HostDatabase, clock: ManualClock
) -> None:
    plugin = BatchPlugin()
    with ready_host(plugin, host_database, clock, batch_size=1, batch_jobs=1) as host:
        host.enqueue_many([booking_event(1), booking_event(2)])
        plugin.answers += [SYNCED] * 2
        assert host.work(until_empty=True).attempts == 2
    assert plugin.batches == [["evt-1"], ["evt-2"]]


@pytest.mark.parametrize(
    ("answer", "states"),
    [
        (SYNCED, ["done", "done", "done"]),  # a final outcome closes the job all the same
        (outcome("deferred", "rate_limited", retry_after=30.0), ["queued", "running", "queued"]),
    ],
)
def test_a_batch_records_alike_outcomes_together_and_a_job_lost_meanwhile_apart(
    batching: tuple[ReferenceHost, BatchPlugin],
    clock: ManualClock,
    answer: dict[str, Any],
    states: list[str],
) -> None:
    host, _ = batching
    ids = host.enqueue_many([someone(number) for number in range(1, 4)])
    with host.database.transaction() as tx:
        claimed = jobs.claim_jobs(tx, SLUG, worker="a", now=clock(), lease=60.0, people=3)
    with host.database.transaction() as tx:  # worker b took job 2 once a's lease ran out
        tx.execute("UPDATE jobs SET worker = 'b', attempts = 2 WHERE id = ?", (ids[1],))
    result = jobs.Outcome.from_plugin(answer, email=None)
    with host.database.transaction() as tx:
        recorded = jobs.record_attempts(tx, [(job, result, False) for job in claimed], now=clock())
    assert [attempt.job_state for attempt in recorded] == states
    assert [host.job(job_id).state for job_id in ids] == states  # type: ignore[union-attr]
    assert [attempt.entry.job_id for attempt in recorded] == ids
    assert len(host.sync_log()) == 3

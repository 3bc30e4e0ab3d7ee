"""Backfill on the reference host: claim priority (batches included), one job per event id,
pause and resume, and the ``backfill`` command's Ctrl-C, bad lines and progress, run in
this process with a scripted plugin and a ManualClock. Every test runs on both engines.
"""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from rich.console import Console

from fortytwomin_snov.contract.hookspecs import hookimpl
from fortytwomin_snov.host import jobs
from fortytwomin_snov.host.backfill import Pace, time_words
from fortytwomin_snov.host.cli.backfill import Reader, backfill_events, progress_text
from fortytwomin_snov.host.cli.options import CommandFailed
from fortytwomin_snov.host.cli.queue import after_work
from fortytwomin_snov.host.errors import InvalidEvent
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event, jsonl
from tests.test_host_batch import BatchPlugin, ready_host
from tests.test_host_queue import SLUG, SYNCED, FakePlugin, outcome

if TYPE_CHECKING:  # imported by pytest as a plugin, so that its asserts are rewritten
    from tests.servers import HostDatabase

pytest_plugins = ["tests.servers", "tests.test_host_batch"]  # and its fixture batching

PAUSED_LINE = "run `fortytwomin-snov backfill FILE` again to resume it."


class RatedPlugin(BatchPlugin):
    """The batch plugin, declaring a rate limit of 60 requests a minute."""

    @hookimpl
    def integration_manifest(self) -> dict[str, Any]:
        return {**super().integration_manifest(), "rate_limit": 60}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_750_000_000.0)  # after the factories' events, as test_host_batch's


@pytest.fixture
def single(
    host_database: HostDatabase, clock: ManualClock
) -> Iterator[tuple[ReferenceHost, FakePlugin]]:
    """One event a call, so that a test can interrupt between two events."""
    plugin = FakePlugin()
    with ready_host(plugin, host_database, clock) as host:
        yield host, plugin


def events(*numbers: int) -> list[dict[str, Any]]:
    """Bookings by as many people."""
    return [booking_event(number, f"person{number}@example.com") for number in numbers]


# ---- priority -------------------------------------------------------------------------


def test_claims_take_live_jobs_first_and_a_batch_never_mixes_them_with_backfill(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    host.enqueue_backfill(events(1, 2, 3, 4))
    host.enqueue_many(events(5, 6))
    plugin.answers += [SYNCED] * 6
    # Two live jobs due: the batch holds them alone, though three would fit.
    assert [attempt.entry.origin for attempt in host.work_batch()] == ["live", "live"]
    assert [attempt.entry.origin for attempt in host.work_batch()] == ["backfill"] * 3
    host.enqueue(booking_event(7))  # a live event arriving mid-backfill goes next
    plugin.answers += [SYNCED]
    host.work(until_empty=True)
    assert plugin.batches == [
        ["evt-5", "evt-6"],
        ["evt-1", "evt-2", "evt-3"],
        ["evt-7"],
        ["evt-4"],
    ]


def test_a_backfill_claim_takes_a_persons_jobs_together(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    again = booking_event(9, "person1@example.com", event_id="evt-9")
    host.enqueue_backfill([*events(1, 2, 3, 4), again])
    plugin.answers += [SYNCED] * 5
    # Three people a batch: person 1's second booking, queued last, comes with their first.
    assert [attempt.entry.event_id for attempt in host.work_batch()] == [
        "evt-1",
        "evt-9",
        "evt-2",
        "evt-3",
    ]


def test_a_deferred_backfill_batch_holds_only_the_backfill_and_a_live_event_goes_at_once(
    batching: tuple[ReferenceHost, BatchPlugin], clock: ManualClock
) -> None:
    host, plugin = batching
    host.enqueue_backfill(events(1))
    plugin.answers += [outcome("deferred", "rate_limited", retry_after=30)]
    assert [attempt.entry.origin for attempt in host.work_batch()] == ["backfill"]
    host.enqueue(booking_event(2))
    plugin.answers += [SYNCED]
    assert [attempt.entry.event_id for attempt in host.work_batch()] == ["evt-2"]
    clock.advance(30)
    plugin.answers += [SYNCED]
    assert [attempt.entry.event_id for attempt in host.work_batch()] == ["evt-1"]


def test_a_deferred_live_batch_holds_the_backfill_too(
    batching: tuple[ReferenceHost, BatchPlugin], clock: ManualClock
) -> None:
    host, plugin = batching
    host.enqueue(booking_event(1))
    host.enqueue_backfill(events(2))
    plugin.answers += [outcome("deferred", "rate_limited", retry_after=30)]
    assert [attempt.entry.origin for attempt in host.work_batch()] == ["live"]
    assert host.work_batch() == []  # the backfill job is due, but the service said "later"
    plugin.answers += [SYNCED, SYNCED]
    started = clock()
    host.work(until_empty=True)
    assert plugin.batches[1:] == [["evt-1"], ["evt-2"]]
    assert clock() - started == 30


def test_a_live_job_whose_worker_died_is_taken_again_before_backfill_jobs(
    batching: tuple[ReferenceHost, BatchPlugin], clock: ManualClock
) -> None:
    host, plugin = batching
    host.enqueue_backfill(events(1))
    host.enqueue(booking_event(2))
    with host.database.transaction() as tx:
        (held,) = jobs.claim_jobs(tx, SLUG, worker="dead", now=clock(), lease=10.0, people=3)
    assert held.origin == "live"
    clock.advance(11.0)
    plugin.answers += [SYNCED, SYNCED]
    host.work(until_empty=True)
    assert plugin.batches == [["evt-2"], ["evt-1"]]


def test_the_claim_lookups_search_the_claim_index(
    batching: tuple[ReferenceHost, BatchPlugin], clock: ManualClock
) -> None:
    host, _ = batching
    host.enqueue_backfill(events(*range(1, 40)))
    parameters = (SLUG, "backfill", clock(), clock(), 3)
    with host.database.transaction() as tx:
        if tx.dialect.name == "postgresql":
            # The planner weighs the rows it has counted: give it a backfill long done.
            tx.execute(
                "INSERT INTO jobs (integration, event_id, event_type, event, state,"
                " run_after, created_at, updated_at, origin) SELECT ?, 'old-' || n,"
                " 'booking.created', '{}', 'done', 0, 0, 0, 'backfill'"
                " FROM generate_series(1, 20000) AS n",
                (SLUG,),
            )
            tx.execute("ANALYZE jobs")
        for name in ("lease_run_out", "queued_and_due"):
            query, _ = jobs.CLAIM_QUERIES[name]
            if tx.dialect.name == "sqlite":
                found = tx.execute(f"EXPLAIN QUERY PLAN {query}", parameters)
                plan = " ".join(str(row[3]) for row in found)
                claim = "INDEX jobs_claim (integration=? AND state=? AND paused=? AND origin=?"
                assert claim in plan, name
                assert "TEMP B-TREE" not in plan, name
            else:
                plan = " ".join(str(row[0]) for row in tx.execute(f"EXPLAIN {query}", parameters))
                # The planner picks among the job indexes by the rows it counted.
                assert "Index Scan using jobs_" in plan, plan
                assert "Seq Scan" not in plan, plan
        tx.execute("DELETE FROM jobs WHERE event_id LIKE 'old-%'")


# ---- one job per event ------------------------------------------------------------------


def test_a_backfill_queues_an_event_id_once_and_none_a_job_already_has(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    host.enqueue(booking_event(1))
    queued = host.enqueue_backfill(events(1, 2, 2, 3))
    assert [host.job(job_id).event_id for job_id in queued] == ["evt-2", "evt-3"]  # type: ignore[union-attr]
    assert host.enqueue_backfill(events(1, 2, 3)) == []
    plugin.answers += [SYNCED] * 3
    host.work(until_empty=True)
    assert host.enqueue_backfill(events(2, 3)) == []
    assert host.work_batch() == []
    assert sorted(event for batch in plugin.batches for event in batch) == [
        "evt-1",
        "evt-2",
        "evt-3",
    ]


def test_a_backfill_takes_only_the_events_that_bring_a_person_in(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, _ = batching
    canceled = booking_event(1)
    canceled["type"] = "booking.canceled"
    with pytest.raises(InvalidEvent) as caught:
        host.enqueue_backfill([booking_event(2), canceled])
    assert caught.value.errors == [
        {
            "pointer": "/1/type",
            "message": "A backfill takes booking.created and routing_form.submitted events"
            " only, not booking.canceled",
        }
    ]
    assert host.check_backfill_event(booking_event(3)) == []
    assert host.backfill_progress().total == 0


# ---- pause and resume ---------------------------------------------------------------------


def test_a_paused_backfill_is_worked_by_no_worker_until_resumed(
    batching: tuple[ReferenceHost, BatchPlugin],
) -> None:
    host, plugin = batching
    host.enqueue_backfill(events(1, 2))
    assert host.pause_backfill() == 2
    status = host.status()
    assert (status.jobs["queued"], status.backfill_paused) == (0, 2)
    host.enqueue(booking_event(3))
    plugin.answers += [SYNCED]
    summary = host.work(until_empty=True)  # returns: the paused jobs are nobody's work
    assert (summary.attempts, plugin.batches) == (1, [["evt-3"]])
    assert host.resume_backfill() == 2
    plugin.answers += [SYNCED, SYNCED]
    host.work(until_empty=True)
    assert plugin.batches[1] == ["evt-1", "evt-2"]
    assert [entry.origin for entry in host.sync_log()] == ["backfill", "backfill", "live"]


# ---- the command -------------------------------------------------------------------------


def run_backfill(host: ReferenceHost, text: str, **options: Any) -> bool:
    data = text.encode()
    return backfill_events(host, Reader(host, "-", "stdin"), io.BytesIO(data), len(data), **options)


def test_ctrl_c_during_a_sync_pauses_the_backfill_and_a_second_run_resumes_it(
    single: tuple[ReferenceHost, FakePlugin], capsys: pytest.CaptureFixture[str]
) -> None:
    host, plugin = single
    text = jsonl(*events(1, 2, 3))

    def interrupted(**_: Any) -> None:
        raise KeyboardInterrupt  # as Ctrl-C pressed twice: the sync under way is dropped

    plugin.answers += [SYNCED, interrupted]
    assert run_backfill(host, text) is False
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"Backfill paused with 2 events left: {PAUSED_LINE}"
    assert [job.paused for job in host.jobs()] == [False, True, True]
    # `work` leaves a paused backfill alone, and says so.
    after_work(host, host.work(until_empty=True))
    assert capsys.readouterr().out == (
        "Jobs left: 2 of a paused backfill (`fortytwomin-snov backfill FILE` resumes it).\n"
    )

    plugin.answers += [SYNCED, SYNCED]
    assert run_backfill(host, text) is True
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Resumed the paused backfill: 2 jobs left from before."
    assert lines[1] == "Queued 0 events for backfill; 3 already queued or synced, not queued again."
    assert lines[-1] == "Backfill done: 3 events synced or skipped."
    synced = [entry.event_id for entry in host.sync_log(status="synced")]
    assert sorted(synced) == ["evt-1", "evt-2", "evt-3"]
    # The plugin is told, so that it may leave live events their share of the rate limit.
    assert {call["event"]["origin"] for call in plugin.calls} == {"backfill"}


def test_a_first_ctrl_c_finishes_the_sync_under_way_then_pauses(
    single: tuple[ReferenceHost, FakePlugin], capsys: pytest.CaptureFixture[str]
) -> None:
    host, plugin = single

    def ctrl_c_then_synced(**_: Any) -> dict[str, Any]:
        signal.raise_signal(signal.SIGINT)  # handled by the command: stop after this one
        return SYNCED

    plugin.answers += [ctrl_c_then_synced]
    assert run_backfill(host, jsonl(*events(1, 2, 3))) is False
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"Backfill paused with 2 events left: {PAUSED_LINE}"
    )
    assert [job.state for job in host.jobs()] == ["done", "queued", "queued"]
    assert host.backfill_progress().paused == 2


def test_bad_lines_are_named_and_the_good_ones_synced(
    single: tuple[ReferenceHost, FakePlugin], capsys: pytest.CaptureFixture[str]
) -> None:
    host, plugin = single
    submitted = booking_event(3)
    submitted["type"] = "booking.no_show"
    plugin.answers += [SYNCED, SYNCED]
    text = jsonl(booking_event(1)) + '"just text"\n[1, 2\n' + jsonl(submitted, booking_event(4))
    with pytest.raises(CommandFailed, match="3 lines of stdin skipped: nothing queued for them"):
        run_backfill(host, text)
    assert capsys.readouterr().err.splitlines() == [
        "line 2: /: Expected object.",
        "line 3: not valid JSON (Expecting ',' delimiter at column 1)",
        "line 4: /type: A backfill takes booking.created and routing_form.submitted events"
        " only, not booking.no_show.",
    ]
    assert host.backfill_progress().closed == 2


def test_the_bar_counts_the_backfill_and_estimates_from_the_declared_rate(
    host_database: HostDatabase, clock: ManualClock
) -> None:
    plugin = RatedPlugin()
    shown = io.StringIO()
    with ready_host(plugin, host_database, clock, batch_size=2) as host:
        plugin.answers += [SYNCED] * 3
        bar = Console(file=shown, force_terminal=True, width=120)
        assert run_backfill(host, jsonl(*events(1, 2, 3)), bar_console=bar) is True
    assert "Backfill 3 of 3 · under a minute left" in shown.getvalue()


def test_the_estimate_starts_from_the_declared_rate_and_moves_to_the_observed_one() -> None:
    clock = ManualClock(0.0)
    pace = Pace(60, clock=clock)
    pace.observe(0)
    assert time_words(pace.seconds_left(120)) == "about 2 min left"
    assert progress_text(30, 150, pace) == "Backfill 30 of 150 · about 2 min left"
    clock.advance(60.0)
    pace.observe(30)  # half the declared rate, observed for a whole window
    assert pace.seconds_left(120) == pytest.approx(240.0)
    assert time_words(pace.seconds_left(120 * 60)) == "about 4 h 00 min left"
    unknown = Pace(None, clock=clock)
    unknown.observe(0)
    assert time_words(unknown.seconds_left(10)) == "time left unknown"
    clock.advance(10.0)
    unknown.observe(5)
    assert unknown.seconds_left(10) == pytest.approx(20.0)

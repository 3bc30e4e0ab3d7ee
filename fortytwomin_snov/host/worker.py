"""The queue worker: claims due jobs, runs them through ``on_booking_events`` (a batch) or
``on_booking_event`` (one at a time, for a plugin without the batch hook) and records each
attempt (see :mod:`.reference` for what a job does after each outcome).

A :class:`Worker` works the jobs of a set of integrations on one database, taking them in
turn so that a long queue of one does not starve another. It reads only the contract's
outcome fields: after a ``deferred`` outcome with ``retry_after``, the worker leaves that
integration alone for that long (at most :data:`MAX_DEFER_PAUSE`), since a service that
says "later" for one job (a spent rate-limit budget, an outage) would say it for the next
one too; other integrations' jobs run meanwhile. A deferred backfill batch holds only that
integration's backfill jobs: the plugin may keep part of its budget for live events, so a
live event that arrives meanwhile is claimed at once, never held behind a backfill.

A batch is the due jobs of up to ``host.batch_size`` people of one integration (one
connection; at most ``host.batch_cap`` jobs), claimed in one
transaction and given to the plugin in one call, so that it can write what several events
say about one person once: a person's later events, queued behind other people's, come
with their first one (see :func:`~.jobs.claim_jobs`).

Durability: jobs are claimed in one transaction (two workers, in any processes, never hold
one job), held under a lease that a background thread renews while the plugin works, and
their log entries and new states are written in one transaction. ``KeyboardInterrupt`` (or
any exception) during an attempt gives the jobs back at once, untried.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fortytwomin_snov.contract.errors import IntegrationError
from fortytwomin_snov.host import jobs, records
from fortytwomin_snov.host.errors import DatabaseError, SecretKeyError
from fortytwomin_snov.host.jobs import Attempt, BlockedOn, Job, Origin, Outcome
from fortytwomin_snov.host.records import Snapshot, WorkSummary

if TYPE_CHECKING:
    from fortytwomin_snov.host.reference import ReferenceHost

ProgressCallback = Callable[[Attempt], None]

DEFAULT_POLL_INTERVAL = 1.0
"""Longest idle wait of :meth:`Worker.work`, so it notices jobs queued meanwhile."""
MAX_DEFER_PAUSE = 60.0
"""The longest a worker leaves an integration alone after a deferred attempt."""


class Worker:
    """Works the queue of ``integrations`` through ``host`` (its database, plugins, clock,
    lease and worker id)."""

    def __init__(self, host: ReferenceHost, integrations: Sequence[str]) -> None:
        self._host = host
        self._integrations = list(integrations)
        self._turn = 0
        self._held_until: dict[tuple[str, Origin], float] = {}

    def _now(self) -> float:
        return self._host.clock()

    def _claimable(self) -> list[tuple[str, tuple[Origin, ...]]]:
        """The integrations with an origin not on hold, and those origins, starting with the
        integration whose turn it is."""
        now = self._now()
        count = len(self._integrations)
        ordered = [self._integrations[(self._turn + step) % count] for step in range(count)]
        claimable = []
        for slug in ordered:
            origins = tuple(
                origin
                for origin in jobs.ORIGINS
                if self._held_until.get((slug, origin), 0.0) <= now
            )
            if origins:
                claimable.append((slug, origins))
        return claimable

    def work_once(self) -> Attempt | None:
        """Claim one due job, run it and record the attempt; None when no job is due."""
        attempts = self.work_batch(limit=1, max_jobs=1)
        return attempts[0] if attempts else None

    def work_batch(self, limit: int | None = None, *, max_jobs: int | None = None) -> list[Attempt]:
        """Claim the due jobs of up to ``limit`` (default ``host.batch_size``) people of one
        integration, at most ``max_jobs`` jobs (default ``host.batch_cap``), run them in one
        plugin call where the plugin takes batches, and record each attempt; [] when no job
        is due."""
        host = self._host
        people = max(1, host.batch_size if limit is None else limit)
        cap = max(1, host.batch_cap if max_jobs is None else max_jobs)
        if not _takes_batches(host):
            # One at a time: jobs claimed ahead would only wait under this worker's lease.
            people = cap = 1
        claimed: list[Job] = []
        snapshot: Snapshot | None = None
        with host.database.transaction() as tx:
            for slug, origins in self._claimable():
                claimed = jobs.claim_jobs(
                    tx,
                    slug,
                    worker=host.worker_id,
                    now=self._now(),
                    lease=host.lease,
                    people=people,
                    max_jobs=cap,
                    origins=origins,
                )
                if claimed:
                    # What the attempts run with, read in the same transaction: one commit
                    # less a batch.
                    snapshot = records.read_snapshot(tx, slug)
                    break
        if not claimed or snapshot is None:
            return []
        slug = claimed[0].integration
        self._turn = (self._integrations.index(slug) + 1) % len(self._integrations)
        try:
            with self._renewing_lease(claimed):
                outcomes = self._run(claimed, snapshot)
            with host.database.transaction() as tx:
                revisions = {
                    blocker: records.current_revision(tx, slug, blocker)
                    != snapshot.revision(blocker)
                    for blocker in jobs.BLOCKERS
                }
                attempts = jobs.record_attempts(
                    tx,
                    [
                        (
                            job,
                            outcome,
                            outcome.blocked_on is not None and revisions[outcome.blocked_on],
                        )
                        for job, outcome in zip(claimed, outcomes, strict=True)
                    ],
                    now=self._now(),
                )
        except BaseException:
            self._give_back(claimed)
            raise
        waits = [
            attempt.entry.retry_after
            for attempt in attempts
            if attempt.entry.status == "deferred" and attempt.entry.retry_after
        ]
        if waits:
            # The soonest a deferred job comes due: before that, the service would most
            # likely say "later" again (see the module documentation). A live batch holds
            # the backfill too; a backfill batch holds only the backfill.
            until = self._now() + min(min(waits), MAX_DEFER_PAUSE)
            held = jobs.ORIGINS if claimed[0].origin == "live" else (claimed[0].origin,)
            for origin in held:
                self._held_until[(slug, origin)] = until
        return attempts

    def work(
        self,
        *,
        until_empty: bool = False,
        stop: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        max_attempts: int | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> WorkSummary:
        """See :meth:`ReferenceHost.work`."""
        summary = WorkSummary()
        while True:
            if stop is not None and stop.is_set():
                summary.stopped = True
                return summary
            if max_attempts is not None and summary.attempts >= max_attempts:
                return summary
            limit, cap = self._host.batch_size, self._host.batch_cap
            if max_attempts is not None:
                limit = min(limit, max_attempts - summary.attempts)
                cap = min(cap, max_attempts - summary.attempts)
            attempts = self.work_batch(limit, max_jobs=cap)
            for attempt in attempts:
                summary.attempts += 1
                summary.statuses[attempt.entry.status] += 1
                if on_progress is not None:
                    on_progress(attempt)
            if attempts:
                continue
            now = self._now()
            with self._host.database.read() as db:
                due = {
                    (slug, origin): jobs.next_due(db, slug, origin)
                    for slug in self._integrations
                    for origin in jobs.ORIGINS
                }
            # When each origin's next job may be claimed: when it is due, or its hold ends.
            ready = [
                max(when, self._held_until.get(key, 0.0))
                for key, when in due.items()
                if when is not None
            ]
            if not ready and until_empty:
                return summary
            wait = poll_interval if not ready else max(min(ready) - now, 0.01)
            if self._claimable():
                wait = min(wait, poll_interval)  # a job queued meanwhile may be claimed
            # else every claim is on hold: wait the hold out, as the next claim would only
            # be deferred again.
            self._pause(wait, stop)

    def _pause(self, seconds: float, stop: threading.Event | None) -> None:
        sleep = self._host.sleep
        if sleep is not None:
            sleep(seconds)
        elif stop is not None:
            stop.wait(seconds)
        else:
            time.sleep(seconds)

    def _give_back(self, claimed: Sequence[Job]) -> None:
        try:
            with self._host.database.transaction() as tx:
                for job in claimed:
                    jobs.release_job(tx, job, now=self._now())
        except (sqlite3.Error, DatabaseError):
            pass  # the leases run out on their own and another worker takes the jobs

    @contextmanager
    def _renewing_lease(self, claimed: Sequence[Job]) -> Iterator[None]:
        """Renew the jobs' leases in the background while the plugin works on them."""
        done = threading.Event()
        host = self._host

        def renew() -> None:
            held = list(claimed)
            while held and not done.wait(host.lease / 4):
                try:
                    with host.database.transaction() as tx:
                        until = self._now() + host.lease
                        held = [job for job in held if jobs.extend_lease(tx, job, until=until)]
                except (sqlite3.Error, DatabaseError):
                    continue  # try again at the next beat; the leases still have time

        beat = threading.Thread(target=renew, name=f"lease-{claimed[0].id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join()

    def _run(self, claimed: Sequence[Job], snapshot: Snapshot) -> list[Outcome]:
        """One attempt at each job: the plugin's outcomes, or the host's reason for not
        asking it."""
        host = self._host.for_integration(claimed[0].integration)
        name = host.display_name
        refusal: tuple[str, str, BlockedOn] | None = None
        connection: dict[str, Any] | None = None
        if snapshot.public is None:
            refusal = (
                jobs.NOT_CONNECTED,
                f"{name} is not connected: connect it, and this sync runs again.",
                "credentials",
            )
        else:
            try:
                connection = host.open_connection(snapshot)
            except SecretKeyError as error:
                refusal = (
                    jobs.CONNECTION_UNREADABLE,
                    f"{error}; once connected again, this sync runs again.",
                    "credentials",
                )
        if refusal is None and snapshot.settings is None:
            refusal = (
                jobs.NO_SETTINGS,
                f"No {name} settings are saved yet: save them, and this sync runs again.",
                "settings",
            )
        if refusal is not None or connection is None or snapshot.settings is None:
            assert refusal is not None
            reason, message, blocked_on = refusal
            return [
                Outcome.of_host(
                    "failed",
                    reason,
                    message,
                    email=jobs.event_email(job.event),
                    blocked_on=blocked_on,
                )
                for job in claimed
            ]
        call = _PluginCall(host, connection, snapshot.settings)
        batched = call.batch(claimed)
        if batched is not None:
            return batched
        return [call.one(job) for job in claimed]


def _envelope(job: Job) -> dict[str, Any]:
    """The event as the plugin gets it: a backfilled one says so (its ``origin``), so that
    the plugin may leave a share of the service's rate limit to live events."""
    if job.origin == "backfill":
        return {**job.event, "origin": "backfill"}
    return job.event


def _takes_batches(host: ReferenceHost) -> bool:
    """Whether any installed plugin implements ``on_booking_events``."""
    caller = getattr(host.plugin_manager.hook, "on_booking_events", None)
    return caller is not None and bool(caller.get_hookimpls())


class _PluginCall:
    """The plugin's hooks for one integration, connection and settings."""

    def __init__(
        self, host: ReferenceHost, connection: dict[str, Any], settings: dict[str, Any]
    ) -> None:
        self._host = host
        self._connection = connection
        self._settings = settings

    def _raised(self, error: Exception, email: str | None) -> Outcome:
        name = self._host.display_name
        if isinstance(error, IntegrationError):
            message = f"The {name} plugin raised an error instead of answering: {error}"
        else:
            # Only the type: the text of an unexpected error may hold anything.
            message = f"The {name} plugin failed unexpectedly ({type(error).__name__})."
        return Outcome.of_host("failed", jobs.PLUGIN_ERROR, message, email=email)

    def batch(self, claimed: Sequence[Job]) -> list[Outcome] | None:
        """``on_booking_events``; None where no plugin answers it for the integration (not
        implemented, or implemented by other integrations' plugins only)."""
        if not _takes_batches(self._host):
            return None
        caller = self._host.plugin_manager.hook.on_booking_events
        emails = [jobs.event_email(job.event) for job in claimed]
        try:
            answer = caller(
                integration=claimed[0].integration,
                connection=self._connection,
                settings=self._settings,
                events=[_envelope(job) for job in claimed],
                host=self._host,
            )
        except Exception as error:  # noqa: BLE001 - a plugin bug must not stop the worker
            return [self._raised(error, email) for email in emails]
        if answer is None:
            return None
        if not isinstance(answer, list) or len(answer) != len(claimed):
            problem = (
                f"{len(answer)} outcomes for {len(claimed)} events"
                if isinstance(answer, list)
                else f"a {type(answer).__name__}, not a list"
            )
            return [
                Outcome.of_host(
                    "failed",
                    jobs.INVALID_OUTCOME,
                    f"The plugin answered a batch with something that is not one outcome per"
                    f" event ({problem}).",
                    email=email,
                )
                for email in emails
            ]
        return [
            Outcome.from_plugin(item, email=email)
            for item, email in zip(answer, emails, strict=True)
        ]

    def one(self, job: Job) -> Outcome:
        """``on_booking_event`` for one job."""
        email = jobs.event_email(job.event)
        try:
            answer = self._host.plugin_manager.hook.on_booking_event(
                integration=job.integration,
                connection=self._connection,
                settings=self._settings,
                event=_envelope(job),
                host=self._host,
            )
        except Exception as error:  # noqa: BLE001 - a plugin bug must not stop the worker
            return self._raised(error, email)
        if answer is None:
            return Outcome.of_host(
                "failed",
                jobs.NO_PLUGIN,
                f"No installed plugin handles the integration {job.integration!r}.",
                email=email,
            )
        return Outcome.from_plugin(answer, email=email)

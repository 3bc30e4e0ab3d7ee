"""The queue worker: claims due jobs, runs each through ``on_booking_event`` and records the
attempt (see :mod:`.reference` for what a job does after each outcome).

A :class:`Worker` works the jobs of a set of integrations on one database, taking them in
turn so that a long queue of one does not starve another. It reads only the contract's
outcome fields: after a ``deferred`` outcome with ``retry_after``, the worker leaves that
integration alone for that long (at most :data:`MAX_DEFER_PAUSE`), since a service that
says "later" for one job (a spent rate-limit budget, an outage) would say it for the next
one too; other integrations' jobs run meanwhile.

Durability: a job is claimed in one transaction (two workers, in any processes, never hold
one job), held under a lease that a background thread renews while the plugin works, and
its log entry and new state are written in one transaction. ``KeyboardInterrupt`` (or any
exception) during an attempt gives the job back at once, untried.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from fortytwomin_snov.contract.errors import IntegrationError
from fortytwomin_snov.host import jobs, records
from fortytwomin_snov.host.errors import SecretKeyError
from fortytwomin_snov.host.jobs import Attempt, Job, Outcome
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
        self._held_until: dict[str, float] = {}

    def _now(self) -> float:
        return self._host.clock()

    def _claimable(self) -> list[str]:
        """The integrations not on hold, starting with the one whose turn it is."""
        now = self._now()
        count = len(self._integrations)
        ordered = [self._integrations[(self._turn + step) % count] for step in range(count)]
        return [slug for slug in ordered if self._held_until.get(slug, 0.0) <= now]

    def work_once(self) -> Attempt | None:
        """Claim one due job, run it and record the attempt; None when no job is due."""
        host = self._host
        job: Job | None = None
        with host.database.transaction() as tx:
            for slug in self._claimable():
                job = jobs.claim_job(
                    tx, slug, worker=host.worker_id, now=self._now(), lease=host.lease
                )
                if job is not None:
                    break
        if job is None:
            return None
        self._turn = (self._integrations.index(job.integration) + 1) % len(self._integrations)
        try:
            with self._renewing_lease(job):
                with host.database.read() as db:
                    snapshot = records.read_snapshot(db, job.integration)
                outcome = self._run(job, snapshot)
            with host.database.transaction() as tx:
                blocked_on = outcome.blocked_on
                fixed = blocked_on is not None and records.current_revision(
                    tx, job.integration, blocked_on
                ) != snapshot.revision(blocked_on)
                attempt = jobs.record_attempt(tx, job, outcome, now=self._now(), cause_fixed=fixed)
        except BaseException:
            self._give_back(job)
            raise
        entry = attempt.entry
        if entry.status == "deferred" and entry.retry_after:
            self._held_until[job.integration] = self._now() + min(
                entry.retry_after, MAX_DEFER_PAUSE
            )
        return attempt

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
            attempt = self.work_once()
            if attempt is not None:
                summary.attempts += 1
                summary.statuses[attempt.entry.status] += 1
                if on_progress is not None:
                    on_progress(attempt)
                continue
            now = self._now()
            with self._host.database.read() as db:
                due = {slug: jobs.next_due(db, slug) for slug in self._integrations}
            pending = {slug: when for slug, when in due.items() if when is not None}
            if not pending and until_empty:
                return summary
            claimable = set(self._claimable())
            ready = [when for slug, when in pending.items() if slug in claimable]
            if pending and not ready:
                # Every job waits on an integration on hold: wait the hold out, as the
                # next claim would only be deferred again.
                holds = [self._held_until[slug] for slug in pending]
                self._pause(max(min(holds) - now, 0.01), stop)
                continue
            wait = poll_interval if not ready else max(min(ready) - now, 0.01)
            self._pause(min(wait, poll_interval), stop)

    def _pause(self, seconds: float, stop: threading.Event | None) -> None:
        sleep = self._host.sleep
        if sleep is not None:
            sleep(seconds)
        elif stop is not None:
            stop.wait(seconds)
        else:
            time.sleep(seconds)

    def _give_back(self, job: Job) -> None:
        try:
            with self._host.database.transaction() as tx:
                jobs.release_job(tx, job, now=self._now())
        except sqlite3.Error:
            pass  # the lease runs out on its own and another worker takes the job

    @contextmanager
    def _renewing_lease(self, job: Job) -> Iterator[None]:
        """Renew the job's lease in the background while the plugin works on it."""
        done = threading.Event()
        host = self._host

        def renew() -> None:
            while not done.wait(host.lease / 4):
                try:
                    with host.database.transaction() as tx:
                        held = jobs.extend_lease(tx, job, until=self._now() + host.lease)
                except sqlite3.Error:
                    continue  # try again at the next beat; the lease still has time
                if not held:
                    return

        beat = threading.Thread(target=renew, name=f"lease-{job.id}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join()

    def _run(self, job: Job, snapshot: Snapshot) -> Outcome:
        """One attempt: the plugin's outcome, or the host's reason for not asking it."""
        host = self._host.for_integration(job.integration)
        email = jobs.event_email(job.event)
        name = host.display_name
        if snapshot.public is None:
            return Outcome.of_host(
                "failed",
                jobs.NOT_CONNECTED,
                f"{name} is not connected: connect it, and this sync runs again.",
                email=email,
                blocked_on="credentials",
            )
        try:
            connection = host.open_connection(snapshot)
        except SecretKeyError as error:
            return Outcome.of_host(
                "failed",
                jobs.CONNECTION_UNREADABLE,
                f"{error}; once connected again, this sync runs again.",
                email=email,
                blocked_on="credentials",
            )
        if snapshot.settings is None:
            return Outcome.of_host(
                "failed",
                jobs.NO_SETTINGS,
                f"No {name} settings are saved yet: save them, and this sync runs again.",
                email=email,
                blocked_on="settings",
            )
        try:
            answer = host.plugin_manager.hook.on_booking_event(
                integration=job.integration,
                connection=connection,
                settings=snapshot.settings,
                event=job.event,
                host=host,
            )
        except IntegrationError as error:
            return Outcome.of_host(
                "failed",
                jobs.PLUGIN_ERROR,
                f"The {name} plugin raised an error instead of answering: {error}",
                email=email,
            )
        except Exception as error:  # noqa: BLE001 - a plugin bug must not stop the worker
            # Only the type: the text of an unexpected error may hold anything.
            return Outcome.of_host(
                "failed",
                jobs.PLUGIN_ERROR,
                f"The {name} plugin failed unexpectedly ({type(error).__name__}).",
                email=email,
            )
        if answer is None:
            return Outcome.of_host(
                "failed",
                jobs.NO_PLUGIN,
                f"No installed plugin handles the integration {job.integration!r}.",
                email=email,
            )
        return Outcome.from_plugin(answer, email=email)

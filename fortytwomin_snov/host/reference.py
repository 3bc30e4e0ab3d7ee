"""The reference host: drives an integration plugin the way the 42min host does.

:class:`ReferenceHost` finds plugins through pluggy and their entry points
(:func:`~fortytwomin_snov.host.plugins.load_plugin_manager`), calls every hook with the
integration slug it was built for (``"snov"`` by default; any plugin of the contract
works), and keeps everything in one SQLite file
(:mod:`fortytwomin_snov.host.database`). It is the ``host`` passed to every hook:
``host.store`` is a :class:`~fortytwomin_snov.stores.SqliteStore` on the same file, so
every process working on that file shares the plugin's token, rate-limit budget and marks.

Admin side (errors are the contract's :class:`~fortytwomin_snov.contract.errors.IntegrationError`
subclasses, each with a message fit to print)::

    host = ReferenceHost("host.db")
    host.connect({"api_user_id": ..., "api_secret": ...}, {"id": "u1", "role": "admin"})
    form = host.settings_schema()                 # render_settings_schema
    saved = host.save_settings({"target_list_id": 42})   # validate_settings, then saved
    host.run_settings_action("create_list", {"name": "Leads"})
    host.status()                                 # connected? settings? queue counts
    host.disconnect()

Queue and worker::

    job_id = host.enqueue(event)                  # validated against booking-event.schema.json
    host.work(until_empty=True, on_progress=print)   # or work_once(), or work(stop=event)
    host.sync_log(status="failed", limit=20)      # newest first
    host.replay()                                 # queue every failed job again

What a job does after an attempt (see :mod:`fortytwomin_snov.host.jobs`):

- ``synced`` or ``skipped``: done.
- ``deferred``: queued again, due ``retry_after`` seconds later.
- ``failed`` with ``blocked_on``: parked until the admin fixes that thing. Connecting again
  queues every job parked on ``credentials``; saving settings (through
  ``validate_settings``) queues every job parked on ``settings``. If the fix lands while
  the attempt is still running, the job is queued at once rather than parked.
- other ``failed``: stays failed in the log; :meth:`ReferenceHost.replay` queues it again.

A job waits for what it needs rather than being lost: with no connection, or a secret
that will not decrypt, the host does not call the plugin and parks the job on
``credentials``; with no settings saved, on ``settings``. Each is a ``failed`` log entry
with the host's own reason (``not_connected``, ``connection_unreadable``,
``no_settings``). A plugin that does not answer for the slug (``no_plugin``), raises
(``plugin_error``) or answers with something that is not an outcome
(``invalid_outcome``) fails the job with a log entry; the worker goes on.

Durability: a worker claims a job in one transaction (so two workers, in any processes,
never hold one job), holds it under a lease that a background thread renews while the
plugin works, and writes the log entry and the job's new state in one transaction. A
worker killed at any point leaves either the job queued (nothing happened), or the job
running under a lease that runs out (default 120 s), after which any worker takes it
again: at most the one Snov.io call in flight is repeated, and the plugin's idempotency
mark turns a repeat of a finished sync into a ``skipped`` outcome. ``KeyboardInterrupt``
(or any exception) during an attempt gives the job back at once, untried.

Time comes from ``clock`` (``run_after``, leases, log times, and the store's expiries)
and idle waits go through ``sleep``, so tests drive a worker with a manual clock.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pluggy

from fortytwomin_snov.contract.errors import FieldError, IntegrationError
from fortytwomin_snov.host import jobs
from fortytwomin_snov.host.database import Database, default_database_path
from fortytwomin_snov.host.errors import (
    HostError,
    InvalidEvent,
    NotConnected,
    PluginNotFound,
    SecretKeyError,
)
from fortytwomin_snov.host.jobs import (
    Attempt,
    BlockedOn,
    Job,
    JobState,
    LogEntry,
    Outcome,
    Status,
    iso_time,
)
from fortytwomin_snov.host.plugins import load_plugin_manager
from fortytwomin_snov.host.secrets import SecretBox, secret_fields, split_secrets
from fortytwomin_snov.stores import SqliteStore

Clock = Callable[[], float]
Sleep = Callable[[float], None]
ProgressCallback = Callable[[Attempt], None]

DEFAULT_INTEGRATION = "snov"
DEFAULT_LEASE = 120.0
"""Seconds a worker holds a job before another may take it (renewed while it works)."""
DEFAULT_POLL_INTERVAL = 1.0
MAX_RATE_LIMIT_PAUSE = 60.0
"""The longest a worker waits after a rate-limited attempt before claiming the next job."""
"""Longest idle wait of :meth:`ReferenceHost.work`, so it notices jobs queued meanwhile."""


@dataclass(frozen=True)
class Connected:
    """What :meth:`ReferenceHost.connect` saved."""

    record: dict[str, Any]
    """The connection record without its secret fields."""
    saved_at: float
    requeued: int
    """Jobs that were parked on credentials and are queued again."""

    def to_json(self) -> dict[str, Any]:
        return {
            "connection": self.record,
            "saved_at": iso_time(self.saved_at),
            "requeued": self.requeued,
        }


@dataclass(frozen=True)
class SavedSettings:
    """Settings as saved: the document ``validate_settings`` returned, and its warnings."""

    settings: dict[str, Any]
    warnings: list[str]
    saved_at: float
    requeued: int = 0
    """Jobs that were parked on settings and are queued again (on save only)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "warnings": self.warnings,
            "saved_at": iso_time(self.saved_at),
            "requeued": self.requeued,
        }


@dataclass(frozen=True)
class HostStatus:
    """Where an integration stands on this host."""

    integration: str
    connected: bool
    connection: dict[str, Any] | None
    """The saved record without its secret fields (who connected, when, which account)."""
    connection_saved_at: float | None
    settings_saved: bool
    settings_saved_at: float | None
    settings_warnings: list[str]
    jobs: dict[JobState, int]
    parked: dict[BlockedOn, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "connected": self.connected,
            "connection": self.connection,
            "connection_saved_at": iso_time(self.connection_saved_at),
            "settings_saved": self.settings_saved,
            "settings_saved_at": iso_time(self.settings_saved_at),
            "settings_warnings": self.settings_warnings,
            "jobs": dict(self.jobs),
            "parked": dict(self.parked),
        }


@dataclass
class WorkSummary:
    """What a call to :meth:`ReferenceHost.work` did."""

    attempts: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    """Attempts by outcome status."""
    stopped: bool = False
    """True when ``stop`` ended the run (rather than an empty queue or ``max_attempts``)."""


@dataclass(frozen=True)
class _Snapshot:
    """What one attempt runs with, read together: the connection and settings, and their
    revisions (None when absent), so the host can tell whether an admin fixed them while
    the plugin worked."""

    public: dict[str, Any] | None
    sealed: str | None
    connection_revision: str | None
    settings: dict[str, Any] | None
    settings_revision: str | None

    def revision(self, blocked_on: BlockedOn) -> str | None:
        return self.connection_revision if blocked_on == "credentials" else self.settings_revision


class ReferenceHost:
    """One integration on one database file. See the module documentation.

    Args:
        database: the SQLite file (created with its folders if absent); default
            :func:`~fortytwomin_snov.host.database.default_database_path`.
        integration: the slug every hook is called with.
        plugin_manager: a ready PluginManager; default: loaded from entry points on first use.
        clock: wall-clock seconds, for ``run_after``, leases, log times and store expiries.
        sleep: how :meth:`work` waits when nothing is due; default: a real wait that
            ``stop`` cuts short.
        lease: seconds a claimed job is held before another worker may take it.
        environ: where ``FORTYTWOMIN_SNOV_KEY`` is looked up; default ``os.environ``.
        worker_id: names this worker in the jobs it holds; default host name, pid and a
            random suffix.
        busy_timeout: seconds to wait for another process's write lock.
    """

    def __init__(
        self,
        database: str | Path | None = None,
        *,
        integration: str = DEFAULT_INTEGRATION,
        plugin_manager: pluggy.PluginManager | None = None,
        clock: Clock = time.time,
        sleep: Sleep | None = None,
        lease: float = DEFAULT_LEASE,
        environ: Mapping[str, str] | None = None,
        worker_id: str | None = None,
        busy_timeout: float = 30.0,
    ) -> None:
        if lease <= 0:
            raise ValueError("a lease lasts a positive number of seconds")
        self.integration = integration
        self.path = Path(database) if database is not None else default_database_path()
        self.lease = lease
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clock = clock
        self._sleep = sleep
        self._environ = environ
        self._plugin_manager = plugin_manager
        self._manifest: dict[str, Any] | None = None
        self._box: SecretBox | None = None
        self.database = Database(self.path, busy_timeout=busy_timeout)
        try:
            self._store = SqliteStore(self.path, clock=clock, busy_timeout=busy_timeout)
        except BaseException:
            self.database.close()
            raise

    def __repr__(self) -> str:
        return f"ReferenceHost({str(self.path)!r}, integration={self.integration!r})"

    @property
    def store(self) -> SqliteStore:
        """The plugin's key-value store (the ``kv`` table of the same file)."""
        return self._store

    def close(self) -> None:
        self._store.close()
        self.database.close()

    def __enter__(self) -> ReferenceHost:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ---- the plugin ----------------------------------------------------------------------

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        if self._plugin_manager is None:
            self._plugin_manager = load_plugin_manager()
        return self._plugin_manager

    @property
    def _hook(self) -> Any:
        return self.plugin_manager.hook

    def _no_plugin(self) -> PluginNotFound:
        return PluginNotFound(
            f"No installed plugin handles the integration {self.integration!r}: install it"
            " (its entry point group is 'fortytwomin')"
        )

    def _answer(self, answer: Any) -> dict[str, Any]:
        if answer is None:
            raise self._no_plugin()
        if not isinstance(answer, dict):
            raise HostError(
                f"The {self.integration!r} plugin answered with a {type(answer).__name__},"
                " not an object"
            )
        return answer

    def manifest(self) -> dict[str, Any]:
        """The integration's manifest (``integration_manifest``, the one with our slug)."""
        if self._manifest is None:
            for candidate in self._hook.integration_manifest():
                if isinstance(candidate, dict) and candidate.get("slug") == self.integration:
                    self._manifest = candidate
                    break
            else:
                raise self._no_plugin()
        return self._manifest

    @property
    def display_name(self) -> str:
        """The integration's name for messages (the manifest's, else the slug)."""
        try:
            name = self.manifest().get("name")
        except PluginNotFound:
            return self.integration
        return name if isinstance(name, str) and name else self.integration

    # ---- connection ----------------------------------------------------------------------

    def _secret_box(self, *, create: bool) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.for_database(self.path, create=create, environ=self._environ)
        return self._box

    def check_credentials(self, credentials: Mapping[str, Any]) -> dict[str, Any]:
        """``validate_credentials``: ``{"ok", "message", "account"}``; nothing is saved."""
        return self._answer(
            self._hook.validate_credentials(
                integration=self.integration, credentials=dict(credentials), host=self
            )
        )

    def connect(self, credentials: Mapping[str, Any], actor: Mapping[str, Any]) -> Connected:
        """``connect``, then save the record (secret fields encrypted) and queue the jobs
        parked on credentials. The plugin's errors (PermissionDenied,
        InvalidCredentials, IntegrationError) propagate and nothing is saved."""
        box = self._secret_box(create=True)
        record = self._answer(
            self._hook.connect(
                integration=self.integration,
                credentials=dict(credentials),
                actor=dict(actor),
                host=self,
            )
        )
        hidden_fields = secret_fields(self.manifest().get("credentials_schema") or {})
        public, hidden = split_secrets(record, hidden_fields)
        sealed = box.seal(hidden)
        now = self._clock()
        with self.database.transaction() as tx:
            tx.execute(
                "INSERT INTO connections (integration, record, sealed, revision, saved_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (integration) DO UPDATE SET"
                " record = excluded.record, sealed = excluded.sealed,"
                " revision = excluded.revision, saved_at = excluded.saved_at",
                (self.integration, _dumps(public), sealed, uuid.uuid4().hex, now),
            )
            requeued = jobs.requeue_parked(tx, self.integration, "credentials", now=now)
        return Connected(record=public, saved_at=now, requeued=requeued)

    def disconnect(self) -> bool:
        """``disconnect``, then forget the connection; False if there was none.

        Jobs and settings stay: new jobs park on credentials until the next connect. If the
        secret cannot be decrypted, the plugin is not told (it needs the record) and the
        connection is forgotten all the same.
        """
        snapshot = self._snapshot()
        if snapshot.public is None:
            return False
        try:
            record = self._open(snapshot)
        except SecretKeyError:
            record = None
        try:
            if record is not None:
                self._hook.disconnect(integration=self.integration, connection=record, host=self)
        finally:
            with self.database.transaction() as tx:
                tx.execute("DELETE FROM connections WHERE integration = ?", (self.integration,))
        return True

    def connection(self) -> dict[str, Any]:
        """The saved record, secret included, as hooks receive it. NotConnected if none;
        SecretKeyError if the key cannot decrypt it. Never print it."""
        snapshot = self._snapshot()
        if snapshot.public is None:
            raise NotConnected(f"{self.display_name} is not connected: connect it first")
        return self._open(snapshot)

    def _open(self, snapshot: _Snapshot) -> dict[str, Any]:
        assert snapshot.public is not None
        assert snapshot.sealed is not None
        hidden = self._secret_box(create=False).open(snapshot.sealed)
        return {**snapshot.public, **hidden}

    # ---- settings ------------------------------------------------------------------------

    def settings_schema(self) -> dict[str, Any]:
        """``render_settings_schema``: ``{"schema", "ui_schema"}`` for the saved connection."""
        return self._answer(
            self._hook.render_settings_schema(
                integration=self.integration, connection=self.connection(), host=self
            )
        )

    def save_settings(self, document: Mapping[str, Any]) -> SavedSettings:
        """``validate_settings``, then save what it returned and queue the jobs parked on
        settings. InvalidSettings (with every problem in ``errors``) propagates and nothing
        is saved."""
        answer = self._answer(
            self._hook.validate_settings(
                integration=self.integration,
                connection=self.connection(),
                settings=dict(document),
                host=self,
            )
        )
        settings, warnings = answer.get("settings"), answer.get("warnings", [])
        if not isinstance(settings, dict) or not isinstance(warnings, list):
            raise HostError(
                f"The {self.integration!r} plugin's validate_settings answer has no settings"
                " object or no warnings list"
            )
        warnings = [str(warning) for warning in warnings]
        now = self._clock()
        with self.database.transaction() as tx:
            tx.execute(
                "INSERT INTO settings (integration, document, warnings, revision, saved_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (integration) DO UPDATE SET"
                " document = excluded.document, warnings = excluded.warnings,"
                " revision = excluded.revision, saved_at = excluded.saved_at",
                (self.integration, _dumps(settings), _dumps(warnings), uuid.uuid4().hex, now),
            )
            requeued = jobs.requeue_parked(tx, self.integration, "settings", now=now)
        return SavedSettings(settings=settings, warnings=warnings, saved_at=now, requeued=requeued)

    def saved_settings(self) -> SavedSettings | None:
        """The settings last saved, or None."""
        with self.database.read() as db:
            row = db.execute(
                "SELECT document, warnings, saved_at FROM settings WHERE integration = ?",
                (self.integration,),
            ).fetchone()
        if row is None:
            return None
        return SavedSettings(
            settings=_loads(row["document"]),
            warnings=_loads(row["warnings"]),
            saved_at=row["saved_at"],
        )

    def run_settings_action(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``run_settings_action`` (for Snov.io, ``create_list`` with ``{"name"}``)."""
        return self._answer(
            self._hook.run_settings_action(
                integration=self.integration,
                connection=self.connection(),
                action=action,
                params=dict(params),
                host=self,
            )
        )

    # ---- status ----------------------------------------------------------------------------

    def status(self) -> HostStatus:
        """Connected (by whom, when), settings saved, and the queue; needs no key."""
        with self.database.read() as db:
            connection = db.execute(
                "SELECT record, saved_at FROM connections WHERE integration = ?",
                (self.integration,),
            ).fetchone()
            settings = db.execute(
                "SELECT warnings, saved_at FROM settings WHERE integration = ?",
                (self.integration,),
            ).fetchone()
            counts = jobs.job_counts(db, self.integration)
            parked = jobs.parked_counts(db, self.integration)
        return HostStatus(
            integration=self.integration,
            connected=connection is not None,
            connection=None if connection is None else _loads(connection["record"]),
            connection_saved_at=None if connection is None else connection["saved_at"],
            settings_saved=settings is not None,
            settings_saved_at=None if settings is None else settings["saved_at"],
            settings_warnings=[] if settings is None else _loads(settings["warnings"]),
            jobs=counts,
            parked=parked,
        )

    # ---- the queue -------------------------------------------------------------------------

    def enqueue(self, event: Mapping[str, Any]) -> int:
        """Validate an event against ``booking-event.schema.json`` and queue it, due now;
        its job id. InvalidEvent names every problem by JSON pointer. A duplicate delivery
        is queued too: telling duplicates apart is the plugin's job (the event id)."""
        return self.enqueue_many([event])[0]

    def enqueue_many(self, events: Iterable[Mapping[str, Any]]) -> list[int]:
        """Queue several events in one transaction, all or none; their job ids in order.
        InvalidEvent's pointers start with the event's index (``/3/booking/uid``)."""
        batch = list(events)
        problems = [
            FieldError(pointer=f"/{index}{problem['pointer']}", message=problem["message"])
            for index, event in enumerate(batch)
            for problem in jobs.validate_event(event)
        ]
        if len(batch) == 1 and problems:
            problems = jobs.validate_event(batch[0])  # one event: pointers into it
        if problems:
            raise InvalidEvent(problems)
        now = self._clock()
        with self.database.transaction() as tx:
            return jobs.insert_jobs(tx, self.integration, batch, now=now)

    def replay(self, job_ids: Iterable[int] | None = None) -> list[int]:
        """Queue failed jobs again, due now: every failed job, or those of ``job_ids``
        (failed or parked; others are left alone). The ids queued."""
        with self.database.transaction() as tx:
            return jobs.replay_jobs(tx, self.integration, job_ids, now=self._clock())

    def job(self, job_id: int) -> Job | None:
        with self.database.read() as db:
            found = jobs.get_job(db, job_id)
        return found if found is not None and found.integration == self.integration else None

    def jobs(self, *, state: JobState | None = None, limit: int | None = None) -> list[Job]:
        """Jobs, oldest first, optionally in one state."""
        with self.database.read() as db:
            return jobs.list_jobs(db, self.integration, state=state, limit=limit)

    def job_counts(self) -> dict[JobState, int]:
        """How many jobs are in each state (every state named)."""
        with self.database.read() as db:
            return jobs.job_counts(db, self.integration)

    def sync_log(
        self,
        *,
        status: Status | Sequence[Status] | None = None,
        limit: int | None = 50,
        job_id: int | None = None,
        event_id: str | None = None,
    ) -> list[LogEntry]:
        """Sync-log entries, newest first; filter by status (one or several), job or event."""
        with self.database.read() as db:
            return jobs.read_log(
                db, self.integration, status=status, limit=limit, job_id=job_id, event_id=event_id
            )

    # ---- the worker ------------------------------------------------------------------------

    def work_once(self) -> Attempt | None:
        """Claim one due job, run it through ``on_booking_event`` and record the attempt;
        None when no job is due."""
        with self.database.transaction() as tx:
            job = jobs.claim_job(
                tx, self.integration, worker=self.worker_id, now=self._clock(), lease=self.lease
            )
        if job is None:
            return None
        try:
            with self._renewing_lease(job):
                snapshot = self._snapshot()
                outcome = self._run(job, snapshot)
            with self.database.transaction() as tx:
                fixed = outcome.blocked_on is not None and self._revision(
                    tx, outcome.blocked_on
                ) != snapshot.revision(outcome.blocked_on)
                return jobs.record_attempt(tx, job, outcome, now=self._clock(), cause_fixed=fixed)
        except BaseException:
            self._give_back(job)
            raise

    def work(
        self,
        *,
        until_empty: bool = False,
        stop: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        max_attempts: int | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> WorkSummary:
        """Work the queue: each due job in turn, waiting when none is due.

        Returns when ``stop`` is set (checked between attempts and while waiting; an attempt
        under way is finished first), after ``max_attempts`` attempts, or, with
        ``until_empty``, when no job is queued or running any more (parked and failed jobs
        wait for the admin). Until then it waits for deferred jobs to come due and for jobs
        another worker holds, including the lease of a worker that died.
        ``on_progress`` is called after every attempt.
        """
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
                entry = attempt.entry
                if entry.reason == "rate_limited" and entry.retry_after:
                    # The budget is the account's, not the job's: the next job would be
                    # refused too, so wait it out instead of churning through the queue.
                    self._pause(min(entry.retry_after, MAX_RATE_LIMIT_PAUSE), stop)
                continue
            with self.database.read() as db:
                due = jobs.next_due(db, self.integration)
            if due is None and until_empty:
                return summary
            wait = poll_interval if due is None else max(due - self._clock(), 0.01)
            self._pause(min(wait, poll_interval), stop)

    def _pause(self, seconds: float, stop: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif stop is not None:
            stop.wait(seconds)
        else:
            time.sleep(seconds)

    def _give_back(self, job: Job) -> None:
        try:
            with self.database.transaction() as tx:
                jobs.release_job(tx, job, now=self._clock())
        except sqlite3.Error:
            pass  # the lease runs out on its own and another worker takes the job

    @contextmanager
    def _renewing_lease(self, job: Job) -> Iterator[None]:
        """Renew the job's lease in the background while the plugin works on it."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease / 4):
                try:
                    with self.database.transaction() as tx:
                        held = jobs.extend_lease(tx, job, until=self._clock() + self.lease)
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

    def _snapshot(self) -> _Snapshot:
        with self.database.read() as db:
            connection = db.execute(
                "SELECT record, sealed, revision FROM connections WHERE integration = ?",
                (self.integration,),
            ).fetchone()
            settings = db.execute(
                "SELECT document, revision FROM settings WHERE integration = ?",
                (self.integration,),
            ).fetchone()
        return _Snapshot(
            public=None if connection is None else _loads(connection["record"]),
            sealed=None if connection is None else connection["sealed"],
            connection_revision=None if connection is None else connection["revision"],
            settings=None if settings is None else _loads(settings["document"]),
            settings_revision=None if settings is None else settings["revision"],
        )

    def _revision(self, tx: sqlite3.Connection, blocked_on: BlockedOn) -> str | None:
        table = "connections" if blocked_on == "credentials" else "settings"
        row = tx.execute(
            f"SELECT revision FROM {table} WHERE integration = ?",  # noqa: S608 - fixed names
            (self.integration,),
        ).fetchone()
        return None if row is None else str(row["revision"])

    def _run(self, job: Job, snapshot: _Snapshot) -> Outcome:
        """One attempt: the plugin's outcome, or the host's reason for not asking it."""
        email = jobs.event_email(job.event)
        name = self.display_name
        if snapshot.public is None:
            return Outcome.of_host(
                "failed",
                jobs.NOT_CONNECTED,
                f"{name} is not connected: connect it, and this sync runs again.",
                email=email,
                blocked_on="credentials",
            )
        try:
            connection = self._open(snapshot)
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
            answer = self._hook.on_booking_event(
                integration=self.integration,
                connection=connection,
                settings=snapshot.settings,
                event=job.event,
                host=self,
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
                f"No installed plugin handles the integration {self.integration!r}.",
                email=email,
            )
        return Outcome.from_plugin(answer, email=email)


def _dumps(value: Any) -> str:
    return jobs.to_json_text(value)


def _loads(text: str) -> Any:
    return json.loads(text)

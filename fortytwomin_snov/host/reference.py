"""The reference host: drives an integration plugin the way the 42min host does.

:class:`ReferenceHost` finds plugins through pluggy and their entry points
(:func:`~fortytwomin_snov.host.plugins.load_plugin_manager`), calls every hook with the
integration slug it was built for (by default the only installed one; any plugin of the
contract works), and keeps everything in one SQLite file
(:mod:`fortytwomin_snov.host.database`) or one PostgreSQL database
(:mod:`fortytwomin_snov.host.postgres`). It is the ``host`` passed to every hook:
``host.store`` is by default a store in the same database (:mod:`.shared_store`), so
every process working on it shares the plugin's token, rate-limit budget and marks.

Admin side (errors are the contract's :class:`~fortytwomin_snov.contract.errors.IntegrationError`
subclasses, each with a message fit to print)::

    host = ReferenceHost("host.db")
    host.connect(credentials, {"id": "u1", "role": "admin"})   # as credentials_schema says
    form = host.settings_schema()                 # render_settings_schema
    saved = host.save_settings(document)          # validate_settings, then saved
    host.run_settings_action(name, params)        # an action the form declares
    host.status()                                 # connected? settings? queue counts
    host.disconnect()

Queue and worker (:mod:`.worker`; a host built without an integration works the jobs of
every installed one)::

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

A worker claims the due jobs of up to ``batch_size`` (default 20) people of one integration
at once (a person's later events come with their first: the event's email, hashed, is
stored with each job) and hands them to the plugin's ``on_booking_events`` in one call; a
plugin without that hook gets them one at a time through ``on_booking_event``. A job whose
stored event cannot be read (a damaged row) is set aside as ``failed`` with an
``unreadable_job`` log entry, and the queue goes on.

Durability: a worker claims jobs in one transaction (so two workers, in any processes,
never hold one job), holds them under a lease that a background thread renews while the
plugin works, and writes the log entries and the jobs' new states in one transaction. A
worker killed at any point leaves either the job queued (nothing happened), or the job
running under a lease that runs out (default 120 s), after which any worker takes it
again: at most the one call to the service in flight is repeated, and the plugin's idempotency
mark turns a repeat of a finished sync into a ``skipped`` outcome. ``KeyboardInterrupt``
(or any exception) during an attempt gives the job back at once, untried.

This module stays whole (about 700 lines): it is one class, the facade every front end
(the CLI, the admin pages, the tests) calls, each method a short composition of
:mod:`.records`, :mod:`.jobs`, :mod:`.secrets` and :mod:`.worker`.

Time comes from ``clock`` (``run_after``, leases, log times, and the store's expiries)
and idle waits go through ``sleep``, so tests drive a worker with a manual clock.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pluggy

from fortytwomin_snov.contract.errors import FieldError, InvalidSettings
from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.host import backfill, jobs, questions, records
from fortytwomin_snov.host.database import default_database_path, is_postgres_url, open_database
from fortytwomin_snov.host.dialect import HostDatabase
from fortytwomin_snov.host.errors import (
    HostError,
    InvalidEvent,
    NotConnected,
    PluginNotFound,
    SecretKeyError,
)
from fortytwomin_snov.host.jobs import Attempt, Job, JobState, LogEntry, Status
from fortytwomin_snov.host.plugins import load_plugin_manager, manifests, sole_integration
from fortytwomin_snov.host.records import (
    Connected,
    HostStatus,
    SavedSettings,
    Snapshot,
    WorkSummary,
)
from fortytwomin_snov.host.secrets import SecretBox, secret_fields, split_secrets
from fortytwomin_snov.host.shared_store import open_store
from fortytwomin_snov.host.worker import DEFAULT_POLL_INTERVAL, ProgressCallback, Worker

__all__ = ["Connected", "HostStatus", "ReferenceHost", "SavedSettings", "WorkSummary"]

Clock = Callable[[], float]
Sleep = Callable[[float], None]

DEFAULT_LEASE = 120.0
"""Seconds a worker holds a job before another may take it (renewed while it works)."""
MIN_LEASE = 5.0
"""The shortest lease ``work --lease`` takes: it is renewed every quarter of it, and a
renewal that waits on a busy database longer than the lease lets another worker take the
job while this one still works on it."""
MAX_LEASE = 86_400.0
"""The longest lease ``work --lease`` takes (a day): a killed worker's jobs wait that long."""
DEFAULT_BATCH_SIZE = 20
"""People of one integration whose due jobs a worker claims and hands the plugin at once."""


class ReferenceHost:
    """One database file, and the integration its admin methods act on. See the module
    documentation.

    Args:
        database: the SQLite file (created with its folders if absent), or a
            ``postgresql://`` URL (:mod:`.postgres`); default
            :func:`~fortytwomin_snov.host.database.default_database_path`.
        store: the plugins' shared store: None or ``"database"`` for the one in the
            database, or a ``redis://`` URL (see :mod:`.shared_store`).
        integration: the slug every admin hook is called with, and the only one whose jobs
            :meth:`work` runs. None: admin methods act on the only installed integration
            (an error names them when there are several) and :meth:`work` runs the jobs
            of every installed one.
        plugin_manager: a ready PluginManager; default: loaded from entry points on first use.
        clock: wall-clock seconds, for ``run_after``, leases, log times and store expiries.
        sleep: how :meth:`work` waits when nothing is due; default: a real wait that
            ``stop`` cuts short.
        lease: seconds a claimed job is held before another worker may take it.
        environ: where ``FORTYTWOMIN_SNOV_KEY`` is looked up; default ``os.environ``.
        worker_id: names this worker in the jobs it holds; default host name, pid and a
            random suffix.
        busy_timeout: seconds to wait for another process's write lock (on PostgreSQL:
            the longest a statement may run, lock waits included).
        batch_size: people whose due jobs (of one integration) :meth:`work` claims at once,
            at most ``jobs.MAX_JOBS_PER_PERSON`` times as many jobs, and hands to
            ``on_booking_events`` where the plugin implements it (else one at a time to
            ``on_booking_event``).
        batch_jobs: the most jobs one batch holds; default ``jobs.MAX_JOBS_PER_PERSON``
            times ``batch_size``. With ``batch_size=1``, 1 hands the plugin one job at a
            time (each event its own write).
    """

    def __init__(
        self,
        database: str | Path | None = None,
        *,
        integration: str | None = None,
        plugin_manager: pluggy.PluginManager | None = None,
        clock: Clock = time.time,
        sleep: Sleep | None = None,
        lease: float = DEFAULT_LEASE,
        environ: Mapping[str, str] | None = None,
        worker_id: str | None = None,
        busy_timeout: float = 30.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        store: str | None = None,
        batch_jobs: int | None = None,
    ) -> None:
        if not (lease > 0 and math.isfinite(lease)):
            raise ValueError("a lease lasts a positive, finite number of seconds")
        if batch_size < 1 or (batch_jobs is not None and batch_jobs < 1):
            raise ValueError("a batch holds at least one job")
        self.batch_size = batch_size
        self.batch_jobs = batch_jobs
        self._integration = integration
        self.location: str | Path = database if database is not None else default_database_path()
        """The database as given (a PostgreSQL URL with its password: never show it)."""
        self.path: Path | None = None if is_postgres_url(self.location) else Path(self.location)
        """The SQLite file (None on PostgreSQL)."""
        self.lease = lease
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.clock = clock
        self.sleep = sleep
        self._environ = environ
        self._plugin_manager = plugin_manager
        self._manifest: dict[str, Any] | None = None
        self._box: SecretBox | None = None
        self._worker: Worker | None = None
        self._owner = True
        self.database: HostDatabase = open_database(self.location, busy_timeout=busy_timeout)
        try:
            self._store = open_store(store, self.location, clock=clock, busy_timeout=busy_timeout)
        except BaseException:
            self.database.close()
            raise

    def __repr__(self) -> str:
        return f"ReferenceHost({self.database.shown!r}, integration={self._integration!r})"

    @property
    def batch_cap(self) -> int:
        """The most jobs one batch holds (see ``batch_jobs``)."""
        if self.batch_jobs is not None:
            return self.batch_jobs
        return self.batch_size * jobs.MAX_JOBS_PER_PERSON

    @property
    def store(self) -> Store:
        """The plugin's key-value store (by default the ``kv`` table of the same database)."""
        return self._store

    def close(self) -> None:
        if self._owner:
            close = getattr(self._store, "close", None)
            if close is not None:
                close()
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

    def for_integration(self, integration: str) -> ReferenceHost:
        """A host for another integration on the same file, sharing this one's database
        connections, store, plugins and key; closing it leaves them open."""
        if integration == self._integration:
            return self
        sibling = copy.copy(self)
        sibling._integration = integration
        sibling._manifest = None
        sibling._worker = None
        sibling._owner = False
        return sibling

    # ---- the plugin ----------------------------------------------------------------------

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        if self._plugin_manager is None:
            self._plugin_manager = load_plugin_manager()
        return self._plugin_manager

    @property
    def _hook(self) -> Any:
        return self.plugin_manager.hook

    @property
    def integration(self) -> str:
        """The slug admin hooks are called with (resolved on first use when not given)."""
        if self._integration is None:
            self._integration = sole_integration(self.plugin_manager)
        return self._integration

    def installed(self) -> dict[str, dict[str, Any]]:
        """Every installed integration's manifest, by slug."""
        return manifests(self.plugin_manager)

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
            found = self.installed().get(self.integration)
            if found is None:
                raise self._no_plugin()
            self._manifest = found
        return self._manifest

    @property
    def display_name(self) -> str:
        """The integration's name for messages (the manifest's, else the slug)."""
        try:
            name = self.manifest().get("name")
        except PluginNotFound:
            return self.integration
        return name if isinstance(name, str) and name else self.integration

    def secret_fields(self) -> frozenset[str]:
        """The connection fields the plugin declares secret (``writeOnly`` in its manifest's
        ``credentials_schema``): encrypted at rest, never shown."""
        return secret_fields(self.manifest().get("credentials_schema") or {})

    # ---- connection ----------------------------------------------------------------------

    def _secret_box(self, *, create: bool) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.for_database(self.path, create=create, environ=self._environ)
        return self._box

    def derived_key(self, purpose: str) -> bytes:
        """A key for ``purpose`` derived from the host's secret key (made if absent)."""
        return self._secret_box(create=True).derive_key(purpose)

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
        public, hidden = split_secrets(record, self.secret_fields())
        sealed = box.seal(hidden)
        now = self.clock()
        with self.database.transaction() as tx:
            records.save_connection(tx, self.integration, public, sealed, now=now)
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
            record = self.open_connection(snapshot)
        except SecretKeyError:
            record = None
        try:
            if record is not None:
                self._hook.disconnect(integration=self.integration, connection=record, host=self)
        finally:
            with self.database.transaction() as tx:
                records.delete_connection(tx, self.integration)
        return True

    def connection(self) -> dict[str, Any]:
        """The saved record, secret included, as hooks receive it. NotConnected if none;
        SecretKeyError if the key cannot decrypt it. Never print it."""
        snapshot = self._snapshot()
        if snapshot.public is None:
            raise NotConnected(f"{self.display_name} is not connected: connect it first")
        return self.open_connection(snapshot)

    def _snapshot(self) -> Snapshot:
        with self.database.read() as db:
            return records.read_snapshot(db, self.integration)

    def open_connection(self, snapshot: Snapshot) -> dict[str, Any]:
        """The record of a snapshot with its secret fields decrypted (SecretKeyError if the
        key cannot open them)."""
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
        if not isinstance(document, Mapping):
            # dict() would turn [] into {} (the defaults, saved over the admin's settings)
            # and [[1, 2]] into {1: 2}: only an object is a settings document.
            raise InvalidSettings(
                [FieldError(pointer="", message="The settings must be a JSON object.")]
            )
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
        now = self.clock()
        with self.database.transaction() as tx:
            records.save_settings(tx, self.integration, settings, warnings, now=now)
            requeued = jobs.requeue_parked(tx, self.integration, "settings", now=now)
        return SavedSettings(settings=settings, warnings=warnings, saved_at=now, requeued=requeued)

    def saved_settings(self) -> SavedSettings | None:
        """The settings last saved, or None."""
        with self.database.read() as db:
            return records.read_settings(db, self.integration)

    def run_settings_action(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``run_settings_action``: one of the actions the settings form declares."""
        return self._answer(
            self._hook.run_settings_action(
                integration=self.integration,
                connection=self.connection(),
                action=action,
                params=dict(params),
                host=self,
            )
        )

    # ---- the questions of the host's forms ---------------------------------------------------

    def form_fields(self) -> list[dict[str, Any]]:
        """The optional ``Host.form_fields`` capability: every booking-form question and
        routing-form field this host knows, ``{"source", "label", "form"}``, from the events
        received and the labels registered (see :mod:`.questions`)."""
        return [question.to_json() for question in self.form_questions()]

    def form_questions(self) -> list[questions.Question]:
        """The questions :meth:`form_fields` lists, each saying whether its label is registered."""
        with self.database.read() as db:
            return questions.form_fields(db)

    def add_question(self, source: str, label: str, form: str | None = None) -> questions.Question:
        """Register (or relabel) a question; InvalidQuestion if the source or label won't do."""
        source, label, form = questions.checked(source, label, form)
        with self.database.transaction() as tx:
            questions.register(tx, source, label, form, now=self.clock())
        return questions.Question(source=source, label=label, form=form, registered=True)

    def remove_question(self, source: str) -> bool:
        """Forget a registered label; False if none was registered for ``source``."""
        with self.database.transaction() as tx:
            return questions.unregister(tx, source.strip())

    # ---- status ----------------------------------------------------------------------------

    def status(self) -> HostStatus:
        """Connected (by whom, when), settings saved, and the queue; needs no key. Jobs
        parked because the secret would not decrypt are queued again if it now does."""
        self.resume_unlocked()
        with self.database.read() as db:
            connection = records.read_connection(db, self.integration)
            settings = records.read_settings(db, self.integration)
            counts = jobs.job_counts(db, self.integration)
            parked = jobs.parked_counts(db, self.integration)
            paused = backfill.progress(db, self.integration).paused
        return HostStatus(
            integration=self.integration,
            connected=connection is not None,
            connection=None if connection is None else connection[0],
            connection_saved_at=None if connection is None else connection[1],
            settings_saved=settings is not None,
            settings_saved_at=None if settings is None else settings.saved_at,
            settings_warnings=[] if settings is None else settings.warnings,
            jobs=counts,
            parked=parked,
            backfill_paused=paused,
        )

    # ---- the queue -------------------------------------------------------------------------

    def enqueue(self, event: Mapping[str, Any]) -> int:
        """Validate an event against ``booking-event.schema.json`` and queue it, due now;
        its job id. InvalidEvent names every problem by JSON pointer. A duplicate delivery
        is queued too: telling duplicates apart is the plugin's job (the event id)."""
        return self.enqueue_many([event])[0]

    def check_event(self, event: Any) -> list[FieldError]:
        """Every problem of an event before it is queued: ``booking-event.schema.json``,
        then the plugin's own ``check_event`` (what its sync would fail the event for);
        empty when it may be queued."""
        problems = jobs.validate_event(event, now=self.clock())
        if problems:
            return problems
        answer = self._hook.check_event(integration=self.integration, event=event, host=self)
        if not isinstance(answer, list):
            return []  # a plugin without the hook checks when it syncs
        return [
            FieldError(pointer=str(found.get("pointer", "")), message=str(found.get("message")))
            for found in answer
            if isinstance(found, Mapping)
        ]

    def enqueue_many(
        self, events: Iterable[Mapping[str, Any]], *, checked: bool = False
    ) -> list[int]:
        """Queue several events in one transaction, all or none; their job ids in order.
        InvalidEvent's pointers start with the event's index (``/3/booking/uid``; a single
        event's point into it).
        ``checked``: the caller already ran :meth:`check_event` on each."""
        now = self.clock()
        batch = _valid_batch(
            events, None if checked else functools.partial(jobs.validate_event, now=now)
        )
        with self.database.transaction() as tx:
            return jobs.insert_jobs(tx, self.integration, batch, now=now)

    def check_backfill_event(self, event: Any) -> list[FieldError]:
        """:meth:`check_event`, and the event's type must be one a backfill takes
        (:data:`~fortytwomin_snov.host.backfill.BACKFILL_TYPES`)."""
        wrong_type = backfill.type_problem(event)
        return [wrong_type] if wrong_type is not None else self.check_event(event)

    def enqueue_backfill(
        self, events: Iterable[Mapping[str, Any]], *, checked: bool = False
    ) -> list[int]:
        """Queue events as a backfill, in one transaction, all or none: behind live jobs,
        and each unless a job already has its event id (see :mod:`.backfill`). The ids
        of the jobs queued. InvalidEvent names every problem, as :meth:`enqueue_many`'s
        does. ``checked``: the caller ran :meth:`check_backfill_event`."""
        batch = _valid_batch(events, None if checked else self.check_backfill_event)
        with self.database.transaction() as tx:
            return backfill.insert_backfill(tx, self.integration, batch, now=self.clock())

    def pause_backfill(self) -> int:
        """Set the queued backfill jobs aside until :meth:`resume_backfill`; how many."""
        with self.database.transaction() as tx:
            return backfill.pause(tx, self.integration, now=self.clock())

    def resume_backfill(self) -> int:
        """Queue the paused backfill jobs again; how many."""
        with self.database.transaction() as tx:
            return backfill.resume(tx, self.integration, now=self.clock())

    def backfill_progress(self) -> backfill.Progress:
        with self.database.read() as db:
            return backfill.progress(db, self.integration)

    def replay(self, job_ids: Iterable[int] | None = None) -> list[int]:
        """Queue failed jobs again, due now: every failed job, or those of ``job_ids``
        (failed or parked; others are left alone). The ids queued."""
        with self.database.transaction() as tx:
            return jobs.replay_jobs(tx, self.integration, job_ids, now=self.clock())

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

    def worked_integrations(self) -> list[str]:
        """The integrations whose jobs :meth:`work` runs: the one given, else every
        installed one."""
        if self._integration is not None:
            return [self._integration]
        return list(self.installed())

    def _the_worker(self) -> Worker:
        if self._worker is None:
            worked = self.worked_integrations()
            if not worked:
                raise PluginNotFound(
                    "No integration is installed: install a plugin (its entry point group is"
                    " 'fortytwomin')"
                )
            self._worker = Worker(self, worked)
        return self._worker

    def resume_unlocked(self) -> int:
        """Queue again, due now, the jobs parked because the saved secret would not decrypt
        (``connection_unreadable``), for each worked integration whose secret opens again
        (the key file restored, or the key set back): how many. Jobs parked on credentials
        for other reasons (not connected, keys the service rejected) wait for ``connect``."""
        resumed = 0
        for slug in self.worked_integrations():
            with self.database.read() as db:
                snapshot = records.read_snapshot(db, slug)
                waiting = db.execute(
                    "SELECT 1 FROM jobs WHERE integration = ? AND state = 'parked'"
                    " AND blocked_on = 'credentials' AND last_reason = ?",
                    (slug, jobs.CONNECTION_UNREADABLE),
                ).fetchone()
            if waiting is None or snapshot.public is None:
                continue
            try:
                self.for_integration(slug).open_connection(snapshot)
            except SecretKeyError:
                continue  # still unreadable: they keep waiting
            now = self.clock()
            with self.database.transaction() as tx:
                resumed += tx.execute(
                    "UPDATE jobs SET state = 'queued', blocked_on = NULL, run_after = ?,"
                    " updated_at = ? WHERE integration = ? AND state = 'parked'"
                    " AND blocked_on = 'credentials' AND last_reason = ?",
                    (now, now, slug, jobs.CONNECTION_UNREADABLE),
                ).rowcount
        return resumed

    def park_unconnected(self) -> dict[str, int]:
        """Park on credentials, without calling any plugin, the queued jobs of each worked
        integration that has no connection: connecting queues them again. How many, by
        slug (only those that had some)."""
        parked: dict[str, int] = {}
        now = self.clock()
        with self.database.transaction() as tx:
            for slug in self.worked_integrations():
                if records.read_connection(tx, slug) is not None:
                    continue
                count = tx.execute(
                    "UPDATE jobs SET state = 'parked', blocked_on = 'credentials',"
                    " last_reason = ?, updated_at = ? WHERE integration = ? AND state = 'queued'"
                    " AND paused = 0",
                    (jobs.NOT_CONNECTED, now, slug),
                ).rowcount
                if count:
                    parked[slug] = count
        return parked

    def work_once(self) -> Attempt | None:
        """Claim one due job, run it through ``on_booking_event`` and record the attempt;
        None when no job is due."""
        return self._the_worker().work_once()

    def work_batch(self, limit: int | None = None) -> list[Attempt]:
        """Claim the due jobs of up to ``limit`` (default :attr:`batch_size`) people of one
        integration in one transaction (at most ``jobs.MAX_JOBS_PER_PERSON`` times as many
        jobs), run them through ``on_booking_events`` in one call (one at a time through
        ``on_booking_event`` for a plugin without it) and record every attempt in one
        transaction; [] when no job is due."""
        return self._the_worker().work_batch(limit)

    def work(
        self,
        *,
        until_empty: bool = False,
        stop: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        max_attempts: int | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> WorkSummary:
        """Work the queue: due jobs in batches of :attr:`batch_size`, waiting when none is due.

        Returns when ``stop`` is set (checked between attempts and while waiting; an attempt
        under way is finished first), after ``max_attempts`` attempts, or, with
        ``until_empty``, when no job is queued or running any more (parked and failed jobs
        wait for the admin). Until then it waits for deferred jobs to come due and for jobs
        another worker holds, including the lease of a worker that died. After a deferred
        outcome with ``retry_after``, that integration's jobs wait that long (see
        :mod:`.worker`). ``on_progress`` is called after every attempt. Jobs parked
        because the secret would not decrypt are first queued again if it now does.
        """
        self.resume_unlocked()
        return self._the_worker().work(
            until_empty=until_empty,
            stop=stop,
            on_progress=on_progress,
            max_attempts=max_attempts,
            poll_interval=poll_interval,
        )

    def queue_counts(self) -> tuple[dict[JobState, int], dict[str, int]]:
        """Job counts by state, and parked counts by blocker, over the worked integrations."""
        states: dict[JobState, int] = dict.fromkeys(jobs.JOB_STATES, 0)
        parked: dict[str, int] = dict.fromkeys(jobs.BLOCKERS, 0)
        with self.database.read() as db:
            for slug in self.worked_integrations():
                for state, count in jobs.job_counts(db, slug).items():
                    states[state] += count
                for blocker, count in jobs.parked_counts(db, slug).items():
                    parked[blocker] += count
        return states, parked


def _valid_batch(
    events: Iterable[Mapping[str, Any]],
    check: Callable[[Mapping[str, Any]], list[FieldError]] | None,
) -> list[Mapping[str, Any]]:
    """The events as a list, or InvalidEvent naming every problem ``check`` finds (None:
    the caller checked them), each pointer starting with the event's index; a single event's
    pointers point into it."""
    batch = list(events)
    found = [] if check is None else [check(event) for event in batch]
    if len(batch) == 1 and found and found[0]:
        raise InvalidEvent(found[0])
    problems = [
        FieldError(pointer=f"/{index}{problem['pointer']}", message=problem["message"])
        for index, event_problems in enumerate(found)
        for problem in event_problems
    ]
    if problems:
        raise InvalidEvent(problems)
    return batch

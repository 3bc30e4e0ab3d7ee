"""The durable job queue and the sync log, as rows of the host's database.

A **job** is one event waiting to be synced. Its ``state``:

==========  ===============================================================================
``queued``  waits for a worker; a worker may take it once ``run_after`` has passed.
``running`` a worker holds it until ``lease_until`` (and renews that while it works). A
            lease that ran out (the worker died) makes the job claimable again.
``done``    a ``synced`` or ``skipped`` outcome closed it.
``parked``  a ``failed`` outcome with ``blocked_on`` (``credentials`` or ``settings``):
            it waits for the admin to fix that, then is queued again.
``failed``  any other failure; it stays until replayed.
==========  ===============================================================================

A job's ``origin`` is ``live`` (an event as it happens) or ``backfill`` (an event from before
the integration was connected, queued by ``backfill``; see :mod:`.backfill`). It is the
claim priority: a worker takes due live jobs before any backfill job, and a batch never
mixes the two, so a live event never waits behind a backfill. A ``paused`` backfill job
(always ``queued``) is claimed by no worker until its backfill is resumed.

Every attempt leaves one **sync-log** entry (:class:`LogEntry`), written in the same
transaction as the job's change, so the log and the queue never disagree.

The functions here act on an open connection and do not commit: the host composes them in
one :meth:`~fortytwomin_snov.host.database.Database.transaction` (for example: save
settings *and* re-queue the jobs parked on them) or reads with
:meth:`~fortytwomin_snov.host.database.Database.read`. Times are seconds since the epoch
from the host's clock.

Entries the host writes itself, when it cannot or need not ask the plugin, use these
reasons (the plugin's own reasons are its business and pass through unread):

==========================  =================================================================
``not_connected``           failed, blocked on credentials: the integration is not connected.
``connection_unreadable``   failed, blocked on credentials: the saved secret cannot be
                            decrypted with the key at hand.
``no_settings``             failed, blocked on settings: no settings were saved yet.
``no_plugin``               failed: no installed plugin answered for the integration slug.
``plugin_error``            failed: the plugin raised instead of answering.
``invalid_outcome``         failed: the plugin's answer is not a sync outcome.
``unreadable_job``          failed: the job's stored event is not a JSON object (a damaged
                            row); it is set aside so that the other jobs are worked.
==========================  =================================================================

This module stays whole (about 900 lines): the job's states, its rows and every query that
moves it between them are one state machine, read and changed together.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

# jsonschema ships no type information; types-jsonschema is not a dependency.
from jsonschema import Draft202012Validator, ValidationError  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.contract.models import future_problem, json_pointer
from fortytwomin_snov.contract.schemas import load_contract_schema
from fortytwomin_snov.host.dialect import Connection

JobState = Literal["queued", "running", "done", "parked", "failed"]
JOB_STATES: tuple[JobState, ...] = get_args(JobState)

Status = Literal["synced", "skipped", "deferred", "failed"]
STATUSES: tuple[Status, ...] = get_args(Status)
FINAL_STATUSES: frozenset[str] = frozenset({"synced", "skipped"})

BlockedOn = Literal["credentials", "settings"]
BLOCKERS: tuple[BlockedOn, ...] = get_args(BlockedOn)

Origin = Literal["live", "backfill"]
ORIGINS: tuple[Origin, ...] = get_args(Origin)
"""In claim order: live jobs first."""

NOT_CONNECTED = "not_connected"
CONNECTION_UNREADABLE = "connection_unreadable"
NO_SETTINGS = "no_settings"
NO_PLUGIN = "no_plugin"
PLUGIN_ERROR = "plugin_error"
INVALID_OUTCOME = "invalid_outcome"
UNREADABLE_JOB = "unreadable_job"


def iso_time(moment: float | None) -> str | None:
    """Epoch seconds as an RFC 3339 UTC time with milliseconds (None stays None)."""
    if moment is None:
        return None
    stamp = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return stamp.removesuffix("+00:00") + "Z"


def to_json_text(value: Any) -> str:
    """JSON for a TEXT column. ASCII, so that text SQLite cannot store as UTF-8 (a lone
    surrogate, as a form may send half an emoji) is kept escaped, exactly."""
    return json.dumps(value, ensure_ascii=True)


def storable(text: str) -> str:
    """Text for a column shown as is: a lone surrogate, which UTF-8 cannot hold, becomes '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


# ---- events ------------------------------------------------------------------------------


@functools.cache
def _event_validator() -> Draft202012Validator:
    schema = load_contract_schema("booking-event")
    # Not checked against the metaschema here: the packaged file is checked by the tests
    # (test_models), and the check took about 50 ms of each process's first enqueue.
    # Local references inlined: resolving them per event was most of the cost of checking
    # a big file (the schema has no recursive reference).
    return Draft202012Validator(_inlined(schema, schema.get("$defs", {})))


def _inlined(node: Any, definitions: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inlined(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        rest = {key: value for key, value in node.items() if key != "$ref"}
        target = definitions[reference.removeprefix("#/$defs/")]
        return _inlined({**target, **rest}, definitions)
    return {key: _inlined(value, definitions) for key, value in node.items()}


def _type_words(expected: object) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(str(name) for name in names)


def _problems(error: ValidationError) -> list[FieldError]:
    """One schema error as field errors an admin can read (the value is left out)."""
    path = list(error.absolute_path)
    where = json_pointer(path)
    instance, schema = error.instance, error.schema
    kind = error.validator
    if kind == "required" and isinstance(instance, dict):
        missing = [name for name in cast(list[str], error.validator_value) if name not in instance]
        return [
            FieldError(pointer=json_pointer([*path, name]), message="This field is required.")
            for name in missing
        ]
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return [
            FieldError(pointer=json_pointer([*path, name]), message="This field is not allowed.")
            for name in instance
            if name not in known
        ]
    if kind in ("oneOf", "anyOf") and error.context:
        inner = best_match(error.context)
        if inner is not None:
            return _problems(inner)
    if kind == "not":
        message = "This field is not allowed here."
    elif kind == "type":
        message = f"Expected {_type_words(error.validator_value)}."
    elif kind == "enum":
        allowed = ", ".join(str(value) for value in cast(list[Any], error.validator_value))
        message = f"Use one of: {allowed}."
    elif kind == "pattern":
        described = schema.get("description") if isinstance(schema, dict) else None
        message = "This value has the wrong format" + (
            f" ({described.rstrip('.')})." if described else "."
        )
    elif kind in ("minLength", "maxLength", "const"):
        message = error.message.split(" is ", 1)[-1].capitalize().rstrip(".") + "."
    else:
        message = error.message
    return [FieldError(pointer=where, message=message)]


def validate_event(event: object, *, now: float | None = None) -> list[FieldError]:
    """Every problem of an event against ``booking-event.schema.json``, and an
    ``occurred_at`` more than a day after ``now`` (epoch seconds; default: the current time),
    which would make the person's later events look stale; empty when valid."""
    seen: set[tuple[str, str]] = set()
    problems: list[FieldError] = []
    for error in _event_validator().iter_errors(event):
        for problem in _problems(error):
            key = (problem["pointer"], problem["message"])
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    if not any(problem["pointer"] == "/occurred_at" for problem in problems):
        occurred = event.get("occurred_at") if isinstance(event, Mapping) else None
        current = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
        try:
            moment = datetime.fromisoformat(occurred.upper()) if isinstance(occurred, str) else None
        except ValueError:  # matches the pattern, yet no real time (February 30th)
            problems.append(FieldError(pointer="/occurred_at", message="Is not a real time."))
            moment = None
        ahead = None if moment is None else future_problem(moment, current)
        if ahead is not None:
            problems.append(ahead)
    problems.sort(key=lambda problem: problem["pointer"])
    return problems


def event_email(event: Mapping[str, Any]) -> str | None:
    """The email of the person an event is about, when it has one."""
    for holder, person in (("booking", "invitee"), ("routing_form", "respondent")):
        container = event.get(holder)
        if isinstance(container, Mapping):
            who = container.get(person)
            if isinstance(who, Mapping) and isinstance(who.get("email"), str):
                return cast(str, who["email"])
    return None


# ---- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One attempt's result, as the host acts on it: the plugin's outcome or the host's own."""

    status: Status
    reason: str
    message: str
    email: str | None = None
    retry_after: float | None = None
    blocked_on: BlockedOn | None = None
    document: dict[str, Any] = field(default_factory=dict)
    """The outcome as the plugin returned it (the host's own outcomes: the fields above)."""

    @classmethod
    def of_host(
        cls,
        status: Status,
        reason: str,
        message: str,
        *,
        email: str | None = None,
        blocked_on: BlockedOn | None = None,
    ) -> Outcome:
        document: dict[str, Any] = {"status": status, "reason": reason, "message": message}
        if email is not None:
            document["email"] = email
        if blocked_on is not None:
            document["blocked_on"] = blocked_on
        return cls(status, reason, message, email, None, blocked_on, document)

    @classmethod
    def from_plugin(cls, answer: object, *, email: str | None) -> Outcome:
        """The plugin's answer, or an ``invalid_outcome`` failure saying what is wrong."""
        problem = _outcome_problem(answer)
        if problem is not None:
            return cls.of_host(
                "failed",
                INVALID_OUTCOME,
                f"The plugin answered with something that is not a sync outcome ({problem}).",
                email=email,
            )
        document = cast(dict[str, Any], answer)
        reported = document.get("email")
        deferred = document["status"] == "deferred"
        return cls(
            status=document["status"],
            reason=document["reason"],
            message=document["message"],
            email=reported if isinstance(reported, str) else email,
            retry_after=float(document["retry_after"]) if deferred else None,
            blocked_on=document.get("blocked_on") if document["status"] == "failed" else None,
            document=dict(document),
        )


def _outcome_problem(answer: object) -> str | None:
    if not isinstance(answer, dict):
        return f"a {type(answer).__name__}, not an object"
    try:
        to_json_text(answer)
    except (TypeError, ValueError):
        return "not JSON"
    status = answer.get("status")
    if status not in STATUSES:
        return "no known status"
    for name in ("reason", "message"):
        if not isinstance(answer.get(name), str) or not answer[name].strip():
            return f"no {name}"
    if status == "deferred":
        retry_after = answer.get("retry_after")
        if (
            isinstance(retry_after, bool)
            or not isinstance(retry_after, int | float)
            or not math.isfinite(retry_after)
            or retry_after <= 0
        ):
            return "a deferred outcome without a positive retry_after"
    blocked_on = answer.get("blocked_on")
    if blocked_on is not None and blocked_on not in BLOCKERS:
        return "an unknown blocked_on"
    return None


# ---- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One queued event and where it stands."""

    id: int
    integration: str
    event_id: str
    event_type: str
    event: dict[str, Any]
    state: JobState
    blocked_on: BlockedOn | None
    attempts: int
    """Times a worker took it (a worker that died mid-attempt counted too)."""
    run_after: float
    lease_until: float | None
    worker: str | None
    last_status: Status | None
    last_reason: str | None
    created_at: float
    updated_at: float
    origin: Origin = "live"
    paused: bool = False
    """A queued job of a paused backfill: no worker claims it until it is resumed."""

    @classmethod
    def from_row(cls, row: Any, *, event: dict[str, Any] | None = None) -> Job:
        """The job of a row; a damaged event reads as ``{}`` (see :func:`stored_event`).
        ``event``: the row's event, already read."""
        return cls(
            id=row["id"],
            integration=row["integration"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            event=(stored_event(row["event"]) if event is None else event) or {},
            state=row["state"],
            blocked_on=row["blocked_on"],
            attempts=row["attempts"],
            run_after=row["run_after"],
            lease_until=row["lease_until"],
            worker=row["worker"],
            last_status=row["last_status"],
            last_reason=row["last_reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            origin=row["origin"],
            paused=bool(row["paused"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration": self.integration,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "state": self.state,
            "blocked_on": self.blocked_on,
            "attempts": self.attempts,
            "run_after": iso_time(self.run_after),
            "lease_until": iso_time(self.lease_until),
            "worker": self.worker,
            "last_status": self.last_status,
            "last_reason": self.last_reason,
            "created_at": iso_time(self.created_at),
            "updated_at": iso_time(self.updated_at),
            "origin": self.origin,
            "paused": self.paused,
        }


@dataclass(frozen=True)
class LogEntry:
    """One attempt at a job, as the sync log shows it."""

    id: int
    at: float
    job_id: int
    attempt: int
    integration: str
    event_id: str
    event_type: str
    email: str | None
    status: Status
    reason: str
    message: str
    retry_after: float | None
    blocked_on: BlockedOn | None
    outcome: dict[str, Any]
    """The whole outcome, as the plugin returned it."""
    origin: Origin = "live"
    """The job's: ``backfill`` marks an entry of a backfilled event."""

    @classmethod
    def from_row(cls, row: Any) -> LogEntry:
        return cls(
            id=row["id"],
            at=row["at"],
            job_id=row["job_id"],
            attempt=row["attempt"],
            integration=row["integration"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            email=row["email"],
            status=row["status"],
            reason=row["reason"],
            message=row["message"],
            retry_after=row["retry_after"],
            blocked_on=row["blocked_on"],
            outcome=json.loads(row["outcome"]),
            origin=row["origin"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso_time(self.at),
            "job_id": self.job_id,
            "attempt": self.attempt,
            "integration": self.integration,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "email": self.email,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "retry_after": self.retry_after,
            "blocked_on": self.blocked_on,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class Attempt:
    """What one attempt did: its log entry and the job's state afterwards."""

    entry: LogEntry
    job_state: JobState
    run_after: float
    """When the job may run again (meaningful when ``job_state`` is ``queued``)."""


# ---- writing (inside the caller's transaction) ----------------------------------------------


def insert_jobs(
    tx: Connection, integration: str, events: Sequence[Mapping[str, Any]], *, now: float
) -> list[int]:
    """Queue events (already validated), due at once; their job ids, in order."""
    ids: list[int] = []
    for event in events:
        row = tx.execute(
            "INSERT INTO jobs (integration, event_id, event_type, event, person, state,"
            " run_after, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)"
            " RETURNING id",
            (
                integration,
                storable(str(event["id"])),
                storable(str(event["type"])),
                to_json_text(event),
                person_key(event),
                now,
                now,
                now,
            ),
        ).fetchone()
        ids.append(int(row["id"]))
    return ids


def stored_event(text: object) -> dict[str, Any] | None:
    """A job row's event, or None when the stored text is not a JSON object."""
    if not isinstance(text, str):
        return None
    try:
        event = json.loads(text)
    except ValueError:  # JSONDecodeError, and text Python's json refuses outright
        return None
    return event if isinstance(event, dict) else None


MAX_JOBS_PER_PERSON = 5
"""With a batch of N people, a claim takes at most this many times N jobs: a person with a
long backlog waits for the next batch rather than growing this one without bound."""

_LEASE_RUN_OUT = (
    "SELECT id, person FROM jobs WHERE integration = ? AND state = 'running'"
    " AND paused = 0 AND origin = ? AND lease_until <= ?"
    " AND NOT EXISTS (SELECT 1 FROM jobs AS held WHERE held.integration = jobs.integration"
    " AND held.person = jobs.person AND held.state = 'running' AND held.lease_until > ?)"
    " LIMIT ?"
)
_QUEUED_AND_DUE = (
    "SELECT id, person FROM jobs WHERE integration = ? AND state = 'queued'"
    " AND paused = 0 AND origin = ? AND run_after <= ?"
    " AND NOT EXISTS (SELECT 1 FROM jobs AS held WHERE held.integration = jobs.integration"
    " AND held.person = jobs.person AND held.state = 'running' AND held.lease_until > ?)"
    " ORDER BY run_after, id LIMIT ?"
)
_PERSON_DUE = (
    "SELECT id FROM jobs WHERE integration = ? AND person = ? AND origin = ? AND paused = 0"
    " AND state IN ('queued', 'running')"
    " AND CASE state WHEN 'queued' THEN run_after ELSE lease_until END <= ?"
    " ORDER BY run_after, id LIMIT ?"
)
_PERSON_HELD = (
    "SELECT 1 FROM jobs WHERE integration = ? AND person = ? AND state = 'running'"
    " AND lease_until > ? LIMIT 1"
)
CLAIM_QUERIES: dict[str, tuple[str, int]] = {
    "lease_run_out": (_LEASE_RUN_OUT, 5),
    "queued_and_due": (_QUEUED_AND_DUE, 5),
    "person_due": (_PERSON_DUE, 5),
    "person_held": (_PERSON_HELD, 3),
}
"""The lookups of :func:`claim_jobs` and how many parameters each takes, for checking
their query plans."""


def person_key(event: Mapping[str, Any]) -> str | None:
    """Whom an event is about, as the queue groups jobs: a hash of the casefolded email
    (the email itself stays in the event only), None without one."""
    email = event_email(event)
    if email is None or not email.strip():
        return None
    folded = email.strip().casefold().encode("utf-8", "surrogatepass")
    return hashlib.sha256(folded).hexdigest()[:32]


def claim_jobs(
    tx: Connection,
    integration: str,
    *,
    worker: str,
    now: float,
    lease: float,
    people: int,
    max_jobs: int | None = None,
    origins: Sequence[Origin] = ORIGINS,
) -> list[Job]:
    """Take the due jobs of up to ``people`` people of one integration for ``worker``, at
    most ``max_jobs`` jobs (default ``people``), in the caller's transaction.

    Live jobs if any is due, else backfill jobs (of ``origins``, in that order), never
    both in one claim; of each, jobs
    whose lease ran out come first, then queued ones by ``run_after``. Paused jobs wait.
    With each job come the other due jobs of its person and origin (same integration, same
    :func:`person_key`), so that the plugin can write that person once. A person another
    worker holds a job of is passed over until that worker is done: one person's jobs are
    never in two batches at once. A job without a person counts as a person of its own.

    A job whose stored event cannot be read is set aside instead (state ``failed``, with an
    ``unreadable_job`` log entry), so that one damaged row never stops the queue.
    """
    cap = people if max_jobs is None else max_jobs
    claimed: list[Job] = []
    taken: set[str] = set()
    groups = 0
    origin: Origin | None = None
    while groups < people and len(claimed) < cap:
        progressed = False
        # After damaged rows were set aside, the claim goes on in the origin it took.
        looked_up = origins if origin is None else (origin,)
        seeds, seed_origin = _due_rows(tx, integration, looked_up, now=now, limit=people - groups)
        for seed in seeds:
            if groups >= people or len(claimed) >= cap:
                break
            person: str | None = seed["person"]
            ids = [int(seed["id"])]
            if person is not None:
                if person in taken or not _hold_person(tx, integration, person, now=now):
                    continue  # claimed with an earlier job, or being claimed elsewhere
                taken.add(person)
                if cap - len(claimed) > 1:
                    rows = tx.execute(
                        _PERSON_DUE + tx.dialect.skip_locked,
                        (integration, person, seed_origin, now, cap - len(claimed)),
                    ).fetchall()
                    ids = [int(row["id"]) for row in rows] or ids
            progressed = True
            taken_jobs = _claim_rows(tx, ids, worker=worker, now=now, lease=lease)
            if taken_jobs:
                groups += 1
                claimed += taken_jobs
                origin = seed_origin
            elif person is not None:
                taken.discard(person)  # every row taken was damaged: the next ones may go
        if not progressed:
            break
    return claimed


def _hold_person(tx: Connection, integration: str, person: str, *, now: float) -> bool:
    """Whether this claim may take the person's jobs. SQLite runs one claim at a time, so
    the due lookup's check suffices; on PostgreSQL another claim may be taking the person
    at the same moment: a transaction lock on the person settles which one does, and a new
    look (after any claim that held it committed) that no worker holds them."""
    if not tx.dialect.claim_lock:
        return True
    digest = hashlib.sha256(f"{integration}\n{person}".encode()).digest()
    key = int.from_bytes(digest[:4], "big", signed=True)
    locked = tx.execute(tx.dialect.claim_lock, (key,)).fetchone()
    if not locked[0]:
        return False
    return tx.execute(_PERSON_HELD, (integration, person, now)).fetchone() is None


def _claim_rows(
    tx: Connection, ids: Sequence[int], *, worker: str, now: float, lease: float
) -> list[Job]:
    """Mark the rows ``ids`` running for ``worker``; their jobs in that order, but for the
    ones whose event cannot be read, which are set aside."""
    marks = ", ".join("?" for _ in ids)
    rows = tx.execute(
        "UPDATE jobs SET state = 'running', worker = ?, lease_until = ?,"  # noqa: S608 - placeholders
        f" attempts = attempts + 1, updated_at = ? WHERE id IN ({marks}) RETURNING *",
        (worker, now + lease, now, *ids),
    ).fetchall()
    by_id = {int(row["id"]): row for row in rows}
    claimed: list[Job] = []
    for job_id in ids:
        row = by_id[job_id]
        event = stored_event(row["event"])
        job = Job.from_row(row, event=event)
        if event is not None:
            claimed.append(job)
            continue
        record_attempt(
            tx,
            job,
            Outcome.of_host(
                "failed",
                UNREADABLE_JOB,
                "The queued event of this job cannot be read (its stored JSON is damaged),"
                " so it was set aside: queue the event again.",
            ),
            now=now,
        )
    return claimed


def _due_rows(
    tx: Connection, integration: str, origins: Sequence[Origin], *, now: float, limit: int
) -> tuple[list[Any], Origin]:
    # Two lookups per origin, each along the jobs_claim index: one query with OR made
    # SQLite sort every due job on each claim (about 10 ms a claim with 100,000 queued). A
    # job whose worker died (its lease ran out) goes first: it is the oldest work. Live
    # jobs are looked up first, and backfill jobs only when no live job is due, so that a
    # batch is all live or all backfill: a live event never waits behind a backfill
    # (and the plugin may pace a backfill batch as such). A queued job of a person whose
    # other job a live worker holds waits (jobs_person answers that per row).
    # On PostgreSQL the rows are locked as they are picked, and rows another worker is
    # claiming are passed over (SKIP LOCKED): two workers never take one job.
    skip_locked = tx.dialect.skip_locked
    for origin in origins:
        rows: list[Any] = tx.execute(
            _LEASE_RUN_OUT + skip_locked, (integration, origin, now, now, limit)
        ).fetchall()
        if len(rows) < limit:
            rows += tx.execute(
                _QUEUED_AND_DUE + skip_locked, (integration, origin, now, now, limit - len(rows))
            ).fetchall()
        if rows:
            return rows, origin
    return [], origins[-1]


def claim_job(
    tx: Connection, integration: str, *, worker: str, now: float, lease: float
) -> Job | None:
    """Take the next due job (queued and due, or running with a lease run out) for ``worker``;
    damaged rows met on the way are set aside as :func:`claim_jobs` does."""
    claimed = claim_jobs(tx, integration, worker=worker, now=now, lease=lease, people=1)
    return claimed[0] if claimed else None


def extend_lease(tx: Connection, job: Job, *, until: float) -> bool:
    """Push the lease of a claimed job on; False if the worker no longer holds it."""
    cursor = tx.execute(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND worker = ?"
        " AND attempts = ?",
        (until, job.id, job.worker, job.attempts),
    )
    return cursor.rowcount == 1


def release_job(tx: Connection, job: Job, *, now: float) -> bool:
    """Give a claimed job back untried (the worker is stopping); False if it no longer held it."""
    cursor = tx.execute(
        "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, run_after = ?,"
        " updated_at = ? WHERE id = ? AND state = 'running' AND worker = ? AND attempts = ?",
        (now, now, job.id, job.worker, job.attempts),
    )
    return cursor.rowcount == 1


_LOG_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_LOG_CHUNK = 500
"""Rows one statement of :func:`record_attempts` writes at most: 14 values a log entry,
within either engine's limit on the values of one statement (SQLite: 32,766)."""


def record_attempt(
    tx: Connection,
    job: Job,
    outcome: Outcome,
    *,
    now: float,
    cause_fixed: bool = False,
) -> Attempt:
    """Write the attempt's log entry and move the job on, in the caller's transaction.

    ``synced``/``skipped`` close the job; ``deferred`` queues it for ``now + retry_after``;
    ``failed`` parks it on ``blocked_on``, or, with no ``blocked_on``, marks it failed. When
    ``cause_fixed`` (the admin saved the thing it is blocked on while it ran), it is queued
    at once instead of parked.

    A worker whose claim was lost (its lease ran out and another worker took the job)
    still logs what it did; its final outcome closes the job, any other leaves it alone.
    """
    return record_attempts(tx, [(job, outcome, cause_fixed)], now=now)[0]


def record_attempts(
    tx: Connection, attempts: Sequence[tuple[Job, Outcome, bool]], *, now: float
) -> list[Attempt]:
    """:func:`record_attempt` for each ``(job, outcome, cause_fixed)`` of a batch (distinct
    jobs), in order: the log entries in one INSERT, the jobs that change alike in one
    UPDATE (a statement or two per batch, where one a job took most of a burst's time)."""
    entries: dict[int, LogEntry] = {}
    for start in range(0, len(attempts), _LOG_CHUNK):
        chunk = attempts[start : start + _LOG_CHUNK]
        rows = tx.execute(
            "INSERT INTO sync_log (at, job_id, attempt, integration, event_id, event_type,"  # noqa: S608 - placeholders
            " email, status, reason, message, retry_after, blocked_on, outcome, origin)"
            f" VALUES {', '.join(_LOG_ROW for _ in chunk)} RETURNING *",
            [value for job, outcome, _ in chunk for value in _log_values(job, outcome, now)],
        ).fetchall()
        entries.update((int(row["job_id"]), LogEntry.from_row(row)) for row in rows)
    moved = _move_on(tx, attempts, now=now)
    return [
        Attempt(entry=entries[job.id], job_state=moved[job.id][0], run_after=moved[job.id][1])
        for job, _, _ in attempts
    ]


def _log_values(job: Job, outcome: Outcome, now: float) -> tuple[Any, ...]:
    return (
        now,
        job.id,
        job.attempts,
        job.integration,
        job.event_id,
        job.event_type,
        None if outcome.email is None else storable(outcome.email),
        outcome.status,
        storable(outcome.reason),
        storable(outcome.message),
        outcome.retry_after,
        outcome.blocked_on,
        to_json_text(outcome.document),
        job.origin,
    )


_Change = tuple[JobState, BlockedOn | None, float, str, str]
"""A job's new state, blocked_on and run_after, and its last status and reason."""


def _change(outcome: Outcome, *, now: float, cause_fixed: bool) -> _Change:
    if outcome.status in FINAL_STATUSES:
        return "done", None, now, outcome.status, outcome.reason
    if outcome.status == "deferred":
        later = now + (outcome.retry_after or 0.0)
        return "queued", None, later, outcome.status, outcome.reason
    if outcome.blocked_on is not None and not cause_fixed:
        return "parked", outcome.blocked_on, now, outcome.status, outcome.reason
    state: JobState = "queued" if outcome.blocked_on is not None else "failed"
    return state, None, now, outcome.status, outcome.reason


def _move_on(
    tx: Connection, attempts: Sequence[tuple[Job, Outcome, bool]], *, now: float
) -> dict[int, tuple[JobState, float]]:
    """Each job's state after its attempt, and when it may run again, by job id. Jobs that
    change alike (a batch synced in full, say) are changed by one UPDATE."""
    alike: dict[tuple[_Change, str | None, int], list[int]] = {}
    changes: dict[int, _Change] = {}
    for job, outcome, cause_fixed in attempts:
        change = _change(outcome, now=now, cause_fixed=cause_fixed)
        changes[job.id] = change
        alike.setdefault((change, job.worker, job.attempts), []).append(job.id)
    moved: dict[int, tuple[JobState, float]] = {}
    for (change, worker, attempt), ids in alike.items():
        for start in range(0, len(ids), _LOG_CHUNK):
            chunk = ids[start : start + _LOG_CHUNK]
            # The worker still holds a job only if no other worker took it since (the same
            # attempt): checked by the UPDATE itself, so that the check and the change are
            # one step on either engine.
            rows = tx.execute(
                "UPDATE jobs SET state = ?, blocked_on = ?, run_after = ?, lease_until = NULL,"  # noqa: S608 - placeholders
                " worker = NULL, last_status = ?, last_reason = ?, updated_at = ?"
                f" WHERE id IN ({', '.join('?' for _ in chunk)}) AND state = 'running'"
                " AND worker = ? AND attempts = ? RETURNING id, state, run_after",
                (*change, now, *chunk, worker, attempt),
            ).fetchall()
            moved.update((int(row["id"]), (row["state"], float(row["run_after"]))) for row in rows)
    for job_id, change in changes.items():
        if job_id in moved:
            continue
        # Lost to another worker: a final outcome still closes the job; any other leaves
        # it as that worker has it.
        if change[0] == "done":
            rows = tx.execute(
                "UPDATE jobs SET state = 'done', blocked_on = NULL, lease_until = NULL,"
                " worker = NULL, last_status = ?, last_reason = ?, updated_at = ? WHERE id = ?"
                " RETURNING state, run_after",
                (change[3], change[4], now, job_id),
            ).fetchall()
        else:
            rows = tx.execute(
                "SELECT state, run_after FROM jobs WHERE id = ?", (job_id,)
            ).fetchall()
        (current,) = rows
        moved[job_id] = (current["state"], float(current["run_after"]))
    return moved


def requeue_parked(tx: Connection, integration: str, blocked_on: BlockedOn, *, now: float) -> int:
    """Queue every job parked on ``blocked_on`` again, due at once; how many."""
    cursor = tx.execute(
        "UPDATE jobs SET state = 'queued', blocked_on = NULL, run_after = ?, updated_at = ?"
        " WHERE integration = ? AND state = 'parked' AND blocked_on = ?",
        (now, now, integration, blocked_on),
    )
    return cursor.rowcount


def replay_jobs(
    tx: Connection, integration: str, job_ids: Iterable[int] | None, *, now: float
) -> list[int]:
    """Queue failed jobs again (all of them, or those of ``job_ids``, which may also name
    parked jobs); the ids queued. Other ids are left alone."""
    # Each UPDATE checks the state it changes, so a job that moved on meanwhile (on
    # PostgreSQL, another transaction may change it between two statements) is left alone.
    requeue = "UPDATE jobs SET state = 'queued', blocked_on = NULL, run_after = ?, updated_at = ?"
    if job_ids is None:
        rows = tx.execute(
            requeue + " WHERE integration = ? AND state = 'failed' RETURNING id",
            (now, now, integration),
        ).fetchall()
        return sorted(int(row["id"]) for row in rows)
    return [
        job_id
        for job_id in sorted(set(job_ids))
        if tx.execute(
            requeue + " WHERE id = ? AND integration = ? AND state IN ('failed', 'parked')",
            (now, now, job_id, integration),
        ).rowcount
        == 1
    ]


# ---- reading -------------------------------------------------------------------------------


def get_job(db: Connection, job_id: int) -> Job | None:
    row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return None if row is None else Job.from_row(row)


def list_jobs(
    db: Connection,
    integration: str,
    *,
    state: JobState | None = None,
    limit: int | None = None,
) -> list[Job]:
    """Jobs, oldest first."""
    query = "SELECT * FROM jobs WHERE integration = ?"
    params: list[Any] = [integration]
    if state is not None:
        query += " AND state = ?"
        params.append(state)
    query += " ORDER BY id"
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    return [Job.from_row(row) for row in db.execute(query, params)]


def job_counts(db: Connection, integration: str) -> dict[JobState, int]:
    """How many jobs are in each state (every state named, zero included); the jobs of a
    paused backfill are left out (see :func:`fortytwomin_snov.host.backfill.progress`)."""
    counts: dict[JobState, int] = dict.fromkeys(JOB_STATES, 0)
    for row in db.execute(
        "SELECT state, COUNT(*) AS n FROM jobs WHERE integration = ? AND paused = 0 GROUP BY state",
        (integration,),
    ):
        counts[row["state"]] = row["n"]
    return counts


def parked_counts(db: Connection, integration: str) -> dict[BlockedOn, int]:
    """How many parked jobs wait on each thing an admin can fix."""
    counts: dict[BlockedOn, int] = dict.fromkeys(BLOCKERS, 0)
    for row in db.execute(
        "SELECT blocked_on, COUNT(*) AS n FROM jobs WHERE integration = ? AND state = 'parked'"
        " GROUP BY blocked_on",
        (integration,),
    ):
        counts[row["blocked_on"]] = row["n"]
    return counts


def next_due(db: Connection, integration: str, origin: Origin | None = None) -> float | None:
    """When the next job (of ``origin``, default any) becomes claimable (a queued job's
    ``run_after`` or a running job's ``lease_until``); None when nothing is queued or
    running (paused jobs wait for their backfill to resume)."""
    origins = ORIGINS if origin is None else (origin,)
    marks = ", ".join("?" for _ in origins)
    row = db.execute(
        "SELECT MIN(CASE state WHEN 'queued' THEN run_after ELSE lease_until END) AS due"  # noqa: S608 - placeholders
        " FROM jobs WHERE integration = ? AND state IN ('queued', 'running') AND paused = 0"
        f" AND origin IN ({marks})",
        (integration, *origins),
    ).fetchone()
    return None if row["due"] is None else float(row["due"])


def read_log(
    db: Connection,
    integration: str,
    *,
    status: Status | Sequence[Status] | None = None,
    limit: int | None = None,
    job_id: int | None = None,
    event_id: str | None = None,
) -> list[LogEntry]:
    """Sync-log entries, newest first (in the order they were committed)."""
    query = "SELECT * FROM sync_log WHERE integration = ?"
    params: list[Any] = [integration]
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        if not wanted:
            return []
        query += f" AND status IN ({', '.join('?' for _ in wanted)})"
        params.extend(wanted)
    if job_id is not None:
        query += " AND job_id = ?"
        params.append(job_id)
    if event_id is not None:
        query += " AND event_id = ?"
        params.append(event_id)
    query += " ORDER BY id DESC"
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    return [LogEntry.from_row(row) for row in db.execute(query, params)]

"""Backfill: the events from before an integration was connected, synced behind live ones.

An admin usually connects after bookings already exist. ``backfill FILE`` queues those
events as jobs of origin ``backfill`` (see :mod:`.jobs`):

- **Priority.** A worker claims backfill jobs only when no live job is due, and never in
  one batch with live jobs, so a live event never waits behind a backfill. The plugin is
  told which events are backfilled (the event's ``origin``), so that it may keep a share
  of the service's rate limit for live events.
- **Only what existed before.** ``booking.created`` and ``routing_form.submitted``: the
  events that bring a person in. Later changes arrive live.
- **Idempotent.** An event id is queued at most once as a backfill, and not at all when a
  job (live or backfill) already has it: running the same file again queues nothing
  twice. The plugin's idempotency marks protect the sync as well.
- **Pause and resume.** :func:`pause` sets the backfill's queued jobs aside (no worker
  claims them) and :func:`resume` gives them back to the queue; a second ``backfill`` run
  resumes.
- **Progress.** :func:`progress` counts the backfill's jobs; :class:`Pace` estimates the
  time left from the integration's declared rate limit (the manifest's ``rate_limit``,
  requests per minute, about one per event), refined by the rate observed.

The functions act on an open connection and do not commit, as those of :mod:`.jobs` do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.host.dialect import Connection
from fortytwomin_snov.host.jobs import person_key, storable, to_json_text

BACKFILL_TYPES = ("booking.created", "routing_form.submitted")
"""The event types a backfill takes: those that bring a person in."""


def type_problem(event: object) -> FieldError | None:
    """Why a backfill refuses an event of another (known) type; None for the types it
    takes, and for anything else (the event's own checks say what is wrong with it)."""
    kind = event.get("type") if isinstance(event, Mapping) else None
    if not isinstance(kind, str) or kind in BACKFILL_TYPES:
        return None
    return FieldError(
        pointer="/type",
        message=f"A backfill takes {' and '.join(BACKFILL_TYPES)} events only, not {kind}",
    )


def insert_backfill(
    tx: Connection, integration: str, events: Sequence[Mapping[str, Any]], *, now: float
) -> list[int]:
    """Queue events (already checked) as backfill jobs, due at once, each unless a job of
    the integration already has its event id; the ids of the jobs queued, in order."""
    ids: list[int] = []
    for event in events:
        event_id = storable(str(event["id"]))
        # NOT EXISTS skips an id any job has; the unique index jobs_backfill_event (ON
        # CONFLICT) settles two backfills queueing one id at once on PostgreSQL.
        row = tx.execute(
            "INSERT INTO jobs (integration, event_id, event_type, event, person, state,"
            " run_after, created_at, updated_at, origin)"
            " SELECT ?, ?, ?, ?, ?, 'queued', ?, ?, ?, 'backfill'"
            " WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE integration = ? AND event_id = ?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (
                integration,
                event_id,
                storable(str(event["type"])),
                to_json_text(event),
                person_key(event),
                now,
                now,
                now,
                integration,
                event_id,
            ),
        ).fetchone()
        if row is not None:
            ids.append(int(row["id"]))
    return ids


def pause(tx: Connection, integration: str, *, now: float) -> int:
    """Set the integration's queued backfill jobs aside: no worker claims them until
    :func:`resume`. How many. Jobs a worker holds finish their attempt."""
    return tx.execute(
        "UPDATE jobs SET paused = 1, updated_at = ? WHERE integration = ?"
        " AND state = 'queued' AND paused = 0 AND origin = 'backfill'",
        (now, integration),
    ).rowcount


def resume(tx: Connection, integration: str, *, now: float) -> int:
    """Give the paused backfill jobs back to the queue (each keeps its ``run_after``);
    how many."""
    return tx.execute(
        "UPDATE jobs SET paused = 0, updated_at = ? WHERE integration = ?"
        " AND state = 'queued' AND paused = 1 AND origin = 'backfill'",
        (now, integration),
    ).rowcount


@dataclass(frozen=True)
class Progress:
    """Where the backfill jobs of an integration stand."""

    remaining: int
    """Queued (not paused) or running: what workers still have to do."""
    paused: int
    closed: int
    """Done: synced or skipped."""
    failed: int
    """Failed or parked: they wait for the admin (see ``log``)."""

    @property
    def total(self) -> int:
        return self.remaining + self.paused + self.closed + self.failed


def progress(db: Connection, integration: str) -> Progress:
    counts: dict[tuple[str, int], int] = {
        (row["state"], int(row["paused"])): int(row["n"])
        for row in db.execute(
            "SELECT state, paused, COUNT(*) AS n FROM jobs WHERE integration = ?"
            " AND origin = 'backfill' GROUP BY state, paused",
            (integration,),
        )
    }
    return Progress(
        remaining=counts.get(("queued", 0), 0) + counts.get(("running", 0), 0),
        paused=counts.get(("queued", 1), 0),
        closed=counts.get(("done", 0), 0),
        failed=counts.get(("failed", 0), 0) + counts.get(("parked", 0), 0),
    )


OBSERVED_AFTER = 5.0
"""Seconds of work before the rate observed counts at all (the first batch is no rate)."""
TRUSTED_AFTER = 60.0
"""Seconds of work after which the rate observed is trusted alone: a rate-limit window."""


class Pace:
    """The time a backfill has left: ``remaining`` events at the rate the integration
    declares (``per_minute``, about one request per event), refined by the rate observed
    since the first :meth:`observe`; the observed rate alone when none is declared."""

    def __init__(self, per_minute: float | None, *, clock: Callable[[], float]) -> None:
        self._declared = per_minute / 60.0 if per_minute else None
        self._clock = clock
        self._start: tuple[float, int] | None = None
        self._latest: tuple[float, int] | None = None

    def observe(self, closed: int) -> None:
        """Events closed so far (any monotonic count), now."""
        now = self._clock()
        if self._start is None:
            self._start = (now, closed)
        self._latest = (now, closed)

    def rate(self) -> float | None:
        """Events per second, or None when nothing says yet."""
        observed, weight = None, 0.0
        if self._start is not None and self._latest is not None:
            elapsed = self._latest[0] - self._start[0]
            if elapsed >= OBSERVED_AFTER:
                observed = (self._latest[1] - self._start[1]) / elapsed
                weight = min(1.0, elapsed / TRUSTED_AFTER)
        if self._declared is None:
            return observed or None
        if observed is None:
            return self._declared
        return (1 - weight) * self._declared + weight * observed or None

    def seconds_left(self, remaining: int) -> float | None:
        if remaining <= 0:
            return 0.0
        rate = self.rate()
        return None if rate is None else remaining / rate


def time_words(seconds: float | None) -> str:
    """An estimate as an admin reads it: ``about 3 min left``."""
    if seconds is None:
        return "time left unknown"
    if seconds < 60:
        return "under a minute left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min left"

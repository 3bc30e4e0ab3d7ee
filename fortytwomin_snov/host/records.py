"""What the host saves about each integration beside its jobs: the connection (public part
in clear, secret fields sealed) and the settings, as rows of the host's database.

The functions act on an open connection and do not commit: :mod:`.reference` composes them
with :mod:`.jobs` in one transaction (save settings *and* queue the jobs parked on them).
Each save gives the row a new ``revision``, so a worker can tell whether an admin fixed the
connection or the settings while the plugin worked on a job.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fortytwomin_snov.host.dialect import Connection
from fortytwomin_snov.host.jobs import BlockedOn, JobState, iso_time, to_json_text


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
    backfill_paused: int = 0
    """Jobs of a paused backfill: counted in no state of ``jobs`` until it resumes."""

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
            "backfill_paused": self.backfill_paused,
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
class Snapshot:
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


def read_snapshot(db: Connection, integration: str) -> Snapshot:
    connection = db.execute(
        "SELECT record, sealed, revision FROM connections WHERE integration = ?",
        (integration,),
    ).fetchone()
    settings = db.execute(
        "SELECT document, revision FROM settings WHERE integration = ?",
        (integration,),
    ).fetchone()
    return Snapshot(
        public=None if connection is None else json.loads(connection["record"]),
        sealed=None if connection is None else connection["sealed"],
        connection_revision=None if connection is None else connection["revision"],
        settings=None if settings is None else json.loads(settings["document"]),
        settings_revision=None if settings is None else settings["revision"],
    )


def current_revision(tx: Connection, integration: str, blocked_on: BlockedOn) -> str | None:
    """The revision saved now, in the caller's transaction; on PostgreSQL the row stays
    locked until it ends, so a save waits for the attempt recorded against it."""
    table = "connections" if blocked_on == "credentials" else "settings"
    row = tx.execute(
        f"SELECT revision FROM {table} WHERE integration = ?"  # noqa: S608 - fixed names
        + tx.dialect.for_update,
        (integration,),
    ).fetchone()
    return None if row is None else str(row["revision"])


def save_connection(
    tx: Connection, integration: str, public: dict[str, Any], sealed: str, *, now: float
) -> None:
    tx.execute(
        "INSERT INTO connections (integration, record, sealed, revision, saved_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (integration) DO UPDATE SET"
        " record = excluded.record, sealed = excluded.sealed,"
        " revision = excluded.revision, saved_at = excluded.saved_at",
        (integration, to_json_text(public), sealed, uuid.uuid4().hex, now),
    )


def delete_connection(tx: Connection, integration: str) -> None:
    tx.execute("DELETE FROM connections WHERE integration = ?", (integration,))


def read_connection(db: Connection, integration: str) -> tuple[dict[str, Any], float] | None:
    """The saved record without its secret fields, and when it was saved."""
    row = db.execute(
        "SELECT record, saved_at FROM connections WHERE integration = ?", (integration,)
    ).fetchone()
    return None if row is None else (json.loads(row["record"]), row["saved_at"])


def save_settings(
    tx: Connection,
    integration: str,
    settings: dict[str, Any],
    warnings: list[str],
    *,
    now: float,
) -> None:
    tx.execute(
        "INSERT INTO settings (integration, document, warnings, revision, saved_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (integration) DO UPDATE SET"
        " document = excluded.document, warnings = excluded.warnings,"
        " revision = excluded.revision, saved_at = excluded.saved_at",
        (integration, to_json_text(settings), to_json_text(warnings), uuid.uuid4().hex, now),
    )


def read_settings(db: Connection, integration: str) -> SavedSettings | None:
    row = db.execute(
        "SELECT document, warnings, saved_at FROM settings WHERE integration = ?",
        (integration,),
    ).fetchone()
    if row is None:
        return None
    return SavedSettings(
        settings=json.loads(row["document"]),
        warnings=json.loads(row["warnings"]),
        saved_at=row["saved_at"],
    )

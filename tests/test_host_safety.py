"""The reference host and the plugin refuse what would do harm later: settings that are not an
object, events dated more than a day ahead (which would make a person's later events look
stale), and they resume the jobs parked on an unreadable secret once the key is back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pluggy
import pytest

from fortytwomin_snov.contract.errors import InvalidSettings
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.host.errors import InvalidEvent
from fortytwomin_snov.host.jobs import validate_event
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.secrets import key_file_for
from fortytwomin_snov.sync import sync_event
from fortytwomin_snov.testing import Credentials, SnovEmulator
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event

ADMIN = {"id": "usr_admin", "role": "admin"}
NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def dated(moment: datetime, number: int = 1) -> dict[str, Any]:
    event = booking_event(number, "jane@example.com")
    event["occurred_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


@pytest.fixture
def account(snov_emulator: SnovEmulator) -> Credentials:
    keys = snov_emulator.add_account()
    snov_emulator.state.add_custom_field(keys.client_id, "Meeting status")
    return keys


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW.timestamp())


@pytest.fixture
def ready(
    tmp_path: Path, clock: ManualClock, snov_emulator: SnovEmulator, account: Credentials
) -> Iterator[ReferenceHost]:
    target = snov_emulator.state.add_list(account.client_id, "42min bookings").id
    with ReferenceHost(tmp_path / "host.db", clock=clock, sleep=clock.sleep, environ={}) as host:
        host.connect({"api_user_id": account.client_id, "api_secret": account.client_secret}, ADMIN)
        host.save_settings({"target_list_id": target, "lifecycle_status_field": "Meeting status"})
        yield host


# ---- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("document", [[], [["target_list_id", 1]], "x", 3, None, True])
def test_save_settings_refuses_a_document_that_is_not_an_object(
    ready: ReferenceHost, document: Any
) -> None:
    before = ready.saved_settings()
    with pytest.raises(InvalidSettings) as caught:
        ready.save_settings(document)
    assert caught.value.errors == [
        {"pointer": "", "message": "The settings must be a JSON object."}
    ]
    assert ready.saved_settings() == before


# ---- events from the future -------------------------------------------------------------------


def test_the_host_refuses_an_event_dated_more_than_a_day_ahead_of_its_clock() -> None:
    now = NOW.timestamp()
    assert validate_event(dated(NOW + timedelta(hours=23)), now=now) == []
    assert validate_event(dated(NOW - timedelta(days=400)), now=now) == []
    (problem,) = validate_event(dated(NOW + timedelta(days=1, seconds=1)), now=now)
    assert problem["pointer"] == "/occurred_at"
    assert "more than a day in the future" in problem["message"]
    assert validate_event(dated(datetime(9999, 12, 31, tzinfo=UTC))) != []  # the real clock
    february_30 = {**dated(NOW), "occurred_at": "2025-02-30T09:00:00Z"}
    assert validate_event(february_30, now=now)[0]["pointer"] == "/occurred_at"


def test_enqueue_uses_the_hosts_clock_for_the_future(tmp_path: Path, clock: ManualClock) -> None:
    with ReferenceHost(tmp_path / "host.db", clock=clock, environ={}) as host:
        with pytest.raises(InvalidEvent) as caught:
            host.enqueue_many([dated(NOW), dated(NOW + timedelta(days=2), 2)])
        assert [error["pointer"] for error in caught.value.errors] == ["/1/occurred_at"]
        assert host.job_counts()["queued"] == 0
        clock.now += 2 * 86400
        host.enqueue(dated(NOW + timedelta(days=2)))
        assert host.job_counts()["queued"] == 1


def test_the_plugin_answers_invalid_event_for_an_event_from_the_future(
    hook: pluggy.HookRelay,
) -> None:
    connection = {"api_user_id": "user-1", "api_secret": "s3cr3t-VALUE-0123456789"}
    settings = {"target_list_id": 1}
    ahead = dated(NOW + timedelta(days=2))
    outcome = sync_event(connection, settings, ahead, MemoryStore(), now=lambda: NOW)
    assert (outcome["status"], outcome["reason"]) == ("failed", "invalid_event")
    assert "/occurred_at" in outcome["message"]
    assert "more than a day in the future" in outcome["message"]
    # Through the hook, with the real clock: the year 9999 is refused before any request.
    answer = hook.on_booking_event(
        integration="snov",
        connection=connection,
        settings=settings,
        event=dated(datetime(9999, 12, 31, tzinfo=UTC)),
        host=None,
    )
    assert (answer["reason"], "/occurred_at" in answer["message"]) == ("invalid_event", True)


# ---- the key file restored --------------------------------------------------------------------


def test_restoring_the_key_file_resumes_only_the_jobs_parked_on_the_unreadable_secret(
    ready: ReferenceHost, clock: ManualClock, tmp_path: Path
) -> None:
    key_file = key_file_for(ready.path)
    kept = tmp_path / "kept.key"
    shutil.move(key_file, kept)
    with ReferenceHost(ready.path, clock=clock, sleep=clock.sleep, environ={}) as keyless:
        keyless.enqueue(booking_event(1, "jane@example.com"))
        attempt = keyless.work_once()
        assert attempt is not None
        assert (attempt.entry.reason, attempt.job_state) == ("connection_unreadable", "parked")
        assert keyless.status().parked["credentials"] == 1  # still no key: still parked
        assert keyless.resume_unlocked() == 0
    # A job parked on credentials for another reason waits for connect, as before.
    with ready.database.transaction() as tx:
        tx.execute(
            "INSERT INTO jobs (integration, event_id, event_type, event, state, blocked_on,"
            " run_after, last_reason, created_at, updated_at)"
            " VALUES ('snov', 'evt-x', 'booking.created', '{}', 'parked', 'credentials', 0,"
            " 'not_connected', 0, 0)"
        )

    shutil.move(kept, key_file)
    with ReferenceHost(ready.path, clock=clock, sleep=clock.sleep, environ={}) as restored:
        assert restored.status().parked["credentials"] == 1  # status resumed the first
        restored.work(until_empty=True)
        assert restored.sync_log(limit=1)[0].status == "synced"
        assert restored.resume_unlocked() == 0

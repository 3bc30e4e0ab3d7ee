"""The reference host with the real plugin (found through its entry point) and the emulator.

Every job transition happens the way an admin meets it: Snov.io failing, keys revoked and
reconnected, a target list deleted and another chosen. The host's clock is a ManualClock
(its waits advance it), so deferred jobs come due without sleeping.
"""

from __future__ import annotations

import dataclasses
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from fortytwomin_snov.contract.errors import InvalidCredentials, InvalidSettings
from fortytwomin_snov.host.errors import SecretKeyError
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.secrets import KEY_ENV, key_file_for
from fortytwomin_snov.testing import Credentials, SnovEmulator
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event, routing_form_event

ADD_PROSPECT = "/v1/add-prospect-to-list"
ADMIN = {"id": "usr_admin", "role": "admin"}
STATUS_FIELD = "Meeting status"


@pytest.fixture
def account(snov_emulator: SnovEmulator) -> Credentials:
    keys = snov_emulator.add_account()
    snov_emulator.state.add_custom_field(keys.client_id, STATUS_FIELD)
    return keys


@pytest.fixture
def keys(account: Credentials) -> dict[str, str]:
    return {"api_user_id": account.client_id, "api_secret": account.client_secret}


@pytest.fixture
def target_list(snov_emulator: SnovEmulator, account: Credentials) -> int:
    return snov_emulator.state.add_list(account.client_id, "42min bookings").id


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def host(tmp_path: Path, clock: ManualClock) -> Iterator[ReferenceHost]:
    with ReferenceHost(tmp_path / "host.db", clock=clock, sleep=clock.sleep, environ={}) as made:
        yield made


@pytest.fixture
def ready(host: ReferenceHost, keys: dict[str, str], target_list: int) -> ReferenceHost:
    host.connect(keys, ADMIN)
    host.save_settings({"target_list_id": target_list, "lifecycle_status_field": STATUS_FIELD})
    return host


def prospects(emulator: SnovEmulator, account: Credentials, list_id: int) -> list[Any]:
    return emulator.state.prospects(account.client_id, list_id=list_id)


def test_connect_settings_and_a_booking_end_to_end(
    host: ReferenceHost,
    keys: dict[str, str],
    target_list: int,
    account: Credentials,
    snov_emulator: SnovEmulator,
) -> None:
    connected = host.connect(keys, ADMIN)
    assert connected.record["api_user_id"] == account.client_id
    assert connected.record["connected_by"] == "usr_admin"
    assert "api_secret" not in connected.record
    assert host.connection()["api_secret"] == account.client_secret

    form = host.settings_schema()
    choices = form["schema"]["properties"]["target_list_id"]["oneOf"]
    assert target_list in [choice["const"] for choice in choices]

    saved = host.save_settings(
        {"target_list_id": target_list, "lifecycle_status_field": STATUS_FIELD}
    )
    assert saved.settings["target_list_id"] == target_list
    assert saved.settings["triggers"]["booking_created"] is True  # defaults filled in
    assert host.saved_settings() == dataclasses.replace(saved, requeued=0)

    job_id = host.enqueue(booking_event(1, "jane@example.com"))
    summary = host.work(until_empty=True)
    assert summary.statuses == {"synced": 1}
    (entry,) = host.sync_log()
    assert (entry.job_id, entry.status, entry.reason) == (job_id, "synced", "prospect_added")
    assert entry.email == "jane@example.com"
    (person,) = prospects(snov_emulator, account, target_list)
    assert person.email == "jane@example.com"
    assert person.custom_fields[STATUS_FIELD] == "Meeting booked"

    created = host.run_settings_action("create_list", {"name": "Webinar leads"})
    listed = snov_emulator.state.find_list(account.client_id, created["id"])
    assert listed is not None
    assert listed.name == "Webinar leads"


def test_skipped_events_close_their_jobs_a_duplicate_delivery_included(
    ready: ReferenceHost, snov_emulator: SnovEmulator, account: Credentials, target_list: int
) -> None:
    event = booking_event(1, "jane@example.com")
    ready.enqueue_many([event, event, routing_form_event(2, "lee@example.com")])
    ready.work(until_empty=True)
    outcomes = [(e.event_id, e.status, e.reason) for e in reversed(ready.sync_log())]
    assert outcomes == [
        ("evt-1", "synced", "prospect_added"),
        ("evt-1", "skipped", "duplicate_event"),
        ("evt-2", "skipped", "trigger_off"),
    ]
    assert ready.job_counts()["done"] == 3
    assert len(prospects(snov_emulator, account, target_list)) == 1


def test_snov_failing_defers_the_job_until_retry_after(
    ready: ReferenceHost,
    snov_emulator: SnovEmulator,
    account: Credentials,
    target_list: int,
    clock: ManualClock,
) -> None:
    job_id = ready.enqueue(booking_event(1, "jane@example.com"))
    snov_emulator.state.fail_next(3, status=503, path=ADD_PROSPECT)  # every in-place retry
    attempt = ready.work_once()
    assert attempt is not None
    assert (attempt.entry.status, attempt.entry.reason) == ("deferred", "snov_unavailable")
    assert attempt.job_state == "queued"
    retry_after = attempt.entry.retry_after
    assert retry_after is not None
    job = ready.job(job_id)
    assert job is not None
    assert job.run_after == pytest.approx(clock() + retry_after)
    assert ready.work_once() is None
    clock.advance(retry_after)
    done = ready.work_once()
    assert done is not None
    assert (done.entry.status, done.entry.attempt, done.job_state) == ("synced", 2, "done")
    assert len(prospects(snov_emulator, account, target_list)) == 1


def test_revoked_keys_park_the_job_until_snov_is_connected_again(
    ready: ReferenceHost,
    keys: dict[str, str],
    snov_emulator: SnovEmulator,
    account: Credentials,
    target_list: int,
) -> None:
    snov_emulator.state.revoke_credentials(account.client_id)
    ready.enqueue(booking_event(1, "jane@example.com"))
    attempt = ready.work_once()
    assert attempt is not None
    assert (attempt.entry.reason, attempt.entry.blocked_on) == (
        "credentials_rejected",
        "credentials",
    )
    assert attempt.job_state == "parked"
    assert ready.work(until_empty=True).attempts == 0
    with pytest.raises(InvalidCredentials):
        ready.connect(keys, ADMIN)
    assert ready.status().parked["credentials"] == 1

    snov_emulator.state.restore_credentials(account.client_id)
    assert ready.connect(keys, ADMIN).requeued == 1
    ready.work(until_empty=True)
    assert ready.sync_log(limit=1)[0].reason == "prospect_added"
    assert ready.job_counts()["done"] == 1
    assert len(prospects(snov_emulator, account, target_list)) == 1


def test_a_deleted_list_parks_the_job_until_new_settings_are_saved(
    ready: ReferenceHost, snov_emulator: SnovEmulator, account: Credentials, target_list: int
) -> None:
    snov_emulator.state.delete_list(account.client_id, target_list)
    ready.enqueue(booking_event(1, "jane@example.com"))
    attempt = ready.work_once()
    assert attempt is not None
    assert (attempt.entry.reason, attempt.entry.blocked_on) == ("list_not_found", "settings")
    assert attempt.job_state == "parked"
    with pytest.raises(InvalidSettings):
        ready.save_settings({"target_list_id": target_list, "lifecycle_status_field": STATUS_FIELD})
    assert ready.status().parked["settings"] == 1

    other = snov_emulator.state.add_list(account.client_id, "42min bookings (new)").id
    saved = ready.save_settings({"target_list_id": other, "lifecycle_status_field": STATUS_FIELD})
    assert saved.requeued == 1
    ready.work(until_empty=True)
    assert ready.job_counts()["done"] == 1
    (person,) = prospects(snov_emulator, account, other)
    assert person.email == "jane@example.com"


def test_a_failure_nobody_can_fix_in_settings_stays_failed_until_replayed(
    ready: ReferenceHost,
) -> None:
    job_id = ready.enqueue(booking_event(1, "jane-at-example"))
    ready.work(until_empty=True)
    (failed,) = ready.sync_log(status="failed")
    assert (failed.reason, failed.blocked_on) == ("invalid_event", None)
    assert ready.job_counts()["failed"] == 1
    assert ready.replay() == [job_id]
    ready.work(until_empty=True)
    assert [e.attempt for e in ready.sync_log(job_id=job_id)] == [2, 1]


def test_the_api_secret_is_not_readable_in_the_database_file(
    ready: ReferenceHost, tmp_path: Path, account: Credentials
) -> None:
    ready.enqueue(booking_event(1, "jane@example.com"))
    ready.work(until_empty=True)
    files = [ready.path, ready.path.with_name(ready.path.name + "-wal")]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert account.client_id.encode() in raw  # the right files, holding the connection
    assert account.client_secret.encode() not in raw
    key_file = key_file_for(ready.path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert account.client_secret.encode() not in key_file.read_bytes()


def test_a_wrong_key_is_a_clear_error_and_parks_jobs_until_connected_again(
    ready: ReferenceHost,
    keys: dict[str, str],
    account: Credentials,
    clock: ManualClock,
) -> None:
    other_key = Fernet.generate_key().decode()
    with ReferenceHost(
        ready.path, clock=clock, sleep=clock.sleep, environ={KEY_ENV: other_key}
    ) as wrong:
        assert wrong.status().connected is True  # status needs no key
        with pytest.raises(SecretKeyError) as caught:
            wrong.settings_schema()
        message = str(caught.value)
        assert message == (
            "The saved connection's secret cannot be decrypted with the key from the"
            f" environment variable {KEY_ENV}: use the key it was saved with, or connect again"
        )
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__ is True

        wrong.enqueue(booking_event(1, "jane@example.com"))
        attempt = wrong.work_once()
        assert attempt is not None
        assert (attempt.entry.reason, attempt.job_state) == ("connection_unreadable", "parked")
        assert account.client_secret not in attempt.entry.message
        assert wrong.connect(keys, ADMIN).requeued == 1
        wrong.work(until_empty=True)
        assert wrong.sync_log(limit=1)[0].status == "synced"

"""The reference host's queue, worker and sync log, driven by a scripted plugin.

The plugin here is a stand-in integration (slug ``fake``) registered on a real
PluginManager with the contract: each test scripts what ``on_booking_event`` answers, so
every job transition, and every way a plugin can misbehave, is checked without Snov.io.
The host's clock is a ManualClock and its idle waits advance it, so nothing sleeps.

Every test runs on both engines: a SQLite file, and a PostgreSQL database of its own on the
session's throwaway server (``tests/servers.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy
import pytest

from fortytwomin_snov.contract import hookspecs
from fortytwomin_snov.contract.errors import IntegrationError, InvalidSettings
from fortytwomin_snov.contract.hookspecs import hookimpl
from fortytwomin_snov.host import jobs
from fortytwomin_snov.host.errors import InvalidEvent, NotConnected, PluginNotFound
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import booking_event

if TYPE_CHECKING:  # imported by pytest as a plugin, so that its asserts are rewritten
    from tests.servers import HostDatabase

pytest_plugins = ["tests.servers"]

SLUG = "fake"
ADMIN = {"id": "admin-1", "role": "admin"}
CREDENTIALS = {"user": "acct-1", "token": "tok-SECRET-0001"}

Answer = dict[str, Any] | None | Callable[..., Any]


def outcome(status: str, reason: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "reason": reason, "message": f"{status}: {reason}.", **extra}


SYNCED = outcome("synced", "prospect_added", email="jane@example.com")


class FakePlugin:
    """An integration whose ``on_booking_event`` answers are scripted by the test."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.calls: list[dict[str, Any]] = []
        self.disconnected: list[dict[str, Any]] = []

    @hookimpl
    def integration_manifest(self) -> dict[str, Any]:
        return {
            "slug": SLUG,
            "name": "Fake CRM",
            "credentials_schema": {
                "type": "object",
                "properties": {
                    "user": {"type": "string"},
                    "token": {"type": "string", "writeOnly": True},
                },
            },
        }

    @hookimpl
    def connect(
        self, integration: str, credentials: dict[str, Any], actor: dict[str, Any]
    ) -> dict[str, Any] | None:
        if integration != SLUG:
            return None
        return {**credentials, "connected_by": actor["id"]}

    @hookimpl
    def validate_settings(
        self, integration: str, connection: dict[str, Any], settings: dict[str, Any]
    ) -> dict[str, Any] | None:
        if integration != SLUG:
            return None
        if settings.get("list") == "bad":
            raise InvalidSettings([{"pointer": "/list", "message": "No such list."}])
        return {"settings": {**settings, "normalised": True}, "warnings": ["Check the list."]}

    @hookimpl
    def on_booking_event(
        self,
        integration: str,
        connection: dict[str, Any],
        settings: dict[str, Any],
        event: dict[str, Any],
        host: Any,
    ) -> dict[str, Any] | None:
        if integration != SLUG:
            return None
        self.calls.append({"connection": connection, "settings": settings, "event": event})
        answer = self.answers.pop(0)
        if callable(answer):
            answer = answer(host=host, event=event)
        if isinstance(answer, dict):
            return {"event_id": event["id"], "event_type": event["type"], **answer}
        return answer

    @hookimpl
    def disconnect(self, integration: str, connection: dict[str, Any]) -> None:
        if integration == SLUG:
            self.disconnected.append(connection)


@pytest.fixture
def plugin() -> FakePlugin:
    return FakePlugin()


@pytest.fixture
def manager(plugin: FakePlugin) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name=SLUG)
    return manager


@pytest.fixture
def clock() -> ManualClock:
    # After the factories' events (2025-03-14): an event more than a day ahead is refused.
    return ManualClock(1_750_000_000.0)


@pytest.fixture
def db_path(host_database: HostDatabase) -> str | Path:
    """The host's database: a SQLite file or a PostgreSQL URL."""
    return host_database.location


@pytest.fixture
def environ(host_database: HostDatabase) -> dict[str, str]:
    """The hosts' environment: on PostgreSQL the key comes from it (there is no key file)."""
    return host_database.environ


@pytest.fixture
def make_host(
    db_path: str | Path,
    environ: dict[str, str],
    manager: pluggy.PluginManager,
    clock: ManualClock,
) -> Iterator[Callable[..., ReferenceHost]]:
    made: list[ReferenceHost] = []

    def make(**options: Any) -> ReferenceHost:
        settings: dict[str, Any] = {
            "integration": SLUG,
            "plugin_manager": manager,
            "clock": clock,
            "sleep": clock.sleep,
            "environ": environ,
        }
        host = ReferenceHost(db_path, **{**settings, **options})
        made.append(host)
        return host

    yield make
    for host in made:
        host.close()


@pytest.fixture
def host(make_host: Callable[..., ReferenceHost]) -> ReferenceHost:
    return make_host(worker_id="worker-a")


@pytest.fixture
def ready(host: ReferenceHost) -> ReferenceHost:
    """Connected, with settings saved."""
    host.connect(CREDENTIALS, ADMIN)
    host.save_settings({"list": "leads"})
    return host


# ---- events --------------------------------------------------------------------------


def test_an_invalid_event_is_refused_with_every_problem_by_pointer(ready: ReferenceHost) -> None:
    event = booking_event()
    event["occurred_at"] = "yesterday"
    event["extra"] = 1
    del event["booking"]["uid"]
    event["booking"]["invitee"]["email"] = 7
    with pytest.raises(InvalidEvent) as caught:
        ready.enqueue(event)
    assert {(e["pointer"], e["message"].split(" (")[0]) for e in caught.value.errors} == {
        ("/occurred_at", "This value has the wrong format"),
        ("/extra", "This field is not allowed."),
        ("/booking/uid", "This field is required."),
        ("/booking/invitee/email", "Expected string or null."),
    }
    assert str(caught.value).startswith("The event is not valid: /booking/invitee/email:")
    assert ready.job_counts()["queued"] == 0


def test_a_booking_event_with_a_routing_form_is_refused_at_that_field() -> None:
    event = booking_event()
    event["routing_form"] = {}
    problems = jobs.validate_event(event)
    assert {"pointer": "/routing_form", "message": "This field is not allowed here."} in problems


def test_a_batch_is_queued_all_or_nothing_with_pointers_starting_at_the_event_index(
    ready: ReferenceHost,
) -> None:
    bad = booking_event(2)
    bad["type"] = "booking.moved"
    with pytest.raises(InvalidEvent) as caught:
        ready.enqueue_many([booking_event(1), bad, booking_event(3)])
    assert caught.value.errors[0]["pointer"] == "/1/type"
    assert ready.job_counts()["queued"] == 0
    assert ready.enqueue_many([booking_event(1), booking_event(3)]) == [1, 2]


# ---- job transitions -----------------------------------------------------------------


def test_a_synced_outcome_closes_the_job_with_one_full_log_entry(
    ready: ReferenceHost, plugin: FakePlugin, clock: ManualClock
) -> None:
    job_id = ready.enqueue(booking_event())
    plugin.answers.append(SYNCED)
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.job_state == "done"
    (entry,) = ready.sync_log()
    assert entry == attempt.entry
    assert entry.to_json() == {
        "id": 1,
        "at": "2025-06-15T15:06:40.000Z",
        "job_id": job_id,
        "attempt": 1,
        "integration": SLUG,
        "event_id": "evt-1",
        "event_type": "booking.created",
        "email": "jane@example.com",
        "status": "synced",
        "reason": "prospect_added",
        "message": "synced: prospect_added.",
        "retry_after": None,
        "blocked_on": None,
        "origin": "live",
    }
    assert entry.at == clock()
    # The plugin got the decrypted record, the saved (normalised) settings and the event.
    (call,) = plugin.calls
    assert call["connection"] == {**CREDENTIALS, "connected_by": "admin-1"}
    assert call["settings"] == {"list": "leads", "normalised": True}
    assert call["event"] == booking_event()
    assert ready.work_once() is None


def test_a_skipped_outcome_closes_the_job(ready: ReferenceHost, plugin: FakePlugin) -> None:
    ready.enqueue(booking_event())
    plugin.answers.append(outcome("skipped", "duplicate_event"))
    attempt = ready.work_once()
    assert attempt is not None
    assert (attempt.entry.status, attempt.job_state) == ("skipped", "done")
    assert ready.job_counts()["done"] == 1


def test_a_deferred_job_runs_again_only_after_retry_after(
    ready: ReferenceHost, plugin: FakePlugin, clock: ManualClock
) -> None:
    job_id = ready.enqueue(booking_event())
    plugin.answers += [outcome("deferred", "rate_limited", retry_after=42), SYNCED]
    first = ready.work_once()
    assert first is not None
    assert first.job_state == "queued"
    assert first.run_after == clock() + 42
    assert first.entry.retry_after == 42
    job = ready.job(job_id)
    assert job is not None
    assert job.run_after == clock() + 42
    assert job.last_status == "deferred"
    clock.advance(41.9)
    assert ready.work_once() is None
    clock.advance(0.1)
    second = ready.work_once()
    assert second is not None
    assert (second.entry.attempt, second.job_state) == (2, "done")


def test_after_a_rate_limited_attempt_the_worker_waits_before_the_next_job(
    ready: ReferenceHost, plugin: FakePlugin, clock: ManualClock
) -> None:
    # The budget is the account's: claiming the next job at once would only be refused.
    ready.enqueue_many([booking_event(), booking_event()])
    plugin.answers += [outcome("deferred", "rate_limited", retry_after=7), SYNCED, SYNCED]
    slept_before = list(clock.slept)
    summary = ready.work(until_empty=True)
    assert summary.statuses == {"deferred": 1, "synced": 2}
    assert clock.slept[len(slept_before)] == 7


def test_a_failure_blocked_on_settings_waits_until_settings_are_saved(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    job_id = ready.enqueue(booking_event())
    plugin.answers += [outcome("failed", "list_not_found", blocked_on="settings"), SYNCED]
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.job_state == "parked"
    assert attempt.entry.blocked_on == "settings"
    assert ready.status().parked == {"credentials": 0, "settings": 1}
    assert ready.work_once() is None
    # Connecting again is not the fix for settings.
    assert ready.connect(CREDENTIALS, ADMIN).requeued == 0
    assert ready.work_once() is None
    # Settings the plugin refuses are not saved and fix nothing.
    with pytest.raises(InvalidSettings):
        ready.save_settings({"list": "bad"})
    assert ready.work_once() is None
    saved = ready.save_settings({"list": "other"})
    assert saved.requeued == 1
    done = ready.work_once()
    assert done is not None
    assert (done.entry.job_id, done.entry.attempt, done.job_state) == (job_id, 2, "done")
    assert plugin.calls[-1]["settings"] == {"list": "other", "normalised": True}


def test_a_failure_blocked_on_credentials_waits_until_connected_again(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    ready.enqueue(booking_event())
    plugin.answers += [outcome("failed", "credentials_rejected", blocked_on="credentials"), SYNCED]
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.job_state == "parked"
    assert ready.save_settings({"list": "leads"}).requeued == 0
    assert ready.work_once() is None
    assert ready.connect({"user": "acct-1", "token": "tok-NEW"}, ADMIN).requeued == 1
    done = ready.work_once()
    assert done is not None
    assert done.job_state == "done"
    assert plugin.calls[-1]["connection"]["token"] == "tok-NEW"


def test_a_fix_saved_while_the_attempt_runs_queues_the_job_at_once(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    ready.enqueue(booking_event())

    def admin_saves_meanwhile(host: ReferenceHost, event: dict[str, Any]) -> dict[str, Any]:
        host.save_settings({"list": "fixed"})  # nothing is parked yet, so nothing re-queued
        return outcome("failed", "list_not_found", blocked_on="settings")

    plugin.answers += [admin_saves_meanwhile, SYNCED]
    attempt = ready.work_once()
    assert attempt is not None
    assert (attempt.entry.status, attempt.job_state) == ("failed", "queued")
    done = ready.work_once()
    assert done is not None
    assert done.job_state == "done"


def test_other_failures_stay_failed_until_replayed(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    first, second, third = ready.enqueue_many([booking_event(n) for n in (1, 2, 3)])
    plugin.answers += [outcome("failed", "snov_rejected")] * 2 + [SYNCED]
    ready.work(until_empty=True)
    assert ready.job_counts() == {"queued": 0, "running": 0, "done": 1, "parked": 0, "failed": 2}
    assert ready.work_once() is None
    # Only the named failed job; a done job and an unknown id are left alone.
    assert ready.replay([second, third, 999]) == [second]
    plugin.answers += [SYNCED]
    attempt = ready.work_once()
    assert attempt is not None
    assert (attempt.entry.job_id, attempt.entry.attempt) == (second, 2)
    assert ready.replay() == [first]
    plugin.answers += [SYNCED]
    ready.work(until_empty=True)
    assert ready.job_counts()["done"] == 3
    assert ready.replay() == []


def test_replay_can_name_a_parked_job(ready: ReferenceHost, plugin: FakePlugin) -> None:
    job_id = ready.enqueue(booking_event())
    plugin.answers += [outcome("failed", "list_not_found", blocked_on="settings"), SYNCED]
    ready.work_once()
    assert ready.replay() == []
    assert ready.replay([job_id]) == [job_id]
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.job_state == "done"


def test_text_utf8_cannot_hold_is_kept_in_the_event_and_shown_replaced_in_the_log(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    half_an_emoji = "\ud83d"
    event = booking_event(email=f"jane{half_an_emoji}@example.com")
    event["booking"]["invitee"]["name"] = f"Jane {half_an_emoji}"
    job_id = ready.enqueue(event)
    plugin.answers.append(
        outcome("synced", "prospect_added", email=f"jane{half_an_emoji}@example.com")
    )
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.entry.email == "jane?@example.com"
    assert attempt.entry.outcome["email"] == f"jane{half_an_emoji}@example.com"
    job = ready.job(job_id)
    assert job is not None
    assert job.event == event
    assert plugin.calls[0]["event"] == event


# ---- what the host does without asking the plugin --------------------------------------


def test_without_a_connection_jobs_wait_on_credentials_then_on_settings(
    host: ReferenceHost, plugin: FakePlugin
) -> None:
    host.enqueue(booking_event())
    attempt = host.work_once()
    assert attempt is not None
    assert (attempt.entry.reason, attempt.entry.blocked_on) == ("not_connected", "credentials")
    assert (
        attempt.entry.message == "Fake CRM is not connected: connect it, and this sync runs again."
    )
    assert attempt.entry.email == "jane@example.com"
    assert attempt.job_state == "parked"
    assert host.connect(CREDENTIALS, ADMIN).requeued == 1
    attempt = host.work_once()
    assert attempt is not None
    assert (attempt.entry.reason, attempt.entry.blocked_on) == ("no_settings", "settings")
    assert plugin.calls == []
    assert host.save_settings({"list": "leads"}).requeued == 1
    plugin.answers.append(SYNCED)
    attempt = host.work_once()
    assert attempt is not None
    assert (attempt.entry.attempt, attempt.job_state) == (3, "done")


def test_settings_need_a_connection(host: ReferenceHost) -> None:
    with pytest.raises(NotConnected, match="Fake CRM is not connected"):
        host.save_settings({"list": "leads"})
    assert host.saved_settings() is None


@pytest.mark.parametrize(
    ("answer", "reason", "message"),
    [
        (None, "no_plugin", "No installed plugin handles the integration 'fake'."),
        (
            IntegrationError("The service said no"),
            "plugin_error",
            "The Fake CRM plugin raised an error instead of answering: The service said no",
        ),
        (
            ValueError("boom tok-SECRET-0001"),
            "plugin_error",
            "The Fake CRM plugin failed unexpectedly (ValueError).",
        ),
        (
            {"status": "deferred", "reason": "rate_limited", "message": "Later."},
            "invalid_outcome",
            "The plugin answered with something that is not a sync outcome (a deferred"
            " outcome without a positive retry_after).",
        ),
        (
            {**SYNCED, "at": threading.Event()},
            "invalid_outcome",
            "The plugin answered with something that is not a sync outcome (not JSON).",
        ),
        (
            ["synced"],
            "invalid_outcome",
            "The plugin answered with something that is not a sync outcome (a list, not an"
            " object).",
        ),
    ],
)
def test_a_plugin_that_does_not_answer_properly_fails_the_job_and_the_worker_goes_on(
    ready: ReferenceHost, plugin: FakePlugin, answer: Any, reason: str, message: str
) -> None:
    def misbehave(host: ReferenceHost, event: dict[str, Any]) -> Any:
        if isinstance(answer, Exception):
            raise answer
        return answer

    ready.enqueue_many([booking_event(1), booking_event(2)])
    plugin.answers += [misbehave, SYNCED]
    summary = ready.work(until_empty=True)
    assert summary.statuses == {"failed": 1, "synced": 1}
    (failed,) = ready.sync_log(status="failed")
    assert (failed.reason, failed.message, failed.blocked_on) == (reason, message, None)
    assert ready.job_counts()["failed"] == 1


def test_a_slug_no_plugin_answers_for_is_named(make_host: Callable[..., ReferenceHost]) -> None:
    other = make_host(integration="hubspot")
    with pytest.raises(PluginNotFound, match="'hubspot'"):
        other.connect(CREDENTIALS, ADMIN)
    assert other.status().connected is False


# ---- workers and leases -------------------------------------------------------------


def test_a_job_held_by_a_worker_that_died_is_taken_again_when_its_lease_runs_out(
    ready: ReferenceHost, plugin: FakePlugin, clock: ManualClock
) -> None:
    job_id = ready.enqueue(booking_event())
    with ready.database.transaction() as tx:
        held = jobs.claim_job(tx, SLUG, worker="dead-worker", now=clock(), lease=ready.lease)
    assert held is not None
    assert held.id == job_id
    assert ready.work_once() is None
    clock.advance(ready.lease - 0.001)
    assert ready.work_once() is None
    clock.advance(0.001)
    plugin.answers.append(SYNCED)
    attempt = ready.work_once()
    assert attempt is not None
    # The dead worker's attempt counts: attempt 1 never reached the log.
    assert (attempt.entry.attempt, attempt.job_state) == (2, "done")
    assert len(ready.sync_log()) == 1


def test_a_worker_that_lost_its_lease_still_logs_and_its_final_outcome_closes_the_job(
    ready: ReferenceHost,
    plugin: FakePlugin,
    clock: ManualClock,
    make_host: Callable[..., ReferenceHost],
) -> None:
    other = make_host(worker_id="worker-b")
    ready.enqueue(booking_event())

    def slow_then_synced(host: ReferenceHost, event: dict[str, Any]) -> dict[str, Any]:
        clock.advance(ready.lease)  # the call outlasts the lease (no heartbeat in time)
        taken = other.work_once()  # the plugin's own mark answers the second worker
        assert taken is not None
        assert taken.job_state == "queued"
        return SYNCED

    plugin.answers += [slow_then_synced, outcome("deferred", "in_progress", retry_after=2)]
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.job_state == "done"
    assert [(e.attempt, e.status) for e in ready.sync_log()] == [(1, "synced"), (2, "deferred")]
    assert other.work_once() is None
    clock.advance(10)
    assert other.work_once() is None


def test_a_job_under_a_short_lease_goes_to_another_worker_once_the_lease_runs_out(
    make_host: Callable[..., ReferenceHost],
    plugin: FakePlugin,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # worker-a hangs in the plugin and never renews its lease, as a stuck process would.
    monkeypatch.setattr(jobs, "extend_lease", lambda *args, **kwargs: True)
    host = make_host(worker_id="worker-a", lease=10.0)
    host.connect(CREDENTIALS, ADMIN)
    host.save_settings({"list": "leads"})
    other = make_host(worker_id="worker-b")
    job_id = host.enqueue(booking_event())
    taken_over: list[jobs.Attempt | None] = []

    def stalled(host: ReferenceHost, event: dict[str, Any]) -> dict[str, Any]:
        clock.advance(9.999)
        taken_over.append(other.work_once())
        clock.advance(0.001)
        taken_over.append(other.work_once())
        return outcome("deferred", "rate_limited", retry_after=30.0)

    plugin.answers += [stalled, SYNCED]
    late = host.work_once()
    before, after = taken_over
    assert before is None  # the lease still held
    assert after is not None
    assert (after.entry.job_id, after.entry.attempt, after.job_state) == (job_id, 2, "done")
    # worker-a's late attempt is logged and leaves worker-b's finished job alone.
    assert late is not None
    assert (late.entry.attempt, late.job_state) == (1, "done")


def test_the_lease_is_renewed_while_the_plugin_works(
    make_host: Callable[..., ReferenceHost],
    plugin: FakePlugin,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = make_host(worker_id="worker-a", lease=0.02)
    host.connect(CREDENTIALS, ADMIN)
    host.save_settings({"list": "leads"})
    other = make_host(worker_id="worker-b")
    job_id = host.enqueue(booking_event())
    renewed = threading.Event()
    extend_lease = jobs.extend_lease

    def observed(*args: Any, **kwargs: Any) -> bool:
        held = extend_lease(*args, **kwargs)
        renewed.set()
        return held

    monkeypatch.setattr(jobs, "extend_lease", observed)

    def long_call(host: ReferenceHost, event: dict[str, Any]) -> dict[str, Any]:
        clock.advance(60)  # far past the first lease
        renewed.clear()
        assert renewed.wait(timeout=10), "the lease was not renewed"
        job = host.job(job_id)
        assert job is not None
        assert job.lease_until is not None
        assert job.lease_until > clock()
        assert other.work_once() is None  # still held
        return SYNCED

    plugin.answers.append(long_call)
    attempt = host.work_once()
    assert attempt is not None
    assert attempt.job_state == "done"


def test_an_interrupted_attempt_gives_the_job_back_untried(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    job_id = ready.enqueue(booking_event())

    def interrupted(host: ReferenceHost, event: dict[str, Any]) -> Any:
        raise KeyboardInterrupt

    plugin.answers += [interrupted, SYNCED]
    with pytest.raises(KeyboardInterrupt):
        ready.work_once()
    job = ready.job(job_id)
    assert job is not None
    assert (job.state, job.worker, job.lease_until) == ("queued", None, None)
    assert ready.sync_log() == []
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.job_state == "done"


# ---- work() ------------------------------------------------------------------------


def test_work_until_empty_waits_for_deferred_jobs_and_reports_each_attempt(
    ready: ReferenceHost, plugin: FakePlugin, clock: ManualClock
) -> None:
    ready.enqueue_many([booking_event(1), booking_event(2)])
    plugin.answers += [
        outcome("deferred", "snov_unavailable", retry_after=60),
        SYNCED,
        outcome("skipped", "trigger_off"),
    ]
    start = clock()
    seen: list[tuple[str, str]] = []
    summary = ready.work(
        until_empty=True, on_progress=lambda a: seen.append((a.entry.event_id, a.job_state))
    )
    assert seen == [("evt-1", "queued"), ("evt-2", "done"), ("evt-1", "done")]
    assert summary.attempts == 3
    assert summary.statuses == {"deferred": 1, "synced": 1, "skipped": 1}
    assert not summary.stopped
    assert 60 <= clock() - start < 62


def test_work_until_empty_leaves_parked_and_failed_jobs_for_the_admin(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    ready.enqueue_many([booking_event(1), booking_event(2)])
    plugin.answers += [
        outcome("failed", "list_not_found", blocked_on="settings"),
        outcome("failed", "snov_rejected"),
    ]
    summary = ready.work(until_empty=True)
    assert summary.attempts == 2
    assert ready.job_counts() == {"queued": 0, "running": 0, "done": 0, "parked": 1, "failed": 1}


def test_work_stops_between_attempts_when_asked(ready: ReferenceHost, plugin: FakePlugin) -> None:
    ready.enqueue_many([booking_event(1), booking_event(2)])
    plugin.answers += [SYNCED, SYNCED]
    stop = threading.Event()
    summary = ready.work(stop=stop, on_progress=lambda attempt: stop.set())
    assert (summary.attempts, summary.stopped) == (1, True)
    assert ready.job_counts()["queued"] == 1


def test_work_as_a_service_keeps_waiting_for_new_jobs(
    ready: ReferenceHost, plugin: FakePlugin, clock: ManualClock, environ: dict[str, str]
) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            ready.enqueue(booking_event())
            plugin.answers.append(SYNCED)
        clock.advance(seconds)

    service = ReferenceHost(
        ready.location,
        integration=SLUG,
        plugin_manager=ready.plugin_manager,
        clock=clock,
        sleep=sleep,
        environ=environ,
    )
    try:
        summary = service.work(max_attempts=1, poll_interval=5)
    finally:
        service.close()
    assert waits == [5, 5, 5]
    assert summary.attempts == 1


# ---- the log and the status -----------------------------------------------------------


def test_the_log_is_newest_first_and_filters_by_status_job_and_event(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    ids = ready.enqueue_many([booking_event(1), booking_event(2), booking_event(3)])
    plugin.answers += [
        outcome("failed", "snov_rejected"),
        SYNCED,
        outcome("skipped", "trigger_off"),
    ]
    ready.work(until_empty=True)
    assert [e.event_id for e in ready.sync_log()] == ["evt-3", "evt-2", "evt-1"]
    assert [e.event_id for e in ready.sync_log(limit=2)] == ["evt-3", "evt-2"]
    assert [e.event_id for e in ready.sync_log(status="failed")] == ["evt-1"]
    assert [e.event_id for e in ready.sync_log(status=["failed", "synced"])] == ["evt-2", "evt-1"]
    assert ready.sync_log(status=[]) == []
    assert [e.event_id for e in ready.sync_log(job_id=ids[1])] == ["evt-2"]
    assert [e.job_id for e in ready.sync_log(event_id="evt-3")] == [ids[2]]


def test_status_says_who_connected_what_is_saved_and_how_the_queue_stands(
    host: ReferenceHost, plugin: FakePlugin, clock: ManualClock
) -> None:
    empty = host.status()
    assert (empty.connected, empty.connection, empty.settings_saved) == (False, None, False)
    connected_at = clock()
    host.connect(CREDENTIALS, ADMIN)
    clock.advance(5)
    host.save_settings({"list": "leads"})
    host.enqueue_many([booking_event(1), booking_event(2)])
    plugin.answers.append(SYNCED)
    host.work_once()
    status = host.status()
    assert status.to_json() == {
        "integration": SLUG,
        "connected": True,
        "connection": {"user": "acct-1", "connected_by": "admin-1"},
        "connection_saved_at": "2025-06-15T15:06:40.000Z",
        "settings_saved": True,
        "settings_saved_at": "2025-06-15T15:06:45.000Z",
        "settings_warnings": ["Check the list."],
        "jobs": {"queued": 1, "running": 0, "done": 1, "parked": 0, "failed": 0},
        "parked": {"credentials": 0, "settings": 0},
        "backfill_paused": 0,
    }
    assert status.connection_saved_at == connected_at


def test_disconnect_tells_the_plugin_and_keeps_jobs_and_settings(
    ready: ReferenceHost, plugin: FakePlugin
) -> None:
    ready.enqueue(booking_event())
    assert ready.disconnect() is True
    assert plugin.disconnected == [{**CREDENTIALS, "connected_by": "admin-1"}]
    assert ready.disconnect() is False
    status = ready.status()
    assert (status.connected, status.settings_saved, status.jobs["queued"]) == (False, True, 1)
    attempt = ready.work_once()
    assert attempt is not None
    assert attempt.entry.reason == "not_connected"

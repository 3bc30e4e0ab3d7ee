"""Fault injection: a realistic burst runs through the reference host while Snov.io misbehaves.

Each test queues one burst (:func:`realistic_burst`: the five event types, people seen two
or three times, one duplicate delivery, one event delivered late, two events without an
email) on a :class:`ReferenceHost` connected to the emulator, with settings that use a
lifecycle status field, a host email field and custom-field mappings, routing forms on.
A fault is injected after a chosen number of attempts; where the fault needs the admin, the
fix is applied once the worker has nothing left to do; then :func:`assert_burst_complete`
checks what issue 7 promises: every event has its right final outcome, nothing is lost,
nobody is duplicated in the target list, each person's status field holds their latest
event's status, and no secret (the API secret, any access token issued) appears in the
sync log, an outcome or captured logging.

Time is virtual: the host, the plugin's Snov.io client (its rate limiter, its pause after a
429, its token's age) and the emulator share one ManualClock, so deferred jobs come due and
rate windows slide without waiting. Only the slow-response fault spends real time (the
client's timeout).

The last fault of issue 7, a worker killed with SIGKILL at random points and restarted,
needs worker processes: it is
``tests/test_host_workers.py::test_workers_killed_at_random_points_lose_no_job_and_repeat_at_most_one_call_each``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fortytwomin_snov.host.jobs import Attempt, LogEntry
from fortytwomin_snov.host.reference import ReferenceHost, WorkSummary
from fortytwomin_snov.snov import SnovClient
from fortytwomin_snov.snov.environment import RATE_LIMIT_ENV, TIMEOUT_ENV
from fortytwomin_snov.testing import Credentials, RecordedRequest, SnovEmulator
from fortytwomin_snov.testing.clock import ManualClock
from tests.factories import at_minute, booking_event, routing_form_event

TOKEN = "/v1/oauth/access_token"
ADD = "/v1/add-prospect-to-list"
LOOKUP = "/v1/get-prospects-by-email"
BALANCE = "/v1/get-balance"
CUSTOM_FIELDS = "/v1/prospect-custom-fields"
SLOW_TIMEOUT = 0.2
"""The client's timeout in the slow-response tests, in real seconds."""
LATE_LANDING = 1.5
"""Real seconds a timed-out write takes to land: ample time for the next event to sync."""

ADMIN = {"id": "usr_admin", "role": "admin"}
STATUS_FIELD = "Meeting status"
HOST_FIELD = "42min host"
INDUSTRY_FIELD = "Industry"
TEAM_SIZE_FIELD = "Team size"
CUSTOM_FIELD_LABELS = (STATUS_FIELD, HOST_FIELD, INDUSTRY_FIELD, TEAM_SIZE_FIELD)
STATUS_LABELS = {
    "booking.created": "Meeting booked",
    "booking.canceled": "Meeting canceled",
    "booking.rescheduled": "Meeting rescheduled",
    "booking.no_show": "No-show",
}
HOSTS = ("ana@42min.example", "ben@42min.example")
INDUSTRIES = ("Software", "Retail", "Health care")
WRITE_REASONS = {
    "booking.created": {"prospect_added", "prospect_updated"},
    "routing_form.submitted": {"prospect_added", "prospect_updated"},
    "booking.canceled": {"status_updated"},
    "booking.rescheduled": {"status_updated"},
    "booking.no_show": {"status_updated"},
}


# ---- the burst -----------------------------------------------------------------------------


def email_of(person: int) -> str:
    return f"person{person}@example.com"


class Story:
    """Builds a burst of events in delivery order; each new event happens two minutes after
    the one before, unless it is delivered late."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._numbers = iter(range(1000))

    def _when(self, number: int, late_by: int) -> str:
        return at_minute(2 * number - late_by)

    def booking(
        self, person: int | None, kind: str, *, email: str | None = None, late_by: int = 0
    ) -> dict[str, Any]:
        number = next(self._numbers)
        who = person if person is not None else 99
        event = booking_event(
            number,
            email or (email_of(person) if person is not None else None),
            kind=kind,
            event_id=f"evt-{number:03d}",
            occurred_at=self._when(number, late_by),
            uid=f"bk-{who}",
            name=f"Person {who}",
            host={"email": HOSTS[number % 2], "name": "Host"},
            answers={"company": f"Company {who}", "industry": INDUSTRIES[who % 3]},
        )
        self.events.append(event)
        return event

    def form(self, person: int | None) -> dict[str, Any]:
        number = next(self._numbers)
        who = person if person is not None else 99
        event = routing_form_event(
            number,
            email_of(person) if person is not None else None,
            event_id=f"evt-{number:03d}",
            occurred_at=self._when(number, 0),
            form_id="rf_demo",
            name=f"Person {who}",
            fields={"team-size": str(5 * (who + 1))},
        )
        self.events.append(event)
        return event

    def redeliver(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def realistic_burst() -> list[dict[str, Any]]:
    """32 events for 13 people: mostly new bookings, then the status changes and routing-form
    submissions of people already seen; one booking delivered twice, one delivered after its
    own cancellation, one person's email in another case, and two events without an email."""
    story = Story()
    created, canceled = "booking.created", "booking.canceled"
    rescheduled, no_show = "booking.rescheduled", "booking.no_show"
    story.booking(0, created)
    story.booking(1, created)
    story.form(2)
    story.booking(3, created)
    story.booking(None, created)
    story.booking(0, rescheduled)
    story.booking(4, created)
    story.form(5)
    story.booking(2, created)
    story.booking(6, created)
    story.booking(1, no_show)
    twice = story.booking(7, created)
    story.form(8)
    story.booking(3, canceled, email="Person3@Example.COM")
    story.booking(9, created)
    story.booking(4, canceled)
    story.booking(10, created)
    story.booking(8, created)
    story.form(None)
    story.form(11)
    story.booking(6, rescheduled)
    story.booking(0, canceled)
    story.booking(10, rescheduled)
    story.booking(9, canceled)
    story.redeliver(twice)
    story.form(11)
    story.booking(8, no_show)
    story.booking(10, rescheduled)
    story.booking(12, canceled)
    story.booking(12, created, late_by=3)  # delivered after its own cancellation
    story.booking(2, rescheduled)
    story.booking(9, created)  # booked again after the cancellation
    return story.events


def settings_for(list_id: int, *, team_size_row: bool = True) -> dict[str, Any]:
    rows = [
        {"source": "invitee_form_question:company", "target": "prospect.company"},
        {"source": "invitee_form_question:industry", "target": f"prospect.cf_{INDUSTRY_FIELD}"},
    ]
    if team_size_row:
        rows.append({"source": "routing_form_field:team-size", "target": "prospect.cf_Team size"})
    return {
        "target_list_id": list_id,
        "triggers": {"routing_form_submitted": True},
        "lifecycle_status_field": STATUS_FIELD,
        "host_email_field": HOST_FIELD,
        "field_mappings": rows,
    }


def person_of(event: Mapping[str, Any]) -> str | None:
    """The casefolded email an event is about, or None."""
    someone = (
        event["routing_form"]["respondent"]
        if event["type"] == "routing_form.submitted"
        else event["booking"]["invitee"]
    )
    email = someone.get("email")
    return None if email is None else str(email).casefold()


def occurred(event: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["occurred_at"]).replace("Z", "+00:00"))


def slow_answers(
    emulator: SnovEmulator, monkeypatch: pytest.MonkeyPatch, count: int, *, late_by: float
) -> Callable[[], None]:
    """A fault: the next ``count`` add-prospect answers come ``late_by`` real seconds late,
    and the plugin's clients built from now on wait only SLOW_TIMEOUT for an answer."""

    def inject() -> None:
        monkeypatch.setenv(TIMEOUT_ENV, str(SLOW_TIMEOUT))
        emulator.state.delay_next(late_by, count=count, path=ADD)

    return inject


def usual_timeout(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Clients built from now on wait as long as usual again (no load makes them time out)."""
    return lambda: monkeypatch.delenv(TIMEOUT_ENV)


class InFlight:
    """Counts the API requests the emulator holds (arrived, not yet answered), so a test can
    wait until every delayed request has landed."""

    def __init__(self, emulator: SnovEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._changed = threading.Condition()
        state = emulator.state
        take_fault, record = state.take_fault, state.record

        def arriving(path: str) -> Any:  # called once per API request as it arrives
            with self._changed:
                self.count += 1
            return take_fault(path)

        def answered(request: RecordedRequest) -> None:
            record(request)
            with self._changed:
                self.count -= 1
                self._changed.notify_all()

        monkeypatch.setattr(state, "take_fault", arriving)
        monkeypatch.setattr(state, "record", answered)

    def wait_until_none(self, timeout: float = 10.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.count == 0, timeout=timeout), (
                f"{self.count} requests still held by the emulator"
            )


@dataclass
class IdleWait:
    """The host's wait when no job is due: it moves the shared clock on. ``first``, when
    set, runs before (a test lets the real time that a wait stands for pass there)."""

    clock: ManualClock
    first: Callable[[], object] | None = None

    def __call__(self, seconds: float) -> None:
        if self.first is not None:
            self.first()
        self.clock.sleep(seconds)


@dataclass
class Burst:
    """One burst on one host: queue it, work it with faults injected after given attempts,
    and everything :func:`assert_burst_complete` needs to judge the result."""

    host: ReferenceHost
    emulator: SnovEmulator
    account: Credentials
    target_list: int
    tokens: list[str]
    """Every access token the emulator issued during the test."""
    logs: pytest.LogCaptureFixture
    events: list[dict[str, Any]] = field(default_factory=realistic_burst)
    job_events: dict[int, dict[str, Any]] = field(default_factory=dict)
    attempts: int = 0

    @property
    def keys(self) -> dict[str, str]:
        return {"api_user_id": self.account.client_id, "api_secret": self.account.client_secret}

    def queue(self) -> None:
        job_ids = self.host.enqueue_many(self.events)
        self.job_events = dict(zip(job_ids, self.events, strict=True))

    def work(
        self,
        faults: Mapping[int, Callable[[], object]] | None = None,
        *,
        after_each: Callable[[Attempt], object] | None = None,
    ) -> WorkSummary:
        """Work until nothing is queued or running; ``faults[n]`` runs after the n-th attempt
        (counted over every call, from 1)."""
        scheduled = dict(faults or {})

        def progress(attempt: Attempt) -> None:
            self.attempts += 1
            if self.attempts in scheduled:
                scheduled.pop(self.attempts)()
            if after_each is not None:
                after_each(attempt)

        summary = self.host.work(until_empty=True, on_progress=progress, poll_interval=600.0)
        assert not scheduled, f"the burst ended before attempts {sorted(scheduled)}"
        return summary

    def log(self) -> list[LogEntry]:
        """Every sync-log entry, oldest first."""
        return sorted(self.host.sync_log(limit=None), key=lambda entry: entry.id)

    def entries(self, *, status: str, reason: str | None = None) -> list[LogEntry]:
        return [
            entry
            for entry in self.log()
            if entry.status == status and (reason is None or entry.reason == reason)
        ]

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        return self.emulator.state.requests(path=path)

    def people(self) -> set[str]:
        return {person for event in self.events if (person := person_of(event)) is not None}

    def latest_booking(self) -> dict[str, dict[str, Any]]:
        """Each person's booking event that happened last."""
        latest: dict[str, dict[str, Any]] = {}
        for event in self.events:
            person = person_of(event)
            if person is None or event["type"] == "routing_form.submitted":
                continue
            if person not in latest or occurred(event) > occurred(latest[person]):
                latest[person] = event
        return latest

    def secrets(self) -> list[str]:
        return [self.account.client_secret, *self.tokens]


# ---- the checks ----------------------------------------------------------------------------


def assert_burst_complete(
    burst: Burst,
    *,
    target_list: int | None = None,
    everyone_in_target: bool = True,
    mapped: Sequence[str] = (INDUSTRY_FIELD, TEAM_SIZE_FIELD),
) -> None:
    """The burst ran to completion and issue 7's promises hold.

    ``target_list``: the list chosen in the end (default: the burst's). With
    ``everyone_in_target``, every person of the burst is in it and nowhere else; otherwise
    (the list changed mid-burst) the people in it are those synced into it. ``mapped``: the
    custom fields the final mapping fills from event answers.
    """
    host, state, client_id = burst.host, burst.emulator.state, burst.account.client_id
    target = burst.target_list if target_list is None else target_list
    log = burst.log()

    # Nothing is still queued, running or parked, and nothing failed.
    assert host.job_counts() == {
        "queued": 0,
        "running": 0,
        "done": len(burst.events),
        "parked": 0,
        "failed": 0,
    }

    # Nothing is lost: each job has exactly one final entry, its last one, and each event id
    # exactly one that is not a duplicate delivery.
    by_job: dict[int, list[LogEntry]] = defaultdict(list)
    for entry in log:
        by_job[entry.job_id].append(entry)
    assert sorted(by_job) == sorted(burst.job_events), "a job has no log entry"
    final: dict[int, LogEntry] = {}
    for job_id, entries in by_job.items():
        finals = [entry for entry in entries if entry.status in ("synced", "skipped")]
        assert len(finals) == 1, f"job {job_id} has {len(finals)} final entries"
        assert finals[0] is entries[-1], f"job {job_id} was attempted after its final entry"
        final[job_id] = finals[0]
        event = burst.job_events[job_id]
        assert (final[job_id].event_id, final[job_id].event_type) == (event["id"], event["type"])
    firsts = Counter(
        entry.event_id for entry in final.values() if entry.reason != "duplicate_event"
    )
    assert firsts == Counter({event["id"]: 1 for event in burst.events}), (
        "an event id has no final outcome, or more than one that is not a duplicate delivery"
    )

    # Each event's final outcome is the right one.
    synced_into: dict[tuple[str, int], list[tuple[int, datetime]]] = defaultdict(list)
    for job_id, entry in sorted(final.items(), key=lambda item: item[1].id):
        event = burst.job_events[job_id]
        person, kind = person_of(event), event["type"]
        said = (entry.status, entry.reason)
        if person is None:
            assert said == ("skipped", "no_email"), (event["id"], said)
            continue
        if entry.reason == "duplicate_event":
            assert entry.status == "skipped"
            continue
        list_id = entry.outcome.get("list_id")
        assert isinstance(list_id, int), (event["id"], entry.outcome)
        # Stale is right exactly when a later event of the same person was synced first.
        later_first = any(moment > occurred(event) for _, moment in synced_into[(person, list_id)])
        if entry.status == "skipped":
            assert entry.reason == "stale_event", (event["id"], said)
            assert kind != "routing_form.submitted", (event["id"], said)
            assert later_first, f"{event['id']} was skipped as stale, but nothing later synced"
        else:
            assert entry.status == "synced", (event["id"], said)
            assert entry.reason in WRITE_REASONS[kind], (event["id"], said)
            if kind != "routing_form.submitted":
                assert not later_first, f"{event['id']} synced after a later event of {person}"
                synced_into[(person, list_id)].append((entry.id, occurred(event)))

    # The people in the target list: each once, with their latest status and mapped values.
    in_target = state.prospects(client_id, list_id=target)
    emails = Counter((prospect.email or "").casefold() for prospect in in_target)
    duplicated = sorted(email for email, count in emails.items() if count > 1)
    assert not duplicated, f"duplicated in the target list: {duplicated}"
    synced_people = {
        person
        for entry in final.values()
        if entry.status == "synced"
        and entry.outcome.get("list_id") == target
        and (person := (entry.email or "").casefold())
    }
    assert set(emails) == synced_people, "the target list and the sync log disagree"
    if everyone_in_target:
        assert synced_people == burst.people()
        everywhere = Counter(
            (prospect.email or "").casefold() for prospect in state.prospects(client_id)
        )
        assert everywhere == emails, "a person has a profile outside the target list"
    for listed in state.lists(client_id):
        counts = Counter(
            (p.email or "").casefold() for p in state.prospects(client_id, list_id=listed.id)
        )
        assert max(counts.values(), default=1) == 1, f"a person twice in list {listed.id}"
    latest = burst.latest_booking()
    into_target = defaultdict(set)
    for job_id, entry in final.items():
        if entry.status == "synced" and entry.outcome.get("list_id") == target:
            into_target[(entry.email or "").casefold()].add(burst.job_events[job_id]["type"])
    for prospect in in_target:
        person = (prospect.email or "").casefold()
        kinds = into_target[person]
        booked = any(kind != "routing_form.submitted" for kind in kinds)
        last = latest[person] if booked else None
        number = int(person.removeprefix("person").partition("@")[0])
        expected = {
            STATUS_FIELD: None if last is None else STATUS_LABELS[last["type"]],
            HOST_FIELD: None if last is None else last["booking"]["host"]["email"],
            INDUSTRY_FIELD: INDUSTRIES[number % 3] if booked and INDUSTRY_FIELD in mapped else None,
            TEAM_SIZE_FIELD: str(5 * (number + 1))
            if "routing_form.submitted" in kinds and TEAM_SIZE_FIELD in mapped
            else None,
        }
        actual = {label: prospect.custom_fields.get(label) for label in expected}
        assert actual == expected, f"the custom fields of {person} in the target list"

    assert_no_secret_anywhere(burst)


def assert_no_secret_anywhere(burst: Burst) -> None:
    """No secret in the sync log, an outcome, a job, the host's status or captured logging."""
    secrets = burst.secrets()
    assert all(len(secret) >= 16 for secret in secrets)
    texts: dict[str, str] = {}
    for entry in burst.host.sync_log(limit=None):
        texts[f"log entry {entry.id}"] = json.dumps(entry.to_json(), ensure_ascii=False)
    for job in burst.host.jobs():
        texts[f"job {job.id}"] = f"{job.last_status} {job.last_reason} {job.worker}"
    texts["host status"] = json.dumps(burst.host.status().to_json())
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for phase in ("setup", "call"):
        for number, record in enumerate(burst.logs.get_records(phase)):
            texts[f"{phase} log record {number}"] = f"{formatter.format(record)} {vars(record)}"
    leaks = [where for where, text in texts.items() if any(secret in text for secret in secrets)]
    assert not leaks, f"a secret appears in: {leaks[:5]}"


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _capture_every_log_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def shared_clock(snov_emulator: SnovEmulator, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """One virtual clock for the emulator, the host and the plugin's Snov.io clients (built
    inside the hooks without a clock, so their defaults are pointed at it)."""
    defaults = SnovClient.__init__.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "clock", snov_emulator.clock)
    monkeypatch.setitem(defaults, "sleep", snov_emulator.clock.sleep)
    return snov_emulator.clock


@pytest.fixture
def issued_tokens(snov_emulator: SnovEmulator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every access token the emulator issues in this test."""
    tokens: list[str] = []
    issue = snov_emulator.state.issue_token

    def recording(client_id: str) -> str:
        token = issue(client_id)
        tokens.append(token)
        return token

    monkeypatch.setattr(snov_emulator.state, "issue_token", recording)
    return tokens


@pytest.fixture
def absent_fields() -> tuple[str, ...]:
    """Custom fields the account lacks (a test parametrizes this)."""
    return ()


@pytest.fixture
def account(snov_emulator: SnovEmulator, absent_fields: tuple[str, ...]) -> Credentials:
    keys = snov_emulator.add_account()
    for label in CUSTOM_FIELD_LABELS:
        if label not in absent_fields:
            snov_emulator.state.add_custom_field(keys.client_id, label)
    return keys


@pytest.fixture
def target_list(snov_emulator: SnovEmulator, account: Credentials) -> int:
    return snov_emulator.state.add_list(account.client_id, "42min bookings").id


@pytest.fixture
def idle_wait(shared_clock: ManualClock) -> IdleWait:
    return IdleWait(shared_clock)


@pytest.fixture
def host(tmp_path: Path, shared_clock: ManualClock, idle_wait: IdleWait) -> Iterator[ReferenceHost]:
    # One job at a time: each event's own outcome is what these tests pin; batches, which
    # fold a person's events into one write, are tested in test_sync_batch and test_host_batch.
    with ReferenceHost(
        tmp_path / "host.db",
        clock=shared_clock,
        sleep=idle_wait,
        environ={},
        batch_size=1,
        batch_jobs=1,
    ) as made:
        yield made


@pytest.fixture
def burst(
    host: ReferenceHost,
    snov_emulator: SnovEmulator,
    account: Credentials,
    target_list: int,
    issued_tokens: list[str],
    caplog: pytest.LogCaptureFixture,
) -> Burst:
    """The burst, its host connected to the emulated account (not yet configured)."""
    made = Burst(host, snov_emulator, account, target_list, issued_tokens, caplog)
    host.connect(made.keys, ADMIN)
    return made


@pytest.fixture
def queued(burst: Burst) -> Burst:
    """The burst queued on a host with the settings saved."""
    burst.host.save_settings(settings_for(burst.target_list))
    burst.queue()
    return burst


# ---- the checks themselves -----------------------------------------------------------------


def test_without_faults_every_event_gets_the_outcome_the_help_page_promises(queued: Burst) -> None:
    summary = queued.work()
    assert summary.statuses == {"synced": 28, "skipped": 4}
    outcomes = [(entry.event_id, entry.status, entry.reason) for entry in queued.log()]
    assert outcomes == [
        ("evt-000", "synced", "prospect_added"),
        ("evt-001", "synced", "prospect_added"),
        ("evt-002", "synced", "prospect_added"),
        ("evt-003", "synced", "prospect_added"),
        ("evt-004", "skipped", "no_email"),
        ("evt-005", "synced", "status_updated"),
        ("evt-006", "synced", "prospect_added"),
        ("evt-007", "synced", "prospect_added"),
        ("evt-008", "synced", "prospect_updated"),  # after the same person's routing form
        ("evt-009", "synced", "prospect_added"),
        ("evt-010", "synced", "status_updated"),
        ("evt-011", "synced", "prospect_added"),
        ("evt-012", "synced", "prospect_added"),
        ("evt-013", "synced", "status_updated"),  # the email in another case
        ("evt-014", "synced", "prospect_added"),
        ("evt-015", "synced", "status_updated"),
        ("evt-016", "synced", "prospect_added"),
        ("evt-017", "synced", "prospect_updated"),
        ("evt-018", "skipped", "no_email"),
        ("evt-019", "synced", "prospect_added"),
        ("evt-020", "synced", "status_updated"),
        ("evt-021", "synced", "status_updated"),
        ("evt-022", "synced", "status_updated"),
        ("evt-023", "synced", "status_updated"),
        ("evt-011", "skipped", "duplicate_event"),
        ("evt-024", "synced", "prospect_updated"),
        ("evt-025", "synced", "status_updated"),
        ("evt-026", "synced", "status_updated"),
        ("evt-027", "synced", "status_updated"),  # a cancellation adds someone new
        ("evt-028", "skipped", "stale_event"),  # its booking, delivered after it
        ("evt-029", "synced", "status_updated"),
        ("evt-030", "synced", "prospect_updated"),
    ]
    assert_burst_complete(queued)
    # The common case costs one add-prospect call per synced event (the token aside).
    assert len(queued.requests(ADD)) == 28
    assert queued.requests(LOOKUP) == []


def test_the_checks_catch_a_duplicate_a_wrong_status_and_a_leaked_token(
    queued: Burst, caplog: pytest.LogCaptureFixture
) -> None:
    queued.work()
    state, client_id = queued.emulator.state, queued.account.client_id
    (jane,) = state.prospects(client_id, email=email_of(1))

    state.update_prospect(client_id, jane.id, {"custom_fields": {STATUS_FIELD: "Meeting booked"}})
    with pytest.raises(AssertionError):
        assert_burst_complete(queued)
    state.update_prospect(client_id, jane.id, {"custom_fields": {STATUS_FIELD: "No-show"}})
    assert_burst_complete(queued)

    logging.getLogger("test").debug("sent %s", queued.tokens[0])
    with pytest.raises(AssertionError, match="a secret appears in"):
        assert_burst_complete(queued)
    caplog.clear()

    state.create_prospect(client_id, queued.target_list, {"email": email_of(1)})
    with pytest.raises(AssertionError, match="duplicated in the target list"):
        assert_burst_complete(queued)


# ---- the faults ----------------------------------------------------------------------------


def test_bursts_of_server_errors_defer_events_until_snov_recovers(queued: Burst) -> None:
    state, secret = queued.emulator.state, queued.account.client_secret

    def echoing_server_errors() -> None:
        # Snov.io's error text echoes what it was sent: the scrubbing is put to the test.
        token = queued.tokens[-1]
        state.configure(texts={"server_error": f"Internal error (token {token}, secret {secret})"})
        state.fail_next(7, status=503, path=ADD)  # two events' retries, then one more

    def any_endpoint_failing() -> None:
        state.fail_next(2, status=500)
        state.fail_next(3, status=502)

    queued.work({4: echoing_server_errors, 15: any_endpoint_failing})

    assert state.pending_faults() == []
    assert len(queued.entries(status="deferred", reason="snov_unavailable")) == 3
    assert [r.status for r in queued.requests() if r.status and r.status >= 500] == [503] * 7 + [
        500,
        500,
        502,
        502,
        502,
    ]
    assert_burst_complete(queued)


def test_dropped_connections_lose_nothing(queued: Burst) -> None:
    state = queued.emulator.state
    queued.work(
        {
            3: lambda: state.drop_next(5, path=ADD),
            12: lambda: state.drop_next(4),
            20: lambda: state.drop_next(3, path=ADD),
        }
    )
    assert state.pending_faults() == []
    dropped = [request.path for request in queued.requests() if request.status is None]
    assert len(dropped) == 12
    assert queued.entries(status="deferred", reason="snov_unavailable")
    assert_burst_complete(queued)


def test_responses_slower_than_the_timeout_are_retried_without_duplicates(
    queued: Burst, snov_emulator: SnovEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_flight = InFlight(snov_emulator, monkeypatch)
    state = snov_emulator.state
    # Four slow answers in a row: a new person's add times out on every in-place try and
    # is deferred, the next event's update times out once. Snov.io still carries out each
    # write it answers too late; here each has landed before the next event starts (a
    # write landing after a later event is
    # test_a_write_that_lands_late_does_not_undo_a_later_status).
    queued.work(
        {
            7: slow_answers(snov_emulator, monkeypatch, 4, late_by=2 * SLOW_TIMEOUT),
            9: usual_timeout(monkeypatch),
        },
        after_each=lambda _: in_flight.wait_until_none(),
    )
    assert state.pending_faults() == []
    assert len(queued.entries(status="deferred", reason="snov_unavailable")) == 1
    # The deferred add had landed: its retry looked the person up instead of adding again.
    (deferred,) = queued.entries(status="deferred")
    assert [entry.reason for entry in queued.log() if entry.job_id == deferred.job_id] == [
        "snov_unavailable",
        "prospect_added",
    ]
    assert [request.body["email"] for request in queued.requests(LOOKUP)] == [deferred.email]
    assert_burst_complete(queued)


def test_a_write_that_lands_late_does_not_undo_a_later_status(
    burst: Burst,
    snov_emulator: SnovEmulator,
    idle_wait: IdleWait,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in_flight = InFlight(snov_emulator, monkeypatch)
    # Whenever the worker waits, the writes still under way land first.
    idle_wait.first = in_flight.wait_until_none
    story = Story()
    story.booking(0, "booking.created")
    story.booking(0, "booking.rescheduled")
    story.booking(0, "booking.canceled")
    burst.events = story.events
    burst.host.save_settings(settings_for(burst.target_list))
    burst.queue()
    # Every try of the reschedule's status write times out; Snov.io carries the writes
    # out later. Today: the cancellation syncs right after the reschedule is deferred, the
    # late writes then set the status back to "Meeting rescheduled", and the reschedule's
    # retry is skipped as stale.
    burst.work(
        {
            1: slow_answers(snov_emulator, monkeypatch, 3, late_by=LATE_LANDING),
            2: usual_timeout(monkeypatch),
        }
    )
    in_flight.wait_until_none()
    assert_burst_complete(burst)


def test_a_token_that_expires_mid_burst_is_renewed_without_deferring_anything(
    queued: Burst, shared_clock: ManualClock
) -> None:
    state = queued.emulator.state
    issued_before = len(queued.tokens)
    queued.work(
        {
            8: lambda: state.expire_tokens(queued.account.client_id),  # Snov.io ends it early
            20: lambda: shared_clock.advance(3600),  # its hour is up
        }
    )
    assert len(queued.tokens) == issued_before + 2
    assert [request.status for request in queued.requests() if request.status == 401] == [401]
    assert {entry.attempt for entry in queued.log()} == {1}
    assert_burst_complete(queued)


def test_credentials_revoked_mid_burst_park_events_until_reconnected(queued: Burst) -> None:
    state, client_id = queued.emulator.state, queued.account.client_id
    queued.work({9: lambda: state.revoke_credentials(client_id)})
    parked = queued.host.job_counts()["parked"]
    assert parked == queued.host.status().parked["credentials"] > 10
    rejected = queued.entries(status="failed", reason="credentials_rejected")
    assert len(rejected) == parked
    assert {entry.blocked_on for entry in rejected} == {"credentials"}

    state.restore_credentials(client_id)
    assert queued.host.connect(queued.keys, ADMIN).requeued == parked
    queued.work()
    assert_burst_complete(queued)


def test_a_target_list_deleted_mid_burst_parks_events_until_a_new_list_is_chosen(
    queued: Burst,
) -> None:
    state, client_id = queued.emulator.state, queued.account.client_id
    queued.work({10: lambda: state.delete_list(client_id, queued.target_list)})
    parked = queued.host.status().parked["settings"]
    missing = queued.entries(status="failed", reason="list_not_found")
    assert len(missing) == parked > 10
    assert all(str(queued.target_list) in entry.message for entry in missing)

    created = queued.host.run_settings_action("create_list", {"name": "42min bookings (new)"})
    saved = queued.host.save_settings(settings_for(created["id"]))
    assert saved.requeued == parked
    queued.work()
    assert_burst_complete(queued, target_list=created["id"], everyone_in_target=False)
    # Everyone whose events waited is in the new list, each once.
    waited = {(entry.email or "").casefold() for entry in missing}
    new_list = state.prospects(client_id, list_id=created["id"])
    assert {(prospect.email or "").casefold() for prospect in new_list} == waited


@pytest.mark.parametrize("absent_fields", [(TEAM_SIZE_FIELD,)])
@pytest.mark.parametrize("fix", ["create the field", "remove the mapping row"])
def test_a_missing_mapped_custom_field_parks_its_events_until_the_mapping_is_fixed(
    burst: Burst, fix: str
) -> None:
    # The field is missing from the start: the settings were saved while Snov.io could not
    # list the custom fields, which the plugin accepts with a warning. Snov.io then refuses
    # every write naming the field.
    state, client_id = burst.emulator.state, burst.account.client_id
    state.fail_next(3, status=503, path=CUSTOM_FIELDS)
    saved = burst.host.save_settings(settings_for(burst.target_list))
    assert any("could not be checked" in warning for warning in saved.warnings)
    burst.queue()
    burst.work()
    parked = burst.host.status().parked["settings"]
    missing = burst.entries(status="failed", reason="custom_field_not_found")
    assert len(missing) == parked == 5  # the routing-form submissions with an email
    assert all(f"'{TEAM_SIZE_FIELD}'" in entry.message for entry in missing)
    assert {entry.event_type for entry in missing} == {"routing_form.submitted"}

    if fix == "create the field":
        state.add_custom_field(client_id, TEAM_SIZE_FIELD)
        saved = burst.host.save_settings(settings_for(burst.target_list))
        mapped: tuple[str, ...] = (INDUSTRY_FIELD, TEAM_SIZE_FIELD)
    else:
        saved = burst.host.save_settings(settings_for(burst.target_list, team_size_row=False))
        mapped = (INDUSTRY_FIELD,)
    assert (saved.warnings, saved.requeued) == ([], parked)
    burst.work()
    assert_burst_complete(burst, mapped=mapped)


def test_a_mapped_custom_field_deleted_mid_burst_parks_its_events_until_it_is_back(
    queued: Burst,
) -> None:
    # (Removing the mapping row instead is the fix tested above; here values written before
    # the deletion stay on the prospects, as in Snov.io.)
    state, client_id = queued.emulator.state, queued.account.client_id
    queued.work({4: lambda: state.delete_custom_field(client_id, TEAM_SIZE_FIELD)})
    parked = queued.host.status().parked["settings"]
    missing = queued.entries(status="failed", reason="custom_field_not_found")
    assert len(missing) == parked > 0
    assert all(f"'{TEAM_SIZE_FIELD}'" in entry.message for entry in missing)

    state.add_custom_field(client_id, TEAM_SIZE_FIELD)
    saved = queued.host.save_settings(settings_for(queued.target_list))
    assert saved.requeued == parked
    queued.work()
    assert_burst_complete(queued, mapped=(INDUSTRY_FIELD, TEAM_SIZE_FIELD))


class Neighbour:
    """Another tool on the same Snov.io account that knows nothing of the rate limit.

    It storms between two of the worker's attempts rather than from a thread, so the storm
    lands at a known point of the burst and the test does not depend on thread timing.
    """

    def __init__(self, emulator: SnovEmulator, keys: Mapping[str, str]) -> None:
        self.http = httpx.Client(base_url=emulator.base_url, timeout=5.0)
        answer = self.http.post(
            TOKEN,
            json={
                "grant_type": "client_credentials",
                "client_id": keys["api_user_id"],
                "client_secret": keys["api_secret"],
            },
        )
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def storm(self, requests: int) -> None:
        for _ in range(requests):
            self.http.get(BALANCE)

    def close(self) -> None:
        self.http.close()


def test_a_429_storm_from_another_client_on_the_account_loses_nothing(
    queued: Burst, snov_emulator: SnovEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Snov.io's real limit, which the plugin paces itself to; the other client does not.
    snov_emulator.set_rate_limit(60, window=60.0)
    monkeypatch.setenv(RATE_LIMIT_ENV, "60")
    neighbour = Neighbour(snov_emulator, queued.keys)

    def storm() -> None:
        # The other client spends the account's whole minute, twice over.
        neighbour.storm(120)

    try:
        queued.work({20: storm})
    finally:
        neighbour.close()

    ours = [request for request in queued.requests() if request.path != BALANCE]
    assert any(request.status == 429 for request in ours)
    assert queued.entries(status="deferred", reason="rate_limited")
    assert_burst_complete(queued)

"""The Snov.io demo: a seeded Snov.io emulator, the settings an admin would save, a
realistic burst of events, and :func:`run_demo`, the one driver that plays it on a
reference host. ``fortytwomin-snov demo`` narrates it (:mod:`fortytwomin_snov.commands`);
``serve --demo`` runs it quietly through the reference host's ``demo_session`` hook
(:func:`demo_session`).

Everything stays on this machine: the emulator listens on 127.0.0.1, and the plugin is
pointed at it through ``FORTYTWOMIN_SNOV_API_BASE`` for as long as
:func:`demo_environment` is open. The demo raises the rate limit (the emulator's, and the
pace of the plugin's client through ``FORTYTWOMIN_SNOV_RATE_LIMIT``) so that it finishes in
seconds; Snov.io itself allows :data:`SNOV_RATE_LIMIT` requests a minute.

This module stays whole (about 450 lines, most of it the burst's events): the scenario's data
and its driver change together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fortytwomin_snov.contract.errors import IntegrationError

if TYPE_CHECKING:
    from fortytwomin_snov.host.reference import ReferenceHost, WorkSummary
    from fortytwomin_snov.testing.state import EmulatorState

API_BASE_ENV = "FORTYTWOMIN_SNOV_API_BASE"
RATE_LIMIT_ENV = "FORTYTWOMIN_SNOV_RATE_LIMIT"

SNOV_RATE_LIMIT = 60
"""Requests a minute Snov.io allows an account."""
DEMO_RATE_LIMIT = 6000
"""Requests a minute the demo's emulator allows, and the pace of the plugin's client."""

DEMO_ACTOR: dict[str, str] = {"id": "demo-admin", "role": "admin"}
DEMO_LIST_NAME = "42min demo bookings"
STATUS_FIELD = "Meeting status"
HOST_EMAIL_FIELD = "Host email"
COMPANY_SIZE_FIELD = "Company size"
"""Custom fields of the emulator's demo account (see ``fortytwomin_snov.testing.demo``)."""

COMPANY_QUESTION = "invitee_form_question:company"
EMPLOYEES_FIELD = "routing_form_field:employees"
COMPANY_SIZE_TARGET = f"prospect.cf_{COMPANY_SIZE_FIELD}"
DEMO_NURTURE_CAMPAIGN = "Webinar nurture"
DEMO_LEAD = "existing.lead@example.com"
"""The demo account's Active campaign, and the lead in another list who books."""

DEMO_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    (COMPANY_QUESTION, "Which company are you with?", "Intro call"),
    (EMPLOYEES_FIELD, "How many people work there?", "Demo request"),
    ("routing_form_field:interests", "What are you interested in?", "Demo request"),
    ("invitee_form_question:team_size", "How big is your team?", "Intro call"),
)
"""(source, label, form): the labels the demo registers for its forms' questions, so the
settings page offers mapping sources by label."""


@dataclass(frozen=True)
class DemoEnvironment:
    """The running emulator the demo talks to."""

    base_url: str
    credentials: dict[str, str]
    """The demo account's ``api_user_id`` and ``api_secret`` (published demo values)."""
    state: EmulatorState
    rate_limit: int

    def api_calls(self) -> int:
        """Snov.io API requests the emulator has answered so far."""
        return len(self.state.requests())


@dataclass(frozen=True)
class DemoProspect:
    """A prospect in the emulated list, as the demo shows it."""

    email: str
    name: str
    company: str
    meeting_status: str
    host_email: str
    company_size: str


@contextmanager
def demo_environment(rate_limit: int = DEMO_RATE_LIMIT) -> Iterator[DemoEnvironment]:
    """Serve the emulator, seeded with the demo account, on an ephemeral 127.0.0.1 port,
    and point the plugin at it (the environment is restored on exit)."""
    try:
        from fortytwomin_snov.testing.demo import seed_demo
        from fortytwomin_snov.testing.options import EmulatorOptions
        from fortytwomin_snov.testing.server import EmulatorServer
        from fortytwomin_snov.testing.state import EmulatorState
    except ImportError as error:
        raise IntegrationError(
            f"The demo runs the Snov.io emulator, which needs {error.name or 'its extra'}:"
            " pip install 'fortytwomin-snov[host]'"
        ) from None
    state = EmulatorState(EmulatorOptions(rate_limit=rate_limit))
    keys = seed_demo(state)
    with (
        EmulatorServer(state) as server,
        _environment({API_BASE_ENV: server.base_url, RATE_LIMIT_ENV: str(rate_limit)}),
    ):
        yield DemoEnvironment(
            base_url=server.base_url,
            credentials={"api_user_id": keys.client_id, "api_secret": keys.client_secret},
            state=state,
            rate_limit=rate_limit,
        )


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def demo_settings(list_id: int) -> dict[str, Any]:
    """What the admin saves: the new list, the status and host fields, routing forms on,
    and two mapping rows of their own (the locked email, name and phone rows are put back
    by the plugin)."""
    return {
        "target_list_id": list_id,
        "triggers": {"routing_form_submitted": True},
        "lifecycle_status_field": STATUS_FIELD,
        "host_email_field": HOST_EMAIL_FIELD,
        "field_mappings": [
            {"source": COMPANY_QUESTION, "target": "prospect.company"},
            {"source": EMPLOYEES_FIELD, "target": COMPANY_SIZE_TARGET},
        ],
        # Someone a campaign is still emailing books: the emails stop until a cancel.
        "outreach_on_booking": {"action": "pause", "resume_on_cancel": True},
    }


@dataclass(frozen=True)
class DemoEvent:
    """One event of the burst, and what it shows."""

    event: dict[str, Any]
    shows: str


def demo_events(now: datetime | None = None) -> list[DemoEvent]:
    """The burst, in delivery order: bookings, a reschedule, a cancel and a no-show,
    routing-form submissions, events without an email, a mistyped email, a duplicate
    delivery, and a reschedule delivered after the later cancel of its booking."""
    base = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)

    def at(minutes_ago: int) -> str:
        return _stamp(base - timedelta(minutes=minutes_ago))

    def meeting(days: int, hour: int) -> tuple[str, str]:
        start = (base + timedelta(days=days)).replace(hour=hour, minute=0)
        return _stamp(start), _stamp(start + timedelta(minutes=30))

    maria = {"email": "maria@acme.example", "name": "Maria Lopez"}
    tom = {"email": "tom@acme.example", "name": "Tom Becker"}

    def booking(
        number: int,
        kind: str,
        minutes_ago: int,
        uid: str,
        invitee: dict[str, Any],
        *,
        host: dict[str, str],
        day: int = 2,
        answers: dict[str, str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        start, end = meeting(day, 15)
        return {
            "id": f"evt_demo_{number:02d}",
            "type": kind,
            "occurred_at": at(minutes_ago),
            "booking": {
                "uid": uid,
                "start": start,
                "end": end,
                "timezone": "Europe/Berlin",
                "event_type": {"id": "et_intro30", "title": "Intro call"},
                "host": host,
                "invitee": invitee,
                "answers": answers or {},
                **extra,
            },
        }

    def form(
        number: int, minutes_ago: int, respondent: dict[str, Any], employees: str
    ) -> dict[str, Any]:
        return {
            "id": f"evt_demo_{number:02d}",
            "type": "routing_form.submitted",
            "occurred_at": at(minutes_ago),
            "routing_form": {
                "form_id": "rf_demo_request",
                "submission_id": f"sub_demo_{number:02d}",
                "fields": {"employees": employees, "interests": ["crm", "calendar"]},
                "respondent": respondent,
            },
        }

    jane = {"email": "jane.doe@example.com", "name": "Jane Doe", "phone": "+4915123456789"}
    sam = {"email": "sam@example.org", "first_name": "Sam", "last_name": "Patel"}
    alex = {"email": "alex.kim@example.net", "name": "Alex Kim"}
    jane_booked = booking(
        1,
        "booking.created",
        55,
        "bk_jane",
        jane,
        host=maria,
        answers={"company": "Example GmbH"},
    )
    return [
        DemoEvent(jane_booked, "a booking: Jane is added with her company and host"),
        DemoEvent(
            booking(
                2,
                "booking.created",
                53,
                "bk_sam",
                sam,
                host=tom,
                answers={"company": "Patel & Co"},
            ),
            "a booking",
        ),
        DemoEvent(
            form(3, 51, {"email": "lee@example.co.uk", "name": "Lee Chen"}, "45"),
            "a routing-form submission: the company size goes to a custom field",
        ),
        DemoEvent(
            booking(
                4,
                "booking.created",
                49,
                "bk_existing",
                {"email": "existing.lead@example.com", "name": "Existing Lead"},
                host=maria,
            ),
            "a booking by someone already in another Snov.io list",
        ),
        DemoEvent(
            form(5, 47, {"email": None, "name": "Anonymous visitor"}, "10"),
            "a routing-form submission without an email: skipped",
        ),
        DemoEvent(
            booking(6, "booking.created", 45, "bk_walkin", {"name": "Walk-in guest"}, host=tom),
            "a booking without an email: skipped",
        ),
        DemoEvent(
            booking(7, "booking.created", 43, "bk_dana", {"email": "dana@example"}, host=tom),
            "a booking with a mistyped email: failed, in the log",
        ),
        DemoEvent(
            booking(8, "booking.created", 41, "bk_alex", alex, host=maria, day=3),
            "a booking",
        ),
        DemoEvent(jane_booked, "the first booking delivered a second time: a duplicate"),
        DemoEvent(
            booking(
                9,
                "booking.rescheduled",
                30,
                "bk_jane",
                jane,
                host=maria,
                day=4,
                previous_start=meeting(2, 15)[0],
            ),
            "Jane reschedules: her meeting status changes",
        ),
        DemoEvent(
            booking(
                10,
                "booking.canceled",
                20,
                "bk_alex",
                alex,
                host=maria,
                day=5,
                cancel_reason="Found another slot with a colleague.",
            ),
            "Alex cancels",
        ),
        DemoEvent(
            booking(
                11,
                "booking.rescheduled",
                25,
                "bk_alex",
                alex,
                host=maria,
                day=5,
                previous_start=meeting(3, 15)[0],
            ),
            "Alex's earlier reschedule, delivered after the cancel: not applied",
        ),
        DemoEvent(
            booking(12, "booking.no_show", 10, "bk_sam", sam, host=tom),
            "Sam does not show up",
        ),
        DemoEvent(
            booking(
                13,
                "booking.created",
                8,
                "bk_priya",
                {"email": "priya@example.in", "name": "Priya Sharma"},
                host=tom,
                answers={"company": "Sharma Labs"},
            ),
            "a booking",
        ),
        DemoEvent(
            form(14, 5, {"email": "jane.doe@example.com", "name": "Jane Doe"}, "120"),
            "Jane fills in a routing form: her prospect is updated",
        ),
    ]


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def demo_prospects(environment: DemoEnvironment, list_id: int) -> list[DemoProspect]:
    """The prospects now in the emulated list, oldest first."""
    client_id = environment.credentials["api_user_id"]
    found = environment.state.prospects(client_id, list_id=list_id)
    return [
        DemoProspect(
            email=prospect.email or "",
            name=prospect.name,
            company=prospect.company_name,
            meeting_status=_text(prospect.custom_fields.get(STATUS_FIELD)),
            host_email=_text(prospect.custom_fields.get(HOST_EMAIL_FIELD)),
            company_size=_text(prospect.custom_fields.get(COMPANY_SIZE_FIELD)),
        )
        for prospect in found
    ]


def _text(value: object) -> str:
    return "" if value is None else str(value)


# ---- the driver ---------------------------------------------------------------------------


class DemoNarrator:
    """What :func:`run_demo` tells as it goes; this one tells nothing (``serve --demo``).
    ``fortytwomin-snov demo`` narrates each step on the terminal."""

    def step(self, title: str) -> None:
        """A step starts."""

    def connected(self, record: Mapping[str, Any]) -> None:
        """Connected with the demo keys (``record`` without its secret)."""

    def lists(self, form: Mapping[str, Any]) -> None:
        """The settings form, rendered with the account's lists."""

    def list_created(self, created: Mapping[str, Any]) -> None:
        """The demo's list was created."""

    def settings_saved(self, document: Mapping[str, Any], warnings: Sequence[str]) -> None:
        """The demo settings were saved."""

    def events_queued(self, burst: Sequence[DemoEvent]) -> None:
        """The burst was queued."""

    def work(self, host: ReferenceHost) -> WorkSummary:
        """Work the queue until it is empty."""
        return host.work(until_empty=True)

    def worked(self, host: ReferenceHost, summary: WorkSummary, calls: int) -> None:
        """The queue is empty; ``calls`` Snov.io API calls were made."""


@dataclass(frozen=True)
class DemoResult:
    list_id: int
    summary: WorkSummary


def require_fresh(host: ReferenceHost) -> None:
    """IntegrationError unless the host's database holds nothing of this integration."""
    current = host.status()
    if current.connected or current.settings_saved or any(current.jobs.values()):
        raise IntegrationError(
            f"The demo needs a database of its own: {host.database.shown} already holds a"
            " connection, settings or jobs (leave out --db to use a temporary one)"
        )


def run_demo(
    host: ReferenceHost, environment: DemoEnvironment, narrator: DemoNarrator | None = None
) -> DemoResult:
    """Fill a fresh database: connect with the demo keys, create a plain list, save the demo
    settings, queue the demo burst and sync it."""
    tell = narrator or DemoNarrator()
    require_fresh(host)
    tell.step("Connect with the demo keys")
    connected = host.connect(environment.credentials, DEMO_ACTOR)
    tell.connected(connected.record)
    tell.step("The account's lists")
    tell.lists(host.settings_schema())
    tell.step("Create a list for the bookings")
    created = host.run_settings_action("create_list", {"name": DEMO_LIST_NAME})
    list_id = int(created["id"])
    tell.list_created(created)
    for source, label, form in DEMO_QUESTIONS:
        host.add_question(source, label, form)
    tell.step("Save the settings")
    document = demo_settings(list_id)
    saved = host.save_settings(document)
    tell.settings_saved(document, saved.warnings)
    _enrol_demo_lead(environment)
    tell.step("Send a burst of events")
    burst = demo_events()
    host.enqueue_many([item.event for item in burst])
    tell.events_queued(burst)
    tell.step("Work the queue")
    calls_before = environment.api_calls()
    # Each demo event shows one rule of the help page: worked one at a time, none is folded
    # into a later event's write as a batch would.
    sizes = host.batch_size, host.batch_jobs
    host.batch_size, host.batch_jobs = 1, 1
    try:
        summary = tell.work(host)
    finally:
        host.batch_size, host.batch_jobs = sizes
    tell.worked(host, summary, environment.api_calls() - calls_before)
    return DemoResult(list_id=list_id, summary=summary)


def _enrol_demo_lead(environment: DemoEnvironment) -> None:
    """The lead already in another list is also a recipient of the Active "Webinar nurture"
    campaign (added by hand), so their booking shows the outreach being paused."""
    state = environment.state
    client_id = environment.credentials["api_user_id"]
    for campaign in state.campaigns(client_id):
        if campaign.name == DEMO_NURTURE_CAMPAIGN:
            state.enrol(client_id, campaign.id, DEMO_LEAD)


@contextmanager
def demo_session(host: ReferenceHost, echo: Callable[[str], None]) -> Iterator[None]:
    """What ``serve --demo`` runs: the emulator, and ``host`` filled by :func:`run_demo`."""
    require_fresh(host)
    with demo_environment() as environment:
        result = run_demo(host, environment)
        done = ", ".join(
            f"{count} {status}" for status, count in sorted(result.summary.statuses.items())
        )
        keys = environment.credentials
        echo(
            f"Demo: the Snov.io emulator serves a demo account on {environment.base_url};"
            " nothing leaves this machine. The rate limit is raised so that the demo runs in"
            " seconds."
        )
        echo(
            "This demo runs its own emulator and database, apart from any earlier"
            " `fortytwomin-snov demo`: the lists, prospects and sync log that run showed are"
            " not the ones here."
        )
        echo(
            f"Connected with the demo keys, created the list {DEMO_LIST_NAME!r}, saved the"
            f" settings and synced the demo burst ({done})."
        )
        echo(
            "To connect again after Disconnect, use the demo keys: API user ID"
            f" {keys['api_user_id']}, API secret {keys['api_secret']} (published demo values)."
        )
        yield

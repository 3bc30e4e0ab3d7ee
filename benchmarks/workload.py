"""What the benchmarks share: a reproducible burst of events, the seeded Snov.io account,
the settings an admin saves, and a description of the machine.

Not a benchmark itself: ``burst.py`` and ``overhead.py`` import it (they run as scripts, so
this folder is on ``sys.path``).
"""

from __future__ import annotations

import math
import os
import platform
import random
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fortytwomin_snov.testing.records import Credentials
from fortytwomin_snov.testing.state import EmulatorState

STATUS_FIELD = "Meeting status"
ADMIN: dict[str, str] = {"id": "bench-admin", "role": "admin"}
BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent

Case = Literal["new", "elsewhere", "further"]
"""Why an event costs what it does: a person first seen (``new``), first seen but already
in another Snov.io list (``elsewhere``), or seen before in the burst (``further``)."""

_FIRST_NAMES = ("Jane", "Sam", "Lee", "Alex", "Priya", "Tom", "Maria", "Noah", "Aiko", "Omar")
_LAST_NAMES = ("Doe", "Patel", "Chen", "Kim", "Sharma", "Becker", "Lopez", "Berg", "Sato", "Haddad")
_DOMAINS = ("example.com", "example.org", "example.net", "acme.example", "corp.example")
_STATUS_EVENTS = ("booking.rescheduled", "booking.canceled", "booking.no_show")


@dataclass
class _Person:
    email: str
    name: str
    booking_uid: str | None = None
    booking_open: bool = False
    """A booking that can still be rescheduled, canceled or marked no-show."""


@dataclass(frozen=True)
class Workload:
    """A burst of events, in delivery order, and what each one is."""

    events: list[dict[str, Any]]
    cases: list[Case]
    elsewhere_emails: list[str]
    """People already in another list of the account before the burst."""
    final_status: dict[str, str | None] = field(default_factory=dict)
    """Each person's status once every event is applied (None: never booked)."""

    def case_counts(self) -> dict[str, int]:
        counts = {"new": 0, "elsewhere": 0, "further": 0}
        for case in self.cases:
            counts[case] += 1
        return counts

    def type_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in self.events:
            counts[event["type"]] = counts.get(event["type"], 0) + 1
        return dict(sorted(counts.items()))

    @property
    def emails(self) -> list[str]:
        return list(self.final_status)


STATUS_LABELS = {
    "booking.created": "Meeting booked",
    "booking.canceled": "Meeting canceled",
    "booking.rescheduled": "Meeting rescheduled",
    "booking.no_show": "No-show",
}
"""The plugin's default status labels (the settings keep them)."""


def make_workload(
    count: int,
    *,
    seed: int,
    further_share: float = 0.2,
    elsewhere_share: float = 0.02,
    form_share: float = 0.25,
) -> Workload:
    """``count`` events: first contacts (bookings, and routing forms ``form_share`` of the
    time), and about ``further_share`` of further events for people already seen
    (reschedules, cancellations, no-shows, another booking or form). ``elsewhere_share``
    of the new people are already in another Snov.io list. Same seed, same burst."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    base = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    people: list[_Person] = []
    events: list[dict[str, Any]] = []
    cases: list[Case] = []
    elsewhere: list[str] = []
    final: dict[str, str | None] = {}
    bookings = 0

    def new_booking(person: _Person) -> str:
        nonlocal bookings
        bookings += 1
        person.booking_uid = f"bk-{seed}-{bookings:06d}"
        person.booking_open = True
        return person.booking_uid

    for index in range(count):
        occurred = base + timedelta(seconds=index)
        event_id = f"evt-{seed}-{index:06d}"
        if people and rng.random() < further_share:
            person = rng.choice(people)
            cases.append("further")
            if person.booking_open and rng.random() < 0.8:
                kind = rng.choice(_STATUS_EVENTS)
                if kind != "booking.rescheduled":
                    person.booking_open = False
            else:
                kind = "booking.created" if rng.random() < 0.75 else "routing_form.submitted"
        else:
            number = len(people) + 1
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            email = f"{first}.{last}.{number}@{rng.choice(_DOMAINS)}".lower()
            person = _Person(email=email, name=f"{first} {last}")
            people.append(person)
            final[email] = None
            if rng.random() < elsewhere_share:
                elsewhere.append(email)
                cases.append("elsewhere")
            else:
                cases.append("new")
            kind = "routing_form.submitted" if rng.random() < form_share else "booking.created"
        if kind == "routing_form.submitted":
            events.append(_form_event(event_id, occurred, person, index, rng))
            continue
        uid = new_booking(person) if kind == "booking.created" else person.booking_uid
        assert uid is not None
        events.append(_booking_event(event_id, kind, occurred, person, uid, rng))
        final[person.email] = STATUS_LABELS[kind]
    return Workload(events=events, cases=cases, elsewhere_emails=elsewhere, final_status=final)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _booking_event(
    event_id: str,
    kind: str,
    occurred: datetime,
    person: _Person,
    uid: str,
    rng: random.Random,
) -> dict[str, Any]:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 24 * 20))
    booking: dict[str, Any] = {
        "uid": uid,
        "start": _stamp(start),
        "end": _stamp(start + timedelta(minutes=30)),
        "timezone": "Europe/Berlin",
        "event_type": {"id": "et_intro30", "title": "Intro call"},
        "host": {"email": "maria@acme.example", "name": "Maria Lopez"},
        "invitee": {"email": person.email, "name": person.name},
        "answers": {"company": f"{person.name.split()[1]} GmbH"},
    }
    if kind == "booking.canceled":
        booking["cancel_reason"] = "Found another slot."
    return {"id": event_id, "type": kind, "occurred_at": _stamp(occurred), "booking": booking}


def _form_event(
    event_id: str, occurred: datetime, person: _Person, index: int, rng: random.Random
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "routing_form.submitted",
        "occurred_at": _stamp(occurred),
        "routing_form": {
            "form_id": "rf_demo_request",
            "submission_id": f"sub-{index:06d}",
            "fields": {"employees": str(rng.choice((5, 20, 45, 120, 800)))},
            "respondent": {"email": person.email, "name": person.name},
        },
    }


@dataclass(frozen=True)
class SeededAccount:
    credentials: Credentials
    target_list_id: int
    other_list_id: int

    @property
    def keys(self) -> dict[str, str]:
        return {
            "api_user_id": self.credentials.client_id,
            "api_secret": self.credentials.client_secret,
        }


def seed_account(state: EmulatorState, workload: Workload) -> SeededAccount:
    """An account with the status field, an empty target list, and another list that
    already holds the workload's ``elsewhere`` people."""
    credentials = state.add_account()
    client_id = credentials.client_id
    state.add_custom_field(client_id, STATUS_FIELD)
    target = state.add_list(client_id, "42min bookings")
    other = state.add_list(client_id, "Cold outreach")
    for email in workload.elsewhere_emails:
        state.create_prospect(client_id, other.id, {"email": email, "first_name": "Existing"})
    return SeededAccount(credentials, target.id, other.id)


def settings_document(list_id: int) -> dict[str, Any]:
    """What the admin saves: the target list, routing forms on, the status field."""
    return {
        "target_list_id": list_id,
        "triggers": {"routing_form_submitted": True},
        "lifecycle_status_field": STATUS_FIELD,
        "field_mappings": [
            {"source": "invitee_form_question:company", "target": "prospect.company"},
        ],
    }


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block (worker processes inherit them)."""
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


def machine() -> dict[str, Any]:
    """Where a result is measured, and the commit checked out; call it as the run starts."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit or None,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def portable(path: Path) -> str:
    """A path as results may record it: relative to the checkout, or the bare name."""
    resolved = path.resolve()
    root = BENCHMARKS.parent.resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else path.name


def command_line(script: str, argv: Sequence[str]) -> str:
    """The command a result records: its paths made portable (an ``--out`` in /tmp must
    not write a machine's path into a committed file)."""
    words = [".venv/bin/python", f"benchmarks/{script}"]
    for word in argv:
        option, equals, value = word.rpartition("=") if word.startswith("--") else ("", "", word)
        if value.startswith(os.sep):
            value = portable(Path(value))
        words.append(f"{option}{equals}{value}")
    return " ".join(words)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(share * len(ordered))))
    return ordered[rank - 1]

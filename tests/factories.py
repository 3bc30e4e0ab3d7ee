"""Events as the host receives them, for the tests: booking events and routing-form
submissions as JSON dicts, the shape ``schema/booking-event.schema.json`` publishes.

Every builder returns a new dict, so a test may change what it gets (to make an event
invalid, say) without touching another's. ``tests/test_factories.py`` holds every builder
to the published schema.

Events are numbered: event ``n`` has the id ``evt-n``, is about booking ``bk-n`` (or
submission ``sub-n``) and happened ``n`` minutes after 2025-03-14T09:00:00Z, so events
numbered in order happened in that order. Keyword arguments change any of it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

BOOKING_KINDS: Final = (
    "booking.created",
    "booking.canceled",
    "booking.rescheduled",
    "booking.no_show",
)
"""The ``type`` of a booking event; ``routing_form.submitted`` is the one other type."""
ROUTING_FORM_KIND: Final = "routing_form.submitted"

FIRST_MOMENT: Final = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
"""When event 0 happened; event ``n`` happened ``n`` minutes later."""
START: Final = "2025-03-20T15:00:00+01:00"
END: Final = "2025-03-20T15:30:00+01:00"
TIMEZONE: Final = "Europe/Berlin"
INVITEE_EMAIL: Final = "jane@example.com"
INVITEE_NAME: Final = "Jane Doe"
RESPONDENT_EMAIL: Final = "lee@example.com"
RESPONDENT_NAME: Final = "Lee Chen"
FORM_ID: Final = "rf_demo"


def _copy(value: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(value))


def at_minute(minute: int) -> str:
    """The RFC 3339 time ``minute`` minutes after 2025-03-14T09:00:00Z, in UTC with a ``Z``:
    ``at_minute(5) == "2025-03-14T09:05:00Z"``."""
    return (FIRST_MOMENT + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def booking_event(
    number: int = 1,
    email: str | None = INVITEE_EMAIL,
    *,
    kind: str = "booking.created",
    event_id: str | None = None,
    occurred_at: str | None = None,
    uid: str | None = None,
    name: str | None = INVITEE_NAME,
    invitee: Mapping[str, Any] | None = None,
    answers: Mapping[str, Any] | None = None,
    host: Mapping[str, Any] | None = None,
    event_type: Mapping[str, Any] | None = None,
    start: str = START,
    end: str = END,
    timezone: str = TIMEZONE,
    previous_start: str | None = None,
    cancel_reason: str | None = None,
) -> dict[str, Any]:
    """A booking event (``kind``: one of :data:`BOOKING_KINDS`) numbered ``number``.

    The invitee is ``{"email": email, "name": name}`` (``None`` is sent as null), unless
    ``invitee`` gives the whole object. ``answers``, ``host``, ``event_type``,
    ``previous_start`` and ``cancel_reason`` are left out when ``None``.
    """
    booking: dict[str, Any] = {
        "uid": f"bk-{number}" if uid is None else uid,
        "start": start,
        "end": end,
        "timezone": timezone,
    }
    if event_type is not None:
        booking["event_type"] = _copy(event_type)
    if host is not None:
        booking["host"] = _copy(host)
    booking["invitee"] = {"email": email, "name": name} if invitee is None else _copy(invitee)
    if answers is not None:
        booking["answers"] = _copy(answers)
    if previous_start is not None:
        booking["previous_start"] = previous_start
    if cancel_reason is not None:
        booking["cancel_reason"] = cancel_reason
    return {
        "id": f"evt-{number}" if event_id is None else event_id,
        "type": kind,
        "occurred_at": at_minute(number) if occurred_at is None else occurred_at,
        "booking": booking,
    }


def routing_form_event(
    number: int = 1,
    email: str | None = RESPONDENT_EMAIL,
    *,
    event_id: str | None = None,
    occurred_at: str | None = None,
    form_id: str = FORM_ID,
    submission_id: str | None = None,
    name: str | None = RESPONDENT_NAME,
    respondent: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``routing_form.submitted`` event numbered ``number``.

    The respondent is ``{"email": email, "name": name}`` (``None`` is sent as null), unless
    ``respondent`` gives the whole object. ``fields`` is left out when ``None``.
    """
    submission: dict[str, Any] = {
        "form_id": form_id,
        "submission_id": f"sub-{number}" if submission_id is None else submission_id,
    }
    if fields is not None:
        submission["fields"] = _copy(fields)
    submission["respondent"] = (
        {"email": email, "name": name} if respondent is None else _copy(respondent)
    )
    return {
        "id": f"evt-{number}" if event_id is None else event_id,
        "type": ROUTING_FORM_KIND,
        "occurred_at": at_minute(number) if occurred_at is None else occurred_at,
        "routing_form": submission,
    }


def jsonl(*events: Mapping[str, Any]) -> str:
    """The events as JSON Lines: one event a line, each line ending in a newline."""
    return "".join(json.dumps(event) + "\n" for event in events)

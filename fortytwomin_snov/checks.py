"""The edge checks of one event (``check_event``): what ``on_booking_event`` fails an event
for (``invalid_event``), found before the event is queued.

The same functions :func:`fortytwomin_snov.sync.sync_event` applies, in its order: text
that cannot be sent as UTF-8, the event schema, an ``occurred_at`` far in the future, and an
email that is not an address (:data:`fortytwomin_snov.rules.EMAIL`).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.contract.models import (
    EVENT_ADAPTER,
    BookingEvent,
    UtcClock,
    broken_text,
    future_problem,
    utc_now,
)
from fortytwomin_snov.mapping import Event, person_of
from fortytwomin_snov.rules import EMAIL
from fortytwomin_snov.schemas import field_errors


def event_problems(event_document: Any, *, now: UtcClock = utc_now) -> list[FieldError]:
    """Every reason ``on_booking_event`` would answer ``invalid_event``; empty if none."""
    broken = broken_text(event_document)
    if broken is not None:
        return [broken]
    try:
        event: Event = EVENT_ADAPTER.validate_python(event_document)
    except ValidationError as exc:
        return field_errors(exc)
    problems: list[FieldError] = []
    ahead = future_problem(event.occurred_at, now())
    if ahead is not None:
        problems.append(ahead)
    email = person_of(event).email
    if email is not None and not EMAIL.fullmatch(email):
        pointer = (
            "/booking/invitee/email"
            if isinstance(event, BookingEvent)
            else "/routing_form/respondent/email"
        )
        problems.append(FieldError(pointer=pointer, message="Is not an email address."))
    return problems

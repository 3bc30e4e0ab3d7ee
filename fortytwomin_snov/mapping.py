"""Event and settings in, the prospect fields to write to Snov.io out.

Pure: no I/O. The locked rows fill email, name and phone from the person the event is
about (a booking's invitee, a routing form's respondent); the admin's rows fill standard
prospect fields and custom fields from booking-form answers or routing-form fields; the
lifecycle status field and the host email field are written when the settings name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fortytwomin_snov.contract.models import BookingEvent, RoutingFormEvent
from fortytwomin_snov.settings.model import CUSTOM_TARGET_PREFIX, TARGET_PREFIX, Settings
from fortytwomin_snov.snov import ProspectFields

STATUS_OF_EVENT: dict[str, str] = {
    "booking.created": "created",
    "booking.canceled": "canceled",
    "booking.rescheduled": "rescheduled",
    "booking.no_show": "no_show",
}
"""Which status label each booking event writes into the lifecycle status field."""

TRIGGER_OF_EVENT: dict[str, str] = {
    "booking.created": "booking_created",
    "booking.canceled": "booking_canceled",
    "booking.rescheduled": "booking_rescheduled",
    "booking.no_show": "booking_no_show",
    "routing_form.submitted": "routing_form_submitted",
}

STATUS_ONLY_EVENTS = frozenset({"booking.canceled", "booking.rescheduled", "booking.no_show"})
"""Events that only change the meeting status: they need a lifecycle status field."""

# A standard target's name in Snov.io's add-prospect-to-list body.
_SNOV_FIELD = {
    "email": "email",
    "name": "fullName",
    "firstName": "firstName",
    "lastName": "lastName",
    "company": "companyName",
    "companySite": "companySite",
    "position": "position",
    "country": "country",
    "locality": "locality",
}

Event = BookingEvent | RoutingFormEvent


@dataclass(frozen=True)
class Person:
    """Who an event is about."""

    email: str | None
    name: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def person_of(event: Event) -> Person:
    if isinstance(event, RoutingFormEvent):
        respondent = event.routing_form.respondent
        return Person(
            email=_clean(respondent.email),
            name=_clean(respondent.name),
            first_name=None,
            last_name=None,
            phone=_clean(respondent.phone),
        )
    invitee = event.booking.invitee
    first, last = _clean(invitee.first_name), _clean(invitee.last_name)
    name = _clean(invitee.name) or _clean(" ".join(part for part in (first, last) if part))
    return Person(
        email=_clean(invitee.email),
        name=name,
        first_name=first,
        last_name=last,
        phone=_clean(invitee.phone),
    )


def _answer(answers: dict[str, str | list[str]], key: str) -> str | None:
    value = answers.get(key)
    if isinstance(value, list):
        return _clean(", ".join(item.strip() for item in value if item.strip()))
    return _clean(value)


def _source_value(source: str, person: Person, event: Event) -> str | None:
    kind, _, key = source.partition(":")
    if kind == "invitee_form_question":
        return _answer(event.booking.answers, key) if isinstance(event, BookingEvent) else None
    if kind == "routing_form_field":
        return (
            _answer(event.routing_form.fields, key) if isinstance(event, RoutingFormEvent) else None
        )
    return {"person.email": person.email, "person.name": person.name, "person.phone": person.phone}[
        source
    ]


def status_label(event: Event, settings: Settings) -> str | None:
    """The words the event writes into the lifecycle field (None for routing forms)."""
    status = STATUS_OF_EVENT.get(event.type)
    return None if status is None else str(getattr(settings.status_labels, status))


def _meeting_fields(event: Event, settings: Settings) -> dict[str, str]:
    """The custom fields every booking event writes: the status and the host's email."""
    custom: dict[str, str] = {}
    label = status_label(event, settings)
    if settings.lifecycle_status_field is not None and label is not None:
        custom[settings.lifecycle_status_field] = label
    if settings.host_email_field is not None and isinstance(event, BookingEvent):
        host_email = _clean(event.booking.host.email) if event.booking.host else None
        if host_email is not None:
            custom[settings.host_email_field] = host_email
    return custom


def prospect_fields(event: Event, settings: Settings) -> ProspectFields:
    """Everything the event and the mapping say about the person, for adding or refreshing.

    The event must carry an email (the sync skips events without one first).
    """
    person = person_of(event)
    body: dict[str, Any] = {}
    phones: list[str] = []
    social: dict[str, str] = {}
    custom: dict[str, str] = {}
    if person.first_name:
        body["firstName"] = person.first_name
    if person.last_name:
        body["lastName"] = person.last_name
    for row in settings.field_mappings:
        value = _source_value(row.source, person, event)
        if value is None:
            continue
        if row.target.startswith(CUSTOM_TARGET_PREFIX):
            custom[row.target.removeprefix(CUSTOM_TARGET_PREFIX)] = value
            continue
        field = row.target.removeprefix(TARGET_PREFIX)
        if field == "phone":
            if value not in phones:
                phones.append(value)
        elif field == "linkedIn":
            social["linkedIn"] = value
        else:
            body[_SNOV_FIELD[field]] = value
    if phones:
        body["phones"] = phones
    if social:
        body["socialLinks"] = social
    custom.update(_meeting_fields(event, settings))
    if custom:
        body["customFields"] = custom
    body["email"] = person.email
    return ProspectFields.model_validate(body)


def status_fields(event: Event, settings: Settings) -> ProspectFields:
    """Only the meeting's status and host, for a person already in the list."""
    person = person_of(event)
    custom = _meeting_fields(event, settings)
    return ProspectFields.model_validate(
        {"email": person.email, **({"customFields": custom} if custom else {})}
    )

"""mapping.py: which prospect fields an event and the settings produce (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from fortytwomin_snov.contract.models import BOOKING_EVENT_TYPES, EVENT_ADAPTER, EVENT_TYPES
from fortytwomin_snov.mapping import (
    STATUS_ONLY_EVENTS,
    TRIGGER_OF_EVENT,
    Event,
    Person,
    person_of,
    prospect_fields,
    status_fields,
    status_label,
)
from fortytwomin_snov.settings.model import Settings
from tests.factories import booking_event, routing_form_event

LOCKED = [
    {"source": "person.email", "target": "prospect.email", "locked": True},
    {"source": "person.name", "target": "prospect.name", "locked": True},
    {"source": "person.phone", "target": "prospect.phone", "locked": True},
]


def booking(
    kind: str = "booking.created",
    *,
    invitee: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None,
    host: dict[str, Any] | None = None,
) -> Event:
    """A booking event as the plugin reads it; the invitee has only an email unless given."""
    return EVENT_ADAPTER.validate_python(
        booking_event(
            kind=kind,
            invitee={"email": "jane@example.com"} if invitee is None else invitee,
            answers=answers,
            host=host,
        )
    )


def submission(
    *, respondent: dict[str, Any] | None = None, fields: dict[str, Any] | None = None
) -> Event:
    """A routing-form submission as the plugin reads it; the respondent has only an email
    unless given."""
    return EVENT_ADAPTER.validate_python(
        routing_form_event(
            respondent={"email": "lee@example.com"} if respondent is None else respondent,
            fields=fields,
        )
    )


def settings(*rows: dict[str, Any], **changes: Any) -> Settings:
    return Settings.model_validate(
        {"target_list_id": 7, "field_mappings": [*LOCKED, *rows], **changes}
    )


def body(event: Event, config: Settings) -> dict[str, Any]:
    return prospect_fields(event, config).to_api()


# ---- person_of -------------------------------------------------------------------------


def test_invitee_is_the_person_with_every_value_trimmed() -> None:
    event = booking(
        invitee={
            "email": "  jane@example.com ",
            "name": " Jane Q. Doe ",
            "first_name": " Jane",
            "last_name": "Doe ",
            "phone": " +4915123456789 ",
        }
    )
    assert person_of(event) == Person(
        email="jane@example.com",
        name="Jane Q. Doe",
        first_name="Jane",
        last_name="Doe",
        phone="+4915123456789",
    )


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"first_name": "Jane", "last_name": "Doe"}, "Jane Doe"),
        ({"name": "  ", "first_name": "Jane", "last_name": "Doe"}, "Jane Doe"),
        ({"first_name": "Jane"}, "Jane"),
        ({"first_name": " ", "last_name": "Doe"}, "Doe"),
        ({"name": "J. Doe", "first_name": "Jane", "last_name": "Doe"}, "J. Doe"),
        ({}, None),
        ({"name": " ", "first_name": "", "last_name": None}, None),
    ],
)
def test_invitee_name_falls_back_to_first_and_last_name(
    names: dict[str, Any], expected: str | None
) -> None:
    assert person_of(booking(invitee={"email": "jane@example.com", **names})).name == expected


@pytest.mark.parametrize("email", [None, "", "   "])
def test_a_blank_email_is_no_email(email: str | None) -> None:
    assert person_of(booking(invitee={"email": email, "name": "Jane"})).email is None
    assert person_of(submission(respondent={"email": email})).email is None


def test_respondent_is_the_person_of_a_routing_form_without_split_names() -> None:
    event = submission(respondent={"email": " lee@example.com", "name": "Lee Chen", "phone": "  "})
    assert person_of(event) == Person(
        email="lee@example.com", name="Lee Chen", first_name=None, last_name=None, phone=None
    )


# ---- prospect_fields -------------------------------------------------------------------


def test_locked_rows_send_email_name_and_phone_and_the_split_names() -> None:
    event = booking(
        invitee={
            "email": "jane@example.com",
            "first_name": "Jane",
            "last_name": "Doe",
            "phone": "+4915123456789",
        }
    )
    assert body(event, settings()) == {
        "email": "jane@example.com",
        "fullName": "Jane Doe",
        "firstName": "Jane",
        "lastName": "Doe",
        "phones": ["+4915123456789"],
    }


def test_only_the_email_when_the_person_has_nothing_else() -> None:
    assert body(booking(), settings()) == {"email": "jane@example.com"}


def test_answers_fill_standard_fields_under_snov_names() -> None:
    rows = [
        {"source": f"invitee_form_question:{key}", "target": f"prospect.{target}"}
        for key, target in [
            ("company", "company"),
            ("site", "companySite"),
            ("role", "position"),
            ("country", "country"),
            ("city", "locality"),
        ]
    ]
    answers = {
        "company": "Example GmbH",
        "site": "https://example.com",
        "role": "CTO",
        "country": "Germany",
        "city": "Berlin",
    }
    assert body(booking(answers=answers), settings(*rows)) == {
        "email": "jane@example.com",
        "companyName": "Example GmbH",
        "companySite": "https://example.com",
        "position": "CTO",
        "country": "Germany",
        "locality": "Berlin",
    }


def test_list_answers_are_joined_and_blank_items_dropped() -> None:
    rows = [{"source": "invitee_form_question:topics", "target": "prospect.cf_Topics"}]
    event = booking(answers={"topics": ["pricing", " ", " integrations "]})
    assert body(event, settings(*rows))["customFields"] == {"Topics": "pricing, integrations"}


@pytest.mark.parametrize("blank", ["", "   ", [], ["", "  "]])
def test_blank_answers_are_not_sent(blank: str | list[str]) -> None:
    rows = [
        {"source": "invitee_form_question:company", "target": "prospect.company"},
        {"source": "invitee_form_question:company", "target": "prospect.cf_Company"},
    ]
    assert body(booking(answers={"company": blank}), settings(*rows)) == {
        "email": "jane@example.com"
    }


def test_unanswered_questions_are_not_sent() -> None:
    rows = [{"source": "invitee_form_question:missing", "target": "prospect.position"}]
    assert body(booking(answers={"other": "x"}), settings(*rows)) == {"email": "jane@example.com"}


def test_phones_from_several_rows_are_kept_in_order_without_duplicates() -> None:
    rows = [
        {"source": "invitee_form_question:mobile", "target": "prospect.phone"},
        {"source": "invitee_form_question:office", "target": "prospect.phone"},
    ]
    event = booking(
        invitee={"email": "jane@example.com", "phone": "+491"},
        answers={"mobile": " +491 ", "office": "+492"},
    )
    assert body(event, settings(*rows))["phones"] == ["+491", "+492"]


def test_linkedin_goes_to_social_links() -> None:
    rows = [{"source": "invitee_form_question:li", "target": "prospect.linkedIn"}]
    event = booking(answers={"li": "https://linkedin.com/in/jane"})
    assert body(event, settings(*rows)) == {
        "email": "jane@example.com",
        "socialLinks": {"linkedIn": "https://linkedin.com/in/jane"},
    }


def test_custom_targets_are_written_by_their_label() -> None:
    rows = [
        {"source": "invitee_form_question:size", "target": "prospect.cf_Team size"},
        {"source": "person.phone", "target": "prospect.cf_Phone (booking)"},
    ]
    event = booking(invitee={"email": "jane@example.com", "phone": "+491"}, answers={"size": "50"})
    assert body(event, settings(*rows))["customFields"] == {
        "Team size": "50",
        "Phone (booking)": "+491",
    }


def test_person_rows_may_fill_other_standard_fields() -> None:
    rows = [{"source": "person.name", "target": "prospect.position"}]
    event = booking(invitee={"email": "jane@example.com", "name": "Jane Doe"})
    assert body(event, settings(*rows))["position"] == "Jane Doe"


def test_routing_form_fields_fill_a_respondent() -> None:
    rows = [
        {"source": "routing_form_field:company", "target": "prospect.company"},
        {"source": "routing_form_field:interests", "target": "prospect.cf_Interests"},
    ]
    event = submission(
        respondent={"email": "lee@example.com", "name": "Lee Chen", "phone": "+441"},
        fields={"company": "Example Ltd", "interests": ["crm", "calendar"]},
    )
    assert body(event, settings(*rows)) == {
        "email": "lee@example.com",
        "fullName": "Lee Chen",
        "phones": ["+441"],
        "companyName": "Example Ltd",
        "customFields": {"Interests": "crm, calendar"},
    }


def test_rows_whose_source_does_not_fit_the_event_are_ignored() -> None:
    rows = [
        {"source": "invitee_form_question:company", "target": "prospect.company"},
        {"source": "routing_form_field:company", "target": "prospect.cf_Form company"},
    ]
    config = settings(*rows)
    on_booking = booking(answers={"company": "From booking"})
    on_form = submission(fields={"company": "From form"})
    assert body(on_booking, config) == {"email": "jane@example.com", "companyName": "From booking"}
    assert body(on_form, config) == {
        "email": "lee@example.com",
        "customFields": {"Form company": "From form"},
    }


# ---- the meeting's status and host -----------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "default", "custom"),
    [
        ("booking.created", "Meeting booked", "Gebucht"),
        ("booking.canceled", "Meeting canceled", "Abgesagt"),
        ("booking.rescheduled", "Meeting rescheduled", "Verschoben"),
        ("booking.no_show", "No-show", "Nicht erschienen"),
    ],
)
def test_status_label_per_booking_event(kind: str, default: str, custom: str) -> None:
    event = booking(kind)
    assert status_label(event, settings()) == default
    labels = {
        "created": "Gebucht",
        "canceled": "Abgesagt",
        "rescheduled": "Verschoben",
        "no_show": "Nicht erschienen",
    }
    assert status_label(event, settings(status_labels=labels)) == custom


def test_a_routing_form_has_no_status_label() -> None:
    assert status_label(submission(), settings(lifecycle_status_field="Status")) is None


def test_booking_writes_status_and_host_email_when_the_fields_are_chosen() -> None:
    config = settings(lifecycle_status_field="Meeting status", host_email_field="Host")
    event = booking(host={"email": " maria@acme.example ", "name": "Maria"})
    assert body(event, config)["customFields"] == {
        "Meeting status": "Meeting booked",
        "Host": "maria@acme.example",
    }


def test_no_status_or_host_without_the_fields() -> None:
    event = booking(host={"email": "maria@acme.example"})
    assert "customFields" not in body(event, settings())


@pytest.mark.parametrize("host", [None, {"email": "  "}])
def test_no_host_email_when_the_booking_has_none(host: dict[str, Any] | None) -> None:
    config = settings(lifecycle_status_field="Meeting status", host_email_field="Host")
    assert body(booking(host=host), config)["customFields"] == {"Meeting status": "Meeting booked"}


def test_a_routing_form_writes_neither_status_nor_host_email() -> None:
    config = settings(lifecycle_status_field="Meeting status", host_email_field="Host")
    assert "customFields" not in body(submission(), config)
    assert status_fields(submission(), config).to_api() == {"email": "lee@example.com"}


def test_the_status_wins_over_an_answer_mapped_to_the_same_field() -> None:
    rows = [{"source": "invitee_form_question:stage", "target": "prospect.cf_Meeting status"}]
    config = settings(*rows, lifecycle_status_field="Meeting status")
    event = booking(answers={"stage": "Hot lead"})
    assert body(event, config)["customFields"] == {"Meeting status": "Meeting booked"}


def test_status_fields_hold_only_the_email_status_and_host() -> None:
    config = settings(
        {"source": "invitee_form_question:company", "target": "prospect.company"},
        lifecycle_status_field="Meeting status",
        host_email_field="Host",
    )
    event = booking(
        "booking.canceled",
        invitee={"email": "jane@example.com", "name": "Jane", "phone": "+491"},
        answers={"company": "Example"},
        host={"email": "maria@acme.example"},
    )
    assert status_fields(event, config).to_api() == {
        "email": "jane@example.com",
        "customFields": {"Meeting status": "Meeting canceled", "Host": "maria@acme.example"},
    }


# ---- tables --------------------------------------------------------------------------


def test_every_event_type_has_a_trigger_and_only_booking_changes_are_status_only() -> None:
    assert set(TRIGGER_OF_EVENT) == set(EVENT_TYPES)
    assert set(TRIGGER_OF_EVENT.values()) == set(Settings().triggers.model_dump())
    assert set(BOOKING_EVENT_TYPES) - STATUS_ONLY_EVENTS == {"booking.created"}
    assert set(BOOKING_EVENT_TYPES) > STATUS_ONLY_EVENTS

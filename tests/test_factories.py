"""The shared event builders (tests/factories.py) against the published event schema, so
they cannot drift from the contract the tests mean to exercise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fortytwomin_snov.contract.models import EVENT_ADAPTER
from fortytwomin_snov.schemas import load_schema
from tests.factories import (
    BOOKING_KINDS,
    at_minute,
    booking_event,
    jsonl,
    routing_form_event,
)

EVERY_FIELD: dict[str, Any] = {
    "answers": {"company": "Example GmbH", "topics": ["pricing", "integrations"]},
    "host": {"email": "maria@acme.example", "name": "Maria Lopez"},
    "event_type": {"id": "et_intro30", "title": "Intro call"},
    "previous_start": "2025-03-19T15:00:00+01:00",
    "cancel_reason": "Found another slot.",
}

EVENTS = {
    **{f"{kind} (defaults)": booking_event(kind=kind) for kind in BOOKING_KINDS},
    **{
        f"{kind} (every field)": booking_event(7, kind=kind, **EVERY_FIELD)
        for kind in BOOKING_KINDS
    },
    "booking without an email": booking_event(2, None, name=None),
    "booking with a whole invitee": booking_event(
        3,
        invitee={"email": "sam@example.org", "first_name": "Sam", "last_name": "Patel"},
        event_id="evt-web-3",
        uid="bk-web-3",
        occurred_at="2025-03-14T12:45:07+00:00",
        start="2025-03-21T10:00:00Z",
        end="2025-03-21T10:30:00Z",
        timezone="UTC",
    ),
    "booking at a late minute": booking_event(125),
    "routing form (defaults)": routing_form_event(),
    "routing form with fields": routing_form_event(
        4, fields={"team-size": "11-50", "interests": ["crm", "calendar"]}, form_id="rf_1"
    ),
    "routing form without an email": routing_form_event(5, None, name=None),
    "routing form with a whole respondent": routing_form_event(
        6, respondent={"email": "lee@example.co.uk", "phone": None}, submission_id="sub_1"
    ),
}


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(
        load_schema("booking-event"), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize("event", EVENTS.values(), ids=EVENTS.keys())
def test_every_factory_builds_an_event_the_published_schema_accepts(
    event: dict[str, Any], validator: Draft202012Validator
) -> None:
    assert [error.message for error in validator.iter_errors(event)] == []
    assert EVENT_ADAPTER.validate_python(event).type == event["type"]


def test_numbered_events_happen_in_order_under_their_own_ids() -> None:
    first, second = booking_event(1), booking_event(2)
    assert (first["id"], first["booking"]["uid"]) == ("evt-1", "bk-1")
    assert (second["id"], second["booking"]["uid"]) == ("evt-2", "bk-2")
    assert first["occurred_at"] == at_minute(1) == "2025-03-14T09:01:00Z"
    assert at_minute(59) < at_minute(60) == "2025-03-14T10:00:00Z"
    assert routing_form_event(3)["routing_form"]["submission_id"] == "sub-3"


def test_each_call_builds_a_new_event() -> None:
    answers = {"topics": ["pricing"]}
    event = booking_event(answers=answers)
    event["booking"]["answers"]["topics"].append("changed")
    event["booking"]["invitee"]["email"] = "changed@example.com"
    assert answers == {"topics": ["pricing"]}
    assert booking_event(answers=answers) != event


def test_jsonl_writes_one_event_a_line() -> None:
    events = [booking_event(1), routing_form_event(2)]
    text = jsonl(*events)
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == events

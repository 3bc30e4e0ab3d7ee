"""``check_event``: what ``on_booking_event`` would fail an event for, found before it is
queued, through a real PluginManager. Each refusal here is the same event failing
``invalid_event`` when synced."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest

from fortytwomin_snov.contract.store import MemoryStore
from tests.factories import booking_event, routing_form_event

CONNECTION = {
    "integration": "snov",
    "api_user_id": "user-1",
    "api_secret": "s3cr3t-VALUE-0123456789",
    "connected_at": "2025-03-14T09:30:00Z",
    "connected_by": "admin-1",
}

SETTINGS = {"target_list_id": 1, "triggers": {"routing_form_submitted": True}}


def check(hook: pluggy.HookRelay, event: Any) -> list[dict[str, Any]]:
    found = hook.check_event(integration="snov", event=event, host=None)
    assert isinstance(found, list)
    return found


def test_a_good_event_has_no_problem_and_other_slugs_get_none(hook: pluggy.HookRelay) -> None:
    assert check(hook, booking_event(1)) == []
    assert check(hook, routing_form_event(1)) == []
    assert hook.check_event(integration="hubspot", event={}, host=None) is None


@pytest.mark.parametrize(
    ("event", "pointer", "message"),
    [
        (booking_event(1, "jane"), "/booking/invitee/email", "Is not an email address."),
        (
            routing_form_event(1, "lee@example"),
            "/routing_form/respondent/email",
            "Is not an email address.",
        ),
        (booking_event(1, occurred_at="2999-01-01T00:00:00Z"), "/occurred_at", "future"),
        (booking_event(1, "jane\ud800@example.com"), "/booking/invitee/email", ""),
        ({**booking_event(1), "type": "booking.moved"}, "/type", ""),
    ],
)
def test_each_edge_check_of_the_sync_is_found_before_queueing(
    hook: pluggy.HookRelay, event: dict[str, Any], pointer: str, message: str
) -> None:
    problems = check(hook, event)
    assert [problem["pointer"] for problem in problems] == [pointer]
    assert message in problems[0]["message"]
    # The sync fails the same event for the same reason.
    outcome = hook.on_booking_event(
        integration="snov",
        connection=CONNECTION,
        settings=SETTINGS,
        event=event,
        host=type("Host", (), {"store": MemoryStore()})(),
    )
    assert (outcome["status"], outcome["reason"]) == ("failed", "invalid_event")
    assert pointer in outcome["message"]


def test_a_missing_field_is_said_once_with_one_period(hook: pluggy.HookRelay) -> None:
    event = booking_event(1)
    del event["booking"]["uid"]
    assert check(hook, event) == [{"pointer": "/booking/uid", "message": "This field is required."}]
    outcome = hook.on_booking_event(
        integration="snov",
        connection=CONNECTION,
        settings=SETTINGS,
        event=event,
        host=type("Host", (), {"store": MemoryStore()})(),
    )
    assert outcome["message"] == "The event is not valid: /booking/uid: This field is required."

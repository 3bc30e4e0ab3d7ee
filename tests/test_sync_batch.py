"""on_booking_events: a batch in, one Snov.io write per person, one outcome per event.

With strict pytest-httpx (every request must be registered, with its exact JSON body),
through a real PluginManager; the plugin's shared client is the process's one per account.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pluggy
import pytest
from pytest_httpx import HTTPXMock

from fortytwomin_snov import account as account_module
from fortytwomin_snov import hooks as hooks_module
from fortytwomin_snov.contract import hookspecs
from fortytwomin_snov.contract.hookspecs import hookimpl
from fortytwomin_snov.snov import limiter
from tests.test_sync import (
    ADD,
    API,
    HOST_EMAIL,
    HOST_FIELD,
    JANE,
    JANE_DETAILS,
    OUTCOME_SCHEMA,
    STATUS_FIELD,
    TOPICS_FIELD,
    UPDATED,
    Host,
    Sync,
    booking_event,
    expect_add,
    expect_token,
    host,  # noqa: F401 - a fixture
    invitee_of,
    mocked,  # noqa: F401 - a fixture
)

SAM = "sam@example.com"
LEE = "lee@example.com"


def batch(sync: Sync, events: list[dict[str, Any]], **changes: Any) -> list[dict[str, Any]]:
    """``on_booking_events`` by name, each outcome checked against the published schema."""
    outcomes = sync.hook.on_booking_events(
        integration="snov",
        connection=changes.get("connection", sync.connection),
        settings=changes.get("settings", sync.settings),
        events=events,
        host=sync.host,
    )
    assert isinstance(outcomes, list)
    assert len(outcomes) == len(events)
    for outcome, event in zip(outcomes, events, strict=True):
        jsonschema.validate(outcome, OUTCOME_SCHEMA)
        assert outcome["event_id"] == event["id"]
    return outcomes


def person(email: str, name: str = "Sam Roe") -> dict[str, Any]:
    first, last = name.split()
    return invitee_of(email, name=name, first_name=first, last_name=last, phone=None)


def details(email: str, name: str = "Sam Roe") -> dict[str, Any]:
    first, last = name.split()
    return {
        "email": email,
        "fullName": name,
        "firstName": first,
        "lastName": last,
        "companyName": "Example GmbH",
        "position": "CTO",
    }


MEETING = {HOST_FIELD: HOST_EMAIL, TOPICS_FIELD: "pricing, integrations"}


def test_one_write_per_person_with_the_latest_status_and_newest_details(
    mocked: Sync,  # noqa: F811
    httpx_mock: HTTPXMock,
) -> None:
    expect_token(httpx_mock)
    # Jane: booked, then (newer details) canceled: one add with both.
    expect_add(
        httpx_mock,
        {
            **JANE_DETAILS,
            "position": "CEO",
            "customFields": {**MEETING, STATUS_FIELD: "Meeting canceled"},
        },
    )
    # Sam: one booking.
    expect_add(
        httpx_mock,
        {**details(SAM), "customFields": {**MEETING, STATUS_FIELD: "Meeting booked"}},
    )
    newer = {"company": "Example GmbH", "role": "CEO", "topics": ["pricing", "integrations"]}
    events = [
        booking_event(event_id="jane-1", at="2025-03-14T09:00:00Z"),
        booking_event(event_id="sam-1", invitee=person(SAM), at="2025-03-14T09:01:00Z"),
        # Delivered out of order: the cancel happened after the booking.
        booking_event(
            "booking.canceled", event_id="jane-2", at="2025-03-14T10:00:00Z", answers=newer
        ),
    ]
    outcomes = batch(mocked, events)
    assert [(o["event_id"], o["status"], o["reason"]) for o in outcomes] == [
        ("jane-1", "synced", "merged_into_batch"),
        ("sam-1", "synced", "prospect_added"),
        ("jane-2", "synced", "prospect_added"),
    ]
    assert "jane-2" in outcomes[0]["message"]
    assert len(httpx_mock.get_requests(url=f"{API}{ADD}")) == 2


def test_every_mark_is_recorded_so_a_later_single_event_is_a_duplicate(
    mocked: Sync,  # noqa: F811
    httpx_mock: HTTPXMock,
) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, {**JANE_DETAILS, "customFields": {**MEETING, STATUS_FIELD: "No-show"}})
    first = booking_event(event_id="jane-1", at="2025-03-14T09:00:00Z")
    second = booking_event("booking.no_show", event_id="jane-2", at="2025-03-14T11:00:00Z")
    outcomes = batch(mocked, [first, second, first])  # the first delivered twice
    assert [(o["status"], o["reason"]) for o in outcomes] == [
        ("synced", "merged_into_batch"),
        ("synced", "prospect_added"),
        ("skipped", "duplicate_event"),
    ]
    # Delivered again, alone or in a batch: nothing is sent.
    assert mocked(first)["reason"] == "duplicate_event"
    assert [o["reason"] for o in batch(mocked, [second, first])] == ["duplicate_event"] * 2
    # The person is known now: a later status is one updateContact with only the status.
    expect_add(
        httpx_mock,
        {
            "email": JANE,
            "customFields": {HOST_FIELD: HOST_EMAIL, STATUS_FIELD: "Meeting rescheduled"},
            "updateContact": True,
        },
        reply=UPDATED,
    )
    later = booking_event("booking.rescheduled", at="2025-03-14T12:00:00Z")
    assert [o["reason"] for o in batch(mocked, [later])] == ["status_updated"]


def test_a_5xx_on_the_third_person_keeps_the_first_two_and_defers_the_rest(
    mocked: Sync,  # noqa: F811
    httpx_mock: HTTPXMock,
) -> None:
    expect_token(httpx_mock)
    names = [("a@example.com", "Ann Ash"), ("b@example.com", "Bob Birch")]
    for email, name in names:
        expect_add(
            httpx_mock,
            {**details(email, name), "customFields": {**MEETING, STATUS_FIELD: "Meeting booked"}},
        )
    for _ in range(3):  # every attempt of the client's retries
        httpx_mock.add_response(method="POST", url=f"{API}{ADD}", status_code=503)
    events = [
        booking_event(event_id=f"e{index}", invitee=person(email, name))
        for index, (email, name) in enumerate(
            [*names, ("c@example.com", "Cat Cole"), ("d@example.com", "Dan Dale")]
        )
    ]
    events.append(booking_event(event_id="e4", invitee=person("a@example.com", "Ann Ash")))
    outcomes = batch(mocked, events)
    assert [(o["status"], o["reason"]) for o in outcomes] == [
        ("synced", "merged_into_batch"),  # Ann's first event rode on her newest one
        ("synced", "prospect_added"),
        ("deferred", "snov_unavailable"),
        ("deferred", "snov_unavailable"),  # not tried: Snov.io was failing
        ("synced", "prospect_added"),
    ]
    assert outcomes[3]["email"] == "d@example.com"
    assert len(httpx_mock.get_requests(url=f"{API}{ADD}")) == 5
    # The deferred events are free to run again: their retry is no duplicate.
    expect_add(
        httpx_mock,
        {
            **details("d@example.com", "Dan Dale"),
            "customFields": {**MEETING, STATUS_FIELD: "Meeting booked"},
        },
    )
    assert [o["reason"] for o in batch(mocked, [events[3]])] == ["prospect_added"]


def test_bad_events_and_skips_answer_in_place_without_a_request(
    mocked: Sync,  # noqa: F811
    httpx_mock: HTTPXMock,
) -> None:
    no_email = booking_event(invitee=invitee_of(None))
    broken: dict[str, Any] = {"id": "bad-1", "type": "booking.moved"}
    outcomes = batch(mocked, [no_email, broken])
    assert [(o["status"], o["reason"]) for o in outcomes] == [
        ("skipped", "no_email"),
        ("failed", "invalid_event"),
    ]
    settings_broken = batch(mocked, [booking_event()], settings={"target_list_id": "x"})
    assert settings_broken[0]["reason"] == "invalid_settings"
    assert batch(mocked, []) == []


def test_not_ours_is_none(hook: pluggy.HookRelay) -> None:
    answer = hook.on_booking_events(
        integration="hubspot", connection={}, settings={}, events=[], host=Host()
    )
    assert answer is None


def test_two_events_reuse_one_client_and_a_new_secret_gets_another(
    mocked: Sync,  # noqa: F811
    httpx_mock: HTTPXMock,
) -> None:
    account_module.CLIENTS.close_all()
    built = account_module.CLIENTS.built
    expect_token(httpx_mock)
    for _ in (JANE, SAM):
        httpx_mock.add_response(
            method="POST", url=f"{API}{ADD}", json={"success": True, "id": "p1", "added": True}
        )
    mocked(booking_event())
    mocked(booking_event(invitee=person(SAM)))
    assert account_module.CLIENTS.built == built + 1
    changed = {**mocked.connection, "api_secret": "another-secret-value"}
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/v1/oauth/access_token",
        json={"access_token": "U" * 40, "token_type": "Bearer", "expires_in": 3600},
    )
    httpx_mock.add_response(
        method="POST", url=f"{API}{ADD}", json={"success": True, "id": "p2", "added": True}
    )
    mocked(booking_event(invitee=person(LEE, "Lee Chen")), connection=changed)
    assert account_module.CLIENTS.built == built + 2
    # Disconnecting closes the account's clients.
    mocked.hook.disconnect(integration="snov", connection=changed, host=mocked.host)
    assert all(key[1] != changed["api_user_id"] for key in account_module.CLIENTS._clients)


# ---- a plugin without the batch hook -----------------------------------------------------------


class SingleOnly:
    """A plugin of the contract that implements only on_booking_event."""

    @hookimpl
    def on_booking_event(self, integration: str, event: dict[str, Any]) -> dict[str, Any] | None:
        if integration != "echo":
            return None
        return {
            "event_id": event["id"],
            "event_type": event["type"],
            "integration": "echo",
            "status": "synced",
            "reason": "echoed",
            "message": "Echoed.",
        }


def test_a_plugin_without_the_batch_hook_answers_none_there() -> None:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(SingleOnly(), name="echo")
    assert not manager.hook.on_booking_events.get_hookimpls()
    answer = manager.hook.on_booking_events(
        integration="echo", connection={}, settings={}, events=[booking_event()], host=None
    )
    assert answer is None


@pytest.fixture(autouse=True)
def _fresh_clients() -> None:
    """Each test starts with no kept-alive client, so request counts are its own."""
    account_module.CLIENTS.close_all()


@pytest.mark.parametrize(
    ("origins", "backfilled"),
    [(["backfill", "backfill"], True), (["backfill", None], False), ([None], False)],
    ids=["all-backfill", "mixed", "live"],
)
def test_a_call_of_backfilled_events_only_leaves_the_live_share_of_the_rate_limit(
    hook: pluggy.HookRelay,
    monkeypatch: pytest.MonkeyPatch,
    origins: list[str | None],
    backfilled: bool,
) -> None:
    seen: list[bool] = []

    def recording(*_: Any) -> list[dict[str, Any]]:
        seen.append(limiter.backfilling_now())
        return [
            {"event_id": event["id"], "integration": "snov", "status": "synced", "reason": "x"}
            for event in events
        ]

    monkeypatch.setattr(hooks_module, "sync_events", recording)
    monkeypatch.setattr(hooks_module, "sync_event", lambda *_: recording()[0])
    events = [
        {**booking_event(event_id=f"evt-{n}"), **({"origin": origin} if origin else {})}
        for n, origin in enumerate(origins)
    ]
    call: dict[str, Any] = {"integration": "snov", "connection": {}, "settings": {}, "host": None}
    hook.on_booking_events(events=events, **call)
    hook.on_booking_event(event=events[0], **call)
    assert seen == [backfilled, origins[0] == "backfill"]
    assert limiter.backfilling_now() is False

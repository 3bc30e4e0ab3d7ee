"""Stop the outreach when they book: ``outreach_on_booking``, one test per rule.

The pure decision (:func:`~fortytwomin_snov.rules.campaigns_to_change` and friends) is
table-tested; the effects run against the emulator, both ways for the unconfirmed
``recipient_status_accepts_json`` (the client sends a form, so both must pass), and with
strict pytest-httpx for the exact request bodies.

Calls per case, beyond the prospect's own write (lookup = ``get-prospects-by-email``,
change = ``change-recipient-status``):

=====================================================  ======  ======
case                                                   lookup  change
=====================================================  ======  ======
action none                                               0       0
pause, in no campaign                                     1       0
pause, active in N chosen campaigns                       1       N
resume on cancel, nothing paused by this feature          0       0
resume on cancel, K campaigns paused by this feature      1      <=K
=====================================================  ======  ======
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pluggy
import pytest
import stamina
from pytest_httpx import HTTPXMock

from fortytwomin_snov.rules import (
    CampaignSeen,
    Outreach,
    campaigns_seen,
    campaigns_to_change,
    outreach_of,
)
from fortytwomin_snov.settings.model import Settings
from fortytwomin_snov.snov import ProspectProfile, SnovClient
from fortytwomin_snov.sync import paused_by_us
from tests.test_sync import (  # noqa: F401 - the fixtures World builds on
    ADD,
    API,
    BY_EMAIL,
    JANE,
    LIST_ID,
    TOKEN,
    Host,
    Snov,
    Sync,
    booking_event,
    connection_of,
    expect_add,
    expect_token,
    form_event,
    host,
    jane_body,
    reason_of,
    settings_of,
    snov,
)

CHANGE = "/v1/change-recipient-status"
PAUSE = {"action": "pause", "campaign_ids": [], "resume_on_cancel": True}


# ---- the pure decision -----------------------------------------------------------------------


def seen(campaign_id: int, *statuses: str) -> CampaignSeen:
    return CampaignSeen(campaign_id, f"C{campaign_id}", frozenset(statuses))


@pytest.mark.parametrize(
    ("outreach", "campaigns", "ours", "expected"),
    [
        pytest.param(Outreach("pause"), [], set(), [], id="in no campaign"),
        pytest.param(Outreach("pause"), [seen(1, "active")], set(), [1], id="active: paused"),
        pytest.param(
            Outreach("pause", frozenset({1})),
            [seen(1, "active"), seen(2, "active")],
            set(),
            [1],
            id="only the chosen campaign",
        ),
        pytest.param(
            Outreach("pause"),
            [seen(1, "paused"), seen(2, "finished"), seen(3, "unsubscribed")],
            set(),
            [],
            id="already paused, finished or unsubscribed",
        ),
        pytest.param(
            Outreach("pause"), [seen(1, "finished", "active")], set(), [1], id="one profile active"
        ),
        pytest.param(
            Outreach("unsubscribe"), [seen(1, "active")], set(), [1], id="unsubscribe active"
        ),
        pytest.param(
            Outreach("resume"),
            [seen(1, "paused"), seen(2, "paused")],
            {1},
            [1],
            id="resume only what this feature paused",
        ),
        pytest.param(
            Outreach("resume"),
            [seen(1, "active"), seen(2, "finished")],
            {1, 2},
            [],
            id="resume nothing not paused now",
        ),
        pytest.param(Outreach("resume"), [seen(1, "paused")], set(), [], id="resume: none ours"),
    ],
)
def test_campaigns_to_change(
    outreach: Outreach, campaigns: list[CampaignSeen], ours: set[int], expected: list[int]
) -> None:
    assert [item.id for item in campaigns_to_change(outreach, campaigns, ours)] == expected


@pytest.mark.parametrize(
    ("settings", "kind", "expected"),
    [
        ({}, "booking.created", None),
        ({"action": "pause"}, "booking.created", Outreach("pause")),
        ({"action": "pause", "campaign_ids": [7]}, "booking.created", Outreach("pause", {7})),
        ({"action": "unsubscribe"}, "routing_form.submitted", Outreach("unsubscribe")),
        ({"action": "pause"}, "booking.rescheduled", None),
        ({"action": "pause"}, "booking.canceled", None),
        ({"action": "pause", "resume_on_cancel": True}, "booking.canceled", Outreach("resume")),
        ({"action": "pause", "resume_on_cancel": True}, "booking.no_show", Outreach("resume")),
        ({"action": "pause", "resume_on_cancel": True}, "booking.rescheduled", None),
    ],
)
def test_which_events_touch_campaigns(
    settings: dict[str, Any], kind: str, expected: Outreach | None
) -> None:
    from fortytwomin_snov.contract.models import EVENT_ADAPTER

    event = EVENT_ADAPTER.validate_python(
        form_event() if kind.startswith("routing") else booking_event(kind)
    )
    parsed = Settings.model_validate({"outreach_on_booking": settings})
    wanted = expected
    if expected is not None:
        wanted = Outreach(expected.change, frozenset(expected.campaign_ids))
    assert outreach_of(event, parsed) == wanted


def test_campaigns_are_merged_across_profiles() -> None:
    def profile(pid: str, campaigns: list[dict[str, Any]]) -> ProspectProfile:
        return ProspectProfile.model_validate({"id": pid, "campaigns": campaigns})

    def campaign(cid: int, status: str, email: str = JANE) -> dict[str, Any]:
        recipients = [{"email": email, "recipient_status": status}]
        return {"id": cid, "name": f"C{cid}", "campaign_status": "Active", "recipients": recipients}

    merged = campaigns_seen(
        [
            profile("a", [campaign(1, "Finished"), campaign(2, "Active")]),
            profile("b", [campaign(1, "Active"), campaign(3, "Active", "bob@example.com")]),
        ],
        "Jane@Example.com",
    )
    assert merged == (seen(1, "finished", "active"), seen(2, "active"), seen(3))


# ---- against the emulator --------------------------------------------------------------------


class World(Snov):
    """test_sync's seeded emulator, with the person's campaigns at hand."""

    def campaign(self, name: str, list_id: int | None = None) -> int:
        return self.emulator.state.add_campaign(self.client_id, name, list_id or self.other).id

    def enrol(self, campaign_id: int, status: str = "Active") -> None:
        self.emulator.state.enrol(self.client_id, campaign_id, JANE)
        if status != "Active":
            self.emulator.state.set_recipient_status(self.client_id, campaign_id, JANE, status)

    def statuses(self, campaign_id: int) -> list[str]:
        return self.emulator.state.recipient_statuses(self.client_id, campaign_id, JANE)

    def paused_by_us(self) -> set[int]:
        from fortytwomin_snov.account import Account
        from fortytwomin_snov.credentials import Credentials

        connection = self.sync.connection
        keys = Credentials(
            api_user_id=connection["api_user_id"], api_secret=connection["api_secret"]
        )
        return paused_by_us(Account(keys, self.sync.host.store), JANE)


@pytest.fixture(params=[True, False], ids=["json-accepted", "form-only"])
def world(request: pytest.FixtureRequest, snov: Snov) -> World:  # noqa: F811 - the fixture
    snov.emulator.state.configure(recipient_status_accepts_json=request.param)
    settings = settings_of(snov.target, outreach_on_booking=PAUSE)
    sync = Sync(snov.sync.hook, snov.sync.host, snov.sync.connection, settings)
    return World(snov.emulator, snov.client_id, snov.target, snov.other, sync)


def test_a_person_in_no_campaign_costs_one_lookup(world: World) -> None:
    outcome = world.sync(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert "campaigns_paused" not in outcome
    assert "in no active Snov.io campaign to pause" in outcome["message"]
    assert (world.calls(ADD), world.calls(BY_EMAIL), world.calls(CHANGE)) == (1, 1, 0)


def test_pauses_only_in_the_chosen_campaign(world: World) -> None:
    chosen, other = world.campaign("Q4 cold"), world.campaign("Webinar follow-up")
    world.seed(world.other)
    world.enrol(chosen)
    world.enrol(other)
    settings = settings_of(world.target, outreach_on_booking={**PAUSE, "campaign_ids": [chosen]})
    outcome = world.sync(booking_event(), settings=settings)
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert outcome["campaigns_paused"] == [chosen]
    assert outcome["message"].endswith("and paused them in 1 Snov.io campaign: Q4 cold.")
    assert "Paused" in world.statuses(chosen)
    assert set(world.statuses(other)) == {"Active"}
    assert world.calls(CHANGE) == 1


def test_pauses_every_active_campaign_the_booking_enrolled_them_in(world: World) -> None:
    on_target = world.campaign("Q4 cold", world.target)  # the booking enrols them here
    elsewhere = world.campaign("Webinar follow-up")
    world.seed(world.other)
    world.enrol(elsewhere)
    outcome = world.sync(booking_event())
    assert sorted(outcome["campaigns_paused"]) == sorted([on_target, elsewhere])
    assert "paused them in 2 Snov.io campaigns: " in outcome["message"]
    assert set(world.statuses(on_target)) == {"Paused"}
    assert set(world.statuses(elsewhere)) == {"Paused"}
    assert (world.calls(BY_EMAIL), world.calls(CHANGE)) == (1, 2)
    assert world.paused_by_us() == {on_target, elsewhere}


def test_already_paused_or_finished_is_left_alone(world: World) -> None:
    paused, finished = world.campaign("Q4 cold"), world.campaign("Webinar follow-up")
    world.seed(world.other)
    world.enrol(paused, "Paused")
    world.enrol(finished, "Finished")
    outcome = world.sync(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert world.calls(CHANGE) == 0
    assert world.paused_by_us() == set()


def test_resume_on_cancel_touches_only_what_this_feature_paused(world: World) -> None:
    ours, theirs = world.campaign("Q4 cold"), world.campaign("Webinar follow-up")
    world.seed(world.other)
    world.enrol(ours)
    world.enrol(theirs, "Paused")  # paused by someone else before the booking
    assert world.sync(booking_event(at="2025-03-14T09:30:00Z"))["campaigns_paused"] == [ours]
    cancel = world.sync(booking_event("booking.canceled", at="2025-03-14T10:00:00Z"))
    assert reason_of(cancel) == ("synced", "status_updated")
    assert cancel["campaigns_resumed"] == [ours]
    assert cancel["message"].endswith("set them back to Active in 1 Snov.io campaign: Q4 cold.")
    assert set(world.statuses(ours)) == {"Active"}
    assert set(world.statuses(theirs)) == {"Paused"}
    assert world.paused_by_us() == set()
    # A second cancel has nothing of ours left to resume: no lookup, no change.
    before = (world.calls(BY_EMAIL), world.calls(CHANGE))
    world.sync(booking_event("booking.no_show", at="2025-03-14T11:00:00Z"))
    assert (world.calls(BY_EMAIL), world.calls(CHANGE)) == before


def test_action_none_adds_no_call(world: World) -> None:
    campaign = world.campaign("Q4 cold", world.target)
    settings = settings_of(world.target)  # outreach_on_booking left out: off
    world.sync(booking_event(), settings=settings)
    world.sync(booking_event("booking.canceled", at="2025-03-14T10:00:00Z"), settings=settings)
    assert (world.calls(BY_EMAIL), world.calls(CHANGE)) == (0, 0)
    assert len(world.emulator.state.requests()) == 3  # token, add, update
    assert set(world.statuses(campaign)) == {"Active"}


def test_a_server_error_on_the_pause_defers_and_the_retry_does_not_add_again(
    world: World,
) -> None:
    campaign = world.campaign("Q4 cold", world.target)
    world.emulator.state.fail_next(3, status=503, path=CHANGE)
    event = booking_event()
    first = world.sync(event)
    assert reason_of(first) == ("deferred", "snov_unavailable")
    retry = world.sync(event)
    assert reason_of(retry) == ("synced", "prospect_added")
    assert retry["campaigns_paused"] == [campaign]
    assert world.calls(ADD) == 1
    assert set(world.statuses(campaign)) == {"Paused"}


def test_a_rate_limit_on_the_pause_defers_and_the_retry_does_not_add_again(
    world: World,
) -> None:
    campaign = world.campaign("Q4 cold", world.target)
    event = booking_event()
    # token, add, lookup pass; the change meets the limit.
    world.emulator.set_rate_limit(3)
    with stamina.set_testing(True, attempts=1):
        first = world.sync(event)
    assert reason_of(first) == ("deferred", "rate_limited")
    world.emulator.set_rate_limit(None)
    retry = world.sync(event)
    assert reason_of(retry) == ("synced", "prospect_added")
    assert retry["campaigns_paused"] == [campaign]
    assert world.calls(ADD) == 1
    assert set(world.statuses(campaign)) == {"Paused"}


class Killed(BaseException):
    """A worker dying mid-sync, right after the call it wraps reached Snov.io."""


@pytest.mark.parametrize(
    ("method", "nth"),
    [
        ("add_prospect", 1),
        ("prospects_by_email", 1),
        ("change_recipient_status", 1),
        ("change_recipient_status", 2),
    ],
)
def test_a_retry_after_a_kill_at_each_step_writes_nothing_twice(
    world: World, monkeypatch: pytest.MonkeyPatch, method: str, nth: int
) -> None:
    first, second = world.campaign("Q4 cold", world.target), world.campaign("Webinar follow-up")
    world.seed(world.other)
    world.enrol(second)
    original: Callable[..., Any] = getattr(SnovClient, method)
    count = {"calls": 0}

    def dying(self: SnovClient, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        count["calls"] += 1
        if count["calls"] == nth:
            raise Killed
        return result

    monkeypatch.setattr(SnovClient, method, dying)
    event = booking_event()
    with pytest.raises(Killed):
        world.sync(event)
    monkeypatch.setattr(SnovClient, method, original)
    outcome = world.sync(event)
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert sorted(outcome["campaigns_paused"]) == sorted([first, second])
    assert len(world.emulator.state.prospects(world.client_id, list_id=world.target)) == 1
    assert world.calls(CHANGE) == 2  # each campaign changed once, however the kill fell
    assert world.paused_by_us() == {first, second}


def test_a_batch_looks_the_person_up_once_and_changes_each_campaign_once(
    world: World, hook: pluggy.HookRelay
) -> None:
    campaign = world.campaign("Q4 cold", world.target)
    events = [
        booking_event(at="2025-03-14T09:30:00Z"),
        booking_event("booking.rescheduled", at="2025-03-14T09:40:00Z"),
    ]
    outcomes = hook.on_booking_events(
        integration="snov",
        connection=world.sync.connection,
        settings=world.sync.settings,
        events=events,
        host=world.sync.host,
    )
    assert [reason_of(item) for item in outcomes] == [
        ("synced", "merged_into_batch"),
        ("synced", "prospect_added"),
    ]
    assert outcomes[1]["campaigns_paused"] == [campaign]
    assert (world.calls(ADD), world.calls(BY_EMAIL), world.calls(CHANGE)) == (1, 1, 1)


# ---- the request bodies, pinned ---------------------------------------------------------------


@pytest.fixture
def mocked(hook: pluggy.HookRelay, monkeypatch: pytest.MonkeyPatch) -> Sync:
    from fortytwomin_snov.snov import BASE_URL_ENV
    from tests.test_sync import SECRET, USER_ID

    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    settings = settings_of(LIST_ID, outreach_on_booking=PAUSE)
    return Sync(hook, Host(), connection_of(USER_ID, SECRET), settings)


def expect_lookup(httpx_mock: HTTPXMock, campaigns: list[dict[str, Any]]) -> None:
    profile = {"id": "p1", "lists": [{"id": LIST_ID, "name": "42min"}], "campaigns": campaigns}
    httpx_mock.add_response(
        method="POST",
        url=f"{API}{BY_EMAIL}",
        match_headers={"Authorization": f"Bearer {TOKEN}"},
        match_json={"email": JANE},
        json={"success": True, "data": [profile]},
    )


def expect_change(
    httpx_mock: HTTPXMock, campaign_id: int, status: str, *, code: int = 200, reply: Any = None
) -> None:
    """One change-recipient-status, form-encoded, exactly these fields."""
    body = urlencode({"email": JANE, "campaign_id": campaign_id, "status": status})
    httpx_mock.add_response(
        method="POST",
        url=f"{API}{CHANGE}",
        match_headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        match_content=body.encode(),
        status_code=code,
        json={"success": True} if reply is None else reply,
    )


def enrolled(campaign_id: int, name: str, status: str = "Active") -> dict[str, Any]:
    recipient = {"email": JANE, "recipient_status": status, "sent": None, "reply": None}
    return {"id": campaign_id, "name": name, "campaign_status": "Active", "recipients": [recipient]}


def test_the_pause_is_a_form_with_the_bearer_header(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body())
    expect_lookup(httpx_mock, [enrolled(11, "Q4 cold"), enrolled(12, "Old", "Finished")])
    expect_change(httpx_mock, 11, "Paused")
    outcome = mocked(booking_event())
    assert outcome["campaigns_paused"] == [11]
    assert outcome["message"] == (
        f"Added {JANE} to the Snov.io list and paused them in 1 Snov.io campaign: Q4 cold."
    )


def test_unsubscribe_sends_unsubscribed(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body())
    expect_lookup(httpx_mock, [enrolled(11, "Q4 cold")])
    expect_change(httpx_mock, 11, "Unsubscribed")
    settings = settings_of(LIST_ID, outreach_on_booking={"action": "unsubscribe"})
    outcome = mocked(booking_event(), settings=settings)
    assert outcome["campaigns_unsubscribed"] == [11]
    assert "unsubscribed them from 1 Snov.io campaign: Q4 cold" in outcome["message"]


def test_a_campaign_deleted_in_between_is_noted_and_skipped(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body())
    expect_lookup(httpx_mock, [enrolled(11, "Q4 cold"), enrolled(12, "Old promo")])
    expect_change(httpx_mock, 11, "Paused")
    gone = {"success": False, "errors": "Campaign with id '12' not found"}
    expect_change(httpx_mock, 12, "Paused", code=400, reply=gone)
    outcome = mocked(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert outcome["campaigns_paused"] == [11]
    assert "Snov.io refused to pause them in Old promo" in outcome["message"]
    assert "Campaign with id '12' not found" in outcome["message"]


def test_a_429_between_the_add_and_the_pause_defers_then_the_retry_pauses_without_adding(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body())
    expect_lookup(httpx_mock, [enrolled(11, "Q4 cold")])
    expect_change(httpx_mock, 11, "Paused", code=429, reply={"success": False})
    event = booking_event()
    with stamina.set_testing(True, attempts=1):
        first = mocked(event)
    assert reason_of(first) == ("deferred", "rate_limited")
    # The retry: no add, one lookup, the pause.
    expect_lookup(httpx_mock, [enrolled(11, "Q4 cold")])
    expect_change(httpx_mock, 11, "Paused")
    retry = mocked(event)
    assert reason_of(retry) == ("synced", "prospect_added")
    assert retry["campaigns_paused"] == [11]

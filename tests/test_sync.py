"""on_booking_event: issue #5's rules, one test (or group) per rule, through a real PluginManager.

Two kinds of test:

- against the Snov.io emulator (``snov`` fixture): the person's final state in "Snov.io"
  and the number of API calls each case costs, read from the emulator's request log;
- with strict pytest-httpx (``mocked`` fixture, no emulator): the exact JSON bodies sent.

Every outcome goes through :class:`Sync`, which validates it against the published
schema and checks that neither the API secret nor the access token appears in it.

Calls per case (add = ``add-prospect-to-list``, lookup = ``get-prospects-by-email``; the
token request is shared and not counted):

===============================================================  ===  ======
case                                                              add  lookup
===============================================================  ===  ======
new person (update)                                                1     0
known member, later status                                         1     0
in the target list, unknown to the store (422, updateContact)      2     0
in another list only (added:false, createDuplicates)               2     0
skip: new person                                                   1     1
skip: in the target list, unknown to the store                     0     1
skip: known member                                                 0     0
skip: in another list only (createDuplicates)                      1     1
in the target list, updateContact refused (failed)                 2     0
5xx or dropped connection on every attempt (deferred)              3     0
429 (deferred; one attempt in the test)                            1     0
===============================================================  ===  ======
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import pluggy
import pytest
import stamina
from pytest_httpx import HTTPXMock

from fortytwomin_snov.account import Account
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.credentials import Credentials
from fortytwomin_snov.schemas import load_schema
from fortytwomin_snov.snov import BASE_URL_ENV, cached_token
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.stores.redis import RedisStore
from fortytwomin_snov.sync import MEMBER_TTL, Marks
from fortytwomin_snov.testing import Prospect, SnovEmulator
from fortytwomin_snov.testing.clock import ManualClock

if TYPE_CHECKING:
    from tests.servers import RedisServer

pytest_plugins = ["tests.servers"]

OUTCOME_SCHEMA = load_schema("sync-outcome")

API = "https://api.snov.io"
TOKEN_PATH = "/v1/oauth/access_token"
ADD = "/v1/add-prospect-to-list"
LISTS = "/v1/get-user-lists"
BY_EMAIL = "/v1/get-prospects-by-email"

USER_ID = "7f3a9c1e2b4d4e0f"
SECRET = "s3cr3t-api-secret-value"
TOKEN = "T" * 40
LIST_ID = 4242

STATUS_FIELD = "Meeting status"
HOST_FIELD = "Host email"
TOPICS_FIELD = "Topics"
HOST_EMAIL = "maria@acme.example"
JANE = "jane@example.com"

LOCKED_ROWS = [
    {"source": "person.email", "target": "prospect.email", "locked": True},
    {"source": "person.name", "target": "prospect.name", "locked": True},
    {"source": "person.phone", "target": "prospect.phone", "locked": True},
]
ADMIN_ROWS = [
    {"source": "invitee_form_question:company", "target": "prospect.company"},
    {"source": "invitee_form_question:role", "target": "prospect.position"},
    {"source": "invitee_form_question:topics", "target": f"prospect.cf_{TOPICS_FIELD}"},
]
ANSWERS = {"company": "Example GmbH", "role": "CTO", "topics": ["pricing", "integrations"]}

BOOKING_KINDS = ("booking.created", "booking.canceled", "booking.rescheduled", "booking.no_show")
STATUS_KINDS = BOOKING_KINDS[1:]
LABELS = {
    "booking.created": "Meeting booked",
    "booking.canceled": "Meeting canceled",
    "booking.rescheduled": "Meeting rescheduled",
    "booking.no_show": "No-show",
}
TRIGGER = {
    "booking.created": "booking_created",
    "booking.canceled": "booking_canceled",
    "booking.rescheduled": "booking_rescheduled",
    "booking.no_show": "booking_no_show",
    "routing_form.submitted": "routing_form_submitted",
}

_event_ids = itertools.count(1)
DEFAULT: Any = object()
"""Stands for "the Sync's own" where None is a document under test."""


# ---- documents ---------------------------------------------------------------------------


def connection_of(api_user_id: str, api_secret: str) -> dict[str, Any]:
    return {
        "integration": "snov",
        "api_user_id": api_user_id,
        "api_secret": api_secret,
        "connected_at": "2025-03-14T09:00:00Z",
        "connected_by": "usr_admin",
    }


def settings_of(list_id: int | None, **changes: Any) -> dict[str, Any]:
    """Target list, lifecycle and host email fields, the locked rows and three admin rows."""
    return {
        "target_list_id": list_id,
        "lifecycle_status_field": STATUS_FIELD,
        "host_email_field": HOST_FIELD,
        "field_mappings": [*LOCKED_ROWS, *ADMIN_ROWS],
        **changes,
    }


def invitee_of(email: str | None = JANE, **changes: Any) -> dict[str, Any]:
    return {
        "email": email,
        "name": "Jane Doe",
        "first_name": "Jane",
        "last_name": "Doe",
        "phone": "+4915123456789",
        **changes,
    }


def booking_event(
    kind: str = "booking.created",
    *,
    event_id: str | None = None,
    at: str = "2025-03-14T09:30:00Z",
    invitee: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None,
    host_email: str | None = HOST_EMAIL,
) -> dict[str, Any]:
    booking: dict[str, Any] = {
        "uid": "bk_7Hc2Qx",
        "start": "2025-03-20T15:00:00+01:00",
        "end": "2025-03-20T15:30:00+01:00",
        "timezone": "Europe/Berlin",
        "invitee": invitee_of() if invitee is None else invitee,
        "answers": ANSWERS if answers is None else answers,
    }
    if host_email is not None:
        booking["host"] = {"email": host_email, "name": "Maria Lopez"}
    return {
        "id": event_id or f"evt_{next(_event_ids)}",
        "type": kind,
        "occurred_at": at,
        "booking": booking,
    }


def form_event(
    *,
    respondent: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{next(_event_ids)}",
        "type": "routing_form.submitted",
        "occurred_at": "2025-03-14T12:45:07+00:00",
        "routing_form": {
            "form_id": "rf_demo_request",
            "submission_id": "sub_4Xy8Zq",
            "fields": {"company": "Example Ltd", "interests": ["crm", "calendar"]}
            if fields is None
            else fields,
            "respondent": {"email": "lee@example.co.uk", "name": "Lee Chen", "phone": None}
            if respondent is None
            else respondent,
        },
    }


def event_of(kind: str, **changes: Any) -> dict[str, Any]:
    if kind == "routing_form.submitted":
        return form_event(**changes)
    return booking_event(kind, **changes)


# ---- calling the hook ----------------------------------------------------------------------


@dataclass
class Host:
    store: MemoryStore = field(default_factory=MemoryStore)


class Sync:
    """Calls ``on_booking_event`` for one connection, settings and host, and checks the answer."""

    def __init__(
        self,
        hook: pluggy.HookRelay,
        host: Host,
        connection: dict[str, Any],
        settings: dict[str, Any],
    ) -> None:
        self.hook = hook
        self.host = host
        self.connection = connection
        self.settings = settings

    def __call__(
        self,
        event: Any,
        *,
        settings: Any = DEFAULT,
        connection: Any = DEFAULT,
        host: Host | None = None,
    ) -> dict[str, Any]:
        host = host or self.host
        outcome = self.hook.on_booking_event(
            integration="snov",
            connection=self.connection if connection is DEFAULT else connection,
            settings=self.settings if settings is DEFAULT else settings,
            event=event,
            host=host,
        )
        assert isinstance(outcome, dict)
        jsonschema.validate(outcome, OUTCOME_SCHEMA)
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            assert outcome["event_id"] == event["id"]
            assert outcome["event_type"] == event["type"]
        self._assert_no_secret(outcome, host)
        return outcome

    def _assert_no_secret(self, outcome: dict[str, Any], host: Host) -> None:
        text = json.dumps(outcome)
        secret = self.connection["api_secret"]
        assert secret not in text
        token = cached_token(host.store, self.connection["api_user_id"], secret)
        if token is not None:
            assert token not in text

    def marks(self, list_id: int, email: str) -> Marks:
        keys = Credentials(
            api_user_id=self.connection["api_user_id"], api_secret=self.connection["api_secret"]
        )
        return Marks(self.host.store, Account(keys, self.host.store), list_id, email)

    def remember_member(self, list_id: int, email: str) -> None:
        """Make the store believe ``email`` is in the list, as after an earlier sync."""
        self.marks(list_id, email).remember_member(None)


def reason_of(outcome: dict[str, Any]) -> tuple[str, str]:
    return outcome["status"], outcome["reason"]


@pytest.fixture
def host() -> Host:
    return Host()


# ---- pytest-httpx ----------------------------------------------------------------------------


@pytest.fixture
def mocked(hook: pluggy.HookRelay, host: Host, monkeypatch: pytest.MonkeyPatch) -> Sync:
    """A sync against api.snov.io, answered only by what the test registers with httpx_mock."""
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    return Sync(hook, host, connection_of(USER_ID, SECRET), settings_of(LIST_ID))


def expect_token(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{API}{TOKEN_PATH}",
        match_json={
            "grant_type": "client_credentials",
            "client_id": USER_ID,
            "client_secret": SECRET,
        },
        json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600},
    )


def expect_add(
    httpx_mock: HTTPXMock,
    body: dict[str, Any],
    *,
    status: int = 200,
    reply: Any = None,
) -> None:
    """One add-prospect-to-list request with exactly ``body`` (plus the list id)."""
    httpx_mock.add_response(
        method="POST",
        url=f"{API}{ADD}",
        match_headers={"Authorization": f"Bearer {TOKEN}"},
        match_json={"listId": LIST_ID, **body},
        status_code=status,
        json={"success": True, "id": "0Y2QzowWL1rHpIptwaRp0Q==", "added": True, "updated": False}
        if reply is None
        else reply,
    )


ALREADY_IN_LIST = {
    "success": False,
    "added": False,
    "errors": "Prospect with same email already exists in your list",
}
UPDATED = {"success": True, "added": False, "updated": True}

JANE_DETAILS = {
    "email": JANE,
    "fullName": "Jane Doe",
    "firstName": "Jane",
    "lastName": "Doe",
    "phones": ["+4915123456789"],
    "companyName": "Example GmbH",
    "position": "CTO",
}


def jane_body(kind: str = "booking.created") -> dict[str, Any]:
    """What a booking event for Jane writes when the person is not known yet."""
    return {
        **JANE_DETAILS,
        "customFields": {
            TOPICS_FIELD: "pricing, integrations",
            STATUS_FIELD: LABELS[kind],
            HOST_FIELD: HOST_EMAIL,
        },
    }


def status_body(kind: str) -> dict[str, Any]:
    """What a status event writes for a known member: the email and the status only."""
    return {
        "email": JANE,
        "customFields": {STATUS_FIELD: LABELS[kind], HOST_FIELD: HOST_EMAIL},
        "updateContact": True,
    }


# ---- the emulator ----------------------------------------------------------------------------


@dataclass
class Snov:
    """The emulator seeded with an account, a target list, another list and custom fields."""

    emulator: SnovEmulator
    client_id: str
    target: int
    other: int
    sync: Sync

    def calls(self, path: str) -> int:
        return len(self.emulator.state.requests(path=path))

    def bodies(self, path: str = ADD) -> list[Any]:
        return [request.body for request in self.emulator.state.requests(path=path)]

    def profiles(self, email: str, list_id: int | None = None) -> list[Prospect]:
        return self.emulator.state.prospects(self.client_id, email=email, list_id=list_id)

    def member(self, email: str = JANE) -> Prospect:
        """The one profile ``email`` has in the target list."""
        (profile,) = self.profiles(email, self.target)
        return profile

    def seed(self, list_id: int, email: str = JANE, **fields: Any) -> Prospect:
        return self.emulator.state.create_prospect(
            self.client_id, list_id, {"email": email, **fields}
        )


@pytest.fixture
def snov(snov_emulator: SnovEmulator, hook: pluggy.HookRelay, host: Host) -> Snov:
    account = snov_emulator.add_account()
    state = snov_emulator.state
    target = state.add_list(account.client_id, "42min bookings").id
    other = state.add_list(account.client_id, "Webinar leads").id
    for label in (STATUS_FIELD, HOST_FIELD, TOPICS_FIELD):
        state.add_custom_field(account.client_id, label)
    connection = connection_of(account.client_id, account.client_secret)
    sync = Sync(hook, host, connection, settings_of(target))
    return Snov(snov_emulator, account.client_id, target, other, sync)


OLD = {
    "full_name": "Old Name",
    "first_name": "Old",
    "last_name": "Name",
    "company_name": "Old Co",
    "phones": ["+100"],
    "custom_fields": {STATUS_FIELD: "Lead"},
}
"""What a prospect seeded before the sync holds."""


def assert_old(profile: Prospect) -> None:
    assert (profile.full_name, profile.company_name, profile.phones) == (
        "Old Name",
        "Old Co",
        ("+100",),
    )
    assert profile.custom_fields == {STATUS_FIELD: "Lead"}


# ---- the slug ---------------------------------------------------------------------------------


def test_another_integration_gets_none(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    answer = hook.on_booking_event(
        integration="hubspot",
        connection=connection_of(USER_ID, SECRET),
        settings=settings_of(LIST_ID),
        event=booking_event(),
        host=host,
    )
    assert answer is None


# ---- rule 1: no target list -------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{}, {"target_list_id": None}, settings_of(None)])
@pytest.mark.parametrize("kind", [*BOOKING_KINDS, "routing_form.submitted"])
def test_rule_1_no_target_list_skips_and_sends_nothing(
    mocked: Sync, httpx_mock: HTTPXMock, settings: dict[str, Any], kind: str
) -> None:
    everything_on = {**settings, "triggers": dict.fromkeys(TRIGGER.values(), True)}
    outcome = mocked(event_of(kind), settings=everything_on)
    assert reason_of(outcome) == ("skipped", "no_target_list")
    assert "target list" in outcome["message"]


# ---- rule 2: trigger off ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [*BOOKING_KINDS, "routing_form.submitted"])
def test_rule_2_trigger_off_skips_that_event_only(
    mocked: Sync, httpx_mock: HTTPXMock, kind: str
) -> None:
    off = {**dict.fromkeys(TRIGGER.values(), True), TRIGGER[kind]: False}
    settings = settings_of(LIST_ID, triggers=off)
    assert reason_of(mocked(event_of(kind), settings=settings)) == ("skipped", "trigger_off")
    # The other events pass the trigger check (and stop at the missing email: nothing sent).
    for other in set(TRIGGER) - {kind}:
        no_email = (
            event_of(other, respondent={"name": "Lee"})
            if other == "routing_form.submitted"
            else event_of(other, invitee={"name": "Jane"})
        )
        assert reason_of(mocked(no_email, settings=settings)) == ("skipped", "no_email")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("booking.created", "no_email"),
        ("booking.canceled", "no_email"),
        ("booking.rescheduled", "no_email"),
        ("booking.no_show", "no_email"),
        ("routing_form.submitted", "trigger_off"),
    ],
)
def test_rule_2_default_triggers_are_bookings_on_and_routing_form_off(
    mocked: Sync, httpx_mock: HTTPXMock, kind: str, expected: str
) -> None:
    settings = settings_of(LIST_ID)
    assert "triggers" not in settings
    event = (
        form_event(respondent={"name": "Lee"})
        if kind == "routing_form.submitted"
        else booking_event(kind, invitee={"name": "Jane"})
    )
    assert reason_of(mocked(event, settings=settings)) == ("skipped", expected)


# ---- rule 3: no email -------------------------------------------------------------------------

NO_EMAIL = [
    pytest.param({"email": None}, id="null"),
    pytest.param({}, id="absent"),
    pytest.param({"email": ""}, id="empty"),
    pytest.param({"email": "   "}, id="blank"),
]


@pytest.mark.parametrize("email", NO_EMAIL)
@pytest.mark.parametrize("kind", BOOKING_KINDS)
def test_rule_3_invitee_without_email_is_skipped(
    mocked: Sync, httpx_mock: HTTPXMock, kind: str, email: dict[str, Any]
) -> None:
    outcome = mocked(booking_event(kind, invitee={"name": "Jane Doe", **email}))
    assert reason_of(outcome) == ("skipped", "no_email")
    assert "invitee" in outcome["message"]
    assert "email" not in outcome


@pytest.mark.parametrize("email", NO_EMAIL)
def test_rule_3_respondent_without_email_is_skipped(
    mocked: Sync, httpx_mock: HTTPXMock, email: dict[str, Any]
) -> None:
    settings = settings_of(LIST_ID, triggers={"routing_form_submitted": True})
    outcome = mocked(form_event(respondent={"name": "Lee", **email}), settings=settings)
    assert reason_of(outcome) == ("skipped", "no_email")
    assert "respondent" in outcome["message"]


# ---- rule 4: booking.created -------------------------------------------------------------------


def test_rule_4_created_sends_the_mapped_fields_with_status_and_host(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body())
    event = booking_event()
    assert mocked(event) == {
        "event_id": event["id"],
        "event_type": "booking.created",
        "integration": "snov",
        "status": "synced",
        "reason": "prospect_added",
        "message": f"Added {JANE} to the Snov.io list.",
        "email": JANE,
        "list_id": LIST_ID,
        "prospect_id": "0Y2QzowWL1rHpIptwaRp0Q==",
    }


def test_rule_4_created_without_lifecycle_or_host_field_sends_no_status(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(
        httpx_mock, {**JANE_DETAILS, "customFields": {TOPICS_FIELD: "pricing, integrations"}}
    )
    settings = settings_of(LIST_ID, lifecycle_status_field=None, host_email_field=None)
    assert reason_of(mocked(booking_event(), settings=settings)) == ("synced", "prospect_added")


def test_rule_4_created_with_only_the_locked_rows(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    expect_token(httpx_mock)
    expect_add(
        httpx_mock,
        {
            "email": JANE,
            "fullName": "Jane Doe",
            "firstName": "Jane",
            "lastName": "Doe",
            "phones": ["+4915123456789"],
            "customFields": {STATUS_FIELD: "Meeting booked"},
        },
    )
    settings = settings_of(LIST_ID, field_mappings=LOCKED_ROWS, host_email_field=None)
    assert reason_of(mocked(booking_event(), settings=settings)) == ("synced", "prospect_added")


def test_rule_4_created_puts_the_person_into_the_list_with_the_mapped_fields(snov: Snov) -> None:
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_added")
    jane = snov.member()
    assert outcome["prospect_id"] == jane.id
    assert (jane.full_name, jane.first_name, jane.last_name) == ("Jane Doe", "Jane", "Doe")
    assert (jane.company_name, jane.position, jane.phones) == (
        "Example GmbH",
        "CTO",
        ("+4915123456789",),
    )
    assert jane.custom_fields == {
        TOPICS_FIELD: "pricing, integrations",
        STATUS_FIELD: "Meeting booked",
        HOST_FIELD: HOST_EMAIL,
    }
    assert snov.profiles(JANE) == [jane]
    assert (snov.calls(ADD), snov.calls(BY_EMAIL), snov.calls(TOKEN_PATH)) == (1, 0, 1)


# ---- rule 5: existing prospect ----------------------------------------------------------------


def test_rule_5_update_refreshes_an_existing_prospect(snov: Snov) -> None:
    seeded = snov.seed(snov.target, **OLD)
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_updated")
    jane = snov.member()
    assert jane.id == seeded.id
    assert (jane.full_name, jane.company_name, jane.phones) == (
        "Jane Doe",
        "Example GmbH",
        ("+4915123456789",),
    )
    assert jane.custom_fields[STATUS_FIELD] == "Meeting booked"
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (2, 0)


def test_rule_5_skip_leaves_a_prospect_in_the_list_untouched(snov: Snov) -> None:
    snov.seed(snov.target, **OLD)
    skip = settings_of(snov.target, existing_prospect="skip")
    outcome = snov.sync(booking_event(), settings=skip)
    assert reason_of(outcome) == ("skipped", "existing_prospect_skipped")
    assert JANE in outcome["message"]
    assert_old(snov.member())
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (0, 1)


def test_rule_5_skip_adds_a_new_person_and_then_leaves_them_alone(snov: Snov) -> None:
    skip = settings_of(snov.target, existing_prospect="skip")
    assert reason_of(snov.sync(booking_event(), settings=skip)) == ("synced", "prospect_added")
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 1)
    again = booking_event(answers={"company": "New Co"}, at="2025-03-15T09:30:00Z")
    assert reason_of(snov.sync(again, settings=skip)) == ("skipped", "existing_prospect_skipped")
    assert snov.member().company_name == "Example GmbH"
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 1)


def test_rule_5_skip_does_not_overwrite_the_profile_in_another_list(snov: Snov) -> None:
    elsewhere = snov.seed(snov.other, **OLD)
    skip = settings_of(snov.target, existing_prospect="skip")
    outcome = snov.sync(booking_event(), settings=skip)
    # The person must end up in the target list (rule 8): a profile of their own there.
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert snov.member().full_name == "Jane Doe"
    (untouched,) = snov.profiles(JANE, snov.other)
    assert untouched == elsewhere
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 1)
    assert snov.bodies()[0]["createDuplicates"] is True


@pytest.mark.parametrize("kind", STATUS_KINDS)
def test_rule_5_skip_still_writes_a_known_members_status(snov: Snov, kind: str) -> None:
    skip = settings_of(snov.target, existing_prospect="skip")
    snov.sync(booking_event(), settings=skip)
    outcome = snov.sync(booking_event(kind, at="2025-03-15T09:30:00Z"), settings=skip)
    assert reason_of(outcome) == ("synced", "status_updated")
    assert snov.member().custom_fields[STATUS_FIELD] == LABELS[kind]


def test_rule_5_skip_writes_the_status_of_a_prospect_the_store_does_not_know(
    snov: Snov,
) -> None:
    snov.seed(snov.target, **OLD)
    skip = settings_of(snov.target, existing_prospect="skip")
    outcome = snov.sync(booking_event("booking.no_show"), settings=skip)
    assert reason_of(outcome) == ("synced", "status_updated")
    assert snov.member().custom_fields[STATUS_FIELD] == "No-show"


def test_rule_5_skip_writes_only_the_status_of_an_existing_prospect(snov: Snov) -> None:
    snov.seed(snov.target, **OLD)
    skip = settings_of(snov.target, existing_prospect="skip")
    outcome = snov.sync(booking_event("booking.canceled"), settings=skip)
    assert reason_of(outcome) == ("synced", "status_updated")
    jane = snov.member()
    assert jane.custom_fields[STATUS_FIELD] == "Meeting canceled"
    assert (jane.full_name, jane.company_name, jane.phones) == ("Old Name", "Old Co", ("+100",))


def test_rule_5_skip_status_event_does_not_overwrite_another_lists_profile(snov: Snov) -> None:
    elsewhere = snov.seed(snov.other, **OLD)
    skip = settings_of(snov.target, existing_prospect="skip")
    outcome = snov.sync(booking_event("booking.canceled"), settings=skip)
    assert reason_of(outcome) == ("synced", "status_updated")
    assert snov.member().custom_fields[STATUS_FIELD] == "Meeting canceled"
    (untouched,) = snov.profiles(JANE, snov.other)
    assert untouched == elsewhere


# ---- rule 6: status events ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", STATUS_KINDS)
def test_rule_6_status_event_writes_only_the_label_and_host_email(
    mocked: Sync, httpx_mock: HTTPXMock, kind: str
) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body())
    expect_add(httpx_mock, status_body(kind), reply=UPDATED)
    mocked(booking_event())
    outcome = mocked(booking_event(kind, at="2025-03-15T09:30:00Z"))
    assert reason_of(outcome) == ("synced", "status_updated")
    assert outcome["message"] == (
        f"Updated {JANE} in the Snov.io list with the meeting's new status."
    )
    assert "prospect_id" not in outcome


@pytest.mark.parametrize("kind", STATUS_KINDS)
def test_rule_6_status_event_without_host_email_field_writes_the_label(
    mocked: Sync, httpx_mock: HTTPXMock, kind: str
) -> None:
    settings = settings_of(LIST_ID, host_email_field=None)
    expect_token(httpx_mock)
    expect_add(
        httpx_mock,
        {
            **JANE_DETAILS,
            "customFields": {TOPICS_FIELD: "pricing, integrations", STATUS_FIELD: "Meeting booked"},
        },
    )
    expect_add(
        httpx_mock,
        {"email": JANE, "customFields": {STATUS_FIELD: LABELS[kind]}, "updateContact": True},
        reply=UPDATED,
    )
    mocked(booking_event(), settings=settings)
    outcome = mocked(booking_event(kind, at="2025-03-15T09:30:00Z"), settings=settings)
    assert reason_of(outcome) == ("synced", "status_updated")


@pytest.mark.parametrize("kind", STATUS_KINDS)
def test_rule_6_status_event_without_lifecycle_field_is_skipped(
    mocked: Sync, httpx_mock: HTTPXMock, kind: str
) -> None:
    settings = settings_of(LIST_ID, lifecycle_status_field=None)
    outcome = mocked(booking_event(kind), settings=settings)
    assert reason_of(outcome) == ("skipped", "no_lifecycle_field")
    assert "lifecycle status field" in outcome["message"]


@pytest.mark.parametrize("kind", STATUS_KINDS)
def test_rule_6_status_lands_on_the_member_in_snov(snov: Snov, kind: str) -> None:
    snov.sync(booking_event())
    outcome = snov.sync(
        booking_event(kind, at="2025-03-15T09:30:00Z", host_email="sam@acme.example")
    )
    assert reason_of(outcome) == ("synced", "status_updated")
    jane = snov.member()
    assert jane.custom_fields[STATUS_FIELD] == LABELS[kind]
    assert jane.custom_fields[HOST_FIELD] == "sam@acme.example"
    assert jane.company_name == "Example GmbH"
    assert snov.bodies()[1] == {
        "listId": snov.target,
        "email": JANE,
        "customFields": {STATUS_FIELD: LABELS[kind], HOST_FIELD: "sam@acme.example"},
        "updateContact": True,
    }
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (2, 0)


# ---- rule 7: routing forms ----------------------------------------------------------------------

FORM_ROWS = [
    {"source": "routing_form_field:company", "target": "prospect.company"},
    {"source": "routing_form_field:interests", "target": "prospect.cf_Interests"},
    {"source": "routing_form_field:team-size", "target": f"prospect.cf_{TOPICS_FIELD}"},
]


def test_rule_7_routing_form_sends_the_respondent_and_the_form_rows(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(
        httpx_mock,
        {
            "email": "lee@example.co.uk",
            "fullName": "Lee Chen",
            "phones": ["+441234"],
            "companyName": "Example Ltd",
            "customFields": {"Interests": "crm, calendar", TOPICS_FIELD: "11-50"},
        },
    )
    settings = settings_of(
        LIST_ID,
        triggers={"routing_form_submitted": True},
        field_mappings=[*LOCKED_ROWS, *ADMIN_ROWS, *FORM_ROWS],
    )
    event = form_event(
        respondent={"email": "lee@example.co.uk", "name": "Lee Chen", "phone": "+441234"},
        fields={"company": "Example Ltd", "interests": ["crm", "calendar"], "team-size": "11-50"},
    )
    outcome = mocked(event, settings=settings)
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert outcome["email"] == "lee@example.co.uk"


def test_rule_7_respondent_lands_in_the_list(snov: Snov) -> None:
    settings = settings_of(
        snov.target,
        triggers={"routing_form_submitted": True},
        field_mappings=[*LOCKED_ROWS, FORM_ROWS[0], FORM_ROWS[2]],
    )
    outcome = snov.sync(
        form_event(fields={"company": "Example Ltd", "team-size": "11-50"}), settings=settings
    )
    assert reason_of(outcome) == ("synced", "prospect_added")
    lee = snov.member("lee@example.co.uk")
    assert (lee.full_name, lee.company_name) == ("Lee Chen", "Example Ltd")
    assert lee.custom_fields == {TOPICS_FIELD: "11-50"}
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 0)


# ---- rule 8: membership -------------------------------------------------------------------------


def test_rule_8_new_email_costs_one_add(snov: Snov) -> None:
    assert reason_of(snov.sync(booking_event())) == ("synced", "prospect_added")
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 0)
    assert "updateContact" not in snov.bodies()[0]
    assert "createDuplicates" not in snov.bodies()[0]


def test_a_sync_that_adds_someone_refreshes_the_forms_list_counts(
    snov: Snov, hook: pluggy.HookRelay
) -> None:
    # The form's choices are cached for CHOICES_TTL; the clock stands still, so only the
    # add itself can make the form read the lists again.
    snov.sync.host = Host(store=MemoryStore(clock=ManualClock()))
    snov.seed(snov.target, "someone@example.com")

    def target_title() -> str:
        form = hook.render_settings_schema(
            integration="snov", connection=snov.sync.connection, host=snov.sync.host
        )
        options = form["schema"]["properties"]["target_list_id"]["oneOf"]
        return next(item["title"] for item in options if item["const"] == snov.target)

    assert target_title() == "42min bookings (1 prospect)"
    assert reason_of(snov.sync(booking_event())) == ("synced", "prospect_added")
    assert target_title() == "42min bookings (2 prospects)"
    # An update adds nobody: the cached choices stay, with no new read of the lists.
    reads = snov.calls(LISTS)
    later = booking_event(at="2025-03-14T10:30:00Z")
    assert reason_of(snov.sync(later)) == ("synced", "prospect_updated")
    assert target_title() == "42min bookings (2 prospects)"
    assert snov.calls(LISTS) == reads


def test_rule_8_email_in_the_target_list_but_unknown_is_updated(snov: Snov) -> None:
    snov.seed(snov.target, **OLD)
    assert reason_of(snov.sync(booking_event())) == ("synced", "prospect_updated")
    assert snov.member().full_name == "Jane Doe"
    assert [request.status for request in snov.emulator.state.requests(path=ADD)] == [422, 200]
    assert snov.bodies()[1]["updateContact"] is True
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (2, 0)


def test_rule_8_email_in_another_list_gets_a_profile_in_the_target_list(snov: Snov) -> None:
    snov.seed(snov.other, **OLD)
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert "another Snov.io list" in outcome["message"]
    jane = snov.member()
    assert outcome["prospect_id"] == jane.id
    assert jane.full_name == "Jane Doe"
    assert jane.custom_fields[STATUS_FIELD] == "Meeting booked"
    assert len(snov.profiles(JANE, snov.other)) == 1
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (2, 0)
    assert snov.bodies()[1]["createDuplicates"] is True


def test_rule_8_known_members_status_costs_one_update(snov: Snov) -> None:
    snov.sync(booking_event())
    outcome = snov.sync(booking_event("booking.canceled", at="2025-03-15T09:30:00Z"))
    assert reason_of(outcome) == ("synced", "status_updated")
    assert snov.member().custom_fields[STATUS_FIELD] == "Meeting canceled"
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (2, 0)
    assert snov.bodies()[1] == {"listId": snov.target, **status_body("booking.canceled")}


def test_rule_8_when_update_contact_does_not_update_the_same_list_it_fails(snov: Snov) -> None:
    snov.emulator.configure(update_contact_updates_same_list=False)
    snov.seed(snov.target, **OLD)
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("failed", "snov_rejected")
    assert JANE in outcome["message"]
    assert "already" in outcome["message"]
    assert "blocked_on" not in outcome
    assert_old(snov.member())
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (2, 0)
    # The store now knows Jane is a member; her status write fails the same way, in one call.
    status = snov.sync(booking_event("booking.canceled", at="2025-03-15T09:30:00Z"))
    assert reason_of(status) == ("failed", "snov_rejected")
    assert snov.calls(ADD) == 3


def test_rule_8_a_member_removed_inside_snov_is_found_out_when_the_mark_runs_out(
    snov: Snov,
) -> None:
    # The store learned Jane was a member; since then her profile in the target list was
    # removed in Snov.io, and her email lives only in another list. Snov.io's answer to an
    # update cannot tell the two lists apart, so the membership mark is trusted only for
    # MEMBER_TTL: after that the full path runs and puts her back into the list.
    clock = ManualClock()
    snov.sync.host = Host(store=MemoryStore(clock=clock))
    snov.sync.remember_member(snov.target, JANE)
    snov.seed(snov.other, **OLD)
    clock.advance(MEMBER_TTL)
    outcome = snov.sync(booking_event("booking.canceled"))
    assert reason_of(outcome) == ("synced", "status_updated")
    assert snov.profiles(JANE, snov.target)


def test_rule_8_flags_422_then_update_contact(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body(), status=422, reply=ALREADY_IN_LIST)
    expect_add(httpx_mock, {**jane_body(), "updateContact": True}, reply=UPDATED)
    outcome = mocked(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_updated")
    assert (
        outcome["message"] == f"Updated {JANE}, already in the Snov.io list, with the new details."
    )


def test_rule_8_flags_added_false_then_create_duplicates(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body(), reply=UPDATED)
    expect_add(httpx_mock, {**jane_body(), "createDuplicates": True})
    outcome = mocked(booking_event())
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert outcome["prospect_id"] == "0Y2QzowWL1rHpIptwaRp0Q=="


def test_rule_8_a_duplicate_not_added_is_not_synced(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body(), reply=UPDATED)
    expect_add(httpx_mock, {**jane_body(), "createDuplicates": True}, reply=UPDATED)
    outcome = mocked(booking_event())
    assert reason_of(outcome) == ("failed", "snov_rejected")
    assert "did not add" in outcome["message"]


def test_rule_8_an_update_refused_after_422_is_not_synced(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body(), status=422, reply=ALREADY_IN_LIST)
    expect_add(
        httpx_mock, {**jane_body(), "updateContact": True}, status=422, reply=ALREADY_IN_LIST
    )
    assert mocked(booking_event())["status"] == "failed"


def test_rule_8_skip_flags_lookup_then_create_duplicates(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}{BY_EMAIL}",
        match_headers={"Authorization": f"Bearer {TOKEN}"},
        match_json={"email": JANE},
        json={
            "success": True,
            "data": [{"id": "elsewhere", "lists": [{"id": 9, "name": "Other"}]}],
        },
    )
    expect_add(httpx_mock, {**jane_body(), "createDuplicates": True})
    settings = settings_of(LIST_ID, existing_prospect="skip")
    assert reason_of(mocked(booking_event(), settings=settings)) == ("synced", "prospect_added")


# ---- rule 9: Snov.io problems -------------------------------------------------------------------


def test_rule_9_rejected_credentials_fail_blocked_on_credentials(snov: Snov) -> None:
    snov.emulator.state.revoke_credentials(snov.client_id)
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("failed", "credentials_rejected")
    assert outcome["blocked_on"] == "credentials"
    assert "reconnect" in outcome["message"]
    assert snov.calls(ADD) == 0


def test_rule_9_credentials_revoked_after_a_token_was_cached(snov: Snov) -> None:
    snov.sync(booking_event())
    snov.emulator.state.revoke_credentials(snov.client_id)
    outcome = snov.sync(booking_event("booking.canceled", at="2025-03-15T09:30:00Z"))
    assert reason_of(outcome) == ("failed", "credentials_rejected")
    assert outcome["blocked_on"] == "credentials"


def test_rule_9_deleted_target_list_fails_blocked_on_settings(snov: Snov) -> None:
    snov.emulator.state.delete_list(snov.client_id, snov.target)
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("failed", "list_not_found")
    assert outcome["blocked_on"] == "settings"
    assert str(snov.target) in outcome["message"]
    assert outcome["list_id"] == snov.target
    assert snov.profiles(JANE) == []


def test_rule_9_missing_custom_field_fails_naming_it(snov: Snov) -> None:
    rows = [
        *LOCKED_ROWS,
        {"source": "invitee_form_question:industry", "target": "prospect.cf_Industry"},
    ]
    settings = settings_of(snov.target, field_mappings=rows)
    outcome = snov.sync(booking_event(answers={"industry": "Software"}), settings=settings)
    assert reason_of(outcome) == ("failed", "custom_field_not_found")
    assert outcome["blocked_on"] == "settings"
    assert "'Industry'" in outcome["message"]
    assert STATUS_FIELD not in outcome["message"]
    assert snov.profiles(JANE) == []


def test_rule_9_missing_lifecycle_field_fails_naming_it(snov: Snov) -> None:
    settings = settings_of(snov.target, lifecycle_status_field="Deal stage")
    outcome = snov.sync(booking_event(), settings=settings)
    assert reason_of(outcome) == ("failed", "custom_field_not_found")
    assert "'Deal stage'" in outcome["message"]


def test_rule_9_rate_limited_is_deferred_with_retry_after(snov: Snov) -> None:
    snov.emulator.set_rate_limit(1)  # the token request spends it
    # One attempt: the client's in-place retry would wait out the pause after a 429.
    with stamina.set_testing(True, attempts=1):
        outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("deferred", "rate_limited")
    assert outcome["retry_after"] > 0
    assert [request.status for request in snov.emulator.state.requests(path=ADD)] == [429]
    # Nothing landed, so the retry need not look the person up before adding.
    assert snov.sync.marks(snov.target, JANE).step(outcome["event_id"]) is None


def test_rule_9_server_errors_on_every_attempt_are_deferred(snov: Snov) -> None:
    snov.emulator.state.fail_next(3, status=503, path=ADD)
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("deferred", "snov_unavailable")
    assert outcome["retry_after"] == 60
    assert snov.calls(ADD) == 3
    assert snov.profiles(JANE) == []


def test_rule_9_a_server_error_retried_in_place_syncs(snov: Snov) -> None:
    snov.emulator.state.fail_next(1, status=502, path=ADD)
    assert reason_of(snov.sync(booking_event())) == ("synced", "prospect_added")
    assert snov.calls(ADD) == 2
    snov.member()


def test_rule_9_dropped_connections_are_deferred(snov: Snov) -> None:
    snov.emulator.state.drop_next(3, path=ADD)
    outcome = snov.sync(booking_event())
    assert reason_of(outcome) == ("deferred", "snov_unavailable")
    assert snov.calls(ADD) == 3


def test_rule_9_expired_token_is_renewed_transparently(snov: Snov) -> None:
    snov.sync(booking_event())
    snov.emulator.state.expire_tokens(snov.client_id)
    outcome = snov.sync(booking_event("booking.canceled", at="2025-03-15T09:30:00Z"))
    assert reason_of(outcome) == ("synced", "status_updated")
    assert snov.calls(TOKEN_PATH) == 2


def test_rule_9_other_rejection_fails_with_snovs_message(snov: Snov) -> None:
    # Passes the plugin's own email check, but not Snov.io's.
    outcome = snov.sync(booking_event(invitee=invitee_of("jane@example..com")))
    assert reason_of(outcome) == ("failed", "snov_rejected")
    assert "Invalid email format" in outcome["message"]
    assert "blocked_on" not in outcome


def test_rule_9_other_rejection_pinned(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    expect_token(httpx_mock)
    expect_add(
        httpx_mock,
        jane_body(),
        status=400,
        reply={"success": False, "errors": "Prospects limit for your plan is reached"},
    )
    outcome = mocked(booking_event())
    assert reason_of(outcome) == ("failed", "snov_rejected")
    assert outcome["message"] == (
        f"Snov.io refused to write {JANE}: Prospects limit for your plan is reached"
    )


def test_rule_9_secrets_snov_echoes_are_not_in_the_outcome(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_add(
        httpx_mock,
        jane_body(),
        status=400,
        reply={"success": False, "errors": f"token {TOKEN} of secret {SECRET} is odd"},
    )
    outcome = mocked(booking_event())  # Sync checks the secret and token are absent
    assert reason_of(outcome) == ("failed", "snov_rejected")
    assert TOKEN not in outcome["message"]


@pytest.mark.parametrize("prospect_id", ["", "id with spaces"])
def test_rule_9_an_odd_prospect_id_from_snov_does_not_escape(
    mocked: Sync, httpx_mock: HTTPXMock, prospect_id: str
) -> None:
    expect_token(httpx_mock)
    reply = {"success": True, "id": prospect_id, "added": True, "updated": False}
    expect_add(httpx_mock, jane_body(), reply=reply)
    assert reason_of(mocked(booking_event())) == ("synced", "prospect_added")


# ---- rule 10: idempotency -----------------------------------------------------------------------


def test_rule_10_the_same_event_again_makes_no_second_write(snov: Snov) -> None:
    event = booking_event()
    assert reason_of(snov.sync(event)) == ("synced", "prospect_added")
    again = snov.sync(event)
    assert reason_of(again) == ("skipped", "duplicate_event")
    # Another worker sharing the store sees the same mark.
    other_worker = snov.sync(event, host=Host(store=snov.sync.host.store))
    assert reason_of(other_worker) == ("skipped", "duplicate_event")
    assert snov.calls(ADD) == 1


def test_rule_10_a_deferred_event_runs_again(snov: Snov) -> None:
    event = booking_event()
    snov.emulator.state.fail_next(3, status=503, path=ADD)
    assert snov.sync(event)["status"] == "deferred"
    assert reason_of(snov.sync(event)) == ("synced", "prospect_added")
    assert snov.calls(ADD) == 4
    snov.member()


def test_rule_10_a_failed_event_runs_again_once_fixed(snov: Snov) -> None:
    event = booking_event()
    snov.emulator.state.revoke_credentials(snov.client_id)
    assert snov.sync(event)["status"] == "failed"
    snov.emulator.state.restore_credentials(snov.client_id)
    assert reason_of(snov.sync(event)) == ("synced", "prospect_added")
    snov.member()


def test_rule_10_a_skipped_existing_prospect_is_final(snov: Snov) -> None:
    snov.seed(snov.target, **OLD)
    skip = settings_of(snov.target, existing_prospect="skip")
    event = booking_event()
    assert snov.sync(event, settings=skip)["reason"] == "existing_prospect_skipped"
    assert reason_of(snov.sync(event, settings=skip)) == ("skipped", "duplicate_event")
    assert snov.calls(BY_EMAIL) == 1


# ---- rule 11: ordering --------------------------------------------------------------------------


def test_rule_11_created_retried_after_a_cancel_is_stale(snov: Snov) -> None:
    created = booking_event(at="2025-03-14T09:00:00Z")
    # Refused outright (never written), so the person is free for the cancel at once.
    missing_field = settings_of(snov.target, host_email_field="No such field")
    assert reason_of(snov.sync(created, settings=missing_field)) == (
        "failed",
        "custom_field_not_found",
    )
    canceled = booking_event("booking.canceled", at="2025-03-14T10:00:00Z")
    assert reason_of(snov.sync(canceled)) == ("synced", "status_updated")
    writes = snov.calls(ADD)
    retried = snov.sync(created)
    assert reason_of(retried) == ("skipped", "stale_event")
    assert snov.calls(ADD) == writes
    assert snov.member().custom_fields[STATUS_FIELD] == "Meeting canceled"


def test_rule_11_a_write_whose_answer_was_lost_holds_the_person_until_its_retry(
    snov: Snov,
) -> None:
    snov.sync(booking_event(at="2025-03-14T09:00:00Z"))
    rescheduled = booking_event("booking.rescheduled", at="2025-03-14T10:00:00Z")
    snov.emulator.state.fail_next(3, status=503, path=ADD)  # may or may not have landed
    assert reason_of(snov.sync(rescheduled)) == ("deferred", "snov_unavailable")
    canceled = booking_event("booking.canceled", at="2025-03-14T11:00:00Z")
    assert reason_of(snov.sync(canceled)) == ("deferred", "in_progress")
    assert reason_of(snov.sync(rescheduled)) == ("synced", "status_updated")
    assert reason_of(snov.sync(canceled)) == ("synced", "status_updated")
    assert snov.member().custom_fields[STATUS_FIELD] == "Meeting canceled"


def test_rule_11_a_reschedule_older_than_the_cancel_does_not_win(snov: Snov) -> None:
    snov.sync(booking_event(at="2025-03-14T09:00:00Z"))
    snov.sync(booking_event("booking.canceled", at="2025-03-14T11:00:00Z"))
    late = snov.sync(booking_event("booking.rescheduled", at="2025-03-14T10:00:00+00:00"))
    assert reason_of(late) == ("skipped", "stale_event")
    assert snov.member().custom_fields[STATUS_FIELD] == "Meeting canceled"
    # A newer event still applies (written in another time zone).
    assert (
        snov.sync(booking_event("booking.no_show", at="2025-03-14T13:00:00+01:00"))["reason"]
        == "status_updated"
    )
    assert snov.member().custom_fields[STATUS_FIELD] == "No-show"
    assert snov.calls(ADD) == 3


def test_rule_11_ordering_is_per_person(snov: Snov) -> None:
    snov.sync(booking_event("booking.canceled", at="2025-03-14T11:00:00Z"))
    bob = booking_event(at="2025-03-14T09:00:00Z", invitee=invitee_of("bob@example.com"))
    assert reason_of(snov.sync(bob)) == ("synced", "prospect_added")


# ---- rule 12: bad input -------------------------------------------------------------------------


def _without(document: dict[str, Any], *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return copy


BAD_EVENTS = [
    pytest.param(
        _without(booking_event(event_id="evt_bad"), "occurred_at"),
        "/occurred_at",
        "required",
        id="missing",
    ),
    pytest.param(
        {**booking_event(event_id="evt_bad"), "type": "booking.deleted"},
        "/type",
        "Use one of",
        id="type",
    ),
    pytest.param(
        {**booking_event(event_id="evt_bad"), "occurred_at": "2025-03-14 09:30"},
        "/occurred_at",
        "RFC 3339",
        id="date",
    ),
    pytest.param(
        booking_event(event_id="evt_bad", invitee={"email": JANE, "age": 40}),
        "/booking/invitee/age",
        "not allowed",
        id="extra",
    ),
    pytest.param(
        booking_event(event_id="evt_bad", answers={"topics": [1, 2]}),
        "/booking/answers/topics",
        "string",
        id="answer",
    ),
]


@pytest.mark.parametrize(("event", "pointer", "why"), BAD_EVENTS)
def test_rule_12_invalid_event_names_the_pointer_and_reason(
    mocked: Sync, httpx_mock: HTTPXMock, event: dict[str, Any], pointer: str, why: str
) -> None:
    outcome = mocked(event)
    assert reason_of(outcome) == ("failed", "invalid_event")
    assert f"{pointer}: " in outcome["message"]
    assert why in outcome["message"]
    assert "blocked_on" not in outcome


@pytest.mark.parametrize("event", [None, "evt", [], 42, {}])
def test_rule_12_an_event_that_is_not_an_event_fails(
    mocked: Sync, httpx_mock: HTTPXMock, event: Any
) -> None:
    outcome = mocked(event)
    assert reason_of(outcome) == ("failed", "invalid_event")


SETTINGS_PROBLEMS = [
    pytest.param({"target_list_id": "12"}, "/target_list_id", id="string-id"),
    pytest.param({"target_list_id": 0}, "/target_list_id", id="zero-id"),
    pytest.param({"existing_prospect": "merge"}, "/existing_prospect", id="existing"),
    pytest.param(
        {"triggers": {"booking_created": "yes"}}, "/triggers/booking_created", id="trigger"
    ),
    pytest.param(
        {"field_mappings": [*LOCKED_ROWS, {"source": "person.email", "target": "prospect.salary"}]},
        "/field_mappings/3/target",
        id="target",
    ),
    pytest.param({"colour": "red"}, "/colour", id="extra"),
]


@pytest.mark.parametrize(("change", "pointer"), SETTINGS_PROBLEMS)
def test_rule_12_invalid_settings_name_the_pointer(
    mocked: Sync, httpx_mock: HTTPXMock, change: dict[str, Any], pointer: str
) -> None:
    outcome = mocked(booking_event(), settings=settings_of(LIST_ID, **change))
    assert reason_of(outcome) == ("failed", "invalid_settings")
    assert outcome["blocked_on"] == "settings"
    assert f"{pointer}: " in outcome["message"]


def test_rule_12_settings_that_are_not_an_object_fail(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    for settings in (None, [], "x"):
        outcome = mocked(booking_event(), settings=settings)
        assert reason_of(outcome) == ("failed", "invalid_settings")


@pytest.mark.parametrize(
    "connection",
    [
        pytest.param({}, id="empty"),
        pytest.param({"integration": "snov", "api_user_id": USER_ID}, id="no-secret"),
        pytest.param({**connection_of(USER_ID, SECRET), "integration": "hubspot"}, id="slug"),
        pytest.param(connection_of(USER_ID, "my secret with spaces"), id="malformed-secret"),
        pytest.param(None, id="null"),
    ],
)
def test_rule_12_unusable_connection_fails_blocked_on_credentials(
    mocked: Sync, httpx_mock: HTTPXMock, connection: Any
) -> None:
    outcome = mocked(booking_event(), connection=connection)
    assert reason_of(outcome) == ("failed", "invalid_connection")
    assert outcome["blocked_on"] == "credentials"
    assert "connect Snov.io again" in outcome["message"]
    assert "my secret with spaces" not in json.dumps(outcome)


@pytest.mark.parametrize("email", ["jane", "jane@example", "jane doe@example.com", "@example.com"])
def test_rule_12_a_malformed_invitee_email_fails(
    mocked: Sync, httpx_mock: HTTPXMock, email: str
) -> None:
    outcome = mocked(booking_event(invitee=invitee_of(email)))
    assert reason_of(outcome) == ("failed", "invalid_event")
    assert "/booking/invitee/email" in outcome["message"]
    assert outcome["email"] == email


def test_rule_12_a_malformed_respondent_email_fails(mocked: Sync, httpx_mock: HTTPXMock) -> None:
    settings = settings_of(LIST_ID, triggers={"routing_form_submitted": True})
    outcome = mocked(form_event(respondent={"email": "lee"}), settings=settings)
    assert reason_of(outcome) == ("failed", "invalid_event")
    assert "/routing_form/respondent/email" in outcome["message"]


# ---- rule 13: cost -------------------------------------------------------------------------------


def test_rule_13_one_call_per_synced_event_in_a_burst(snov: Snov) -> None:
    people = [f"person{number}@example.com" for number in range(10)]
    outcomes = [
        snov.sync(booking_event(at="2025-03-14T09:00:00Z", invitee=invitee_of(email)))
        for email in people
    ] + [
        snov.sync(
            booking_event("booking.canceled", at="2025-03-14T10:00:00Z", invitee=invitee_of(email))
        )
        for email in people
    ]
    assert [reason_of(outcome) for outcome in outcomes] == (
        [("synced", "prospect_added")] * 10 + [("synced", "status_updated")] * 10
    )
    assert (snov.calls(ADD), snov.calls(BY_EMAIL), snov.calls(TOKEN_PATH)) == (20, 0, 1)
    for email in people:
        assert snov.member(email).custom_fields[STATUS_FIELD] == "Meeting canceled"


# ---- the person lock ----------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
def two_handles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Two workers' handles on one shared store (one object for the memory store)."""
    if request.param == "memory":
        store = MemoryStore()
        yield store, store
    elif request.param == "sqlite":
        first, second = SqliteStore(tmp_path / "store.db"), SqliteStore(tmp_path / "store.db")
        yield first, second
        first.close()
        second.close()
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix: str = request.getfixturevalue("redis_prefix")
        first_redis = RedisStore.from_url(server.url, prefix=prefix)
        second_redis = RedisStore.from_url(server.url, prefix=prefix)
        yield first_redis, second_redis
        first_redis.close()
        second_redis.close()


def test_events_meeting_another_workers_write_are_deferred(
    mocked: Sync, httpx_mock: HTTPXMock, two_handles: tuple[Any, Any]
) -> None:
    """While one worker writes Jane: the same event, or another of hers, waits; Bob's does not.

    On each shared store, the workers with a handle of their own."""
    mocked.host.store, other_handle = two_handles
    second_worker = Host(store=other_handle)
    created = booking_event()
    cancel = booking_event("booking.canceled", at="2025-03-15T09:30:00Z")
    bob = booking_event(
        invitee=invitee_of("bob@example.com", name="Bob", first_name="Bob", last_name="Roe")
    )
    during: dict[str, dict[str, Any]] = {}

    def while_jane_is_written(request: httpx.Request) -> httpx.Response:
        during["same event"] = mocked(created, host=second_worker)
        during["jane"] = mocked(cancel, host=second_worker)
        during["bob"] = mocked(bob, host=second_worker)
        return httpx.Response(
            200, json={"success": True, "id": "jane-1", "added": True, "updated": False}
        )

    expect_token(httpx_mock)
    httpx_mock.add_callback(
        while_jane_is_written,
        method="POST",
        url=f"{API}{ADD}",
        match_json={"listId": LIST_ID, **jane_body()},
    )
    httpx_mock.add_response(
        method="POST",
        url=f"{API}{ADD}",
        match_json={
            "listId": LIST_ID,
            **jane_body(),
            "email": "bob@example.com",
            "fullName": "Bob",
            "firstName": "Bob",
            "lastName": "Roe",
        },
        json={"success": True, "id": "bob-1", "added": True, "updated": False},
    )
    assert reason_of(mocked(created)) == ("synced", "prospect_added")
    for held in ("same event", "jane"):
        assert reason_of(during[held]) == ("deferred", "in_progress")
        assert during[held]["retry_after"] > 0
    assert reason_of(during["bob"]) == ("synced", "prospect_added")
    # Once done, the same event is a duplicate; the lock is released and the deferred
    # event's id freed, so it runs now.
    assert reason_of(mocked(created)) == ("skipped", "duplicate_event")
    expect_add(httpx_mock, status_body("booking.canceled"), reply=UPDATED)
    assert reason_of(mocked(cancel)) == ("synced", "status_updated")


def test_the_step_is_in_the_store_when_the_add_reaches_snov(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    """The step rides with the add's permit, one round trip instead of two: it is written
    before the request leaves, or a worker killed mid-request could add twice."""
    event = booking_event()
    seen: list[str | None] = []

    def add(request: httpx.Request) -> httpx.Response:
        seen.append(mocked.marks(LIST_ID, JANE).step(event["id"]))
        return httpx.Response(
            200, json={"success": True, "id": "jane-1", "added": True, "updated": False}
        )

    expect_token(httpx_mock)
    httpx_mock.add_callback(add, method="POST", url=f"{API}{ADD}")
    assert reason_of(mocked(event)) == ("synced", "prospect_added")
    assert seen == ["add"]
    assert mocked.marks(LIST_ID, JANE).step(event["id"]) is None  # gone once final


def test_an_event_that_sends_nothing_gives_back_the_ticket_its_claim_drew(
    mocked: Sync, httpx_mock: HTTPXMock
) -> None:
    """The claim draws the first request's ticket; a duplicate sends no request, and its
    ticket goes back, so the next request aims at the oldest permit."""
    event = booking_event()
    expect_token(httpx_mock)
    expect_add(httpx_mock, jane_body())
    mocked(event)
    tickets = f"snov:rate:{USER_ID}:tickets"
    drawn = mocked.host.store.get(tickets)
    assert drawn == "2"  # the token's request and the add's
    assert reason_of(mocked(event)) == ("skipped", "duplicate_event")
    assert mocked.host.store.get(tickets) == drawn


# ---- a worker killed mid-sync: the retry goes on from the step the attempt noted --------


def test_retry_after_an_add_that_landed_looks_instead_of_adding_again(snov: Snov) -> None:
    event = booking_event()
    snov.seed(snov.target)  # the dead attempt's add reached Snov.io
    snov.sync.marks(snov.target, JANE).note_step(event["id"], "add")
    outcome = snov.sync(event)
    assert reason_of(outcome) == ("synced", "prospect_added")
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (0, 1)
    assert len(snov.profiles(JANE, snov.target)) == 1


def test_retry_after_an_add_that_never_left_adds_after_the_look(snov: Snov) -> None:
    event = booking_event()
    snov.sync.marks(snov.target, JANE).note_step(event["id"], "add")
    assert reason_of(snov.sync(event)) == ("synced", "prospect_added")
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 1)
    assert len(snov.profiles(JANE, snov.target)) == 1


def test_retry_after_an_add_met_another_list_goes_straight_to_the_duplicate(snov: Snov) -> None:
    event = booking_event()
    snov.seed(snov.other, **OLD)
    snov.sync.marks(snov.target, JANE).note_step(event["id"], "duplicate")
    assert reason_of(snov.sync(event)) == ("synced", "prospect_added")
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 0)
    assert snov.bodies()[0]["createDuplicates"] is True
    assert len(snov.profiles(JANE, snov.target)) == 1


def test_retry_after_the_duplicate_landed_does_not_make_a_second_one(snov: Snov) -> None:
    event = booking_event()
    snov.seed(snov.other, **OLD)
    snov.seed(snov.target)  # the dead attempt's createDuplicates reached Snov.io
    snov.sync.marks(snov.target, JANE).note_step(event["id"], "duplicate")
    assert snov.sync(event)["status"] == "synced"
    assert len(snov.profiles(JANE, snov.target)) == 1


def test_retry_after_a_422_goes_straight_to_the_update(snov: Snov) -> None:
    event = booking_event()
    snov.seed(snov.target, **OLD)
    snov.sync.marks(snov.target, JANE).note_step(event["id"], "update")
    assert reason_of(snov.sync(event)) == ("synced", "prospect_updated")
    assert (snov.calls(ADD), snov.calls(BY_EMAIL)) == (1, 0)
    assert snov.bodies()[0]["updateContact"] is True
    assert snov.member().full_name == "Jane Doe"


def test_steps_are_forgotten_once_the_event_is_final(snov: Snov) -> None:
    event = booking_event()
    marks = snov.sync.marks(snov.target, JANE)
    marks.note_step(event["id"], "update")
    snov.seed(snov.target)
    snov.sync(event)
    assert marks.step(event["id"]) is None

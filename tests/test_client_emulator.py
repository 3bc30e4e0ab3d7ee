"""SnovClient against the Snov.io emulator over real HTTP: every endpoint and every quirk.

The mocked tests in test_snov_client.py pin the bytes the client sends; these check that the
client and the emulator agree end to end, including the emulator's state behind each answer.
Clients get a high rate limit of their own (so only the emulator throttles) unless a test is
about the limit, and retries run without stamina's sleeps.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from fortytwomin_snov.contract.errors import IntegrationError
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.snov import SnovClient
from fortytwomin_snov.snov.errors import (
    CredentialsRejected,
    CustomFieldNotFound,
    ListNotFound,
    RateLimited,
    SnovRejected,
    SnovServerError,
    SnovUnreachable,
)
from fortytwomin_snov.testing import Credentials, ManualClock, ProspectList, SnovEmulator

HIGH_LIMIT = 10_000
TOKEN = "/v1/oauth/access_token"
BALANCE = "/v1/get-balance"
LISTS = "/v1/get-user-lists"
CREATE_LIST = "/v1/lists"
ADD = "/v1/add-prospect-to-list"
BY_EMAIL = "/v1/get-prospects-by-email"
MEETING_STATUS = "Meeting status"
EMAIL = "ada@example.com"


@pytest.fixture
def account(snov_emulator: SnovEmulator) -> Credentials:
    return snov_emulator.add_account()


@pytest.fixture
def connect(account: Credentials) -> Iterator[Callable[..., SnovClient]]:
    """Builds clients of ``account``, reaching the emulator through the environment."""
    opened: list[SnovClient] = []

    def build(**overrides: Any) -> SnovClient:
        arguments: dict[str, Any] = {"store": MemoryStore(), "rate_limit": HIGH_LIMIT}
        arguments.update(overrides)
        client = SnovClient(account.client_id, account.client_secret, **arguments)
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.close()


@pytest.fixture
def client(connect: Callable[..., SnovClient]) -> SnovClient:
    return connect()


@pytest.fixture
def target(snov_emulator: SnovEmulator, account: Credentials) -> ProspectList:
    """A list without a campaign, and a "Meeting status" custom field in the account."""
    snov_emulator.state.add_custom_field(account.client_id, MEETING_STATUS)
    return snov_emulator.state.add_list(account.client_id, "42min bookings")


@pytest.fixture
def other(snov_emulator: SnovEmulator, account: Credentials) -> ProspectList:
    return snov_emulator.state.add_list(account.client_id, "Newsletter")


def statuses(emulator: SnovEmulator, path: str) -> list[int | None]:
    """What the emulator answered on ``path``, oldest first (None: dropped on purpose)."""
    return [request.status for request in emulator.state.requests(path=path)]


def assert_free_of(error: BaseException, *secrets: str) -> None:
    """No secret in the error, its arguments or attributes, nor in any error it chains to."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts = [str(current), repr(current), *map(repr, current.args)]
        texts += [repr(value) for value in vars(current).values()]
        for secret in secrets:
            assert not [text for text in texts if secret in text], f"{secret!r} leaked"
        current = current.__cause__ or current.__context__


# ---- account and lists ----------------------------------------------------------------


def test_balance_reaches_the_emulator_named_by_the_environment(
    snov_emulator: SnovEmulator, client: SnovClient
) -> None:
    balance = client.balance()

    assert client.base_url == snov_emulator.base_url
    assert balance.balance == "25000.00"
    assert balance.unique_recipients_used == 0
    assert statuses(snov_emulator, TOKEN) == [200]
    assert statuses(snov_emulator, BALANCE) == [200]


def test_lists_leave_out_the_deleted_lists_the_emulator_returns(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient
) -> None:
    state = snov_emulator.state
    kept = state.add_list(account.client_id, "Kept")
    state.create_prospect(account.client_id, kept.id, {"email": EMAIL})
    state.add_list(account.client_id, "Born deleted", deleted=True)
    removed = state.add_list(account.client_id, "Removed later")
    state.delete_list(account.client_id, removed.id)

    lists = client.lists()

    assert len(state.lists(account.client_id)) == 3  # deleted lists are still served
    assert [(found.id, found.name, found.contacts) for found in lists] == [(kept.id, "Kept", 1)]
    assert not lists[0].deleted


@pytest.mark.parametrize("wrapped", [True, False], ids=["in-array", "bare-object"])
def test_create_list_then_it_is_listed(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, wrapped: bool
) -> None:
    snov_emulator.configure(wrap_list_create_in_array=wrapped)

    created = client.create_list("  42min bookings  ")

    (held,) = snov_emulator.state.lists(account.client_id)
    assert (created.id, created.name) == (held.id, "42min bookings")
    assert held.name == "42min bookings"  # sent trimmed
    assert [(found.id, found.name) for found in client.lists()] == [(held.id, "42min bookings")]


# ---- add_prospect ---------------------------------------------------------------------


def test_add_prospect_creates_the_profile_with_its_fields(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, target: ProspectList
) -> None:
    result = client.add_prospect(
        target.id,
        {
            "email": EMAIL,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "position": "Analyst",
            "company_name": "Engines Ltd",
            "phones": ["+44 20 7946 0000"],
            "socialLinks": {"linkedIn": "https://www.linkedin.com/in/ada"},
            "customFields": {MEETING_STATUS: "Booked"},
        },
    )

    (profile,) = snov_emulator.state.prospects(account.client_id, email=EMAIL)
    assert result.added
    assert not result.updated
    assert not result.already_in_list
    assert result.prospect_id == profile.id
    assert profile.list_id == target.id
    assert (profile.first_name, profile.last_name) == ("Ada", "Lovelace")
    assert (profile.position, profile.company_name) == ("Analyst", "Engines Ltd")
    assert profile.phones == ("+44 20 7946 0000",)
    assert profile.social_links == {"linkedIn": "https://www.linkedin.com/in/ada"}
    assert profile.custom_fields == {MEETING_STATUS: "Booked"}
    assert [(found.id, found.contacts) for found in client.lists()] == [(target.id, 1)]


def test_add_prospect_twice_to_the_same_list_is_already_in_list(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, target: ProspectList
) -> None:
    client.add_prospect(target.id, {"email": EMAIL, "firstName": "Ada"})

    again = client.add_prospect(target.id, {"email": EMAIL, "firstName": "Augusta"})

    assert again.already_in_list
    assert not again.added
    assert not again.updated
    assert statuses(snov_emulator, ADD) == [200, 422]
    (profile,) = snov_emulator.state.prospects(account.client_id, email=EMAIL)
    assert profile.first_name == "Ada"


def test_add_prospect_living_in_another_list_is_updated_there_not_added(
    snov_emulator: SnovEmulator,
    account: Credentials,
    client: SnovClient,
    target: ProspectList,
    other: ProspectList,
) -> None:
    state = snov_emulator.state
    state.create_prospect(account.client_id, other.id, {"email": EMAIL, "position": "Intern"})

    result = client.add_prospect(
        target.id, {"email": EMAIL, "position": "CTO", "customFields": {MEETING_STATUS: "Booked"}}
    )

    assert (result.added, result.updated, result.already_in_list) == (False, True, False)
    assert result.prospect_id is None
    (profile,) = state.prospects(account.client_id, email=EMAIL)
    assert profile.list_id == other.id
    assert state.prospects(account.client_id, list_id=target.id) == []
    assert profile.position == "CTO"
    assert profile.custom_fields == {MEETING_STATUS: "Booked"}


def test_add_prospect_with_create_duplicates_puts_a_second_profile_in_the_list(
    snov_emulator: SnovEmulator,
    account: Credentials,
    client: SnovClient,
    target: ProspectList,
    other: ProspectList,
) -> None:
    state = snov_emulator.state
    first = state.create_prospect(account.client_id, other.id, {"email": EMAIL})

    result = client.add_prospect(target.id, {"email": EMAIL}, create_duplicates=True)

    profiles = state.prospects(account.client_id, email=EMAIL)
    assert result.added
    assert [(profile.id, profile.list_id) for profile in profiles] == [
        (first.id, other.id),
        (result.prospect_id, target.id),
    ]


@pytest.mark.parametrize("updates_same_list", [True, False])
def test_add_prospect_with_update_contact_on_the_same_list(
    snov_emulator: SnovEmulator,
    account: Credentials,
    client: SnovClient,
    target: ProspectList,
    updates_same_list: bool,
) -> None:
    snov_emulator.configure(update_contact_updates_same_list=updates_same_list)
    client.add_prospect(target.id, {"email": EMAIL, "customFields": {MEETING_STATUS: "Booked"}})

    result = client.add_prospect(
        target.id,
        {"email": EMAIL, "customFields": {MEETING_STATUS: "Canceled"}},
        update_contact=True,
    )

    (profile,) = snov_emulator.state.prospects(account.client_id, email=EMAIL)
    assert profile.list_id == target.id
    assert not result.added
    if updates_same_list:
        assert (result.updated, result.already_in_list) == (True, False)
        assert profile.custom_fields == {MEETING_STATUS: "Canceled"}
    else:
        assert (result.updated, result.already_in_list) == (False, True)
        assert profile.custom_fields == {MEETING_STATUS: "Booked"}


@pytest.mark.usefixtures("target")
def test_add_prospect_to_an_unknown_list_is_list_not_found(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient
) -> None:
    with pytest.raises(ListNotFound) as raised:
        client.add_prospect(987_654, {"email": EMAIL})

    assert raised.value.list_id == 987_654
    assert "987654" in str(raised.value)
    assert snov_emulator.state.prospects(account.client_id) == []


def test_add_prospect_to_a_deleted_list_is_list_not_found(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, target: ProspectList
) -> None:
    snov_emulator.state.delete_list(account.client_id, target.id)

    with pytest.raises(ListNotFound) as raised:
        client.add_prospect(target.id, {"email": EMAIL})

    assert raised.value.list_id == target.id
    assert snov_emulator.state.prospects(account.client_id) == []


def test_add_prospect_with_an_unknown_custom_field_names_the_label(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, target: ProspectList
) -> None:
    with pytest.raises(CustomFieldNotFound) as raised:
        client.add_prospect(
            target.id,
            {"email": EMAIL, "customFields": {MEETING_STATUS: "Booked", "Deal stage": "Won"}},
        )

    assert raised.value.labels == ["Deal stage"]
    assert '"Deal stage"' in str(raised.value)
    assert snov_emulator.state.prospects(account.client_id) == []


def test_add_prospect_names_only_the_missing_custom_field_when_labels_overlap(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, target: ProspectList
) -> None:
    snov_emulator.state.add_custom_field(account.client_id, "Status")
    unknown_only = {"email": EMAIL, "customFields": {"Status": "Lead", "Deal status": "Won"}}

    with pytest.raises(CustomFieldNotFound) as raised:
        client.add_prospect(target.id, unknown_only)

    assert raised.value.labels == ["Deal status"]


def test_add_prospect_with_an_invalid_email_carries_the_emulators_text(
    snov_emulator: SnovEmulator, client: SnovClient, target: ProspectList
) -> None:
    with pytest.raises(SnovRejected) as raised:
        client.add_prospect(target.id, {"email": "not-an-email"})

    text = snov_emulator.state.options.texts.invalid_email
    assert raised.value.snov_message == text
    assert raised.value.status_code == 422
    assert text in str(raised.value)
    assert statuses(snov_emulator, ADD) == [422]  # a refusal is not retried


# ---- custom fields, campaigns, prospects by email -------------------------------------


def test_custom_fields(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient
) -> None:
    state = snov_emulator.state
    state.add_custom_field(account.client_id, MEETING_STATUS)
    state.add_custom_field(account.client_id, "Seats", type="number", required=True)

    fields = client.custom_fields()

    assert [(field.label, field.type, field.required) for field in fields] == [
        (MEETING_STATUS, "string", False),
        ("Seats", "number", True),
    ]
    assert fields[0].key == f"customFields['{MEETING_STATUS}']"


def test_campaigns_say_which_are_active_and_on_which_list(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, target: ProspectList
) -> None:
    state = snov_emulator.state
    running = state.add_campaign(account.client_id, "Follow-up", target.id)
    paused = state.add_campaign(account.client_id, "Old", target.id, status="Paused")
    draft = state.add_campaign(account.client_id, "Next", target.id, status="Draft")

    campaigns = client.campaigns()

    assert [(c.id, c.name, c.list_id, c.is_active) for c in campaigns] == [
        (running.id, "Follow-up", target.id, True),
        (paused.id, "Old", target.id, False),
        (draft.id, "Next", target.id, False),
    ]
    assert campaigns[0].started_at is not None
    assert campaigns[2].started_at is None


def test_prospects_by_email_returns_every_duplicate_with_its_lists_and_campaigns(
    snov_emulator: SnovEmulator,
    account: Credentials,
    client: SnovClient,
    target: ProspectList,
    other: ProspectList,
) -> None:
    state = snov_emulator.state
    campaign = state.add_campaign(account.client_id, "Newsletter drip", other.id)
    first = state.create_prospect(account.client_id, other.id, {"email": EMAIL})
    second = client.add_prospect(target.id, {"email": EMAIL}, create_duplicates=True)

    profiles = client.prospects_by_email("ADA@example.com")

    assert [profile.id for profile in profiles] == [first.id, second.prospect_id]
    lists = {item.id: item.name for profile in profiles for item in profile.lists}
    assert lists == {other.id: "Newsletter", target.id: "42min bookings"}
    campaigns = {item.id: item.is_active for profile in profiles for item in profile.campaigns}
    assert campaigns == {campaign.id: True}


def test_prospects_by_email_of_an_unknown_email_is_empty(
    snov_emulator: SnovEmulator, client: SnovClient
) -> None:
    assert client.prospects_by_email("nobody@example.com") == []
    assert statuses(snov_emulator, BY_EMAIL) == [200]


def test_adding_to_an_active_campaigns_list_enrols_the_prospect(
    snov_emulator: SnovEmulator,
    account: Credentials,
    client: SnovClient,
    target: ProspectList,
    other: ProspectList,
) -> None:
    state = snov_emulator.state
    running = state.add_campaign(account.client_id, "Follow-up", target.id)
    state.add_campaign(account.client_id, "Paused", other.id, status="Paused")

    client.add_prospect(target.id, {"email": EMAIL})
    client.add_prospect(other.id, {"email": "grace@example.com"})

    (enrolled,) = client.prospects_by_email(EMAIL)
    (campaign,) = enrolled.campaigns
    assert (campaign.id, campaign.name, campaign.is_active) == (running.id, "Follow-up", True)
    assert [recipient.email for recipient in campaign.recipients] == [EMAIL]
    (not_enrolled,) = client.prospects_by_email("grace@example.com")
    assert not_enrolled.campaigns == []


# ---- the token --------------------------------------------------------------------------


def test_one_token_serves_every_call(snov_emulator: SnovEmulator, client: SnovClient) -> None:
    client.balance()
    client.lists()
    client.campaigns()

    assert statuses(snov_emulator, TOKEN) == [200]


def test_clients_sharing_a_store_share_the_token(
    snov_emulator: SnovEmulator, connect: Callable[..., SnovClient]
) -> None:
    store = MemoryStore()
    connect(store=store).balance()
    connect(store=store).balance()

    assert statuses(snov_emulator, TOKEN) == [200]


def test_an_expired_token_is_renewed_with_one_token_request(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient
) -> None:
    client.balance()
    assert snov_emulator.state.expire_tokens(account.client_id) == 1

    assert client.balance().balance == "25000.00"
    client.lists()

    assert statuses(snov_emulator, TOKEN) == [200, 200]
    assert statuses(snov_emulator, BALANCE) == [200, 401, 200]
    assert statuses(snov_emulator, LISTS) == [200]


def test_revoked_credentials_are_rejected_without_revealing_the_secret(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient
) -> None:
    client.balance()
    snov_emulator.state.revoke_credentials(account.client_id)

    with pytest.raises(CredentialsRejected) as raised:
        client.balance()

    assert_free_of(raised.value, account.client_secret)
    assert statuses(snov_emulator, TOKEN) == [200, 401]
    assert statuses(snov_emulator, BALANCE) == [200, 401]


@pytest.mark.parametrize("status", [400, 401, 403, 422])
def test_refused_keys_never_reveal_the_secret_even_when_echoed(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient, status: int
) -> None:
    secret = account.client_secret
    snov_emulator.configure(
        bad_credentials_status=status,
        bad_credentials_body={
            "success": False,
            "error": "invalid_client",
            "errors": f"Client authentication failed for client_secret={secret}",
        },
    )
    snov_emulator.state.revoke_credentials(account.client_id)

    with pytest.raises(IntegrationError) as raised:
        client.balance()

    assert_free_of(raised.value, secret)
    if status in (400, 401):
        assert isinstance(raised.value, CredentialsRejected)
    assert statuses(snov_emulator, TOKEN) == [status]  # a refusal is not retried
    assert statuses(snov_emulator, BALANCE) == []


def test_a_5xx_from_the_token_endpoint_is_retried(
    snov_emulator: SnovEmulator, client: SnovClient
) -> None:
    snov_emulator.state.fail_next(status=502, path=TOKEN)

    client.balance()

    assert statuses(snov_emulator, TOKEN) == [502, 200]
    assert statuses(snov_emulator, BALANCE) == [200]


# ---- failures and retries ---------------------------------------------------------------


def test_a_5xx_then_success_is_retried(snov_emulator: SnovEmulator, client: SnovClient) -> None:
    snov_emulator.state.fail_next(status=503, path=BALANCE)

    assert client.balance().balance == "25000.00"
    assert statuses(snov_emulator, BALANCE) == [503, 200]


def test_a_5xx_on_every_attempt_is_a_server_error(
    snov_emulator: SnovEmulator, client: SnovClient
) -> None:
    snov_emulator.state.fail_next(5, status=500, path=LISTS)

    with pytest.raises(SnovServerError) as raised:
        client.lists()

    assert raised.value.status_code == 500
    assert statuses(snov_emulator, LISTS) == [500, 500, 500]


def test_a_5xx_on_create_list_is_not_retried(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient
) -> None:
    snov_emulator.state.fail_next(status=500, path=CREATE_LIST)

    with pytest.raises(SnovServerError):
        client.create_list("42min bookings")

    assert statuses(snov_emulator, CREATE_LIST) == [500]


def test_a_dropped_connection_is_retried_for_a_read(
    snov_emulator: SnovEmulator, client: SnovClient
) -> None:
    snov_emulator.state.drop_next(path=BALANCE)

    assert client.balance().balance == "25000.00"
    assert statuses(snov_emulator, BALANCE) == [None, 200]


def test_a_connection_dropped_on_every_attempt_is_unreachable(
    snov_emulator: SnovEmulator, client: SnovClient
) -> None:
    snov_emulator.state.drop_next(5, path=BALANCE)

    with pytest.raises(SnovUnreachable):
        client.balance()

    assert statuses(snov_emulator, BALANCE) == [None, None, None]


def test_a_dropped_connection_is_not_retried_for_create_list(
    snov_emulator: SnovEmulator, account: Credentials, client: SnovClient
) -> None:
    snov_emulator.state.drop_next(path=CREATE_LIST)

    with pytest.raises(SnovUnreachable):
        client.create_list("42min bookings")

    assert statuses(snov_emulator, CREATE_LIST) == [None]


def test_a_reply_slower_than_the_timeout_is_unreachable(
    snov_emulator: SnovEmulator, connect: Callable[..., SnovClient]
) -> None:
    client = connect(timeout=httpx.Timeout(0.1))
    client.balance()  # the token, and a connection, before the slow replies
    snov_emulator.state.delay_next(0.6, count=3, path=BALANCE)

    with pytest.raises(SnovUnreachable) as raised:
        client.balance()

    assert "in time" in str(raised.value)
    # Every attempt reached the emulator and took one of the delays.
    assert snov_emulator.state.pending_faults() == []


def test_one_slow_reply_is_retried(
    snov_emulator: SnovEmulator, connect: Callable[..., SnovClient]
) -> None:
    client = connect(timeout=httpx.Timeout(0.1))
    client.balance()
    snov_emulator.state.delay_next(0.6, path=BALANCE)

    assert client.balance().balance == "25000.00"
    assert snov_emulator.state.pending_faults() == []


# ---- the rate limit ---------------------------------------------------------------------


class SteppingClock:
    """The client's own clock: sleeping moves it on, and the sleeps are kept."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_emulators_429_is_retried_within_bounds_then_rate_limited(
    snov_emulator: SnovEmulator, connect: Callable[..., SnovClient]
) -> None:
    clock = SteppingClock(snov_emulator.clock())
    client = connect(store=MemoryStore(clock=clock), clock=clock, sleep=clock.sleep, max_wait=2.0)
    snov_emulator.set_rate_limit(3)
    client.balance()
    client.balance()  # with the token request, the emulator's window is now full
    slept_before = len(clock.slept)

    with pytest.raises(RateLimited) as raised:
        client.balance()

    assert raised.value.status_code == 429
    assert raised.value.retry_after > 0
    assert statuses(snov_emulator, BALANCE) == [200, 200, 429, 429, 429]
    # Each retry waited out the pause that follows a 429 (the client's own spacing at this
    # limit is 6 ms), and no wait went beyond max_wait.
    waits = clock.slept[slept_before:]
    assert len([seconds for seconds in waits if seconds > 0.1]) == 2
    assert max(waits) <= 2.0

    # Once the emulator's window has moved on, the same client gets through again.
    snov_emulator.clock.advance(60)
    clock.now += raised.value.retry_after
    assert client.balance().balance == "25000.00"


class VirtualTime:
    """A clock for worker threads that moves only when every worker is asleep.

    A worker's sleep blocks until the clock reaches its wake time; the controller
    (:meth:`run`) then advances the clock to the earliest wake time. While any worker is
    awake the clock stands still, so no real time is ever slept.
    """

    def __init__(self, clock: ManualClock, workers: int) -> None:
        self.clock = clock
        self._awake = workers
        self._sleepers: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        woken = threading.Event()
        with self._changed:
            entry = (self.clock() + seconds, next(self._order), woken)
            heapq.heappush(self._sleepers, entry)
            self._awake -= 1
            self._changed.notify_all()
        assert woken.wait(10), "virtual time stopped"

    def finished(self) -> None:
        with self._changed:
            self._awake -= 1
            self._changed.notify_all()

    def run(self) -> None:
        """Advance time for the workers until all of them have finished."""
        with self._changed:
            while True:
                assert self._changed.wait_for(lambda: self._awake == 0, timeout=10), (
                    "a worker neither slept nor finished"
                )
                if not self._sleepers:
                    return
                wake_at = self._sleepers[0][0]
                self.clock.advance(max(0.0, wake_at - self.clock()))
                while self._sleepers and self._sleepers[0][0] <= self.clock() + 1e-6:
                    _, _, woken = heapq.heappop(self._sleepers)
                    self._awake += 1
                    woken.set()


def test_two_clients_sharing_a_store_stay_within_the_emulators_limit_together(
    snov_emulator: SnovEmulator, connect: Callable[..., SnovClient]
) -> None:
    limit, window, calls_each = 5, 10.0, 6
    snov_emulator.set_rate_limit(limit, window=window)
    time = VirtualTime(snov_emulator.clock, workers=2)
    store = MemoryStore(clock=time.clock)
    clients = [
        connect(
            store=store,
            rate_limit=limit,
            rate_window=window,
            # A full window holds the next request a window and the limiter's margin.
            max_wait=2 * window,
            clock=time.clock,
            sleep=time.sleep,
        )
        for _ in range(2)
    ]
    failures: list[BaseException] = []

    def work(client: SnovClient) -> None:
        try:
            for _ in range(calls_each):
                client.balance()
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            failures.append(error)
        finally:
            time.finished()

    started = time.clock()
    workers = [threading.Thread(target=work, args=(client,)) for client in clients]
    for worker in workers:
        worker.start()
    time.run()
    for worker in workers:
        worker.join(10)

    assert failures == []
    log = snov_emulator.state.requests()
    assert [request.status for request in log] == [200] * (2 * calls_each + 1)
    assert statuses(snov_emulator, TOKEN) == [200]
    arrivals = [request.at for request in log]
    assert all(
        later - earlier > window for earlier, later in zip(arrivals, arrivals[limit:], strict=False)
    )
    assert time.clock() - started > 2 * window

"""SnovClient against a strict pytest-httpx mock: every endpoint and every Snov.io quirk."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from fortytwomin_snov import __version__
from fortytwomin_snov.contract.errors import ConfigurationError, IntegrationError, InvalidRequest
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.snov import (
    BASE_URL_ENV,
    DEFAULT_TIMEOUT,
    AddProspectResult,
    ProspectFields,
    RateLimiter,
    SnovClient,
)
from fortytwomin_snov.snov.environment import RATE_LIMIT_ENV, TIMEOUT_ENV
from fortytwomin_snov.snov.errors import (
    CredentialsRejected,
    CustomFieldNotFound,
    ListNotFound,
    RateLimited,
    SnovRejected,
    SnovServerError,
    SnovUnreachable,
)
from fortytwomin_snov.testing.clock import ManualClock

USER = "user-1"
SECRET = "s3cr3t-VALUE-0123456789"
TOKEN = "TOKENabcdefghij0123456789ABCDEFGHIJklmn"
API = "https://api.snov.io"
TOKEN_URL = f"{API}/v1/oauth/access_token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
TOKEN_BODY = {"grant_type": "client_credentials", "client_id": USER, "client_secret": SECRET}


class CountingStore(MemoryStore):
    """A MemoryStore that records every rate-limit slot reserved in it."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.slots: list[str] = []

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        added = super().add(key, value, ttl)
        if added and key.startswith("snov:rate:") and key.rsplit(":", 1)[1].isdigit():
            self.slots.append(key)
        return added


@pytest.fixture(autouse=True)
def _no_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    monkeypatch.delenv(RATE_LIMIT_ENV, raising=False)
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)


@pytest.fixture
def store(clock: ManualClock) -> CountingStore:
    return CountingStore(clock)


@pytest.fixture
def client(store: CountingStore, clock: ManualClock) -> Iterator[SnovClient]:
    with SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep) as snov:
        yield snov


@pytest.fixture
def token(httpx_mock: HTTPXMock) -> None:
    """Snov.io issues a token once."""
    httpx_mock.add_response(
        method="POST",
        url=TOKEN_URL,
        match_json=TOKEN_BODY,
        json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600},
    )


def expect(
    httpx_mock: HTTPXMock, method: str, path: str, *, body: Any = None, **response: Any
) -> None:
    """One expected authorised request to Snov.io, and its response."""
    matchers: dict[str, Any] = {"match_headers": BEARER}
    if body is not None:
        matchers["match_json"] = body
    httpx_mock.add_response(method=method, url=f"{API}{path}", **matchers, **response)


# ---- construction ---------------------------------------------------------------------------


@pytest.mark.usefixtures("token")
def test_requests_name_the_package_and_version(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", json={"success": True, "data": {"balance": "1"}})
    client.balance()
    agents = {request.headers["User-Agent"] for request in httpx_mock.get_requests()}
    assert agents == {f"fortytwomin-snov/{__version__}"}


@pytest.mark.usefixtures("token")
def test_every_request_has_an_explicit_timeout(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", json={"success": True, "data": {"balance": "1"}})
    client.balance()
    requests = httpx_mock.get_requests()
    assert [request.url.path for request in requests] == [
        "/v1/oauth/access_token",
        "/v1/get-balance",
    ]
    for request in requests:
        assert request.extensions["timeout"] == DEFAULT_TIMEOUT.as_dict()
    assert DEFAULT_TIMEOUT.connect == 5.0
    assert DEFAULT_TIMEOUT.read == 15.0


@pytest.mark.usefixtures("token")
def test_a_json_request_is_sent_as_httpx_would_send_it_and_keeps_no_cookie(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    # The client builds its requests itself (from headers merged once); what leaves must be
    # what httpx's json= would have sent, and a cookie Snov.io sets is never sent back.
    expect(
        httpx_mock,
        "POST",
        "/v1/get-prospects-by-email",
        body={"email": "jane@example.com"},
        json={"success": True, "data": []},
        headers={"Set-Cookie": "AWSALB=sticky; Path=/"},
    )
    expect(httpx_mock, "POST", "/v1/get-prospects-by-email", json={"success": True, "data": []})
    assert client.prospects_by_email("jane@example.com") == []
    assert client.prospects_by_email("jane@example.com") == []
    first, second = httpx_mock.get_requests()[1:]
    assert first.content == b'{"email":"jane@example.com"}'
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Content-Length"] == str(len(first.content))
    assert first.headers["Accept"] == "application/json"
    assert "Cookie" not in second.headers


def test_the_base_url_comes_from_the_environment_at_construction(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:8765")
    snov = SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep)
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:1")  # read once, at construction
    httpx_mock.add_response(
        method="POST",
        url="http://127.0.0.1:8765/v1/oauth/access_token",
        json={"access_token": TOKEN, "expires_in": 3600},
    )
    httpx_mock.add_response(
        method="GET", url="http://127.0.0.1:8765/v1/get-user-lists", match_headers=BEARER, json=[]
    )
    with snov:
        assert snov.base_url == "http://127.0.0.1:8765"
        assert snov.lists() == []


def test_an_explicit_base_url_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore
) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:8765")
    with SnovClient(USER, SECRET, store=store, base_url="http://localhost:9/") as snov:
        assert snov.base_url == "http://localhost:9"


def test_the_default_base_url_is_snov_io(store: CountingStore) -> None:
    with SnovClient(USER, SECRET, store=store) as snov:
        assert snov.base_url == API


def test_repr_shows_the_user_id_and_never_the_secret(store: CountingStore) -> None:
    with SnovClient(USER, SECRET, store=store) as snov:
        assert USER in repr(snov)
        assert SECRET not in repr(snov)
        assert SECRET not in str(vars(snov))


# ---- the rate limit ---------------------------------------------------------------------------


def permits_left(store: CountingStore, clock: ManualClock, limit: int) -> int:
    """How many requests a worker pacing to ``limit`` a minute may still send at once."""
    other_worker = RateLimiter(
        store, USER, limit=limit, max_wait=0.0, clock=clock, sleep=clock.sleep
    )
    for taken in itertools.count():
        try:
            other_worker.acquire()
        except RateLimited:
            return taken
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(("environment", "limit"), [(None, 60), ("", 60), (" 30 ", 30), ("1", 1)])
def test_the_rate_limit_comes_from_the_environment_at_construction_or_is_sixty(
    monkeypatch: pytest.MonkeyPatch,
    store: CountingStore,
    clock: ManualClock,
    httpx_mock: HTTPXMock,
    environment: str | None,
    limit: int,
) -> None:
    if environment is not None:
        monkeypatch.setenv(RATE_LIMIT_ENV, environment)
    snov = SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep, max_wait=61.0)
    monkeypatch.setenv(RATE_LIMIT_ENV, "7")  # read once, at construction
    expect(httpx_mock, "GET", "/v1/get-balance", json={"success": True, "data": {"balance": "1"}})
    with snov:
        snov.balance()
    # The token and the balance took two of the limit's permits (with a limit of one, the
    # balance waited for the token's to free, and took it again).
    assert permits_left(store, clock, limit) == max(0, limit - 2)


def test_an_explicit_rate_limit_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore, clock: ManualClock
) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, "60")
    frozen = clock.now
    with SnovClient(
        USER, SECRET, store=store, clock=lambda: frozen, sleep=lambda _: None, rate_limit=1
    ) as snov:
        RateLimiter(
            store, USER, limit=1, max_wait=100.0, clock=lambda: frozen, sleep=lambda _: None
        ).acquire()
        with pytest.raises(RateLimited):
            snov.balance()  # under 60 a minute a turn would be free within a second


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5", "60/min", "1e3", "+5", "\u0665"])
def test_an_invalid_rate_limit_in_the_environment_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore, value: str
) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, value)
    with pytest.raises(ValueError, match=RATE_LIMIT_ENV) as caught:
        SnovClient(USER, SECRET, store=store)
    assert repr(value) in str(caught.value)


# ---- endpoints ------------------------------------------------------------------------------


@pytest.mark.usefixtures("token")
def test_balance(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(
        httpx_mock,
        "GET",
        "/v1/get-balance",
        json={
            "success": True,
            "data": {
                "balance": "25000.00",
                "teamwork": False,
                "unique_recipients_used": 0,
                "limit_resets_in": 29,
                "expires_in": 359,
            },
        },
    )
    balance = client.balance()
    assert balance.balance == "25000.00"
    assert balance.subscription_days_left == 359
    assert balance.teamwork is False


@pytest.mark.usefixtures("token")
def test_lists_are_a_bare_array_and_deleted_lists_are_left_out(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    php_date = {"date": "2020-04-07 08:25:44.000000", "timezone_type": 3, "timezone": "UTC"}
    expect(
        httpx_mock,
        "GET",
        "/v1/get-user-lists",
        json=[
            {
                "id": 1818597,
                "name": "FirstSend",
                "contacts": 1,
                "isDeleted": False,
                "creationDate": php_date,
                "deletionDate": None,
            },
            {
                "id": 1505383,
                "name": "All prospects",
                "contacts": 10,
                "isDeleted": True,
                "creationDate": php_date,
                "deletionDate": php_date,
            },
            {
                "id": 77,
                "name": "Deleted, per the field table",
                "isDeleted": False,
                "creationDate": php_date,
                "deleteDate": php_date,
            },
            {
                "id": 78,
                "name": "Kyiv",
                "contacts": 3,
                "isDeleted": False,
                "creationDate": {
                    "date": "2021-01-02 03:04:05.000000",
                    "timezone_type": 3,
                    "timezone": "Europe/Kyiv",
                },
            },
        ],
    )
    lists = client.lists()
    assert [(item.id, item.name) for item in lists] == [(1818597, "FirstSend"), (78, "Kyiv")]
    assert lists[0].contacts == 1
    assert lists[0].created_at == datetime(2020, 4, 7, 8, 25, 44, tzinfo=UTC)
    assert lists[1].created_at == datetime(2021, 1, 2, 1, 4, 5, tzinfo=UTC)


@pytest.mark.usefixtures("token")
def test_lists_in_a_wrapper_are_a_shape_error_not_a_crash(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(httpx_mock, "GET", "/v1/get-user-lists", json={"success": True, "data": []})
    with pytest.raises(SnovServerError, match="shape"):
        client.lists()


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    "reply",
    [
        [{"success": True, "data": {"id": 1234567}}],
        {"success": True, "data": {"id": 1234567}},
        {"success": True, "id": 1234567},
        [{"success": True, "id": "1234567"}],
    ],
)
def test_create_list_accepts_every_documented_shape(
    client: SnovClient, httpx_mock: HTTPXMock, reply: object
) -> None:
    expect(httpx_mock, "POST", "/v1/lists", body={"name": "Booked meetings"}, json=reply)
    created = client.create_list("  Booked meetings ")
    assert (created.id, created.name) == (1234567, "Booked meetings")


@pytest.mark.usefixtures("token")
def test_create_list_refusal_inside_an_array(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/lists",
        body={"name": "Dup"},
        json=[{"success": False, "errors": "List with this name already exists"}],
    )
    with pytest.raises(SnovRejected) as caught:
        client.create_list("Dup")
    assert caught.value.snov_message == "List with this name already exists"


@pytest.mark.usefixtures("token")
def test_create_list_without_an_id_is_a_server_error(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(httpx_mock, "POST", "/v1/lists", body={"name": "X"}, json=[{"success": True}])
    with pytest.raises(SnovServerError, match="id"):
        client.create_list("X")


def test_create_list_needs_a_name(client: SnovClient) -> None:
    with pytest.raises(InvalidRequest):
        client.create_list("   ")


@pytest.mark.usefixtures("token")
def test_create_list_is_not_retried_once_it_may_have_reached_snov(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(httpx_mock, "POST", "/v1/lists", body={"name": "X"}, status_code=502)
    with pytest.raises(SnovServerError):
        client.create_list("X")
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), method="POST", url=f"{API}/v1/lists")
    with pytest.raises(SnovUnreachable):
        client.create_list("X")


@pytest.mark.usefixtures("token")
def test_create_list_is_retried_when_the_connection_never_opened(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), method="POST", url=f"{API}/v1/lists")
    expect(httpx_mock, "POST", "/v1/lists", body={"name": "X"}, json={"success": True, "id": 5})
    assert client.create_list("X").id == 5


FULL_PROSPECT = {
    "email": "john.doe@example.com",
    "fullName": "John Doe",
    "firstName": "John",
    "lastName": "Doe",
    "phones": ["+18882073333", "+18882074444"],
    "country": "United States",
    "locality": "Woodbridge, New Jersey",
    "position": "Vice President",
    "companyName": "GoldenRule",
    "companySite": "https://goldenrule.com",
    "socialLinks": {"linkedIn": "https://www.linkedin.com/in/johndoe/"},
    "customFields": {"Meeting status": "Booked", "Score": 7},
}


@pytest.mark.usefixtures("token")
def test_add_prospect_sends_every_field_as_json(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={"listId": 1818597, **FULL_PROSPECT},
        json={"success": True, "id": "0Y2QzowWL1rHpIptwaRp0Q==", "added": True, "updated": False},
    )
    result = client.add_prospect(1818597, FULL_PROSPECT)
    assert result == AddProspectResult(
        prospect_id="0Y2QzowWL1rHpIptwaRp0Q==", added=True, updated=False, already_in_list=False
    )


@pytest.mark.usefixtures("token")
def test_add_prospect_from_the_typed_model_sends_only_what_is_set(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={
            "listId": 9,
            "email": "ann@example.com",
            "firstName": "Ann",
            "customFields": {"Meeting status": "Booked"},
            "updateContact": True,
        },
        json={"success": True, "id": 42, "added": True, "updated": True},
    )
    fields = ProspectFields(
        email="ann@example.com", first_name="Ann", custom_fields={"Meeting status": "Booked"}
    )
    result = client.add_prospect(9, fields, update_contact=True)
    assert (result.prospect_id, result.added, result.updated) == ("42", True, True)


@pytest.mark.usefixtures("token")
def test_add_prospect_sends_create_duplicates(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={"listId": 9, "email": "ann@example.com", "createDuplicates": True},
        json={"success": True, "id": "dup", "added": True, "updated": False},
    )
    assert client.add_prospect(9, {"email": "ann@example.com"}, create_duplicates=True).added


def add_requests(httpx_mock: HTTPXMock) -> int:
    return sum(r.url.path == "/v1/add-prospect-to-list" for r in httpx_mock.get_requests())


@pytest.mark.usefixtures("token")
def test_a_plain_add_is_retried_after_a_5xx(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(httpx_mock, "POST", "/v1/add-prospect-to-list", status_code=503)
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        json={"success": True, "id": "p1", "added": True, "updated": False},
    )
    assert client.add_prospect(9, {"email": "ann@example.com"}).added
    assert add_requests(httpx_mock) == 2


@pytest.mark.usefixtures("token")
def test_an_add_with_create_duplicates_is_not_repeated_after_a_5xx(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    # It may have made its profile already: only the sync's retry, after a lookup, repeats it.
    expect(httpx_mock, "POST", "/v1/add-prospect-to-list", status_code=503)
    with pytest.raises(SnovServerError):
        client.add_prospect(9, {"email": "ann@example.com"}, create_duplicates=True)
    assert add_requests(httpx_mock) == 1


def test_add_prospect_refuses_both_flags_before_sending(client: SnovClient) -> None:
    with pytest.raises(InvalidRequest, match="not both"):
        client.add_prospect(
            9, {"email": "ann@example.com"}, update_contact=True, create_duplicates=True
        )


def test_add_prospect_refuses_unknown_fields_before_sending(client: SnovClient) -> None:
    with pytest.raises(InvalidRequest, match="nickname"):
        client.add_prospect(9, {"email": "ann@example.com", "nickname": "A"})
    with pytest.raises(InvalidRequest, match="email"):
        client.add_prospect(9, {"firstName": "Ann"})


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    "text",
    [
        "Prospect with same email already exists in your list",
        "PROSPECT WITH SAME EMAIL ALREADY EXISTS IN YOUR LIST",
    ],
)
def test_add_prospect_already_in_this_list_is_not_an_error(
    client: SnovClient, httpx_mock: HTTPXMock, text: str
) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={"listId": 9, "email": "ann@example.com"},
        status_code=422,
        json={"success": False, "added": False, "errors": text},
    )
    result = client.add_prospect(9, {"email": "ann@example.com"})
    assert result == AddProspectResult(
        prospect_id=None, added=False, updated=False, already_in_list=True
    )


@pytest.mark.usefixtures("token")
def test_add_prospect_in_another_list_is_returned_as_not_added(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={"listId": 9, "email": "ann@example.com"},
        json={"success": True, "added": False, "updated": True},
    )
    result = client.add_prospect(9, {"email": "ann@example.com"})
    assert result == AddProspectResult(
        prospect_id=None, added=False, updated=True, already_in_list=False
    )


@pytest.mark.usefixtures("token")
def test_add_prospect_to_a_deleted_list(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={"listId": 9, "email": "ann@example.com"},
        status_code=422,
        json={"success": False, "errors": "List not found"},
    )
    with pytest.raises(ListNotFound) as caught:
        client.add_prospect(9, {"email": "ann@example.com"})
    assert caught.value.list_id == 9


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("Custom fields not found: Meeting status", ["Meeting status"]),
        ("Custom field does not exist", ["Meeting status", "Score"]),
    ],
)
def test_add_prospect_with_a_missing_custom_field(
    client: SnovClient, httpx_mock: HTTPXMock, text: str, labels: list[str]
) -> None:
    prospect = {
        "email": "ann@example.com",
        "customFields": {"Meeting status": "Booked", "Score": 7},
    }
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={"listId": 9, **prospect},
        status_code=422,
        json={"success": False, "errors": text},
    )
    with pytest.raises(CustomFieldNotFound) as caught:
        client.add_prospect(9, prospect)
    assert caught.value.labels == labels


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    ("status", "reply"),
    [
        (422, {"success": False, "errors": "Invalid email format"}),
        (422, {"success": False, "errors": {"email": "Invalid email format"}}),
        (422, {"success": False, "errors": ["Invalid email format"]}),
        (400, {"success": False, "message": "Invalid email format"}),
        (200, {"success": False, "added": False, "errors": "Invalid email format"}),
    ],
)
def test_add_prospect_refusals_carry_snov_text(
    client: SnovClient, httpx_mock: HTTPXMock, status: int, reply: object
) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/add-prospect-to-list",
        body={"listId": 9, "email": "not-an-email"},
        status_code=status,
        json=reply,
    )
    with pytest.raises(SnovRejected) as caught:
        client.add_prospect(9, {"email": "not-an-email"})
    assert "Invalid email format" in caught.value.snov_message
    assert caught.value.status_code == status
    assert len(httpx_mock.get_requests()) == 2  # token and one attempt: refusals are final


@pytest.mark.usefixtures("token")
def test_custom_fields_are_a_bare_array(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(
        httpx_mock,
        "GET",
        "/v1/prospect-custom-fields",
        json=[
            {
                "key": "customFields['company']",
                "label": "company",
                "required": False,
                "type": "string",
            },
            {
                "key": "customFields['Project name']",
                "label": "Project name",
                "required": True,
                "type": "date",
            },
        ],
    )
    fields = client.custom_fields()
    assert [(field.label, field.required, field.type) for field in fields] == [
        ("company", False, "string"),
        ("Project name", True, "date"),
    ]


@pytest.mark.usefixtures("token")
def test_campaigns_are_a_bare_array_named_by_campaign(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(
        httpx_mock,
        "GET",
        "/v1/get-user-campaigns",
        json=[
            {
                "id": 237945,
                "campaign": "New Campaign",
                "list_id": 8512947,
                "status": "Paused",
                "created_at": 1639469976,
                "updated_at": 1639470026,
                "started_at": 1639470021,
                "hash": "e272be8f",
            },
            {
                "id": 237956,
                "campaign": "Running",
                "list_id": 7654321,
                "status": "ACTIVE",
                "created_at": 1638808262,
                "started_at": None,
            },
            {"id": 237957, "campaign": "Running v2 style", "list_id": 1, "status": "active"},
        ],
    )
    campaigns = client.campaigns()
    assert [(c.name, c.list_id, c.is_active) for c in campaigns] == [
        ("New Campaign", 8512947, False),
        ("Running", 7654321, True),
        ("Running v2 style", 1, True),
    ]
    assert campaigns[0].started_at == datetime.fromtimestamp(1639470021, UTC)
    assert campaigns[1].started_at is None


@pytest.mark.usefixtures("token")
def test_prospects_by_email_returns_every_profile(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/get-prospects-by-email",
        body={"email": "gavin@octagon.com"},
        json={
            "success": True,
            "data": [
                {
                    "id": "xusD3-T_K5IktGoaa8Jc8A==",
                    "name": "Gavin Vanrooyen",
                    "firstName": "Gavin",
                    "lastName": "Vanrooyen",
                    "industry": "Entertainment",
                    "lastUpdateDate": {
                        "date": "2019-09-11 12:37:58.000000",
                        "timezone_type": 3,
                        "timezone": "UTC",
                    },
                    "lists": [{"id": 1250344, "name": "People List"}],
                    "campaigns": [
                        {
                            "id": 5,
                            "name": "Follow-up",
                            "campaign_status": "Active",
                            "recipients": [
                                {
                                    "email": "gavin@octagon.com",
                                    "recipient_status": "active",
                                    "sent": 1,
                                    "reply": 0,
                                }
                            ],
                        }
                    ],
                },
                {
                    "id": "second==",
                    "name": "Gavin Vanrooyen",
                    "lists": [{"id": 9, "name": "Booked"}],
                    "campaigns": [],
                },
            ],
        },
    )
    profiles = client.prospects_by_email("gavin@octagon.com")
    assert [profile.id for profile in profiles] == ["xusD3-T_K5IktGoaa8Jc8A==", "second=="]
    assert [m.id for p in profiles for m in p.lists] == [1250344, 9]
    assert profiles[0].campaigns[0].is_active
    assert profiles[0].campaigns[0].recipients[0].status == "active"
    assert profiles[0].updated_at == datetime(2019, 9, 11, 12, 37, 58, tzinfo=UTC)


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    "reply",
    [
        {"success": False, "errors": "Prospect with email 'no.one.home@octagon.com' not found"},
        {"success": False},
    ],
)
def test_prospects_by_email_not_found_is_an_empty_list(
    client: SnovClient, httpx_mock: HTTPXMock, reply: object
) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/get-prospects-by-email",
        body={"email": "no.one.home@octagon.com"},
        json=reply,
    )
    assert client.prospects_by_email("no.one.home@octagon.com") == []


@pytest.mark.usefixtures("token")
def test_prospects_by_email_other_refusals_are_errors(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    expect(
        httpx_mock,
        "POST",
        "/v1/get-prospects-by-email",
        body={"email": "bad"},
        json={"success": False, "errors": "Invalid email format"},
    )
    with pytest.raises(SnovRejected, match="Invalid email format"):
        client.prospects_by_email("bad")


# ---- statuses, retries and transport failures -----------------------------------------------


@pytest.mark.usefixtures("token")
def test_403_reads_as_a_wrong_method_or_plan(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(httpx_mock, "GET", "/v1/get-user-lists", status_code=403, text="Forbidden")
    with pytest.raises(SnovRejected, match="wrong method or path") as caught:
        client.lists()
    assert caught.value.status_code == 403


@pytest.mark.usefixtures("token")
def test_404_is_rejected(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(httpx_mock, "GET", "/v1/get-user-campaigns", status_code=404, text="")
    with pytest.raises(SnovRejected) as caught:
        client.campaigns()
    assert caught.value.status_code == 404


@pytest.mark.usefixtures("token")
def test_503_then_200_is_retried(
    client: SnovClient, httpx_mock: HTTPXMock, store: CountingStore
) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", status_code=503)
    expect(httpx_mock, "GET", "/v1/get-balance", json={"success": True, "data": {"balance": "2"}})
    assert client.balance().balance == "2"
    assert len(store.slots) == 3  # the token, the 503 and the retry each took a permit


@pytest.mark.usefixtures("token")
def test_persistent_5xx_gives_up_after_three_attempts(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    for _ in range(3):
        expect(httpx_mock, "GET", "/v1/get-balance", status_code=500, json={"message": "Oops"})
    with pytest.raises(SnovServerError) as caught:
        client.balance()
    assert caught.value.status_code == 500


@pytest.mark.usefixtures("token")
def test_429_then_200_is_retried_after_a_shared_pause(
    client: SnovClient, httpx_mock: HTTPXMock, store: CountingStore, clock: ManualClock
) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", status_code=429, text="")
    expect(httpx_mock, "GET", "/v1/get-balance", json={"success": True, "data": {"balance": "3"}})
    other_worker = RateLimiter(store, USER, clock=clock, sleep=clock.sleep)
    assert client.balance().balance == "3"
    first, retry = httpx_mock.get_requests()[1:]
    assert first.url == retry.url
    assert other_worker.note_throttled() == 1.0  # the 429 was recorded as a first strike


@pytest.mark.usefixtures("token")
def test_persistent_429_ends_in_rate_limited_with_a_retry_after(
    store: CountingStore, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    for _ in range(3):
        expect(httpx_mock, "GET", "/v1/get-balance", status_code=429, text="")
    with (
        SnovClient(
            USER, SECRET, store=store, clock=clock, sleep=clock.sleep, max_wait=10.0
        ) as snov,
        pytest.raises(RateLimited) as caught,
    ):
        snov.balance()
    assert caught.value.status_code == 429
    assert 2.0 <= caught.value.retry_after <= 2.0 + 1.01  # the third strike pauses 2 s


@pytest.mark.usefixtures("token")
def test_429_followed_by_a_long_pause_is_left_to_the_host_queue(
    client: SnovClient, httpx_mock: HTTPXMock, store: CountingStore, clock: ManualClock
) -> None:
    other_worker = RateLimiter(store, USER, clock=clock, sleep=clock.sleep)
    other_worker.note_throttled()
    other_worker.note_throttled()  # others were throttled twice in this window
    clock.now += 1.5  # ... and their pause is over
    expect(httpx_mock, "GET", "/v1/get-balance", status_code=429, text="")
    with pytest.raises(RateLimited) as caught:
        client.balance()  # the third strike pauses 2 s: too long to wait in place
    assert caught.value.status_code is None
    assert 2.0 < caught.value.retry_after <= 2.0 + 1.01


@pytest.mark.usefixtures("token")
def test_400_is_not_retried(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", status_code=400, json={"errors": "Bad request"})
    with pytest.raises(SnovRejected, match="Bad request"):
        client.balance()
    assert len(httpx_mock.get_requests()) == 2


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_transport_failures_are_retried_then_unreachable(
    client: SnovClient, httpx_mock: HTTPXMock, failure: httpx.HTTPError
) -> None:
    for _ in range(3):
        httpx_mock.add_exception(failure, method="GET", url=f"{API}/v1/get-balance")
    with pytest.raises(SnovUnreachable) as caught:
        client.balance()
    assert type(failure).__name__ in str(caught.value)
    assert not isinstance(caught.value.__cause__, httpx.HTTPError)
    assert not isinstance(caught.value.__context__, httpx.HTTPError)


@pytest.mark.usefixtures("token")
def test_a_timeout_then_success_is_retried(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(
        httpx.ReadTimeout("timed out"), method="GET", url=f"{API}/v1/get-balance"
    )
    expect(httpx_mock, "GET", "/v1/get-balance", json={"success": True, "data": {"balance": "4"}})
    assert client.balance().balance == "4"


def test_unreachable_token_endpoint_is_unreachable(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    for _ in range(3):
        httpx_mock.add_exception(httpx.ConnectError("refused"), method="POST", url=TOKEN_URL)
    with pytest.raises(SnovUnreachable):
        client.balance()


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize("content", [b"<html>maintenance</html>", b"", b"{"])
def test_a_non_json_success_is_a_server_error(
    client: SnovClient, httpx_mock: HTTPXMock, content: bytes
) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", content=content)
    with pytest.raises(SnovServerError, match="JSON"):
        client.balance()


@pytest.mark.usefixtures("token")
@pytest.mark.parametrize(
    "reply",
    [{"success": True}, {"success": True, "data": {"credits": 5}}, [1, 2], "balance"],
)
def test_a_reply_of_the_wrong_shape_is_a_server_error(
    client: SnovClient, httpx_mock: HTTPXMock, reply: object
) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", json=reply)
    with pytest.raises(SnovServerError, match="shape"):
        client.balance()


# ---- the rate limit counts every request --------------------------------------------------


@pytest.mark.usefixtures("token")
def test_the_token_request_takes_a_permit_too(
    client: SnovClient, httpx_mock: HTTPXMock, store: CountingStore, clock: ManualClock
) -> None:
    expect(httpx_mock, "GET", "/v1/get-balance", json={"success": True, "data": {"balance": "1"}})
    client.balance()
    assert len(store.slots) == 2
    assert len(set(store.slots)) == 2


def test_a_spent_budget_raises_rate_limited_before_sending(
    store: CountingStore, clock: ManualClock
) -> None:
    frozen = clock.now
    with SnovClient(
        USER,
        SECRET,
        store=store,
        clock=lambda: frozen,
        sleep=lambda _: None,
        rate_limit=1,
        rate_window=60.0,
    ) as snov:
        RateLimiter(
            store,
            USER,
            limit=1,
            window=60.0,
            max_wait=1000.0,
            clock=lambda: frozen,
            sleep=lambda _: None,
        ).acquire()
        with pytest.raises(RateLimited) as caught:
            snov.balance()  # no request may leave: the strict mock has none registered
    assert caught.value.retry_after > 2.0
    assert caught.value.status_code is None


# ---- secrets ------------------------------------------------------------------------------


def _assert_clean(error: BaseException) -> None:
    for text in (str(error), repr(error), repr(error.args), str(vars(error))):
        assert SECRET not in text
        assert TOKEN not in text


@pytest.mark.usefixtures("token")
def test_snov_text_echoing_the_secret_or_token_is_scrubbed(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    echo = f"bad request with client_secret={SECRET} and token {TOKEN}"
    expect(httpx_mock, "GET", "/v1/get-balance", status_code=400, json={"errors": echo})
    with pytest.raises(SnovRejected) as caught:
        client.balance()
    _assert_clean(caught.value)
    assert "[redacted]" in caught.value.snov_message


@pytest.mark.parametrize(
    ("status", "reply", "kind"),
    [
        (
            401,
            {"error": "invalid_client", "error_description": f"bad secret {SECRET}"},
            CredentialsRejected,
        ),
        (400, {"errors": f"client_secret {SECRET} is wrong"}, CredentialsRejected),
        (403, {"errors": f"client_secret {SECRET} is wrong"}, SnovRejected),
        (200, {"token": SECRET}, CredentialsRejected),
    ],
)
def test_token_endpoint_failures_never_reveal_the_secret(
    client: SnovClient,
    httpx_mock: HTTPXMock,
    status: int,
    reply: object,
    kind: type[IntegrationError],
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, status_code=status, json=reply)
    with pytest.raises(kind) as caught:
        client.balance()
    _assert_clean(caught.value)


@pytest.mark.usefixtures("token")
def test_errors_of_every_kind_are_free_of_secrets(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    errors: list[BaseException] = []
    expect(httpx_mock, "GET", "/v1/get-balance", status_code=401, text="")
    httpx_mock.add_response(
        method="POST", url=TOKEN_URL, json={"access_token": TOKEN, "expires_in": 3600}
    )
    expect(httpx_mock, "GET", "/v1/get-balance", status_code=401, text="")
    expect(httpx_mock, "GET", "/v1/get-user-lists", status_code=503, is_reusable=True)
    httpx_mock.add_response(
        method="POST",
        url=TOKEN_URL,
        json={"access_token": TOKEN, "expires_in": 3600},
        is_reusable=True,
    )
    httpx_mock.add_exception(
        httpx.ReadTimeout(f"timed out {SECRET} {TOKEN}"),
        method="GET",
        url=f"{API}/v1/get-user-campaigns",
        is_reusable=True,
    )
    for call in (client.balance, client.lists, client.campaigns):
        with pytest.raises(IntegrationError) as caught:
            call()
        errors.append(caught.value)
    assert [type(error) for error in errors] == [
        CredentialsRejected,
        SnovServerError,
        SnovUnreachable,
    ]
    for error in errors:
        _assert_clean(error)


def test_the_timeout_comes_from_the_environment_at_construction(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore
) -> None:
    with SnovClient(USER, SECRET, store=store) as snov:
        assert snov._http.timeout == DEFAULT_TIMEOUT
    monkeypatch.setenv(TIMEOUT_ENV, "0.25")
    with SnovClient(USER, SECRET, store=store) as snov:
        assert snov._http.timeout == httpx.Timeout(0.25, connect=0.25)
    monkeypatch.setenv(TIMEOUT_ENV, "30")
    with SnovClient(USER, SECRET, store=store, timeout=2.0) as snov:
        assert snov._http.timeout == httpx.Timeout(2.0)  # an explicit timeout wins
    with SnovClient(USER, SECRET, store=store) as snov:
        assert snov._http.timeout == httpx.Timeout(30, connect=5.0)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf", "nan"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore, value: str
) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, value)
    with pytest.raises(ValueError, match=TIMEOUT_ENV):
        SnovClient(USER, SECRET, store=store)


def test_a_bad_environment_is_a_configuration_error_a_host_can_print(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore
) -> None:
    monkeypatch.setenv(RATE_LIMIT_ENV, "lots")
    with pytest.raises(ConfigurationError) as raised:
        SnovClient(USER, SECRET, store=store)
    assert isinstance(raised.value, IntegrationError)
    monkeypatch.delenv(RATE_LIMIT_ENV)
    monkeypatch.setenv(BASE_URL_ENV, "http://snov.example:port")
    with pytest.raises(ConfigurationError, match=r"Not a usable Snov\.io API address"):
        SnovClient(USER, SECRET, store=store)


@pytest.mark.parametrize(
    "address",
    [
        "http://api.snov.io",
        "http://10.0.0.7:8080",
        "http://[fe80::1]:80",
        "http://localhost.evil.test",
    ],
)
def test_a_plain_http_address_off_this_machine_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore, address: str
) -> None:
    monkeypatch.setenv(BASE_URL_ENV, address)
    with pytest.raises(ConfigurationError, match=BASE_URL_ENV) as raised:
        SnovClient(USER, SECRET, store=store)
    assert "unencrypted" in str(raised.value)
    with pytest.raises(ConfigurationError, match="unencrypted") as given:
        SnovClient(USER, SECRET, store=store, base_url="http://user:pa55word@snov.example")
    assert "pa55word" not in str(given.value)


@pytest.mark.parametrize(
    "address",
    [
        "http://127.0.0.1:8765",
        "http://127.8.9.10",
        "http://[::1]:9000",
        "http://localhost:1",
        "https://api.snov.io",
    ],
)
def test_https_and_plain_http_on_loopback_are_accepted(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore, address: str
) -> None:
    monkeypatch.setenv(BASE_URL_ENV, address)
    with SnovClient(USER, SECRET, store=store) as snov:
        assert snov.base_url == address

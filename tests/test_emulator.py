"""The Snov.io emulator's API, over real sockets with plain httpx: every endpoint and quirk.

Uses the package's own ``snov_emulator`` fixture (fresh state and a frozen clock per test).
Shapes against the reference's examples are in test_emulator_contract.py; faults, the rate
limit and the control API in test_emulator_control.py; the runner, CLI and fixture in
test_emulator_runner.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fortytwomin_snov.testing import Credentials, ProspectList, SnovEmulator

TOKEN = "/v1/oauth/access_token"
ADD = "/v1/add-prospect-to-list"
BY_EMAIL = "/v1/get-prospects-by-email"
SAME_LIST = "Prospect with same email already exists in your list"


@pytest.fixture
def account(snov_emulator: SnovEmulator) -> Credentials:
    return snov_emulator.add_account()


@pytest.fixture
def plain(snov_emulator: SnovEmulator) -> Iterator[httpx.Client]:
    """A client with no token."""
    with httpx.Client(base_url=snov_emulator.base_url, timeout=5) as client:
        yield client


@pytest.fixture
def api(snov_emulator: SnovEmulator, account: Credentials) -> Iterator[httpx.Client]:
    """A client sending a live token of ``account`` as a Bearer header."""
    token = snov_emulator.state.issue_token(account.client_id)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=snov_emulator.base_url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture
def target(snov_emulator: SnovEmulator, account: Credentials) -> ProspectList:
    """A list with no campaign, and a "Meeting status" custom field in the account."""
    snov_emulator.state.add_custom_field(account.client_id, "Meeting status")
    return snov_emulator.state.add_list(account.client_id, "42min bookings")


def post(client: httpx.Client, path: str, body: dict[str, Any], encoding: str) -> httpx.Response:
    if encoding == "form":
        return client.post(path, data=body)
    return client.post(path, json=body)


def credentials_form(account: Credentials) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": account.client_id,
        "client_secret": account.client_secret,
    }


# ---- the token endpoint ---------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_token_endpoint_issues_a_40_character_bearer_token_from_form_or_json(
    plain: httpx.Client, account: Credentials, encoding: str
) -> None:
    response = post(plain, TOKEN, credentials_form(account), encoding)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert re.fullmatch(r"[A-Za-z0-9]{40}", body["access_token"])
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600


def test_each_token_request_gives_a_new_token_and_the_old_one_keeps_working(
    plain: httpx.Client, account: Credentials
) -> None:
    first = plain.post(TOKEN, data=credentials_form(account)).json()["access_token"]
    second = plain.post(TOKEN, data=credentials_form(account)).json()["access_token"]

    assert first != second
    for token in (first, second):
        balance = plain.get("/v1/get-balance", headers={"Authorization": f"Bearer {token}"})
        assert balance.status_code == 200


def test_token_lifetime_is_configurable_and_the_token_dies_with_it(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.configure(token_lifetime=120)
    body = plain.post(TOKEN, data=credentials_form(account)).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}

    assert body["expires_in"] == 120
    snov_emulator.clock.advance(119)
    assert plain.get("/v1/get-balance", headers=headers).status_code == 200
    snov_emulator.clock.advance(1)
    assert plain.get("/v1/get-balance", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"client_secret": "wrong"},
        {"client_id": "nobody"},
        {"client_secret": ""},
        {"client_id": ""},
    ],
    ids=["wrong secret", "unknown user id", "no secret", "no user id"],
)
def test_bad_credentials_are_401_invalid_client(
    plain: httpx.Client, account: Credentials, change: dict[str, str]
) -> None:
    response = plain.post(TOKEN, data={**credentials_form(account), **change})

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }


def test_the_bad_credentials_answer_is_an_option(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.configure(
        bad_credentials_status=400, bad_credentials_body={"success": False, "errors": "nope"}
    )

    response = plain.post(TOKEN, data={**credentials_form(account), "client_secret": "x"})

    assert response.status_code == 400
    assert response.json() == {"success": False, "errors": "nope"}


def test_a_grant_type_other_than_client_credentials_is_refused(
    plain: httpx.Client, account: Credentials
) -> None:
    response = plain.post(TOKEN, data={**credentials_form(account), "grant_type": "password"})

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_revoked_credentials_get_no_token_and_their_tokens_stop_working(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    token = plain.post(TOKEN, data=credentials_form(account)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    snov_emulator.state.revoke_credentials(account.client_id)

    assert plain.post(TOKEN, data=credentials_form(account)).status_code == 401
    assert plain.get("/v1/get-balance", headers=headers).status_code == 401

    snov_emulator.state.restore_credentials(account.client_id)

    assert plain.post(TOKEN, data=credentials_form(account)).status_code == 200
    assert plain.get("/v1/get-balance", headers=headers).status_code == 401


# ---- where the token may be -----------------------------------------------------------


@pytest.mark.parametrize("place", ["header", "query", "form", "json"])
def test_the_token_is_read_from_each_of_the_four_places(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials, place: str
) -> None:
    token = snov_emulator.state.issue_token(account.client_id)
    request: dict[str, Any] = {
        "header": {"headers": {"Authorization": f"Bearer {token}"}},
        "query": {"params": {"access_token": token}},
        "form": {"data": {"access_token": token, "email": "nobody@example.com"}},
        "json": {"json": {"access_token": token, "email": "nobody@example.com"}},
    }[place]
    if place == "query":
        request["data"] = {"email": "nobody@example.com"}

    response = plain.post(BY_EMAIL, **request)

    assert response.status_code == 200
    assert response.json()["success"] is False
    [received] = snov_emulator.state.requests(path=BY_EMAIL)
    assert received.token_source == place
    assert received.client_id == account.client_id


def test_a_get_may_carry_the_token_in_a_form_body(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    # The reference's examples call requests.get(url, data=params).
    token = snov_emulator.state.issue_token(account.client_id)

    response = plain.request("GET", "/v1/get-balance", data={"access_token": token})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}],
    ids=["none", "unknown token", "not bearer"],
)
def test_a_missing_or_unknown_token_is_401(plain: httpx.Client, headers: dict[str, str]) -> None:
    response = plain.get("/v1/get-user-lists", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"success": False, "errors": "Unauthorized"}


def test_a_token_without_the_bearer_word_is_not_accepted(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    # One documented example sends "Authorization: <token>": a slip, not a feature.
    token = snov_emulator.state.issue_token(account.client_id)

    assert plain.get("/v1/get-balance", headers={"Authorization": token}).status_code == 401


def test_a_token_expires_after_3600_seconds_of_the_injected_clock(
    snov_emulator: SnovEmulator, api: httpx.Client
) -> None:
    snov_emulator.clock.advance(3599)
    assert api.get("/v1/get-balance").status_code == 200

    snov_emulator.clock.advance(1)
    assert api.get("/v1/get-balance").status_code == 401


def test_expiring_tokens_now_makes_the_next_call_401(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    assert snov_emulator.state.expire_tokens(account.client_id) == 1

    assert api.get("/v1/get-balance").status_code == 401


# ---- routing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", BY_EMAIL),
        ("GET", "/v1/lists"),
        ("POST", "/v1/get-user-lists"),
        ("GET", ADD),
        ("GET", TOKEN),
        ("DELETE", "/v1/get-balance"),
    ],
)
def test_a_wrong_method_on_a_known_path_is_403(api: httpx.Client, method: str, path: str) -> None:
    response = api.request(method, path)

    assert response.status_code == 403
    assert response.json()["success"] is False


@pytest.mark.parametrize(
    "path", ["/v1/prospect-by-email", "/v1/add-list", "/v2/blacklists", "/", "/_emulatorx"]
)
def test_an_unknown_path_is_404(api: httpx.Client, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 404
    assert response.json()["success"] is False


# ---- account, lists, custom fields, campaigns -----------------------------------------


def test_get_balance_answers_the_account_balance_as_a_string(
    snov_emulator: SnovEmulator, plain: httpx.Client
) -> None:
    rich = snov_emulator.add_account(balance="123.45")
    token = snov_emulator.state.issue_token(rich.client_id)

    body = plain.get("/v1/get-balance", headers={"Authorization": f"Bearer {token}"}).json()

    assert body["success"] is True
    assert body["data"]["balance"] == "123.45"


def test_get_user_lists_is_a_bare_array_including_deleted_lists(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    kept = state.add_list(account.client_id, "Kept")
    gone = state.add_list(account.client_id, "Gone")
    state.create_prospect(account.client_id, kept.id, {"email": "a@example.com"})
    state.create_prospect(account.client_id, kept.id, {"email": "b@example.com"})
    snov_emulator.clock.advance(60)
    state.delete_list(account.client_id, gone.id)

    lists = api.get("/v1/get-user-lists").json()

    assert isinstance(lists, list)
    by_name = {item["name"]: item for item in lists}
    assert by_name["Kept"]["id"] == kept.id
    assert by_name["Kept"]["contacts"] == 2
    assert by_name["Kept"]["isDeleted"] is False
    assert by_name["Kept"]["deletionDate"] is None
    assert by_name["Gone"]["isDeleted"] is True
    created = by_name["Gone"]["creationDate"]
    deleted = by_name["Gone"]["deletionDate"]
    assert created["timezone_type"] == 3
    assert created["timezone"] == "UTC"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000000", created["date"])
    assert deleted["date"] > created["date"]


def test_lists_belong_to_their_account(snov_emulator: SnovEmulator, api: httpx.Client) -> None:
    other = snov_emulator.add_account()
    snov_emulator.state.add_list(other.client_id, "Not yours")

    assert api.get("/v1/get-user-lists").json() == []


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_creating_a_list_answers_the_documented_array_wrapped_id(
    api: httpx.Client, encoding: str
) -> None:
    response = post(api, "/v1/lists", {"name": "New list"}, encoding)

    assert response.status_code == 200
    [created] = response.json()
    assert created["success"] is True
    assert isinstance(created["data"]["id"], int)
    [listed] = api.get("/v1/get-user-lists").json()
    assert listed["id"] == created["data"]["id"]
    assert listed["name"] == "New list"
    assert listed["contacts"] == 0


def test_the_list_creation_wrapping_is_an_option(
    snov_emulator: SnovEmulator, api: httpx.Client
) -> None:
    snov_emulator.configure(wrap_list_create_in_array=False)

    body = api.post("/v1/lists", json={"name": "New list"}).json()

    assert body["success"] is True
    assert isinstance(body["data"]["id"], int)


def test_creating_a_list_without_a_name_is_rejected(api: httpx.Client) -> None:
    response = api.post("/v1/lists", json={"name": "  "})

    assert response.status_code == 422
    assert response.json() == {"success": False, "errors": "List name is required"}


def test_custom_fields_are_a_bare_array_keyed_with_quotes(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    state.add_custom_field(account.client_id, "Project name")
    state.add_custom_field(account.client_id, "Розмір", type="number", required=True)

    assert api.get("/v1/prospect-custom-fields").json() == [
        {
            "key": "customFields['Project name']",
            "label": "Project name",
            "required": False,
            "type": "string",
        },
        {"key": "customFields['Розмір']", "label": "Розмір", "required": True, "type": "number"},
    ]


def test_campaigns_are_a_bare_array_with_the_list_and_status(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    state = snov_emulator.state
    running = state.add_campaign(account.client_id, "Nurture", target.id, status="Active")
    draft = state.add_campaign(account.client_id, "Later", target.id, status="Draft")

    campaigns = api.get("/v1/get-user-campaigns").json()

    assert [c["id"] for c in campaigns] == [running.id, draft.id]
    first, second = campaigns
    assert first["campaign"] == "Nurture"
    assert first["list_id"] == target.id
    assert first["status"] == "Active"
    assert first["started_at"] == int(snov_emulator.clock())
    assert isinstance(first["created_at"], int)
    assert isinstance(first["updated_at"], int)
    assert re.fullmatch(r"[0-9a-f]{32}", first["hash"])
    assert second["status"] == "Draft"
    assert second["started_at"] is None


# ---- add-prospect-to-list -------------------------------------------------------------


def test_a_new_email_is_added_with_its_fields(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    response = api.post(
        ADD,
        json={
            "email": "ada@example.com",
            "listId": target.id,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "position": "Analyst",
            "companyName": "Engines",
            "companySite": "https://engines.example",
            "country": "United Kingdom",
            "locality": "London",
            "phones": ["+441234567890"],
            "socialLinks": {"linkedIn": "https://www.linkedin.com/in/ada"},
            "customFields": {"Meeting status": "Booked"},
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body == {"success": True, "id": body["id"], "added": True, "updated": False}
    [stored] = snov_emulator.state.prospects(account.client_id)
    assert stored.id == body["id"]
    assert stored.list_id == target.id
    assert (stored.email, stored.first_name, stored.last_name) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
    )
    assert (stored.position, stored.company_name, stored.company_site) == (
        "Analyst",
        "Engines",
        "https://engines.example",
    )
    assert (stored.country, stored.locality) == ("United Kingdom", "London")
    assert stored.phones == ("+441234567890",)
    assert stored.social_links == {"linkedIn": "https://www.linkedin.com/in/ada"}
    assert stored.custom_fields == {"Meeting status": "Booked"}


def test_form_encoding_with_brackets_stores_what_nested_json_stores(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    state = snov_emulator.state
    second = state.add_list(account.client_id, "Second")
    api.post(
        ADD,
        json={
            "email": "json@example.com",
            "listId": target.id,
            "fullName": "Jay Son",
            "phones": ["+1", "+2"],
            "socialLinks": {"linkedIn": "https://li/j", "twitter": "https://x/j"},
            "customFields": {"Meeting status": "Booked"},
        },
    )
    response = api.post(
        ADD,
        data={
            "email": "form@example.com",
            "listId": str(second.id),
            "fullName": "Jay Son",
            "phones[]": ["+1", "+2"],
            "socialLinks[linkedIn]": "https://li/j",
            "socialLinks[twitter]": "https://x/j",
            "customFields[Meeting status]": "Booked",
        },
    )

    assert response.json()["added"] is True
    from_json, from_form = state.prospects(account.client_id)
    assert from_form.phones == from_json.phones == ("+1", "+2")
    assert from_form.social_links == from_json.social_links
    assert from_form.custom_fields == from_json.custom_fields == {"Meeting status": "Booked"}
    assert from_form.name == from_json.name == "Jay Son"
    [received] = state.requests(path=ADD)[1:]
    assert received.encoding == "form"
    assert received.body["customFields"] == {"Meeting status": "Booked"}
    assert received.body["phones"] == ["+1", "+2"]


def test_repeated_form_keys_without_brackets_keep_only_the_last_like_php(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    api.post(ADD, data={"email": "p@example.com", "listId": str(target.id), "phones": ["+1", "+2"]})

    [stored] = snov_emulator.state.prospects(account.client_id)
    assert stored.phones == ("+2",)


def test_without_names_the_name_comes_from_the_email(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    api.post(ADD, json={"email": "grace.hopper@example.com", "listId": str(target.id)})

    [record] = api.post(BY_EMAIL, json={"email": "grace.hopper@example.com"}).json()["data"]
    assert (record["name"], record["firstName"], record["lastName"]) == ("grace.hopper", "", "")


def test_an_email_already_in_the_same_list_is_422_and_left_alone(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    api.post(ADD, json={"email": "ada@example.com", "listId": target.id, "firstName": "Ada"})

    response = api.post(
        ADD, json={"email": "ADA@example.com", "listId": target.id, "firstName": "Other"}
    )

    assert response.status_code == 422
    assert response.json() == {"success": False, "added": False, "errors": SAME_LIST}
    [stored] = snov_emulator.state.prospects(account.client_id)
    assert stored.first_name == "Ada"


def test_update_contact_on_the_same_list_updates_by_default(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    api.post(ADD, json={"email": "ada@example.com", "listId": target.id})

    response = api.post(
        ADD,
        data={
            "email": "ada@example.com",
            "listId": str(target.id),
            "updateContact": "1",
            "customFields[Meeting status]": "Cancelled",
        },
    )

    assert response.status_code == 200
    assert response.json() == {"success": True, "added": False, "updated": True}
    [stored] = snov_emulator.state.prospects(account.client_id)
    assert stored.custom_fields == {"Meeting status": "Cancelled"}


def test_update_contact_on_the_same_list_can_answer_422_instead(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    snov_emulator.configure(update_contact_updates_same_list=False)
    api.post(ADD, json={"email": "ada@example.com", "listId": target.id})

    response = api.post(
        ADD,
        json={
            "email": "ada@example.com",
            "listId": target.id,
            "updateContact": True,
            "customFields": {"Meeting status": "Cancelled"},
        },
    )

    assert response.status_code == 422
    assert response.json()["errors"] == SAME_LIST
    [stored] = snov_emulator.state.prospects(account.client_id)
    assert stored.custom_fields == {}


@pytest.mark.parametrize("update_contact", [False, True])
def test_an_email_in_another_list_is_updated_there_and_not_added(
    snov_emulator: SnovEmulator,
    api: httpx.Client,
    account: Credentials,
    target: ProspectList,
    update_contact: bool,
) -> None:
    state = snov_emulator.state
    elsewhere = state.add_list(account.client_id, "Elsewhere")
    first = state.create_prospect(
        account.client_id, elsewhere.id, {"email": "ada@example.com", "full_name": "Old Name"}
    )

    response = api.post(
        ADD,
        json={
            "email": "ada@example.com",
            "listId": target.id,
            "fullName": "New Name",
            "updateContact": update_contact,
        },
    )

    assert response.status_code == 200
    assert response.json() == {"success": True, "added": False, "updated": True}
    [stored] = state.prospects(account.client_id)
    assert stored.id == first.id
    assert stored.list_id == elsewhere.id
    assert stored.full_name == "New Name"
    assert state.prospects(account.client_id, list_id=target.id) == []


def test_create_duplicates_puts_a_second_profile_in_the_requested_list(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    state = snov_emulator.state
    elsewhere = state.add_list(account.client_id, "Elsewhere")
    first = state.create_prospect(account.client_id, elsewhere.id, {"email": "ada@example.com"})

    response = api.post(
        ADD, data={"email": "ada@example.com", "listId": target.id, "createDuplicates": "true"}
    )

    body = response.json()
    assert response.status_code == 200
    assert body == {"success": True, "id": body["id"], "added": True, "updated": False}
    assert body["id"] != first.id
    records = api.post(BY_EMAIL, data={"email": "ada@example.com"}).json()["data"]
    assert [record["lists"] for record in records] == [
        [{"id": elsewhere.id, "name": "Elsewhere"}],
        [{"id": target.id, "name": target.name}],
    ]


def test_create_duplicates_still_refuses_the_same_list(
    api: httpx.Client, target: ProspectList
) -> None:
    api.post(ADD, json={"email": "ada@example.com", "listId": target.id})

    response = api.post(
        ADD, json={"email": "ada@example.com", "listId": target.id, "createDuplicates": True}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == SAME_LIST


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"updateContact": True, "createDuplicates": True},
            "Only one of updateContact and createDuplicates can be true",
        ),
        ({"listId": None}, "List id is required"),
        ({"listId": 999}, "List with id '999' not found"),
        ({"listId": "abc"}, "List with id 'abc' not found"),
        ({"email": "not-an-email"}, "Invalid email format"),
        ({"email": "a@b"}, "Invalid email format"),
        ({"email": None}, "Email or social link is required"),
        ({"customFields": {"Nope": "x", "Meeting status": "y"}}, "Custom fields 'Nope' not found"),
    ],
    ids=[
        "both flags",
        "no list",
        "unknown list",
        "list id not a number",
        "invalid email",
        "email without a dot",
        "no email",
        "unknown custom field",
    ],
)
def test_invalid_additions_are_422_with_a_message_and_change_nothing(
    snov_emulator: SnovEmulator,
    api: httpx.Client,
    account: Credentials,
    target: ProspectList,
    change: dict[str, Any],
    errors: str,
) -> None:
    body = {"email": "ada@example.com", "listId": target.id, **change}

    response = api.post(ADD, json={k: v for k, v in body.items() if v is not None})

    assert response.status_code == 422
    assert response.json() == {"success": False, "errors": errors}
    assert snov_emulator.state.prospects(account.client_id) == []


def test_adding_to_a_deleted_list_is_rejected(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    gone = snov_emulator.state.add_list(account.client_id, "Gone", deleted=True)

    response = api.post(ADD, json={"email": "ada@example.com", "listId": gone.id})

    assert response.status_code == 422
    assert response.json() == {"success": False, "errors": f"List with id '{gone.id}' not found"}


def test_a_list_of_another_account_is_unknown(
    snov_emulator: SnovEmulator, api: httpx.Client
) -> None:
    other = snov_emulator.add_account()
    theirs = snov_emulator.state.add_list(other.client_id, "Theirs")

    response = api.post(ADD, json={"email": "ada@example.com", "listId": theirs.id})

    assert response.status_code == 422


def test_the_custom_field_key_is_not_the_name_to_write_with(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    # prospect-custom-fields answers key "customFields['Meeting status']"; as a form name
    # it carries the quotes into the label, which names no field.
    response = api.post(
        ADD,
        data={
            "email": "ada@example.com",
            "listId": str(target.id),
            "customFields['Meeting status']": "Booked",
        },
    )

    assert response.status_code == 422
    assert response.json()["errors"] == "Custom fields ''Meeting status'' not found"


def test_a_prospect_may_be_added_by_social_link_alone(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    response = api.post(
        ADD, json={"listId": target.id, "socialLinks": {"linkedIn": "https://li/ada"}}
    )

    assert response.json()["added"] is True
    [stored] = snov_emulator.state.prospects(account.client_id)
    assert stored.email is None


def test_the_error_texts_are_options(
    snov_emulator: SnovEmulator, api: httpx.Client, target: ProspectList
) -> None:
    snov_emulator.configure(texts={"invalid_email": "Email is not valid"})

    response = api.post(ADD, json={"email": "nope", "listId": target.id})

    assert response.json() == {"success": False, "errors": "Email is not valid"}
    assert snov_emulator.state.options.texts.same_list_duplicate == SAME_LIST


def test_a_json_body_that_does_not_parse_is_400(api: httpx.Client) -> None:
    response = api.post(ADD, content=b"{not json", headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["success"] is False


# ---- reading prospects ----------------------------------------------------------------


def test_an_unknown_email_is_200_success_false(api: httpx.Client) -> None:
    response = api.post(BY_EMAIL, json={"email": "no.one.home@octagon.com"})

    assert response.status_code == 200
    assert response.json() == {
        "success": False,
        "errors": "Prospect with email 'no.one.home@octagon.com' not found",
    }


def test_a_prospect_is_found_by_id(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    added = api.post(ADD, json={"email": "ada@example.com", "listId": target.id}).json()

    found = api.post("/v1/get-prospect-by-id", data={"id": added["id"]}).json()
    missing = api.post("/v1/get-prospect-by-id", json={"id": "nope"})

    assert found["success"] is True
    assert found["data"]["id"] == added["id"]
    assert found["data"]["lists"] == [{"id": target.id, "name": target.name}]
    assert missing.status_code == 200
    assert missing.json() == {"success": False, "errors": "Prospect with id 'nope' not found"}


def test_prospect_list_pages_through_a_list(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    for number in range(5):
        snov_emulator.state.create_prospect(
            account.client_id, target.id, {"email": f"p{number}@example.com"}
        )

    page = api.post("/v1/prospect-list", data={"listId": target.id, "page": 2, "perPage": 2}).json()

    assert page["success"] is True
    assert page["list"]["name"] == target.name
    assert page["list"]["contacts"] == 5
    assert page["list"]["emailsCount"] == 5
    assert [p["emails"][0]["email"] for p in page["prospects"]] == [
        "p2@example.com",
        "p3@example.com",
    ]


def test_prospect_list_of_a_deleted_list_is_rejected(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    gone = snov_emulator.state.add_list(account.client_id, "Gone", deleted=True)

    assert api.post("/v1/prospect-list", data={"listId": gone.id}).status_code == 422


# ---- campaign enrolment ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["Active", "active", "ACTIVE"])
def test_adding_to_a_list_an_active_campaign_uses_enrols_the_prospect(
    snov_emulator: SnovEmulator,
    api: httpx.Client,
    account: Credentials,
    target: ProspectList,
    status: str,
) -> None:
    state = snov_emulator.state
    campaign = state.add_campaign(account.client_id, "Nurture", target.id, status=status)

    added = api.post(ADD, json={"email": "ada@example.com", "listId": target.id}).json()

    enrolments = state.enrolments(account.client_id)
    assert [(e.campaign_id, e.prospect_id) for e in enrolments] == [(campaign.id, added["id"])]
    [record] = api.post(BY_EMAIL, json={"email": "ada@example.com"}).json()["data"]
    assert record["campaigns"] == [
        {
            "id": campaign.id,
            "name": "Nurture",
            "campaign_status": status,
            "recipients": [
                {
                    "email": "ada@example.com",
                    "recipient_status": "Active",
                    "sent": None,
                    "reply": None,
                }
            ],
        }
    ]


@pytest.mark.parametrize("status", ["Paused", "Draft", "Completed"])
def test_a_campaign_that_is_not_active_enrols_nobody(
    snov_emulator: SnovEmulator,
    api: httpx.Client,
    account: Credentials,
    target: ProspectList,
    status: str,
) -> None:
    snov_emulator.state.add_campaign(account.client_id, "Nurture", target.id, status=status)

    api.post(ADD, json={"email": "ada@example.com", "listId": target.id})

    assert snov_emulator.state.enrolments(account.client_id) == []
    [record] = api.post(BY_EMAIL, json={"email": "ada@example.com"}).json()["data"]
    assert record["campaigns"] == []


def test_activating_a_campaign_enrols_the_prospects_already_in_its_list(
    snov_emulator: SnovEmulator, account: Credentials, target: ProspectList
) -> None:
    state = snov_emulator.state
    campaign = state.add_campaign(account.client_id, "Later", target.id, status="Paused")
    waiting = state.create_prospect(account.client_id, target.id, {"email": "a@example.com"})

    state.set_campaign_status(account.client_id, campaign.id, "Active")

    assert [e.prospect_id for e in state.enrolments(account.client_id)] == [waiting.id]


def test_an_update_elsewhere_does_not_enrol_in_the_requested_lists_campaign(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    state = snov_emulator.state
    elsewhere = state.add_list(account.client_id, "Elsewhere")
    state.create_prospect(account.client_id, elsewhere.id, {"email": "ada@example.com"})
    state.add_campaign(account.client_id, "Nurture", target.id, status="Active")

    api.post(ADD, json={"email": "ada@example.com", "listId": target.id})

    assert state.enrolments(account.client_id) == []


def test_enrolled_recipients_count_in_the_balance(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, target: ProspectList
) -> None:
    snov_emulator.state.add_campaign(account.client_id, "Nurture", target.id)

    api.post(ADD, json={"email": "ada@example.com", "listId": target.id})

    assert api.get("/v1/get-balance").json()["data"]["unique_recipients_used"] == 1


# ---- recipient status in a campaign -------------------------------------------------------

RECIPIENT = "/v1/change-recipient-status"


@pytest.fixture
def nurture(snov_emulator: SnovEmulator, account: Credentials, target: ProspectList) -> int:
    """An Active campaign on another list, with ada@example.com enrolled by hand."""
    state = snov_emulator.state
    elsewhere = state.add_list(account.client_id, "Cold leads")
    state.create_prospect(account.client_id, elsewhere.id, {"email": "ada@example.com"})
    campaign = state.add_campaign(account.client_id, "Q4 cold", elsewhere.id, status="Active")
    return campaign.id


def recipient_statuses(api: httpx.Client, email: str) -> list[list[str]]:
    records = api.post(BY_EMAIL, json={"email": email}).json()["data"]
    return [
        [
            recipient["recipient_status"]
            for c in record["campaigns"]
            for recipient in c["recipients"]
        ]
        for record in records
    ]


@pytest.mark.parametrize("encoding", ["form", "json"])
@pytest.mark.parametrize("status", ["Paused", "Unsubscribed", "Active"])
def test_change_recipient_status_sets_the_status_the_lookup_shows(
    api: httpx.Client, nurture: int, encoding: str, status: str
) -> None:
    body = {"email": "ada@example.com", "campaign_id": nurture, "status": status}

    answer = post(api, RECIPIENT, body, encoding)

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    assert recipient_statuses(api, "ada@example.com") == [[status]]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"email": "ada@example.com", "campaign_id": 999, "status": "Paused"}, "999"),
        ({"email": "bob@example.com", "campaign_id": None, "status": "Paused"}, "bob@"),
        ({"email": "ada@example.com", "campaign_id": None, "status": "Finished"}, "one of"),
        ({"email": "ada@example.com", "status": "Paused"}, "required"),
    ],
)
def test_change_recipient_status_refuses_what_it_cannot_change(
    api: httpx.Client, nurture: int, body: dict[str, Any], words: str
) -> None:
    sent = {**body, "campaign_id": nurture} if body.get("campaign_id", 0) is None else body

    answer = api.post(RECIPIENT, json=sent)

    assert answer.status_code == 400
    assert answer.json()["success"] is False
    assert words in answer.json()["errors"]
    assert recipient_statuses(api, "ada@example.com") == [["Active"]]


@pytest.mark.parametrize("final", ["Finished", "Moved"])
def test_a_finished_or_moved_recipient_cannot_be_changed(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials, nurture: int, final: str
) -> None:
    snov_emulator.state.set_recipient_status(account.client_id, nurture, "ada@example.com", final)

    answer = api.post(
        RECIPIENT, json={"email": "ada@example.com", "campaign_id": nurture, "status": "Paused"}
    )

    assert answer.status_code == 400
    assert final in answer.json()["errors"]
    assert recipient_statuses(api, "ada@example.com") == [[final]]


@pytest.mark.parametrize("all_profiles", [True, False])
def test_a_change_reaches_every_profile_or_the_newest_as_configured(
    snov_emulator: SnovEmulator,
    api: httpx.Client,
    account: Credentials,
    target: ProspectList,
    nurture: int,
    all_profiles: bool,
) -> None:
    state = snov_emulator.state
    state.create_prospect(account.client_id, target.id, {"email": "ada@example.com"})
    state.enrol(account.client_id, nurture, "ada@example.com")
    state.configure(recipient_status_all_profiles=all_profiles)

    api.post(
        RECIPIENT, json={"email": "ada@example.com", "campaign_id": nurture, "status": "Paused"}
    )

    assert state.recipient_statuses(account.client_id, nurture, "ada@example.com") == (
        ["Paused", "Paused"] if all_profiles else ["Active", "Paused"]
    )


def test_a_form_only_recipient_endpoint_reads_a_json_body_as_empty(
    snov_emulator: SnovEmulator, api: httpx.Client, nurture: int
) -> None:
    snov_emulator.state.configure(recipient_status_accepts_json=False)
    body = {"email": "ada@example.com", "campaign_id": nurture, "status": "Paused"}

    refused = api.post(RECIPIENT, json=body)
    accepted = api.post(RECIPIENT, data=body)

    assert (refused.status_code, accepted.status_code) == (400, 200)
    assert "required" in refused.json()["errors"]

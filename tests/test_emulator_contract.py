"""The emulator against Snov.io's documented example answers: each comes back with the same
shape (the same keys, the same value types, arrays element by element).

The examples are Snov.io's own (``docs/snov-api.md`` describes each endpoint's answer, in
sections 3 and 6), except where the documentation elides with "..." (dropped) or writes a
non-JSON ``[...]`` (an empty array here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fortytwomin_snov.testing import Credentials, SnovEmulator

TOKEN_EXAMPLE = """
{"access_token":"3yUyQZdks0Ej7T2fXzjUWzwlTcO4dWisKkeMpESz","token_type":"Bearer","expires_in":3600}
"""
USER_LISTS_EXAMPLE = """
[
  {"id":1818597,"name":"FirstSend","contacts":1,"isDeleted":false,
   "creationDate":{"date":"2020-04-07 08:25:44.000000","timezone_type":3,"timezone":"UTC"},
   "deletionDate":null},
  {"id":1505383,"name":"All prospects","contacts":10,"isDeleted":true,
   "creationDate":{"date":"2019-12-17 15:07:30.000000","timezone_type":3,"timezone":"UTC"},
   "deletionDate":{"date":"2020-02-17 14:05:44.000000","timezone_type":3,"timezone":"UTC"}}
]
"""
CREATE_LIST_EXAMPLE = """[{"success": true, "data": {"id": 1234567}}]"""
ADDED_EXAMPLE = (
    """{"success": true, "id": "0Y2QzowWL1rHpIptwaRp0Q==", "added": true, "updated": false}"""
)
SAME_LIST_EXAMPLE = """
{"success":false,"added":false,"errors":"Prospect with same email already exists in your list"}
"""
OTHER_LIST_EXAMPLE = """{"success":true,"added":false,"updated":true}"""
BY_EMAIL_EXAMPLE = """
{"success":true,"data":[{"id":"xusD3-T_K5IktGoaa8Jc8A==","name":"Gavin Vanrooyen",
 "firstName":"Gavin","lastName":"Vanrooyen",
 "industry":"Entertainment","country":"United States","locality":"Greater Atlanta Area",
 "social":[{"link":"https://www.linkedin.com/in/...","type":"linkedIn"}],
 "lastUpdateDate":{"date":"2019-09-11 12:37:58.000000","timezone_type":3,"timezone":"UTC"},
 "currentJob":[{"companyName":"Octagon","position":"Senior Brand Director","site":"http://octagon.com"}],
 "previousJob":[],
 "lists":[{"id":1250344,"name":"People List"}],
 "campaigns":[]}]}
"""
NOT_FOUND_EXAMPLE = """
{"success":false,"errors":"Prospect with email 'no.one.home@octagon.com' not found"}
"""
CUSTOM_FIELDS_EXAMPLE = """
[{"key":"customFields['company']","label":"company","required":false,"type":"string"},
 {"key":"customFields['Project name']","label":"Project name","required":false,"type":"string"}]
"""
BALANCE_EXAMPLE = """
{"success":true,"data":{"balance":"25000.00","teamwork":false,"unique_recipients_used":0,"limit_resets_in":29,"expires_in":359}}
"""
CAMPAIGNS_EXAMPLE = """
[{"id":237945,"campaign":"New Campaign","list_id":8512947,"status":"Paused",
  "created_at":1639469976,"updated_at":1639470026,"started_at":1639470021,"hash":"e272be8f..."},
 {"id":237956,"campaign":"Test campaign","list_id":7654321,"status":"Draft","created_at":1638808262,
  "updated_at":1638808262,"started_at":null,"hash":"f97fce24..."}]
"""
# get-prospect-by-id: "the same record shape with data as an object".
BY_ID_EXAMPLE = json.dumps({"success": True, "data": json.loads(BY_EMAIL_EXAMPLE)["data"][0]})
# Documented as key lists only: the keys are compared, not the types.
PROSPECT_LIST_KEYS = {
    "success": None,
    "list": {
        "name": None,
        "contacts": None,
        # A v1 date, so a PHP DateTime object (reference, section 0).
        "creationDate": {"date": None, "timezone_type": None, "timezone": None},
        "emailsCount": None,
    },
    "prospects": [
        {
            "id": None,
            "name": None,
            "firstName": None,
            "lastName": None,
            "emails": [
                dict.fromkeys(
                    [
                        "email",
                        "probability",
                        "isVerified",
                        "jobStatus",
                        "domainType",
                        "isValidFormat",
                        "isDisposable",
                        "isWebmail",
                        "isGibberish",
                        "smtpStatus",
                    ]
                )
            ],
        }
    ],
}
# A get-prospects-by-email campaigns[] item, as observed live (S7): strings or null.
ENROLLED_CAMPAIGN_KEYS = {
    "id": None,
    "name": None,
    "campaign_status": None,
    "recipients": [{"email": None, "recipient_status": None, "sent": None, "reply": None}],
}

NULLABLE = frozenset({"industry"})
"""Keys the emulator may leave null where the example shows a value it cannot know."""


def shape(value: Any, key: str | None = None, *, types: bool = True) -> Any:
    """Keys and value types, arrays element by element."""
    if isinstance(value, dict):
        return {k: shape(v, k, types=types) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(item, key, types=types) for item in value]
    if not types:
        return None
    if value is None and key in NULLABLE:
        return "str"
    return type(value).__name__


def assert_shape(actual: Any, example: str | Any, *, types: bool = True) -> None:
    expected = json.loads(example) if isinstance(example, str) else example
    assert shape(actual, types=types) == shape(expected, types=types)


@pytest.fixture
def account(snov_emulator: SnovEmulator) -> Credentials:
    return snov_emulator.add_account()


@pytest.fixture
def api(snov_emulator: SnovEmulator, account: Credentials) -> Iterator[httpx.Client]:
    token = snov_emulator.state.issue_token(account.client_id)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=snov_emulator.base_url, headers=headers, timeout=5) as client:
        yield client


def test_token(snov_emulator: SnovEmulator, account: Credentials) -> None:
    response = httpx.post(
        f"{snov_emulator.base_url}/v1/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": account.client_id,
            "client_secret": account.client_secret,
        },
    )

    assert_shape(response.json(), TOKEN_EXAMPLE)


def test_get_user_lists(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    first = state.add_list(account.client_id, "FirstSend")
    state.add_list(account.client_id, "All prospects", deleted=True)
    state.create_prospect(account.client_id, first.id, {"email": "a@example.com"})

    assert_shape(api.get("/v1/get-user-lists").json(), USER_LISTS_EXAMPLE)


def test_create_list(api: httpx.Client) -> None:
    assert_shape(api.post("/v1/lists", data={"name": "New"}).json(), CREATE_LIST_EXAMPLE)


def test_add_prospect_answers(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    target = state.add_list(account.client_id, "Target")
    other = state.add_list(account.client_id, "Other")
    state.create_prospect(account.client_id, other.id, {"email": "elsewhere@example.com"})
    new = {"email": "new@example.com", "listId": target.id}

    added = api.post("/v1/add-prospect-to-list", json=new)
    again = api.post("/v1/add-prospect-to-list", json=new)
    elsewhere = api.post(
        "/v1/add-prospect-to-list", json={"email": "elsewhere@example.com", "listId": target.id}
    )

    assert_shape(added.json(), ADDED_EXAMPLE)
    assert_shape(again.json(), SAME_LIST_EXAMPLE)
    assert again.json() == json.loads(SAME_LIST_EXAMPLE)
    assert_shape(elsewhere.json(), OTHER_LIST_EXAMPLE)
    assert elsewhere.json() == json.loads(OTHER_LIST_EXAMPLE)


@pytest.fixture
def gavin(snov_emulator: SnovEmulator, account: Credentials) -> str:
    """The reference's example prospect, seeded through the state; returns its id."""
    state = snov_emulator.state
    people = state.add_list(account.client_id, "People List")
    return state.create_prospect(
        account.client_id,
        people.id,
        {
            "email": "gavin@octagon.com",
            "first_name": "Gavin",
            "last_name": "Vanrooyen",
            "country": "United States",
            "locality": "Greater Atlanta Area",
            "social_links": {"linkedIn": "https://www.linkedin.com/in/gavin"},
            "company_name": "Octagon",
            "position": "Senior Brand Director",
            "company_site": "http://octagon.com",
        },
    ).id


def test_get_prospects_by_email(api: httpx.Client, gavin: str) -> None:
    found = api.post("/v1/get-prospects-by-email", json={"email": "gavin@octagon.com"})

    assert_shape(found.json(), BY_EMAIL_EXAMPLE)


def test_get_prospects_by_email_not_found(api: httpx.Client) -> None:
    missing = api.post("/v1/get-prospects-by-email", json={"email": "no.one.home@octagon.com"})

    assert missing.json() == json.loads(NOT_FOUND_EXAMPLE)


def test_get_prospect_by_id(api: httpx.Client, gavin: str) -> None:
    found = api.post("/v1/get-prospect-by-id", json={"id": gavin})

    assert_shape(found.json(), BY_ID_EXAMPLE)


def test_enrolled_campaign_in_a_prospect(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    target = state.add_list(account.client_id, "Target")
    state.add_campaign(account.client_id, "Nurture", target.id, status="Active")
    api.post("/v1/add-prospect-to-list", json={"email": "a@example.com", "listId": target.id})

    found = api.post("/v1/get-prospects-by-email", json={"email": "a@example.com"}).json()

    assert_shape(found["data"][0]["campaigns"], [ENROLLED_CAMPAIGN_KEYS], types=False)


def test_prospect_custom_fields(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    snov_emulator.state.add_custom_field(account.client_id, "company")
    snov_emulator.state.add_custom_field(account.client_id, "Project name")

    fields = api.get("/v1/prospect-custom-fields").json()

    assert_shape(fields, CUSTOM_FIELDS_EXAMPLE)
    assert fields == json.loads(CUSTOM_FIELDS_EXAMPLE)


def test_prospect_list(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    target = snov_emulator.state.add_list(account.client_id, "Target")
    snov_emulator.state.create_prospect(account.client_id, target.id, {"email": "a@example.com"})

    page = api.post("/v1/prospect-list", data={"listId": target.id}).json()

    assert_shape(page, PROSPECT_LIST_KEYS, types=False)


def test_get_balance(api: httpx.Client) -> None:
    assert api.get("/v1/get-balance").json() == json.loads(BALANCE_EXAMPLE)


def test_get_user_campaigns(
    snov_emulator: SnovEmulator, api: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    state.add_campaign(
        account.client_id,
        "New Campaign",
        state.add_list(account.client_id, "A").id,
        status="Paused",
    )
    state.add_campaign(
        account.client_id,
        "Test campaign",
        state.add_list(account.client_id, "B").id,
        status="Draft",
    )

    assert_shape(api.get("/v1/get-user-campaigns").json(), CAMPAIGNS_EXAMPLE)

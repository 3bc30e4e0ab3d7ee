"""The emulator's rate limit, fault injection, request log and control API, over real sockets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from fortytwomin_snov.testing import Credentials, EmulatorState, ManualClock, SnovEmulator

TOKEN = "/v1/oauth/access_token"
BALANCE = "/v1/get-balance"
RATE_HEADERS = ("retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "ratelimit")


@pytest.fixture
def account(snov_emulator: SnovEmulator) -> Credentials:
    return snov_emulator.add_account()


@pytest.fixture
def plain(snov_emulator: SnovEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=snov_emulator.base_url, timeout=5) as client:
        yield client


def credentials_form(account: Credentials) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": account.client_id,
        "client_secret": account.client_secret,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fetch_token(client: httpx.Client, account: Credentials) -> str:
    response = client.post(TOKEN, data=credentials_form(account))
    assert response.status_code == 200
    token: str = response.json()["access_token"]
    return token


# ---- the rate limit -------------------------------------------------------------------


def test_the_limit_counts_per_account_across_concurrent_connections(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.set_rate_limit(10)
    token = fetch_token(plain, account)  # the token request is the first of the ten
    threads, per_thread = 4, 5
    start = threading.Barrier(threads)

    def hammer(_: int) -> list[httpx.Response]:
        with httpx.Client(base_url=snov_emulator.base_url, timeout=5) as own:
            start.wait()
            return [own.get(BALANCE, headers=bearer(token)) for _ in range(per_thread)]

    with ThreadPoolExecutor(threads) as pool:
        responses = [r for batch in pool.map(hammer, range(threads)) for r in batch]

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 9 + [429] * 11
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json() == {"success": False, "errors": "Too many requests"}
    assert not any(name in throttled.headers for name in RATE_HEADERS)


def test_one_account_at_its_limit_leaves_another_unaffected(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.set_rate_limit(2)
    other = snov_emulator.add_account()
    token = fetch_token(plain, account)
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 200
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 429

    other_token = fetch_token(plain, other)

    assert plain.get(BALANCE, headers=bearer(other_token)).status_code == 200


def test_every_token_of_an_account_draws_on_the_same_budget(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.set_rate_limit(3)
    first, second = fetch_token(plain, account), fetch_token(plain, account)

    assert plain.get(BALANCE, headers=bearer(first)).status_code == 200
    assert plain.get(BALANCE, headers=bearer(second)).status_code == 429


def test_token_requests_count_and_can_be_throttled(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.set_rate_limit(2)

    statuses = [plain.post(TOKEN, data=credentials_form(account)).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_window_rolls_with_the_injected_clock(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.set_rate_limit(3)
    token = fetch_token(plain, account)  # t = 0
    snov_emulator.clock.advance(10)
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 200  # t = 10
    snov_emulator.clock.advance(10)
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 200  # t = 20
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 429

    snov_emulator.clock.advance(39.9)  # t = 59.9: the first request is still in the window
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 429
    snov_emulator.clock.advance(0.1)  # t = 60: it has left
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 200
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 429
    snov_emulator.clock.advance(10)  # t = 70: the one from t = 10 has left too
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 200


def test_throttled_requests_do_not_use_up_the_window(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.set_rate_limit(1)
    token = fetch_token(plain, account)
    for _ in range(5):
        assert plain.get(BALANCE, headers=bearer(token)).status_code == 429

    snov_emulator.clock.advance(60)

    assert plain.get(BALANCE, headers=bearer(token)).status_code == 200


def test_snov_default_limit_is_60_a_minute() -> None:
    state = EmulatorState(clock=ManualClock())
    client_id = state.add_account().client_id

    admitted = [state.admit(client_id) for _ in range(61)]

    assert admitted == [True] * 60 + [False]


def test_no_limit_at_all_is_an_option(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.set_rate_limit(None)
    token = fetch_token(plain, account)

    statuses = {plain.get(BALANCE, headers=bearer(token)).status_code for _ in range(70)}

    assert statuses == {200}


# ---- fault injection ------------------------------------------------------------------


def test_the_next_requests_fail_with_the_chosen_server_error(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    token = snov_emulator.state.issue_token(account.client_id)
    snov_emulator.state.fail_next(2, status=503)

    statuses = [plain.get(BALANCE, headers=bearer(token)).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert [r.status for r in snov_emulator.state.requests()] == [503, 503, 200]


def test_a_dropped_connection_is_an_httpx_protocol_error(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    token = snov_emulator.state.issue_token(account.client_id)
    snov_emulator.state.drop_next()

    with pytest.raises(httpx.RemoteProtocolError):
        plain.get(BALANCE, headers=bearer(token))

    assert plain.get(BALANCE, headers=bearer(token)).status_code == 200
    assert [r.status for r in snov_emulator.state.requests()] == [None, 200]


def test_a_delay_makes_a_client_time_out(snov_emulator: SnovEmulator, account: Credentials) -> None:
    token = snov_emulator.state.issue_token(account.client_id)
    snov_emulator.state.delay_next(0.2)

    with (
        httpx.Client(base_url=snov_emulator.base_url, timeout=0.05) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.get(BALANCE, headers=bearer(token))


def test_a_delayed_request_is_then_answered(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    token = snov_emulator.state.issue_token(account.client_id)
    snov_emulator.state.delay_next(0.05)

    response = plain.get(BALANCE, headers=bearer(token), timeout=2)

    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.05


def test_a_fault_can_target_one_path(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    snov_emulator.state.fail_next(path="/v1/get-user-lists")

    token = fetch_token(plain, account)
    balance = plain.get(BALANCE, headers=bearer(token))
    lists = plain.get("/v1/get-user-lists", headers=bearer(token))

    assert (balance.status_code, lists.status_code) == (200, 500)
    assert snov_emulator.state.pending_faults() == []


# ---- the request log ------------------------------------------------------------------


def test_every_request_is_recorded_with_its_parsed_body_status_and_time(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    token = fetch_token(plain, account)
    snov_emulator.clock.advance(5)
    plain.post(
        "/v1/add-prospect-to-list?x=1",
        data={"email": "a@example.com", "listId": "7", "customFields[Host email]": "h@x.io"},
        headers=bearer(token),
    )
    plain.get("/v1/nowhere")

    first, second, third = snov_emulator.state.requests()
    assert (first.method, first.path, first.status, first.encoding) == ("POST", TOKEN, 200, "form")
    assert first.body["client_id"] == account.client_id
    assert first.client_id == account.client_id
    assert second.at == first.at + 5
    assert second.query == {"x": "1"}
    assert second.body == {
        "email": "a@example.com",
        "listId": "7",
        "customFields": {"Host email": "h@x.io"},
    }
    assert second.status == 422
    assert (second.client_id, second.token_source) == (account.client_id, "header")
    assert (third.method, third.path, third.status, third.client_id) == (
        "GET",
        "/v1/nowhere",
        404,
        None,
    )
    assert snov_emulator.state.requests(path=TOKEN) == [first]


# ---- the control API ------------------------------------------------------------------


@pytest.fixture
def control(snov_emulator: SnovEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{snov_emulator.base_url}/_emulator", timeout=5) as client:
        yield client


def test_control_api_seeds_an_account_the_api_then_serves(
    plain: httpx.Client, control: httpx.Client
) -> None:
    created = control.post("/accounts", json={"client_id": "me", "client_secret": "s3cret"})
    assert created.status_code == 201
    assert created.json() == {"client_id": "me", "client_secret": "s3cret"}
    listed = control.post("/accounts/me/lists", json={"name": "Bookings"}).json()
    control.post("/accounts/me/lists", json={"name": "Old", "deleted": True})
    control.post("/accounts/me/custom-fields", json={"label": "Company size", "type": "number"})
    campaign = control.post(
        "/accounts/me/campaigns", json={"name": "Nurture", "list_id": listed["id"]}
    ).json()
    prospect = control.post(
        "/accounts/me/prospects",
        json={"list_id": listed["id"], "fields": {"email": "a@example.com", "first_name": "A"}},
    ).json()

    token = fetch_token(plain, Credentials("me", "s3cret"))
    lists = plain.get("/v1/get-user-lists", headers=bearer(token)).json()
    fields = plain.get("/v1/prospect-custom-fields", headers=bearer(token)).json()
    campaigns = plain.get("/v1/get-user-campaigns", headers=bearer(token)).json()
    found = plain.post(
        "/v1/get-prospects-by-email", json={"email": "a@example.com"}, headers=bearer(token)
    ).json()

    assert [(item["name"], item["isDeleted"], item["contacts"]) for item in lists] == [
        ("Bookings", False, 1),
        ("Old", True, 0),
    ]
    assert fields[0]["label"] == "Company size"
    assert fields[0]["type"] == "number"
    assert campaigns[0]["id"] == campaign["id"]
    assert campaigns[0]["status"] == "Active"
    assert found["data"][0]["id"] == prospect["id"]
    assert found["data"][0]["campaigns"][0]["id"] == campaign["id"]


def test_control_api_shows_the_state_without_secrets(
    snov_emulator: SnovEmulator, control: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    target = state.add_list(account.client_id, "Target")
    state.add_campaign(account.client_id, "Nurture", target.id)
    state.create_prospect(
        account.client_id, target.id, {"email": "a@example.com", "custom_fields": {"X": "1"}}
    )

    snapshot = control.get("/state").json()

    [seen] = snapshot["accounts"]
    assert seen["client_id"] == account.client_id
    assert account.client_secret not in control.get("/state").text
    assert seen["lists"][0]["contacts"] == 1
    assert seen["prospects"][0]["email"] == "a@example.com"
    assert seen["prospects"][0]["list_id"] == target.id
    assert seen["prospects"][0]["custom_fields"] == {"X": "1"}
    assert seen["enrolments"][0]["email"] == "a@example.com"
    assert snapshot["options"]["rate_limit"] == snov_emulator.state.options.rate_limit


def test_control_api_revokes_restores_and_expires(
    plain: httpx.Client, control: httpx.Client, account: Credentials
) -> None:
    token = fetch_token(plain, account)

    assert control.post("/tokens/expire", json={}).json() == {"expired": 1}
    assert plain.get(BALANCE, headers=bearer(token)).status_code == 401
    control.post(f"/accounts/{account.client_id}/revoke")
    assert plain.post(TOKEN, data=credentials_form(account)).status_code == 401
    control.post(f"/accounts/{account.client_id}/restore")
    assert plain.post(TOKEN, data=credentials_form(account)).status_code == 200


def test_control_api_deletes_a_list_and_changes_a_campaign(
    snov_emulator: SnovEmulator, control: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    target = state.add_list(account.client_id, "Target")
    campaign = state.add_campaign(account.client_id, "Later", target.id, status="Paused")
    state.create_prospect(account.client_id, target.id, {"email": "a@example.com"})

    deleted = control.delete(f"/accounts/{account.client_id}/lists/{target.id}")
    changed = control.post(
        f"/accounts/{account.client_id}/campaigns/{campaign.id}/status", json={"status": "Active"}
    )

    assert deleted.json()["deleted"] is True
    assert state.lists(account.client_id)[0].deleted
    assert changed.json()["active"] is True
    assert len(state.enrolments(account.client_id)) == 1


def test_a_deleted_custom_field_is_refused_by_later_writes(
    snov_emulator: SnovEmulator, control: httpx.Client, plain: httpx.Client, account: Credentials
) -> None:
    state = snov_emulator.state
    target = state.add_list(account.client_id, "Target")
    state.add_custom_field(account.client_id, "Meeting status")
    state.add_custom_field(account.client_id, "Kept")

    deleted = control.delete(f"/accounts/{account.client_id}/custom-fields/Meeting status")

    assert deleted.status_code == 200
    assert [field.label for field in state.custom_fields(account.client_id)] == ["Kept"]
    token = fetch_token(plain, account)
    refused = plain.post(
        "/v1/add-prospect-to-list",
        headers=bearer(token),
        json={
            "listId": target.id,
            "email": "a@example.com",
            "customFields": {"Meeting status": "Meeting booked"},
        },
    )
    assert refused.status_code == 422
    assert "Meeting status" in refused.json()["errors"]


def test_control_api_injects_faults(
    snov_emulator: SnovEmulator, plain: httpx.Client, control: httpx.Client, account: Credentials
) -> None:
    token = snov_emulator.state.issue_token(account.client_id)
    control.post("/faults", json={"kind": "server_error", "status": 502, "path": BALANCE})
    control.post("/faults", json={"kind": "drop", "count": 2, "path": "/v1/get-user-lists"})
    assert [f["kind"] for f in control.get("/faults").json()] == ["server_error", "drop"]

    assert plain.get(BALANCE, headers=bearer(token)).status_code == 502
    with pytest.raises(httpx.RemoteProtocolError):
        plain.get("/v1/get-user-lists", headers=bearer(token))
    control.delete("/faults")
    assert plain.get("/v1/get-user-lists", headers=bearer(token)).status_code == 200


def test_control_api_reads_and_clears_the_request_log(
    plain: httpx.Client, control: httpx.Client, account: Credentials
) -> None:
    fetch_token(plain, account)
    plain.get(BALANCE)

    all_requests = control.get("/requests").json()
    balance_only = control.get("/requests", params={"path": BALANCE}).json()
    control.delete("/requests")

    assert [(r["path"], r["status"]) for r in all_requests] == [(TOKEN, 200), (BALANCE, 401)]
    assert all_requests[0]["body"]["grant_type"] == "client_credentials"
    assert [r["path"] for r in balance_only] == [BALANCE]
    assert control.get("/requests").json() == []


def test_control_api_changes_options(snov_emulator: SnovEmulator, control: httpx.Client) -> None:
    changed = control.patch(
        "/options", json={"rate_limit": 5, "texts": {"invalid_email": "Bad email"}}
    )

    assert changed.status_code == 200
    assert changed.json()["rate_limit"] == 5
    assert snov_emulator.state.options.rate_limit == 5
    assert snov_emulator.state.options.texts.invalid_email == "Bad email"
    assert control.get("/options").json()["texts"]["invalid_email"] == "Bad email"


def test_control_api_resets(
    snov_emulator: SnovEmulator, plain: httpx.Client, control: httpx.Client, account: Credentials
) -> None:
    fetch_token(plain, account)

    assert control.post("/reset").json() == {"reset": True}

    assert snov_emulator.state.accounts() == []
    assert snov_emulator.state.requests() == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/accounts/nobody/lists", {"name": "L"}, 404),
        ("DELETE", "/accounts/nobody/lists/1", None, 404),
        ("DELETE", "/accounts/taken/custom-fields/Nope", None, 404),
        ("POST", "/accounts", {"client_id": "taken"}, 409),
        ("POST", "/accounts/taken/lists", {"name": ""}, 400),
        ("POST", "/accounts/taken/lists", {"name": "L", "colour": "red"}, 400),
        ("POST", "/accounts/taken/prospects", {"list_id": 1, "fields": {"nope": 1}}, 400),
        ("POST", "/faults", {"kind": "server_error", "status": 404}, 400),
        ("POST", "/faults", {"kind": "explode"}, 400),
        ("PATCH", "/options", {"rate_limit": 0}, 400),
        ("PATCH", "/options", {"no_such_option": 1}, 400),
        ("GET", "/nowhere", None, 404),
        ("GET", "/reset", None, 405),
    ],
)
def test_control_api_errors_are_json(
    snov_emulator: SnovEmulator,
    control: httpx.Client,
    method: str,
    path: str,
    body: dict[str, object] | None,
    status: int,
) -> None:
    snov_emulator.add_account("taken")

    response = control.request(method, path, json=body)

    assert response.status_code == status
    assert "error" in response.json()


def test_a_malformed_control_body_is_400(control: httpx.Client) -> None:
    response = control.post("/accounts", content=b"[1, 2")

    assert response.status_code == 400
    assert response.json() == {"error": "the body is not JSON"}


def test_the_request_log_keeps_secrets_out_of_its_repr(
    snov_emulator: SnovEmulator, plain: httpx.Client, account: Credentials
) -> None:
    token = fetch_token(plain, account)
    plain.get(BALANCE, params={"access_token": token})

    first, second = snov_emulator.state.requests()

    assert first.body["client_secret"] == account.client_secret
    assert second.query["access_token"] == token
    assert account.client_secret not in repr(first)
    assert token not in repr(second)
    assert "/v1/get-balance -> 200" in repr(second)

"""Connecting Snov.io: the manifest, the credential check, connect and disconnect hooks.

Each test goes through a real PluginManager (the ``hook`` fixture) and strict
pytest-httpx: a request the test did not expect fails it, and so does an expected
request that never came.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pluggy
import pytest
import stamina
from pytest_httpx import HTTPXMock

from fortytwomin_snov.contract.errors import IntegrationError, InvalidCredentials, PermissionDenied
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.schemas import load_schema
from fortytwomin_snov.snov import RATE_LIMIT_ENV

API = "https://api.snov.io"
USER_ID = "7f3a9c1e2b4d4e0f"
SECRET = "s3cr3t-api-secret-value"
TOKEN = "T" * 40
KEYS = {"api_user_id": USER_ID, "api_secret": SECRET}
ADMIN = {"id": "user-1", "role": "admin"}


@dataclass
class Host:
    store: MemoryStore = field(default_factory=MemoryStore)


@pytest.fixture(autouse=True)
def _no_retry_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=1):
        yield


@pytest.fixture
def host() -> Host:
    return Host()


def expect_token(httpx_mock: HTTPXMock, *, secret: str = SECRET, status: int = 200) -> None:
    body: dict[str, Any] = (
        {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
        if status == 200
        else {"error": "invalid_client", "error_description": "Client authentication failed"}
    )
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/v1/oauth/access_token",
        match_json={
            "grant_type": "client_credentials",
            "client_id": USER_ID,
            "client_secret": secret,
        },
        status_code=status,
        json=body,
    )


def expect_balance(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="GET",
        url=f"{API}/v1/get-balance",
        match_headers={"Authorization": f"Bearer {TOKEN}"},
        json={
            "success": True,
            "data": {"balance": "25000.00", "teamwork": False, "unique_recipients_used": 0},
        },
    )


def assert_no_secret(document: object) -> None:
    text = json.dumps(document) if not isinstance(document, str) else document
    assert SECRET not in text
    assert TOKEN not in text


# ---- integration_manifest -----------------------------------------------------------


def test_manifest_lists_snov_under_crm_as_admin_only(hook: pluggy.HookRelay) -> None:
    (manifest,) = hook.integration_manifest()
    jsonschema.validate(manifest, load_schema("manifest"))
    assert manifest["slug"] == "snov"
    assert manifest["category"] == "crm"
    assert manifest["auth"] == "api_key"
    assert manifest["admin_only"] is True
    credentials_schema = manifest["credentials_schema"]
    assert credentials_schema["required"] == ["api_user_id", "api_secret"]
    assert credentials_schema["properties"]["api_secret"]["writeOnly"] is True


@pytest.mark.parametrize(
    ("configured", "declared"),
    [(None, 60), ("600", 600), ("many", 60)],
    ids=["snov-default", "configured", "bad-variable"],
)
def test_manifest_declares_the_rate_the_client_paces_itself_to(
    hook: pluggy.HookRelay,
    monkeypatch: pytest.MonkeyPatch,
    configured: str | None,
    declared: int,
) -> None:
    if configured is None:
        monkeypatch.delenv(RATE_LIMIT_ENV, raising=False)
    else:
        monkeypatch.setenv(RATE_LIMIT_ENV, configured)
    (manifest,) = hook.integration_manifest()
    jsonschema.validate(manifest, load_schema("manifest"))
    assert manifest["rate_limit"] == declared


# ---- validate_credentials ---------------------------------------------------------------


def test_other_integrations_get_none_and_no_request(hook: pluggy.HookRelay, host: Host) -> None:
    assert hook.validate_credentials(integration="hubspot", credentials=KEYS, host=host) is None
    assert hook.connect(integration="hubspot", credentials=KEYS, actor=ADMIN, host=host) is None


def test_valid_keys_are_accepted_with_the_account(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_balance(httpx_mock)
    check = hook.validate_credentials(integration="snov", credentials=KEYS, host=host)
    jsonschema.validate(check, load_schema("credential-check"))
    assert check == {
        "ok": True,
        "message": "Snov.io accepted the keys",
        "account": {"balance": "25000.00", "teamwork": False},
    }


def test_rejected_keys_say_to_check_both_values(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    # Help page: "if they're rejected, double-check you copied both values".
    expect_token(httpx_mock, status=401)
    check = hook.validate_credentials(integration="snov", credentials=KEYS, host=host)
    assert check["ok"] is False
    assert check["account"] is None
    assert check["message"] == (
        "Snov.io rejected these keys: check that you copied both the API user ID and the API secret"
    )
    assert_no_secret(check)


@pytest.mark.parametrize(
    ("credentials", "field_named"),
    [
        ({"api_user_id": "", "api_secret": SECRET}, "api_user_id"),
        ({"api_user_id": USER_ID, "api_secret": "   "}, "api_secret"),
        ({"api_user_id": "has space", "api_secret": SECRET}, "api_user_id"),
        ({"api_user_id": USER_ID}, "api_secret"),
        ({"api_user_id": USER_ID, "api_secret": SECRET, "extra": "x"}, "extra"),
    ],
)
def test_blank_or_malformed_keys_are_refused_before_any_request(
    hook: pluggy.HookRelay, host: Host, credentials: dict[str, str], field_named: str
) -> None:
    # No httpx_mock responses are registered: a request would fail the test.
    check = hook.validate_credentials(integration="snov", credentials=credentials, host=host)
    assert check["ok"] is False
    assert field_named in check["message"]
    assert_no_secret(check)


def test_unreachable_snov_is_told_apart_from_rejected_keys(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    import httpx

    httpx_mock.add_exception(httpx.ConnectError("connection refused"))
    check = hook.validate_credentials(integration="snov", credentials=KEYS, host=host)
    assert check["ok"] is False
    assert "could not be reached" in check["message"]
    assert "rejected" not in check["message"]


def test_rate_limited_snov_is_told_apart_from_rejected_keys(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="POST", url=f"{API}/v1/oauth/access_token", status_code=429, json={}
    )
    check = hook.validate_credentials(integration="snov", credentials=KEYS, host=host)
    assert check["ok"] is False
    assert "limiting requests" in check["message"]
    assert "rejected" not in check["message"]


# ---- connect ----------------------------------------------------------------------


def test_admin_connects_and_gets_a_record_holding_only_what_to_store(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_balance(httpx_mock)
    record = hook.connect(integration="snov", credentials=KEYS, actor=ADMIN, host=host)
    jsonschema.validate(record, load_schema("connection"))
    assert set(record) == {
        "integration",
        "api_user_id",
        "api_secret",
        "connected_at",
        "connected_by",
    }
    assert record["api_secret"] == SECRET  # the host stores it encrypted
    assert record["connected_by"] == "user-1"
    assert TOKEN not in json.dumps(record)
    assert load_schema("connection")["properties"]["api_secret"]["writeOnly"] is True


def test_owner_may_connect_too(hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock) -> None:
    expect_token(httpx_mock)
    expect_balance(httpx_mock)
    owner = {"id": "user-0", "role": "owner"}
    record = hook.connect(integration="snov", credentials=KEYS, actor=owner, host=host)
    assert record["connected_by"] == "user-0"


def test_connecting_is_admin_only_and_a_member_sends_no_request(
    hook: pluggy.HookRelay, host: Host
) -> None:
    # Help page: "Connecting is admin-only (organization owners and admins)."
    member = {"id": "user-2", "role": "member"}
    with pytest.raises(PermissionDenied, match="owners and admins"):
        hook.connect(integration="snov", credentials=KEYS, actor=member, host=host)


def test_rejected_keys_raise_invalid_credentials_and_return_no_record(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    # Help page: "42min checks the keys against Snov.io before saving".
    expect_token(httpx_mock, status=401)
    with pytest.raises(InvalidCredentials) as raised:
        hook.connect(integration="snov", credentials=KEYS, actor=ADMIN, host=host)
    assert "copied both" in str(raised.value)
    assert_no_secret(str(raised.value))
    assert_no_secret(repr(raised.value))


def test_unreachable_snov_at_connect_saves_nothing_and_says_so(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    import httpx

    httpx_mock.add_exception(httpx.ReadTimeout("timed out"))
    with pytest.raises(IntegrationError, match="Nothing was saved") as raised:
        hook.connect(integration="snov", credentials=KEYS, actor=ADMIN, host=host)
    assert not isinstance(raised.value, InvalidCredentials)


def test_malformed_actor_is_a_clear_error(hook: pluggy.HookRelay, host: Host) -> None:
    with pytest.raises(IntegrationError, match="role"):
        hook.connect(
            integration="snov", credentials=KEYS, actor={"id": "u", "role": "boss"}, host=host
        )


# ---- the token is cached and forgotten on disconnect --------------------------------


def test_token_is_reused_across_hooks_and_forgotten_on_disconnect(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_balance(httpx_mock)
    record = hook.connect(integration="snov", credentials=KEYS, actor=ADMIN, host=host)
    expect_balance(httpx_mock)  # no second token request: the cached token is reused
    assert hook.validate_credentials(integration="snov", credentials=KEYS, host=host)["ok"]

    assert hook.disconnect(integration="snov", connection=record, host=host) == []
    expect_token(httpx_mock)  # after disconnect the token is gone: a new one is requested
    expect_balance(httpx_mock)
    assert hook.validate_credentials(integration="snov", credentials=KEYS, host=host)["ok"]


def test_a_cached_token_never_vouches_for_a_different_secret(
    hook: pluggy.HookRelay, host: Host, httpx_mock: HTTPXMock
) -> None:
    expect_token(httpx_mock)
    expect_balance(httpx_mock)
    assert hook.validate_credentials(integration="snov", credentials=KEYS, host=host)["ok"]
    expect_token(httpx_mock, secret="a-wrong-secret", status=401)
    wrong = {"api_user_id": USER_ID, "api_secret": "a-wrong-secret"}
    assert not hook.validate_credentials(integration="snov", credentials=wrong, host=host)["ok"]


def test_disconnect_ignores_other_integrations_and_unusable_records(
    hook: pluggy.HookRelay, host: Host
) -> None:
    host.store.set("unrelated", "kept")
    assert hook.disconnect(integration="hubspot", connection={}, host=host) == []
    assert hook.disconnect(integration="snov", connection={"junk": True}, host=host) == []
    assert host.store.get("unrelated") == "kept"


# ---- the same hooks against the emulator, over real HTTP ----------------------------


def test_connect_and_check_against_the_emulator(
    hook: pluggy.HookRelay, host: Host, snov_emulator: Any
) -> None:
    keys = snov_emulator.add_account()
    credentials = {"api_user_id": keys.client_id, "api_secret": keys.client_secret}
    check = hook.validate_credentials(integration="snov", credentials=credentials, host=host)
    assert check["ok"] is True
    record = hook.connect(integration="snov", credentials=credentials, actor=ADMIN, host=host)
    assert record["api_user_id"] == keys.client_id

    snov_emulator.state.revoke_credentials(keys.client_id)
    snov_emulator.state.expire_tokens(keys.client_id)
    check = hook.validate_credentials(integration="snov", credentials=credentials, host=host)
    assert check["ok"] is False
    assert "copied both" in check["message"]
    assert keys.client_secret not in json.dumps(check)
    with pytest.raises(InvalidCredentials):
        hook.connect(integration="snov", credentials=credentials, actor=ADMIN, host=host)


def test_a_blank_unknown_field_is_refused_not_dropped(hook: pluggy.HookRelay) -> None:
    check = hook.validate_credentials(
        integration="snov",
        credentials={"api_user_id": "user-1", "api_secret": "secret-1", "": ""},
        host=None,
    )
    assert check["ok"] is False
    assert "This field is not allowed" in check["message"]

"""Access tokens: fetched once, cached in the store per key pair, renewed early and on 401."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

from fortytwomin_snov.contract.store import MemoryStore, apply
from fortytwomin_snov.snov import (
    BASE_URL_ENV,
    CREDENTIALS_REJECTED,
    Scrubber,
    SnovAuth,
    SnovClient,
    cached_token,
    forget_token,
    token_cache_key,
)
from fortytwomin_snov.snov import auth as auth_module
from fortytwomin_snov.snov.errors import CredentialsRejected, RateLimited, SnovServerError
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.testing.clock import ManualClock

USER = "user-1"
SECRET = "s3cr3t-VALUE-0123456789"
API = "https://api.snov.io"
TOKEN_URL = f"{API}/v1/oauth/access_token"
BALANCE_URL = f"{API}/v1/get-balance"
BALANCE = {"success": True, "data": {"balance": "10.00"}}


@pytest.fixture(autouse=True)
def _no_base_url_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def client(store: MemoryStore, clock: ManualClock) -> Iterator[SnovClient]:
    with SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep) as snov:
        yield snov


def issue(
    httpx_mock: HTTPXMock, token: str, *, secret: str = SECRET, expires_in: int = 3600, **extra: Any
) -> None:
    httpx_mock.add_response(
        method="POST",
        url=TOKEN_URL,
        match_json={"grant_type": "client_credentials", "client_id": USER, "client_secret": secret},
        json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in},
        **extra,
    )


def balance_with(httpx_mock: HTTPXMock, token: str, **response: Any) -> None:
    response = response or {"json": BALANCE}
    httpx_mock.add_response(
        method="GET",
        url=BALANCE_URL,
        match_headers={"Authorization": f"Bearer {token}"},
        **response,
    )


# ---- the cache ------------------------------------------------------------------------------


def test_the_token_is_fetched_once_and_reused(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    client.balance()
    client.balance()
    assert [r.url.path for r in httpx_mock.get_requests()].count("/v1/oauth/access_token") == 1


def test_a_token_read_ahead_serves_the_next_request_without_a_store_read(
    client: SnovClient, store: MemoryStore, httpx_mock: HTTPXMock
) -> None:
    """A caller that reads the store anyway reads the token with it (``ahead_ops``): the
    request then uses that, once; the one after reads the store again."""
    issue(httpx_mock, "tok-1")
    balance_with(httpx_mock, "tok-1")
    client.balance()
    ticket, token = apply(store, client.ahead_ops())
    client.take_ahead([ticket, token], list)
    forget_token(store, USER, SECRET)  # the store no longer has it: the request does not look
    balance_with(httpx_mock, "tok-1")
    client.balance()
    issue(httpx_mock, "tok-2")  # the next request reads the store, finds none, fetches one
    balance_with(httpx_mock, "tok-2")
    client.balance()
    assert client.end_ahead() == []  # the ticket was used too: nothing to give back


def test_results_no_store_answers_are_not_taken_ahead(
    client: SnovClient, store: MemoryStore, httpx_mock: HTTPXMock
) -> None:
    """Then the caller keeps its writes (``take_ahead`` says False) and the request reads
    the token and draws its ticket itself."""
    assert client.take_ahead(["7", 42], list) is False
    issue(httpx_mock, "tok-1")
    balance_with(httpx_mock, "tok-1")
    client.balance()
    assert store.get(f"snov:rate:{USER}:tickets") == "2"  # the token's request and the call's
    assert client.end_ahead() == []


def test_the_cached_token_is_shared_by_clients_on_one_store(
    store: MemoryStore, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    for _ in range(2):
        with SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep) as snov:
            snov.balance()


def test_a_cached_token_never_vouches_for_another_secret(
    store: MemoryStore, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    issue(httpx_mock, "token-2", secret="another-secret")
    balance_with(httpx_mock, "token-2")
    with SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep) as snov:
        snov.balance()
    with SnovClient(USER, "another-secret", store=store, clock=clock, sleep=clock.sleep) as snov:
        snov.balance()


def test_the_cache_key_digests_both_keys_and_hides_them() -> None:
    key = token_cache_key(USER, SECRET)
    assert key.startswith("snov:token:")
    assert len(key.removeprefix("snov:token:")) == 32
    assert SECRET not in key
    assert USER not in key
    assert key == token_cache_key(USER, SecretStr(SECRET))
    assert key != token_cache_key(USER, SECRET + "x")
    assert key != token_cache_key(USER + "x", SECRET)
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert token_cache_key("ab", "c") != token_cache_key("a", "bc")


def test_the_store_holds_the_token_under_the_digest_and_never_the_secret(
    client: SnovClient, store: MemoryStore, httpx_mock: HTTPXMock
) -> None:
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    client.balance()
    cached = store.get(token_cache_key(USER, SECRET))
    assert cached is not None
    assert cached_token(store, USER, SECRET) == "token-1"
    assert SECRET not in cached
    assert "token-1" not in cached


def test_the_token_is_sealed_in_the_database_file_and_another_process_reuses_it(
    tmp_path: Path, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    token = "Tk9zQ2xlYXJUZXh0VG9rZW4xMjM0NTY3ODkwYWJjZA"
    database = tmp_path / "host.db"
    issue(httpx_mock, token)
    balance_with(httpx_mock, token)
    balance_with(httpx_mock, token)
    with (
        contextlib.closing(SqliteStore(database, clock=clock)) as store,
        SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep) as snov,
    ):
        snov.balance()
    on_disk = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())
    for start in range(len(token) - 7):
        assert token[start : start + 8].encode() not in on_disk
    # Another process: its own store on the file, its own client; the secret is all it has.
    with (
        contextlib.closing(SqliteStore(database, clock=clock)) as store,
        SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep) as snov,
    ):
        snov.balance()
    token_calls = [r for r in httpx_mock.get_requests() if r.url.path == "/v1/oauth/access_token"]
    assert len(token_calls) == 1


def test_a_sealed_token_opens_only_with_its_secret_and_under_its_own_key(
    client: SnovClient, store: MemoryStore, httpx_mock: HTTPXMock
) -> None:
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    client.balance()
    sealed = store.get(token_cache_key(USER, SECRET))
    assert sealed is not None
    assert cached_token(store, USER, SECRET + "x") is None
    # Copied under another account's key, it does not open there either.
    store.set(token_cache_key("user-2", SECRET), sealed)
    assert cached_token(store, "user-2", SECRET) is None
    # A cleartext entry (as an older version wrote it) is not trusted: a new token is fetched.
    store.set(token_cache_key(USER, SECRET), json.dumps({"access_token": "t", "renew_at": 1e12}))
    issue(httpx_mock, "token-2")
    balance_with(httpx_mock, "token-2")
    client.balance()


def test_the_token_is_renewed_when_less_than_five_minutes_remain(
    client: SnovClient, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    issued_at: list[float] = []

    def grant(request: httpx.Request) -> httpx.Response:
        issued_at.append(clock.now)
        return httpx.Response(200, json={"access_token": "token-1", "expires_in": 3600})

    httpx_mock.add_callback(grant, method="POST", url=TOKEN_URL)
    balance_with(httpx_mock, "token-1")
    client.balance()
    clock.now = issued_at[0] + 3600 - 300 - 1
    balance_with(httpx_mock, "token-1")
    client.balance()
    clock.now = issued_at[0] + 3600 - 300 + 1
    issue(httpx_mock, "token-2")
    balance_with(httpx_mock, "token-2")
    client.balance()


def test_a_short_lived_token_is_renewed_halfway(
    client: SnovClient, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    issue(httpx_mock, "token-1", expires_in=120)
    balance_with(httpx_mock, "token-1")
    client.balance()
    clock.now += 61
    issue(httpx_mock, "token-2", expires_in=120)
    balance_with(httpx_mock, "token-2")
    client.balance()


def test_forget_token_makes_the_next_call_fetch_a_new_one(
    client: SnovClient, store: MemoryStore, httpx_mock: HTTPXMock
) -> None:
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    client.balance()
    forget_token(store, USER, SECRET)
    assert store.get(token_cache_key(USER, SECRET)) is None
    issue(httpx_mock, "token-2")
    balance_with(httpx_mock, "token-2")
    client.balance()


# ---- 401 ------------------------------------------------------------------------------------


def test_a_401_renews_the_token_once_and_retries(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    issue(httpx_mock, "token-1")
    balance_with(
        httpx_mock, "token-1", status_code=401, json={"success": False, "errors": "Unauthorized"}
    )
    issue(httpx_mock, "token-2")
    balance_with(httpx_mock, "token-2")
    assert client.balance().balance == "10.00"


def test_a_second_401_is_rejected_credentials_and_drops_the_token(
    client: SnovClient, store: MemoryStore, httpx_mock: HTTPXMock
) -> None:
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1", status_code=401, text="")
    issue(httpx_mock, "token-2")
    balance_with(httpx_mock, "token-2", status_code=401, text="")
    with pytest.raises(CredentialsRejected) as caught:
        client.balance()
    assert str(caught.value) == CREDENTIALS_REJECTED
    assert store.get(token_cache_key(USER, SECRET)) is None


# ---- the token endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reply"),
    [
        (401, {"error": "invalid_client", "error_description": "Client authentication failed"}),
        (400, {"success": False, "errors": "Invalid client"}),
        (200, {"success": False}),
        (200, {"access_token": "", "expires_in": 3600}),
        (200, "not an object"),
    ],
)
def test_token_endpoint_refusals_are_rejected_credentials_without_retry(
    client: SnovClient, httpx_mock: HTTPXMock, status: int, reply: object
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, status_code=status, json=reply)
    with pytest.raises(CredentialsRejected) as caught:
        client.balance()
    assert str(caught.value) == CREDENTIALS_REJECTED
    assert len(httpx_mock.get_requests()) == 1


def test_a_token_endpoint_answer_that_is_not_json_is_rejected_credentials(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, text="<html>Login</html>")
    with pytest.raises(CredentialsRejected):
        client.balance()


def test_token_endpoint_5xx_is_retried(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, status_code=503)
    issue(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    client.balance()


def test_token_endpoint_persistent_5xx_is_a_server_error(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, status_code=500, is_reusable=True)
    with pytest.raises(SnovServerError):
        client.balance()
    assert len(httpx_mock.get_requests()) == 3


def test_token_endpoint_429_is_retried_and_then_rate_limited(
    store: MemoryStore, clock: ManualClock, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, status_code=429, is_reusable=True)
    with (
        SnovClient(
            USER, SECRET, store=store, clock=clock, sleep=clock.sleep, max_wait=10.0
        ) as snov,
        pytest.raises(RateLimited) as caught,
    ):
        snov.balance()
    assert caught.value.status_code == 429
    assert caught.value.retry_after >= 2.0
    assert len(httpx_mock.get_requests()) == 3


# ---- one renewal at a time ------------------------------------------------------------------


class ObservedLock:
    """A lock that tells when a second thread had to wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.contended = threading.Event()

    def __enter__(self) -> ObservedLock:
        if not self._lock.acquire(blocking=False):
            self.contended.set()
            self._lock.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()


def test_a_thread_waiting_for_a_renewal_reuses_the_fresh_token(
    client: SnovClient, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = ObservedLock()
    monkeypatch.setitem(auth_module._renewal_locks, token_cache_key(USER, SECRET), lock)

    def slow_token(request: httpx.Request) -> httpx.Response:
        # Hold the renewal until the other thread is queued behind it.
        assert lock.contended.wait(timeout=10)
        return httpx.Response(200, json={"access_token": "token-1", "expires_in": 3600})

    httpx_mock.add_callback(slow_token, method="POST", url=TOKEN_URL)
    balance_with(httpx_mock, "token-1")
    balance_with(httpx_mock, "token-1")
    failures: list[BaseException] = []

    def call() -> None:
        try:
            client.balance()
        except BaseException as exc:  # noqa: BLE001 (reported to the main thread)
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert lock.contended.is_set()
    paths = [request.url.path for request in httpx_mock.get_requests()]
    assert paths.count("/v1/oauth/access_token") == 1


def test_a_failed_renewal_releases_the_lock(client: SnovClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, status_code=401)
    with pytest.raises(CredentialsRejected):
        client.balance()
    assert not auth_module._renewal_lock(token_cache_key(USER, SECRET)).locked()


def test_auth_repr_and_state_never_show_the_secret(store: MemoryStore) -> None:
    auth = SnovAuth(USER, SecretStr(SECRET), store=store, token_url=TOKEN_URL)
    assert USER in repr(auth)
    assert SECRET not in repr(auth)
    assert SECRET not in str(vars(auth))
    assert auth.scrub(f"x {SECRET} y") == "x [redacted] y"


# ---- scrubbing ------------------------------------------------------------------------------

# Secrets and tokens look like this; the placeholder is lowercase, so it never reads as one.
_KEYLIKE = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_.~+/", min_size=8, max_size=60)


def _windows(value: str) -> set[str]:
    return {value[start : start + 8] for start in range(len(value) - 7)}


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


@given(
    secret=_KEYLIKE,
    token=_KEYLIKE,
    which=st.integers(min_value=0, max_value=9),
    cut=st.tuples(st.integers(min_value=0), st.integers(min_value=0)),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_scrub_removes_any_8_characters_of_the_secret_or_token_in_any_form(
    secret: str, token: str, which: int, cut: tuple[int, int], before: str, after: str
) -> None:
    forms = _forms(secret) + _forms(token)
    form = forms[which]
    length = 8 + cut[1] % (len(form) - 7)
    start = cut[0] % (len(form) - length + 1)
    leaked = form[start : start + length]

    scrubbed = Scrubber([secret, token])(f"{before}{leaked}{after}")

    assert leaked not in scrubbed
    every_window = set().union(*(_windows(value) for value in forms))
    for piece in scrubbed.split("[redacted]"):
        assert not _windows(piece) & every_window


@given(secret=_KEYLIKE, text=st.text(alphabet="abcdefghijklmnopqrstuvwxyz @.:", max_size=80))
def test_scrub_leaves_text_without_secrets_alone(secret: str, text: str) -> None:
    assert Scrubber([secret])(text) == text


def test_the_client_scrubs_the_token_it_sent_once_it_has_one(
    client: SnovClient, httpx_mock: HTTPXMock
) -> None:
    token = "TOKEN0123456789ABCDEFGHIJ"
    issue(httpx_mock, token)
    encoded = base64.b64encode(token.encode()).decode()
    balance_with(
        httpx_mock,
        token,
        status_code=400,
        json={"success": False, "message": f"bad {token[3:14]} and {encoded} and {SECRET[:9]}"},
    )
    with pytest.raises(Exception) as raised:  # noqa: PT011 - any error: only its text matters
        client.balance()
    said = str(raised.value)
    assert token[3:14] not in said
    assert encoded not in said
    assert SECRET[:9] not in said
    assert "[redacted]" in said

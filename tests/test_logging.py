"""What the plugin logs for an operator: token renewals, retries, 429s and every outcome,
through the standard library's logging and never with a secret or a token in it."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pluggy
import pytest
import stamina
from pytest_httpx import HTTPXMock

from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.snov import BASE_URL_ENV, SnovClient
from fortytwomin_snov.snov.retries import RetryLog
from fortytwomin_snov.testing.clock import ManualClock

USER = "user-1"
SECRET = "s3cr3t-VALUE-0123456789"
TOKENS = ("tok-first-0123456789", "tok-second-0123456789", "tok-third-0123456789")
API = "https://api.snov.io"
BALANCE = {"success": True, "data": {"balance": "10.00"}}


@pytest.fixture(autouse=True)
def _every_record(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def client(clock: ManualClock) -> Iterator[SnovClient]:
    store = MemoryStore(clock=clock)
    with SnovClient(USER, SECRET, store=store, clock=clock, sleep=clock.sleep) as snov:
        yield snov


def issue(httpx_mock: HTTPXMock, token: str, *, expires_in: int = 3600) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/v1/oauth/access_token",
        json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in},
    )


def balance(httpx_mock: HTTPXMock, **response: Any) -> None:
    httpx_mock.add_response(
        method="GET", url=f"{API}/v1/get-balance", **(response or {"json": BALANCE})
    )


def messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == logger]


def assert_nothing_secret(caplog: pytest.LogCaptureFixture) -> None:
    everything = caplog.text + "".join(str(vars(record)) for record in caplog.records)
    for secret in (SECRET, *TOKENS):
        assert secret not in everything
        assert secret[:8] not in everything  # not even a prefix


def test_token_fetch_and_both_renewals_are_logged(
    client: SnovClient, clock: ManualClock, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    issue(httpx_mock, TOKENS[0], expires_in=120)
    balance(httpx_mock)
    client.balance()
    clock.now += 61  # inside the last minute of the token's life: renewed before it expires
    issue(httpx_mock, TOKENS[1])
    balance(httpx_mock, status_code=401, json={"success": False, "errors": "Unauthorized"})
    issue(httpx_mock, TOKENS[2])
    balance(httpx_mock)
    client.balance()

    said = messages(caplog, "fortytwomin_snov.snov.auth")
    assert len(said) == 3
    assert "for account user-1 (none cached); valid for 120 s" in said[0]
    assert "(renewed before the cached one expires)" in said[1]
    assert "(renewed after a 401)" in said[2]
    assert_nothing_secret(caplog)


def test_a_second_401_is_a_warning(
    client: SnovClient, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    issue(httpx_mock, TOKENS[0])
    balance(httpx_mock, status_code=401, json={"success": False, "errors": "Unauthorized"})
    issue(httpx_mock, TOKENS[1])
    balance(httpx_mock, status_code=401, json={"success": False, "errors": "Unauthorized"})
    with pytest.raises(Exception):  # noqa: B017, PT011 (the error is another test's business)
        client.balance()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("the cached token is dropped" in r.getMessage() for r in warnings)
    assert_nothing_secret(caplog)


def test_a_retry_is_logged_with_the_call_the_failure_and_the_wait(
    client: SnovClient, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    issue(httpx_mock, TOKENS[0])
    balance(httpx_mock, status_code=503, text="down for maintenance")
    balance(httpx_mock)
    client.balance()
    (said,) = messages(caplog, "fortytwomin_snov.snov.retries")
    assert said.startswith("Snov.io GET /v1/get-balance failed (SnovServerError: ")
    assert "HTTP 503" in said
    assert said.endswith("retry 1 of 2 in 0.00 s")  # stamina's test mode: no wait
    assert "stamina.retry_scheduled" not in caplog.text
    assert_nothing_secret(caplog)


def test_a_429_is_logged_with_the_shared_pause(
    client: SnovClient, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    issue(httpx_mock, TOKENS[0])
    balance(httpx_mock, status_code=429, text="")
    balance(httpx_mock)
    client.balance()
    (said,) = messages(caplog, "fortytwomin_snov.snov.client")
    assert said == (
        "Snov.io answered 429 to GET /v1/get-balance for account user-1: every worker pauses 0.50 s"
    )
    assert "RateLimited" in messages(caplog, "fortytwomin_snov.snov.retries")[0]
    assert_nothing_secret(caplog)


def test_a_deferral_by_the_limiter_is_logged(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore(clock=clock)
    # One request a minute: a send waits for the start of its slot, further than max_wait.
    snov = SnovClient(USER, SECRET, store=store, rate_limit=1, clock=clock, sleep=clock.sleep)
    with snov, pytest.raises(Exception):  # noqa: B017, PT011 (RateLimited, tested elsewhere)
        snov.balance()
    (said,) = messages(caplog, "fortytwomin_snov.snov.limiter")
    assert "deferred" in said


def test_every_outcome_is_logged_with_its_codes(
    hook: pluggy.HookRelay, caplog: pytest.LogCaptureFixture
) -> None:
    host = SimpleNamespace(store=MemoryStore())
    connection = {
        "integration": "snov",
        "api_user_id": USER,
        "api_secret": SECRET,
        "connected_at": "2025-03-14T09:00:00Z",
        "connected_by": "usr_admin",
    }
    event = {
        "id": "evt_1",
        "type": "booking.created",
        "occurred_at": "2025-03-14T09:30:00Z",
        "booking": {
            "uid": "bk_1",
            "start": "2025-03-20T15:00:00Z",
            "end": "2025-03-20T15:30:00Z",
            "timezone": "UTC",
            "invitee": {"email": "jane@example.com"},
        },
    }
    skipped = hook.on_booking_event(
        integration="snov", connection=connection, settings={}, event=event, host=host
    )
    failed = hook.on_booking_event(
        integration="snov",
        connection=connection,
        settings={"target_list_id": "seven"},
        event={**event, "id": "evt_2"},
        host=host,
    )
    assert (skipped["status"], failed["status"]) == ("skipped", "failed")
    records = [r for r in caplog.records if r.name == "fortytwomin_snov.hooks"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, "Event 'evt_1' (snov): skipped, no_target_list"),
        (logging.WARNING, "Event 'evt_2' (snov): failed, invalid_settings"),
    ]
    assert "jane@example.com" not in caplog.text
    assert_nothing_secret(caplog)


def test_building_clients_routes_stamina_through_one_retry_log(client: SnovClient) -> None:
    store = MemoryStore()
    SnovClient(USER, SECRET, store=store).close()
    hooks = stamina.instrumentation.get_on_retry_hooks()
    assert sum(isinstance(hook, RetryLog) for hook in hooks) == 1


def test_a_retry_that_is_not_a_snov_call_is_left_to_stamina(
    client: SnovClient, caplog: pytest.LogCaptureFixture
) -> None:
    for attempt in stamina.retry_context(on=ValueError, attempts=2):
        with attempt:
            if attempt.num == 1:
                raise ValueError("someone else's")
    assert messages(caplog, "stamina") == ["stamina.retry_scheduled"]
    assert messages(caplog, "fortytwomin_snov.snov.retries") == []


def test_retries_print_nothing_on_stderr_unless_logging_is_configured() -> None:
    script = (
        "import stamina\n"
        "from fortytwomin_snov.contract.store import MemoryStore\n"
        "from fortytwomin_snov.snov import SnovClient\n"
        "stamina.set_testing(True, attempts=3)\n"
        "client = SnovClient('u', 'secret', store=MemoryStore(), base_url='http://127.0.0.1:1')\n"
        "try:\n"
        "    client.balance()\n"
        "except Exception as error:\n"
        "    print(type(error).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert (done.stdout, done.stderr) == ("RequestNotSent\n", "")

"""retries.call: the first attempt runs without stamina, and stamina still decides, waits
and logs every retry as if it had made that attempt."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

import pytest
import stamina

from fortytwomin_snov.snov import retries
from fortytwomin_snov.snov.errors import SnovRejected, SnovServerError


def sender(*outcomes: str | Exception) -> tuple[Callable[[], str], list[int]]:
    """A send that returns or raises each outcome in turn, and the count of its calls."""
    calls: list[int] = []
    queue = iter(outcomes)

    def send() -> str:
        calls.append(1)
        outcome = next(queue)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send, calls


def call(send: Callable[[], str], **options: object) -> str:
    return retries.call(
        send,
        where="POST /v1/add-prospect-to-list",
        scrub=lambda text: text,
        idempotent=True,
        **options,  # type: ignore[arg-type]
    )


def test_a_first_success_never_builds_stamina_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_stamina(**_: object) -> None:
        raise AssertionError("stamina's attempts were built for a call that succeeded")

    monkeypatch.setattr(retries, "attempts", no_stamina)
    send, calls = sender("ok")
    assert call(send) == "ok"
    assert len(calls) == 1


def test_a_first_failure_worth_retrying_is_retried_and_logged_as_retry_1(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fortytwomin_snov")
    retries.log_retries_here()
    send, calls = sender(SnovServerError("Snov.io answered 503", status_code=503), "ok")
    assert call(send) == "ok"
    assert len(calls) == 2
    said = [r.getMessage() for r in caplog.records if r.name == retries.__name__]
    assert len(said) == 1
    assert "retry 1 of 2" in said[0]
    assert "SnovServerError: Snov.io answered 503" in said[0]


def test_the_attempts_stay_three_in_all() -> None:
    failure = SnovServerError("Snov.io answered 502", status_code=502)
    send, calls = sender(failure, failure, failure, "never")
    with pytest.raises(SnovServerError):
        call(send)
    assert len(calls) == retries.RETRY_ATTEMPTS


def test_a_failure_not_worth_retrying_is_raised_at_once() -> None:
    send, calls = sender(
        SnovRejected("Snov.io refused it", snov_message="no", status_code=400), "never"
    )
    with pytest.raises(SnovRejected):
        call(send)
    assert len(calls) == 1


def test_a_first_attempt_that_outlasted_the_retry_time_leaves_no_retry() -> None:
    # Outside stamina's test mode (which ignores the timeout): the time counts from the
    # first attempt, as when stamina made it.
    ticks = itertools.count(0.0, retries.RETRY_WITHIN)
    send, calls = sender(SnovServerError("Snov.io answered 504", status_code=504), "never")
    with stamina.set_testing(False), pytest.raises(SnovServerError):
        call(send, clock=lambda: next(ticks))
    assert len(calls) == 1

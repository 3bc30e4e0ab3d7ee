"""Retries of Snov.io calls: when another attempt can help, how many fit, and what each
retry says in the log. The client retries here and nowhere else, with stamina.

stamina's retry hooks are process-wide, and its default one logs a bare
``stamina.retry_scheduled`` at WARNING on the ``stamina`` logger, which Python prints on
stderr when nothing configured logging. So the first client built replaces that hook
with :class:`RetryLog`: a retry of a Snov.io call is logged here, by this module's
logger, with the call, the failure and the wait; anyone else's retry still goes to
stamina's own hook. Other hooks (Prometheus, structlog, a host's) are kept.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

import httpx
import stamina
from stamina.instrumentation import (
    RetryDetails,
    RetryHook,
    get_on_retry_hooks,
    set_on_retry_hooks,
)

from fortytwomin_snov.snov.errors import RateLimited, SnovError, SnovServerError, SnovUnreachable
from fortytwomin_snov.snov.responses import RequestNotSent

_log = logging.getLogger(__name__)

RETRY_ATTEMPTS = 3
RETRY_WITHIN = 15.0
"""Seconds within which the retries of one call must fit; longer waits go to the host queue."""

_STAMINA_LOGGING = "stamina.instrumentation._logging"

T = TypeVar("T")


def worth_retrying(exc: Exception, *, idempotent: bool) -> bool:
    """Whether another attempt can succeed where this one failed.

    Snov.io's 429 and a connection that never opened are safe to retry for any request;
    a 5xx or a broken connection only for requests that can be repeated harmlessly. The
    limiter's own refusal (a RateLimited without status) waits for the host queue.
    """
    if isinstance(exc, RateLimited):
        return exc.status_code == httpx.codes.TOO_MANY_REQUESTS
    if isinstance(exc, RequestNotSent):
        return True
    if not idempotent:
        return False
    if isinstance(exc, SnovUnreachable):
        return True
    return isinstance(exc, SnovServerError) and (exc.status_code or 0) >= 500


@dataclass(frozen=True)
class _Call:
    where: str
    scrub: Callable[[str], str]


_call: ContextVar[_Call | None] = ContextVar("fortytwomin_snov_call", default=None)


@dataclass(frozen=True)
class RetryLog:
    """The stamina hook that logs a Snov.io call's retries; others go to stamina's hooks."""

    stamina_hooks: tuple[RetryHook, ...] = ()

    def __call__(self, details: RetryDetails) -> None:
        call = _call.get()
        if call is None:
            for hook in self.stamina_hooks:
                hook(details)
            return
        error = details.caused_by
        said = call.scrub(str(error)) if isinstance(error, SnovError) else type(error).__name__
        _log.info(
            "Snov.io %s failed (%s: %s); retry %d of %d in %.2f s",
            call.where,
            type(error).__name__,
            said,
            details.retry_num,
            RETRY_ATTEMPTS - 1,
            details.wait_for,
        )


_install_lock = threading.Lock()


def log_retries_here() -> None:
    """Put :class:`RetryLog` in stamina's hooks in place of its stdlib logging hook.

    Idempotent and cheap: called whenever a client is built (never at import), and again
    after someone reset stamina's hooks.
    """
    with _install_lock:
        hooks = get_on_retry_hooks()
        if any(isinstance(hook, RetryLog) for hook in hooks):
            return
        stamina_logging = tuple(h for h in hooks if _module(h) == _STAMINA_LOGGING)
        kept = [hook for hook in hooks if _module(hook) != _STAMINA_LOGGING]
        set_on_retry_hooks([*kept, RetryLog(stamina_logging)])


def _module(hook: object) -> str:
    return str(getattr(hook, "__module__", ""))


@contextmanager
def calling(where: str, *, scrub: Callable[[str], str]) -> Iterator[None]:
    """Name the Snov.io call whose retries are logged inside the block (``GET /v1/...``)."""
    token = _call.set(_Call(where, scrub))
    try:
        yield
    finally:
        _call.reset(token)


def attempts(*, idempotent: bool, within: float = RETRY_WITHIN) -> Iterable[stamina.Attempt]:
    """stamina's attempts at one call: a few, within ``within`` seconds."""
    return stamina.retry_context(
        on=functools.partial(worth_retrying, idempotent=idempotent),
        attempts=RETRY_ATTEMPTS,
        timeout=within,
        wait_initial=0.5,
        wait_max=4.0,
    )


def call(
    send: Callable[[], T],
    *,
    where: str,
    scrub: Callable[[str], str],
    idempotent: bool,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``send()``, retried with stamina when another attempt can help (``where`` names the
    call in the log).

    The first attempt runs before stamina is involved: building its retry context cost
    about 50 µs, and nearly every call succeeds at once. A first failure worth retrying
    starts stamina's attempts, whose first one raises that failure again, so stamina still
    decides, waits and logs every retry as if it had made the first attempt itself, within
    what is left of :data:`RETRY_WITHIN` (tenacity measures from the first attempt too).
    """
    began = clock()
    try:
        return send()
    except Exception as exc:
        if not worth_retrying(exc, idempotent=idempotent):
            raise
        failure: Exception | None = exc
    left = RETRY_WITHIN - (clock() - began)
    with calling(where, scrub=scrub):
        # A first attempt that outlasted the time for retries leaves none: stamina stops.
        for attempt in attempts(idempotent=idempotent, within=max(left, 1e-9)):
            with attempt:
                if failure is not None:
                    first, failure = failure, None
                    raise first
                return send()
    raise AssertionError("stamina ended the retries without an outcome")  # pragma: no cover

"""The Snov.io rate limit, shared by every process that shares one store.

Snov.io allows 60 requests per minute per account, on a rolling window. Time is cut into
slots of ``window / (limit - 1)`` seconds, stretched by a small margin; each request
reserves one free slot with ``store.add`` (atomic, so two processes never get the same
slot) and is sent within it: at once when the slot is the current one, at its start when
it lies ahead. ``limit + 1`` sends take ``limit + 1`` distinct slots, so the first and the
last are at least ``limit - 1`` whole slots apart, which is longer than the window: no
rolling window ever holds more than ``limit`` sends. The margin absorbs network jitter.
Using the current slot means a request after a quiet spell leaves without waiting.

A limit of 1 breaks that count (a send late in one slot and one early in the next are
close together), so there a slot lasts a whole window, margin included, and every send
waits for the start of its slot.

A slot further away than ``max_wait`` is given back and the caller gets
:class:`~fortytwomin_snov.snov.errors.RateLimited`: longer waits belong to the host's queue,
not to a blocked worker.

When Snov.io answers 429 anyway (another client on the same account), the limiter
records a pause in the store that every worker honours. Snov.io sends no ``Retry-After``,
so the pause starts at half a second (short enough that one in-place retry fits within
``max_wait``) and doubles with each further 429 within one window, up to one window.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.snov.errors import RateLimited

_log = logging.getLogger(__name__)

FIRST_PAUSE = 0.5
"""Seconds every worker waits after a first 429; each further 429 in a window doubles it."""


@dataclass(frozen=True)
class Permit:
    """A reserved slot: the request was allowed to leave at ``at`` (after ``waited`` s)."""

    slot: int
    at: float
    waited: float


class RateLimiter:
    """Permits to send requests for one Snov.io account, shared through ``store``."""

    def __init__(
        self,
        store: Store,
        api_user_id: str,
        *,
        limit: int = 60,
        window: float = 60.0,
        max_wait: float = 2.0,
        margin: float = 0.01,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0 or max_wait < 0:
            raise ValueError("limit and window must be positive, max_wait not negative")
        if margin <= 0:
            raise ValueError("margin must be positive, or a rolling window could see limit + 1")
        self._store = store
        self._api_user_id = api_user_id
        self._prefix = f"snov:rate:{api_user_id}:"
        self._limit = limit
        self._window = window
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self.slot_length = window / max(1, limit - 1) * (1 + margin)
        self._sends_mid_slot = limit > 1

    def __repr__(self) -> str:
        return f"RateLimiter({self._api_user_id!r}, limit={self._limit}, window={self._window:g})"

    def _slot_key(self, slot: int) -> str:
        return f"{self._prefix}{slot}"

    @property
    def _pause_key(self) -> str:
        return f"{self._prefix}pause_until"

    @property
    def _strikes_key(self) -> str:
        return f"{self._prefix}throttled"

    def _first_slot(self, now: float) -> int:
        """The first slot a request may use: the current one; with limit 1, or while a 429's
        pause lasts, the first that starts at or after now, or after the pause ends."""
        paused_until = self._paused_until()
        if paused_until > now:
            return math.ceil(paused_until / self.slot_length)
        if self._sends_mid_slot:
            return math.floor(now / self.slot_length)
        return math.ceil(now / self.slot_length)

    def _paused_until(self) -> float:
        value = self._store.get(self._pause_key)
        try:
            return float(value) if value is not None else 0.0
        except ValueError:
            return 0.0

    def pause_remaining(self) -> float:
        """Seconds left of the shared pause that follows a 429 (0 when there is none)."""
        return max(0.0, self._paused_until() - self._clock())

    def next_turn_in(self) -> float:
        """Seconds until the first slot after the shared pause: the wait to suggest after a 429.

        Slots other workers hold are not counted: this is a hint, not a reservation.
        """
        now = self._clock()
        start = self._first_slot(now) * self.slot_length
        return max(0.0, start - now)

    def acquire(self) -> Permit:
        """Reserve the earliest free slot and wait for it; raise RateLimited if it is too far."""
        now = self._clock()
        first = self._first_slot(now)
        # The first usable slot and ``limit`` more, a little over a window: a turn further
        # away is the host queue's business.
        for slot in range(first, first + self._limit + 1):
            key = self._slot_key(slot)
            # Held until the slot is over (another worker could take it as its current
            # slot), and a window longer for workers whose clocks lag.
            ttl = (slot + 1) * self.slot_length - now + self._window
            if self._store.add(key, "1", ttl=ttl):
                break
        else:
            retry_after = (first + self._limit + 1) * self.slot_length - now
            _log.info(
                "No free Snov.io turn for account %s within a window: deferred, %.2f s to wait",
                self._api_user_id,
                retry_after,
            )
            raise RateLimited(
                f"The Snov.io rate limit ({self._limit} requests per {self._window:g} s) is"
                f" spent; try again in {retry_after:.1f} s",
                retry_after=retry_after,
            )
        at = max(now, slot * self.slot_length)
        wait = at - now
        if wait > self._max_wait:
            self._store.delete(key)
            _log.info(
                "The next Snov.io turn for account %s is %.2f s away (more than %.2f s):"
                " deferred to the host queue",
                self._api_user_id,
                wait,
                self._max_wait,
            )
            raise RateLimited(
                f"The Snov.io rate limit ({self._limit} requests per {self._window:g} s) is"
                f" spent; the next free turn is in {wait:.1f} s",
                retry_after=wait,
            )
        if wait > 0:
            _log.debug("Waiting %.2f s for a Snov.io turn for account %s", wait, self._api_user_id)
            self._sleep(wait)
        return Permit(slot=slot, at=at, waited=wait)

    def note_throttled(self) -> float:
        """Record that Snov.io answered 429: every worker pauses. Returns the pause in seconds."""
        strikes = self._store.incr(self._strikes_key, ttl=self._window)
        pause = min(self._window, FIRST_PAUSE * 2.0 ** min(strikes - 1, 16))
        until = self._clock() + pause
        if until > self._paused_until():
            self._store.set(self._pause_key, repr(until), ttl=pause)
        return pause

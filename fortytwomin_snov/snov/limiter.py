"""The Snov.io rate limit, shared by every process that shares one store.

Snov.io allows 60 requests per rolling minute per account, so the first 60 requests of a
quiet minute may leave at once. The limiter keeps a ring of ``limit`` *permits* per account
in the store. A request draws a ticket (``store.incr``) and takes permit ``ticket % limit``
with ``store.add``, holding it until a window (stretched by ``margin``, plus ``skew``) after
it leaves: on an empty window that is the whole cost, two store round trips, and no wait.

Why no rolling window ever holds more than ``limit`` sends: every send holds one of the
``limit`` permit keys from before it leaves until at least a window after, and ``store.add``
never grants a key that is still held. So ``limit + 1`` sends within one window would need
two of them to hold the same key at once, which cannot happen, whatever the processes and
the order.

Tickets are drawn in order, so permit ``ticket % limit`` is normally the one the oldest
send of the window holds. A taken permit's value says when its request left, hence when it
frees: the request waits for it when that is within ``max_wait`` (and moves to the next
permit if another request took it first); further away, it gives its ticket back, so
that the next request aims at that oldest permit again, and raises
:class:`~fortytwomin_snov.snov.errors.RateLimited` with ``retry_after`` set to when the
oldest send leaves the window. Longer waits belong to the host's queue, not to a blocked
worker. The margin absorbs network jitter (a request reaches Snov.io a little after it
leaves); ``skew`` covers workers whose clocks disagree about when a permit expires.

Adaptive pacing: a 429 although the budget said yes means the window is not ours alone
(another client on the account) or stricter than documented. Then, for ``pacing_for``
seconds (ten minutes by default), every worker also spaces its requests evenly: time is cut
into slots of ``window / (limit - 1)`` s, stretched by the margin, and each request reserves
one free slot with ``store.add`` and is sent within it (with a limit of 1 a slot is a whole
window and sends wait for its start). The mode rides on the ticket counter: its high bits
hold the second the pacing ends (:data:`COUNT_BITS` low bits count the tickets), which a 429
sets. A request thus learns the mode from the ``incr`` it does anyway, not from a third round
trip, and window mode comes back by itself when that second has passed; the counter never
restarts, so the ring keeps its order across the change.

Backfill share: while :func:`backfilling` is on (the host marked every event of the call as
backfilled), a request also waits while the window already holds ``limit - reserve`` sends,
so that the last :data:`LIVE_RESERVE` of each window is left to live events. It looks at the
permit ``reserve`` tickets ahead of its own: with tickets in order, that permit is held exactly
when the window holds that many sends. One more store read for a backfill request only; it
is a priority, not a guarantee (a live request and a backfill one may pass the gate at once),
while the limit itself stays the ring's.

Drawn ahead: a caller that makes a store round trip anyway just before its requests (the sync
claiming an event) may draw the ticket in it (:meth:`RateLimiter.ticket_op`, then
:meth:`RateLimiter.draw_ahead`). The next request in that context (thread or task) then only
takes its permit, and writes the caller's pending operations in the same round trip (a sync
notes there the step a retry needs, before the request it announces leaves). A ticket drawn
ahead and never used is given back when the caller ends it (:meth:`RateLimiter.end_ahead`),
like the ticket of a request that could not wait for its permit.

After a 429 every worker also honours a pause recorded in the store. Snov.io sends no
``Retry-After``, so the pause starts at half a second (short enough that one in-place retry
fits within ``max_wait``) and doubles with each further 429 within one window, up to one
window. Only paced requests read it, and every 429 turns pacing on.
"""

from __future__ import annotations

import contextvars
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from fortytwomin_snov.contract.store import Add, Incr, Op, Store, apply
from fortytwomin_snov.snov.errors import RateLimited

logger = logging.getLogger(__name__)

FIRST_PAUSE = 0.5
"""Seconds every worker waits after a first 429; each further 429 in a window doubles it."""
PACING_FOR = 600.0
"""Seconds of even pacing after a 429 the budget did not foresee."""
COUNT_BITS = 30
"""The ticket counter's low bits count tickets; the bits above hold the second (since 1970)
the pacing ends, 0 when it never started. Both fit Redis's signed 64-bit INCR until 2106; a
count that overflows adds a second to a pacing end that is normally long past."""
_COUNT_MASK = (1 << COUNT_BITS) - 1
_SAME_HOLDER_TICK = 0.001
"""Seconds to wait again when a permit outlives its announced end by a rounding error."""
LIVE_RESERVE = 0.2
"""The share of each window a backfill leaves to live events."""

_backfilling: contextvars.ContextVar[bool] = contextvars.ContextVar("backfilling", default=False)


def backfilling_now() -> bool:
    """Whether requests made here are a backfill's."""
    return _backfilling.get()


@contextmanager
def backfilling(on: bool = True) -> Iterator[None]:
    """Requests made inside (in this thread or task) are a backfill's: see the module notes."""
    token = _backfilling.set(on)
    try:
        yield
    finally:
        _backfilling.reset(token)


@dataclass
class _Ahead:
    """What :meth:`RateLimiter.draw_ahead` left for the requests of one context."""

    limiter: RateLimiter
    counter: int | None  # the ticket counter drawn ahead; None once a request used it
    writes: Callable[[], list[Op]]


_drawn_ahead: contextvars.ContextVar[_Ahead | None] = contextvars.ContextVar(
    "drawn_ahead", default=None
)


@dataclass(frozen=True)
class Permit:
    """Leave to send one request: permit ``index`` of the ring, taken for a send at ``at``
    (after ``waited`` s); ``slot`` is the pacing slot when the account was being paced."""

    index: int
    at: float
    waited: float
    slot: int | None = None


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
        skew: float = 0.1,
        pacing_for: float = PACING_FOR,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0 or max_wait < 0 or skew < 0:
            raise ValueError("limit and window must be positive, max_wait and skew not negative")
        if margin <= 0:
            raise ValueError("margin must be positive, or a rolling window could see limit + 1")
        if pacing_for < window:
            # The pause after a 429 lasts up to a window, and only paced requests read it.
            raise ValueError("pacing_for must last at least a window")
        self._store = store
        self._api_user_id = api_user_id
        self._prefix = f"snov:rate:{api_user_id}:"
        self._limit = limit
        self._window = window
        self._max_wait = max_wait
        self._pacing_for = pacing_for
        self._clock = clock
        self._sleep = sleep
        self.hold = window * (1 + margin) + skew
        """Seconds a permit stays taken after its request left."""
        self.slot_length = window / max(1, limit - 1) * (1 + margin)
        self._sends_mid_slot = limit > 1
        self.reserve = math.floor(limit * LIVE_RESERVE)
        """Permits of a window a backfill request leaves to live ones (0 for tiny limits)."""

    def __repr__(self) -> str:
        return f"RateLimiter({self._api_user_id!r}, limit={self._limit}, window={self._window:g})"

    # ---- keys --------------------------------------------------------------------------

    def _permit_key(self, index: int) -> str:
        return f"{self._prefix}permit:{index % self._limit}"

    def _slot_key(self, slot: int) -> str:
        return f"{self._prefix}slot:{slot}"

    @property
    def _tickets_key(self) -> str:
        return f"{self._prefix}tickets"

    @property
    def _pause_key(self) -> str:
        return f"{self._prefix}pause_until"

    @property
    def _strikes_key(self) -> str:
        return f"{self._prefix}throttled"

    # ---- the budget --------------------------------------------------------------------

    def _spent(self, retry_after: float) -> RateLimited:
        logger.info(
            "No Snov.io turn for account %s within %.2f s: deferred to the host queue,"
            " %.2f s to wait",
            self._api_user_id,
            self._max_wait,
            retry_after,
        )
        return RateLimited(
            f"The Snov.io rate limit ({self._limit} requests per {self._window:g} s) is"
            f" spent; try again in {retry_after:.1f} s",
            retry_after=retry_after,
        )

    def _sent_at(self, key: str) -> float | None:
        """When the holder of a permit left (by its own clock); None if the permit is free."""
        value = self._store.get(key)
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None

    def _take_permit(
        self, ticket: int, arrived: float, not_before: float, writes: Sequence[Op] = ()
    ) -> tuple[int, float]:
        """Take a permit for a send at or after ``not_before``, waiting at most until
        ``arrived + max_wait`` for one to free. Returns its index and the send time; the
        caller sleeps until then. ``writes`` go to the store with the first attempt."""
        deadline = arrived + self._max_wait
        index = ticket
        awaited: float | None = None  # when the holder we waited for left
        looked_further = False
        next_free = math.inf
        # Each turn takes a permit, sleeps towards the deadline or moves to the next permit;
        # the bound only stops a pathological race from spinning.
        for _ in range(2 * self._limit + 4):
            now = self._clock()
            at = max(now, not_before)
            key = self._permit_key(index)
            take = Add(key, repr(at), ttl=at - now + self.hold)
            if writes:
                took = apply(self._store, [*writes, take])[-1]
                writes = ()
            else:
                took = self._store.add(take.key, take.value, ttl=take.ttl)
            if took:
                return index % self._limit, at
            sent_at = self._sent_at(key)
            if sent_at is None:
                continue  # it freed in between: try again at once
            if awaited is not None:
                if sent_at != awaited:
                    # Another request took the permit we waited for: try the next one.
                    index, awaited, next_free = index + 1, None, math.inf
                    continue
                # The same holder: its end was announced a rounding error too early.
                if now + _SAME_HOLDER_TICK > deadline:
                    break
                self._sleep(_SAME_HOLDER_TICK)
                continue
            frees_at = sent_at + self.hold
            next_free = min(next_free, frees_at)
            if frees_at <= deadline:
                if frees_at > now:
                    self._sleep(frees_at - now)
                awaited = sent_at
                continue
            if looked_further:
                break
            # Too far away. Normally every later permit frees later still, but tickets can
            # be drawn twice (a 429 rewrote the counter): one look at the next permit.
            index, looked_further = index + 1, True
        now = self._clock()
        raise self._spent(max(0.0, (next_free if next_free < math.inf else now) - now))

    # ---- drawn ahead -------------------------------------------------------------------

    def ticket_op(self) -> Incr:
        """The operation that draws a ticket, for a caller to run in a store round trip it
        makes anyway; its result goes to :meth:`draw_ahead`."""
        return Incr(self._tickets_key)

    def draw_ahead(self, counter: int, writes: Callable[[], list[Op]]) -> None:
        """The next request of this context (thread or task) uses the ticket ``counter``
        (what :meth:`ticket_op` answered) instead of drawing one. Until :meth:`end_ahead`,
        each request of this context writes ``writes()`` in the round trip that takes its
        permit (or draws its ticket), before it leaves."""
        _drawn_ahead.set(_Ahead(self, counter, writes))

    def end_ahead(self) -> list[Op]:
        """End what :meth:`draw_ahead` started in this context. Returns the operations that
        give back its ticket if no request used it, for the caller's next round trip."""
        ahead = _drawn_ahead.get()
        if ahead is None or ahead.limiter is not self:
            return []
        _drawn_ahead.set(None)
        return [] if ahead.counter is None else [Incr(self._tickets_key, -1)]

    def _draw(self) -> tuple[int, list[Op]]:
        """This request's ticket counter, and the writes still to send with its permit."""
        ahead = _drawn_ahead.get()
        if ahead is None or ahead.limiter is not self:
            return self._store.incr(self._tickets_key), []
        writes = ahead.writes()
        if ahead.counter is not None:
            drawn, ahead.counter = ahead.counter, None
            return drawn, writes
        if not writes:
            return self._store.incr(self._tickets_key), []
        counter = apply(self._store, [*writes, Incr(self._tickets_key)])[-1]
        assert isinstance(counter, int)
        return counter, []

    # ---- the budget, continued ----------------------------------------------------------

    def acquire(self) -> Permit:
        """Take a permit and wait until the request may leave; raise RateLimited if the
        wait would be longer than ``max_wait``."""
        counter, writes = self._draw()
        arrived = self._clock()
        ticket = counter & _COUNT_MASK
        try:
            paced = counter >> COUNT_BITS > arrived
            if writes and (paced or (self.reserve and backfilling_now())):
                apply(self._store, writes)  # rare paths: before their own round trips
                writes = []
            if paced:
                return self._acquire_paced(ticket, arrived)
            if self.reserve and backfilling_now():
                self._leave_the_reserve(ticket, arrived)
            index, at = self._take_permit(ticket, arrived, arrived, writes)
        except RateLimited:
            # Give the ticket back: the next request aims at the same, oldest permit again
            # rather than at a younger one that frees later.
            self._store.incr(self._tickets_key, -1)
            raise
        now = self._clock()
        if at > now:
            self._sleep(at - now)
        return Permit(index=index, at=at, waited=at - arrived)

    def _leave_the_reserve(self, ticket: int, arrived: float) -> None:
        """Wait (at most until ``arrived + max_wait``) until the window holds fewer than
        ``limit - reserve`` sends; raise RateLimited if that is further away."""
        sent_at = self._sent_at(self._permit_key(ticket + self.reserve))
        if sent_at is None:
            return
        now = self._clock()
        frees_at = sent_at + self.hold
        if frees_at - arrived > self._max_wait:
            raise self._spent(max(0.0, frees_at - now))
        if frees_at > now:
            self._sleep(frees_at - now)

    # ---- pacing, after an unforeseen 429 ---------------------------------------------------

    def _first_slot(self, now: float) -> int:
        """The first slot a paced request may use: the current one; with limit 1, or while a
        429's pause lasts, the first that starts at or after now, or after the pause ends."""
        paused_until = self._paused_until()
        if paused_until > now:
            return math.ceil(paused_until / self.slot_length)
        if self._sends_mid_slot:
            return math.floor(now / self.slot_length)
        return math.ceil(now / self.slot_length)

    def _reserve_slot(self, now: float) -> int:
        """Reserve the earliest free slot; raise RateLimited if it is too far away."""
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
            raise self._spent((first + self._limit + 1) * self.slot_length - now)
        wait = max(now, slot * self.slot_length) - now
        if wait > self._max_wait:
            self._store.delete(key)  # for whoever comes at the right time
            raise self._spent(wait)
        return slot

    def _acquire_paced(self, ticket: int, arrived: float) -> Permit:
        slot = self._reserve_slot(arrived)
        try:
            index, at = self._take_permit(ticket, arrived, max(arrived, slot * self.slot_length))
        except RateLimited:
            self._store.delete(self._slot_key(slot))
            raise
        now = self._clock()
        if at > now:
            self._sleep(at - now)
        return Permit(index=index, at=at, waited=at - arrived, slot=slot)

    # ---- after a 429 -------------------------------------------------------------------

    def _paused_until(self) -> float:
        value = self._store.get(self._pause_key)
        try:
            return float(value) if value is not None else 0.0
        except ValueError:
            return 0.0

    def pause_remaining(self) -> float:
        """Seconds left of the shared pause that follows a 429 (0 when there is none)."""
        return max(0.0, self._paused_until() - self._clock())

    def _counter(self) -> int:
        value = self._store.get(self._tickets_key)
        return int(value) if value is not None and value.isascii() and value.isdigit() else 0

    def pacing(self) -> bool:
        """Whether requests of this account are being paced after an unforeseen 429."""
        return self._counter() >> COUNT_BITS > self._clock()

    def next_turn_in(self) -> float:
        """Seconds until the first pacing slot after the shared pause: the wait to suggest
        after a 429 (which always turns pacing on).

        Slots and permits other workers hold are not counted: this is a hint, not a reservation.
        """
        now = self._clock()
        start = self._first_slot(now) * self.slot_length
        return max(0.0, start - now)

    def note_throttled(self) -> float:
        """Record that Snov.io answered 429: every worker pauses, then paces its requests for
        ``pacing_for`` seconds. Returns the pause in seconds."""
        strikes = self._store.incr(self._strikes_key, ttl=self._window)
        pause = min(self._window, FIRST_PAUSE * 2.0 ** min(strikes - 1, 16))
        until = self._clock() + pause
        if until > self._paused_until():
            self._store.set(self._pause_key, repr(until), ttl=pause)
        # Each 429 extends the pacing: the window is evidently not ours alone. The count is
        # kept so that the ring stays in order (a ticket drawn meanwhile may be drawn again:
        # two requests then aim at one permit, and the second waits or moves on).
        counter = self._counter()
        now = self._clock()
        ends = counter >> COUNT_BITS
        was_pacing = ends > now
        ends = max(ends, math.ceil(now + self._pacing_for))
        self._store.set(self._tickets_key, str(ends << COUNT_BITS | counter & _COUNT_MASK))
        if not was_pacing:
            logger.warning(
                "Snov.io answered 429 although the shared budget allowed the request"
                " (another client on account %s, or a window stricter than %d requests per"
                " %g s): pacing its requests %.2f s apart for %g s",
                self._api_user_id,
                self._limit,
                self._window,
                self.slot_length,
                self._pacing_for,
            )
        return pause

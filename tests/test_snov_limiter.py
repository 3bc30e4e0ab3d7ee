"""The shared rate limiter: a ring of permits in the store, pacing and a pause after a 429."""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fortytwomin_snov.contract.store import MemoryStore, Op, Result, Set, apply
from fortytwomin_snov.snov.errors import RateLimited
from fortytwomin_snov.snov.limiter import FIRST_PAUSE, Permit, RateLimiter, backfilling
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.testing.clock import ManualClock

if TYPE_CHECKING:
    from tests.servers import RedisServer

pytest_plugins = ["tests.servers"]

ACCOUNT = "acct"
LOGGER = "fortytwomin_snov.snov.limiter"


def limiter_for(store: MemoryStore, clock: ManualClock, **kwargs: float) -> RateLimiter:
    return RateLimiter(store, ACCOUNT, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock=clock)


class CountingStore(MemoryStore):
    """A MemoryStore that counts its round trips."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.calls: list[str] = []

    def get(self, key: str) -> str | None:
        self.calls.append("get")
        return super().get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self.calls.append("set")
        super().set(key, value, ttl)

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        self.calls.append("add")
        return super().add(key, value, ttl)

    def delete(self, key: str) -> None:
        self.calls.append("delete")
        super().delete(key)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self.calls.append("incr")
        return super().incr(key, amount, ttl)

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        self.calls.append("batch " + " ".join(type(op).__name__.lower() for op in ops))
        return super().apply(ops)


def most_in_a_window(times: list[float], window: float) -> int:
    """The most sends any window of ``window`` seconds holds (both ends included)."""
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] < moment - window:
            start += 1
        most = max(most, end - start + 1)
    return most


# ---- the window: a burst leaves at once ------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 5, 60])
def test_a_burst_of_the_limit_leaves_at_once_on_an_empty_window(
    store: MemoryStore, clock: ManualClock, limit: int
) -> None:
    limiter = limiter_for(store, clock, limit=limit)
    start = clock.now
    permits = [limiter.acquire() for _ in range(limit)]
    assert clock.slept == []
    assert [permit.at for permit in permits] == [start] * limit
    assert sorted(permit.index for permit in permits) == list(range(limit))
    assert all(permit.waited == 0.0 and permit.slot is None for permit in permits)


def test_a_request_on_an_empty_window_costs_two_store_round_trips(clock: ManualClock) -> None:
    store = CountingStore(clock)
    limiter = limiter_for(store, clock, limit=3)
    for _ in range(3):
        store.calls.clear()
        limiter.acquire()
        assert store.calls == ["incr", "add"]


# ---- a ticket drawn ahead, in a round trip the caller makes anyway ------------------------


def _draw_ahead(
    limiter: RateLimiter, store: MemoryStore, writes: Callable[[], list[Op]] = list
) -> int:
    counter = apply(store, [limiter.ticket_op()])[0]
    assert isinstance(counter, int)
    limiter.draw_ahead(counter, writes)
    return counter


def test_a_ticket_drawn_ahead_spares_the_next_request_its_draw(clock: ManualClock) -> None:
    store = CountingStore(clock)
    limiter = limiter_for(store, clock, limit=3)
    limiter.acquire()  # ticket 1
    ticket = _draw_ahead(limiter, store)
    store.calls.clear()
    permit = limiter.acquire()
    assert store.calls == ["add"]
    assert permit.index == ticket % 3
    store.calls.clear()
    limiter.acquire()  # the next one draws again
    assert store.calls == ["incr", "add"]
    assert limiter.end_ahead() == []  # used: nothing to give back


def test_writes_handed_ahead_leave_with_the_permit(clock: ManualClock) -> None:
    store = CountingStore(clock)
    limiter = limiter_for(store, clock, limit=3)
    pending = [Set("step", "add")]

    def writes() -> list[Op]:
        taken = list(pending)
        pending.clear()
        return taken

    _draw_ahead(limiter, store, writes)
    store.calls.clear()
    limiter.acquire()
    assert store.calls == ["batch set add"]  # one round trip: the step, then the permit
    assert store.get("step") == "add"
    pending.append(Set("step", "update"))
    store.calls.clear()
    limiter.acquire()  # no ticket ahead now: the writes go with the draw
    assert store.calls == ["batch set incr", "add"]
    assert store.get("step") == "update"
    limiter.end_ahead()


def test_an_unused_ticket_drawn_ahead_is_given_back(store: MemoryStore, clock: ManualClock) -> None:
    limiter = limiter_for(store, clock, limit=3)
    ticket = _draw_ahead(limiter, store)
    apply(store, limiter.end_ahead())
    assert limiter.acquire().index == ticket % 3  # the ticket went to the next request


def test_a_ticket_drawn_ahead_is_for_its_own_context_and_limiter(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=5)
    other_account = RateLimiter(store, "other", clock=clock, sleep=clock.sleep, limit=5)
    ticket = _draw_ahead(limiter, store)
    elsewhere: list[Permit] = []
    thread = threading.Thread(target=lambda: elsewhere.append(limiter.acquire()))
    thread.start()
    thread.join()
    assert elsewhere[0].index == (ticket + 1) % 5  # another thread drew its own
    assert other_account.acquire().index == 1 % 5  # another account too
    assert other_account.end_ahead() == []
    assert limiter.acquire().index == ticket % 5
    assert limiter.end_ahead() == []


def test_the_request_after_a_full_window_waits_for_the_oldest_to_leave_it(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=3, window=1.0, max_wait=2.0)
    first = clock.now
    permits = []
    for _ in range(3):
        permits.append(limiter.acquire())
        clock.now += 0.1
    permit = limiter.acquire()  # 0.3 s in: the window is full until the first send leaves it
    assert permit.index == permits[0].index  # the oldest send's permit
    assert permit.at - first == pytest.approx(limiter.hold)
    assert permit.waited == pytest.approx(limiter.hold - 0.3)
    assert clock.slept == [pytest.approx(limiter.hold - 0.3)]
    assert most_in_a_window([*(p.at for p in permits), permit.at], 1.0) <= 3


def test_the_request_after_a_full_window_is_refused_until_the_oldest_leaves_it(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=3, window=60.0, max_wait=2.0)
    first = clock.now
    for _ in range(3):
        limiter.acquire()
        clock.now += 10.0
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()  # at first + 30 s
    # The oldest send (at ``first``) leaves the window a hold after it left.
    assert caught.value.retry_after == pytest.approx(first + limiter.hold - clock.now)
    assert caught.value.status_code is None
    assert "spent" in str(caught.value)
    assert "60 s" in str(caught.value)
    assert clock.slept == []  # the refused request did not wait
    clock.now += caught.value.retry_after
    assert limiter.acquire().waited == pytest.approx(0.0, abs=1e-6)


def test_a_backfill_leaves_a_fifth_of_each_window_to_live_requests(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=10, window=60.0, max_wait=2.0)
    assert limiter.reserve == 2
    first = clock.now
    with backfilling():
        for _ in range(8):
            limiter.acquire()
            clock.now += 1.0
        with pytest.raises(RateLimited) as caught:
            limiter.acquire()  # 8 sends in the window: the last 2 are live requests'
    assert caught.value.retry_after == pytest.approx(first + limiter.hold - clock.now)
    assert clock.slept == []
    live = [limiter.acquire(), limiter.acquire()]  # the ticket given back: no permit skipped
    assert all(permit.waited == 0.0 for permit in live)
    with pytest.raises(RateLimited):
        limiter.acquire()  # the window is full for everyone
    # Ten sends in the window: a backfill request waits for three to leave, the third
    # (sent at first + 2) a second after this one arrives.
    clock.now = first + 2.0 + limiter.hold - 1.0
    with backfilling():
        permit = limiter.acquire()
    assert permit.waited == pytest.approx(1.0)


def test_a_backfill_request_costs_one_more_read_and_none_on_a_tiny_limit(
    clock: ManualClock,
) -> None:
    store = CountingStore(clock)
    with backfilling():
        limiter_for(store, clock, limit=10).acquire()
        assert store.calls == ["incr", "get", "add"]
        store.calls.clear()
        tiny = RateLimiter(store, "other", limit=4, clock=clock, sleep=clock.sleep)
        assert tiny.reserve == 0
        tiny.acquire()
        assert store.calls == ["incr", "add"]


def test_a_permit_is_held_a_window_with_the_margin_and_skew(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=1, window=60.0, margin=0.01, skew=0.1)
    assert limiter.hold == pytest.approx(60.7)
    first = limiter.acquire()
    clock.now += 60.6
    with pytest.raises(RateLimited) as caught:
        limiter_for(store, clock, limit=1, max_wait=0.0).acquire()
    assert caught.value.retry_after == pytest.approx(0.1, abs=1e-5)
    second = limiter.acquire()  # within max_wait: waits the 0.1 s out
    assert second.at - first.at == pytest.approx(60.7)
    assert second.waited == pytest.approx(0.1, abs=1e-5)


@pytest.mark.parametrize(("max_wait", "gap"), [(2.0, 0.2), (0.5, 0.9)])
def test_a_waiting_request_moves_on_when_another_takes_its_permit_first(
    store: MemoryStore, clock: ManualClock, max_wait: float, gap: float
) -> None:
    limiter = RateLimiter(store, ACCOUNT, limit=2, window=1.0, clock=clock, sleep=clock.sleep)
    first = limiter.acquire().at  # permit 1
    clock.now += gap
    limiter.acquire()  # permit 0
    taken_by_another: list[float] = []

    def sleep_while_another_worker_acts(seconds: float) -> None:
        clock.sleep(seconds)
        if not taken_by_another:
            # Another worker takes permit 1 the moment it frees.
            assert store.add(f"snov:rate:{ACCOUNT}:permit:1", repr(clock.now), ttl=limiter.hold)
            taken_by_another.append(clock.now)

    waiting = RateLimiter(
        store,
        ACCOUNT,
        limit=2,
        window=1.0,
        max_wait=max_wait,
        clock=clock,
        sleep=sleep_while_another_worker_acts,
    )
    if max_wait >= limiter.hold:  # permit 0 frees within max_wait of the arrival
        permit = waiting.acquire()  # ticket 3: permit 1, which frees first
        assert permit.index == 0  # then the next one, freed ``gap`` later
        assert permit.at - first == pytest.approx(limiter.hold + gap)
    else:
        with pytest.raises(RateLimited) as caught:
            waiting.acquire()
        assert caught.value.retry_after == pytest.approx(gap)
    assert taken_by_another == [pytest.approx(first + limiter.hold)]


def test_a_ticket_drawn_twice_looks_one_permit_further(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=3, window=60.0)
    assert limiter.acquire().index == 1
    store.set(f"snov:rate:{ACCOUNT}:tickets", "0")  # as a 429 racing with a ticket may do
    permit = limiter.acquire()  # ticket 1 again: its permit is held for a minute
    assert (permit.index, permit.waited) == (2, 0.0)


@pytest.mark.parametrize(("limit", "window"), [(60, 60.0), (10, 5.0), (2, 1.0), (1, 1.0)])
@pytest.mark.parametrize("offset", [0.0, 0.25, 0.999])
def test_callers_one_per_limit_th_of_a_hold_are_never_refused_nor_held(
    clock: ManualClock, limit: int, window: float, offset: float
) -> None:
    limiter = limiter_for(MemoryStore(clock=clock), clock, limit=limit, window=window)
    pace = limiter.hold / limit
    begin = clock.now + offset * pace
    sent = []
    for caller in range(3 * limit + 10):
        clock.now = begin + caller * pace
        permit = limiter.acquire()  # must not raise
        assert permit.waited == pytest.approx(0.0, abs=1e-6)
        sent.append(permit.at)
    assert all(wait < 1e-6 for wait in clock.slept)  # float rounding at 1.7e9 s, no more
    assert most_in_a_window(sent, window) <= limit


def test_accounts_do_not_share_permits(store: MemoryStore, clock: ManualClock) -> None:
    one = RateLimiter(store, "one", limit=2, clock=clock, sleep=clock.sleep)
    other = RateLimiter(store, "other", limit=2, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        one.acquire()
    with pytest.raises(RateLimited):
        RateLimiter(store, "one", limit=2, clock=clock, sleep=clock.sleep).acquire()
    assert [other.acquire().waited for _ in range(2)] == [0.0, 0.0]
    assert clock.slept == []


@pytest.mark.parametrize(("limit", "window"), [(60, 60.0), (10, 5.0), (2, 1.0), (1, 1.0)])
def test_back_to_back_requests_flow_at_the_window_s_rate(
    clock: ManualClock, limit: int, window: float
) -> None:
    # max_wait a whole window: nobody is ever refused, so the flow shows the pace.
    limiter = limiter_for(
        MemoryStore(clock=clock), clock, limit=limit, window=window, max_wait=window * 2
    )
    begin = clock.now
    sent = [limiter.acquire().at for _ in range(3 * limit)]
    assert most_in_a_window(sent, window) <= limit
    # ``limit`` sends per hold: the last round leaves two holds after the first.
    assert sent[-1] - begin == pytest.approx(2 * limiter.hold)
    assert sent[:limit] == [begin] * limit


# ---- a 429 the budget did not foresee: pacing, and the shared pause ------------------


def test_a_429_turns_pacing_on_for_every_worker_and_says_so(
    store: MemoryStore, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    throttled = limiter_for(store, clock)
    other_worker = limiter_for(store, clock)
    assert not other_worker.pacing()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        throttled.note_throttled()
        throttled.note_throttled()
    assert other_worker.pacing()
    warnings = [record for record in caplog.records if record.name == LOGGER]
    assert len(warnings) == 1  # once when pacing starts, not for every 429
    assert warnings[0].levelno == logging.WARNING
    assert "429" in warnings[0].getMessage()
    assert ACCOUNT in warnings[0].getMessage()


def test_paced_requests_leave_one_slot_apart(store: MemoryStore, clock: ManualClock) -> None:
    limiter = limiter_for(store, clock, limit=60, window=60.0, max_wait=2.0)
    limiter.note_throttled()
    clock.now += FIRST_PAUSE
    permits = [limiter.acquire() for _ in range(5)]
    length = limiter.slot_length
    assert length == pytest.approx(60.0 / 59 * 1.01)
    slots = [permit.slot for permit in permits]
    assert slots == list(range(slots[0], slots[0] + 5))  # type: ignore[operator]
    for permit in permits:
        assert permit.slot is not None
        assert permit.slot * length - 1e-6 <= permit.at < (permit.slot + 1) * length
    assert all(later.at - earlier.at > 0 for earlier, later in itertools.pairwise(permits))
    assert permits[-1].at - permits[0].at > 3 * length


def test_paced_requests_still_take_permits(clock: ManualClock) -> None:
    store = CountingStore(clock)
    limiter = limiter_for(store, clock, limit=3, window=60.0, max_wait=100.0)
    for _ in range(3):
        limiter.acquire()  # the window is full
    limiter.note_throttled()
    store.calls.clear()
    permit = limiter.acquire()
    # The slot comes after the pause, but the permit only after the oldest send's window.
    assert permit.at == pytest.approx(clock.now)
    assert permit.waited == pytest.approx(limiter.hold)
    assert store.calls[:3] == ["incr", "get", "add"]  # ticket, pause, slot, then permits


def test_pacing_ends_and_bursts_come_back(store: MemoryStore, clock: ManualClock) -> None:
    limiter = limiter_for(store, clock, limit=5, window=10.0, pacing_for=60.0)
    limiter.note_throttled()
    clock.now += 61.0
    assert not limiter.pacing()
    slept = len(clock.slept)
    permits = [limiter.acquire() for _ in range(5)]
    assert len(clock.slept) == slept
    assert all(permit.slot is None and permit.waited == 0.0 for permit in permits)


def test_every_429_extends_the_pacing(store: MemoryStore, clock: ManualClock) -> None:
    limiter = limiter_for(store, clock, pacing_for=600.0)
    limiter.note_throttled()
    clock.now += 500.0
    limiter.note_throttled()
    clock.now += 500.0
    assert limiter.pacing()
    clock.now += 101.0
    assert not limiter.pacing()


def test_a_429_keeps_the_ring_in_order(store: MemoryStore, clock: ManualClock) -> None:
    limiter = limiter_for(store, clock, limit=5, window=10.0, max_wait=100.0)
    indexes = [limiter.acquire().index for _ in range(3)]
    limiter.note_throttled()
    indexes.append(limiter.acquire().index)
    assert indexes == [1, 2, 3, 4]


def test_a_429_pauses_every_worker_sharing_the_store(
    store: MemoryStore, clock: ManualClock
) -> None:
    throttled = limiter_for(store, clock)
    other_worker = limiter_for(store, clock)
    noticed_at = clock.now
    assert throttled.note_throttled() == FIRST_PAUSE
    assert other_worker.pause_remaining() == pytest.approx(FIRST_PAUSE)
    permit = other_worker.acquire()  # the current slot is free, but the pause forbids it
    length = other_worker.slot_length
    assert permit.slot is not None
    assert permit.at == pytest.approx(permit.slot * length)  # the first slot after the pause
    assert noticed_at + FIRST_PAUSE <= permit.at < noticed_at + FIRST_PAUSE + length
    assert clock.now == pytest.approx(permit.at)


def test_after_the_pause_a_paced_request_is_sent_at_once(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock)
    limiter.note_throttled()
    clock.now += FIRST_PAUSE + 0.01
    assert limiter.pause_remaining() == 0.0
    permit = limiter.acquire()
    assert permit.waited == 0.0


def test_repeated_429s_double_the_pause_up_to_one_window(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, window=60.0)
    pauses = [limiter.note_throttled() for _ in range(10)]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert limiter.pause_remaining() == pytest.approx(60.0)


def test_the_pause_escalation_resets_after_a_quiet_window(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, window=60.0)
    limiter.note_throttled()
    limiter.note_throttled()
    clock.now += 61.0
    assert limiter.pause_remaining() == 0.0
    assert limiter.note_throttled() == FIRST_PAUSE


def test_a_pause_beyond_max_wait_refuses_with_its_remaining_time(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, max_wait=2.0)
    for _ in range(4):
        limiter.note_throttled()  # the pause is now 4 s
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    assert 4.0 <= caught.value.retry_after < 4.0 + limiter.slot_length
    assert caught.value.retry_after == pytest.approx(limiter.next_turn_in())
    assert clock.slept == []


@pytest.mark.parametrize("pause_ends_past_a_slot_start", [1e-6, 0.3, 0.7, 1.0])
def test_a_first_429_still_lets_the_request_retry_within_max_wait(
    store: MemoryStore, clock: ManualClock, pause_ends_past_a_slot_start: float
) -> None:
    limiter = limiter_for(store, clock, max_wait=2.0)
    length = limiter.slot_length
    slot_start = (clock.now // length + 1) * length
    clock.now = slot_start + pause_ends_past_a_slot_start - FIRST_PAUSE
    limiter.note_throttled()
    permit = limiter.acquire()  # must not raise: at worst half a second and a slot
    assert permit.at == pytest.approx(slot_start + length)
    assert permit.waited == pytest.approx(FIRST_PAUSE + length - pause_ends_past_a_slot_start)


def test_a_refused_paced_request_gives_its_slot_back(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=2, window=10.0, max_wait=2.0)
    limiter.acquire()
    limiter.acquire()  # the window is full for 10.2 s
    limiter.note_throttled()
    clock.now += FIRST_PAUSE
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    assert caught.value.retry_after == pytest.approx(limiter.hold - FIRST_PAUSE)
    slot = int(clock.now // limiter.slot_length)
    assert store.get(f"snov:rate:{ACCOUNT}:slot:{slot}") is None


def test_with_a_limit_of_one_paced_requests_wait_for_a_slot_start(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=1, window=1.0, margin=0.25, skew=0.0, max_wait=5.0)
    assert limiter.slot_length == 1.25
    limiter.note_throttled()
    sent = []
    for gap in [0.0, 0.0, 0.3, 1.0, 0.0, 1.02, 2.5, 0.01]:
        clock.now += gap
        permit = limiter.acquire()
        assert permit.slot is not None
        # At its slot's start (or a rounding error after, waiting for the permit).
        assert 0 <= permit.at - permit.slot * limiter.slot_length < 0.01
        sent.append(permit.at)
    assert all(later - earlier > 1.0 for earlier, later in itertools.pairwise(sent))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"window": 0.0},
        {"max_wait": -1.0},
        {"margin": 0.0},
        {"skew": -0.1},
        {"pacing_for": 30.0},
    ],
)
def test_nonsense_settings_are_refused(store: MemoryStore, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RateLimiter(store, ACCOUNT, **kwargs)  # type: ignore[arg-type]


def test_repr_names_the_account_only(store: MemoryStore) -> None:
    assert repr(RateLimiter(store, ACCOUNT)) == "RateLimiter('acct', limit=60, window=60)"


# ---- the guarantee, for any arrivals and any interleaving of workers -------------------


@dataclass
class Simulation:
    """Workers as threads on one virtual clock. One runs at a time; a worker that sleeps
    lets the others run, and the clock jumps to the earliest wake-up (ties in random order).
    """

    clock: ManualClock
    order: random.Random
    _due: list[tuple[float, float, int]] = field(default_factory=list)
    _turns: list[threading.Semaphore] = field(default_factory=list)
    _back: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def sleeper(self, worker: int) -> Callable[[float], None]:
        return lambda seconds: self._yield(worker, self.clock.now + seconds)

    def _yield(self, worker: int, until: float) -> None:
        heapq.heappush(self._due, (until, self.order.random(), worker))
        self._back.release()
        if not self._turns[worker].acquire(timeout=20):
            raise TimeoutError("the simulation stalled")

    def run(self, scripts: list[Callable[[Callable[[float], None]], None]]) -> None:
        """Run each script (given its worker's sleep) in its own thread to the end."""
        self._turns = [threading.Semaphore(0) for _ in scripts]
        errors: list[BaseException] = []

        def body(worker: int, script: Callable[[Callable[[float], None]], None]) -> None:
            try:
                if self._turns[worker].acquire(timeout=20):
                    script(self.sleeper(worker))
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                errors.append(error)
            finally:
                self._back.release()

        threads = [
            threading.Thread(target=body, args=(worker, script), daemon=True)
            for worker, script in enumerate(scripts)
        ]
        for worker, thread in enumerate(threads):
            heapq.heappush(self._due, (self.clock.now, self.order.random(), worker))
            thread.start()
        while self._due:
            until, _, worker = heapq.heappop(self._due)
            self.clock.now = max(self.clock.now, until)
            self._turns[worker].release()
            assert self._back.acquire(timeout=20), "the simulation stalled"
        for thread in threads:
            thread.join(timeout=20)
        if errors:
            raise errors[0]


@settings(max_examples=100, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=8),
    window=st.floats(min_value=0.5, max_value=60.0),
    max_wait_share=st.floats(min_value=0.0, max_value=1.5),
    start=st.floats(min_value=1.0e9, max_value=2.0e9),
    workers=st.lists(
        st.lists(
            st.tuples(
                st.floats(min_value=0.0, max_value=1.0),  # gap before the arrival, in windows
                st.sampled_from(["send", "send", "send", "send", "429"]),
            ),
            max_size=25,
        ),
        min_size=1,
        max_size=4,
    ),
    order=st.randoms(use_true_random=False),
)
def test_no_rolling_window_ever_holds_more_than_the_limit(
    limit: int,
    window: float,
    max_wait_share: float,
    start: float,
    workers: list[list[tuple[float, str]]],
    order: random.Random,
) -> None:
    clock = ManualClock(start)
    store = MemoryStore(clock=clock)
    simulation = Simulation(clock, order)
    sent: list[float] = []
    refusals: list[tuple[float, float]] = []

    def script(arrivals: list[tuple[float, str]]) -> Callable[[Callable[[float], None]], None]:
        def run(sleep: Callable[[float], None]) -> None:
            limiter = RateLimiter(
                store,
                ACCOUNT,
                limit=limit,
                window=window,
                max_wait=window * max_wait_share,
                pacing_for=window * 3,
                clock=clock,
                sleep=sleep,
            )
            for gap, action in arrivals:
                sleep(gap * window)
                if action == "429":
                    limiter.note_throttled()
                    continue
                try:
                    permit: Permit = limiter.acquire()
                except RateLimited as refused:
                    refusals.append((clock.now, refused.retry_after))
                    continue
                # Sent the moment the permit says, never earlier.
                assert clock.now == pytest.approx(permit.at)
                sent.append(clock.now)

        return run

    simulation.run([script(arrivals) for arrivals in workers])
    assert most_in_a_window(sent, window) <= limit
    assert all(retry_after >= 0 for _, retry_after in refusals)


# ---- processes sharing one SQLite or Redis store, in real time ---------------------------

_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from fortytwomin_snov.snov.errors import RateLimited
    from fortytwomin_snov.stores import SqliteStore
    from fortytwomin_snov.snov.limiter import RateLimiter

    where, count = sys.argv[1], int(sys.argv[2])
    if where.startswith("redis://"):
        from fortytwomin_snov.stores.redis import RedisStore
        store = RedisStore.from_url(where, prefix=sys.argv[3])
    else:
        store = SqliteStore(where)
    limiter = RateLimiter(store, "acct", limit=5, window=1.0, max_wait=1.5, margin=0.2)
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the other processes
    sent, refused = [], 0
    while len(sent) < count:
        try:
            limiter.acquire()
        except RateLimited as error:
            refused += 1
            time.sleep(error.retry_after)
        else:
            sent.append(time.time())
    print(json.dumps({"sent": sent, "refused": refused}), flush=True)
    """
)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_sharing_a_store_never_exceed_the_limit(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        where, prefix = server.url, request.getfixturevalue("redis_prefix")
    else:
        db = tmp_path / "store.sqlite"
        SqliteStore(db).close()  # create the file first: see the report on SqliteStore
        where, prefix = str(db), ""
    per_process = 5
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, where, str(per_process), prefix],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0
        results.append(json.loads(out))
    sent = sorted(moment for result in results for moment in result["sent"])
    assert len(sent) == 3 * per_process
    # 15 sends at 5 per second: three rounds 1.3 s apart, each leaving at once.
    assert most_in_a_window(sent, 1.0) <= 5
    assert sent[4] - sent[0] < 0.9  # pacing would space them 0.3 s apart
    assert sent[-1] - sent[0] >= 2.6

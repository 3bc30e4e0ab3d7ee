"""The shared rate limiter: slots reserved in the store, a shared pause after a 429."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.snov.errors import RateLimited
from fortytwomin_snov.snov.limiter import FIRST_PAUSE, RateLimiter
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.testing.clock import ManualClock


def limiter_for(store: MemoryStore, clock: ManualClock, **kwargs: float) -> RateLimiter:
    return RateLimiter(store, "acct", clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


SLOT = 60.0 / 59 * 1.01  # the default slot length: a window over limit - 1, margin included
MID_SLOT = (1_655_181_518 + 0.5) * SLOT  # halfway through a slot, clear of float rounding


def frozen_limiter(
    store: MemoryStore, now: float, **kwargs: float
) -> tuple[RateLimiter, list[float]]:
    """A limiter whose clock never moves; its sleeps are recorded, not slept."""
    sleeps: list[float] = []
    limiter = RateLimiter(store, "acct", clock=lambda: now, sleep=sleeps.append, **kwargs)  # type: ignore[arg-type]
    return limiter, sleeps


@pytest.fixture
def store(clock: ManualClock) -> MemoryStore:
    return MemoryStore(clock=clock)


def rolling_window_counts(times: list[float], window: float) -> int:
    """The most sends any half-open window [t, t + window) holds."""
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - window:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(60, 60.0 / 59 * 1.01), (10, 60.0 / 9 * 1.01), (2, 60.0 * 1.01), (1, 60.0 * 1.01)],
)
def test_slot_length_is_a_window_over_limit_minus_one_with_the_margin(
    store: MemoryStore, clock: ManualClock, limit: int, expected: float
) -> None:
    assert limiter_for(store, clock, limit=limit).slot_length == pytest.approx(expected)


def test_a_request_after_a_quiet_spell_is_sent_at_once(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock)
    for _ in range(5):
        limiter.acquire()
    clock.now += 30.0  # quiet
    clock.slept.clear()
    arrived = clock.now
    permit = limiter.acquire()
    assert permit.waited == 0.0
    assert clock.slept == []
    assert permit.at == arrived == clock.now
    assert permit.slot == math.floor(arrived / limiter.slot_length)
    assert store.get(f"snov:rate:acct:{permit.slot}") is not None


def test_the_next_request_waits_for_the_start_of_the_next_slot(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock)
    first = limiter.acquire()
    second = limiter.acquire()
    assert first.waited == 0.0
    assert second.slot == first.slot + 1
    assert second.at == pytest.approx(second.slot * limiter.slot_length)
    assert 0 < second.waited <= limiter.slot_length
    assert clock.now == pytest.approx(second.at)
    assert clock.slept == [pytest.approx(second.waited)]


def test_waits_when_the_free_slot_is_within_max_wait(store: MemoryStore) -> None:
    limiter, sleeps = frozen_limiter(store, MID_SLOT, max_wait=2.0)
    permits = [limiter.acquire() for _ in range(3)]
    assert [permit.slot - permits[0].slot for permit in permits] == [0, 1, 2]
    assert [permit.waited for permit in permits] == [
        0.0,
        pytest.approx(0.5 * SLOT),
        pytest.approx(1.5 * SLOT),  # 1.54 s: within max_wait
    ]
    assert sleeps == [pytest.approx(0.5 * SLOT), pytest.approx(1.5 * SLOT)]


def test_raises_rate_limited_when_the_free_slot_is_beyond_max_wait(store: MemoryStore) -> None:
    limiter, sleeps = frozen_limiter(store, MID_SLOT, max_wait=2.0)
    first = limiter.acquire()
    limiter.acquire()
    limiter.acquire()
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()  # the next free slot starts 2.57 s away
    assert caught.value.retry_after == pytest.approx(2.5 * SLOT)
    assert caught.value.status_code is None
    assert len(sleeps) == 2  # the refused request did not wait
    # The slot that was too far is given back for whoever comes at the right time.
    assert store.get(f"snov:rate:acct:{first.slot + 3}") is None
    assert store.get(f"snov:rate:acct:{first.slot + 2}") is not None


def test_the_scan_is_bounded_by_the_limit(store: MemoryStore, clock: ManualClock) -> None:
    limiter, _ = frozen_limiter(store, clock.now, limit=5, window=10.0, max_wait=1000.0)
    permits = [limiter.acquire() for _ in range(6)]
    assert [permit.slot - permits[0].slot for permit in permits] == list(range(6))
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    expected = (permits[0].slot + 6) * limiter.slot_length - clock.now
    assert caught.value.retry_after == pytest.approx(expected)


def test_a_slot_reserved_far_ahead_stays_taken_until_it_is_over(
    store: MemoryStore, clock: ManualClock
) -> None:
    # Workers reserving far ahead (their sleeps happen elsewhere: the shared clock stays put).
    reserving = RateLimiter(
        store, "acct", limit=2, window=10.0, max_wait=100.0, clock=clock, sleep=lambda _: None
    )
    length = reserving.slot_length
    slots = [reserving.acquire().slot for _ in range(3)]
    assert slots == [slots[0], slots[0] + 1, slots[0] + 2]
    clock.now = (slots[2] + 1) * length - 0.01  # late in the last one, 30 s after it was taken
    late = limiter_for(store, clock, limit=2, window=10.0, max_wait=100.0).acquire()
    assert late.slot == slots[2] + 1
    assert late.at == pytest.approx(late.slot * length)


def test_accounts_do_not_share_slots(store: MemoryStore, clock: ManualClock) -> None:
    frozen = clock.now
    one = RateLimiter(store, "one", clock=lambda: frozen, sleep=lambda _: None)
    other = RateLimiter(store, "other", clock=lambda: frozen, sleep=lambda _: None)
    assert one.acquire().slot == other.acquire().slot


@settings(max_examples=80, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=20),
    window=st.floats(min_value=0.5, max_value=120.0),
    start=st.floats(min_value=1e9, max_value=2e9),
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=2), st.floats(min_value=0.0, max_value=3.0)),
        min_size=1,
        max_size=120,
    ),
)
def test_no_rolling_window_ever_holds_more_than_the_limit(
    limit: int, window: float, start: float, steps: list[tuple[int, float]]
) -> None:
    clock = ManualClock(start)
    store = MemoryStore(clock=clock)
    workers = [
        RateLimiter(
            store,
            "acct",
            limit=limit,
            window=window,
            max_wait=window * 2,
            clock=clock,
            sleep=clock.sleep,
        )
        for _ in range(3)
    ]
    length = workers[0].slot_length
    sent, slots = [], []
    for worker, gap in steps:
        clock.now += gap
        permit = workers[worker].acquire()
        assert clock.now == permit.at
        # Sent within its slot, never before it starts.
        assert permit.slot * length - 1e-6 <= permit.at < (permit.slot + 1) * length + 1e-6
        sent.append(clock.now)
        slots.append(permit.slot)
    assert len(set(slots)) == len(slots)
    assert rolling_window_counts(sent, window) <= limit


@pytest.mark.parametrize(
    ("limit", "window", "max_wait"),
    [(60, 60.0, 2.0), (10, 5.0, 2.0), (2, 1.0, 2.0), (3, 60.0, 61.0)],
)
def test_back_to_back_requests_flow_at_the_promised_rate(
    clock: ManualClock, limit: int, window: float, max_wait: float
) -> None:
    limiter = limiter_for(
        MemoryStore(clock=clock), clock, limit=limit, window=window, max_wait=max_wait
    )
    rate = (limit - 1) / (window * 1.01)
    count = 3 * limit + 10
    begin = clock.now
    sent = []
    for _ in range(count):
        limiter.acquire()  # must not raise
        sent.append(clock.now)
    assert rolling_window_counts(sent, window) <= limit
    assert (count - 1) / (clock.now - begin) >= rate * (1 - 1e-9)


@pytest.mark.parametrize(("limit", "window"), [(60, 60.0), (10, 5.0), (2, 1.0), (3, 60.0)])
@pytest.mark.parametrize("offset", [0.0, 0.25, 0.5, 0.999])
def test_callers_at_the_promised_pace_are_never_refused_nor_held(
    clock: ManualClock, limit: int, window: float, offset: float
) -> None:
    limiter = limiter_for(MemoryStore(clock=clock), clock, limit=limit, window=window)
    pace = window * 1.01 / (limit - 1)  # seconds between callers
    begin = (math.floor(clock.now / pace) + offset) * pace
    sent = []
    for caller in range(3 * limit + 10):
        clock.now = max(clock.now, begin + caller * pace)
        permit = limiter.acquire()  # must not raise
        assert permit.waited == pytest.approx(0.0, abs=1e-6)
        sent.append(clock.now)
    assert rolling_window_counts(sent, window) <= limit


# ---- a limit of one request per window --------------------------------------------------


def test_with_a_limit_of_one_a_request_mid_slot_waits_for_the_next_slot_start(
    store: MemoryStore,
) -> None:
    length = 60.0 * 1.01
    now = (28_052_805 + 0.5) * length
    limiter, sleeps = frozen_limiter(store, now, limit=1, window=60.0, max_wait=100.0)
    permit = limiter.acquire()  # the current slot is free, yet not used
    assert permit.slot == 28_052_806
    assert permit.at == pytest.approx(permit.slot * length)
    assert permit.waited == pytest.approx(0.5 * length)
    assert sleeps == [pytest.approx(0.5 * length)]


def test_with_a_limit_of_one_a_request_on_a_slot_start_leaves_at_once(
    store: MemoryStore, clock: ManualClock
) -> None:
    # 1.25 s slots: 1.7e9 is exactly the start of slot 1.36e9.
    limiter = limiter_for(store, clock, limit=1, window=1.0, margin=0.25, max_wait=2.0)
    assert limiter.slot_length == 1.25
    permit = limiter.acquire()
    assert (permit.slot, permit.at, permit.waited) == (1_360_000_000, 1.7e9, 0.0)


def test_with_a_limit_of_one_sends_are_always_more_than_a_window_apart(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock, limit=1, window=1.0, max_wait=2.0)
    sent = []
    for gap in [0.0, 0.0, 0.3, 1.0, 0.0, 1.02, 2.5, 0.01]:
        clock.now += gap
        permit = limiter.acquire()
        assert permit.at == pytest.approx(permit.slot * limiter.slot_length)  # a slot start
        sent.append(clock.now)
    assert all(later - earlier > 1.0 for earlier, later in itertools.pairwise(sent))


# ---- the pause after a 429 ---------------------------------------------------------------


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
    assert permit.slot == math.ceil((noticed_at + FIRST_PAUSE) / length)
    assert permit.at == pytest.approx(permit.slot * length)  # the first slot after the pause
    assert noticed_at + FIRST_PAUSE <= permit.at < noticed_at + FIRST_PAUSE + length
    assert clock.now == pytest.approx(permit.at)


def test_after_the_pause_a_request_is_sent_at_once_again(
    store: MemoryStore, clock: ManualClock
) -> None:
    limiter = limiter_for(store, clock)
    limiter.note_throttled()
    clock.now += FIRST_PAUSE + 0.01
    assert limiter.pause_remaining() == 0.0
    permit = limiter.acquire()
    assert permit.waited == 0.0
    assert permit.slot == math.floor(clock.now / limiter.slot_length)


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
    slot_start = math.ceil(clock.now / length) * length
    clock.now = slot_start + pause_ends_past_a_slot_start - FIRST_PAUSE
    limiter.note_throttled()
    permit = limiter.acquire()  # must not raise: at worst half a second and a slot
    assert permit.at == pytest.approx(slot_start + length)
    assert permit.waited == pytest.approx(FIRST_PAUSE + length - pause_ends_past_a_slot_start)


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 0}, {"window": 0.0}, {"max_wait": -1.0}, {"margin": 0.0}],
)
def test_nonsense_settings_are_refused(store: MemoryStore, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        RateLimiter(store, "acct", **kwargs)  # type: ignore[arg-type]


def test_repr_names_the_account_only(store: MemoryStore) -> None:
    assert repr(RateLimiter(store, "acct")) == "RateLimiter('acct', limit=60, window=60)"


# ---- two processes, one SQLite store -----------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import json, sys
    from fortytwomin_snov.snov.errors import RateLimited
    from fortytwomin_snov.stores import SqliteStore
    from fortytwomin_snov.snov.limiter import RateLimiter

    path, count, now = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    clock = lambda: now  # frozen: a reservation never waits for real time to pass
    store = SqliteStore(path, clock=clock)
    waits = []
    limiter = RateLimiter(store, "acct", limit=60, window=60.0, max_wait=3600.0,
                          clock=clock, sleep=waits.append)
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the other process
    permits, refused = [], 0
    for _ in range(count):
        try:
            permit = limiter.acquire()
        except RateLimited:
            refused += 1
        else:
            permits.append([permit.slot, permit.at, permit.waited])
    print(json.dumps({"permits": permits, "refused": refused, "waits": waits}), flush=True)
    """
)


def test_two_processes_never_share_a_slot_nor_exceed_the_limit(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    SqliteStore(db).close()  # create the file first: see the report on SqliteStore
    now = 1_700_000_000.0
    per_process = 45
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(db), str(per_process), repr(now)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
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
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        results.append(json.loads(out))

    permits = [permit for result in results for permit in result["permits"]]
    slots = [slot for slot, _, _ in permits]
    assert len(slots) == len(set(slots)), "a slot was taken twice"
    # The clock is frozen, so only the current slot and the next 60 lie within reach.
    assert len(slots) == 61
    assert sum(result["refused"] for result in results) == 2 * per_process - 61
    assert sorted(slots) == list(range(math.floor(now / SLOT), math.floor(now / SLOT) + 61))
    # One request took the current slot and left at once; the others waited for theirs.
    assert [at for _, at, waited in permits if waited == 0] == [now]
    for slot, at, waited in permits:
        assert at == pytest.approx(max(now, slot * SLOT))
        assert waited == pytest.approx(at - now)
    assert rolling_window_counts([at for _, at, _ in permits], 60.0) <= 60
    for result in results:
        assert result["waits"] == sorted(result["waits"])
        assert all(0 < wait <= 60 * SLOT for wait in result["waits"])

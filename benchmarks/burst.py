"""Burst benchmark: N events through the reference host's queue and workers against the
Snov.io emulator at a given rate limit; (``--compare-raw``) the same adds posted straight to
the emulator, as fast as its rolling window lets them through; and (``--compare-naive``) the
burst through a naive client that has no shared limiter and only retries 429s with
exponential backoff.

Run from the repository root::

    .venv/bin/python benchmarks/burst.py --events 50 --rate 60 --compare-raw
    .venv/bin/python benchmarks/burst.py --events 150 --rate 60 --workers 2 --compare-raw
    .venv/bin/python benchmarks/burst.py --events 120 --rate 60 --compare-naive

The ideal is the rolling window's: request k (from 0) may leave ⌊k / rate⌋ minutes after
the first, so a burst of C requests cannot end sooner than ⌊(C - 1) / rate⌋ minutes.

The emulator enforces ``--rate`` requests per rolling minute (token requests included) and
the plugin's client paces itself to the same number (``FORTYTWOMIN_SNOV_RATE_LIMIT``).
Everything runs on 127.0.0.1; nothing reaches Snov.io.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import httpx
from workload import (
    ADMIN,
    BENCHMARKS,
    STATUS_FIELD,
    SeededAccount,
    Workload,
    environment,
    machine,
    make_workload,
    percentile,
    seed_account,
    settings_document,
)

from fortytwomin_snov.contract.models import EVENT_ADAPTER
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.host.reference import DEFAULT_BATCH_SIZE, ReferenceHost
from fortytwomin_snov.mapping import prospect_fields
from fortytwomin_snov.settings.model import Settings
from fortytwomin_snov.snov import RateLimiter, forget_token
from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV
from fortytwomin_snov.testing.options import EmulatorOptions
from fortytwomin_snov.testing.records import RecordedRequest
from fortytwomin_snov.testing.server import EmulatorServer
from fortytwomin_snov.testing.state import EmulatorState

TOKEN_PATH = "/v1/oauth/access_token"  # noqa: S105 - a path, not a secret
ADD_PROSPECT = "/v1/add-prospect-to-list"
LOOKUP = "/v1/get-prospects-by-email"
WINDOW = 60.0
"""Seconds of the emulator's rolling window (Snov.io's minute)."""
POLL_INTERVAL = 0.1
"""Seconds an idle worker waits before looking at the queue again."""
NAIVE_ATTEMPTS = 5
NAIVE_FIRST_WAIT = 0.5

WorkerMode = Literal["process", "thread"]


class _Flag(Protocol):
    """threading.Event and multiprocessing's Event alike."""

    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass
class PhaseResult:
    """One client's run of the burst."""

    client: str
    events: int
    wall_seconds: float
    api_calls: int
    calls_by_kind: dict[str, int]
    ideal_seconds: float
    """API calls / rate: the steady pace, the ideal before the rolling window was counted."""
    window_ideal_seconds: float
    """The rolling window's ideal for these calls: ⌊(calls - 1) / rate⌋ minutes."""
    one_call_seconds: float
    """Events / rate: one call per event, every permit used."""
    synced: int
    skipped: int
    throttled: int
    """429 answers the emulator gave during the burst."""
    throttled_after_first_window: int
    lost: int
    lost_by_reason: dict[str, int]
    duplicates: int
    """Emails with more than one profile in the target list."""
    missing_from_list: int
    """People of the burst without a profile in the target list at the end."""
    wrong_status: int
    """People whose meeting status in Snov.io is not their last booking event's."""
    delay_p50: float
    delay_p95: float
    delay_max: float
    outcomes: dict[str, int]
    """Final outcomes by status and reason (plugin), or by answer (naive)."""
    attempts_by_status: dict[str, int] = field(default_factory=dict)
    """Every attempt by status, deferrals included (plugin only)."""
    attempts_by_reason: dict[str, int] = field(default_factory=dict)
    """Every attempt by ``status:reason`` (plugin only): why attempts were deferred."""
    calls_by_case: dict[str, dict[str, float | None]] = field(default_factory=dict)
    setup_calls: dict[str, int] = field(default_factory=dict)
    enqueue_seconds: float = 0.0
    timeline: list[float] = field(default_factory=list)
    """Seconds after the burst was queued at which each event was synced, in order."""
    most_in_a_window: int = 0
    """The most requests the emulator let through within any rolling window (at most rate)."""
    tightest_window: float | None = None
    """The least time between an admitted request and the one ``rate`` requests later (must
    exceed the window: how much room the pacing left); None with no more than rate requests."""

    @property
    def calls_per_event(self) -> float:
        return self.api_calls / self.events

    @property
    def calls_per_synced(self) -> float:
        return self.api_calls / self.synced if self.synced else float("inf")

    @property
    def wall_over_ideal(self) -> float:
        return self.wall_seconds / self.ideal_seconds

    @property
    def wall_over_window_ideal(self) -> float | None:
        """None when every call fits in the first window: the ideal is then 0 s."""
        if not self.window_ideal_seconds:
            return None
        return self.wall_seconds / self.window_ideal_seconds

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["calls_per_event"] = round(self.calls_per_event, 4)
        data["calls_per_synced"] = round(self.calls_per_synced, 4)
        data["wall_over_ideal"] = round(self.wall_over_ideal, 4)
        over = self.wall_over_window_ideal
        data["wall_over_window_ideal"] = None if over is None else round(over, 4)
        data["timeline"] = [round(moment, 3) for moment in self.timeline]
        return data


# ---- the plugin through the reference host ---------------------------------------------


def _work(database: str, batch: int, ready: Callable[[], None], go: _Flag, stop: _Flag) -> None:
    """One worker: load the plugin, wait for the start, work until the queue is empty."""
    with ReferenceHost(database, batch_size=batch) as host:
        host.manifest()
        ready()
        go.wait()
        # ReferenceHost.work only calls is_set() and wait() on ``stop``.
        host.work(until_empty=True, stop=cast(threading.Event, stop), poll_interval=POLL_INTERVAL)


def _work_in_process(database: str, batch: int, ready: Any, go: Any, stop: Any) -> None:
    _work(database, batch, lambda: ready.put(1), go, stop)


class Workers:
    """K workers on one database, as processes (separate interpreters) or threads."""

    def __init__(self, database: Path, count: int, mode: WorkerMode, batch: int) -> None:
        self._mode = mode
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self._threads: list[threading.Thread] = []
        if mode == "process":
            context = multiprocessing.get_context("spawn")
            ready_queue = context.Queue()
            self.go: _Flag = context.Event()
            self.stop: _Flag = context.Event()
            for number in range(count):
                process = context.Process(
                    target=_work_in_process,
                    args=(str(database), batch, ready_queue, self.go, self.stop),
                    name=f"bench-worker-{number}",
                )
                process.start()
                self._processes.append(process)
            for _ in range(count):
                ready_queue.get(timeout=60)
        else:
            ready = threading.Semaphore(0)
            self.go = threading.Event()
            self.stop = threading.Event()
            for number in range(count):
                thread = threading.Thread(
                    target=_work,
                    args=(str(database), batch, ready.release, self.go, self.stop),
                    name=f"bench-worker-{number}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
            for _ in range(count):
                ready.acquire(timeout=60)

    def start(self) -> None:
        self.go.set()

    def join(self, deadline: float) -> bool:
        """Wait until every worker found the queue empty; False if the deadline came first
        (then they are asked to stop, and processes still running are terminated)."""
        for process in self._processes:
            process.join(max(0.0, deadline - time.time()))
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.time()))
        finished = not any(p.is_alive() for p in self._processes) and not any(
            t.is_alive() for t in self._threads
        )
        if not finished:
            self.stop.set()
            for process in self._processes:
                process.join(10)
                if process.is_alive():
                    process.terminate()
                    process.join(5)
            for thread in self._threads:
                thread.join(10)
        return finished


def _kind(request: RecordedRequest) -> str:
    if request.path == TOKEN_PATH:
        return "token"
    if request.path == LOOKUP:
        return "lookup"
    if request.path == ADD_PROSPECT:
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("createDuplicates"):
            return "add_create_duplicates"
        if body.get("updateContact"):
            return "add_update_contact"
        return "add"
    return request.path.removeprefix("/v1/")


def _emulator(rate: int, workload: Workload) -> tuple[EmulatorState, SeededAccount]:
    state = EmulatorState(EmulatorOptions(rate_limit=rate, rate_window=60.0))
    return state, seed_account(state, workload)


def _list_check(
    state: EmulatorState, account: SeededAccount, workload: Workload
) -> tuple[int, int, int]:
    """(duplicates, missing from the list, wrong final status) as Snov.io holds them."""
    profiles: dict[str, list[dict[str, Any]]] = {}
    for prospect in state.prospects(account.credentials.client_id, list_id=account.target_list_id):
        key = (prospect.email or "").casefold()
        profiles.setdefault(key, []).append(dict(prospect.custom_fields))
    duplicates = sum(1 for found in profiles.values() if len(found) > 1)
    missing = sum(1 for email in workload.emails if email.casefold() not in profiles)
    wrong = 0
    for email, status in workload.final_status.items():
        found = profiles.get(email.casefold())
        if status is not None and found and found[0].get(STATUS_FIELD) != status:
            wrong += 1
    return duplicates, missing, wrong


def window_ideal(calls: int, rate: int) -> float:
    """The rolling window's ideal: request k (from 0) leaves ⌊k / rate⌋ windows in."""
    return WINDOW * ((calls - 1) // rate) if calls else 0.0


def limiter_hold(rate: int) -> float:
    """How long the plugin's limiter keeps a permit after its request left."""
    return RateLimiter(MemoryStore(), "bench", limit=rate, window=WINDOW).hold


def _window_check(requests: Sequence[RecordedRequest], rate: int) -> tuple[int, float | None]:
    """From the emulator's log: the most admitted requests in any window (the emulator's
    own rule: a request at t counts until t + window), and the least time between an
    admitted request and the one ``rate`` admitted requests later."""
    times = sorted(request.at for request in requests if request.status != 429)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - WINDOW:
            start += 1
        most = max(most, end - start + 1)
    gaps = [later - earlier for earlier, later in zip(times, times[rate:], strict=False)]
    return most, min(gaps) if gaps else None


def _throttled(requests: Sequence[RecordedRequest], started: float) -> tuple[int, int]:
    statuses = [(request.status, request.at) for request in requests]
    total = sum(1 for status, _ in statuses if status == 429)
    late = sum(1 for status, at in statuses if status == 429 and at >= started + 60.0)
    return total, late


def _case_table(calls: Counter[str], workload: Workload) -> dict[str, dict[str, float | None]]:
    counts = workload.case_counts()
    table: dict[str, dict[str, float | None]] = {}
    for case in ("new", "elsewhere", "further", "token", "other"):
        events = counts.get(case, 0)
        if not events and not calls[case]:
            continue
        table[case] = {
            "events": events,
            "calls": calls[case],
            "calls_per_event": round(calls[case] / events, 4) if events else None,
        }
    return table


def _calls_by_case(
    requests: Sequence[RecordedRequest], workload: Workload
) -> dict[str, dict[str, float | None]]:
    """API calls per kind of event: for each case, events and calls (measured)."""
    elsewhere = {email.casefold() for email in workload.elsewhere_emails}
    calls: Counter[str] = Counter()
    for request in requests:
        kind = _kind(request)
        body = request.body if isinstance(request.body, dict) else {}
        email = str(body.get("email", "")).casefold()
        if kind == "token":
            calls["token"] += 1
        elif kind == "add_update_contact":
            calls["further"] += 1
        elif kind in ("add", "add_create_duplicates", "lookup"):
            calls["elsewhere" if email in elsewhere else "new"] += 1
        else:
            calls["other"] += 1
    return _case_table(calls, workload)


def run_plugin(
    workload: Workload,
    *,
    rate: int,
    workers: int,
    mode: WorkerMode,
    timeout: float,
    scratch: Path,
    batch: int = DEFAULT_BATCH_SIZE,
) -> PhaseResult:
    """The burst through the reference host's queue and ``workers`` workers, each claiming
    ``batch`` jobs at once."""
    state, account = _emulator(rate, workload)
    database = scratch / "host.db"
    with (
        EmulatorServer(state) as server,
        environment({BASE_URL_ENV: server.base_url, RATE_LIMIT_ENV: str(rate)}),
        ReferenceHost(database) as host,
    ):
        host.connect(account.keys, ADMIN)
        host.save_settings(settings_document(account.target_list_id))
        setup = Counter(_kind(request) for request in state.requests())
        # A burst after an idle hour starts without a token: it fetches its own.
        forget_token(host.store, account.credentials.client_id, account.credentials.client_secret)
        setup_requests = len(state.requests())
        pool = Workers(database, workers, mode, batch)
        before = time.time()
        job_ids = host.enqueue_many(workload.events)
        enqueue_seconds = time.time() - before
        pool.start()
        pool.join(deadline=time.time() + timeout)
        entries = host.sync_log(limit=None)
        created = {job.id: job.created_at for job in host.jobs()}
    requests = state.requests()[setup_requests:]
    queued_at = min(created[job_id] for job_id in job_ids)
    final: dict[str, tuple[float, str, str]] = {}
    attempts: Counter[str] = Counter()
    attempt_reasons: Counter[str] = Counter()
    for entry in sorted(entries, key=lambda item: item.at):
        attempts[entry.status] += 1
        attempt_reasons[f"{entry.status}:{entry.reason}"] += 1
        if entry.status in ("synced", "skipped") and entry.event_id not in final:
            final[entry.event_id] = (entry.at - created[entry.job_id], entry.status, entry.reason)
    last_status: dict[str, str] = {}
    for entry in sorted(entries, key=lambda item: item.at):
        last_status[entry.event_id] = f"{entry.status}:{entry.reason}"
    lost_reasons = Counter(
        last_status.get(event["id"], "never_attempted")
        for event in workload.events
        if event["id"] not in final
    )
    delays = [delay for delay, _, _ in final.values()] or [float("nan")]
    finished = [queued_at + delay for delay, _, _ in final.values()]
    wall = (max(finished) if finished else time.time()) - queued_at
    duplicates, missing, wrong = _list_check(state, account, workload)
    throttled, late = _throttled(requests, queued_at)
    calls = len(requests)
    most, tightest = _window_check(requests, rate)
    return PhaseResult(
        client="plugin",
        events=len(workload.events),
        wall_seconds=wall,
        api_calls=calls,
        calls_by_kind=dict(Counter(_kind(request) for request in requests)),
        ideal_seconds=60.0 * calls / rate,
        window_ideal_seconds=window_ideal(calls, rate),
        most_in_a_window=most,
        tightest_window=tightest,
        one_call_seconds=60.0 * len(workload.events) / rate,
        synced=sum(1 for _, status, _ in final.values() if status == "synced"),
        skipped=sum(1 for _, status, _ in final.values() if status == "skipped"),
        throttled=throttled,
        throttled_after_first_window=late,
        lost=len(workload.events) - len(final),
        lost_by_reason=dict(lost_reasons),
        duplicates=duplicates,
        missing_from_list=missing,
        wrong_status=wrong,
        delay_p50=percentile(delays, 0.5),
        delay_p95=percentile(delays, 0.95),
        delay_max=max(delays),
        outcomes=dict(Counter(f"{status}:{reason}" for _, status, reason in final.values())),
        attempts_by_status=dict(attempts),
        attempts_by_reason=dict(attempt_reasons),
        calls_by_case=_calls_by_case(requests, workload),
        setup_calls=dict(setup),
        enqueue_seconds=enqueue_seconds,
        timeline=sorted(finished_at - queued_at for finished_at in finished),
    )


# ---- the naive client ---------------------------------------------------------------------


@dataclass(frozen=True)
class _NaiveOutcome:
    answer: str
    finished_at: float
    attempts: int


def _naive_post(
    client: httpx.Client, path: str, body: dict[str, Any]
) -> tuple[httpx.Response, int]:
    """POST, retried on 429 only: 0.5 s, then doubling, NAIVE_ATTEMPTS attempts in all.
    The last answer and the number of attempts."""
    wait = NAIVE_FIRST_WAIT
    for attempt in itertools.count(1):
        response = client.post(path, json=body)
        if response.status_code != 429 or attempt >= NAIVE_ATTEMPTS:
            return response, attempt
        time.sleep(wait)
        wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def _naive_answer(response: httpx.Response) -> str:
    if response.status_code == 429:
        return "gave_up_after_429s"
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and isinstance(body, dict):
        if body.get("added"):
            return "added"
        return "updated_profile_in_other_list"
    if response.status_code == 422 and "already exists" in json.dumps(body):
        return "refused_already_in_list"
    return f"http_{response.status_code}"


def run_naive(workload: Workload, *, rate: int, concurrency: int, timeout: float) -> PhaseResult:
    """The burst as a client without a shared limiter sends it: one add-prospect-to-list per
    event with the same fields, retried on 429 with exponential backoff, no membership
    handling. A fresh emulator with the same limit and the same seeded account."""
    state, account = _emulator(rate, workload)
    bodies = _add_bodies(workload, account.target_list_id)
    outcomes: dict[int, _NaiveOutcome] = {}
    pending = iter(range(len(bodies)))
    lock = threading.Lock()
    deadline = time.time() + timeout
    with EmulatorServer(state) as server:
        started = time.time()
        with httpx.Client(base_url=server.base_url, timeout=15.0) as client:
            token_reply, token_attempts = _naive_post(
                client,
                TOKEN_PATH,
                {
                    "grant_type": "client_credentials",
                    "client_id": account.credentials.client_id,
                    "client_secret": account.credentials.client_secret,
                },
            )
        token = str(token_reply.json().get("access_token", ""))

        def send() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.base_url, timeout=15.0, headers=headers) as http:
                while time.time() < deadline:
                    with lock:
                        index = next(pending, None)
                    if index is None:
                        return
                    response, attempts = _naive_post(http, ADD_PROSPECT, bodies[index])
                    outcomes[index] = _NaiveOutcome(_naive_answer(response), time.time(), attempts)

        threads = [threading.Thread(target=send) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    requests = state.requests()
    synced_at = sorted(o.finished_at - started for o in outcomes.values() if o.answer == "added")
    delays = [o.finished_at - started for o in outcomes.values()] or [float("nan")]
    answers = Counter(outcome.answer for outcome in outcomes.values())
    per_case: Counter[str] = Counter({"token": token_attempts})
    for index, outcome in outcomes.items():
        per_case[workload.cases[index]] += outcome.attempts
    answers["not_sent_before_timeout"] = len(bodies) - len(outcomes)
    lost = {answer: count for answer, count in answers.items() if answer != "added" and count}
    duplicates, missing, wrong = _list_check(state, account, workload)
    throttled, late = _throttled(requests, started)
    calls = len(requests)
    most, tightest = _window_check(requests, rate)
    last = max((o.finished_at for o in outcomes.values()), default=time.time())
    return PhaseResult(
        client="naive",
        events=len(bodies),
        wall_seconds=last - started,
        api_calls=calls,
        calls_by_kind=dict(Counter(_kind(request) for request in requests)),
        ideal_seconds=60.0 * calls / rate,
        window_ideal_seconds=window_ideal(calls, rate),
        most_in_a_window=most,
        tightest_window=tightest,
        one_call_seconds=60.0 * len(bodies) / rate,
        synced=answers["added"],
        skipped=0,
        throttled=throttled,
        throttled_after_first_window=late,
        lost=sum(lost.values()),
        lost_by_reason=lost,
        duplicates=duplicates,
        missing_from_list=missing,
        wrong_status=wrong,
        delay_p50=percentile(delays, 0.5),
        delay_p95=percentile(delays, 0.95),
        delay_max=max(delays),
        outcomes={answer: count for answer, count in answers.items() if count},
        calls_by_case=_case_table(per_case, workload),
        timeline=synced_at,
    )


# ---- the raw sender ---------------------------------------------------------------------


def _add_bodies(workload: Workload, list_id: int) -> list[dict[str, Any]]:
    """One add-prospect-to-list body per event, with the fields the plugin sends."""
    settings = Settings.model_validate(settings_document(list_id))
    return [
        {
            "listId": list_id,
            **prospect_fields(EVENT_ADAPTER.validate_python(event), settings).to_api(),
        }
        for event in workload.events
    ]


def run_raw(workload: Workload, *, rate: int, timeout: float) -> PhaseResult:
    """The burst's adds posted straight to a fresh emulator with httpx, no plugin: one token,
    then one plain add per event, back to back on one connection. It keeps its own rolling
    window: request k waits until the answer to request k - rate came back a window ago, so
    nothing is refused. The physical limit the plugin is measured against."""
    state, account = _emulator(rate, workload)
    bodies = _add_bodies(workload, account.target_list_id)
    answered: list[float] = []  # when each request's answer came back
    outcomes: Counter[str] = Counter()
    synced_at: list[float] = []

    def wait_for_the_window() -> None:
        if len(answered) >= rate:
            time.sleep(max(0.0, answered[-rate] + WINDOW - time.time()))

    with EmulatorServer(state) as server, httpx.Client(base_url=server.base_url) as http:
        deadline = time.time() + timeout
        started = time.time()
        token_reply = http.post(
            TOKEN_PATH,
            json={
                "grant_type": "client_credentials",
                "client_id": account.credentials.client_id,
                "client_secret": account.credentials.client_secret,
            },
        )
        answered.append(time.time())
        http.headers["Authorization"] = f"Bearer {token_reply.json()['access_token']}"
        for body in bodies:
            if time.time() > deadline:
                break
            wait_for_the_window()
            response = http.post(ADD_PROSPECT, json=body)
            answered.append(time.time())
            answer = _naive_answer(response)
            outcomes[answer] += 1
            if answer == "added":
                synced_at.append(answered[-1] - started)
    requests = state.requests()
    throttled, late = _throttled(requests, started)
    calls = len(requests)
    most, tightest = _window_check(requests, rate)
    delays = [moment - started for moment in answered[1:]] or [float("nan")]
    return PhaseResult(
        client="raw",
        events=len(bodies),
        wall_seconds=answered[-1] - started,
        api_calls=calls,
        calls_by_kind=dict(Counter(_kind(request) for request in requests)),
        ideal_seconds=60.0 * calls / rate,
        window_ideal_seconds=window_ideal(calls, rate),
        one_call_seconds=60.0 * len(bodies) / rate,
        synced=outcomes["added"],
        skipped=0,
        throttled=throttled,
        throttled_after_first_window=late,
        # Not a client that handles people already in a list: only events never sent count
        # as lost here (its refusals are in ``outcomes``; the naive client measures those).
        lost=len(bodies) - sum(outcomes.values()),
        lost_by_reason={},
        duplicates=0,
        missing_from_list=0,
        wrong_status=0,
        delay_p50=percentile(delays, 0.5),
        delay_p95=percentile(delays, 0.95),
        delay_max=max(delays),
        outcomes=dict(outcomes),
        timeline=synced_at,
        most_in_a_window=most,
        tightest_window=tightest,
    )


# ---- report -------------------------------------------------------------------------------


def limiter_floor(calls: int, rate: int) -> float:
    """The plugin limiter's best: ``rate`` requests at once, then a permit's hold later."""
    return limiter_hold(rate) * ((calls - 1) // rate) if calls else 0.0


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _rows(results: Sequence[PhaseResult], rate: int) -> list[tuple[str, ...]]:
    def each(render: Callable[[PhaseResult], str]) -> tuple[str, ...]:
        return tuple(render(result) for result in results)

    raw = next((result for result in results if result.client == "raw"), None)
    return [
        ("events", *each(lambda r: str(r.events))),
        ("wall time (s)", *each(lambda r: f"{r.wall_seconds:.3f}")),
        ("API calls (incl. token)", *each(lambda r: str(r.api_calls))),
        (
            "rolling-window ideal = floor((calls-1)/rate) min (s)",
            *each(lambda r: f"{r.window_ideal_seconds:.1f}"),
        ),
        ("wall / rolling-window ideal", *each(lambda r: _ratio(r.wall_over_window_ideal))),
        (
            "wall / raw sender's wall",
            *each(lambda r: _ratio(r.wall_seconds / raw.wall_seconds if raw else None)),
        ),
        ("steady pace = calls / rate (s)", *each(lambda r: f"{r.ideal_seconds:.1f}")),
        ("wall / steady pace", *each(lambda r: f"{r.wall_over_ideal:.3f}")),
        (
            "limiter floor = floor((calls-1)/rate) x hold (s)",
            *each(lambda r: f"{limiter_floor(r.api_calls, rate):.1f}"),
        ),
        ("most admitted in any window", *each(lambda r: str(r.most_in_a_window))),
        (
            "tightest: request k+rate - request k (s)",
            *each(lambda r: "-" if r.tightest_window is None else f"{r.tightest_window:.3f}"),
        ),
        ("API calls per event", *each(lambda r: f"{r.calls_per_event:.3f}")),
        ("API calls per synced event", *each(lambda r: f"{r.calls_per_synced:.3f}")),
        ("synced / skipped", *each(lambda r: f"{r.synced} / {r.skipped}")),
        ("429s received", *each(lambda r: str(r.throttled))),
        ("429s after the first minute", *each(lambda r: str(r.throttled_after_first_window))),
        ("events lost", *each(lambda r: str(r.lost))),
        ("duplicates in the list", *each(lambda r: str(r.duplicates))),
        ("people missing from the list", *each(lambda r: str(r.missing_from_list))),
        ("wrong final meeting status", *each(lambda r: str(r.wrong_status))),
        ("delay p50 (s)", *each(lambda r: f"{r.delay_p50:.1f}")),
        ("delay p95 (s)", *each(lambda r: f"{r.delay_p95:.1f}")),
        ("delay max (s)", *each(lambda r: f"{r.delay_max:.1f}")),
    ]


def print_rows(rows: Sequence[Sequence[str]]) -> None:
    """A plain-text table: the first row is the header, underlined; columns padded."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def print_table(results: Sequence[PhaseResult], rate: int) -> None:
    header = ("metric", *(result.client for result in results))
    print_rows([header, *_rows(results, rate)])
    for result in results:
        print(f"\n{result.client}: calls by kind {result.calls_by_kind}")
        print(f"{result.client}: outcomes {result.outcomes}")
        if result.lost_by_reason:
            print(f"{result.client}: lost by reason {result.lost_by_reason}")
        if result.attempts_by_status:
            print(f"{result.client}: attempts by status {result.attempts_by_status}")
            print(f"{result.client}: attempts by reason {result.attempts_by_reason}")
        for case, counts in result.calls_by_case.items():
            print(f"{result.client}: case {case}: {counts}")


def plot(results: Sequence[PhaseResult], rate: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    events = max(result.events for result in results)
    end = max(result.wall_seconds for result in results) * 1.05
    figure, axes = plt.subplots(figsize=(8, 4.8), dpi=110)
    # The rolling window's ideal, one call per event: ``rate`` at once, each window.
    rounds = range(int(end // WINDOW) + 1)
    axes.step(
        [0.0, *(WINDOW * (number + 1) for number in rounds)],
        [min(events, rate * (number + 1)) for number in range(len(rounds) + 1)],
        where="post",
        color="grey",
        linestyle="--",
        label=f"rolling-window ideal: {rate} per window, one call per event",
    )
    styles = {"plugin": "tab:blue", "raw": "tab:green", "naive": "tab:red"}
    for result in results:
        times = [0.0, *result.timeline]
        axes.step(
            times,
            list(range(len(times))),
            where="post",
            color=styles.get(result.client),
            label=f"{result.client}: {result.synced} synced"
            + (f", {result.skipped} skipped" if result.skipped else "")
            + f", {result.lost} lost",
        )
    axes.set_xlabel("seconds since the burst was queued")
    axes.set_ylabel("events synced")
    axes.set_title(f"Burst of {events} events at {rate} requests/min")
    axes.set_xlim(0, end)
    axes.set_ylim(0, events * 1.05)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0].replace("\n", " "),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=1000, help="events in the burst")
    parser.add_argument(
        "--rate", type=int, default=60, help="requests per rolling minute (Snov.io: 60)"
    )
    parser.add_argument("--workers", type=int, default=1, help="workers on the one database")
    parser.add_argument(
        "--worker-mode",
        choices=("process", "thread"),
        default="process",
        help="workers as separate processes (as deployed) or threads of this process",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help="people whose due jobs each worker claims and hands to on_booking_events at once"
        " (1: one person; each job on its own with a plugin without that hook)",
    )
    parser.add_argument("--seed", type=int, default=42, help="the burst's random seed")
    parser.add_argument(
        "--further-share", type=float, default=0.2, help="share of events for people seen"
    )
    parser.add_argument(
        "--elsewhere-share",
        type=float,
        default=0.02,
        help="share of new people already in another Snov.io list",
    )
    parser.add_argument(
        "--compare-raw",
        action="store_true",
        help="also post the burst's adds straight to the emulator, as fast as its window allows",
    )
    parser.add_argument(
        "--compare-naive", action="store_true", help="also run the naive client on the burst"
    )
    parser.add_argument(
        "--naive-concurrency",
        type=int,
        default=1,
        help="requests the naive client has in flight (1: one event after the other)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds each client may take; if not given, 3 x the ideal + 60",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON result file; if not given, in benchmarks/results/",
    )
    parser.add_argument(
        "--plot", type=Path, default=None, help="PNG file; if not given, in benchmarks/"
    )
    args = parser.parse_args(argv)
    if min(args.events, args.workers, args.naive_concurrency, args.batch) < 1 or args.rate < 2:
        parser.error("events, workers, batch and naive concurrency are positive; rate at least 2")

    started = machine()  # the commit the run started on, not the one at its end
    workload = make_workload(
        args.events,
        seed=args.seed,
        further_share=args.further_share,
        elsewhere_share=args.elsewhere_share,
    )
    timeout = args.timeout or 3 * 60.0 * args.events * 1.1 / args.rate + 60.0
    name = f"burst-rate{args.rate}-events{args.events}"
    if args.workers > 1:
        name += f"-workers{args.workers}"
    if args.batch != DEFAULT_BATCH_SIZE:
        name += f"-batch{args.batch}"
    out = args.out or BENCHMARKS / "results" / f"{name}.json"
    picture = args.plot or BENCHMARKS / f"{name}.png"
    print(
        f"{args.events} events {workload.type_counts()}, cases {workload.case_counts()};"
        f" rate {args.rate}/min; {args.workers} {args.worker_mode} worker(s),"
        f" batches of {args.batch}",
        flush=True,
    )

    scratch = Path(tempfile.mkdtemp(prefix="fortytwomin-bench-"))
    try:
        results = [
            run_plugin(
                workload,
                rate=args.rate,
                workers=args.workers,
                mode=args.worker_mode,
                timeout=timeout,
                scratch=scratch,
                batch=args.batch,
            )
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"plugin done in {results[0].wall_seconds:.3f} s", flush=True)
    if args.compare_raw:
        results.append(run_raw(workload, rate=args.rate, timeout=timeout))
        print(f"raw sender done in {results[-1].wall_seconds:.3f} s", flush=True)
    if args.compare_naive:
        results.append(
            run_naive(workload, rate=args.rate, concurrency=args.naive_concurrency, timeout=timeout)
        )
        print(f"naive done in {results[-1].wall_seconds:.1f} s", flush=True)

    print()
    print_table(results, args.rate)
    plot(results, args.rate, picture)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": " ".join([".venv/bin/python", "benchmarks/burst.py", *sys.argv[1:]]),
        "machine": started,
        "parameters": {
            **{
                key: str(value) if isinstance(value, Path) else value
                for key, value in vars(args).items()
            },
            "timeout": timeout,
            "limiter_hold_seconds": limiter_hold(args.rate),
        },
        "workload": {"types": workload.type_counts(), "cases": workload.case_counts()},
        "results": [result.to_json() for result in results],
        # Relative to the checkout, or the bare name: a results file names no machine path.
        "plot": str(picture.relative_to(BENCHMARKS.parent))
        if picture.is_relative_to(BENCHMARKS.parent)
        else picture.name,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {out}\nplot: {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Overhead benchmark: the plugin's CPU time per ``on_booking_event`` with the network
stubbed out, and the reference host's database and memory with 100,000 queued jobs.

Run from the repository root::

    .venv/bin/python benchmarks/overhead.py
    .venv/bin/python benchmarks/overhead.py --events 2000 --jobs 100000

The hook is called through pluggy, as the host calls it. Only the network is stubbed:
``httpx.HTTPTransport.handle_request`` answers the token and add-prospect requests in
memory, so everything else (the Snov.io client, which the plugin keeps per account and
store, the rate limiter, the token cache, the shared marks in the store) costs what it
costs in production. Each store is measured through ``on_booking_event`` and through
``on_booking_events`` (``--hook-batch`` events per call, other people). The rate limit is
raised so that the limiter never waits.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from workload import (
    BENCHMARKS,
    command_line,
    environment,
    machine,
    make_workload,
    percentile,
    portable,
    settings_document,
)

from fortytwomin_snov.contract.store import MemoryStore, Store
from fortytwomin_snov.host import jobs
from fortytwomin_snov.host.plugins import load_plugin_manager
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.snov import SnovClient
from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV
from fortytwomin_snov.stores import SqliteStore

TOKEN_PATH = "/v1/oauth/access_token"  # noqa: S105 - a path, not a secret
ADD_PROSPECT = "/v1/add-prospect-to-list"
UNLIMITED = 1_000_000_000
"""Requests per minute for the limiter: its slots are nanoseconds long, so it never waits."""
LIST_ID = 1_000_001
CONNECTION: dict[str, str] = {
    "integration": "snov",
    "api_user_id": "0123456789abcdef0123456789abcdef",
    "api_secret": "fedcba9876543210fedcba9876543210",
    "connected_at": "2026-11-26T09:00:00Z",
    "connected_by": "bench-admin",
}


# ---- the network, stubbed -----------------------------------------------------------------


def _stub_answer(request: httpx.Request) -> httpx.Response:
    if request.url.path == TOKEN_PATH:
        body: dict[str, Any] = {
            "access_token": "T" * 40,
            "token_type": "Bearer",
            "expires_in": 3600,
        }
        return httpx.Response(200, json=body, request=request)
    if request.url.path == ADD_PROSPECT:
        sent = json.loads(request.content)
        if sent.get("updateContact"):
            body = {"success": True, "added": False, "updated": True}
        else:
            body = {"success": True, "id": "xusD3-T_K5IktGoaa8Jc8A==", "added": True}
        return httpx.Response(200, json=body, request=request)
    return httpx.Response(404, json={"success": False, "errors": "Not found"}, request=request)


@contextmanager
def stubbed_network() -> Iterator[None]:
    """Every ``httpx.HTTPTransport`` answers in memory; its construction stays real."""
    original = httpx.HTTPTransport.handle_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        request.read()
        return _stub_answer(request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.HTTPTransport.handle_request = original  # type: ignore[method-assign]


# ---- CPU per event ------------------------------------------------------------------------


@dataclass(frozen=True)
class HookHost:
    """What the hook needs of a host: its store."""

    store: Store


@dataclass(frozen=True)
class CpuResult:
    store: str
    path: str
    events: int
    cpu_us_per_event: float
    wall_us_per_event: float
    wall_p50_us: float
    wall_p95_us: float
    statuses: dict[str, int]


def _time_hook(
    call: Callable[[dict[str, Any]], dict[str, Any]], events: Sequence[dict[str, Any]]
) -> tuple[float, float, list[float], dict[str, int]]:
    """(CPU s, wall s, per-event wall s, outcome statuses) for calling the hook on each."""
    statuses: dict[str, int] = {}
    each: list[float] = []
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for event in events:
        began = time.perf_counter()
        outcome = call(event)
        each.append(time.perf_counter() - began)
        statuses[outcome["status"]] = statuses.get(outcome["status"], 0) + 1
    return time.process_time() - cpu, time.perf_counter() - wall, each, statuses


def _time_batches(
    call: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    events: Sequence[dict[str, Any]],
    size: int,
) -> tuple[float, float, list[float], dict[str, int]]:
    """As :func:`_time_hook`, for ``on_booking_events`` on batches of ``size``; the per-event
    wall times are each batch's time divided among its events."""
    statuses: dict[str, int] = {}
    each: list[float] = []
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(events), size):
        chunk = list(events[start : start + size])
        began = time.perf_counter()
        outcomes = call(chunk)
        each += [(time.perf_counter() - began) / len(chunk)] * len(chunk)
        for outcome in outcomes:
            statuses[outcome["status"]] = statuses.get(outcome["status"], 0) + 1
    return time.process_time() - cpu, time.perf_counter() - wall, each, statuses


def preload(database: Path, keys: int, now: float) -> None:
    """Fill a new store file with ``keys`` live keys, as a store holds after months of
    events: each person's last status is kept for 400 days (written straight to the table:
    a million writes through the store would take minutes)."""
    SqliteStore(database).close()  # the table, as the store makes it
    db = sqlite3.connect(database)
    try:
        with db:
            db.executemany(
                "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)",
                (
                    (
                        f"snov:status-at:preloaded:{LIST_ID}:{index:032x}",
                        "2026-11-27T09:00:00Z",
                        now + 400 * 86400,
                    )
                    for index in range(keys)
                ),
            )
    finally:
        db.close()


def measure_cpu(
    count: int, warmup: int, scratch: Path, batch: int, store_keys: int = 0
) -> list[CpuResult]:
    """Per store (memory, SQLite): new people (one add each), then a cancellation for each
    of them (one update each, as the person is known); each through ``on_booking_event``,
    then (other people) through ``on_booking_events`` in batches of ``batch``. The SQLite
    file starts with ``store_keys`` live keys."""
    manager = load_plugin_manager()
    settings = settings_document(LIST_ID)
    workload = make_workload(
        2 * (warmup + count), seed=7, further_share=0.0, elsewhere_share=0.0, form_share=0.0
    )
    bookings = [event for event in workload.events if event["type"] == "booking.created"]
    cancels = [
        {
            **event,
            "id": f"{event['id']}-cancel",
            "type": "booking.canceled",
            "occurred_at": "2026-11-27T09:00:00Z",  # after every booking
        }
        for event in bookings
    ]
    results: list[CpuResult] = []
    if store_keys:
        preload(scratch / "store.db", store_keys, time.time())
    stores: list[tuple[str, Callable[[], Store]]] = [
        ("memory", MemoryStore),
        ("sqlite", lambda: SqliteStore(scratch / "store.db")),
    ]
    for name, make_store in stores:
        store = make_store()
        host = HookHost(store)

        def call(event: dict[str, Any], host: HookHost = host) -> dict[str, Any]:
            answer: dict[str, Any] = manager.hook.on_booking_event(
                integration="snov",
                connection=CONNECTION,
                settings=settings,
                event=event,
                host=host,
            )
            return answer

        def call_batch(events: list[dict[str, Any]], host: HookHost = host) -> list[Any]:
            answer: list[Any] = manager.hook.on_booking_events(
                integration="snov",
                connection=CONNECTION,
                settings=settings,
                events=events,
                host=host,
            )
            return answer

        half = warmup + count
        cases = (
            ("new person (add)", bookings[:half], None),
            ("known person (update)", cancels[:half], None),
            (f"new person, batch of {batch}", bookings[half:], batch),
            (f"known person, batch of {batch}", cancels[half:], batch),
        )
        for path, events, size in cases:
            measured = events[warmup : warmup + count]
            if size is None:
                _time_hook(call, events[:warmup])
                cpu, wall, each, statuses = _time_hook(call, measured)
            else:
                _time_batches(call_batch, events[:warmup], size)
                cpu, wall, each, statuses = _time_batches(call_batch, measured, size)
            results.append(
                CpuResult(
                    store=name,
                    path=path,
                    events=len(measured),
                    cpu_us_per_event=cpu / len(measured) * 1e6,
                    wall_us_per_event=wall / len(measured) * 1e6,
                    wall_p50_us=percentile(each, 0.5) * 1e6,
                    wall_p95_us=percentile(each, 0.95) * 1e6,
                    statuses=statuses,
                )
            )
        if isinstance(store, SqliteStore):
            store.close()
    return results


def measure_client_construction(count: int) -> dict[str, float]:
    """CPU per SnovClient built (the plugin builds one per event; they share the process's
    TLS context), and per bare HTTP transport, which loads the system's CA certificates
    into a new SSL context: what each client cost before the context was shared."""
    store = MemoryStore()

    def per_call(make: Callable[[], object]) -> float:
        gc.collect()
        began = time.process_time()
        for _ in range(count):
            made = make()
            close = getattr(made, "close", None)
            if close is not None:
                close()
        return (time.process_time() - began) / count * 1e6

    return {
        "snov_client_us": per_call(
            lambda: SnovClient(CONNECTION["api_user_id"], CONNECTION["api_secret"], store=store)
        ),
        "httpx_transport_us": per_call(httpx.HTTPTransport),
        "httpx_client_with_given_transport_us": per_call(
            lambda: httpx.Client(transport=httpx.MockTransport(_stub_answer))
        ),
    }


# ---- 100,000 queued jobs ------------------------------------------------------------------


def _rss_mb() -> float:
    """The current resident set size, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _files_mb(database: Path) -> dict[str, float]:
    found = {}
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            found[path.name] = path.stat().st_size / 1e6
    return found


def measure_queue(count: int, batch: int, scratch: Path) -> dict[str, Any]:
    """Queue ``count`` jobs in batches: time, file size, memory, and the cost of the
    queries a worker runs against a queue that long."""
    rss_start = _rss_mb()
    workload = make_workload(count, seed=11)
    database = scratch / "queue.db"
    rss_before = _rss_mb()
    peak_before = _peak_rss_mb()
    batch_seconds: list[float] = []
    with ReferenceHost(database) as host:
        began = time.perf_counter()
        for start in range(0, count, batch):
            batch_began = time.perf_counter()
            host.enqueue_many(workload.events[start : start + batch])
            batch_seconds.append(time.perf_counter() - batch_began)
        enqueue_seconds = time.perf_counter() - began
        rss_after = _rss_mb()
        files_before_checkpoint = _files_mb(database)

        def next_due() -> None:
            with host.database.read() as db:
                jobs.next_due(db, host.integration)

        def timed(action: Callable[[], object], repeat: int = 20) -> float:
            samples = []
            for _ in range(repeat):
                began = time.perf_counter()
                action()
                samples.append(time.perf_counter() - began)
            return statistics.median(samples) * 1e3

        def claim_and_release() -> None:
            with host.database.transaction() as tx:
                job = jobs.claim_job(
                    tx, host.integration, worker="bench", now=time.time(), lease=60
                )
                assert job is not None
                jobs.release_job(tx, job, now=job.run_after)

        queries_ms = {
            "claim_and_release_ms": timed(claim_and_release),
            "job_counts_ms": timed(host.job_counts),
            "next_due_ms": timed(next_due),
        }
        with host.database.read() as db:
            plan = {
                name: [
                    str(row[3])
                    for row in db.execute(
                        f"EXPLAIN QUERY PLAN {query}", ("snov",) + (time.time(),) * (count - 1)
                    )
                ]
                for name, (query, count) in jobs.CLAIM_QUERIES.items()
            }
    checkpoint = sqlite3.connect(database)
    try:
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        checkpoint.close()
    event_bytes = sum(len(jobs.to_json_text(event)) for event in workload.events)
    return {
        "jobs": count,
        "batch": batch,
        "enqueue_seconds": enqueue_seconds,
        "enqueue_us_per_job": enqueue_seconds / count * 1e6,
        "batch_ms_p50": percentile(batch_seconds, 0.5) * 1e3,
        "batch_ms_max": max(batch_seconds) * 1e3,
        "files_mb_before_checkpoint": files_before_checkpoint,
        "files_mb_after_checkpoint": _files_mb(database),
        "event_json_mb": event_bytes / 1e6,
        "rss_mb_start": rss_start,
        "rss_mb_with_events_built": rss_before,
        "rss_mb_after": rss_after,
        "peak_rss_mb_before": peak_before,
        "peak_rss_mb_after": _peak_rss_mb(),
        "claim_query_plan": plan,
        **queries_ms,
    }


# ---- report -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0].replace("\n", " "),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=500, help="hook calls measured per case")
    parser.add_argument("--warmup", type=int, default=100, help="hook calls before measuring")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to queue")
    parser.add_argument("--batch", type=int, default=1000, help="jobs per enqueue_many call")
    parser.add_argument(
        "--hook-batch", type=int, default=20, help="events per on_booking_events call"
    )
    parser.add_argument(
        "--store-keys",
        type=int,
        default=0,
        help="live keys the SQLite store holds before the hook calls (a store in use for months)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCHMARKS / "results" / "overhead.json",
        help="JSON result file",
    )
    args = parser.parse_args(argv)
    if min(args.events, args.jobs, args.batch, args.hook_batch) < 1 or args.warmup < 0:
        parser.error("events, jobs and batch are positive; warmup not negative")
    if args.store_keys < 0:
        parser.error("store-keys is not negative")

    started = machine()  # the commit the run started on, not the one at its end
    with tempfile.TemporaryDirectory(prefix="fortytwomin-bench-") as folder:
        scratch = Path(folder)
        # The queue first, so that its memory is not mixed with the hook calls' garbage.
        print(f"queueing {args.jobs} jobs in batches of {args.batch} ...", flush=True)
        queue = measure_queue(args.jobs, args.batch, scratch)
        for key, value in queue.items():
            print(f"  {key}: {value}")
        # No emulator: the base URL is never reached, the stub answers first.
        with (
            environment({RATE_LIMIT_ENV: str(UNLIMITED), BASE_URL_ENV: "https://api.snov.io"}),
            stubbed_network(),
        ):
            cpu = measure_cpu(args.events, args.warmup, scratch, args.hook_batch, args.store_keys)
            construction = measure_client_construction(200)
    client_us = construction["snov_client_us"]
    print("\non_booking_event, network stubbed (µs per event):")
    print(
        f"{'store':8}  {'path':30}  {'CPU':>8}  {'CPU-client':>10}  {'wall':>8}"
        f"  {'p50':>8}  {'p95':>8}"
    )
    for row in cpu:
        print(
            f"{row.store:8}  {row.path:30}  {row.cpu_us_per_event:8.0f}"
            f"  {row.cpu_us_per_event - client_us:10.0f}  {row.wall_us_per_event:8.0f}"
            f"  {row.wall_p50_us:8.0f}  {row.wall_p95_us:8.0f}  {row.statuses}"
        )
    print("construction (CPU µs each):", {k: round(v) for k, v in construction.items()})

    document = {
        "command": command_line("overhead.py", sys.argv[1:]),
        "machine": started,
        "parameters": {
            key: portable(value) if isinstance(value, Path) else value
            for key, value in vars(args).items()
        },
        "cpu_per_event": [row.__dict__ for row in cpu],
        "construction": construction,
        "queue": queue,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

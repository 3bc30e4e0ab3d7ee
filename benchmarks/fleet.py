"""Fleet benchmark: K worker processes, each its own reference host, on one PostgreSQL
database and one Redis store, against the Snov.io emulator; then the same with faults:
workers killed with SIGKILL at random points and started again.

Run from the repository root::

    .venv/bin/python benchmarks/fleet.py                     # 2000 events, 3000/min, 4 workers
    .venv/bin/python benchmarks/fleet.py --events 300 --rate 600 --no-baseline

The script starts its own throwaway PostgreSQL and Redis servers on 127.0.0.1 (the same
code as the tests' fixtures, ``tests/throwaway.py``) and stops them at the end. Three
phases, each on a fresh database, Redis database and emulator:

1. ``baseline``: one worker (``--no-baseline`` leaves it out);
2. ``fleet``: ``--workers`` workers started together;
3. ``faults``: the same, and ``--kills`` times a random worker is killed with SIGKILL when
   the emulator has seen a random share (10 to 70 %) of the adds, and a new one started.

Every worker is a ``python -c`` process that builds a ``ReferenceHost`` on the database
with ``--store`` the Redis URL (what ``fortytwomin-snov work --db URL --store URL --batch N``
does) and works until the queue is empty. It counts the plugin's store round trips
(``CountingStore``) and prints the running total after each attempt, so a killed worker's
count is known up to its last attempt. ``--lease`` is shorter than the host's default
(120 s) so that a killed worker's batch comes back within the run.

Measured from the host's database, the emulator's request log and state, and Redis's
``INFO commandstats``: wall time (first job queued to last final log entry), the
rolling-window ideal (request k may leave ⌊k / rate⌋ minutes in), 429s, lost events (no
final ``synced``/``skipped`` entry), events with more than one final entry, duplicate
profiles in the target list, and the add/lookup calls (the faults phase against the fleet
phase on the same workload: repeated calls). Nothing reaches Snov.io. Bounded: each phase
stops at ``--timeout`` seconds at the latest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from burst import (
    ADD_PROSPECT,
    LOOKUP,
    _kind,
    _list_check,
    _window_check,
    print_rows,
    run_raw,
    window_ideal,
)
from cryptography.fernet import Fernet
from workload import (
    ADMIN,
    BENCHMARKS,
    REPOSITORY,
    SeededAccount,
    Workload,
    environment,
    machine,
    make_workload,
    percentile,
    seed_account,
    settings_document,
)

from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.secrets import KEY_ENV
from fortytwomin_snov.snov import forget_token
from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV
from fortytwomin_snov.testing.options import EmulatorOptions
from fortytwomin_snov.testing.server import EmulatorServer
from fortytwomin_snov.testing.state import EmulatorState

sys.path.insert(0, str(REPOSITORY))  # the tests' server starter, shared with the fixtures

from tests.throwaway import (
    POSTGRES_USER,
    PostgresServer,
    postgres_binaries,
    redis_binary,
    start_postgres,
    start_redis,
    stop_postgres,
    stop_redis,
)

WORKER = textwrap.dedent(
    """
    import sys
    from fortytwomin_snov.host.reference import ReferenceHost
    from fortytwomin_snov.testing.counting import CountingStore

    database, store, batch, lease, wait = sys.argv[1:6]
    with ReferenceHost(database, store=store, batch_size=int(batch), lease=float(lease)) as host:
        host.manifest()  # load the plugin before the start signal
        counting = CountingStore(host.store)
        host._store = counting  # count what the plugin asks of host.store

        def report(attempt):
            entry = attempt.entry
            print("attempt", entry.status, counting.counts.round_trips, flush=True)

        print("ready", flush=True)
        if wait == "wait":
            sys.stdin.readline()
        try:
            host.work(until_empty=True, poll_interval=0.05, on_progress=report)
        finally:
            host._store = counting.inner
        print("done", counting.counts.round_trips, len(counting.counts.ops), flush=True)
    """
)


class Worker:
    """One worker process and what it printed."""

    def __init__(
        self,
        database: str,
        store: str,
        *,
        batch: int,
        lease: float,
        env: dict[str, str],
        wait: bool,
    ) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-c", WORKER, database, store, str(batch), str(lease),
             "wait" if wait else "go"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.round_trips = 0
        self.ops = 0
        self.attempts = 0
        self.done = False
        self.ready = threading.Event()
        self.stderr_text = ""
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,))
        self._errors = threading.Thread(target=self._read_errors, args=(self.process.stderr,))
        self._reader.start()
        self._errors.start()

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        with stream:
            for line in stream:
                parts = line.split()
                if parts[:1] == ["ready"]:
                    self.ready.set()
                elif parts[:1] == ["attempt"] and len(parts) == 3:
                    self.attempts += 1
                    self.round_trips = int(parts[2])
                elif parts[:1] == ["done"] and len(parts) == 3:
                    self.round_trips, self.ops, self.done = int(parts[1]), int(parts[2]), True
        self.ready.set()  # ended: nothing more to wait for

    def _read_errors(self, stream: IO[str] | None) -> None:
        assert stream is not None
        with stream:
            self.stderr_text = stream.read()

    def start(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.finish()

    def finish(self, timeout: float = 30.0) -> None:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout)
        self._errors.join(timeout)
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()


@dataclass
class PhaseResult:
    phase: str
    workers: int
    events: int
    finished: bool
    """Every worker found the queue empty before the timeout."""
    wall_seconds: float
    api_calls: int
    calls_by_kind: dict[str, int]
    window_ideal_seconds: float
    """⌊(calls - 1) / rate⌋ minutes: request k may leave ⌊k / rate⌋ minutes in."""
    steady_pace_seconds: float
    """calls / rate minutes."""
    throttled: int
    most_in_a_window: int
    synced: int
    skipped: int
    lost: int
    lost_by_reason: dict[str, int]
    more_than_one_final: int
    """Events with more than one final (synced/skipped) log entry."""
    duplicates: int
    """Emails with more than one profile in the target list."""
    missing_from_list: int
    wrong_status: int
    add_and_lookup_calls: int
    repeated_calls: int
    """Add and lookup requests whose body an earlier request of the phase already sent,
    plus every lookup (a sync that may have added already looks the person up)."""
    attempts_by_reason: dict[str, int]
    delay_p50: float
    delay_p95: float
    delay_max: float
    store_round_trips: int
    store_ops: int | None
    """Operations, when every worker ended normally (a killed one's are unknown)."""
    redis_commands: int
    redis_commands_by_name: dict[str, int]
    kills: list[dict[str, Any]] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)

    @property
    def wall_over_window_ideal(self) -> float | None:
        return self.wall_seconds / self.window_ideal_seconds if self.window_ideal_seconds else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        over = self.wall_over_window_ideal
        data["wall_over_window_ideal"] = None if over is None else round(over, 4)
        data["wall_over_steady_pace"] = round(self.wall_seconds / self.steady_pace_seconds, 4)
        data["store_round_trips_per_event"] = round(self.store_round_trips / self.events, 3)
        data["redis_commands_per_event"] = round(self.redis_commands / self.events, 3)
        return data


# ---- servers ------------------------------------------------------------------------------


class Servers:
    """A throwaway PostgreSQL and Redis on 127.0.0.1, stopped by :meth:`stop`."""

    def __init__(self) -> None:
        # Each its own folder: the postgres user must reach PostgreSQL's when run as root.
        self._postgres_root = Path(tempfile.mkdtemp(prefix="fortytwomin-fleet-pg-"))
        self._redis_root = Path(tempfile.mkdtemp(prefix="fortytwomin-fleet-redis-"))
        self._binaries = postgres_binaries()
        self._redis: subprocess.Popen[bytes] | None = None
        self._postgres = False
        try:
            password = Fernet.generate_key().decode()[:32]  # a fresh one, never printed
            port = start_postgres(self._binaries, self._postgres_root, password)
            self._postgres = True
            self.postgres = PostgresServer("127.0.0.1", port, POSTGRES_USER, password)
            self._redis, self.redis_port = start_redis(redis_binary(), self._redis_root)
        except BaseException:
            self.stop()
            raise

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.postgres.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")  # a fixed name, no input
        return self.postgres.url(name)

    def redis_url(self, number: int) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{number}"

    def redis_commands(self) -> Counter[str]:
        import redis

        client = redis.Redis(port=self.redis_port)
        try:
            stats = client.info("commandstats")
        finally:
            client.close()
        return Counter(
            {
                name.removeprefix("cmdstat_"): int(value["calls"])
                for name, value in stats.items()
                if name != "cmdstat_info"
            }
        )

    def stop(self) -> None:
        if self._redis is not None:
            stop_redis(self._redis)
            self._redis = None
        if self._postgres:
            stop_postgres(self._binaries, self._postgres_root)
            self._postgres = False
        shutil.rmtree(self._postgres_root, ignore_errors=True)
        shutil.rmtree(self._redis_root, ignore_errors=True)


# ---- one phase ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    rate: int
    batch: int
    lease: float
    timeout: float
    kills: int
    seed: int


def _worker_env(base_url: str, rate: int, key: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in (KEY_ENV, "PYTEST_ADDOPTS", "COVERAGE_PROCESS_START")
    }
    env.update({KEY_ENV: key, BASE_URL_ENV: base_url, RATE_LIMIT_ENV: str(rate)})
    return env


def run_phase(
    name: str,
    number: int,
    servers: Servers,
    workload: Workload,
    *,
    workers: int,
    kills: int,
    options: Options,
) -> PhaseResult:
    """One run of the workload through ``workers`` worker processes on a fresh database,
    Redis database and emulator; ``kills`` of them killed and started again on the way."""
    rng = random.Random(options.seed + number)  # noqa: S311 - where to kill, not a secret
    state = EmulatorState(EmulatorOptions(rate_limit=options.rate, rate_window=60.0))
    account: SeededAccount = seed_account(state, workload)
    database = servers.new_database(f"fleet_{name}")
    store = servers.redis_url(number)
    key = Fernet.generate_key().decode()
    pool: list[Worker] = []
    retired: list[Worker] = []
    kill_log: list[dict[str, Any]] = []
    with (
        EmulatorServer(state) as server,
        environment({BASE_URL_ENV: server.base_url, RATE_LIMIT_ENV: str(options.rate)}),
    ):
        env = _worker_env(server.base_url, options.rate, key)
        with ReferenceHost(database, store=store, environ=env) as host:
            host.connect(account.keys, ADMIN)
            host.save_settings(settings_document(account.target_list_id))
            # A burst after an idle hour starts without a token: it fetches its own.
            forget_token(
                host.store, account.credentials.client_id, account.credentials.client_secret
            )
        setup_requests = len(state.requests())

        def spawn(wait: bool) -> Worker:
            return Worker(
                database, store, batch=options.batch, lease=options.lease, env=env, wait=wait
            )

        pool = [spawn(True) for _ in range(workers)]
        for worker in pool:
            worker.ready.wait(60)
        with ReferenceHost(database, store=store, environ=env) as host:
            host.enqueue_many(workload.events)
        redis_before = servers.redis_commands()
        for worker in pool:
            worker.start()
        deadline = time.monotonic() + options.timeout
        targets = sorted(rng.uniform(0.1, 0.7) * len(workload.events) for _ in range(kills))
        finished = False
        while time.monotonic() < deadline:
            sent = len(state.requests(path=ADD_PROSPECT)) + len(state.requests(path=LOOKUP))
            if targets and sent >= targets[0]:
                targets.pop(0)
                running = [index for index, worker in enumerate(pool) if worker.alive()]
                if running:
                    index = rng.choice(running)
                    victim = pool[index]
                    victim.kill()
                    retired.append(victim)
                    kill_log.append(
                        {"worker": index, "after_calls": sent, "its_attempts": victim.attempts}
                    )
                    print(f"  killed worker {index} after {sent} add/lookup calls", flush=True)
                    pool.append(spawn(False))
                    pool[index], pool[-1] = pool[-1], pool[index]  # the new one takes its place
            if not any(worker.alive() for worker in pool):
                finished = not targets
                break
            time.sleep(0.05)  # the orchestrator polls; the workers do the work
        for worker in pool:
            if worker.alive():
                worker.process.terminate()
            worker.finish()
        redis_after = servers.redis_commands()
        with ReferenceHost(database, store=store, environ=env) as host:
            entries = host.sync_log(limit=None)
            jobs = {job.id: job for job in host.jobs()}
    requests = state.requests()[setup_requests:]
    created = {job_id: job.created_at for job_id, job in jobs.items()}
    queued_at = min(created.values())
    finals: dict[str, list[float]] = {}
    statuses: Counter[str] = Counter()
    attempts: Counter[str] = Counter()
    last_status: dict[str, str] = {}
    for entry in sorted(entries, key=lambda item: item.at):
        attempts[f"{entry.status}:{entry.reason}"] += 1
        last_status[entry.event_id] = f"{entry.status}:{entry.reason}"
        if entry.status in ("synced", "skipped"):
            finals.setdefault(entry.event_id, []).append(entry.at)
            if len(finals[entry.event_id]) == 1:
                statuses[entry.status] += 1
    lost_reasons = Counter(
        last_status.get(event["id"], "never_attempted")
        for event in workload.events
        if event["id"] not in finals
    )
    ends = [times[0] for times in finals.values()]
    delays = [end - queued_at for end in ends] or [float("nan")]
    duplicates, missing, wrong = _list_check(state, account, workload)
    calls = len(requests)
    most, _ = _window_check(requests, options.rate)
    kinds = Counter(_kind(request) for request in requests)
    bodies = Counter(
        json.dumps(request.body, sort_keys=True)
        for request in requests
        if request.path == ADD_PROSPECT and request.status != 429
    )
    redis_delta = redis_after - redis_before
    every_worker_ended = all(worker.done for worker in pool) and not kill_log
    return PhaseResult(
        phase=name,
        workers=workers,
        events=len(workload.events),
        finished=finished,
        wall_seconds=(max(ends) - queued_at) if ends else float("nan"),
        api_calls=calls,
        calls_by_kind=dict(kinds),
        window_ideal_seconds=window_ideal(calls, options.rate),
        steady_pace_seconds=60.0 * calls / options.rate,
        throttled=sum(1 for request in requests if request.status == 429),
        most_in_a_window=most,
        synced=statuses["synced"],
        skipped=statuses["skipped"],
        lost=len(workload.events) - len(finals),
        lost_by_reason=dict(lost_reasons),
        more_than_one_final=sum(1 for times in finals.values() if len(times) > 1),
        duplicates=duplicates,
        missing_from_list=missing,
        wrong_status=wrong,
        add_and_lookup_calls=sum(
            count for kind, count in kinds.items() if kind.startswith("add") or kind == "lookup"
        ),
        repeated_calls=sum(count - 1 for count in bodies.values()) + kinds["lookup"],
        attempts_by_reason=dict(attempts),
        delay_p50=percentile(delays, 0.5),
        delay_p95=percentile(delays, 0.95),
        delay_max=max(delays),
        store_round_trips=sum(worker.round_trips for worker in [*pool, *retired]),
        store_ops=sum(worker.ops for worker in pool) if every_worker_ended else None,
        redis_commands=sum(redis_delta.values()),
        redis_commands_by_name=dict(sorted(redis_delta.items())),
        kills=kill_log,
        worker_errors=[
            worker.stderr_text.strip()[-2000:] for worker in pool if worker.stderr_text.strip()
        ],
    )


# ---- report -------------------------------------------------------------------------------


def _ratio(value: float | None) -> str:
    return "- (ideal 0 s)" if value is None else f"{value:.3f}"


def print_table(results: Sequence[PhaseResult], rate: int, raw_wall: float | None = None) -> None:
    rows: list[tuple[str, ...]] = [("metric", *(f"{r.phase} ({r.workers})" for r in results))]

    def each(label: str, render: Any) -> None:
        rows.append((label, *(render(result) for result in results)))

    each("finished by itself", lambda r: "yes" if r.finished else "NO (timeout)")
    each("wall time (s)", lambda r: f"{r.wall_seconds:.2f}")
    each("API calls (incl. token)", lambda r: str(r.api_calls))
    each(f"rolling-window ideal at {rate}/min (s)", lambda r: f"{r.window_ideal_seconds:.1f}")
    each("wall / rolling-window ideal", lambda r: _ratio(r.wall_over_window_ideal))
    each("steady pace = calls / rate (s)", lambda r: f"{r.steady_pace_seconds:.2f}")
    each("wall / steady pace", lambda r: f"{r.wall_seconds / r.steady_pace_seconds:.3f}")
    if raw_wall is not None:
        each("wall / raw sender's wall", lambda r: _ratio(r.wall_seconds / raw_wall))
    each("most admitted in a 60 s window", lambda r: str(r.most_in_a_window))
    each("429s", lambda r: str(r.throttled))
    each("synced / skipped", lambda r: f"{r.synced} / {r.skipped}")
    each("lost", lambda r: str(r.lost))
    each("events with >1 final entry", lambda r: str(r.more_than_one_final))
    each("duplicate profiles in the list", lambda r: str(r.duplicates))
    each(
        "missing from the list / wrong status",
        lambda r: f"{r.missing_from_list} / {r.wrong_status}",
    )
    each("add + lookup calls", lambda r: str(r.add_and_lookup_calls))
    each("repeated calls (same add body, lookups)", lambda r: str(r.repeated_calls))
    each("kills", lambda r: str(len(r.kills)))
    each("store round trips per event", lambda r: f"{r.store_round_trips / r.events:.3f}")
    each("Redis commands per event", lambda r: f"{r.redis_commands / r.events:.3f}")
    each(
        "delay p50 / p95 / max (s)",
        lambda r: f"{r.delay_p50:.1f} / {r.delay_p95:.1f} / {r.delay_max:.1f}",
    )
    print_rows(rows)
    for result in results:
        print(f"\n{result.phase}: calls by kind {result.calls_by_kind}")
        print(f"{result.phase}: attempts by reason {result.attempts_by_reason}")
        if result.lost_by_reason:
            print(f"{result.phase}: lost by reason {result.lost_by_reason}")
        for error in result.worker_errors:
            print(f"{result.phase}: a worker's stderr:\n{error}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0].replace("\n", " "),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=2000, help="events in the burst")
    parser.add_argument("--rate", type=int, default=3000, help="requests per rolling minute")
    parser.add_argument("--workers", type=int, default=4, help="worker processes of the fleet")
    parser.add_argument(
        "--batch", type=int, default=20, help="people whose due jobs a worker claims at once"
    )
    parser.add_argument("--kills", type=int, default=2, help="workers killed in the faults phase")
    parser.add_argument(
        "--lease", type=float, default=10.0, help="seconds a claim holds without renewal"
    )
    parser.add_argument("--seed", type=int, default=42, help="the burst's and the kills' seed")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-worker phase")
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per phase (default: 3 x pace + 120)"
    )
    parser.add_argument(
        "--compare-raw",
        action="store_true",
        help="also post as many plain adds as the fleet made calls, back to back from one"
        " process, under the same rolling window (burst.py's raw sender): the physical limit",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON result file")
    args = parser.parse_args(argv)
    if min(args.events, args.workers, args.batch) < 1 or args.rate < 2 or args.kills < 0:
        parser.error("events, workers and batch are positive, kills not negative, rate >= 2")

    started = machine()
    workload = make_workload(args.events, seed=args.seed)
    timeout = args.timeout or 3 * 60.0 * args.events * 1.1 / args.rate + 120.0
    options = Options(args.rate, args.batch, args.lease, timeout, args.kills, args.seed)
    print(
        f"{args.events} events {workload.type_counts()}, cases {workload.case_counts()};"
        f" rate {args.rate}/min; {args.workers} workers, batches of {args.batch}",
        flush=True,
    )
    servers = Servers()
    results: list[PhaseResult] = []
    try:
        print("PostgreSQL and Redis started on 127.0.0.1", flush=True)
        phases = [("fleet", args.workers, 0), ("faults", args.workers, args.kills)]
        if not args.no_baseline:
            phases.insert(0, ("baseline", 1, 0))
        for number, (name, workers, kills) in enumerate(phases):
            print(f"{name}: {workers} worker(s), {kills} kill(s)", flush=True)
            results.append(
                run_phase(
                    name, number, servers, workload, workers=workers, kills=kills, options=options
                )
            )
            print(f"{name}: done in {results[-1].wall_seconds:.2f} s", flush=True)
    finally:
        servers.stop()
        print("PostgreSQL and Redis stopped", flush=True)

    fleet = next(r for r in results if r.phase == "fleet")
    raw = None
    if args.compare_raw:
        # The same number of requests as the fleet's (its token aside), with no plugin, no
        # queue and no store: what the emulator and the window allow at best.
        adds = fleet.api_calls - 1
        raw = run_raw(
            Workload(workload.events[:adds], workload.cases[:adds], elsewhere_emails=[]),
            rate=args.rate,
            timeout=timeout,
        )
        print(f"raw sender: {raw.api_calls} requests in {raw.wall_seconds:.2f} s", flush=True)
    print()
    print_table(results, args.rate, raw.wall_seconds if raw else None)
    faults = next(r for r in results if r.phase == "faults")
    more = faults.add_and_lookup_calls - fleet.add_and_lookup_calls
    repeated = faults.repeated_calls - fleet.repeated_calls
    bound = args.events + len(workload.elsewhere_emails) + len(faults.kills)
    kills = len(faults.kills)
    summary = {
        "repeated_calls": repeated,
        "repeated_calls_per_kill": round(repeated / kills, 3) if kills else None,
        "add_lookup_calls_more_than_fleet": more,
        "faults_add_lookup_bound": bound,
        "faults_within_bound": faults.add_and_lookup_calls <= bound,
    }
    print(
        f"\nfaults: {faults.add_and_lookup_calls} add/lookup calls against the fleet's"
        f" {fleet.add_and_lookup_calls} for the same workload ({more:+d}); repeated calls"
        f" {faults.repeated_calls} against the fleet's {fleet.repeated_calls}: {repeated} over"
        f" {kills} kill(s); bound events + elsewhere + kills = {bound}"
    )
    name = f"fleet-rate{args.rate}-events{args.events}-workers{args.workers}"
    out = args.out or BENCHMARKS / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": " ".join([".venv/bin/python", "benchmarks/fleet.py", *sys.argv[1:]]),
        "machine": started,
        "parameters": {
            **{
                key: str(value) if isinstance(value, Path) else value
                for key, value in vars(args).items()
                if key != "out"
            },
            "timeout": timeout,
        },
        "workload": {
            "types": workload.type_counts(),
            "cases": workload.case_counts(),
            "elsewhere": len(workload.elsewhere_emails),
        },
        "results": [result.to_json() for result in results],
        "faults": summary,
        "raw_sender": None if raw is None else raw.to_json(),
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {out.relative_to(REPOSITORY) if out.is_relative_to(REPOSITORY) else out}")
    ok = all(r.finished and r.lost == 0 and r.throttled == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

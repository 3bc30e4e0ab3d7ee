"""Workers as separate processes on one database: killed with SIGKILL, or two at once (on a
SQLite file and on a PostgreSQL database).

Each worker is a real ``python -c`` process that builds a ReferenceHost on the test's
database and works the queue until it is empty, printing one line per attempt. The
emulator slows every add-prospect request a little, so that kills land in the middle of a
Snov.io call as well as between attempts.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from cryptography.fernet import Fernet

from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.secrets import KEY_ENV
from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV
from fortytwomin_snov.testing import Credentials, SnovEmulator
from fortytwomin_snov.testing.clock import ManualClock
from fortytwomin_snov.testing.pytest_plugin import TEST_RATE_LIMIT
from tests.factories import booking_event

pytest_plugins = ["tests.servers"]

LOOKUP = "/v1/get-prospects-by-email"
ADD_PROSPECT = "/v1/add-prospect-to-list"
ADMIN = {"id": "usr_admin", "role": "admin"}
EVENTS = 60
"""Enough that the killed workers leave jobs for the next one to print lines about, even on a
busy machine, where a worker gets through several batches before the test reads its line."""
BATCH = 5
"""Jobs a worker claims at once: a killed worker strands its batch until the lease runs
out."""

WORKER = textwrap.dedent(
    """
    import sys
    from fortytwomin_snov.host.reference import ReferenceHost

    def report(attempt):
        entry = attempt.entry
        print(host.worker_id, entry.job_id, entry.attempt, entry.status, flush=True)

    with ReferenceHost(sys.argv[1], batch_size=int(sys.argv[3])) as host:
        host.manifest()  # load the plugin before the start signal
        if sys.argv[2] == "wait":
            sys.stdin.readline()
        host.work(until_empty=True, poll_interval=0.05, on_progress=report)
    """
)


class Worker:
    """A worker process and the lines it printed so far."""

    def __init__(self, database: HostDB, emulator: SnovEmulator, *, wait: bool = False) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in (KEY_ENV, "PYTEST_ADDOPTS", "COVERAGE_PROCESS_START")
        }
        env.update(database.environ)
        env[BASE_URL_ENV] = emulator.base_url
        env[RATE_LIMIT_ENV] = str(TEST_RATE_LIMIT)
        self.errors = database.folder / f"worker-{time.monotonic_ns()}.err"
        with self.errors.open("w") as errors:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    str(database.location),
                    "wait" if wait else "go",
                    str(BATCH),
                ],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,))
        self._reader.start()

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        with stream:
            for line in stream:
                self.lines.put(line)
        self.lines.put(None)

    def start(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def next_line(self, timeout: float = 20.0) -> str | None:
        """The next line printed; None once the process has ended."""
        return self.lines.get(timeout=timeout)

    def kill(self) -> bool:
        """SIGKILL; True if the process was still running."""
        running = self.process.poll() is None
        if running:
            self.process.send_signal(signal.SIGKILL)
        self.finish()
        return running

    def finish(self, timeout: float = 30.0) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout)
        if self.process.stdin is not None:
            self.process.stdin.close()
        return code

    def stderr(self) -> str:
        return self.errors.read_text()


class FaultsTaken:
    """Counts the emulator's delayed requests as they arrive (the call is then in flight)."""

    def __init__(self, emulator: SnovEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._changed = threading.Condition()
        take_fault = emulator.state.take_fault

        def counting(path: str) -> Any:
            fault = take_fault(path)
            if fault is not None:
                with self._changed:
                    self.count += 1
                    self._changed.notify_all()
            return fault

        monkeypatch.setattr(emulator.state, "take_fault", counting)

    def wait_for(self, count: int, timeout: float = 20.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.count >= count, timeout=timeout)


@pytest.fixture
def account(snov_emulator: SnovEmulator) -> Credentials:
    return snov_emulator.add_account()


@pytest.fixture
def target_list(snov_emulator: SnovEmulator, account: Credentials) -> int:
    return snov_emulator.state.add_list(account.client_id, "42min bookings").id


@dataclass(frozen=True)
class HostDB:
    """Where the workers' database is, the environment its hosts need, a folder for logs."""

    location: str | Path
    environ: dict[str, str]
    folder: Path


@pytest.fixture(params=["sqlite"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, account: Credentials, target_list: int
) -> HostDB:
    """A database connected to the emulated account, with settings and EVENTS jobs queued:
    a SQLite file, or (parametrized indirectly) a PostgreSQL database, whose key comes from
    the environment."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        made = HostDB(url, {KEY_ENV: Fernet.generate_key().decode()}, tmp_path)
    else:
        made = HostDB(tmp_path / "host.db", {}, tmp_path)
    with ReferenceHost(made.location, environ=made.environ) as host:
        host.connect({"api_user_id": account.client_id, "api_secret": account.client_secret}, ADMIN)
        host.save_settings({"target_list_id": target_list})
        host.enqueue_many(
            [booking_event(n, f"person{n}@example.com", name=f"Person {n}") for n in range(EVENTS)]
        )
    return made


def add_requests(emulator: SnovEmulator) -> list[Any]:
    return emulator.state.requests(path=ADD_PROSPECT)


def assert_every_event_synced_once(
    host: ReferenceHost, emulator: SnovEmulator, account: Credentials, target_list: int
) -> None:
    assert host.job_counts() == {
        "queued": 0,
        "running": 0,
        "done": EVENTS,
        "parked": 0,
        "failed": 0,
    }
    log = host.sync_log(limit=None)
    final = Counter(entry.job_id for entry in log if entry.status in ("synced", "skipped"))
    assert sorted(final) == [job.id for job in host.jobs()]
    assert set(final.values()) == {1}, "a job has more than one final log entry"
    attempts = Counter((entry.job_id, entry.attempt) for entry in log)
    assert set(attempts.values()) == {1}, "one attempt was logged twice"
    emails = Counter(
        prospect.email
        for prospect in emulator.state.prospects(account.client_id, list_id=target_list)
    )
    assert emails == Counter(f"person{number}@example.com" for number in range(EVENTS))


def test_workers_killed_at_random_points_lose_no_job_and_repeat_at_most_one_call_each(
    database: HostDB,
    snov_emulator: SnovEmulator,
    account: Credentials,
    target_list: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = random.randrange(2**32)
    print(f"random seed {seed}")
    rng = random.Random(seed)
    faults = FaultsTaken(snov_emulator, monkeypatch)
    snov_emulator.state.delay_next(0.05, count=10 * EVENTS, path=ADD_PROSPECT)
    kills: list[str] = []
    for _ in range(4):
        worker = Worker(database, snov_emulator)
        how = rng.choice(["during a Snov.io call", "after an attempt", "at a random moment"])
        if how == "during a Snov.io call":
            faults.wait_for(faults.count + rng.randint(1, 3))
        elif how == "after an attempt":
            for _ in range(rng.randint(1, 3)):
                worker.next_line()
        else:
            worker.next_line()
            # The kill lands wherever the worker is after a random moment of work.
            with pytest.raises(subprocess.TimeoutExpired):
                worker.process.wait(timeout=rng.uniform(0.0, 0.15))
        if worker.kill():
            kills.append(how)
        else:
            pytest.fail(f"the worker ended before it was killed: {worker.stderr()}")
    print(f"killed {kills}")
    snov_emulator.state.clear_faults()

    # The restarted worker: its clock jumps past the leases the dead workers left.
    clock = ManualClock(time.time())
    with ReferenceHost(
        database.location, clock=clock, sleep=clock.sleep, environ=database.environ
    ) as host:
        host.work(until_empty=True)
        assert_every_event_synced_once(host, snov_emulator, account, target_list)

    # Each kill repeats at most one call of the sync that was under way: the retry goes
    # on from the step the dead attempt had noted (a lookup instead of a second add when
    # the add may have landed).
    requests = add_requests(snov_emulator) + snov_emulator.state.requests(path=LOOKUP)
    print(f"{len(requests)} add-prospect and lookup requests for {EVENTS} events")
    assert len(requests) <= EVENTS + len(kills), f"seed {seed}"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_two_workers_on_one_database_never_run_a_job_twice(
    database: HostDB, snov_emulator: SnovEmulator, account: Credentials, target_list: int
) -> None:
    snov_emulator.state.delay_next(0.02, count=EVENTS, path=ADD_PROSPECT)
    workers = [Worker(database, snov_emulator, wait=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    done_by: Counter[str] = Counter()
    for worker in workers:
        assert worker.finish() == 0, worker.stderr()
        while (line := worker.next_line()) is not None:
            done_by[line.split()[0]] += 1
    assert sum(done_by.values()) == EVENTS
    assert len(done_by) == 2, f"one worker did everything: {done_by}"
    with ReferenceHost(database.location, environ=database.environ) as host:
        assert_every_event_synced_once(host, snov_emulator, account, target_list)
        assert {entry.status for entry in host.sync_log(limit=None)} == {"synced"}
    assert len(add_requests(snov_emulator)) == EVENTS

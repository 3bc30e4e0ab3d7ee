"""Throwaway servers the tests start themselves from installed binaries.

A pytest plugin module: a test module that needs a server says
``pytest_plugins = ["tests.servers"]`` and asks for the fixture.

- ``redis_server`` (session): Debian's ``redis-server`` on a free port of 127.0.0.1, with
  no persistence and its files in a temporary directory, stopped at the end of the
  session. Without the binary the tests that need it fail, saying how to install it.
- ``redis_prefix`` (function): a key prefix of the test's own, so tests never see each
  other's keys on the shared server and nothing needs flushing.
- ``postgres_server`` (session): Debian's PostgreSQL server binaries (``initdb``,
  ``pg_ctl``) on a free port of 127.0.0.1, a password required over TCP, its data in a
  temporary directory (owned by the ``postgres`` user when the tests run as root, which
  PostgreSQL refuses to run as), stopped at the end of the session. Without the binaries
  the tests that need it fail, saying how to install them.
- ``postgres_url`` (function): the URL of a new, empty database of the test's own.
- ``host_database`` (function, over both engines): where a reference host keeps its data
  (a SQLite file, or a PostgreSQL database of the test's own) and the environment its
  hosts need (on PostgreSQL the key comes from there: there is no key file).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_DEADLINE = 10.0  # seconds for redis-server to answer PING
POSTGRES_STARTUP_DEADLINE = 60  # seconds for pg_ctl to see the server accept connections
POSTGRES_USER = "fortytwomin"
POSTGRES_PASSWORD = "pg-SECRET-pass-0001"


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis(binary: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server on a free port and wait until it answers PING.

    redis-server cannot pick a free port itself, so one is chosen first; should another
    process take it meanwhile, the server exits and a new port is tried.
    """
    failures = []
    for _attempt in range(3):
        port = free_port()
        log = directory / f"redis-{port}.log"
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(directory), "--logfile", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + STARTUP_DEADLINE
        while process.poll() is None and time.monotonic() < deadline:
            if _answers_ping(port):
                return process, port
            time.sleep(0.01)  # waiting on the server, not on the test's logic
        process.kill()
        process.wait()
        failures.append(log.read_text() if log.exists() else f"no log (exit {process.returncode})")
    pytest.fail("redis-server did not start:\n" + "\n---\n".join(failures), pytrace=False)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One throwaway redis-server for the whole session."""
    binary = shutil.which("redis-server") or shutil.which("/usr/bin/redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed; the RedisStore tests need it:"
            " apt-get install redis-server (.ci/run installs it)",
            pytrace=False,
        )
    process, port = _start_redis(binary, tmp_path_factory.mktemp("redis"))
    try:
        yield RedisServer("127.0.0.1", port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"test:{uuid.uuid4().hex}:"


# ---- PostgreSQL -------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def _postgres_binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found is not None:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` as the ``postgres`` user when the tests run as root."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _hand_over(path: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _start_postgres(binaries: Path, root: Path) -> int:
    """initdb into ``root``, then start the server on a free port; the port. pg_ctl -w
    waits (within a deadline) until the server accepts connections."""
    data, sockets, password = root / "data", root / "sockets", root / "password"
    sockets.mkdir()
    password.write_text(POSTGRES_PASSWORD + "\n")
    for path in (root, sockets, password):
        _hand_over(path)
    subprocess.run(
        _as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", POSTGRES_USER,
                         f"--pwfile={password}", "--auth-host=scram-sha-256",
                         "--auth-local=trust", "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    failures = []
    for _attempt in range(3):
        port = free_port()
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                             "-l", str(root / "server.log"), "-w",
                             "-t", str(POSTGRES_STARTUP_DEADLINE), "start"]),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if started.returncode == 0:
            return port
        log = root / "server.log"
        failures.append(started.stdout + started.stderr + (log.read_text() if log.exists() else ""))
    pytest.fail("PostgreSQL did not start:\n" + "\n---\n".join(failures), pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session."""
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.fail(
            "The PostgreSQL server is not installed; the PostgreSQL tests need it:"
            " apt-get install postgresql (.ci/run installs it)",
            pytrace=False,
        )
    # Not under pytest's temporary directory: the postgres user must reach it.
    root = Path(tempfile.mkdtemp(prefix="fortytwomin-pg-"))
    try:
        port = _start_postgres(binaries, root)
        try:
            yield PostgresServer("127.0.0.1", port, POSTGRES_USER, POSTGRES_PASSWORD)
        finally:
            subprocess.run(
                _as_server_user([str(binaries / "pg_ctl"), "-D", str(root / "data"), "-m",
                                 "immediate", "-w", "stop"]),
                capture_output=True, check=False,
            )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database no other test uses."""
    import psycopg

    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # a fixed pattern, no input
    return postgres_server.url(name)


@dataclass(frozen=True)
class HostDatabase:
    location: str | Path
    environ: dict[str, str]


HOST_KEY = "dGVzdC1rZXktb2YtdGhlLXRlc3RzLTMyLWJ5dGVzISE="  # a Fernet key, for tests only


@pytest.fixture(params=["sqlite", "postgresql"])
def host_database(request: pytest.FixtureRequest, tmp_path: Path) -> HostDatabase:
    """A reference host's database on each engine, and the environment its hosts need."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return HostDatabase(url, {"FORTYTWOMIN_SNOV_KEY": HOST_KEY})
    return HostDatabase(tmp_path / "host.db", {})

"""Throwaway servers the tests start themselves from installed binaries.

A pytest plugin module: a test module that needs a server says
``pytest_plugins = ["tests.servers"]`` and asks for the fixture.

- ``redis_server`` (session): Debian's ``redis-server`` on a free port of 127.0.0.1, with
  no persistence and its files in a temporary directory, stopped at the end of the
  session. Without the binary the tests that need it fail, saying how to install it.
- ``redis_prefix`` (function): a key prefix of the test's own, so tests never see each
  other's keys on the shared server and nothing needs flushing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_DEADLINE = 10.0  # seconds for redis-server to answer PING


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

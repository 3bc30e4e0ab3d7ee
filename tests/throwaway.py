"""Throwaway Redis and PostgreSQL servers started from installed binaries, on 127.0.0.1.

No pytest here: ``tests/servers.py`` (the fixtures) and ``benchmarks/fleet.py`` both start
their servers with these functions. A server that cannot start raises :class:`ServerError`
with what its log said.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STARTUP_DEADLINE = 10.0  # seconds for redis-server to answer PING
POSTGRES_STARTUP_DEADLINE = 60  # seconds for pg_ctl to see the server accept connections
POSTGRES_USER = "fortytwomin"


class ServerError(RuntimeError):
    """A server is not installed, or did not start."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ---- Redis --------------------------------------------------------------------------------


def redis_binary() -> str:
    binary = shutil.which("redis-server") or shutil.which("/usr/bin/redis-server")
    if binary is None:
        raise ServerError(
            "redis-server is not installed: apt-get install redis-server (.ci/run installs it)"
        )
    return binary


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(binary: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
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
            time.sleep(0.01)  # waiting on the server
        process.kill()
        process.wait()
        failures.append(log.read_text() if log.exists() else f"no log (exit {process.returncode})")
    raise ServerError("redis-server did not start:\n" + "\n---\n".join(failures))


def stop_redis(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ---- PostgreSQL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def postgres_binaries() -> Path:
    found = shutil.which("pg_ctl")
    if found is not None:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not versions:
        raise ServerError(
            "The PostgreSQL server is not installed: apt-get install postgresql"
            " (.ci/run installs it)"
        )
    return Path(versions[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` as the ``postgres`` user when running as root (PostgreSQL refuses root)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _hand_over(path: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def start_postgres(binaries: Path, root: Path, password: str) -> int:
    """initdb into ``root`` (a folder the ``postgres`` user can reach when running as root),
    then start the server on a free port of 127.0.0.1, a password required over TCP; the
    port. pg_ctl -w waits (within a deadline) until the server accepts connections."""
    data, sockets, password_file = root / "data", root / "sockets", root / "password"
    sockets.mkdir()
    password_file.write_text(password + "\n")
    for path in (root, sockets, password_file):
        _hand_over(path)
    initdb = subprocess.run(
        _as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", POSTGRES_USER,
                         f"--pwfile={password_file}", "--auth-host=scram-sha-256",
                         "--auth-local=trust", "-E", "UTF8", "--no-sync"]),
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    if initdb.returncode != 0:
        raise ServerError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")
    password_file.unlink()
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
    raise ServerError("PostgreSQL did not start:\n" + "\n---\n".join(failures))


def stop_postgres(binaries: Path, root: Path) -> None:
    subprocess.run(
        _as_server_user([str(binaries / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate",
                         "-w", "stop"]),
        capture_output=True, check=False,
    )  # fmt: skip

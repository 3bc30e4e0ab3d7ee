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

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.throwaway import (
    POSTGRES_USER,
    PostgresServer,
    ServerError,
    free_port,
    postgres_binaries,
    redis_binary,
    start_postgres,
    start_redis,
    stop_postgres,
    stop_redis,
)

POSTGRES_PASSWORD = "pg-SECRET-pass-0001"

__all__ = [
    "HOST_KEY",
    "HostDatabase",
    "PostgresServer",
    "RedisServer",
    "free_port",
    "host_database",
    "postgres_server",
    "postgres_url",
    "redis_prefix",
    "redis_server",
]


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One throwaway redis-server for the whole session."""
    try:
        process, port = start_redis(redis_binary(), tmp_path_factory.mktemp("redis"))
    except ServerError as error:
        pytest.fail(f"{error} (the RedisStore tests need it)", pytrace=False)
    try:
        yield RedisServer("127.0.0.1", port)
    finally:
        stop_redis(process)


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses."""
    return f"test:{uuid.uuid4().hex}:"


# ---- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole session."""
    try:
        binaries = postgres_binaries()
    except ServerError as error:
        pytest.fail(f"{error} (the PostgreSQL tests need it)", pytrace=False)
    # Not under pytest's temporary directory: the postgres user must reach it.
    root = Path(tempfile.mkdtemp(prefix="fortytwomin-pg-"))
    try:
        try:
            port = start_postgres(binaries, root, POSTGRES_PASSWORD)
        except ServerError as error:
            pytest.fail(str(error), pytrace=False)
        try:
            yield PostgresServer("127.0.0.1", port, POSTGRES_USER, POSTGRES_PASSWORD)
        finally:
            stop_postgres(binaries, root)
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

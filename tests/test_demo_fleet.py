"""The demo on the fleet setup: ``fortytwomin-snov demo --db postgresql://... --store
redis://...``, one run in a subprocess against the throwaway servers of ``tests/servers.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import redis
from cryptography.fernet import Fernet

from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.secrets import KEY_ENV
from fortytwomin_snov.stores.redis import DEFAULT_PREFIX

if TYPE_CHECKING:
    from tests.servers import RedisServer

pytest_plugins = ["tests.servers"]

COMMAND = [sys.executable, "-m", "fortytwomin_snov.host.cli"]
REDIS_DATABASE = 5
"""A Redis database no other test uses: the demo's keys have the default prefix."""


def test_the_demo_runs_on_postgresql_with_a_redis_store(
    postgres_url: str, redis_server: RedisServer
) -> None:
    store = f"redis://{redis_server.host}:{redis_server.port}/{REDIS_DATABASE}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("FORTYTWOMIN_")}
    key = Fernet.generate_key().decode()
    env[KEY_ENV] = key  # on PostgreSQL the key comes from the environment alone
    password = urlsplit(postgres_url).password
    assert password

    result = subprocess.run(
        [*COMMAND, "demo", "--db", postgres_url, "--store", store],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert password not in out + result.stderr
    assert "Shared store: RedisStore" in out
    assert f"the key in ${KEY_ENV}" in out
    log = out[out.index("Sync log (oldest first)") :]
    for reason in ("prospect_added", "status_updated", "duplicate_event", "stale_event"):
        assert reason in log
    prospects = out[out.index('The prospects now in "42min demo bookings"') :]
    rows = {line.split()[0]: line for line in prospects.splitlines()[1:] if "@" in line}
    assert "Meeting rescheduled" in rows["jane.doe@example.com"]
    assert "Meeting canceled" in rows["alex.kim@example.net"]

    # The jobs and the log are in the PostgreSQL database; the plugin's marks in Redis.
    with ReferenceHost(postgres_url, environ={KEY_ENV: key}) as host:
        counts = host.job_counts()
        assert counts["queued"] == counts["running"] == 0
        assert counts["done"] > 0
        assert len(host.sync_log(limit=None)) == 15
    client = redis.Redis(host=redis_server.host, port=redis_server.port, db=REDIS_DATABASE)
    try:
        assert any(client.scan_iter(match=f"{DEFAULT_PREFIX}*", count=100))
    finally:
        client.close()

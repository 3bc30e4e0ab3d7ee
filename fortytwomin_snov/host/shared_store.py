"""Which shared store (``host.store``) the reference host lends the plugins: ``--store``.

- ``database`` (the default): the host's own database. A SQLite file holds the store in
  its ``kv`` table (:class:`~fortytwomin_snov.stores.SqliteStore`); a PostgreSQL database
  too (:class:`~fortytwomin_snov.stores.postgres.PostgresStore`), so a host on PostgreSQL
  needs no other server.
- ``redis://...`` (``rediss://``, ``unix://``): a Redis server
  (:class:`~fortytwomin_snov.stores.redis.RedisStore`), with the ``redis`` extra.

The optional drivers are imported only when asked for.
"""

from __future__ import annotations

import time
from pathlib import Path

from fortytwomin_snov.contract.store import Clock, Store
from fortytwomin_snov.host.database import is_postgres_url
from fortytwomin_snov.host.errors import HostError
from fortytwomin_snov.stores import SqliteStore

STORE_ENV = "FORTYTWOMIN_SNOV_STORE"
DATABASE_STORE = "database"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_store(
    choice: str | None,
    database: str | Path,
    *,
    clock: Clock = time.time,
    busy_timeout: float = 30.0,
) -> Store:
    """The store ``choice`` names (None or ``database``: the one in ``database``)."""
    wanted = (choice or DATABASE_STORE).strip()
    if wanted.startswith(REDIS_SCHEMES):
        try:
            from fortytwomin_snov.stores.redis import RedisStore
        except ImportError:
            raise HostError(
                "A Redis store needs redis-py: pip install 'fortytwomin-snov[redis]'"
            ) from None
        return RedisStore.from_url(wanted)
    if wanted != DATABASE_STORE:
        raise HostError(
            f"The shared store is {DATABASE_STORE!r} (the host's database) or a redis:// URL,"
            " not what was given"
        )
    if is_postgres_url(database):
        try:
            from fortytwomin_snov.stores.postgres import PostgresStore
        except ImportError:
            raise HostError(
                "A PostgreSQL database needs psycopg: pip install 'fortytwomin-snov[postgres]'"
            ) from None
        return PostgresStore.from_url(str(database), clock=clock, statement_timeout=busy_timeout)
    return SqliteStore(database, clock=clock, busy_timeout=busy_timeout)

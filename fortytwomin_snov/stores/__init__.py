"""Shared implementations of the contract's :class:`~fortytwomin_snov.contract.store.Store`.

They depend on the contract alone, so any host (the reference one or a real 42min host)
can lend one to every installed integration.

- :class:`SqliteStore` (here): one SQLite file, shared by the processes of one machine;
- :class:`~fortytwomin_snov.stores.redis.RedisStore`: one Redis server, shared by several
  machines. It needs the ``redis`` extra, so it is imported from its own module
  (``from fortytwomin_snov.stores.redis import RedisStore``), never from here.
"""

from fortytwomin_snov.stores.sqlite import SqliteStore, enable_wal

__all__ = ["SqliteStore", "enable_wal"]

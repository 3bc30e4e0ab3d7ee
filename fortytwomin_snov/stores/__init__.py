"""Shared implementations of the contract's :class:`~fortytwomin_snov.contract.store.Store`.

They depend on the contract alone, so any host (the reference one or a real 42min host)
can lend one to every installed integration.
"""

from fortytwomin_snov.stores.sqlite import SqliteStore, enable_wal

__all__ = ["SqliteStore", "enable_wal"]

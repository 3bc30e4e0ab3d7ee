"""How a host finds integration plugins: a PluginManager with the contract, loaded from
entry points (the real discovery path, never a direct import)."""

from __future__ import annotations

import pluggy

from fortytwomin_snov.contract import hookspecs


def load_plugin_manager() -> pluggy.PluginManager:
    """A PluginManager with the contract and every installed ``fortytwomin`` plugin."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    manager.check_pending()
    return manager

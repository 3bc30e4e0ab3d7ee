"""Shared fixtures: the plugin loaded the way a host loads it."""

from __future__ import annotations

import pluggy
import pytest

from fortytwomin_snov.host import hookspecs


@pytest.fixture
def plugin_manager() -> pluggy.PluginManager:
    """A real PluginManager with the contract, the plugin found through its entry point."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    loaded = manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME, name="snov")
    assert loaded == 1, "the fortytwomin/snov entry point was not found: is the package installed?"
    manager.check_pending()
    return manager


@pytest.fixture
def hook(plugin_manager: pluggy.PluginManager) -> pluggy.HookRelay:
    return plugin_manager.hook

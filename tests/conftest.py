"""Shared fixtures: the plugin loaded the way a host loads it."""

from __future__ import annotations

from collections.abc import Iterator

import pluggy
import pytest
import stamina

from fortytwomin_snov.contract import hookspecs
from fortytwomin_snov.testing.clock import ManualClock


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


@pytest.fixture(autouse=True)
def _clients_pace_to_a_raised_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients made inside hooks pace to this limit instead of Snov.io's 60 a minute.

    Hook tests are about behaviour, not pacing, and must never sleep; the limiter's own
    tests drive it with a fake clock and explicit limits.
    """
    monkeypatch.setenv("FORTYTWOMIN_SNOV_RATE_LIMIT", "100000")


@pytest.fixture(autouse=True)
def _retries_without_backoff() -> Iterator[None]:
    """stamina retries as configured, but never sleeps between attempts."""
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def clock() -> ManualClock:
    """A wall clock that moves only when a test (or a sleep through it) moves it."""
    return ManualClock()

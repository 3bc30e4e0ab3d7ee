"""pytest plugin: the ``snov_emulator`` fixture, a running Snov.io emulator per test.

Registered through the ``pytest11`` entry point, so pytest loads it in every project that
installs this package: it imports nothing heavy until a test asks for the fixture.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .clock import ManualClock

if TYPE_CHECKING:
    from .options import EmulatorOptions
    from .records import Credentials
    from .server import EmulatorServer
    from .state import EmulatorState

TEST_RATE_LIMIT = 10_000
"""The rate limit tests start with: high, so only a test about the limit meets it."""


class SnovEmulator:
    """What the ``snov_emulator`` fixture gives: the running emulator, with fresh state."""

    def __init__(self, server: EmulatorServer, clock: ManualClock) -> None:
        self.server = server
        self.clock = clock
        """The emulator's clock for this test: it moves only on ``clock.advance(seconds)``."""

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def state(self) -> EmulatorState:
        """Seed, inspect and inject faults here (see :class:`EmulatorState`)."""
        return self.server.state

    def add_account(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        balance: str = "25000.00",
    ) -> Credentials:
        """A new account; credentials not given are generated."""
        return self.state.add_account(client_id, client_secret, balance=balance)

    def configure(self, **changes: Any) -> EmulatorOptions:
        """Change the emulator's options for this test (see :class:`EmulatorOptions`)."""
        return self.state.configure(**changes)

    def set_rate_limit(self, limit: int | None, *, window: float = 60.0) -> None:
        """Requests per ``window`` seconds per account (None: unlimited).

        Only the emulator's limit changes: the plugin's clients keep pacing themselves to
        ``FORTYTWOMIN_SNOV_RATE_LIMIT`` (high in tests), so a low limit here is met as a
        host sharing the account with another client would meet it: with 429s.
        """
        self.state.configure(rate_limit=limit, rate_window=window)

    def __repr__(self) -> str:
        return f"SnovEmulator({self.base_url})"


@pytest.fixture(scope="session")
def snov_emulator_server() -> Iterator[EmulatorServer]:
    """The emulator's server, started once per session; prefer ``snov_emulator``."""
    try:
        from .options import EmulatorOptions
        from .server import EmulatorServer
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "snov_emulator needs the emulator extra: pip install 'fortytwomin-snov[emulator]'"
        ) from error
    with EmulatorServer(options=EmulatorOptions(rate_limit=TEST_RATE_LIMIT)) as server:
        yield server


@pytest.fixture
def snov_emulator(
    snov_emulator_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SnovEmulator]:
    """A running Snov.io emulator with empty state, its clock frozen until advanced.

    ``FORTYTWOMIN_SNOV_API_BASE`` points at it for the test. Seed with
    ``snov_emulator.add_account()`` and ``snov_emulator.state``; the rate limit starts high
    (``snov_emulator.set_rate_limit(60)`` restores Snov.io's).
    """
    # Here, not at the top: the plugin's package loads the Snov.io client and its dependencies.
    from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV

    clock = ManualClock(time.time())
    snov_emulator_server.state.reset(clock=clock)
    monkeypatch.setenv(BASE_URL_ENV, snov_emulator_server.base_url)
    # The plugin's own limiter paces to the emulator's limit, as it would to Snov.io's.
    monkeypatch.setenv(RATE_LIMIT_ENV, str(TEST_RATE_LIMIT))
    yield SnovEmulator(snov_emulator_server, clock)
    # Pending faults or seeded data must not outlive the test.
    snov_emulator_server.state.reset()

"""The emulator's notion of time: any callable returning seconds, so tests never sleep."""

from __future__ import annotations

import threading
from collections.abc import Callable

Clock = Callable[[], float]
"""Returns the current time in seconds since the epoch (``time.time`` by default)."""


class ManualClock:
    """A clock that moves only when told to. Safe to read and advance from any thread.

    Hand it to the Snov.io client as both ``clock`` and ``sleep=clock.sleep``: a sleep
    moves the clock on at once and is recorded in ``slept``, so nothing really waits.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    @property
    def now(self) -> float:
        return self()

    @now.setter
    def now(self, moment: float) -> None:
        with self._lock:
            self._now = moment

    def sleep(self, seconds: float) -> None:
        """Pretend to sleep: record ``seconds`` and move the clock on by them."""
        self.advance(seconds)
        self.slept.append(seconds)

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._now += seconds
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self():.3f})"

"""Helpers for testing code that uses riprap: a fake clock, event capture.

These are public API, kept as stable as the rest.
"""

from __future__ import annotations

import threading
from typing import TypeVar

from riprap.observe import Event

E = TypeVar("E", bound=Event)

__all__ = ["EventLog", "FakeClock"]


class FakeClock:
    """A clock that jumps instead of sleeping, and never goes backwards.

    `sleep` and `asleep` advance it by the asked amount at once and record the wait in
    `sleeps`, so a test asserts the exact waits a policy chose.
    """

    def __init__(self, *, start: float = 1_000.0, wall_start: float = 1_750_000_000.0) -> None:
        """Start at `start` monotonic seconds, and `wall_start` epoch seconds."""
        self._now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current fake monotonic time."""
        return self._now

    def wall(self) -> float:
        """The current fake epoch time; moves with `now`."""
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`; refuses to go backwards."""
        if seconds < 0:
            raise ValueError(f"FakeClock.advance: {seconds!r} would move time backwards")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the wait and jump past it."""
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        """Record the wait and jump past it, without suspending."""
        self.sleep(seconds)


class EventLog:
    """A hook that keeps every event, for assertions: `wrap(client, hooks=[log])`."""

    def __init__(self) -> None:
        """Start empty."""
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        """Keep `event`."""
        with self._lock:
            self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        """The kept events of one class, in order."""
        return [e for e in self.events if isinstance(e, kind)]

"""Time, injected: every layer reads the clock and sleeps through a `Clock`.

`SystemClock` is the real one; `riprap.testing.FakeClock` jumps instead of sleeping, so
tests of waits and deadlines are exact and instant.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of time that can also wait."""

    def now(self) -> float:
        """Monotonic seconds: deadlines and latencies are measured on this."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch: for HTTP-date headers and event timestamps."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the thread for `seconds`."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the task for `seconds`."""
        ...


class SystemClock:
    """The machine's clocks; async sleeps go through anyio, so trio works as well."""

    def now(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def wall(self) -> float:
        """`time.time()`."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """`time.sleep`."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """`anyio.sleep` (anyio comes with both SDKs' async clients)."""
        import anyio  # noqa: PLC0415 - only async callers pay for the import

        await anyio.sleep(seconds)

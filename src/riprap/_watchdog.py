"""Stall detection for streams: one daemon thread that cuts streams gone silent.

A socket read timeout is fixed when a response body starts, so it cannot be both the
time-to-first-token limit and the (usually shorter) limit on silence between events.
The watchdog enforces whichever applies: each open stream holds a `Watch` whose
`expires` it pushes forward on every event (a float store, no lock, no heap work); the
thread sleeps until the earliest expiry, re-checks, and on a real expiry shuts the
stream's socket down, so the blocked read (sync or async) ends at once with EOF. The
stream then reports the stall as a timeout.

Time here is the machine's monotonic clock, like socket timeouts: this is I/O, not a
decision.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any


class Watch:
    """One stream's stall limit. Set `expires` (monotonic seconds) to move it."""

    __slots__ = ("_socket", "cancelled", "expires", "fired")

    def __init__(self, expires: float, sock: socket.socket | None) -> None:
        self.expires = expires
        self._socket = sock
        self.cancelled = False
        #: Set when the watchdog cut the stream: its next error is a stall, not a reset.
        self.fired = False

    def cancel(self) -> None:
        """Stop watching (the stream ended or failed on its own)."""
        self.cancelled = True

    def _fire(self) -> None:
        self.fired = True
        if self._socket is not None:
            # shutdown, not close: close does not wake a read blocked in another thread.
            # OSError: its owner closed it already, so there is nothing left to cut.
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """The thread that fires expired watches. One per process, started on first use."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, expires: float, sock: socket.socket | None) -> Watch:
        """Start watching a stream whose socket is `sock`, first due at `expires`."""
        entry = Watch(expires, sock)
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="riprap-stream-watchdog", daemon=True
                )
                self._thread.start()
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (expires, next(self._order), entry))
            if earliest is None or expires < earliest:
                self._wake.notify()
        return entry

    def _run(self) -> None:
        with self._wake:
            while True:
                if not self._heap:
                    self._wake.wait()
                    continue
                due, _, entry = self._heap[0]
                now = time.monotonic()
                if due > now:
                    self._wake.wait(due - now)
                    continue
                heapq.heappop(self._heap)
                if entry.cancelled:
                    continue
                if entry.expires > now:  # the stream moved on since: look again later
                    heapq.heappush(self._heap, (entry.expires, next(self._order), entry))
                    continue
                entry._fire()  # noqa: SLF001 - the watchdog owns firing


#: The process's watchdog.
WATCHDOG = Watchdog()


def socket_of(response: Any) -> socket.socket | None:
    """The socket under an httpx2 response, when the transport exposes it."""
    stream = getattr(response, "extensions", {}).get("network_stream")
    get = getattr(stream, "get_extra_info", None)
    sock = get("socket") if get is not None else None
    return sock if isinstance(sock, socket.socket) else None

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
import math
import socket
import threading
import time
from typing import Any


class Watch:
    """One stream's stall limit: `move` it on every event, `pause` it while the caller holds one."""

    __slots__ = ("_dog", "_socket", "cancelled", "expires", "fired", "scheduled")

    def __init__(self, dog: Watchdog, expires: float, sock: socket.socket | None) -> None:
        self._dog = dog
        self.expires = expires
        #: The earliest time the watchdog will look at this watch (under the dog's lock).
        self.scheduled = expires
        self._socket = sock
        self.cancelled = False
        #: Set when the watchdog cut the stream: its next error is a stall, not a reset.
        self.fired = False

    def move(self, expires: float) -> None:
        """Set the limit; a limit earlier than the watchdog expects wakes it."""
        self.expires = expires
        if expires < self.scheduled:  # rare: the first token came, or a pause ended late
            self._dog.reschedule(self)

    def pause(self) -> None:
        """The caller holds an event: its own time is not the stream's silence."""
        self.expires = math.inf

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
        entry = Watch(self, expires, sock)
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

    def reschedule(self, entry: Watch) -> None:
        """Look at `entry` again by its (earlier) `expires`."""
        with self._wake:
            due = entry.expires
            if due >= entry.scheduled:
                return
            entry.scheduled = due
            heapq.heappush(self._heap, (due, next(self._order), entry))
            if self._heap[0][2] is entry:
                self._wake.notify()

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
                if entry.cancelled or due > entry.scheduled:
                    continue  # finished, or a stale entry of a watch moved earlier since
                if entry.expires > now:  # the stream moved on since: look again later
                    entry.scheduled = entry.expires
                    if entry.expires != math.inf:  # a paused watch waits for `move`
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

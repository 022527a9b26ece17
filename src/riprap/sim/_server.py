"""The simulator: an asyncio HTTP/1.1 server on loopback, running in its own thread."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self

from riprap.sim._connection import Connection
from riprap.sim._outage import Outage, check_outages, outage_reply
from riprap.sim._ratelimit import RateLimiting
from riprap.sim._script import Reply, Scenario
from riprap.sim._stream import stream_response
from riprap.sim._text import prefill_problem
from riprap.sim._wire import Provider, render, request_id, route

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

    from riprap.sim._sse import StreamBody

_LOOPBACK: Final = "127.0.0.1"
_LOOPBACK_NAMES: Final = frozenset({_LOOPBACK, "localhost"})
# asyncio's default listen backlog is 100; a burst of hundreds of fresh connections from an
# async client would overflow it and stall on SYN retransmits (a full second each).
_BACKLOG: Final = 2048
_SHUTDOWN_TIMEOUT: Final = 5.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the simulator received, and what it decided to do with it.

    Attributes:
        method: HTTP method.
        path: Request path, without the query string.
        query: Query string, without the ``?`` ("" if none).
        headers: Request headers, names lowercased; repeated headers joined by ", ".
        body: The JSON-decoded body, or None if empty or not JSON.
        raw_body: The body bytes as received.
        time: When the request was complete, by the simulator's clock.
        index: 0-based sequence number since start or the last ``reset()``.
        provider: Which API the request addressed, if recognisable.
        request_id: The request id the response carries (header and Anthropic error body).
        reply: What the simulator did: the scripted reply or the scenario's decision.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: object
    raw_body: bytes
    time: float
    index: int
    provider: Provider | None
    request_id: str
    reply: Reply


class Simulator:
    """A fault-injecting fake of the Anthropic and OpenAI HTTP APIs on 127.0.0.1.

    Point the real SDK clients at it (``base_url=sim.base_url`` for Anthropic,
    ``sim.base_url + "/v1"`` for OpenAI). Each request takes the next scripted reply if any,
    otherwise the scenario decides; everything is recorded. All methods are thread-safe.
    """

    def __init__(
        self,
        *,
        host: str = _LOOPBACK,
        port: int = 0,
        scenario: Scenario | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        outages: Iterable[Outage] = (),
        max_records: int | None = None,
    ) -> None:
        """Configure the simulator; it listens only once started.

        Args:
            host: Must be loopback ("127.0.0.1" or "localhost"): a fault injector has no
                business listening on a real interface.
            port: TCP port; 0 picks a free one.
            scenario: Decides requests with no scripted reply; default always succeeds.
            outages: Windows of time in which a model fails (see ``Outage``), timed from
                the first request after start or reset(); they take precedence over the
                scenario, not over scripted replies.
            clock: Timestamps recorded requests and feeds the scenario's decision; the
                rate-limit buckets (``Scenario.rate_limits``) refill by it.
            wall_clock: Epoch seconds, for the RFC 3339 times of Anthropic's rate-limit
                ``reset`` headers.
            max_records: Keep only the latest this many recorded requests (``requests``);
                None keeps all. A long-running simulator (``riprap sim``) sets it so its
                memory stays bounded; indices still count every request.
        """
        if host not in _LOOPBACK_NAMES:
            raise ValueError(f"host must be loopback ('127.0.0.1' or 'localhost'), got {host!r}")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:  # noqa: PLR2004
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        if scenario is not None and not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        self._port = port
        self._clock = clock
        self._wall_clock = wall_clock
        self._rate_limiting = RateLimiting()
        self._lock = threading.Lock()
        self._queue: collections.deque[Reply] = collections.deque()
        if max_records is not None and (
            not isinstance(max_records, int) or isinstance(max_records, bool) or max_records < 1
        ):
            raise ValueError(f"max_records must be None or an int >= 1, got {max_records!r}")
        self._records: collections.deque[RecordedRequest] = collections.deque(maxlen=max_records)
        self._count = 0
        self._scenario = scenario or Scenario()
        self._outages = check_outages(outages)
        # Outage time: 0 at the first request after start or reset() (read lazily, so the
        # clock is only ever read for requests).
        self._origin: float | None = None
        self._lifecycle = threading.Lock()  # serialises start() and close()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._connections: set[Connection] = set()
        self._drained: asyncio.Event | None = None
        self._accepting = False

    # -- public API ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the requested one until first started)."""
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; stays valid after close() for connection-refused tests."""
        if self._port == 0:
            raise RuntimeError("Simulator has not been started: call start() or use `with`")
        return f"http://{_LOOPBACK}:{self._port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None

    @property
    def open_connections(self) -> int:
        """Client connections currently open (keep-alive shows as connections staying open)."""
        return len(self._connections)

    @property
    def scenario(self) -> Scenario:
        """The scenario deciding requests that have no scripted reply."""
        with self._lock:
            return self._scenario

    @scenario.setter
    def scenario(self, scenario: Scenario) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        with self._lock:
            self._scenario = scenario

    @property
    def outages(self) -> tuple[Outage, ...]:
        """The outage windows, timed from the first request after start or reset()."""
        with self._lock:
            return self._outages

    @outages.setter
    def outages(self, outages: Iterable[Outage]) -> None:
        checked = check_outages(outages)
        with self._lock:
            self._outages = checked

    @property
    def elapsed(self) -> float:
        """Outage time: seconds since the first request after start or reset() (0 before)."""
        with self._lock:
            return 0.0 if self._origin is None else self._clock() - self._origin

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Snapshot of the requests received since start or the last reset()."""
        with self._lock:
            return tuple(self._records)

    @property
    def pending(self) -> int:
        """Number of scripted replies not yet consumed."""
        with self._lock:
            return len(self._queue)

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request (either provider) consumes the oldest one."""
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"script() takes Reply objects, got {type(reply).__name__}")
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget scripted replies and recorded requests; indices and outage time restart at 0."""
        with self._lock:
            self._queue.clear()
            self._records.clear()
            self._count = 0
            self._rate_limiting.clear()
            self._origin = None

    def start(self) -> None:
        """Bind, start the server thread, and return once it is accepting connections."""
        with self._lifecycle:
            if self._thread is not None:
                raise RuntimeError("Simulator is already running")
            sock = socket.create_server((_LOOPBACK, self._port), backlog=_BACKLOG)
            sock.setblocking(False)  # noqa: FBT003 -- stdlib signature
            self._port = sock.getsockname()[1]
            ready = threading.Event()
            failure: list[BaseException] = []
            thread = threading.Thread(
                target=self._run,
                args=(sock, ready, failure),
                name=f"riprap-sim:{self._port}",
                daemon=True,
            )
            thread.start()
            ready.wait()
            if failure:
                thread.join()
                raise failure[0]
            self._thread = thread

    def close(self) -> None:
        """Stop serving: drop every connection (hung ones too) and join the thread."""
        with self._lifecycle:
            thread, loop, stop = self._thread, self._loop, self._stop
            if thread is None or loop is None or stop is None:
                return
            with contextlib.suppress(RuntimeError):  # the loop may already have ended
                loop.call_soon_threadsafe(stop.set)
            thread.join()
            self._thread = self._loop = self._stop = None

    def __enter__(self) -> Self:
        """Start and return the simulator."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the simulator."""
        self.close()

    async def __aenter__(self) -> Self:
        """Start and return the simulator (startup takes milliseconds, so it blocks)."""
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the simulator."""
        self.close()

    def __repr__(self) -> str:
        """Show the address and state."""
        state = f"port={self._port}" if self.running else "stopped"
        with self._lock:
            return f"<Simulator {state} requests={len(self._records)} pending={len(self._queue)}>"

    # -- loop thread -----------------------------------------------------------------------

    def _run(
        self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]
    ) -> None:
        try:
            asyncio.run(self._serve(sock, ready))
        except BaseException as exc:  # noqa: BLE001 -- handed to the thread that called start()
            failure.append(exc)
            ready.set()

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: Connection(self._admit, self._track, self._untrack),
                sock=sock,
                backlog=_BACKLOG,
            )
        except BaseException:
            sock.close()
            raise
        self._loop, self._stop, self._drained = loop, asyncio.Event(), asyncio.Event()
        self._accepting = True
        ready.set()
        try:
            await self._stop.wait()
        finally:
            self._accepting = False
            server.close()
            for connection in list(self._connections):
                connection.abort()
            if self._connections:
                # abort() reports connection_lost on a later loop turn; closing the loop first
                # would leak the sockets as ResourceWarnings.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._drained.wait(), _SHUTDOWN_TIMEOUT)
            await server.wait_closed()

    def _track(self, connection: Connection) -> bool:
        if not self._accepting:
            return False
        self._connections.add(connection)
        return True

    def _untrack(self, connection: Connection) -> None:
        self._connections.discard(connection)
        if not self._connections and not self._accepting and self._drained is not None:
            self._drained.set()

    def _outage(self, index: int, now: float, body: object) -> Reply | None:
        """The reply of an outage hitting this request, if any (called holding the lock)."""
        since = now - (now if self._origin is None else self._origin)
        return outage_reply(self._outages, index=index, since=since, body=body)

    def _admit(
        self, method: str, target: str, headers: dict[str, str], raw_body: bytes
    ) -> tuple[Reply, int, list[tuple[str, str]], bytes | StreamBody]:
        """Record a complete request, decide its reply and render it (loop thread)."""
        path, _, query = target.partition("?")
        provider, kind = route(method, path, headers)
        body: object = None
        malformed = False
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                malformed = True
        now = self._clock()
        with self._lock:
            index = self._count
            self._count += 1
            self._origin = now if self._origin is None else self._origin  # starts with traffic
            # Requests no real endpoint would accept never consume a scripted reply, so a
            # stray call cannot shift every later reply in a test's script.
            if kind == "unknown":
                reply = Reply(status=404, message=f"Invalid URL ({method} {path})")
            elif malformed:
                reply = Reply(status=400, message="Request body is not valid JSON.")
            elif kind == "messages" and (problem := prefill_problem(body)) is not None:
                reply = Reply(status=400, message=problem)
            elif self._queue:
                reply = self._queue.popleft()
            else:
                reply = self._outage(index, now, body) or self._rate_limiting.decide(
                    self._scenario,
                    provider=provider,
                    route=kind,
                    body=body,
                    index=index,
                    now=now,
                    now_wall=self._wall_clock(),
                )
            record = RecordedRequest(
                method=method,
                path=path,
                query=query,
                headers=headers,
                body=body,
                raw_body=raw_body,
                time=now,
                index=index,
                provider=provider,
                request_id=request_id(index),
                reply=reply,
            )
            self._records.append(record)
        if not reply.sends_response:
            return reply, reply.status, [], b""
        status, response_headers, payload = render(reply, provider, kind, index, body)
        streamed = stream_response(reply, kind, index, body, response_headers)
        if streamed is not None:
            response_headers, stream = streamed
            return reply, status, response_headers, stream
        return reply, status, response_headers, payload

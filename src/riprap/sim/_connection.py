"""One server-side HTTP/1.1 connection: h11 framing, keep-alive and injected failures."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, TypeAlias

import h11

from riprap.sim._sse import StreamBody
from riprap.sim._stream import StreamWriter

if TYPE_CHECKING:
    from collections.abc import Iterable

    from riprap.sim._script import Reply

Admit: TypeAlias = Callable[
    [str, str, dict[str, str], bytes],
    tuple["Reply", int, list[tuple[str, str]], bytes | StreamBody],
]
"""Records a complete request (method, target, headers, body) and returns its reply,
rendered: (reply, status, headers, body bytes or a streamed body)."""

_REASONS: Final = {s.value: s.phrase.encode() for s in HTTPStatus} | {529: b"Overloaded"}
_BODYLESS: Final = frozenset({204, 304})
_HANG: Final = object()  # marks a connection whose request will never be answered


def _header_dict(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:  # h11 has already lowercased the names
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class Connection(asyncio.Protocol):
    """One client connection: h11 framing, keep-alive, and the reply's failure modes.

    Everything is callbacks on the loop thread (timers for delays, no tasks), so a plain
    success is answered synchronously inside ``data_received`` and shutdown leaves nothing
    pending to warn about.
    """

    def __init__(
        self,
        admit: Admit,
        track: Callable[[Connection], bool],
        untrack: Callable[[Connection], None],
    ) -> None:
        self._admit = admit
        self._track = track
        self._untrack = untrack
        self._h11 = h11.Connection(h11.SERVER)
        self._transport: asyncio.Transport | None = None
        self._request: h11.Request | None = None
        self._chunks: list[bytes] = []
        self._pending: object = None  # a TimerHandle, _HANG, a StreamWriter, or None when idle

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection, or drop it if the simulator is shutting down."""
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 -- create_server gives one
        self._transport = transport
        if not self._track(self):
            transport.abort()

    def data_received(self, data: bytes) -> None:
        """Feed h11 and answer whatever request is now complete."""
        self._h11.receive_data(data)
        self._pump()

    def eof_received(self) -> bool:
        """Client closed its side: a hung or delayed reply has nobody left to go to."""
        self._cancel_pending()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        """Free the pending reply (if any) and unregister."""
        del exc
        self._cancel_pending()
        self._untrack(self)

    def abort(self) -> None:
        """Drop the connection at once (server shutdown)."""
        self._cancel_pending()
        if self._transport is not None:
            self._transport.abort()

    def _cancel_pending(self) -> None:
        pending, self._pending = self._pending, None
        if isinstance(pending, asyncio.TimerHandle | StreamWriter):
            pending.cancel()

    def _pump(self) -> None:
        transport = self._transport
        while self._pending is None and transport is not None and not transport.is_closing():
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError:
                self._reject()
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self._request, self._chunks = event, []
            elif isinstance(event, h11.Data):
                self._chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self._dispatch()
                if not self._h11.trailing_data[0]:
                    return  # the usual case: nothing buffered, skip a parse attempt
            elif isinstance(event, h11.ConnectionClosed):
                transport.close()

    def _dispatch(self) -> None:
        request = self._request
        assert request is not None  # noqa: S101 -- h11 orders Request before EndOfMessage
        method = request.method.decode("ascii")
        reply, status, headers, payload = self._admit(
            method,
            request.target.decode("ascii"),
            _header_dict(request.headers),
            b"".join(self._chunks),
        )
        self._request, self._chunks = None, []
        if method == "HEAD" or status in _BODYLESS:
            payload = b""
        if reply.hang:
            self._pending = _HANG
        elif reply.delay > 0:
            loop = asyncio.get_running_loop()
            self._pending = loop.call_later(
                reply.delay, self._deliver_later, reply, status, headers, payload
            )
        else:
            self._deliver(reply, status, headers, payload)

    def _deliver_later(
        self, reply: Reply, status: int, headers: list[tuple[str, str]], payload: bytes | StreamBody
    ) -> None:
        self._pending = None
        self._deliver(reply, status, headers, payload)
        self._pump()  # a pipelining client may have sent the next request already

    def _deliver(
        self, reply: Reply, status: int, headers: list[tuple[str, str]], payload: bytes | StreamBody
    ) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if reply.disconnect == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # Linger on with a zero timeout turns close() into an RST instead of a FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            return
        if reply.disconnect == "close":
            transport.close()
            return
        if isinstance(payload, StreamBody):
            self._stream(status, headers, payload)
            return
        headers.append(("content-length", str(len(payload))))
        reason = _REASONS.get(status, b"")
        data = self._h11.send(h11.Response(status_code=status, headers=headers, reason=reason))
        if payload:
            data = (data or b"") + (self._h11.send(h11.Data(data=payload)) or b"")
        data = (data or b"") + (self._h11.send(h11.EndOfMessage()) or b"")
        transport.write(data)
        if self._h11.our_state is h11.MUST_CLOSE:
            transport.close()
        else:
            self._h11.start_next_cycle()

    def _stream(self, status: int, headers: list[tuple[str, str]], body: StreamBody) -> None:
        # No Content-Length: h11 frames the body as chunked for an HTTP/1.1 client.
        transport = self._transport
        assert transport is not None  # noqa: S101 -- _deliver checked it
        head = self._h11.send(
            h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))
        )
        writer = StreamWriter(transport, self._h11, body, self._stream_done)
        self._pending = writer  # set first: a body with no waits is done inside start()
        writer.start(head or b"")

    def _stream_done(self) -> None:
        transport = self._transport
        self._pending = None
        if transport is None or transport.is_closing():
            return
        if self._h11.our_state is h11.MUST_CLOSE:
            transport.close()
            return
        self._h11.start_next_cycle()
        self._pump()  # a pipelining client may have sent the next request already

    def _reject(self) -> None:
        transport = self._transport
        assert transport is not None  # noqa: S101 -- only called while connected
        if self._h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            body = b'{"error":{"message":"malformed HTTP request","type":"invalid_request_error"}}'
            headers = [("content-length", str(len(body))), ("connection", "close")]
            response = h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
            transport.write(
                b"".join(self._h11.send(e) or b"" for e in (response, h11.Data(data=body)))
            )
        transport.close()

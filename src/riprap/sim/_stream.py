"""Streamed responses: which requests get one, what it carries, and writing it on the loop.

A request streams when its JSON body has ``"stream": true`` on a generating route and its
reply is a success with the default body. Error replies are never streamed: the providers
answer a request that fails before generation starts with a plain JSON error, and the SDKs
raise from it before any event. A reply's ``stream_*`` fields only affect streamed
responses; a non-streaming request with the same reply gets the plain success body.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Final

import h11

from riprap.sim._sse import StreamBody, anthropic_events, openai_events, schedule
from riprap.sim._text import pieces
from riprap.sim._wire import (
    _ANTHROPIC_ERRORS,
    _EPOCH,
    _completion,
    _int_field,
    _model,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from riprap.sim._script import Reply
    from riprap.sim._sse import Step
    from riprap.sim._wire import Route

EVENT_STREAM: Final = "text/event-stream; charset=utf-8"
# What each provider sends mid-stream when nothing more specific applies: Anthropic's
# documented mid-stream error is overloaded_error; OpenAI's streams fail with server_error.
_ANTHROPIC_STREAM_ERROR: Final = "overloaded_error"
_OPENAI_STREAM_ERROR: Final = (
    "server_error",
    "The server had an error while processing your request.",
)
# Anthropic's message for an error type: the first status that uses the type.
_ANTHROPIC_MESSAGES: Final = dict(reversed(list(_ANTHROPIC_ERRORS.values())))


def is_stream_request(route_: Route, body: object) -> bool:
    """Whether the request asks for a streamed reply on a route that generates text."""
    return route_ in {"messages", "chat"} and isinstance(body, dict) and body.get("stream") is True


def _anthropic_error(reply: Reply) -> dict[str, object]:
    kind = reply.error_type or _ANTHROPIC_STREAM_ERROR
    error: dict[str, object] = {
        "type": kind,
        "message": reply.message or _ANTHROPIC_MESSAGES.get(kind, "Internal server error."),
    }
    if reply.error_code is not None:
        error["details"] = {"error_code": reply.error_code}
    return error


def _openai_error(reply: Reply) -> dict[str, object]:
    kind, message = _OPENAI_STREAM_ERROR
    return {
        "message": reply.message or message,
        "type": reply.error_type or kind,
        "param": None,
        "code": reply.error_code,
    }


def _body(reply: Reply, route_: Route, index: int, body: dict[str, object]) -> StreamBody:
    if route_ == "messages":
        text, truncated, tokens_in, tokens_out = _completion(
            reply, body, _int_field(body, "max_tokens"), prefill=True
        )
        events = anthropic_events(
            message_id=f"msg_sim_{index:06d}",
            model=_model(body, "claude-sim-1"),
            deltas=pieces(text),
            truncated=truncated,
            usage=(tokens_in, tokens_out),
            error=_anthropic_error(reply),
        )
    else:
        limit = _int_field(body, "max_completion_tokens", "max_tokens")
        text, truncated, tokens_in, tokens_out = _completion(reply, body, limit)
        options = body.get("stream_options")
        wants_usage = isinstance(options, dict) and options.get("include_usage") is True
        events = openai_events(
            chunk_id=f"chatcmpl-sim{index:06d}",
            created=_EPOCH + index,
            model=_model(body, "gpt-sim-1"),
            deltas=pieces(text),
            truncated=truncated,
            usage=(tokens_in, tokens_out) if wants_usage else None,
            error=_openai_error(reply),
        )
    return schedule(reply, events)


def stream_response(
    reply: Reply,
    route_: Route,
    index: int,
    body: object,
    headers: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], StreamBody] | None:
    """The headers and streamed body that replace a rendered reply, or None if not streamed.

    ``headers`` are the rendered reply's; only the content type changes, unless the reply
    set one itself.
    """
    if (
        reply.is_error
        or not reply.sends_response
        or reply.encoded_body is not None
        or not is_stream_request(route_, body)
    ):
        return None
    assert isinstance(body, dict)  # noqa: S101 -- is_stream_request checked it
    if reply.content_type is None and "content-type" not in reply.headers:
        headers = [(k, EVENT_STREAM if k == "content-type" else v) for k, v in headers]
    return headers, _body(reply, route_, index, body)


class StreamWriter:
    """Writes one streamed body on the loop: each step on a timer, then its ending.

    No task, no busy work: a step with no wait is written at once, a waiting one is a
    ``call_later``. ``done`` runs once the body is complete (not after a cut or a hang).
    """

    def __init__(
        self,
        transport: asyncio.Transport,
        connection: h11.Connection,
        body: StreamBody,
        done: Callable[[], None],
    ) -> None:
        self._transport = transport
        self._h11 = connection
        self._steps: Iterator[Step] = iter(body.steps)
        self._end = body.end
        self._done = done
        self._timer: asyncio.TimerHandle | None = None

    def start(self, head: bytes) -> None:
        """Write the response head and every step that needs no wait."""
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            # Accepted sockets miss asyncio's TCP_NODELAY (it checks proto == IPPROTO_TCP, and
            # theirs is 0). Without it each paced event waits for the client's delayed ACK of
            # the one before: 40 ms per event on Linux.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._advance(None, head)

    def cancel(self) -> None:
        """Stop writing: the client has gone or the server is shutting down."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._steps = iter(())
        self._end = "hang"

    def _advance(self, due: Step | None, head: bytes = b"") -> None:
        self._timer = None
        transport = self._transport
        if transport.is_closing():
            return
        out = [] if due is None else [due.data]
        for step in self._steps:
            if step.wait > 0:
                self._write(out, head)
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(step.wait, self._advance, step)
                return
            out.append(step.data)
        if self._end == "finish":
            self._write(out, head, finish=True)
            self._done()
            return
        self._write(out, head)
        if self._end == "cut":
            transport.close()  # written events are flushed first; the terminating chunk never is

    def _write(self, chunks: list[bytes], head: bytes = b"", *, finish: bool = False) -> None:
        # One write per burst: the head, the events due now and the ending go out together.
        data = b"".join(chunks)
        out = [head]
        if data:
            out.append(self._h11.send(h11.Data(data=data)) or b"")
        if finish:
            out.append(self._h11.send(h11.EndOfMessage()) or b"")
        framed = b"".join(out)
        if framed:
            self._transport.write(framed)

"""Streams that survive: retried before output, resumed after it, cut when they stall.

`StreamState` holds what a stream call knows (the text the caller has, which structural
events it saw, the usage of every attempt) and decides, through the call's `CallState`
and the provider's codec, what each event and each failure means. `Stream` and
`AsyncStream` are the shells the caller iterates: they open, read, sleep and loop.

What the caller sees is one stream. A failure before any event reached it is retried
like a plain call. After that, an Anthropic text stream is resumed: the request is sent
again with the text so far as the start of the assistant turn, the repeated preamble is
dropped and only the continuation is passed on; the final `message_delta` reports usage
summed over the attempts. Where that cannot work (OpenAI, tool use, thinking) the stream
raises `StreamInterruptedError` with the partial text. A stream that ends without its
proper end marker is a failure too, never a short success.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from typing import TYPE_CHECKING, Any, Self

from riprap._limit import areserve, reserve
from riprap._loop import aallow, allow, atell, tell
from riprap._report import Usage
from riprap._watchdog import WATCHDOG, socket_of
from riprap.errors import StreamInterruptedError, StreamStalledError
from riprap.validate import default_rules

if TYPE_CHECKING:
    from collections.abc import (
        AsyncGenerator,
        AsyncIterator,
        Awaitable,
        Callable,
        Generator,
        Iterator,
    )

    from riprap._call import CallState
    from riprap._watchdog import Watch
    from riprap.providers._streams import StreamCodec

_NO_USAGE = Usage(0, 0)


def _rejects_prefill(call: CallState) -> bool:
    """Whether the model refuses the prefilled assistant turn that resuming needs.

    Claude 4.6 and later do: their streams are retried before output, and interrupted
    (with the partial text) after it.
    """
    if call.model is None:
        return False
    rules = call.engine.outer.rules or default_rules()
    info = rules.registry.find(call.model)
    return info is not None and "prefill" in info.unsupported


class StreamState:
    """Everything one stream call knows, and what each event and failure means."""

    def __init__(self, call: CallState, codec: StreamCodec, kwargs: dict[str, Any]) -> None:
        """Start with nothing delivered."""
        self.call = call
        self.codec = codec
        self.kwargs = kwargs
        self.text = ""  # what reached the caller
        #: Whether anything past the preamble (which a new attempt repeats) reached the caller.
        self.delivered = False
        self.resumable = codec.resumable and not _rejects_prefill(call)
        self._seen: set[tuple[str, int]] = set()
        self._skip = ""  # whitespace the caller has that the continuation will repeat
        self._usage = _NO_USAGE  # this attempt's
        self._terminal = False
        self._watch: Watch | None = None
        self._flowing = False
        self._deltas = 0  # text events passed on, over every attempt
        self._request_id: str | None = None

    # -- attempts ---------------------------------------------------------------------

    def attempt_kwargs(self) -> dict[str, Any]:
        """The arguments of the next attempt: the request, or its resumption."""
        kwargs = self.kwargs
        if self.text:
            kwargs = self.codec.resume_kwargs(kwargs, self.text, self._deltas)
            self._skip = self.text[len(self.text.rstrip()) :]
        self._usage = _NO_USAGE
        self._terminal = False
        self._flowing = False  # this attempt's first token has come
        return self.call.begin(kwargs)

    def opened(self, sdk_stream: Any) -> None:
        """An attempt's stream is open: watch it for silence."""
        response = getattr(sdk_stream, "response", None)
        headers = getattr(response, "headers", None)
        if headers is not None:
            self._request_id = headers.get(self.call.engine.adapter.request_id_header)
        self._watch = WATCHDOG.watch(
            self._expiry(self.call.engine.timeouts.first_token), socket_of(response)
        )

    def _expiry(self, limit: float) -> float:
        call = self.call
        remaining = call.deadline_at - call.engine.clock.now()
        return time.monotonic() + min(limit, remaining)

    def on_event(self, event: Any) -> Any:
        """The event to pass to the caller (maybe adjusted), or `None` to drop it."""
        codec = self.codec
        self._usage = codec.usage(event, self._usage)
        if codec.blocks_resume(event):
            self.resumable = False
        if codec.is_terminal(event):
            self._terminal = True
        key = codec.key(event)
        if key is not None and key in self._seen:
            return None  # the resumed stream repeats what the caller already has
        text = codec.text(event)
        # Any output counts as the stream moving (thinking and tool input too), not only
        # text; the preamble (keyed events, OpenAI's role chunk) does not.
        self._progress(flowing=key is None)
        if text:
            kept = self._unrepeat(text)
            if not kept:
                return None
            if kept is not text:  # copying a pydantic event costs more than all the rest
                event = codec.with_text(event, kept)
            self.text += kept
            self._deltas += 1
        if self.call.usage is not None:  # earlier attempts spent tokens too
            event = codec.with_usage(event, self.call.usage + self._usage)
        if key is None:
            self.delivered = True  # output, not just the preamble a retry would repeat
        else:
            self._seen.add(key)
        return event

    def _progress(self, *, flowing: bool) -> None:
        # Until the first token the watch holds the first-token limit; from then on every
        # event pushes it forward by the silence limit.
        self._flowing = self._flowing or flowing
        if self._flowing and self._watch is not None:
            self._watch.move(self._expiry(self.call.engine.timeouts.idle))

    def holding(self) -> None:
        """The caller has the event: its time until it asks for the next is its own."""
        if self._watch is not None:
            self._watch.pause()

    def asking(self) -> None:
        """The caller asks for the next event: silence counts again."""
        if self._watch is not None:
            limit = self.call.engine.timeouts
            self._watch.move(self._expiry(limit.idle if self._flowing else limit.first_token))

    def _unrepeat(self, text: str) -> str:
        skip = self._skip
        if not skip:
            return text
        if text.startswith(skip):
            self._skip = ""
            return text[len(skip) :]
        if skip.startswith(text):
            self._skip = skip[len(text) :]
            return ""
        self._skip = ""  # the continuation did not repeat it: keep the text as sent
        return text

    def ended(self) -> None:
        """The attempt's stream ran out; raises if it never reached its proper end."""
        fired = self._stop_watching()
        if fired and not self._terminal:  # a close-delimited body ends quietly when cut
            raise StreamStalledError("the stream was silent longer than its limit")
        if not self._terminal:
            raise StreamInterruptedError(
                "the stream ended without its end marker (a proxy or gateway cut it short)",
                partial_text=self.text,
                usage=self.call.usage,
            )

    def failed(self, error: Exception) -> float | BaseException:
        """A wait before reopening, or the error to raise to the caller."""
        fired = self._stop_watching()
        if fired:
            stalled = StreamStalledError("the stream was silent longer than its limit")
            stalled.__cause__ = error
            error = stalled
        self.call.add_usage(self._usage if self._usage != _NO_USAGE else None)
        can_retry = not self.delivered or self.resumable
        outcome = self.call.failed(error, can_retry=can_retry)
        if isinstance(outcome, BaseException) and self.delivered:
            report = self.call.report
            interrupted = StreamInterruptedError(
                f"stream interrupted after {len(self.text)} characters reached the caller: "
                f"{outcome}",
                partial_text=self.text,
                usage=self.call.usage,
                kind=report.attempts[-1].kind if report and report.attempts else None,
                report=report,
            )
            interrupted.__cause__ = outcome
            return interrupted
        return outcome

    def succeeded(self) -> None:
        """The stream reached its end: close the call's books."""
        self.call.succeeded(None, request_id=self._request_id, usage=self._usage)

    def closed(self) -> None:
        """The caller stopped reading (or dropped the stream): close the books honestly.

        Having seen the end marker is a success; otherwise the call ends as cancelled,
        with the tokens this attempt already spent counted.
        """
        if not self.call.open:
            return
        self._stop_watching()
        if self._terminal:
            self.succeeded()
            return
        self.call.add_usage(self._usage if self._usage != _NO_USAGE else None)
        self.call.abandoned()

    def _stop_watching(self) -> bool:
        watch, self._watch = self._watch, None
        if watch is None:
            return False
        watch.cancel()
        return watch.fired


#: Settlements of dropped async streams, running on their loops (a task is kept alive
#: only by a reference).
_SETTLING: set[asyncio.Task[None]] = set()


def _dropped(state: StreamState, loop: asyncio.AbstractEventLoop | None) -> None:
    """A stream garbage-collected unread and unclosed: end its call, permit and breaker slot.

    Its iterator never started, so no `finally` of it will (a started one ends the call
    itself, and this finds it ended). An async stream's books are settled on its loop.
    """
    if not state.call.open:
        return
    state.closed()
    if loop is None:
        tell(state.call)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(_settle_on_loop, state.call)


def _settle_on_loop(call: CallState) -> None:
    task = asyncio.ensure_future(atell(call))
    _SETTLING.add(task)
    task.add_done_callback(_SETTLING.discard)


class Stream:
    """What `create(stream=True)` returns through riprap: iterate it like the SDK's stream."""

    def __init__(
        self, state: StreamState, open_: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        """Open the first attempt now, so errors before any event raise here, as the SDK's do."""
        self._state = state
        self._open = open_
        self._args = args
        self._current: Any = None
        try:
            self._connect()
        except BaseException:
            # Interrupted while opening (Ctrl-C): end the call, its limiter permit and
            # breaker slot here; no iterator exists yet whose `finally` would.
            state.closed()
            tell(state.call)
            raise
        self._iterator = self._events()
        weakref.finalize(self, _dropped, state, None).atexit = False

    def _connect(self) -> None:
        state = self._state
        while True:
            allow(state.call)
            try:
                reserve(state.call)
            except BaseException:
                tell(state.call)  # the breaker's probe slot goes back
                raise
            try:
                self._current = self._open(*self._args, **state.attempt_kwargs())
            except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
                outcome = state.failed(error)
                tell(state.call)
                if isinstance(outcome, BaseException):
                    raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
                state.call.engine.clock.sleep(outcome)
                continue
            state.opened(self._current)
            return

    def _events(self) -> Generator[Any]:
        state = self._state
        try:
            while True:
                try:
                    for event in self._current:
                        out = state.on_event(event)
                        if out is not None:
                            state.holding()
                            yield out
                            state.asking()
                    state.ended()
                except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
                    self._discard()
                    outcome = state.failed(error)
                    tell(state.call)
                    if isinstance(outcome, BaseException):
                        raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
                    state.call.engine.clock.sleep(outcome)
                    self._connect()
                    continue
                state.succeeded()
                tell(state.call)
                return
        finally:
            state.closed()  # closed early or dropped: the books are settled all the same
            tell(state.call)

    def _discard(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            # The connection is already broken; closing it can only fail the same way.
            with contextlib.suppress(Exception):
                current.close()

    @property
    def response(self) -> Any:
        """The HTTP response of the attempt being read."""
        return None if self._current is None else self._current.response

    def __iter__(self) -> Iterator[Any]:
        return self._iterator

    def __next__(self) -> Any:
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        self._state.closed()  # also when the iterator never started
        tell(self._state.call)
        self._discard()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncStream:
    """What `await create(stream=True)` returns through riprap: `async for` it."""

    def __init__(
        self, state: StreamState, open_: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> None:
        """Prepare; `await AsyncStream.start(...)` opens the first attempt."""
        self._state = state
        self._open = open_
        self._args = args
        self._current: Any = None
        self._iterator = self._events()

    @classmethod
    async def start(
        cls, state: StreamState, open_: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> AsyncStream:
        """Open the first attempt, so errors before any event raise here, as the SDK's do."""
        stream = cls(state, open_, args)
        try:
            await stream._connect()
        except BaseException:
            # Cancelled while opening: end the call, its limiter permit and breaker slot
            # here; the iterator has not started, so its `finally` never runs.
            state.closed()
            await atell(state.call)
            raise
        weakref.finalize(stream, _dropped, state, asyncio.get_running_loop()).atexit = False
        return stream

    async def _connect(self) -> None:
        state = self._state
        while True:
            await aallow(state.call)
            try:
                await areserve(state.call)
            except BaseException:
                await atell(state.call)  # the breaker's probe slot goes back
                raise
            try:
                self._current = await self._open(*self._args, **state.attempt_kwargs())
            except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
                outcome = state.failed(error)
                await atell(state.call)
                if isinstance(outcome, BaseException):
                    await self._finish()
                    raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
                await state.call.engine.clock.asleep(outcome)
                continue
            state.opened(self._current)
            return

    async def _events(self) -> AsyncGenerator[Any]:
        state = self._state
        try:
            while True:
                try:
                    async for event in self._current:
                        out = state.on_event(event)
                        if out is not None:
                            state.holding()
                            yield out
                            state.asking()
                    state.ended()
                except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
                    await self._discard()
                    outcome = state.failed(error)
                    await atell(state.call)
                    if isinstance(outcome, BaseException):
                        await self._finish()
                        raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
                    await state.call.engine.clock.asleep(outcome)
                    await self._connect()
                    continue
                state.succeeded()
                await atell(state.call)
                await self._finish()
                return
        finally:
            state.closed()  # closed early or dropped: the books are settled all the same
            await atell(state.call)

    async def _finish(self) -> None:
        # The call's end may have left work to await (an async budget ledger's settle).
        call = self._state.call
        finishing, call.finishing = call.finishing, None
        if finishing is not None:
            await finishing

    async def _discard(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            # The connection is already broken; closing it can only fail the same way.
            with contextlib.suppress(Exception):
                await current.close()

    @property
    def response(self) -> Any:
        """The HTTP response of the attempt being read."""
        return None if self._current is None else self._current.response

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterator

    async def __anext__(self) -> Any:
        return await self._iterator.__anext__()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._iterator.aclose()
        self._state.closed()  # also when the iterator never started
        await atell(self._state.call)
        await self._discard()
        await self._finish()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

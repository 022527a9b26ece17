"""A stream call along a fallback chain: the next target takes over before any output.

What the caller iterates is one stream. Its events come from the target that opened
(each target's own `riprap._stream.Stream`, with its retries and resumption); a target
of the other provider has its events translated to the caller's SDK types
(`riprap.translate`). Events of the preamble (`message_start`, OpenAI's role chunk) are
held back until the first output: when a target fails before any output reached the
caller, its preamble is dropped and the next target's stream takes over, so the caller
sees one answer, never two beginnings. Once output reached the caller, a failure is
raised as the target raised it: another model's continuation would not continue this
text.

The chain is one logical call (`riprap.observe._operation.Operation`): each target's end
is a `TargetEnded`, and the call's one `CallEnded` comes when the stream ends — read to
its end, failed on every target (or after output), closed early, or dropped by the
caller, even unread. Whichever of these comes first reports it; the others do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Self

if TYPE_CHECKING:
    from collections.abc import (
        AsyncGenerator,
        AsyncIterator,
        Awaitable,
        Callable,
        Generator,
        Iterator,
    )

    from riprap.observe._operation import Operation


class Translator(Protocol):
    """Turns a target's stream events into the caller's (`riprap.translate` has both)."""

    def feed(self, event: Any) -> list[Any]:
        """The caller's events for one target event."""
        ...

    def finish(self) -> list[Any]:
        """The caller's closing events, once the target's stream ended."""
        ...


@dataclass(frozen=True, slots=True)
class Opened:
    """One target's stream, open, and how its events reach the caller."""

    stream: Any
    #: `None`: the target speaks the caller's provider; events pass unchanged.
    translator: Translator | None
    #: Whether a target event is output (not preamble a next target would repeat).
    is_output: Callable[[Any], bool]


class _Relay:
    """What both shells share: the open target, the held-back preamble, what reached the caller."""

    def __init__(self, opened: Opened) -> None:
        self.opened = opened
        self.held: list[Any] = []
        #: Whether any event reached the caller: from then on the stream cannot move on.
        self.started = False
        #: Whether the caller began iterating (the iterator's code ran).
        self.reading = False

    def take(self, event: Any) -> list[Any]:
        """The caller's events for target `event`, now (or held until output comes)."""
        translator = self.opened.translator
        out = [event] if translator is None else translator.feed(event)
        if not self.started and not self.opened.is_output(event):
            self.held.extend(out)
            return []
        return self._release(out)

    def ended(self) -> list[Any]:
        """The caller's last events, once the target's stream ended."""
        translator = self.opened.translator
        return self._release([] if translator is None else translator.finish())

    def _release(self, out: list[Any]) -> list[Any]:
        if self.held:
            out, self.held = [*self.held, *out], []
        self.started = self.started or bool(out)
        return out

    def switch(self, opened: Opened) -> None:
        """The next target took over; what the failed one held back is dropped."""
        self.opened, self.held = opened, []


class ChainStream:
    """What a stream call with fallbacks returns: iterate it like the SDK's stream."""

    def __init__(
        self, opened: Opened, move_on: Callable[[Exception], Opened], operation: Operation
    ) -> None:
        """Read `opened`; `move_on(error)` opens the next target, or raises the error to give.

        `operation` is the logical call: it is reported once, when the stream ends.
        """
        self._relay = _Relay(opened)
        self._operation = operation
        # A module-level generator holds no reference back to this object, so it keeps no
        # dropped stream alive; when it is freed, it (or `_dropped`) reports the end.
        self._iterator = _read(self._relay, move_on, operation)
        self._dropped = _on_drop(self._iterator, _dropped, self._relay, operation)

    @property
    def response(self) -> Any:
        """The HTTP response of the target being read."""
        return self._relay.opened.stream.response

    def __iter__(self) -> Iterator[Any]:
        return self._iterator

    def __next__(self) -> Any:
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        _finish(self._relay, self._operation, None)  # also when the iterator never started
        self._dropped.detach()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _read(
    relay: _Relay, move_on: Callable[[Exception], Opened], operation: Operation
) -> Generator[Any]:
    """The caller's events, target after target; ends the logical call however it ends."""
    relay.reading = True
    error: BaseException | None = None
    try:
        while True:
            try:
                for event in relay.opened.stream:
                    yield from relay.take(event)
                yield from relay.ended()
            except Exception as failure:
                if relay.started:
                    raise
                _close(relay.opened.stream)
                relay.switch(move_on(failure))
                continue
            return
    except BaseException as exc:  # GeneratorExit too: closed or dropped by the caller
        error = exc
        raise
    finally:
        _finish(relay, operation, error)


def _finish(relay: _Relay, operation: Operation, error: BaseException | None) -> None:
    """The stream is over: close the target being read (it reports its end), then the call."""
    try:
        _close(relay.opened.stream)
    finally:  # interrupted while closing (KeyboardInterrupt): the call is reported all the same
        _report(operation, error)


def _report(operation: Operation, error: BaseException | None) -> None:
    if error is None or isinstance(error, GeneratorExit):
        operation.closed()  # read to its end, or closed by the caller
    else:
        operation.end(error)


def _dropped(relay: _Relay, operation: Operation) -> None:
    # An iterator that began closes itself when dropped (Python throws GeneratorExit into
    # it); one that never began runs no code, so its target and its call are closed here.
    if not relay.reading:
        _finish(relay, operation, None)


class AsyncChainStream:
    """What an async stream call with fallbacks returns: `async for` it."""

    def __init__(
        self,
        opened: Opened,
        move_on: Callable[[Exception], Awaitable[Opened]],
        operation: Operation,
    ) -> None:
        """Read `opened`; `await move_on(error)` opens the next target, or raises."""
        self._relay = _Relay(opened)
        self._operation = operation
        self._iterator = _aread(self._relay, move_on, operation)  # no cycle: see ChainStream
        self._dropped = _on_drop(self._iterator, _adropped, self._relay, operation)

    @property
    def response(self) -> Any:
        """The HTTP response of the target being read."""
        return self._relay.opened.stream.response

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterator

    async def __anext__(self) -> Any:
        return await self._iterator.__anext__()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._iterator.aclose()
        await _afinish(self._relay, self._operation, None)  # also when it never started
        self._dropped.detach()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def _aread(
    relay: _Relay, move_on: Callable[[Exception], Awaitable[Opened]], operation: Operation
) -> AsyncGenerator[Any]:
    """`_read`, async."""
    relay.reading = True
    error: BaseException | None = None
    try:
        while True:
            try:
                async for event in relay.opened.stream:
                    for out in relay.take(event):
                        yield out
                for out in relay.ended():
                    yield out
            except Exception as failure:
                if relay.started:
                    raise
                await _aclose(relay.opened.stream)
                relay.switch(await move_on(failure))
                continue
            return
    except BaseException as exc:  # GeneratorExit and CancelledError too
        error = exc
        raise
    finally:
        await _afinish(relay, operation, error)


async def _afinish(relay: _Relay, operation: Operation, error: BaseException | None) -> None:
    """`_finish`, awaited."""
    try:
        await _aclose(relay.opened.stream)
    finally:  # cancelled while closing (the loop shutting down): reported all the same
        _report(operation, error)


#: Closings scheduled for async streams dropped unread, kept until they ran.
_CLOSING: set[asyncio.Task[None]] = set()


def _adropped(relay: _Relay, operation: Operation) -> None:
    # One that began is closed by asyncio's async-generator finalizer (`aclose`, which
    # ends the call). One that never began: closing its target needs awaiting, so the
    # closing goes to the running loop; without one, the call is reported as it stands.
    if relay.reading:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        operation.closed()
        return
    task = loop.create_task(_afinish(relay, operation, None))
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)


def _on_drop(
    iterator: object,
    callback: Callable[[_Relay, Operation], None],
    relay: _Relay,
    operation: Operation,
) -> weakref.finalize[[_Relay, Operation], object]:
    """Call `callback(relay, operation)` when `iterator` is freed; never at interpreter exit."""
    finalizer = weakref.finalize(iterator, callback, relay, operation)
    finalizer.atexit = False  # an exiting interpreter reports nothing: hooks may be gone
    return finalizer


def _close(stream: Any) -> None:
    # A failed target's stream is broken already; closing it can only fail the same way.
    with contextlib.suppress(Exception):
        stream.close()


async def _aclose(stream: Any) -> None:
    with contextlib.suppress(Exception):
        closing = stream.close()
        if inspect.isawaitable(closing):
            await closing

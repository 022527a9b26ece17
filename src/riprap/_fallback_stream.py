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
"""

from __future__ import annotations

import contextlib
import inspect
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

    def __init__(self, opened: Opened, move_on: Callable[[Exception], Opened]) -> None:
        """Read `opened`; `move_on(error)` opens the next target, or raises the error to give."""
        self._relay = _Relay(opened)
        self._move_on = move_on
        self._iterator = self._events()

    def _events(self) -> Generator[Any]:
        relay = self._relay
        while True:
            try:
                for event in relay.opened.stream:
                    yield from relay.take(event)
                yield from relay.ended()
            except Exception as error:
                if relay.started:
                    raise
                _close(relay.opened.stream)
                relay.switch(self._move_on(error))
                continue
            return

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
        _close(self._relay.opened.stream)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncChainStream:
    """What an async stream call with fallbacks returns: `async for` it."""

    def __init__(self, opened: Opened, move_on: Callable[[Exception], Awaitable[Opened]]) -> None:
        """Read `opened`; `await move_on(error)` opens the next target, or raises."""
        self._relay = _Relay(opened)
        self._move_on = move_on
        self._iterator = self._events()

    async def _events(self) -> AsyncGenerator[Any]:
        relay = self._relay
        while True:
            try:
                async for event in relay.opened.stream:
                    for out in relay.take(event):
                        yield out
                for out in relay.ended():
                    yield out
            except Exception as error:
                if relay.started:
                    raise
                await _aclose(relay.opened.stream)
                relay.switch(await self._move_on(error))
                continue
            return

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
        await _aclose(self._relay.opened.stream)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _close(stream: Any) -> None:
    # A failed target's stream is broken already; closing it can only fail the same way.
    with contextlib.suppress(Exception):
        stream.close()


async def _aclose(stream: Any) -> None:
    with contextlib.suppress(Exception):
        closing = stream.close()
        if inspect.isawaitable(closing):
            await closing

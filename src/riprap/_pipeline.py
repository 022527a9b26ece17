"""One endpoint's pipeline: the layers of a call in their order, sync and async.

`Pipeline` runs, for each call: the outer layers (`_outer.Guard`: validate, fit, hold
budget), the call with its retry loop (`_call`, or `_stream` for streams), the budget
settlement, one refit when the provider says the prompt is too long, and the output
validation loop when an `Expect` is set. The sync and async methods mirror each other
line for line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riprap._call import LAST_REPORT, CallState, Engine, run_async, run_sync
from riprap._kinds import Kind
from riprap._outer import Guard
from riprap._report import Usage
from riprap._result import Result
from riprap._stream import AsyncStream, Stream, StreamState
from riprap.budget import TokenUsage
from riprap.errors import report_of
from riprap.validate import Expect, Expected, expect_async, expect_sync

if TYPE_CHECKING:
    from collections.abc import Callable

    from riprap.providers._streams import StreamCodec


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    """The layers one endpoint's calls go through."""

    engine: Engine
    method: Callable[..., Any]
    #: The no-retries SDK client the method belongs to.
    client: Any
    path: tuple[str, ...]
    #: Return a `Result` instead of raising (`riprap.results`).
    as_result: bool = False
    #: Validate the answer, re-asking on failure (`riprap.expect`).
    expect: Expect | None = None

    # -- the whole call ---------------------------------------------------------------

    def call_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call from the caller, through every layer."""
        try:
            if self.expect is not None:
                provider = self.engine.adapter.name
                got = expect_sync(
                    lambda **kw: self._fitted_sync(args, kw), kwargs, self.expect, provider=provider
                )
                return self._priced(got, kwargs)
            value = self._fitted_sync(args, kwargs)
        except Exception as error:
            if self.as_result:
                return _result_of_error(error)
            raise
        return _result_of_value(value) if self.as_result else value

    async def call_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """`call_sync`, awaited."""
        try:
            if self.expect is not None:
                provider = self.engine.adapter.name
                got = await expect_async(
                    lambda **kw: self._fitted_async(args, kw),
                    kwargs,
                    self.expect,
                    provider=provider,
                )
                return self._priced(got, kwargs)
            value = await self._fitted_async(args, kwargs)
        except Exception as error:
            if self.as_result:
                return _result_of_error(error)
            raise
        return _result_of_value(value) if self.as_result else value

    def _priced(self, got: Expected, kwargs: dict[str, Any]) -> Expected:
        tokens = got.usage
        if tokens is None:
            return got
        usage = Usage(tokens.input_tokens, tokens.output_tokens)
        model = kwargs.get("model")
        price = self.engine.outer.cost(model if isinstance(model, str) else None, usage)
        return dataclasses.replace(got, cost=price)

    # -- one request, fitted again once if the provider says it is too long -----------

    def _fitted_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return self._once_sync(args, kwargs)
        except Exception as error:
            again = self._refit(error, kwargs)
            if again is None:
                raise
            return self._once_sync(args, again)

    async def _fitted_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return await self._once_async(args, kwargs)
        except Exception as error:
            again = self._refit(error, kwargs)
            if again is None:
                raise
            return await self._once_async(args, again)

    def _refit(self, error: Exception, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        # riprap's estimate thought the prompt fit and the provider disagreed: fit it with
        # the client's context strategy, once, if it has one.
        report = report_of(error)
        if report is None or not report.attempts:
            return None
        if report.attempts[-1].kind is not Kind.CONTEXT_OVERFLOW:
            return None
        return self.engine.outer.refit(self.engine.adapter.name, kwargs)

    # -- one request through the outer layers and the retry loop ----------------------

    def _once_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        guard = Guard(self.engine.outer, self.engine.adapter.name, self.path, kwargs)
        call = CallState(self.engine, self.client, guard.kwargs)
        guard.hold()
        codec = self._stream_codec(call)
        if codec is not None:
            call.on_end = guard.settle_at_end
            return Stream(StreamState(call, codec, guard.kwargs), self.method, args)
        try:
            value = run_sync(call, self.method, args, guard.kwargs)
        except Exception:
            guard.settle(None)
            raise
        guard.settle(TokenUsage.of(value))
        return value

    async def _once_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        guard = Guard(self.engine.outer, self.engine.adapter.name, self.path, kwargs)
        call = CallState(self.engine, self.client, guard.kwargs)
        await guard.ahold()
        codec = self._stream_codec(call)
        if codec is not None:
            call.on_end = guard.settle_at_end
            return await AsyncStream.start(
                StreamState(call, codec, guard.kwargs), self.method, args
            )
        try:
            value = await run_async(call, self.method, args, guard.kwargs)
        except Exception:
            await guard.asettle(None)
            raise
        await guard.asettle(TokenUsage.of(value))
        return value

    def _stream_codec(self, call: CallState) -> StreamCodec | None:
        if not call.stream:
            return None
        if self.as_result or self.expect is not None:
            raise TypeError(
                "riprap.results(...) and riprap.expect(...) do not take stream=True: a "
                "stream's outcome is known only once it is read; iterate it and catch "
                "riprap.StreamInterruptedError"
            )
        return call.engine.adapter.stream_codec


def _result_of_value(value: Any) -> Result[Any]:
    report = LAST_REPORT.get()  # set by the call that just finished, in this same context
    if report is None:  # pragma: no cover - a successful call always ends with a report
        raise RuntimeError("riprap: a finished call left no report")
    return Result(value=value, error=None, report=report)


def _result_of_error(error: Exception) -> Result[Any]:
    report = report_of(error)
    if report is None:
        # Not an API call's outcome (a bad argument): a programming error, raised.
        raise error
    return Result(value=None, error=error, report=report)

"""One endpoint's pipeline: the layers of a call in their order, sync and async.

`Pipeline` runs, for each call: the outer layers (`_outer.Guard`: validate, fit, hold
budget), the call with its retry loop (`_call`, or `_stream` for streams), the budget
settlement, one refit when the provider says the prompt is too long, and the output
validation loop when an `Expect` is set. The sync and async methods mirror each other
line for line.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riprap._call import LAST_REPORT, CallState
from riprap._fallback import Hop, Leg, Tried, crossing
from riprap._fallback_stream import AsyncChainStream, ChainStream, Opened
from riprap._kinds import Kind
from riprap._loop import run_async, run_sync
from riprap._outer import VALIDATED, Guard
from riprap._report import Usage
from riprap._result import Result
from riprap._stream import AsyncStream, Stream, StreamState
from riprap.budget import BudgetExceededError, TokenUsage
from riprap.decide import MIN_ATTEMPT_SECONDS
from riprap.errors import report_of
from riprap.observe import FallbackUsed
from riprap.observe._operation import (
    Operation,
    Reasks,
    budget_observed,
    current_operation_id,
    joined,
)
from riprap.translate import Unsupported
from riprap.validate import (
    ContextOverflowError,
    Expect,
    Expected,
    PromptValidationError,
    default_rules,
    expect_async,
    expect_sync,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from riprap._engine import Engine
    from riprap._fallback import Crossing, Target
    from riprap._fallback_stream import Translator
    from riprap.providers._streams import StreamCodec


@dataclass(frozen=True, slots=True)
class _Step:
    """One target's call, ready to send: through which pipeline, and back how."""

    pipeline: Pipeline
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    back: Callable[[Any], Any]
    #: A new translator of the target's stream events; `None`: the caller's provider.
    events: Callable[[], Translator] | None

    def opened(self, stream: Any) -> Opened:
        """The target's open `stream`, as the chain's stream reads it."""
        codec = self.pipeline.engine.adapter.stream_codec
        assert codec is not None  # noqa: S101 - only providers with a codec open streams
        translator = None if self.events is None else self.events()
        return Opened(stream, translator, lambda event: codec.key(event) is None)


class _Walk:
    """One call's way along its chain: the target now, what failed, what was skipped."""

    def __init__(
        self,
        pipeline: Pipeline,
        hops: tuple[Hop, ...],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.pipeline = pipeline
        self.hops = hops
        self.args = args
        self.kwargs = kwargs
        self.tried = Tried(pipeline.engine.adapter.name, ".".join(pipeline.path), kwargs)
        self.leg = Leg()
        self.hop: Hop = hops[0]
        self.following: Hop | None = None
        self._steps = self._walk()

    def __iter__(self) -> Iterator[_Step]:
        """The targets to call, in order; one iterator, so a stream can resume the walk."""
        return self._steps

    def _walk(self) -> Iterator[_Step]:
        hops, pipeline = self.hops, self.pipeline
        for index, hop in enumerate(hops):
            self.hop = hop
            self.following = hops[index + 1] if index + 1 < len(hops) else None
            step = self._step(hop)
            if isinstance(step, str):
                pipeline._skipped(self.tried, hop, self.following, step)  # noqa: SLF001
                continue
            # Give up on a target early only for one that would really be called.
            later = hops[index + 1 :]
            self.leg.can_move_on = any(not isinstance(self._step(h), str) for h in later)
            yield step

    def _step(self, hop: Hop) -> _Step | str:
        return self.pipeline._step(hop, self.args, self.kwargs, self.tried, self.leg)  # noqa: SLF001

    def failed(self, error: Exception) -> None:
        """The target now failed with `error`: record it and go on, or raise."""
        self.pipeline._failed(self.tried, self.hop, self.following, error)  # noqa: SLF001


def _same(value: Any) -> Any:
    return value


#: The endpoints a fallback chain applies to: the chat endpoints of both providers.
CHAT_PATHS = frozenset().union(*VALIDATED.values())


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
    #: Fallback targets' pipelines, built on first use (id of the `Target` → route).
    routes: dict[int, tuple[Pipeline, Crossing] | Unsupported] = field(
        default_factory=dict, compare=False
    )

    # -- the whole call ---------------------------------------------------------------

    def call_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call from the caller, through every layer."""
        try:
            if self.expect is not None:
                provider = self.engine.adapter.name
                asks = Reasks(self.engine, self.expect)  # reports each re-ask
                got = expect_sync(
                    lambda **kw: self._logical_sync(args, asks(kw)),
                    kwargs,
                    self.expect,
                    provider=provider,
                )
                return self._priced(got, kwargs)
            value = self._logical_sync(args, kwargs)
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
                asks = Reasks(self.engine, self.expect)  # reports each re-ask
                got = await expect_async(
                    lambda **kw: self._logical_async(args, asks(kw)),
                    kwargs,
                    self.expect,
                    provider=provider,
                )
                return self._priced(got, kwargs)
            value = await self._logical_async(args, kwargs)
        except Exception as error:
            if self.as_result:
                return _result_of_error(error)
            raise
        return _result_of_value(value) if self.as_result else value

    def _priced(self, got: Expected, kwargs: dict[str, Any]) -> Expected:
        tokens = got.usage
        if tokens is None:
            return got
        usage = Usage(
            tokens.input_tokens,
            tokens.output_tokens,
            tokens.cache_read_tokens,
            tokens.cache_write_tokens + tokens.cache_write_1h_tokens,
        )
        model = kwargs.get("model")
        price = self.engine.outer.cost(model if isinstance(model, str) else None, usage)
        return dataclasses.replace(got, cost=price)

    # -- one logical call: a chain's targets are reported as the one call the user made --
    # (a stream's chain makes its own, ended when the stream ends: `_stream_sync`)

    def _logical_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("stream") is True or self._hops(kwargs) is None:
            return self._chained_sync(args, kwargs)
        with Operation(self.engine, kwargs) as operation:
            return operation.served(self._chained_sync(args, kwargs))

    async def _logical_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("stream") is True or self._hops(kwargs) is None:
            return await self._chained_async(args, kwargs)
        with Operation(self.engine, kwargs) as operation:
            return operation.served(await self._chained_async(args, kwargs))

    # -- the fallback chain: each target in turn, under one deadline -----------------

    def _chained_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        hops = self._hops(kwargs)
        if hops is None:
            return self._fitted_sync(args, kwargs)
        walk = _Walk(self, hops, args, kwargs)
        if kwargs.get("stream") is True:
            return self._stream_sync(walk)
        for step in walk:
            try:
                value = step.pipeline._fitted_sync(step.args, step.kwargs, walk.leg)  # noqa: SLF001
                return step.back(value)
            except Exception as error:  # noqa: BLE001 - judged by kind; what may not move on is raised
                walk.failed(error)
        value = self._out_of_targets(walk.tried)
        self._mark_degraded(walk.tried)
        return value

    async def _chained_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        hops = self._hops(kwargs)
        if hops is None:
            return await self._fitted_async(args, kwargs)
        walk = _Walk(self, hops, args, kwargs)
        if kwargs.get("stream") is True:
            return await self._stream_async(walk)
        for step in walk:
            try:
                value = await step.pipeline._fitted_async(step.args, step.kwargs, walk.leg)  # noqa: SLF001
                return step.back(value)
            except Exception as error:  # noqa: BLE001 - judged by kind; what may not move on is raised
                walk.failed(error)
        value = self._out_of_targets(walk.tried)
        if inspect.isawaitable(value):
            value = await value
        self._mark_degraded(walk.tried)
        return value

    def _open_sync(self, walk: _Walk) -> Opened:
        """The next target's stream, open; raises when no target is left."""
        for step in walk:
            try:
                stream = step.pipeline._fitted_sync(step.args, step.kwargs, walk.leg)  # noqa: SLF001
            except Exception as error:  # noqa: BLE001 - judged by kind; what may not move on is raised
                walk.failed(error)
                continue
            return step.opened(stream)
        raise walk.tried.error()  # a stream has no degraded answer: it could not be iterated

    def _stream_sync(self, walk: _Walk) -> ChainStream:
        """A stream along the chain: one logical call, reported when the stream ends."""
        operation = Operation(self.engine, walk.kwargs)

        def move_on(error: Exception) -> Opened:
            with operation.active():  # the next target's call joins the logical call
                walk.failed(error)
                return self._open_sync(walk)

        try:
            with operation.active():
                opened = self._open_sync(walk)
        except BaseException as error:
            operation.end(error)  # no stream to end it: no target opened
            raise
        return ChainStream(opened, move_on, operation)

    async def _open_async(self, walk: _Walk) -> Opened:
        """`_open_sync`, awaited."""
        for step in walk:
            try:
                stream = await step.pipeline._fitted_async(step.args, step.kwargs, walk.leg)  # noqa: SLF001
            except Exception as error:  # noqa: BLE001 - judged by kind; what may not move on is raised
                walk.failed(error)
                continue
            return step.opened(stream)
        raise walk.tried.error()

    async def _stream_async(self, walk: _Walk) -> AsyncChainStream:
        """`_stream_sync`, awaited."""
        operation = Operation(self.engine, walk.kwargs)

        async def move_on(error: Exception) -> Opened:
            with operation.active():  # the next target's call joins the logical call
                walk.failed(error)
                return await self._open_async(walk)

        try:
            with operation.active():
                opened = await self._open_async(walk)
        except BaseException as error:
            operation.end(error)  # no stream to end it: no target opened
            raise
        return AsyncChainStream(opened, move_on, operation)

    def _hops(self, kwargs: Mapping[str, Any]) -> tuple[Hop, ...] | None:
        chain = self.engine.chain
        # Only the chat endpoints fall back: another model's token count or embedding is
        # another answer. A stream has no degraded answer, so it needs a fallback target.
        if chain is None or self.path not in CHAT_PATHS:
            return None
        if kwargs.get("stream") is True and not chain.targets:
            return None
        model = kwargs.get("model")
        # `wrap` makes no chain without fallbacks or a degrade handler, so there is
        # always somewhere to go after the primary.
        return chain.hops(self.engine.adapter.name, model if isinstance(model, str) else None)

    def _step(
        self,
        hop: Hop,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        tried: Tried,
        leg: Leg,
    ) -> _Step | str:
        """How to call `hop` now, or why it is skipped."""
        if leg.deadline_at is not None:
            left = leg.deadline_at - self.engine.clock.now()
            if left < MIN_ATTEMPT_SECONDS:  # an attempt could only time out
                return f"{max(left, 0.0):.3g}s of the deadline left"
        why = tried.skip_reason(self._window(hop.model))
        if why is not None:
            return why
        if hop.target is None:
            same = kwargs if hop.model == kwargs.get("model") else {**kwargs, "model": hop.model}
            return _Step(self, args, same, _same, None)
        route = self._route(hop.target)
        if isinstance(route, Unsupported):
            return route.reason
        pipeline, cross = route
        request = cross.request(kwargs)
        if isinstance(request, Unsupported):
            return request.reason
        events = None if cross.events is None else functools.partial(cross.events, kwargs)
        return _Step(pipeline, (), request, cross.response, events)

    def _route(self, target: Target) -> tuple[Pipeline, Crossing] | Unsupported:
        route = self.routes.get(id(target))
        if route is None:
            route = self.routes[id(target)] = self._build_route(target)
        return route

    def _build_route(self, target: Target) -> tuple[Pipeline, Crossing] | Unsupported:
        from riprap.providers import adapter_for  # noqa: PLC0415 - wrap imports this module
        from riprap.wrap import _unwrap  # noqa: PLC0415 - wrap imports this module

        raw = _unwrap(target.client)
        adapter = adapter_for(raw)
        cross = crossing(self.engine.adapter.name, self.path, adapter.name, target.model)
        if isinstance(cross, Unsupported):
            return cross
        client = raw.with_options(max_retries=0)
        method = functools.reduce(getattr, cross.path, client)
        # The caller's policy, hooks, clock, budgets and breakers; the target's adapter.
        engine = dataclasses.replace(self.engine, adapter=adapter, chain=None)
        return Pipeline(engine=engine, method=method, client=client, path=cross.path), cross

    def _window(self, model: str | None) -> int | None:
        if model is None:
            return None
        info = (self.engine.outer.rules or default_rules()).registry.find(model)
        return None if info is None else info.context_window

    def _skipped(self, tried: Tried, hop: Hop, following: Hop | None, why: str) -> None:
        tried.skipped.append((hop.label, why))
        self._moved(hop, following, f"skipped: {why}", None)

    def _failed(self, tried: Tried, hop: Hop, following: Hop | None, error: Exception) -> None:
        chain = self.engine.chain
        assert chain is not None  # noqa: S101 - only a chain has hops
        if (
            tried.failures
            and isinstance(error, PromptValidationError | BudgetExceededError)
            and not isinstance(error, ContextOverflowError)  # that one goes to a larger window
        ):
            # riprap refused a fallback's request before sending it (over its output limit,
            # over budget): that target is skipped, the chain goes on.
            self._skipped(tried, hop, following, f"{type(error).__name__}: {error}")
            return
        window = self._window(hop.model)
        reason = tried.failed(error, window, on_not_found=chain.fallback_on_not_found)
        if reason is None and not tried.failures:
            raise error  # the primary's own error, exactly as without a chain
        if reason is None:
            # A later target failed in a way no fallback fixes: the caller still gets every
            # target's failure (and never a bare exception of the other provider's SDK).
            tried.failures.append(error)
            raise tried.error() from None
        self._moved(hop, following, reason, error)

    def _moved(self, hop: Hop, following: Hop | None, reason: str, error: Exception | None) -> None:
        if following is None:
            return
        report = None if error is None else report_of(error)
        engine = self.engine
        engine.emit(
            FallbackUsed(
                call_id="" if report is None else report.call_id,
                operation_id=current_operation_id() or "",
                provider=hop.label.partition(":")[0],
                model=hop.model,
                time=engine.clock.wall(),
                from_target=hop.label,
                to_target=following.label,
                reason=reason,
            )
        )

    def _out_of_targets(self, tried: Tried) -> Any:
        chain = self.engine.chain
        assert chain is not None  # noqa: S101 - only a chain has hops
        if chain.degrade is None:
            raise tried.error()
        return chain.degrade(tried.degraded())

    def _mark_degraded(self, tried: Tried) -> None:
        report = tried.last_report()
        if report is not None:
            LAST_REPORT.set(dataclasses.replace(report, degraded=True))

    # -- one request, fitted again once if the provider says it is too long -----------

    def _fitted_sync(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], leg: Leg | None = None
    ) -> Any:
        try:
            return self._once_sync(args, kwargs, leg)
        except Exception as error:
            again = self._refit(error, kwargs)
            if again is None:
                raise
            return self._once_sync(args, again, leg)

    async def _fitted_async(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], leg: Leg | None = None
    ) -> Any:
        try:
            return await self._once_async(args, kwargs, leg)
        except Exception as error:
            again = (
                await self.engine.outer.arefit(self.engine.adapter.name, kwargs, str(error))
                if self._overflowed(error)
                else None
            )
            if again is None:
                raise
            return await self._once_async(args, again, leg)

    def _refit(self, error: Exception, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        # riprap's estimate thought the prompt fit and the provider disagreed: fit it
        # tighter with the client's context strategy, once, if it has one.
        if not self._overflowed(error):
            return None
        return self.engine.outer.refit(self.engine.adapter.name, kwargs, str(error))

    @staticmethod
    def _overflowed(error: Exception) -> bool:
        report = report_of(error)
        if report is None or not report.attempts:
            return False
        return report.attempts[-1].kind is Kind.CONTEXT_OVERFLOW

    # -- one request through the outer layers and the retry loop ----------------------

    def _call_state(self, kwargs: dict[str, Any], leg: Leg | None) -> CallState:
        call = CallState(
            self.engine,
            self.client,
            kwargs,
            endpoint=".".join(self.path),
            deadline_at=None if leg is None else leg.deadline_at,
            can_move_on=leg is not None and leg.can_move_on,
            operation_id=None if leg is None else current_operation_id(),
        )
        joined(call)  # a fallback chain's target: the chain reports the logical call
        if leg is not None and leg.deadline_at is None:
            leg.deadline_at = call.deadline_at  # the primary's deadline is the chain's
        return call

    def _once_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any], leg: Leg | None) -> Any:
        guard = Guard(self.engine.outer, self.engine.adapter.name, self.path, kwargs)
        guard.hold()
        try:  # from here every way out settles the hold: success, failure, cancellation
            call = self._call_state(guard.kwargs, leg)
            budget_observed(call, guard)
            codec = self._stream_codec(call)
            if codec is not None:
                call.on_end = guard.settle_at_end  # the stream settles when it ends
                state = StreamState(call, codec, guard.kwargs)
                try:
                    return Stream(state, self.method, args)
                except BaseException:
                    state.closed()
                    raise
            value = run_sync(call, self.method, args, guard.kwargs)
        except BaseException:
            guard.settle(None)
            raise
        guard.settle(TokenUsage.of(value))
        return value

    async def _once_async(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], leg: Leg | None
    ) -> Any:
        guard = await Guard.acreate(self.engine.outer, self.engine.adapter.name, self.path, kwargs)
        await guard.ahold()
        try:  # from here every way out settles the hold: success, failure, cancellation
            call = self._call_state(guard.kwargs, leg)
            budget_observed(call, guard)
            codec = self._stream_codec(call)
            if codec is not None:
                call.on_end = guard.settle_at_end  # the stream settles when it ends
                state = StreamState(call, codec, guard.kwargs)
                try:
                    return await AsyncStream.start(state, self.method, args)
                except BaseException:
                    state.closed()
                    if call.finishing is not None:
                        await call.finishing
                    raise
            value = await run_async(call, self.method, args, guard.kwargs)
        except BaseException:
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

"""Events of the layers around the retry loop: the logical call, the budget, re-asks.

`CallState` reports one target's call. The layers outside it report here, through the
same hooks:

- `Operation` — a fallback chain is one logical call over several targets. Each target's
  `CallState` reports a `TargetEnded` (under the chain's `operation_id`); the chain
  reports the one `CallEnded` of the call the user made, summing every target, and a
  `CallDegraded` first when the `degrade` handler answered. A plain call's operation is
  a `with` block; a stream's outlives `create` and ends when the stream does.
- `budget_observed` — the budget layer's hold and settlement (`BudgetReserved`,
  `BudgetSettled`) of one target's call.
- `Reasks` — output validation asking again (`OutputReasked`).
"""

from __future__ import annotations

import contextlib
import contextvars
import secrets
from typing import TYPE_CHECKING, Any, Self

from riprap._report import Stop, Usage
from riprap.observe._content import content_fields
from riprap.observe._events import (
    BudgetReserved,
    BudgetSettled,
    CallDegraded,
    CallEnded,
    OutputReasked,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from types import TracebackType

    from riprap._call import CallState
    from riprap._engine import Engine
    from riprap._outer import Guard
    from riprap._report import CallReport
    from riprap.budget._guard import Hold
    from riprap.validate import Expect


#: The logical call being made in this context (a fallback chain's), if any.
_CURRENT: contextvars.ContextVar[Operation | None] = contextvars.ContextVar(
    "riprap_operation", default=None
)


def current_operation_id() -> str | None:
    """The id of the logical call made in this context, if a chain is running."""
    operation = _CURRENT.get()
    return None if operation is None else operation.operation_id


def joined(call: CallState) -> None:
    """Count `call` as one of the targets of the logical call made in this context."""
    operation = _CURRENT.get()
    if operation is not None and call.operation_id == operation.operation_id:
        operation.calls.append(call)


class Operation:
    """One logical call through a fallback chain: reports its end, once, as `CallEnded`.

    A context manager around the chain: while it is open, the targets' `CallState`s made
    in its context take its `operation_id` (`current_operation_id`) and join it
    (`joined`). Leaving it reports the call: failed with an exception, degraded when no
    target succeeded yet a value came back (the `degrade` handler answered), else
    served. A call that never reached a target (refused before any `CallState`, nothing
    degraded) reports nothing, as without a chain.

    A stream's chain is read after `create` returned, so its operation is not one block:
    each target opens under `active()`, and the stream calls `end` (or `closed`) when it
    ends. Whichever way comes first reports; the others do nothing.
    """

    def __init__(self, engine: Engine, kwargs: Mapping[str, Any]) -> None:
        """Start the logical call of `kwargs` through `engine`'s chain."""
        self.engine = engine
        self.operation_id = secrets.token_hex(6)
        #: Every target's call, in order (two for a target refitted once).
        self.calls: list[CallState] = []
        self._kwargs = kwargs
        self._began = engine.clock.now()
        self._value: object = None
        self._token: contextvars.Token[Operation | None] | None = None
        self._over = False

    def __enter__(self) -> Self:
        """Make this the logical call of the current context."""
        self._token = _CURRENT.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Report the call's end; never swallows the exception."""
        del exc_type, tb
        if self._token is not None:
            _CURRENT.reset(self._token)
        self.end(exc)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Make this the logical call of the current context for a while (a target opening)."""
        token = _CURRENT.set(self)
        try:
            yield
        finally:
            _CURRENT.reset(token)

    def end(self, error: BaseException | None) -> None:
        """Report the call's end (failed with `error`, if given), unless it was reported."""
        if self._over:
            return
        self._over = True  # before reporting: a hook that re-enters must not report twice
        self._ended(error)

    def closed(self) -> None:
        """The caller closed (or dropped) a stream: served if a target reached its end.

        Otherwise the call was cancelled, as a single target's stream closed early is.
        """
        served = any(c.report is not None and c.report.ok for c in self.calls)
        # GeneratorExit is what closing a stream's iterator raises in it: a cancellation.
        self.end(None if served else GeneratorExit())

    def served(self, value: Any) -> Any:
        """Note the answer the caller gets; returns it."""
        self._value = value
        return value

    def _emit(self, event: type[Any], /, **fields: Any) -> None:
        engine = self.engine
        model = self._kwargs.get("model")
        engine.emit(
            event(
                call_id=self.operation_id,
                operation_id=self.operation_id,
                provider=engine.adapter.name,
                model=model if isinstance(model, str) else None,
                time=engine.clock.wall(),
                **fields,
            )
        )

    def _ended(self, error: BaseException | None) -> None:
        reports = [c.report for c in self.calls if c.report is not None]
        served = next((r for r in reversed(reports) if r.ok), None)
        degraded = error is None and served is None
        if not reports and not degraded:
            return  # refused before any target was called: no call to report
        last = reports[-1] if reports else None
        stop: Stop | None = None
        if isinstance(error, Exception):
            stop = None if last is None else last.stop
        elif error is not None:
            stop = Stop.CANCELLED  # cancelled, or the thread interrupted
        kind = None if served is not None else _last_kind(reports)
        if degraded:
            self._emit(CallDegraded, failed=len(reports), kind=kind)
        usage = _sum_usage(reports)
        costs = [r.cost for r in reports if r.cost is not None]
        adapter = self.engine.adapter
        value = self._value if error is None else None
        self._emit(
            CallEnded,
            ok=error is None,
            attempts=sum(len(r.attempts) for r in reports),
            elapsed=self.engine.clock.now() - self._began,
            kind=kind,
            stop=stop,
            request_ids=tuple(i for r in reports for i in r.request_ids),
            input_tokens=None if usage is None else usage.prompt_tokens,
            output_tokens=None if usage is None else usage.output_tokens,
            cost=sum(costs) if costs else None,
            response_model=adapter.response_model(value),
            finish_reasons=adapter.finish_reasons(value),
            target="" if served is None else served.target,
            degraded=degraded,
            **self._content(value),
        )

    def _content(self, value: object) -> dict[str, str | None]:
        return content_fields(self._kwargs, value, self.engine.content_limit)


def _last_kind(reports: list[CallReport]) -> Any:
    for report in reversed(reports):
        if report.attempts:
            return report.attempts[-1].kind
    return None


def _sum_usage(reports: list[CallReport]) -> Usage | None:
    usages = [r.usage for r in reports if r.usage is not None]
    if not usages:
        return None
    total = Usage()
    for usage in usages:
        total += usage
    return total


def budget_observed(call: CallState, guard: Guard) -> None:
    """Report `guard`'s budget hold for `call` now, and its settlement when it comes."""
    held = guard.held
    if held is None or held.estimate is None:
        return  # no budget, or the model is unpriced: nothing was held
    estimate = held.estimate
    engine = call.engine

    def emit(event: type[Any], **fields: Any) -> None:
        engine.emit(
            event(
                call_id=call.call_id,
                operation_id=call.operation_id,
                provider=engine.adapter.name,
                model=call.model,
                time=engine.clock.wall(),
                estimate=estimate,
                **fields,
            )
        )

    def settled(hold: Hold, spent: float | None) -> None:
        del hold
        emit(BudgetSettled, spent=spent)

    emit(BudgetReserved)
    guard.on_settle = settled


class Reasks:
    """Wraps the arguments of each validated ask: reports every ask after the first."""

    def __init__(self, engine: Engine, expect: Expect) -> None:
        """Count the asks of one `riprap.expect` call."""
        self.engine = engine
        self.expect = expect
        self._asks = 0

    def __call__(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """`kwargs`, unchanged; an `OutputReasked` first if an answer already failed."""
        from riprap._call import LAST_REPORT  # noqa: PLC0415 - _call imports riprap.observe

        self._asks += 1
        if self._asks > 1:
            report = LAST_REPORT.get()  # the call whose answer failed, in this context
            model = kwargs.get("model")
            engine = self.engine
            call_id = "" if report is None else report.call_id
            engine.emit(
                OutputReasked(
                    call_id=call_id,
                    provider=engine.adapter.name,
                    model=model if isinstance(model, str) else None,
                    time=engine.clock.wall(),
                    attempt=self._asks - 1,
                    max_attempts=self.expect.max_attempts,
                )
            )
        return kwargs

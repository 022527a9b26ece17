"""One call through riprap: the state of its retry loop, and the sync and async shells.

`CallState` holds everything the loop knows and makes every decision (through the pure
`riprap.decide`); `run_sync` and `run_async` only call, sleep and loop. They read top to
bottom as the same plain `while`, so the logic exists once.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riprap._report import Attempt, CallReport, Stop, Usage
from riprap.decide import BUDGET_SPENT, GiveUp, RetryAfter, decide
from riprap.errors import (
    DeadlineExceededError,
    RetryAfterBeyondDeadlineError,
    attach_report,
    scrub,
)
from riprap.observe import AttemptEnded, AttemptStarted, CallEnded, RetryScheduled
from riprap.policy import default_deadline

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from riprap._clock import Clock
    from riprap._failure import Failure
    from riprap.decide import RetryBudgetState
    from riprap.observe import Event, Hook
    from riprap.policy import Retry, Timeouts
    from riprap.providers._base import SdkAdapter

_log = logging.getLogger("riprap")

#: The report of the last call made in this context (thread or task).
LAST_REPORT: contextvars.ContextVar[CallReport | None] = contextvars.ContextVar(
    "riprap_last_report", default=None
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    """What every call of one wrapped client shares: policy, hooks, time, budget."""

    adapter: SdkAdapter
    retry: Retry
    timeouts: Timeouts
    hooks: tuple[Hook, ...]
    clock: Clock
    random: Callable[[], float]
    budget: RetryBudgetState | None
    #: The client's credentials, removed from any provider message riprap keeps.
    secrets: tuple[str, ...]

    def emit(self, event: Event) -> None:
        """Give `event` to every hook; a failing hook is logged, never raised."""
        for hook in self.hooks:
            try:
                hook(event)
            except Exception:  # noqa: BLE001 - a broken hook must not break the user's call
                _log.exception("riprap: hook %r failed on %s", hook, event.name)


class CallState:
    """The state of one call's retry loop, and every decision made in it."""

    def __init__(self, engine: Engine, kwargs: Mapping[str, Any]) -> None:
        """Start a call: fix its deadline and attempt limit, and count it in the budget."""
        self.engine = engine
        self.call_id = secrets.token_hex(6)
        model = kwargs.get("model")
        self.model = model if isinstance(model, str) else None
        user_timeout = kwargs.get("timeout")
        # A number the caller gave for this call replaces the scaled default; an SDK
        # Timeout object is kept, but each of its parts is cut to the deadline.
        self._user_timeout: object = None
        if isinstance(user_timeout, (int, float)) and not isinstance(user_timeout, bool):
            self.attempt_limit = float(user_timeout)
        else:
            self._user_timeout = user_timeout
            self.attempt_limit = engine.timeouts.attempt_for(engine.adapter.max_tokens(kwargs))
        self.started = engine.clock.now()
        self.deadline = default_deadline(engine.retry, self.attempt_limit)
        self.deadline_at = self.started + self.deadline
        self.attempts: list[Attempt] = []
        self.usage: Usage | None = None
        self._attempt_started = self.started
        if engine.budget is not None:
            engine.budget.record_call(self.started)

    # -- one attempt ------------------------------------------------------------------

    def begin(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments for the next attempt: the caller's, with its time limit."""
        engine = self.engine
        now = engine.clock.now()
        self._attempt_started = now
        limit = min(self.attempt_limit, self.deadline_at - now)
        if engine.hooks:
            engine.emit(
                AttemptStarted(
                    call_id=self.call_id,
                    provider=engine.adapter.name,
                    model=self.model,
                    time=engine.clock.wall(),
                    attempt=len(self.attempts) + 1,
                    timeout=limit,
                )
            )
        return {**kwargs, "timeout": self._timeout_for(limit)}

    def _timeout_for(self, limit: float) -> object:
        user = self._user_timeout
        connect = self.engine.timeouts.connect
        if user is None:
            return self.engine.adapter.timeout(limit, connect)
        # The caller's own Timeout object: keep its shape, cut every part to `limit`.
        parts = {p: getattr(user, p, None) for p in ("connect", "read", "write", "pool")}
        cut = {p: limit if v is None else min(float(v), limit) for p, v in parts.items()}
        return type(user)(**cut)

    def succeeded(self, value: Any) -> Any:
        """Record the successful attempt and end the call; returns `value` untouched."""
        engine = self.engine
        now = engine.clock.now()
        usage = engine.adapter.usage(value)
        self.usage = usage if self.usage is None or usage is None else self.usage + usage
        made = len(self.attempts) + 1
        self.attempts.append(
            Attempt(
                number=made,
                kind=None,
                status=None,
                request_id=_request_id_of(value),
                started=self._attempt_started - self.started,
                latency=now - self._attempt_started,
            )
        )
        if engine.hooks:
            engine.emit(
                AttemptEnded(
                    call_id=self.call_id,
                    provider=engine.adapter.name,
                    model=self.model,
                    time=engine.clock.wall(),
                    attempt=made,
                    kind=None,
                    status=None,
                    request_id=self.attempts[-1].request_id,
                    latency=now - self._attempt_started,
                    input_tokens=None if usage is None else usage.input_tokens,
                    output_tokens=None if usage is None else usage.output_tokens,
                )
            )
        self._end(now, ok=True, stop=None, failure=None)
        return value

    def failed(self, error: Exception) -> float | BaseException:
        """Classify a failed attempt and decide: a wait before the next, or the error to raise.

        The error is `error` itself (with the report attached) when riprap stops on a
        provider failure, or a riprap error caused by it when riprap refuses to go on.
        """
        engine = self.engine
        failure = engine.adapter.classify(
            error, now_epoch=engine.clock.wall(), secrets=engine.secrets
        )
        now = engine.clock.now()
        if failure is None:
            # Not an API failure (a bad argument, say): re-raise at once, as the SDK would.
            self._end(now, ok=False, stop=None, failure=None)
            return error
        made = len(self.attempts) + 1
        decision = decide(
            failure,
            attempts_made=made,
            policy=engine.retry,
            remaining=self.deadline_at - now,
            u=engine.random(),
        )
        if isinstance(decision, RetryAfter) and not self._withdraw(now):
            decision = BUDGET_SPENT
        wait = decision.wait if isinstance(decision, RetryAfter) else 0.0
        self.attempts.append(
            Attempt(
                number=made,
                kind=failure.kind,
                status=failure.status,
                request_id=failure.request_id,
                started=self._attempt_started - self.started,
                latency=now - self._attempt_started,
                wait=wait,
                retry_after=failure.retry_after,
            )
        )
        if engine.hooks:
            self._emit_failure(failure, made, now, decision)
        if isinstance(decision, RetryAfter):
            return decision.wait
        report = self._end(now, ok=False, stop=decision.stop, failure=failure)
        return self._final_error(error, failure, decision, report, self.deadline_at - now)

    def _withdraw(self, now: float) -> bool:
        budget = self.engine.budget
        return budget is None or budget.try_withdraw(now)

    # -- the end of the call ----------------------------------------------------------

    def _end(
        self, now: float, *, ok: bool, stop: Stop | None, failure: Failure | None
    ) -> CallReport:
        engine = self.engine
        report = CallReport(
            call_id=self.call_id,
            provider=engine.adapter.name,
            model=self.model,
            attempts=tuple(self.attempts),
            ok=ok,
            elapsed=now - self.started,
            stop=stop,
            usage=self.usage,
        )
        LAST_REPORT.set(report)
        if engine.hooks:
            usage = self.usage
            engine.emit(
                CallEnded(
                    call_id=self.call_id,
                    provider=engine.adapter.name,
                    model=self.model,
                    time=engine.clock.wall(),
                    ok=ok,
                    attempts=len(self.attempts),
                    elapsed=report.elapsed,
                    kind=None if failure is None else failure.kind,
                    stop=stop,
                    request_ids=report.request_ids,
                    input_tokens=None if usage is None else usage.input_tokens,
                    output_tokens=None if usage is None else usage.output_tokens,
                )
            )
        return report

    def _final_error(
        self,
        error: Exception,
        failure: Failure,
        decision: GiveUp,
        report: CallReport,
        remaining: float,
    ) -> BaseException:
        scrub(error, self.engine.secrets)
        last = f"{failure.kind}" + (f" ({failure.status})" if failure.status else "")
        where = f"{report.provider} call {self.call_id}"
        final: BaseException
        if decision.stop is Stop.RETRY_AFTER_BEYOND_DEADLINE:
            final = RetryAfterBeyondDeadlineError(
                f"{where}: {last}: {decision.detail} ({self.deadline:.3g}s deadline); "
                "failing now instead of sleeping into certain failure",
                retry_after=failure.retry_after or 0.0,
                remaining=remaining,
                kind=failure.kind,
                report=report,
            )
        elif decision.stop is Stop.DEADLINE:
            final = DeadlineExceededError(
                f"{where}: deadline of {self.deadline:.3g}s exceeded after "
                f"{len(report.attempts)} attempt(s); last failure {last}: {failure.message} "
                f"({decision.detail})",
                kind=failure.kind,
                report=report,
            )
        else:
            attach_report(error, report)
            return error
        final.__cause__ = error
        return final

    def _emit_failure(self, failure: Failure, made: int, now: float, decision: object) -> None:
        engine = self.engine
        wall = engine.clock.wall()
        provider = engine.adapter.name
        engine.emit(
            AttemptEnded(
                call_id=self.call_id,
                provider=provider,
                model=self.model,
                time=wall,
                attempt=made,
                kind=failure.kind,
                status=failure.status,
                request_id=failure.request_id,
                latency=now - self._attempt_started,
                error_message=failure.message,
            )
        )
        if isinstance(decision, RetryAfter):
            engine.emit(
                RetryScheduled(
                    call_id=self.call_id,
                    provider=provider,
                    model=self.model,
                    time=wall,
                    attempt=made,
                    kind=failure.kind,
                    wait=decision.wait,
                    retry_after=failure.retry_after,
                )
            )


def _request_id_of(value: object) -> str | None:
    request_id = getattr(value, "_request_id", None)
    return request_id if isinstance(request_id, str) else None


def run_sync(
    engine: Engine, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Call `fn` under the engine's policy, blocking the thread between attempts."""
    call = CallState(engine, kwargs)
    while True:
        attempt_kwargs = call.begin(kwargs)
        try:
            value = engine.adapter.checked(fn(*args, **attempt_kwargs))
        except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
            outcome = call.failed(error)
            if isinstance(outcome, BaseException):
                raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
            engine.clock.sleep(outcome)
            continue
        return call.succeeded(value)


async def run_async(
    engine: Engine, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Await `fn` under the engine's policy, suspending the task between attempts."""
    call = CallState(engine, kwargs)
    while True:
        attempt_kwargs = call.begin(kwargs)
        try:
            value = engine.adapter.checked(await fn(*args, **attempt_kwargs))
        except Exception as error:  # noqa: BLE001 - classified; what is not ours is re-raised
            outcome = call.failed(error)
            if isinstance(outcome, BaseException):
                raise outcome  # noqa: B904 - `error` itself, or a riprap error caused by it
            await engine.clock.asleep(outcome)
            continue
        return call.succeeded(value)

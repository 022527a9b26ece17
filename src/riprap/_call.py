"""One call through riprap: the state of its retry loop, and every decision made in it.

`CallState` holds everything the loop knows and makes every decision (through the pure
`riprap.decide`); the loops that call, sleep and repeat are in `riprap._loop`.
"""

from __future__ import annotations

import contextvars
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riprap._engine import Verdict
from riprap._limit import Limit, Settlement, watch_headers
from riprap._report import Attempt, CallReport, Stop
from riprap.breaker import CircuitOpenError, Rejected
from riprap.decide import BUDGET_SPENT, NOT_RESUMABLE, GiveUp, RetryAfter, decide
from riprap.errors import (
    DeadlineExceededError,
    RetryAfterBeyondDeadlineError,
    attach_report,
    scrub,
)
from riprap.limiter import LimiterUnavailableError, RateLimitWaitBeyondDeadlineError
from riprap.observe import (
    AttemptEnded,
    AttemptStarted,
    BreakerChanged,
    CallEnded,
    LimiterWaited,
    RetryScheduled,
)
from riprap.observe._content import content_fields
from riprap.observe._events import TargetEnded
from riprap.policy import default_deadline

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from riprap._engine import Engine
    from riprap._failure import Failure
    from riprap._kinds import Kind
    from riprap._report import Usage
    from riprap.breaker import Admission, Permit, Transition
    from riprap.limiter import Permit as LimiterPermit
    from riprap.observe import Event

#: The report of the last call finished in this context. A call made in another task
#: (`asyncio.gather`, `wait_for`, a task group) sets it in that task's context only.
LAST_REPORT: contextvars.ContextVar[CallReport | None] = contextvars.ContextVar(
    "riprap_last_report", default=None
)

#: The header the SDKs use to tell the provider which retry this is.
RETRY_COUNT_HEADER = "x-stainless-retry-count"


class CallState:
    """The state of one call's retry loop, and every decision made in it."""

    def __init__(
        self,
        engine: Engine,
        client: Any,
        kwargs: Mapping[str, Any],
        *,
        endpoint: str = "",
        deadline_at: float | None = None,
        can_move_on: bool = False,
        operation_id: str | None = None,
    ) -> None:
        """Start a call to `client`: fix its deadline and attempt limit, count it in the budget.

        `deadline_at` is a fallback chain's shared deadline (the primary call's);
        `can_move_on` says a fallback target is ready after this one. Raises what the
        SDK would raise for the same arguments before sending anything (Anthropic
        refuses long non-streaming calls without an explicit timeout).
        """
        self._kwargs = kwargs  # read again only when a hook asked for content
        self.engine = engine
        self.client = client
        self.call_id = secrets.token_hex(6)
        #: The logical call: a fallback chain's id, shared by its targets' calls.
        self.operation_id = operation_id or self.call_id
        model = kwargs.get("model")
        self.model = model if isinstance(model, str) else None
        adapter = engine.adapter
        self.stream = kwargs.get("stream") is True
        max_tokens = adapter.max_tokens(kwargs)
        limit, self._shape = adapter.resolve_timeout(kwargs.get("timeout"), client)
        if limit is None:
            adapter.precheck(client, kwargs)
            limit = engine.timeouts.attempt_for(max_tokens)
        self.attempt_limit = limit
        self.started = engine.clock.now()
        if deadline_at is None:
            self.deadline = default_deadline(engine.retry, limit)
            self.deadline_at = self.started + self.deadline
        else:
            self.deadline = deadline_at - self.started
            self.deadline_at = deadline_at
        self.can_move_on = can_move_on
        self.breaker = (
            None
            if engine.breakers is None
            else engine.breakers.for_target(adapter.name, self.model, endpoint)
        )
        self._permit: Permit | None = None
        self._verdict: Verdict | None = None
        self.limit = (
            None
            if engine.limiter is None
            else Limit.of(engine.limiter, adapter.name, client, kwargs)
        )
        if self.limit is not None:
            watch_headers(client, is_async=adapter.is_async(client))
        self._settlement: Settlement | None = None
        self.attempts: list[Attempt] = []
        #: Tokens spent so far, summed over attempts that reported any.
        self.usage: Usage | None = None
        self.report: CallReport | None = None
        #: Called with the report when the call ends (a stream settles its budget there);
        #: an awaitable it returns is kept in `finishing` for the async shells to await.
        self.on_end: Callable[[CallReport], Awaitable[None] | None] | None = None
        self.finishing: Awaitable[None] | None = None
        self._open = True
        self._attempt_started = self.started
        if engine.budget is not None:
            engine.budget.record_call(self.started)

    # -- the circuit breaker, asked by the shells (sync or async) ----------------------

    def admitted(self, admission: Admission) -> None:
        """Take the breaker's answer before an attempt: an open circuit ends the call.

        Raises `CircuitOpenError` (with the report; nothing was sent) when rejected.
        """
        if isinstance(admission, Rejected):
            assert self.breaker is not None  # noqa: S101 - only a breaker rejects
            last = self.attempts[-1].kind if self.attempts else None
            report = self._end(self.engine.clock.now(), ok=False, stop=Stop.CIRCUIT_OPEN, kind=last)
            error = CircuitOpenError(self.breaker.key, admission)
            error.report = report
            raise error
        self._permit = admission
        self.judged(admission.transition)

    def verdict(self) -> Verdict | None:
        """What to tell the breaker about the attempt that just ended; each only once."""
        verdict, self._verdict = self._verdict, None
        return verdict

    def judged(self, transition: Transition | None) -> None:
        """Report a state change of the breaker as an event."""
        if transition is None or self.breaker is None:
            return
        self._emit(
            BreakerChanged,
            key=self.breaker.key,
            previous=transition.previous,
            current=transition.current,
            reason=transition.reason,
            retry_in=transition.retry_in,
        )

    # -- the rate limiter, asked by the shells (riprap._limit) --------------------------

    def reserved(self, permit: LimiterPermit) -> None:
        """Hold the limiter's permit for the coming attempt; report a wait as an event."""
        assert self.limit is not None  # noqa: S101 - only a call with a limit reserves
        self.limit.permit = permit
        if permit.waited > 0:
            self._emit(
                LimiterWaited,
                attempt=len(self.attempts) + 1,
                wait=permit.waited,
                scope=permit.scope.key(),
                probe=permit.probe,
            )

    def refused(self, error: Exception) -> None:
        """The limiter refused to wait (deadline) or could not be asked: end the call.

        The breaker's permit, taken before, goes back unused; nothing was sent.
        """
        now = self.engine.clock.now()
        self._judge(None, now, release=True)
        stop = (
            Stop.LIMITER_WAIT_BEYOND_DEADLINE
            if isinstance(error, RateLimitWaitBeyondDeadlineError)
            else Stop.LIMITER_UNAVAILABLE
            if isinstance(error, LimiterUnavailableError)
            else Stop.CALLER_ERROR  # a misconfigured limiter (an async estimator, sync)
        )
        last = self.attempts[-1].kind if self.attempts else None
        report = self._end(now, ok=False, stop=stop, kind=last)
        attach_report(error, report)

    def settlement(self) -> Settlement | None:
        """What to tell the limiter about the attempt that just ended; each only once."""
        settlement, self._settlement = self._settlement, None
        return settlement

    def _account(
        self,
        kind: Kind | None,
        *,
        ok: bool,
        usage: Usage | None = None,
        error: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        if self.limit is not None:
            self._settlement = self.limit.settlement(
                kind, ok=ok, usage=usage, error=error, retry_after=retry_after
            )

    def _judge(self, kind: Kind | None, now: float, *, release: bool = False) -> None:
        permit, self._permit = self._permit, None
        if permit is not None and self.breaker is not None:
            latency = now - self._attempt_started
            self._verdict = Verdict(self.breaker, permit, kind, latency, release)

    def _emit(self, event: type[Event], /, **fields: Any) -> None:
        # Every event of a call names the call, its provider and model, and the time.
        engine = self.engine
        engine.emit(
            event(
                call_id=self.call_id,
                operation_id=self.operation_id,
                provider=engine.adapter.name,
                model=self.model,
                time=engine.clock.wall(),
                **fields,
            )
        )

    # -- one attempt ------------------------------------------------------------------

    def begin(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments for the next attempt: the caller's, with its time limit."""
        engine = self.engine
        now = engine.clock.now()
        self._attempt_started = now
        number = len(self.attempts) + 1
        limit = min(self.attempt_limit, self.deadline_at - now)
        if self.limit is not None:
            self.limit.listen()
        self._emit(
            AttemptStarted,
            attempt=number,
            timeout=limit,
        )
        attempt_kwargs = {**kwargs, "timeout": self._timeout(limit)}
        if number > 1:
            # Tell the provider this is a retry, as the SDK's own loop would.
            given = kwargs.get("extra_headers")
            headers = dict(given) if isinstance(given, Mapping) else {}
            attempt_kwargs["extra_headers"] = {**headers, RETRY_COUNT_HEADER: str(number - 1)}
        return attempt_kwargs

    def _timeout(self, limit: float) -> object:
        adapter = self.engine.adapter
        shape = self._shape
        timeouts = self.engine.timeouts
        if shape is None and self.stream:
            # A stream's length is bounded by the deadline, its silences by the watchdog
            # (riprap._watchdog); the socket's read timeout is only the backstop.
            remaining = self.deadline_at - self.engine.clock.now()
            read = min(max(timeouts.first_token, timeouts.idle), remaining)
            return adapter.sdk.Timeout(remaining, read=read, connect=min(timeouts.connect, read))
        if shape is None:
            return adapter.timeout(limit, connect=timeouts.connect)
        # The caller's own Timeout: keep its shape, cut every part to what is left.
        parts = {p: getattr(shape, p) for p in ("connect", "read", "write", "pool")}
        return adapter.sdk.Timeout(
            **{p: limit if v is None else min(v, limit) for p, v in parts.items()}
        )

    def checked(self, value: Any) -> Any:
        """The attempt's result if it is an answer; raises if it is a raw error page."""
        return self.engine.adapter.checked(value)

    def add_usage(self, usage: Usage | None) -> None:
        """Count tokens an attempt spent (a stream's attempts report their own)."""
        if usage is not None:
            self.usage = usage if self.usage is None else self.usage + usage

    def succeeded(
        self, value: Any, *, request_id: str | None = None, usage: Usage | None = None
    ) -> Any:
        """Record the successful attempt and end the call; returns `value` untouched.

        A stream passes its last attempt's `usage` and `request_id`; a plain response
        carries its own.
        """
        now = self.engine.clock.now()
        usage = self.engine.adapter.usage(value) if usage is None else usage
        self.add_usage(usage)
        request_id = request_id or _request_id_of(value)
        self._judge(None, now)
        self._account(None, ok=True, usage=usage)
        self._record(now, None, request_id=request_id, usage=usage, value=value)
        self._end(now, ok=True, stop=None, failure=None, value=value)
        return value

    def failed(self, error: Exception, *, can_retry: bool = True) -> float | BaseException:
        """Classify a failed attempt and decide: a wait before the next, or the error to raise.

        The error is `error` itself (with the report attached) when riprap stops on a
        provider failure, or a riprap error caused by it when riprap refuses to go on.
        An error that is not an API failure (a bad argument) is returned untouched.
        `can_retry=False` records the failure and stops: a stream that cannot be resumed.
        """
        engine = self.engine
        secrets_ = engine.adapter.secrets_of(self.client)
        failure = engine.adapter.classify(error, now_epoch=engine.clock.wall(), secrets=secrets_)
        now = engine.clock.now()
        self._judge(None if failure is None else failure.kind, now, release=failure is None)
        self._account(
            None if failure is None else failure.kind,
            ok=False,
            error=error,
            retry_after=None if failure is None else failure.retry_after,
        )
        if failure is None:
            # Not an API failure (a bad argument): not retried, raised as the SDK raised it.
            # No attempt reached the API, so none is recorded; hooks still see the call end.
            self._emit_attempt_end(
                now,
                None,
                attempt=len(self.attempts) + 1,
                request_id=None,
                message=type(error).__name__,
            )
            self._end(now, ok=False, stop=Stop.CALLER_ERROR)
            return error
        made = len(self.attempts) + 1
        decision = decide(
            failure,
            attempts_made=made,
            kind_attempts=1 + sum(a.kind is failure.kind for a in self.attempts),
            policy=engine.retry,
            remaining=self.deadline_at - now,
            u=engine.random(),
            can_move_on=self.can_move_on,
        )
        if not can_retry and isinstance(decision, RetryAfter):
            decision = NOT_RESUMABLE
        if isinstance(decision, RetryAfter) and not self._withdraw(now):
            decision = BUDGET_SPENT
        wait = decision.wait if isinstance(decision, RetryAfter) else 0.0
        self._record(now, failure, request_id=failure.request_id, wait=wait)
        if isinstance(decision, RetryAfter):
            self._emit(
                RetryScheduled,
                attempt=made,
                kind=failure.kind,
                wait=wait,
                retry_after=failure.retry_after,
            )
            return wait
        report = self._end(now, ok=False, stop=decision.stop, failure=failure)
        scrub(error, secrets_)
        return self._final_error(error, failure, decision, report, self.deadline_at - now)

    @property
    def open(self) -> bool:
        """Whether the call has not ended yet."""
        return self._open

    def abandoned(self) -> None:
        """End a call interrupted from outside (cancelled, KeyboardInterrupt), if still open."""
        if self._open:
            now = self.engine.clock.now()
            self._judge(None, now, release=True)
            self._account(None, ok=False)  # the request may have been counted
            last = self.attempts[-1].kind if self.attempts else None
            self._end(now, ok=False, stop=Stop.CANCELLED, kind=last)

    def _withdraw(self, now: float) -> bool:
        budget = self.engine.budget
        return budget is None or budget.try_withdraw(now)

    def _record(
        self,
        now: float,
        failure: Failure | None,
        *,
        request_id: str | None,
        wait: float = 0.0,
        usage: Usage | None = None,
        value: object = None,
    ) -> None:
        number = len(self.attempts) + 1
        self.attempts.append(
            Attempt(
                number=number,
                kind=None if failure is None else failure.kind,
                status=None if failure is None else failure.status,
                request_id=request_id,
                started=self._attempt_started - self.started,
                latency=now - self._attempt_started,
                wait=wait,
                retry_after=None if failure is None else failure.retry_after,
            )
        )
        self._emit_attempt_end(
            now,
            failure,
            attempt=number,
            request_id=request_id,
            usage=usage,
            value=value,
            message="" if failure is None else failure.message,
        )

    def _emit_attempt_end(
        self,
        now: float,
        failure: Failure | None,
        *,
        attempt: int,
        request_id: str | None,
        message: str,
        usage: Usage | None = None,
        value: object = None,
    ) -> None:
        engine = self.engine
        self._emit(
            AttemptEnded,
            attempt=attempt,
            kind=None if failure is None else failure.kind,
            status=None if failure is None else failure.status,
            request_id=request_id,
            latency=now - self._attempt_started,
            input_tokens=None if usage is None else usage.prompt_tokens,
            output_tokens=None if usage is None else usage.output_tokens,
            error_message=message,
            response_model=engine.adapter.response_model(value),
            finish_reasons=engine.adapter.finish_reasons(value),
        )

    # -- the end of the call ----------------------------------------------------------

    def _end(
        self,
        now: float,
        *,
        ok: bool,
        stop: Stop | None,
        failure: Failure | None = None,
        kind: Kind | None = None,
        value: object = None,
    ) -> CallReport:
        self._open = False
        engine = self.engine
        usage = self.usage
        report = CallReport(
            call_id=self.call_id,
            provider=engine.adapter.name,
            model=self.model,
            target=f"{engine.adapter.name}:{self.model or '-'}",
            attempts=tuple(self.attempts),
            ok=ok,
            elapsed=now - self.started,
            stop=stop,
            usage=usage,
            cost=engine.outer.cost(self.model, usage),
        )
        self.report = report
        LAST_REPORT.set(report)
        if self.on_end is not None:
            self.finishing = self.on_end(report)
        self._emit(
            # One target of a fallback chain: the chain reports the logical call's end.
            CallEnded if self.operation_id == self.call_id else TargetEnded,
            ok=ok,
            attempts=len(self.attempts),
            elapsed=report.elapsed,
            kind=failure.kind if failure is not None else kind,
            stop=stop,
            request_ids=report.request_ids,
            input_tokens=None if usage is None else usage.prompt_tokens,
            output_tokens=None if usage is None else usage.output_tokens,
            cost=report.cost,
            response_model=engine.adapter.response_model(value),
            finish_reasons=engine.adapter.finish_reasons(value),
            target=report.target,
            **self._content(value if ok else None),
        )
        return report

    def _content(self, value: object) -> dict[str, str | None]:
        return content_fields(self._kwargs, value, self.engine.content_limit)

    def _final_error(
        self,
        error: Exception,
        failure: Failure,
        decision: GiveUp,
        report: CallReport,
        remaining: float,
    ) -> BaseException:
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


def _request_id_of(value: object) -> str | None:
    request_id = getattr(value, "_request_id", None)
    return request_id if isinstance(request_id, str) else None

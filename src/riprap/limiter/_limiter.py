"""The limiter as the call loop uses it: acquire a permit, call, settle it.

`Limiter.acquire` / `aacquire` wait (FIFO, on the injected clock, never past the
deadline) for room in every limited dimension and reserve it; the returned `Permit` is
settled with what the call used (`settle`), or handed back (`fail`, `rate_limited`,
`refund`), with the response's headers so the limiter learns what the provider sees.
Both flavours are thin shells over the same backend steps, which are the pure functions
of `_bucket.py` and `_settle.py`.
"""

from __future__ import annotations

import inspect
import math
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from riprap._clock import SystemClock
from riprap.errors import ConfigError
from riprap.limiter._bucket import Grant, Plan, Poll, Refused
from riprap.limiter._config import Limits, Need, Scope
from riprap.limiter._errors import RateLimitWaitBeyondDeadlineError
from riprap.limiter._estimate import AsyncEstimator, Estimator, estimate_input_tokens
from riprap.limiter._headers import parse_rate_limit_headers
from riprap.limiter._memory import MemoryBackend

if TYPE_CHECKING:
    from collections.abc import Mapping

    from riprap._clock import Clock
    from riprap.limiter._backend import Backend
    from riprap.limiter._bucket import Observation, Ticket, Vec

#: Seconds between asks while a cold scope learns its limits from its first call: a
#: tenth of a second is little next to an LLM call's latency (the wait being shortened),
#: and dozens of waiting callers asking ten times a second cost a Redis server nothing.
POLL_INTERVAL: Final = 0.1
#: Seconds a cold scope's first call may take before another caller becomes the probe.
#: It bounds what learning costs: a first call that is a long generation (or whose
#: process died without settling) holds the other callers back this long at most, and
#: then lets one more call through. Ten seconds covers most ordinary calls.
PROBE_TIMEOUT: Final = 10.0
#: What a successful response without rate-limit headers tells the limiter: nothing is
#: announced, but the scope has answered, so it is no longer cold.
_NOTHING_ANNOUNCED: Final[Observation] = (None, None, None, None)


class Limiter:
    """Keeps calls under each scope's request and token limits, waiting FIFO for room.

    One limiter serves many scopes (provider + model + key). `limits` applies to every
    model without an entry in `per_model`. By default nothing is configured and the
    limiter paces by what the provider's rate-limit headers announce, learning them from
    one call before letting a crowd through.
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        per_model: Mapping[str, Limits] | None = None,
        backend: Backend | None = None,
        clock: Clock | None = None,
        estimator: Estimator | AsyncEstimator = estimate_input_tokens,
        poll_interval: float = POLL_INTERVAL,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        """Configure the limiter; `backend` defaults to a new in-process `MemoryBackend`."""
        limits = Limits() if limits is None else limits
        per_model = {} if per_model is None else dict(per_model)
        if not isinstance(limits, Limits):
            raise ConfigError(f"Limiter.limits: {limits!r} is not a riprap Limits")
        for model, entry in per_model.items():
            if not isinstance(model, str) or not isinstance(entry, Limits):
                raise ConfigError(f"Limiter.per_model[{model!r}]: {entry!r} is not a Limits")
        for name, number in (("poll_interval", poll_interval), ("probe_timeout", probe_timeout)):
            if not (isinstance(number, int | float) and math.isfinite(number) and number > 0):
                raise ConfigError(f"Limiter.{name}: {number!r} is not a positive number")
        self.limits = limits
        self.per_model: Mapping[str, Limits] = MappingProxyType(per_model)
        self.backend: Backend = MemoryBackend() if backend is None else backend
        self.clock: Clock = SystemClock() if clock is None else clock
        self.estimator = estimator
        self._default_plan = Plan.of(limits, poll=poll_interval, probe_timeout=probe_timeout)
        self._plans = {
            model: Plan.of(entry, poll=poll_interval, probe_timeout=probe_timeout)
            for model, entry in per_model.items()
        }

    def plan(self, scope: Scope) -> Plan:
        """The plan (limits per second) for `scope`."""
        return self._plans.get(scope.model, self._default_plan)

    def need(self, request: Mapping[str, Any], *, output_tokens: int) -> Need:
        """What a call with these SDK arguments reserves: its estimate and `output_tokens`.

        Raises `ConfigError` if the estimator is asynchronous (use `aneed`).
        """
        estimate = self.estimator(request)
        if inspect.isawaitable(estimate):
            if inspect.iscoroutine(estimate):
                estimate.close()  # never awaited: no "never awaited" warning either
            raise ConfigError(
                f"Limiter.estimator: {self.estimator!r} is asynchronous; a sync client "
                "needs a sync estimator (anthropic_token_counter, not the async one)"
            )
        return Need(input_tokens=max(0, int(estimate)), output_tokens=output_tokens)

    async def aneed(self, request: Mapping[str, Any], *, output_tokens: int) -> Need:
        """`need`, awaiting the estimator when it is asynchronous."""
        estimate = self.estimator(request)
        if inspect.isawaitable(estimate):
            estimate = await estimate
        return Need(input_tokens=max(0, int(estimate)), output_tokens=output_tokens)

    # -- acquiring --------------------------------------------------------------------

    def acquire(self, scope: Scope, need: Need, *, deadline_at: float) -> Permit:
        """Wait for room for `need` in `scope`, reserve it, and return the permit.

        Waits on the limiter's clock, in arrival order, never past `deadline_at` (the
        clock's `now()` time): when the wait would end later, raises
        `RateLimitWaitBeyondDeadlineError` at once, holding nothing.
        """
        plan, key, vec, clock = self.plan(scope), scope.key(), need.vector(), self.clock
        slept = 0.0  # what the caller was held back, not the bookkeeping's own time
        while True:
            now = clock.now()
            outcome = self.backend.acquire(key, plan, vec, now, deadline_at - now)
            if isinstance(outcome, Grant):
                grant = outcome
                break
            self._check(outcome, scope, now, deadline_at)
            clock.sleep(outcome.wait)
            slept += outcome.wait
        ticket = grant.ticket
        try:
            target = now + grant.wait
            while (delay := target - clock.now()) > 0:
                clock.sleep(delay)
                slept += delay
                now = clock.now()
                extra, ticket = self.backend.confirm(key, plan, ticket, now)
                target = now + extra
                if target > deadline_at:
                    # The reservation is handed back below, on this way out as on any other.
                    raise _beyond(scope, extra, deadline_at - now, learning=False)  # noqa: TRY301
        except BaseException:
            self.backend.settle(
                key, plan, ticket, need=vec, used=None, observed=None, now=clock.now()
            )
            raise
        return Permit(self, scope, need, ticket, waited=slept)

    async def aacquire(self, scope: Scope, need: Need, *, deadline_at: float) -> Permit:
        """`acquire`, suspending the task instead of blocking the thread."""
        plan, key, vec, clock = self.plan(scope), scope.key(), need.vector(), self.clock
        slept = 0.0  # what the caller was held back, not the bookkeeping's own time
        while True:
            now = clock.now()
            outcome = await self.backend.aacquire(key, plan, vec, now, deadline_at - now)
            if isinstance(outcome, Grant):
                grant = outcome
                break
            self._check(outcome, scope, now, deadline_at)
            await clock.asleep(outcome.wait)
            slept += outcome.wait
        ticket = grant.ticket
        try:
            target = now + grant.wait
            while (delay := target - clock.now()) > 0:
                await clock.asleep(delay)
                slept += delay
                now = clock.now()
                extra, ticket = await self.backend.aconfirm(key, plan, ticket, now)
                target = now + extra
                if target > deadline_at:
                    # The reservation is handed back below, on this way out as on any other.
                    raise _beyond(scope, extra, deadline_at - now, learning=False)  # noqa: TRY301
        except BaseException:
            await self.backend.asettle(
                key, plan, ticket, need=vec, used=None, observed=None, now=clock.now()
            )
            raise
        return Permit(self, scope, need, ticket, waited=slept)

    @staticmethod
    def _check(outcome: Refused | Poll, scope: Scope, now: float, deadline_at: float) -> None:
        """Raise if a refusal, or a poll that would end past the deadline."""
        if isinstance(outcome, Refused) or now + outcome.wait > deadline_at:
            raise _beyond(
                scope, outcome.wait, deadline_at - now, learning=isinstance(outcome, Poll)
            )

    # -- what the provider says outside a permit --------------------------------------

    def pause(self, scope: Scope, *, until: float) -> None:
        """Start nothing in `scope` before `until` (clock time): a 429's retry-after.

        Callers already waiting move back with the queue, keeping their order.
        """
        now = self.clock.now()
        if until > now:
            self.backend.pause(scope.key(), self.plan(scope), until - now, now)

    async def apause(self, scope: Scope, *, until: float) -> None:
        """`pause`, awaitable."""
        now = self.clock.now()
        if until > now:
            await self.backend.apause(scope.key(), self.plan(scope), until - now, now)

    def observe(self, scope: Scope, headers: Mapping[str, str]) -> None:
        """Learn the limits `headers` announce (a response that had no permit)."""
        observed = self._parse(scope, headers)
        if observed is not None:
            self.backend.observe(scope.key(), self.plan(scope), observed, self.clock.now())

    async def aobserve(self, scope: Scope, headers: Mapping[str, str]) -> None:
        """`observe`, awaitable."""
        observed = self._parse(scope, headers)
        if observed is not None:
            await self.backend.aobserve(scope.key(), self.plan(scope), observed, self.clock.now())

    def _parse(self, scope: Scope, headers: Mapping[str, str] | None) -> Observation | None:
        if headers is None:
            return None
        return parse_rate_limit_headers(scope.provider, headers, now_epoch=self.clock.wall())

    def close(self) -> None:
        """Close the backend's connections."""
        self.backend.close()

    async def aclose(self) -> None:
        """Close the backend's connections, async ones too."""
        await self.backend.aclose()


def _beyond(
    scope: Scope, wait: float, remaining: float, *, learning: bool
) -> RateLimitWaitBeyondDeadlineError:
    why = (
        "the scope is still learning its limits from its first call"
        if learning
        else f"waiting for rate-limit capacity would take {wait:.3g}s"
    )
    return RateLimitWaitBeyondDeadlineError(
        f"riprap limiter: {scope.provider}/{scope.model}: {why}, and the call has "
        f"{max(0.0, remaining):.3g}s left before its deadline; failing now instead of "
        "waiting into certain failure",
        wait=wait,
        remaining=max(0.0, remaining),
        scope=scope.key(),
    )


class Permit:
    """Room reserved for one attempt; end it once: `settle`, `fail`, `rate_limited`, `refund`.

    Pass the response's headers whenever there was a response: that is how the limiter
    learns the provider's limits and sees other traffic on the key. Ending a permit
    twice does nothing the second time.
    """

    def __init__(
        self, limiter: Limiter, scope: Scope, need: Need, ticket: Ticket, *, waited: float
    ) -> None:
        self.scope = scope
        self.need = need
        #: Seconds `acquire` slept for room (or for a cold scope to learn): 0 when it had
        #: room at once, however long its round trips to the backend took.
        self.waited = waited
        #: Whether this attempt is the one a cold scope lets through to learn its limits.
        self.probe = ticket.probe
        self._limiter = limiter
        self._ticket = ticket
        self._open = True

    @property
    def open(self) -> bool:
        """Whether the permit has not been ended yet."""
        return self._open

    def _step(self, used: Vec | None, observed: Observation | None) -> dict[str, Any] | None:
        """The backend's settle arguments, once; `None` if the permit was already ended."""
        if not self._open:
            return None
        self._open = False
        limiter = self._limiter
        return {
            "key": self.scope.key(),
            "plan": limiter.plan(self.scope),
            "ticket": self._ticket,
            "need": self.need.vector(),
            "used": used,
            "observed": observed,
            "now": limiter.clock.now(),
        }

    def _settled(
        self, input_tokens: int, output_tokens: int, headers: Mapping[str, str] | None
    ) -> dict[str, Any] | None:
        used = (1.0, float(input_tokens), float(output_tokens), float(input_tokens + output_tokens))
        observed = self._limiter._parse(self.scope, headers)  # noqa: SLF001 - same module
        return self._step(used, _NOTHING_ANNOUNCED if observed is None else observed)

    def _failed(self, headers: Mapping[str, str] | None) -> dict[str, Any] | None:
        need = float(self.need.input_tokens)
        used = (float(self.need.requests), need, 0.0, need)
        return self._step(used, self._limiter._parse(self.scope, headers))  # noqa: SLF001

    def _refunded(self, headers: Mapping[str, str] | None) -> dict[str, Any] | None:
        return self._step(None, self._limiter._parse(self.scope, headers))  # noqa: SLF001

    def _pause_for(
        self, retry_after: float | None, headers: Mapping[str, str] | None
    ) -> float | None:
        """How long a 429 should pause the scope, if at all.

        Not at all when its headers show which paced limit ran out: the correction then
        says exactly when there is room again, where `retry-after` is rounded up to whole
        seconds. Otherwise (another limit, an undisclosed one) its `retry-after`.
        """
        if retry_after is None or retry_after <= 0:
            return None
        observed = self._limiter._parse(self.scope, headers)  # noqa: SLF001 - same module
        if observed is not None:
            plan = self._limiter.plan(self.scope)
            needs = self.need.vector()
            for d, announced in enumerate(observed):
                paced = plan.adopt or plan.rates[d] is not None
                remaining = None if announced is None else announced.remaining
                if paced and remaining is not None and remaining < needs[d]:
                    return None
        return retry_after

    def rate_limited(
        self, *, retry_after: float | None, headers: Mapping[str, str] | None = None
    ) -> None:
        """The provider refused the call with a 429: give everything back, and learn.

        If the headers do not show which limit ran out (another limit, an undisclosed
        one), the whole scope pauses for `retry_after` seconds.
        """
        pause = self._pause_for(retry_after, headers)
        self.refund(headers=headers)
        if pause is not None:
            self._limiter.pause(self.scope, until=self._limiter.clock.now() + pause)

    async def arate_limited(
        self, *, retry_after: float | None, headers: Mapping[str, str] | None = None
    ) -> None:
        """`rate_limited`, awaitable."""
        pause = self._pause_for(retry_after, headers)
        await self.arefund(headers=headers)
        if pause is not None:
            await self._limiter.apause(self.scope, until=self._limiter.clock.now() + pause)

    def settle(
        self, *, input_tokens: int, output_tokens: int, headers: Mapping[str, str] | None = None
    ) -> None:
        """The call succeeded and used this many tokens: charge or refund the difference."""
        args = self._settled(input_tokens, output_tokens, headers)
        if args is not None:
            self._limiter.backend.settle(**args)

    def fail(self, *, headers: Mapping[str, str] | None = None) -> None:
        """The call reached the provider and failed (5xx, timeout, overload).

        The request and its input count; the output it never produced is given back.
        """
        args = self._failed(headers)
        if args is not None:
            self._limiter.backend.settle(**args)

    def refund(self, *, headers: Mapping[str, str] | None = None) -> None:
        """Nothing was counted (a 429, a refused connection, cancelled before sending)."""
        args = self._refunded(headers)
        if args is not None:
            self._limiter.backend.settle(**args)

    async def asettle(
        self, *, input_tokens: int, output_tokens: int, headers: Mapping[str, str] | None = None
    ) -> None:
        """`settle`, awaitable."""
        args = self._settled(input_tokens, output_tokens, headers)
        if args is not None:
            await self._limiter.backend.asettle(**args)

    async def afail(self, *, headers: Mapping[str, str] | None = None) -> None:
        """`fail`, awaitable."""
        args = self._failed(headers)
        if args is not None:
            await self._limiter.backend.asettle(**args)

    async def arefund(self, *, headers: Mapping[str, str] | None = None) -> None:
        """`refund`, awaitable."""
        args = self._refunded(headers)
        if args is not None:
            await self._limiter.backend.asettle(**args)

    def __repr__(self) -> str:
        state = "open" if self._open else "ended"
        return f"<Permit {self.scope.key()} {state} waited={self.waited:.3g}s probe={self.probe}>"

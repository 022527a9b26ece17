"""The breaker as the call loop and users hold it: one target's circuit, and a registry.

Per attempt, before the rate limiter::

    admission = breaker.allow()              # or: await breaker.aallow()
    if isinstance(admission, Rejected):
        raise CircuitOpenError(breaker.key, admission)   # the fallback layer moves on
    try:
        ...send the attempt...
    except BaseException:  # cancelled, interrupted: says nothing about the target
        breaker.release(admission)
        raise
    breaker.record(admission, kind, latency=...)          # kind: None when it succeeded
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

from riprap.breaker._machine import Outcome, Permit, Rejected, outcome_of
from riprap.breaker._memory import MemoryBackend
from riprap.breaker._policy import Breaker
from riprap.errors import RiprapError

if TYPE_CHECKING:
    from riprap._kinds import Kind
    from riprap.breaker._machine import Admission, Snapshot, State, Transition
    from riprap.breaker._memory import Backend


def target_key(provider: str, model: str | None, endpoint: str) -> str:
    """The breaker key of one target: provider, model and endpoint, in that order."""
    return f"{provider}:{model or '-'}:{endpoint}"


class CircuitOpenError(RiprapError):
    """An attempt was refused by its target's circuit breaker; nothing was sent.

    `retry_in` is the seconds until the next probe may go (`math.inf` while the circuit
    is isolated by hand). The fallback layer moves such a call to its next target at once.
    """

    key: str
    state: State
    retry_in: float

    def __init__(self, key: str, rejected: Rejected) -> None:
        when = (
            "isolated until reset"
            if math.isinf(rejected.retry_in)
            else f"next probe in {rejected.retry_in:.3g}s"
        )
        super().__init__(f"circuit {key} is {rejected.state}: {when}")
        self.key = key
        self.state = rejected.state
        self.retry_in = rejected.retry_in


class CircuitBreaker:
    """One target's circuit: its key, its `Breaker` policy, and the backend holding it.

    Safe to share between threads and tasks. With the memory backend the state is this
    process's; with `RedisBackend` every process using the same key shares it.
    """

    def __init__(self, key: str, *, policy: Breaker, backend: Backend) -> None:
        """Bind `key` to `policy` and `backend`."""
        self.key = key
        self.policy = policy
        self.backend = backend

    def __repr__(self) -> str:
        """Show the key and where the state lives."""
        return f"<CircuitBreaker {self.key!r} on {type(self.backend).__name__}>"

    # -- per attempt ----------------------------------------------------------------------

    def allow(self) -> Admission:
        """Before an attempt: a `Permit` to go, or `Rejected` with the time to the next probe."""
        return self.backend.admit(self.key, self.policy)

    def record(
        self, permit: Permit, kind: Kind | None, *, latency: float = 0.0
    ) -> Transition | None:
        """After an attempt: `kind` is its failure's kind, `None` if it succeeded.

        `latency` (seconds) matters only with `Breaker.slow_call`. Returns the state
        change this caused, if any, for the caller to report.
        """
        outcome = outcome_of(kind, latency, self.policy)
        return self.backend.settle(self.key, self.policy, permit.ticket, outcome)

    def release(self, permit: Permit) -> Transition | None:
        """The attempt never finished (cancelled, deadline): free its probe slot, judge nothing."""
        return self.backend.settle(self.key, self.policy, permit.ticket, Outcome.IGNORED)

    async def aallow(self) -> Admission:
        """`allow`, for async callers."""
        return await self.backend.aadmit(self.key, self.policy)

    async def arecord(
        self, permit: Permit, kind: Kind | None, *, latency: float = 0.0
    ) -> Transition | None:
        """`record`, for async callers."""
        outcome = outcome_of(kind, latency, self.policy)
        return await self.backend.asettle(self.key, self.policy, permit.ticket, outcome)

    async def arelease(self, permit: Permit) -> Transition | None:
        """`release`, for async callers."""
        return await self.backend.asettle(self.key, self.policy, permit.ticket, Outcome.IGNORED)

    # -- for users ------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """State, time to the next probe, and counts, as they stand now."""
        return self.backend.view(self.key, self.policy)

    @property
    def state(self) -> State:
        """Closed, open, half-open or isolated, now."""
        return self.snapshot().state

    def isolate(self) -> Transition | None:
        """Hold the circuit open until `reset()`: every attempt is rejected."""
        return self.backend.command(self.key, self.policy, "isolate")

    def reset(self) -> Transition | None:
        """Close the circuit and forget its history."""
        return self.backend.command(self.key, self.policy, "reset")

    async def asnapshot(self) -> Snapshot:
        """`snapshot`, for async callers."""
        return await self.backend.aview(self.key, self.policy)

    async def aisolate(self) -> Transition | None:
        """`isolate`, for async callers."""
        return await self.backend.acommand(self.key, self.policy, "isolate")

    async def areset(self) -> Transition | None:
        """`reset`, for async callers."""
        return await self.backend.acommand(self.key, self.policy, "reset")


class Breakers:
    """Every target's circuit breaker under one policy and one backend (per wrapped client)."""

    def __init__(self, policy: Breaker | None = None, *, backend: Backend | None = None) -> None:
        """Breakers with `policy` (default `Breaker()`), their state in `backend` (memory)."""
        self.policy = policy if policy is not None else Breaker()
        self.backend: Backend = backend if backend is not None else MemoryBackend()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CircuitBreaker:
        """The breaker for `key` (see `target_key`), made on first use."""
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = CircuitBreaker(key, policy=self.policy, backend=self.backend)
                self._breakers[key] = breaker
            return breaker

    def for_target(self, provider: str, model: str | None, endpoint: str) -> CircuitBreaker:
        """The breaker of one target."""
        return self.get(target_key(provider, model, endpoint))

    def keys(self) -> tuple[str, ...]:
        """Keys of the breakers used through this registry, in first-use order."""
        with self._lock:
            return tuple(self._breakers)

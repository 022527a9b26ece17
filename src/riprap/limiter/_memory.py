"""The in-process backend: every scope's state in a dict, each step under one lock."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from riprap.limiter import _bucket, _settle
from riprap.limiter._bucket import State

if TYPE_CHECKING:
    from riprap.limiter._bucket import Observation, Outcome, Plan, Ticket, Vec


class MemoryBackend:
    """Limiter state in this process's memory: the default, with no dependency.

    Threads and tasks of one process share it; processes do not (use `RedisBackend`).
    Time is the limiter's clock, passed in with every step.
    """

    def __init__(self) -> None:
        """Start with no scope known."""
        self._states: dict[str, State] = {}
        self._lock = threading.Lock()

    def state(self, key: str) -> State:
        """The state of scope `key` (a fresh one if never used)."""
        with self._lock:
            return self._states.get(key, State())

    # -- the steps, sync ------------------------------------------------------------------

    def acquire(self, key: str, plan: Plan, need: Vec, now: float, max_wait: float) -> Outcome:
        """Reserve `need` (see `_bucket.acquire`)."""
        with self._lock:
            outcome, self._states[key] = _bucket.acquire(
                self._states.get(key, State()), plan, need, now, max_wait
            )
        return outcome

    def confirm(self, key: str, plan: Plan, ticket: Ticket, now: float) -> tuple[float, Ticket]:
        """Extra wait for a woken slot (see `_bucket.confirm`)."""
        del plan
        with self._lock:
            return _bucket.confirm(self._states.get(key, State()), ticket, now)

    def settle(
        self,
        key: str,
        plan: Plan,
        ticket: Ticket,
        *,
        need: Vec,
        used: Vec | None,
        observed: Observation | None,
        now: float,
    ) -> None:
        """Reconcile a reservation (see `_settle.settle`)."""
        with self._lock:
            self._states[key] = _settle.settle(
                self._states.get(key, State()),
                plan,
                ticket,
                need=need,
                used=used,
                observed=observed,
                now=now,
            )

    def pause(self, key: str, plan: Plan, seconds: float, now: float) -> None:
        """Hold the scope for `seconds` (see `_bucket.pause`)."""
        with self._lock:
            self._states[key] = _bucket.pause(self._states.get(key, State()), plan, seconds, now)

    def observe(self, key: str, plan: Plan, observed: Observation, now: float) -> None:
        """Learn from headers seen outside a reservation (see `_settle.learn`)."""
        with self._lock:
            self._states[key] = _settle.learn(self._states.get(key, State()), plan, observed, now)

    # -- the same, for async callers (memory never blocks) --------------------------------

    async def aacquire(
        self, key: str, plan: Plan, need: Vec, now: float, max_wait: float
    ) -> Outcome:
        """`acquire`, awaitable."""
        return self.acquire(key, plan, need, now, max_wait)

    async def aconfirm(
        self, key: str, plan: Plan, ticket: Ticket, now: float
    ) -> tuple[float, Ticket]:
        """`confirm`, awaitable."""
        return self.confirm(key, plan, ticket, now)

    async def asettle(
        self,
        key: str,
        plan: Plan,
        ticket: Ticket,
        *,
        need: Vec,
        used: Vec | None,
        observed: Observation | None,
        now: float,
    ) -> None:
        """`settle`, awaitable."""
        self.settle(key, plan, ticket, need=need, used=used, observed=observed, now=now)

    async def apause(self, key: str, plan: Plan, seconds: float, now: float) -> None:
        """`pause`, awaitable."""
        self.pause(key, plan, seconds, now)

    async def aobserve(self, key: str, plan: Plan, observed: Observation, now: float) -> None:
        """`observe`, awaitable."""
        self.observe(key, plan, observed, now)

    def close(self) -> None:
        """Nothing to release."""

    async def aclose(self) -> None:
        """Nothing to release."""

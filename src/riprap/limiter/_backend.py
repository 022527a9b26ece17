"""What a limiter backend provides: the steps of `_bucket.py` and `_settle.py`, kept per scope.

`MemoryBackend` runs them under a lock in this process; `RedisBackend` runs them as one
Lua script on a Redis shared by a fleet. Every step comes in a sync and an async form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from riprap.limiter._bucket import Observation, Outcome, Plan, Ticket, Vec


class Backend(Protocol):
    """Where the limiter keeps each scope's state: `MemoryBackend` or `RedisBackend`."""

    def acquire(self, key: str, plan: Plan, need: Vec, now: float, max_wait: float) -> Outcome:
        """Reserve `need` for scope `key`."""
        ...

    def confirm(self, key: str, plan: Plan, ticket: Ticket, now: float) -> tuple[float, Ticket]:
        """Extra wait for a woken slot."""
        ...

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
        """Reconcile a reservation."""
        ...

    def pause(self, key: str, plan: Plan, seconds: float, now: float) -> None:
        """Hold the scope for `seconds`."""
        ...

    def observe(self, key: str, plan: Plan, observed: Observation, now: float) -> None:
        """Learn from headers seen outside a reservation."""
        ...

    async def aacquire(
        self, key: str, plan: Plan, need: Vec, now: float, max_wait: float
    ) -> Outcome:
        """`acquire`, awaitable."""
        ...

    async def aconfirm(
        self, key: str, plan: Plan, ticket: Ticket, now: float
    ) -> tuple[float, Ticket]:
        """`confirm`, awaitable."""
        ...

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
        ...

    async def apause(self, key: str, plan: Plan, seconds: float, now: float) -> None:
        """`pause`, awaitable."""
        ...

    async def aobserve(self, key: str, plan: Plan, observed: Observation, now: float) -> None:
        """`observe`, awaitable."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    async def aclose(self) -> None:
        """Release connections, async ones too."""
        ...

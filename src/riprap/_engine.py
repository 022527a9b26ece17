"""What every call of one wrapped client shares, and what the breaker hears of an attempt.

`Engine` is built once by `riprap.wrap`; `Verdict` is left by `CallState` after each
attempt for the shells to hand to the circuit breaker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from riprap._clock import Clock
    from riprap._fallback import Chain
    from riprap._kinds import Kind
    from riprap._outer import Outer
    from riprap.breaker import Breakers, CircuitBreaker, Permit
    from riprap.decide import RetryBudgetState
    from riprap.limiter import Limiter
    from riprap.observe import Event, Hook
    from riprap.policy import Retry, Timeouts
    from riprap.providers._base import SdkAdapter

_log = logging.getLogger("riprap")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the circuit breaker must be told about an attempt that ended."""

    breaker: CircuitBreaker
    permit: Permit
    #: The failure's kind; `None` when the attempt succeeded.
    kind: Kind | None
    latency: float
    #: The attempt says nothing about the target (not an API failure, interrupted).
    release: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Engine:
    """What every call of one wrapped client shares: policy, hooks, time, budget."""

    adapter: SdkAdapter
    retry: Retry
    timeouts: Timeouts
    hooks: tuple[Hook, ...]
    #: Characters of prompt and answer text events carry; `None` (the default): none.
    content_limit: int | None
    #: The outer layers: request validation, budgets, context strategy.
    outer: Outer
    clock: Clock
    random: Callable[[], float]
    budget: RetryBudgetState | None
    #: Circuit breakers of every target this client calls; `None`: off.
    breakers: Breakers | None = None
    #: Fallback targets and the degrade handler; `None`: the call has one target.
    chain: Chain | None = None
    #: The client-side rate limiter; `None`: off.
    limiter: Limiter | None = None

    def emit(self, event: Event) -> None:
        """Give `event` to every hook; a failing hook is logged, never raised."""
        for hook in self.hooks:
            try:
                hook(event)
            except Exception:  # noqa: BLE001 - a broken hook must not break the user's call
                _log.exception("riprap: hook %r failed on %s", hook, event.name)

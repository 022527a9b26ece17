"""Circuit breakers: stop sending to a target that is down, and come back when it recovers.

One breaker per target (provider, model, endpoint). `Breaker` is the policy;
`CircuitBreaker` one target's circuit; `Breakers` every target's under one policy. The
state lives in process memory (`MemoryBackend`, the default) or in Redis
(`RedisBackend`), where a fleet on one key trips and recovers together. The decisions
are the pure functions of `riprap.breaker` (`admit`, `settle`, `view`), time passed in.
"""

from riprap.breaker._circuit import Breakers, CircuitBreaker, CircuitOpenError, target_key
from riprap.breaker._machine import (
    SLOTS,
    Admission,
    Circuit,
    Outcome,
    Permit,
    Reason,
    Rejected,
    Snapshot,
    State,
    Transition,
    admit,
    isolate,
    outcome_of,
    reset,
    settle,
    view,
    window_counts,
)
from riprap.breaker._memory import Backend, Command, MemoryBackend
from riprap.breaker._policy import Breaker
from riprap.breaker._redis import RedisBackend

__all__ = [
    "SLOTS",
    "Admission",
    "Backend",
    "Breaker",
    "Breakers",
    "Circuit",
    "CircuitBreaker",
    "CircuitOpenError",
    "Command",
    "MemoryBackend",
    "Outcome",
    "Permit",
    "Reason",
    "RedisBackend",
    "Rejected",
    "Snapshot",
    "State",
    "Transition",
    "admit",
    "isolate",
    "outcome_of",
    "reset",
    "settle",
    "target_key",
    "view",
    "window_counts",
]

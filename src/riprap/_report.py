"""What happened in one call: its attempts, waits, request ids and usage, as values."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from riprap._kinds import Kind  # noqa: TC001 - dataclass fields are read at runtime by users


class Stop(enum.StrEnum):
    """Why the retry loop stopped without success."""

    NOT_RETRYABLE = "not_retryable"
    MAX_ATTEMPTS = "max_attempts"
    DEADLINE = "deadline"
    RETRY_AFTER_BEYOND_DEADLINE = "retry_after_beyond_deadline"
    RETRY_BUDGET = "retry_budget"
    #: A stream failed after text reached the caller, and it cannot be resumed.
    NOT_RESUMABLE = "not_resumable"
    #: The caller's own mistake (a bad argument): the SDK refused before sending.
    CALLER_ERROR = "caller_error"
    #: Interrupted from outside: the task was cancelled, or the thread interrupted.
    CANCELLED = "cancelled"
    #: The target's circuit breaker is open: nothing was sent (`CircuitOpenError`).
    CIRCUIT_OPEN = "circuit_open"
    #: A fallback target was ready and the backoff wait would have spent over half of
    #: what was left of the deadline: the call moved on instead of waiting.
    MOVED_ON = "moved_on"
    #: The client-side rate limiter would have made the call wait past its deadline
    #: (`RateLimitWaitBeyondDeadlineError`): nothing was sent.
    LIMITER_WAIT_BEYOND_DEADLINE = "limiter_wait_beyond_deadline"
    #: The limiter's shared store (Redis) could not be reached and it fails closed
    #: (`LimiterUnavailableError`): nothing was sent.
    LIMITER_UNAVAILABLE = "limiter_unavailable"


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a call used, summed over its attempts.

    Cached prompt tokens are kept apart from `input_tokens` (as Anthropic reports them),
    because they are priced differently; `prompt_tokens` is the whole prompt.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token, cached or not."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        """Usage of two attempts together."""
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One attempt of a call, as it ended."""

    number: int
    #: `None` when the attempt succeeded.
    kind: Kind | None
    status: int | None
    request_id: str | None
    #: Seconds from the start of the call to the start of this attempt.
    started: float
    latency: float
    #: Seconds waited after this attempt before the next one (0 for the last).
    wait: float = 0.0
    retry_after: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallReport:
    """The history of one call through riprap."""

    call_id: str
    provider: str
    model: str | None
    attempts: tuple[Attempt, ...]
    ok: bool
    elapsed: float
    #: Set when the call failed: why riprap stopped.
    stop: Stop | None = None
    usage: Usage | None = None
    #: Dollars, from the model registry's prices and `usage`; `None` if a price is unknown.
    cost: float | None = None
    #: The target this call went to, as "provider:model" (the one that served it, when
    #: it succeeded).
    target: str = ""
    #: Every target failed and the client's `degrade` handler answered instead.
    degraded: bool = False

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The provider's request ids, one per attempt that got a response."""
        return tuple(a.request_id for a in self.attempts if a.request_id is not None)

    @property
    def waited(self) -> float:
        """Seconds spent waiting between attempts."""
        return sum(a.wait for a in self.attempts)

    def summary(self) -> str:
        """One line for a traceback note or a log message; never holds prompt text."""
        parts = []
        for a in self.attempts:
            what = "ok" if a.kind is None else str(a.kind)
            if a.status is not None:
                what += f" {a.status}"
            if a.request_id:
                what += f" {a.request_id}"
            if a.wait:
                what += f", waited {a.wait:.2f}s"
            parts.append(f"#{a.number} {what}")
        outcome = "succeeded" if self.ok else f"failed ({self.stop})"
        return (
            f"call {self.call_id} to {self.provider} {outcome} after {len(self.attempts)} "
            f"attempt(s) in {self.elapsed:.2f}s: " + "; ".join(parts)
        )

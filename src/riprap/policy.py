"""Configuration: frozen, keyword-only objects with safe defaults.

Every default lives here, with a comment on where its number comes from. Variants are
made with `dataclasses.replace`. Each field takes one type with one meaning; a bad value
raises `ConfigError` naming the field and the value, when the object is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from riprap._kinds import Kind
from riprap.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Per-kind base delays (seconds) for full-jitter backoff. 0.5 s is both SDKs'
#: `INITIAL_RETRY_DELAY`. Overload (529) means the provider is short of capacity for
#: minutes, not milliseconds, so it starts 4x longer; a timed-out attempt already spent
#: its time, and a 429 without retry-after says "slow down": both start at 1 s.
DEFAULT_KIND_BASE_DELAYS: Mapping[Kind, float] = MappingProxyType(
    {
        Kind.OVERLOADED: 2.0,
        Kind.RATE_LIMITED: 1.0,
        Kind.TIMEOUT: 1.0,
        Kind.CONNECTION: 0.5,
        Kind.SERVER_ERROR: 0.5,
    }
)


def _check(condition: bool, owner: str, name: str, value: object, want: str) -> None:  # noqa: FBT001
    if not condition:
        raise ConfigError(f"{owner}.{name}: {value!r} is not {want}")


def _positive(owner: str, name: str, value: float) -> None:
    _check(math.isfinite(value) and value > 0, owner, name, value, "a positive finite number")


def _nonnegative(owner: str, name: str, value: float) -> None:
    _check(math.isfinite(value) and value >= 0, owner, name, value, "a finite number >= 0")


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryBudget:
    """Keeps retries a bounded fraction of traffic, so an outage does not become a storm.

    Over a rolling `window`, retries may be at most `ratio` times the calls started, plus
    `min_per_second * window` so that a quiet client can still retry. In a full outage
    this caps the load riprap sends at (1 + ratio) times the calls, instead of
    `max_attempts` times. Why this shape and these numbers: docs/decisions.md.
    """

    #: 0.5 caps outage amplification at 1.5x, and still retries every call to success
    #: while up to a third of attempts fail (expected retries per call p/(1-p) <= 0.5).
    ratio: float = 0.5
    #: Finagle's RetryBudget reserve is 10/s for RPC services; LLM calls are ~100x
    #: slower and fewer, so 1/s.
    min_per_second: float = 1.0
    #: Finagle's default TTL for deposits: 10 s.
    window: float = 10.0

    def __post_init__(self) -> None:
        _nonnegative("RetryBudget", "ratio", self.ratio)
        _nonnegative("RetryBudget", "min_per_second", self.min_per_second)
        _positive("RetryBudget", "window", self.window)


@dataclass(frozen=True, kw_only=True, slots=True)
class Retry:
    """How one call retries: attempts, backoff, and the deadline over all of it."""

    #: Attempts in all, the first included. At a 25 % transient failure rate a call
    #: fails all 8 with probability 0.25**8 ≈ 1.5e-5. The cost of a high number is
    #: bounded by `deadline` and `budget`, not by this one.
    max_attempts: int = 8
    #: Seconds for the whole call: every attempt and every wait. `None`: twice the
    #: call's attempt timeout (see `Timeouts`), and at least `MIN_DEFAULT_DEADLINE`.
    deadline: float | None = None
    #: First backoff for kinds without an entry in `kind_base_delays`: 0.5 s, the SDKs'.
    base_delay: float = 0.5
    kind_base_delays: Mapping[Kind, float] = field(default_factory=lambda: DEFAULT_KIND_BASE_DELAYS)
    #: Longest backoff, before jitter. Overload episodes last tens of seconds; the SDKs'
    #: 8 s cap re-tries an overloaded provider too often to help it recover.
    cap: float = 30.0
    #: Share of a provider's retry-after added at random on top of it (at least
    #: `MIN_RETRY_AFTER_SPREAD`), so clients told the same thing do not return together.
    retry_after_spread: float = 0.1
    #: `None` turns the budget off (every retryable failure is retried).
    budget: RetryBudget | None = field(default_factory=RetryBudget)

    #: Floor of the default deadline: long enough for several attempts of a short call.
    MIN_DEFAULT_DEADLINE = 120.0
    #: Smallest random addition to a retry-after (seconds).
    MIN_RETRY_AFTER_SPREAD = 0.05

    def __post_init__(self) -> None:
        _check(
            isinstance(self.max_attempts, int) and self.max_attempts >= 1,
            "Retry",
            "max_attempts",
            self.max_attempts,
            "an int >= 1",
        )
        if self.deadline is not None:
            _positive("Retry", "deadline", self.deadline)
        _nonnegative("Retry", "base_delay", self.base_delay)
        _nonnegative("Retry", "cap", self.cap)
        _nonnegative("Retry", "retry_after_spread", self.retry_after_spread)
        for kind, delay in self.kind_base_delays.items():
            _check(isinstance(kind, Kind), "Retry", "kind_base_delays", kind, "a riprap.Kind")
            _nonnegative("Retry", f"kind_base_delays[{kind}]", delay)
        object.__setattr__(self, "kind_base_delays", MappingProxyType(dict(self.kind_base_delays)))

    def base_delay_for(self, kind: Kind) -> float:
        """The first backoff delay for failures of `kind`."""
        return self.kind_base_delays.get(kind, self.base_delay)


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeouts:
    """Per-attempt time limits; each is also cut to what is left of the call's deadline.

    By default the attempt limit scales with the work asked for: `first_byte` plus
    `seconds_per_output_token` for every token of `max_tokens`, at most `max_attempt`.
    A 64-token answer gets 32 s, not ten minutes; 16,000 tokens get 480 s.
    """

    #: Both SDKs' default connect timeout.
    connect: float = 5.0
    #: A fixed limit for every attempt; `None` scales it with `max_tokens` (see above).
    attempt: float | None = None
    #: Allowance for queueing and prompt processing before output starts.
    first_byte: float = 30.0
    #: The Anthropic SDK's worst-case generation rate: 128,000 tokens an hour.
    seconds_per_output_token: float = 3600 / 128_000
    #: Both SDKs' default request timeout: 600 s.
    max_attempt: float = 600.0
    #: Output size assumed when a call sets no `max_tokens` (optional for OpenAI).
    assumed_output_tokens: int = 4096
    #: Streams: longest wait from sending to the first token. Processing a full 200k-token
    #: prompt takes tens of seconds before anything is generated.
    first_token: float = 60.0
    #: Streams: longest silence between events once tokens flow. Generation sends tokens
    #: every few hundred milliseconds, and Anthropic adds pings; 30 s of nothing is a
    #: stalled connection, not a slow model.
    idle: float = 30.0

    def __post_init__(self) -> None:
        _positive("Timeouts", "connect", self.connect)
        if self.attempt is not None:
            _positive("Timeouts", "attempt", self.attempt)
        _positive("Timeouts", "first_byte", self.first_byte)
        _nonnegative("Timeouts", "seconds_per_output_token", self.seconds_per_output_token)
        _positive("Timeouts", "max_attempt", self.max_attempt)
        _positive("Timeouts", "first_token", self.first_token)
        _positive("Timeouts", "idle", self.idle)
        _check(
            isinstance(self.assumed_output_tokens, int) and self.assumed_output_tokens >= 1,
            "Timeouts",
            "assumed_output_tokens",
            self.assumed_output_tokens,
            "an int >= 1",
        )

    def attempt_for(self, max_tokens: int | None) -> float:
        """The limit for one attempt of a call that may produce `max_tokens` tokens."""
        if self.attempt is not None:
            return self.attempt
        tokens = self.assumed_output_tokens if max_tokens is None else max_tokens
        return min(self.max_attempt, self.first_byte + tokens * self.seconds_per_output_token)


def default_deadline(retry: Retry, attempt_timeout: float) -> float:
    """The call's deadline in seconds: the policy's, or the derived default."""
    if retry.deadline is not None:
        return retry.deadline
    return max(Retry.MIN_DEFAULT_DEADLINE, 2 * attempt_timeout)

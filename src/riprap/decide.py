"""Pure retry decisions: whether to try again, and how long to wait first.

Nothing here sleeps, reads a clock or draws a random number: time and randomness come in
as arguments, so every decision is exact under test. The sync and async loops in
`riprap._call` are thin shells around `decide`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from riprap._kinds import RULES, Fallback
from riprap._report import Stop

if TYPE_CHECKING:
    from riprap._failure import Failure
    from riprap._kinds import Kind
    from riprap.policy import Retry, RetryBudget

#: An attempt with less time than this left can only time out: riprap gives up instead
#: of starting it. A loopback call takes a millisecond; a real LLM call, hundreds.
MIN_ATTEMPT_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Try again after `wait` seconds."""

    wait: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop trying; `detail` says why in words a person can act on."""

    stop: Stop
    detail: str


Decision = RetryAfter | GiveUp


def backoff(kind: Kind, retry_number: int, policy: Retry, u: float) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(n-1))).

    `retry_number` counts from 1 (the wait before the second attempt); `u` is a uniform
    draw in [0, 1). Full jitter spreads clients best for the least total wait (the AWS
    Architecture Blog's "Exponential Backoff and Jitter" comparison).
    """
    exponent = min(retry_number - 1, 60)  # 2**60 * any base is far past any cap
    ceiling = min(policy.cap, policy.base_delay_for(kind) * 2.0**exponent)
    return u * ceiling


def retry_after_wait(retry_after: float, policy: Retry, u: float) -> float:
    """The provider's wait plus a small positive jitter: never earlier than asked."""
    spread = max(policy.retry_after_spread * retry_after, policy.MIN_RETRY_AFTER_SPREAD)
    return retry_after + u * spread


def decide(
    failure: Failure,
    *,
    attempts_made: int,
    kind_attempts: int,
    policy: Retry,
    remaining: float,
    u: float,
    can_move_on: bool = False,
) -> Decision:
    """Decide what to do after a failed attempt.

    `attempts_made` counts every attempt of the call so far, this one included;
    `kind_attempts` those that failed with this failure's kind. `remaining` is the
    seconds left of the call's deadline; `u` a uniform draw in [0, 1); `can_move_on`
    says a fallback target is ready after this one.

    A wait never undercuts the provider's retry-after and never leaves less than
    `MIN_ATTEMPT_SECONDS` for the next attempt: jitter that would cross the deadline is
    cut back instead of ending a call that still has time. The retry budget is asked
    last, by the caller, and only when this says retry: a retry that would not happen
    anyway must not spend it.
    """
    if not failure.retryable:
        return GiveUp(Stop.NOT_RETRYABLE, f"{failure.kind} is not retried")
    spent = _attempts_spent(failure, attempts_made, kind_attempts, policy)
    if spent is not None:
        return spent
    room = remaining - MIN_ATTEMPT_SECONDS
    wait = backoff(failure.kind, attempts_made, policy, u)
    floor = 0.0
    if failure.retry_after is not None:
        floor = failure.retry_after
        if floor >= remaining:
            return GiveUp(
                Stop.RETRY_AFTER_BEYOND_DEADLINE,
                f"the provider asked to wait {floor:.3g}s (retry-after) but only "
                f"{remaining:.3g}s remain of the call's deadline",
            )
        # A floor, not a replacement: `retry-after: 0` on every 529 must not turn the
        # overload backoff into a hammering.
        wait = max(wait, retry_after_wait(floor, policy, u))
    if room <= 0 or floor > room:
        return GiveUp(
            Stop.DEADLINE,
            f"only {remaining:.3g}s remain, too little for another attempt after waiting "
            f"{floor:.3g}s (an attempt needs at least {MIN_ATTEMPT_SECONDS}s)",
        )
    wait = max(floor, min(wait, room))
    if (
        can_move_on
        and RULES[failure.kind].fallback is Fallback.YES
        and wait > min(MOVE_ON_SHARE * remaining, MOVE_ON_WAIT)
    ):
        return MOVED_ON
    return RetryAfter(wait)


def _attempts_spent(
    failure: Failure, attempts_made: int, kind_attempts: int, policy: Retry
) -> GiveUp | None:
    if attempts_made >= policy.max_attempts:
        return GiveUp(Stop.MAX_ATTEMPTS, f"{attempts_made} of {policy.max_attempts} attempts used")
    kind_cap = RULES[failure.kind].max_attempts
    if kind_cap is not None and kind_attempts >= kind_cap:
        return GiveUp(
            Stop.MAX_ATTEMPTS,
            f"{kind_attempts} {failure.kind} failures, at most {kind_cap} allowed",
        )
    return None


#: With a fallback target ready, a retry whose wait would take more than this share of
#: what is left of the deadline moves on instead. Half: after such a wait the retry
#: itself still needs an attempt's time, so the call would end with at most the other
#: half for that attempt and every fallback together; the fallback can use all of it now.
MOVE_ON_SHARE = 0.5
#: With a fallback target ready, the longest wait before trying the same target again:
#: the SDKs' first backoff (0.5 s), a delay the caller had without riprap. A target that
#: just failed in a way the fallback layer moves on from (overload, 5xx, a timeout) is
#: unlikely to answer sooner than the ready fallback; a draw of the jittered backoff
#: above this goes there at once instead, so a chain's answer during an outage costs
#: at most about this much more than the fallback's own latency.
MOVE_ON_WAIT = 0.5
MOVED_ON = GiveUp(
    Stop.MOVED_ON,
    f"a fallback target is ready and the wait would be over {MOVE_ON_WAIT:g}s or "
    f"{MOVE_ON_SHARE:.0%} of the time left",
)
BUDGET_SPENT = GiveUp(Stop.RETRY_BUDGET, "the retry budget is spent (too many recent retries)")
NOT_RESUMABLE = GiveUp(
    Stop.NOT_RESUMABLE, "the stream broke after output reached the caller and cannot be resumed"
)


class RetryBudgetState:
    """Counts calls and retries over a rolling window, for a `RetryBudget`.

    Time is passed in; the window is kept as `SLOTS` buckets, so the count forgets old
    traffic in steps of `window / SLOTS`. Thread-safe: one budget serves every call of
    a wrapped client, from any thread or task.
    """

    #: Ten buckets: the window forgets in steps of a tenth, like Finagle's.
    SLOTS = 10

    def __init__(self, config: RetryBudget) -> None:
        """Start an empty budget."""
        self._config = config
        self._slot_width = config.window / self.SLOTS
        self._calls = [0] * self.SLOTS
        self._retries = [0] * self.SLOTS
        self._epoch = [-1] * self.SLOTS  # which slot-number each bucket currently holds
        self._lock = threading.Lock()

    def _bucket(self, now: float) -> int:
        number = int(now // self._slot_width)
        index = number % self.SLOTS
        if self._epoch[index] != number:
            self._epoch[index] = number
            self._calls[index] = 0
            self._retries[index] = 0
        return index

    def _live(self, now: float) -> tuple[int, int]:
        current = int(now // self._slot_width)
        calls = retries = 0
        for i in range(self.SLOTS):
            if current - self.SLOTS < self._epoch[i] <= current:
                calls += self._calls[i]
                retries += self._retries[i]
        return calls, retries

    def record_call(self, now: float) -> None:
        """A call started (its first attempt): deposit `ratio` of a retry."""
        with self._lock:
            self._calls[self._bucket(now)] += 1

    def try_withdraw(self, now: float) -> bool:
        """Take one retry from the budget if it has room; say whether it had."""
        with self._lock:
            calls, retries = self._live(now)
            allowance = (
                self._config.ratio * calls + self._config.min_per_second * self._config.window
            )
            if retries + 1 > allowance:
                return False
            self._retries[self._bucket(now)] += 1
            return True

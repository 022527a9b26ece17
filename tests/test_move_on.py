"""With a fallback ready, a long backoff moves on instead of waiting: exact numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riprap import Kind, Retry, Stop
from riprap._failure import Failure
from riprap.decide import MOVE_ON_WAIT, GiveUp, RetryAfter, decide

POLICY = Retry()


def overloaded(retry_after: float | None = None) -> Failure:
    """A 529 as the adapter classifies it."""
    return Failure(kind=Kind.OVERLOADED, retryable=True, provider="test", retry_after=retry_after)


def moved(u: float, *, ready: bool = True, remaining: float = 120.0, made: int = 1) -> bool:
    """Whether a 529 with jitter draw `u` moves on."""
    decision = decide(overloaded(), attempts_made=made, kind_attempts=made, policy=POLICY,
                      remaining=remaining, u=u, can_move_on=ready)  # fmt: skip
    return isinstance(decision, GiveUp) and decision.stop is Stop.MOVED_ON


def test_a_backoff_up_to_half_a_second_is_waited_for() -> None:
    """Overload's first backoff is uniform in [0, 2 s): up to 0.5 s it waits, then moves on."""
    assert decide(overloaded(), attempts_made=1, kind_attempts=1, policy=POLICY, remaining=120.0,
                  u=0.25, can_move_on=True) == RetryAfter(0.5)  # fmt: skip
    assert moved(0.2501)
    assert not moved(0.9, ready=False), "without a fallback the loop waits as before"


def test_a_retry_after_over_the_bound_moves_on() -> None:
    """A provider's retry-after of 1 s is not waited for when a fallback can answer now."""
    decision = decide(overloaded(retry_after=1.0), attempts_made=1, kind_attempts=1,
                      policy=POLICY, remaining=120.0, u=0.0, can_move_on=True)  # fmt: skip
    assert isinstance(decision, GiveUp)
    assert decision.stop is Stop.MOVED_ON


@given(u=st.floats(0.0, 0.999), made=st.integers(1, 7), remaining=st.floats(1.0, 600.0))
def test_a_wait_with_a_fallback_ready_is_never_over_the_bound(
    u: float, made: int, remaining: float
) -> None:
    """Whatever the draw, attempt or deadline: a chain's retry waits at most `MOVE_ON_WAIT`."""
    decision = decide(overloaded(), attempts_made=made, kind_attempts=made, policy=POLICY,
                      remaining=remaining, u=u, can_move_on=True)  # fmt: skip
    if isinstance(decision, RetryAfter):
        assert decision.wait <= MOVE_ON_WAIT

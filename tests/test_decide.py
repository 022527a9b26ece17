"""The pure retry decisions, with exact numbers and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap import Kind, Retry, RetryBudget, Stop
from riprap._failure import Failure
from riprap._kinds import RULES
from riprap.decide import (
    MIN_ATTEMPT_SECONDS,
    GiveUp,
    RetryAfter,
    RetryBudgetState,
    backoff,
    decide,
    retry_after_wait,
)

POLICY = Retry()


def failure(
    kind: Kind, *, retry_after: float | None = None, retryable: bool | None = None
) -> Failure:
    """A failure of `kind` as an adapter would classify it."""
    return Failure(
        kind=kind,
        retryable=RULES[kind].retryable if retryable is None else retryable,
        provider="test",
        retry_after=retry_after,
    )


def test_backoff_is_full_jitter_with_per_kind_bases() -> None:
    """The ceiling doubles per retry from the kind's base; u scales it."""
    assert backoff(Kind.SERVER_ERROR, 1, POLICY, 0.5) == 0.25
    assert backoff(Kind.SERVER_ERROR, 3, POLICY, 0.5) == 1.0
    assert backoff(Kind.OVERLOADED, 1, POLICY, 0.5) == 1.0
    assert backoff(Kind.RATE_LIMITED, 2, POLICY, 1.0) == 2.0
    assert backoff(Kind.TIMEOUT, 1, POLICY, 0.0) == 0.0


def test_backoff_is_capped() -> None:
    """No backoff exceeds the cap, however many retries."""
    assert backoff(Kind.OVERLOADED, 50, POLICY, 0.999) == pytest.approx(30 * 0.999)
    assert backoff(Kind.OVERLOADED, 10_000, POLICY, 1.0) == 30.0


def test_retry_after_is_honoured_with_small_positive_jitter() -> None:
    """The wait is the asked time plus at most 10 % (at least 50 ms of spread)."""
    assert retry_after_wait(10.0, POLICY, 0.0) == 10.0
    assert retry_after_wait(10.0, POLICY, 1.0) == 11.0
    assert retry_after_wait(0.1, POLICY, 1.0) == pytest.approx(0.15)


def decide_(
    f: Failure,
    *,
    made: int = 1,
    same_kind: int | None = None,
    remaining: float = 60.0,
    u: float = 0.5,
    policy: Retry = POLICY,
) -> GiveUp | RetryAfter:
    """`decide` with the common arguments defaulted."""
    return decide(
        f, attempts_made=made, kind_attempts=made if same_kind is None else same_kind,
        policy=policy, remaining=remaining, u=u,
    )  # fmt: skip


def test_not_retryable_gives_up_at_once() -> None:
    """A kind the table does not retry stops on the first attempt."""
    assert decide_(failure(Kind.AUTHENTICATION)) == GiveUp(
        Stop.NOT_RETRYABLE, "authentication is not retried"
    )


def test_server_may_forbid_a_retry_the_table_allows() -> None:
    """`retryable=False` (from x-should-retry: false) wins over the kind."""
    decision = decide_(failure(Kind.SERVER_ERROR, retryable=False))
    assert isinstance(decision, GiveUp)
    assert decision.stop is Stop.NOT_RETRYABLE


def test_max_attempts_stops() -> None:
    """The policy's attempt count is a hard limit."""
    policy = Retry(max_attempts=3)
    assert isinstance(decide_(failure(Kind.CONNECTION), made=2, policy=policy), RetryAfter)
    decision = decide_(failure(Kind.CONNECTION), made=3, policy=policy)
    assert decision == GiveUp(Stop.MAX_ATTEMPTS, "3 of 3 attempts used")


def test_unparseable_response_is_retried_once() -> None:
    """response_invalid allows two such failures whatever the policy says."""
    assert isinstance(decide_(failure(Kind.RESPONSE_INVALID), made=1), RetryAfter)
    decision = decide_(failure(Kind.RESPONSE_INVALID), made=2)
    assert decision == GiveUp(Stop.MAX_ATTEMPTS, "2 response_invalid failures, at most 2 allowed")


def test_kind_cap_counts_only_that_kind() -> None:
    """After two 500s, a first bad body is still retried."""
    assert isinstance(decide_(failure(Kind.RESPONSE_INVALID), made=3, same_kind=1), RetryAfter)


def test_retry_after_beyond_deadline_names_both_numbers() -> None:
    """A 30 s retry-after with 10 s left fails at once, saying 30 and 10."""
    decision = decide_(failure(Kind.RATE_LIMITED, retry_after=30), remaining=10)
    assert isinstance(decision, GiveUp)
    assert decision.stop is Stop.RETRY_AFTER_BEYOND_DEADLINE
    assert "wait 30s" in decision.detail
    assert "only 10s remain" in decision.detail


def test_retry_after_within_deadline_waits_at_least_as_asked() -> None:
    """A 2 s retry-after with time to spare waits 2 s plus jitter."""
    assert decide_(failure(Kind.RATE_LIMITED, retry_after=2), remaining=10) == RetryAfter(2.1)


def test_retry_after_is_a_floor_not_a_replacement() -> None:
    """`retry-after: 0` on a 529 still gets the overload backoff."""
    decision = decide_(failure(Kind.OVERLOADED, retry_after=0.0), made=3, u=0.5)
    assert decision == RetryAfter(4.0)


def test_jitter_is_cut_back_rather_than_ending_a_call_with_time_left() -> None:
    """A long draw is shortened to leave room for an attempt; the call goes on."""
    assert decide_(failure(Kind.OVERLOADED), made=3, remaining=5.0, u=0.9) == RetryAfter(4.75)
    decision = decide_(failure(Kind.RATE_LIMITED, retry_after=9.7), remaining=10.0, u=0.99)
    assert decision == RetryAfter(9.75)


def test_no_room_for_another_attempt_gives_up() -> None:
    """With less than an attempt's worth of time left, the call stops."""
    decision = decide_(failure(Kind.OVERLOADED), remaining=0.2)
    assert isinstance(decision, GiveUp)
    assert decision.stop is Stop.DEADLINE
    decision = decide_(failure(Kind.RATE_LIMITED, retry_after=9.9), remaining=10.0)
    assert isinstance(decision, GiveUp)
    assert decision.stop is Stop.DEADLINE


@given(
    kind=st.sampled_from(list(Kind)),
    made=st.integers(1, 20),
    remaining=st.floats(0.0, 1e4),
    retry_after=st.one_of(st.none(), st.floats(0.0, 1e4)),
    u=st.floats(0.0, 1.0, exclude_max=True),
)
def test_no_decision_sleeps_past_the_deadline_or_before_retry_after(
    kind: Kind, made: int, remaining: float, retry_after: float | None, u: float
) -> None:
    """Every wait leaves time for an attempt, and never undercuts retry-after."""
    decision = decide_(failure(kind, retry_after=retry_after), made=made, remaining=remaining, u=u)
    if isinstance(decision, RetryAfter):
        assert decision.wait + MIN_ATTEMPT_SECONDS <= remaining + 1e-9
        assert RULES[kind].retryable
        if retry_after is not None:
            assert decision.wait >= retry_after


@given(
    kind=st.sampled_from(list(Kind)),
    n=st.integers(1, 100),
    u=st.floats(0.0, 1.0, exclude_max=True),
)
def test_backoff_stays_in_bounds(kind: Kind, n: int, u: float) -> None:
    """Backoff is within [0, cap] and never negative."""
    assert 0.0 <= backoff(kind, n, POLICY, u) <= POLICY.cap


def test_budget_allows_ratio_of_calls_plus_reserve() -> None:
    """With 100 calls in the window, 0.5 ratio and 1/s over 10 s, 60 retries fit, not 61."""
    state = RetryBudgetState(RetryBudget())
    for _ in range(100):
        state.record_call(5.0)
    assert all(state.try_withdraw(5.0) for _ in range(60))
    assert not state.try_withdraw(5.0)


def test_budget_forgets_old_traffic() -> None:
    """Retries spent more than a window ago no longer count."""
    state = RetryBudgetState(RetryBudget(ratio=0.0, min_per_second=0.1, window=10.0))
    assert state.try_withdraw(0.0)
    assert not state.try_withdraw(9.0)
    assert state.try_withdraw(10.5)


@given(
    calls=st.integers(0, 500),
    ratio=st.floats(0.0, 2.0),
    reserve=st.floats(0.0, 5.0),
)
def test_budget_never_exceeds_its_allowance(calls: int, ratio: float, reserve: float) -> None:
    """Within one instant, granted retries never exceed ratio * calls + reserve * window."""
    config = RetryBudget(ratio=ratio, min_per_second=reserve, window=10.0)
    state = RetryBudgetState(config)
    for _ in range(calls):
        state.record_call(1.0)
    granted = 0
    while state.try_withdraw(1.0):
        granted += 1
        assert granted <= 10_000
    assert granted <= ratio * calls + reserve * 10.0
    assert granted >= int(ratio * calls + reserve * 10.0 - 1e-9) - 1


def test_a_long_wait_moves_on_when_a_fallback_is_ready() -> None:
    """A wait over half of what is left goes to the next target; without one it waits."""
    f = failure(Kind.RATE_LIMITED, retry_after=6.0)
    assert decide_(f, remaining=10.0, u=0.0) == RetryAfter(6.0)
    moved = decide(f, attempts_made=1, kind_attempts=1, policy=POLICY, remaining=10.0, u=0.0,
                   can_move_on=True)  # fmt: skip
    assert isinstance(moved, GiveUp)
    assert moved.stop is Stop.MOVED_ON
    # A kind that never falls back waits even when a fallback is ready.
    conflict = failure(Kind.CONFLICT, retry_after=6.0)
    kept = decide(conflict, attempts_made=1, kind_attempts=1, policy=POLICY, remaining=10.0,
                  u=0.0, can_move_on=True)  # fmt: skip
    assert kept == RetryAfter(6.0)

"""The benchmark's arithmetic, with exact numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap._bench._metrics import (
    Outcome,
    Sent,
    Window,
    bucket_minimum,
    closed_loop_minimum,
    count_status,
    failure_counts,
    makespan,
    open_loop_minimum,
    per_success,
    quantile,
    ratio,
    success_rate,
    successes,
    wasted_in_windows,
)

OUTCOMES = [
    Outcome(0.0, 1.0),
    Outcome(0.5, 4.0, "overloaded"),
    Outcome(1.0, 2.5),
    Outcome(2.0, 3.0, "rate_limited"),
    Outcome(2.0, 3.5, "overloaded"),
]


def test_success_rate_counts_calls_without_failure() -> None:
    """Two of five calls failed as overloaded and one as rate limited: 2 of 5 succeeded."""
    assert successes(OUTCOMES) == 2
    assert success_rate(OUTCOMES) == 0.4
    assert success_rate([]) == 0.0


def test_makespan_runs_from_first_start_to_last_end() -> None:
    """The first call starts at 0, the last ends at 4: makespan 4, failures included."""
    assert makespan(OUTCOMES) == 4.0
    assert makespan([Outcome(3.0, 3.5), Outcome(5.0, 6.0)]) == 3.0
    assert makespan([]) == 0.0


def test_latency_is_end_minus_start() -> None:
    """A call from 0.5 to 4.0 kept its caller waiting 3.5 s."""
    assert OUTCOMES[1].latency == 3.5


def test_failure_counts_are_commonest_first_then_by_name() -> None:
    """Overloaded twice comes before rate limited once; ties sort by label."""
    assert list(failure_counts(OUTCOMES).items()) == [("overloaded", 2), ("rate_limited", 1)]
    tie = [Outcome(0, 1, "b"), Outcome(0, 1, "a")]
    assert list(failure_counts(tie)) == ["a", "b"]


def test_per_success_and_ratio_have_no_value_without_a_denominator() -> None:
    """Attempts per success and the ratio to the minimum are None when dividing by 0."""
    assert per_success(7, 5) == 1.4
    assert per_success(3, 0) is None
    assert ratio(6.0, 4.0) == 1.5
    assert ratio(6.0, 0.0) is None


def test_quantile_is_nearest_rank() -> None:
    """p50 of 1..4 is 2 (the ceil(2)-th), p99 of 1..100 is 99, p100 the largest."""
    assert quantile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert quantile([float(i) for i in range(1, 101)], 0.99) == 99.0
    assert quantile([float(i) for i in range(1, 101)], 1.0) == 100.0
    assert quantile([5.0], 0.01) == 5.0
    assert quantile([], 0.5) is None


def test_quantile_rejects_q_outside_zero_to_one() -> None:
    """A q of 0 has no nearest rank; the error names the value."""
    with pytest.raises(ValueError, match="got 0"):
        quantile([1.0], 0)


@given(st.lists(st.floats(0, 1e6), min_size=1), st.floats(0.001, 1.0))
def test_quantile_returns_an_observed_value_with_enough_at_or_below(
    values: list[float], q: float
) -> None:
    """The result is one of the values, and at least q of them are at or below it."""
    result = quantile(values, q)
    assert result in values
    assert sum(1 for v in values if v <= result) >= math.ceil(q * len(values))


def test_closed_loop_minimum_schedules_calls_in_order_on_free_slots() -> None:
    """Durations 3,1,1,1,2 on two slots: slot B runs 1,1,1 then 2 ends at 5; A ends at 3."""
    assert closed_loop_minimum([3.0, 1.0, 1.0, 1.0, 2.0], 2) == 5.0
    assert closed_loop_minimum([3.0, 1.0], 1) == 4.0
    assert closed_loop_minimum([3.0, 1.0], 10) == 3.0
    assert closed_loop_minimum([], 4) == 0.0


def test_closed_loop_minimum_needs_a_slot() -> None:
    """Zero slots would never finish; the error names the value."""
    with pytest.raises(ValueError, match="slots must be >= 1, got 0"):
        closed_loop_minimum([1.0], 0)


@given(st.lists(st.floats(0, 100), max_size=50), st.integers(1, 60))
def test_closed_loop_minimum_lies_between_the_two_obvious_bounds(
    durations: list[float], slots: int
) -> None:
    """At least the longest call and the total over the slots; at most the total."""
    result = closed_loop_minimum(durations, slots)
    total = sum(durations)
    assert result >= max(durations, default=0.0)
    assert result >= total / slots - 1e-9
    assert result <= total + 1e-9


def test_open_loop_minimum_is_the_latest_arrival_plus_duration() -> None:
    """Arrivals 1, 2, 3 taking 5, 1, 1: the first ends last, at 6, i.e. 5 s after 1."""
    assert open_loop_minimum([1.0, 2.0, 3.0], [5.0, 1.0, 1.0]) == 5.0
    assert open_loop_minimum([], []) == 0.0
    with pytest.raises(ValueError, match="2 arrivals but 1 durations"):
        open_loop_minimum([0.0, 1.0], [1.0])


def test_bucket_minimum_is_demand_over_burst_at_the_rate() -> None:
    """46 requests from a bucket of 10 refilling 1.8/s: 36 / 1.8 = 20 s; within burst: 0."""
    assert bucket_minimum(46, 10, 1.8) == pytest.approx(20.0)
    assert bucket_minimum(8, 10, 1.8) == 0.0
    with pytest.raises(ValueError, match="per_second must be > 0, got 0"):
        bucket_minimum(1, 1, 0)


def test_wasted_counts_failed_requests_to_the_down_model_inside_its_window() -> None:
    """Only failures to model a between 5 and 15 count; a success there, b, or t=15 do not."""
    windows = [Window(5.0, 15.0, "a")]
    sent = [
        Sent(4.9, "a", failed=True, status=529),  # before
        Sent(5.0, "a", failed=True, status=529),  # counts
        Sent(10.0, "a", failed=False, status=200),  # answered
        Sent(10.0, "b", failed=True, status=500),  # another model
        Sent(14.9, "a", failed=True, status=0),  # counts (a reset)
        Sent(15.0, "a", failed=True, status=529),  # window over
    ]
    assert wasted_in_windows(sent, windows) == 2
    assert wasted_in_windows(sent, [Window(0.0, None, None)]) == 5
    assert wasted_in_windows(sent, []) == 0


def test_count_status_counts_exact_statuses() -> None:
    """Two 429s among 429, 200, 429, 0."""
    sent = [Sent(0, None, failed=True, status=s) for s in (429, 200, 429, 0)]
    assert count_status(sent, 429) == 2

"""Refill lost to calls that reached a full bucket late: charged once, never taken for others."""

from __future__ import annotations

from dataclasses import replace

import pytest
from limiter_support import plan, vec

from riprap.limiter._bucket import Announced, Grant, State, acquire
from riprap.limiter._settle import settle

#: 1 request/s, a bucket of 10, no headroom and no jitter: the margin is one request.
PLAN = plan(rpm=60, burst_seconds=10)
#: A scope that has read headers before (so readings update the estimate of others).
KNOWN = State(
    learned_rate=(1.0, None, None, None),
    learned_capacity=(10.0, None, None, None),
    warm=True,
    observed_at=(0.0, None, None, None),
    aligned_at=(0.0, None, None, None),
)


def _grant(state: State, now: float) -> tuple[Grant, State]:
    outcome, state = acquire(state, PLAN, vec(1), now, 60.0)
    assert isinstance(outcome, Grant)
    return outcome, state


def _headers(remaining: float, reset_in: float) -> tuple[Announced, None, None, None]:
    return (Announced(limit=60, remaining=remaining, reset_in=reset_in), None, None, None)


def test_a_call_that_arrived_late_at_a_full_bucket_is_charged_but_is_no_rate() -> None:
    """Let go at 0, it reached the full bucket at 2: 1 unit of refill lost, nobody else."""
    grant, state = _grant(KNOWN, 0.0)
    state = settle(
        state, PLAN, grant.ticket, need=vec(1), used=vec(1), observed=_headers(9, 1.0), now=2.0
    )
    assert state.foreign[0] == 0.0
    # The provider's level read from its reset (9.001, resolution 1 ms) against the books'
    # full 10: 0.999 charged, and the one-request margin.
    assert state.tat[0] == pytest.approx(2.0 + 0.999 + 1.0)


def test_the_readings_of_one_late_burst_charge_the_lost_refill_once() -> None:
    """Two calls let go at 0 reach the bucket at 3: the second reading finds nothing new."""
    first, state = _grant(KNOWN, 0.0)
    second, state = _grant(state, 0.0)
    state = settle(
        state, PLAN, first.ticket, need=vec(1), used=vec(1), observed=_headers(9, 1.0), now=3.0
    )
    charged = state.tat[0]
    assert charged == pytest.approx(3.0 + 0.999 + 1.0)
    state = settle(
        state, PLAN, second.ticket, need=vec(1), used=vec(1), observed=_headers(8, 2.0), now=3.0
    )
    assert state.tat[0] == charged
    assert state.shift[0] == pytest.approx(1.999)


def test_others_taking_from_the_bucket_still_count_as_a_rate() -> None:
    """On time at 0, with 3 fewer left than the books say: others' use, a rate and a charge."""
    grant, state = _grant(replace(KNOWN, observed_at=(-1.0, None, None, None)), 0.0)
    state = settle(
        state, PLAN, grant.ticket, need=vec(1), used=vec(1), observed=_headers(6, 4.0), now=0.0
    )
    # 3 units in a moment: 3/s, held to 90 % of the limit; the pace left is 0.1/s, at
    # which the 1 s still owed and the 3 + 1 charged take 10 + 40 s.
    assert state.foreign[0] == pytest.approx(0.9)
    assert state.tat[0] == pytest.approx(50.0)

"""The estimate of others' use of a key: a gap in the headers is a rate only over its build-up."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap.limiter._settle import FOREIGN_MEMORY, _foreign


def test_a_gap_that_built_up_over_five_seconds_is_a_fifth_of_a_unit_per_second() -> None:
    """Headers count whole requests: 1 missing after 5 s is 0.2/s, not 1/s."""
    assert _foreign(0.0, 1.0, elapsed=0.5, accrued=5.0, latency=0.03, ceiling=10.0) == 0.2


def test_a_fresh_gap_is_spread_over_the_time_constant() -> None:
    """A gap found right after the books matched: at most one unit a second per unit."""
    assert _foreign(0.0, 3.0, elapsed=0.1, accrued=0.1, latency=0.03, ceiling=10.0) == 3.0


def test_slow_round_trips_slow_the_estimate() -> None:
    """Four round trips of 2 s: a gap of 4 is 0.5/s."""
    assert _foreign(0.0, 4.0, elapsed=0.1, accrued=0.1, latency=2.0, ceiling=10.0) == 0.5


def test_the_estimate_fades_without_new_gaps() -> None:
    """A neighbour that stopped: after `FOREIGN_MEMORY` seconds, 1/e of the estimate."""
    faded = _foreign(2.0, 0.0, elapsed=FOREIGN_MEMORY, accrued=FOREIGN_MEMORY, latency=0.0,
                     ceiling=10.0)  # fmt: skip
    assert faded == pytest.approx(2.0 / math.e)


@given(
    rate=st.floats(0, 100),
    gap=st.floats(0, 1000),
    elapsed=st.floats(0, 120),
    accrued=st.floats(0, 120),
    latency=st.floats(0, 30),
    ceiling=st.floats(0, 100),
)
def test_one_reading_never_adds_more_than_its_gap_over_its_build_up(  # noqa: PLR0917
    rate: float, gap: float, elapsed: float, accrued: float, latency: float, ceiling: float
) -> None:
    """Within [0, ceiling], and the increase is at most gap / max(1 s, accrued)."""
    after = _foreign(rate, gap, elapsed=elapsed, accrued=accrued, latency=latency, ceiling=ceiling)
    assert 0.0 <= after <= ceiling
    assert after <= rate + gap / max(1.0, accrued) + 1e-9

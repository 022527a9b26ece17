"""Random operation sequences on a circuit, for the property and differential tests."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from riprap.breaker import Breaker, Outcome


@dataclass(frozen=True)
class Advance:
    """Move time forward."""

    seconds: float


@dataclass(frozen=True)
class Allow:
    """Ask to send an attempt."""


@dataclass(frozen=True)
class Record:
    """Report the `pick`-th outstanding permit (modulo how many there are)."""

    pick: int
    outcome: Outcome


@dataclass(frozen=True)
class Manual:
    """Isolate or reset by hand."""

    command: str


Op = Advance | Allow | Record | Manual

#: Times in quarter seconds, so that sums are exact in binary floating point.
ops = st.lists(
    st.one_of(
        st.builds(Advance, st.integers(0, 40).map(lambda n: n / 4)),
        st.just(Allow()),
        st.just(Allow()),
        st.builds(Record, st.integers(0, 8), st.sampled_from(list(Outcome))),
        st.builds(Record, st.integers(0, 8), st.just(Outcome.FAILURE)),
        st.builds(Manual, st.sampled_from(["isolate", "reset"])),
    ),
    max_size=60,
)

policies = st.builds(
    Breaker,
    failure_ratio=st.sampled_from([0.25, 0.5, 1.0]),
    window=st.sampled_from([2.0, 10.0]),
    min_throughput=st.integers(1, 5),
    consecutive_failures=st.sampled_from([None, 2, 3]),
    break_duration=st.sampled_from([1.0, 2.5]),
    break_growth=st.sampled_from([1.0, 2.0]),
    max_break=st.just(8.0),
    probes=st.integers(1, 3),
    probe_timeout=st.sampled_from([3.0, 120.0]),
)

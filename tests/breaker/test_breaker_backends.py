"""One suite, two backends: the memory default and Redis (a real server, `now` from FakeClock)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from riprap import Kind
from riprap.breaker import (
    Backend,
    Breaker,
    Breakers,
    CircuitBreaker,
    CircuitOpenError,
    Permit,
    Reason,
    Rejected,
    State,
    Transition,
)

if TYPE_CHECKING:
    from riprap.testing import FakeClock

POLICY = Breaker(min_throughput=4, consecutive_failures=None)
KEY = "anthropic:claude-sim:messages"


def fail(breaker: CircuitBreaker, times: int, kind: Kind = Kind.OVERLOADED) -> Transition | None:
    """Send `times` attempts that fail with `kind`; return the last transition."""
    transition = None
    for _ in range(times):
        permit = breaker.allow()
        assert isinstance(permit, Permit)
        transition = breaker.record(permit, kind)
    return transition


def test_overload_trips_and_open_rejects_at_once(backend: Backend, clock: FakeClock) -> None:
    """Four 529s open the circuit; the next attempt is refused with the break's remaining time."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=backend)
    assert fail(breaker, 3) is None
    assert fail(breaker, 1) == Transition(State.CLOSED, State.OPEN, Reason.FAILURE_RATIO, 5.0)
    clock.advance(1.5)
    assert breaker.allow() == Rejected(State.OPEN, 3.5)


def test_rate_limits_and_bad_requests_never_trip(backend: Backend) -> None:
    """429s and 400s, however many, leave the circuit closed: they are not the target's fault."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=backend)
    assert fail(breaker, 10, Kind.RATE_LIMITED) is None
    assert fail(breaker, 10, Kind.INVALID_REQUEST) is None
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.successes, snapshot.failures) == (State.CLOSED, 0, 0)


def test_successes_keep_the_ratio_down(backend: Backend) -> None:
    """Three successes and two failures (40 %) stay closed; counts are readable."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=backend)
    for _ in range(3):
        permit = breaker.allow()
        assert isinstance(permit, Permit)
        breaker.record(permit, None)
    fail(breaker, 2, Kind.SERVER_ERROR)
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.successes, snapshot.failures) == (State.CLOSED, 3, 2)
    assert snapshot.failure_ratio == 0.4


def test_consecutive_failures_trip(backend: Backend) -> None:
    """With the default policy, ten timeouts in a row open the circuit."""
    breaker = CircuitBreaker(KEY, policy=Breaker(), backend=backend)
    assert fail(breaker, 9, Kind.TIMEOUT) is None
    transition = fail(breaker, 1, Kind.TIMEOUT)
    assert transition is not None
    assert transition.reason is Reason.CONSECUTIVE_FAILURES


def test_slow_calls_count_when_configured(backend: Backend) -> None:
    """Successes slower than `slow_call` trip the circuit like failures."""
    policy = Breaker(min_throughput=2, consecutive_failures=None, slow_call=10.0)
    breaker = CircuitBreaker(KEY, policy=policy, backend=backend)
    for latency in (12.0, 11.0):
        permit = breaker.allow()
        assert isinstance(permit, Permit)
        transition = breaker.record(permit, None, latency=latency)
    assert transition is not None
    assert transition.current is State.OPEN


def test_probe_then_recovery(backend: Backend, clock: FakeClock) -> None:
    """After the break one probe goes, others wait; its success closes the circuit."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=backend)
    fail(breaker, 4)
    clock.advance(5.0)
    probe = breaker.allow()
    assert probe == Permit(1, probe=True, transition=Transition(
        State.OPEN, State.HALF_OPEN, Reason.BREAK_OVER))  # fmt: skip
    assert breaker.allow() == Rejected(State.HALF_OPEN, 120.0)
    assert breaker.snapshot().probes_in_flight == 1
    assert isinstance(probe, Permit)
    transition = breaker.record(probe, None)
    assert transition == Transition(State.HALF_OPEN, State.CLOSED, Reason.PROBES_SUCCEEDED)
    assert breaker.allow() == Permit(0, probe=False)


def test_failed_probe_reopens_with_growth(backend: Backend, clock: FakeClock) -> None:
    """A failed probe opens the circuit again, for twice as long with growth 2."""
    policy = Breaker(min_throughput=4, consecutive_failures=None, break_growth=2.0)
    breaker = CircuitBreaker(KEY, policy=policy, backend=backend)
    fail(breaker, 4)
    clock.advance(5.0)
    probe = breaker.allow()
    assert isinstance(probe, Permit)
    clock.advance(0.5)
    transition = breaker.record(probe, Kind.OVERLOADED)
    assert transition == Transition(State.HALF_OPEN, State.OPEN, Reason.PROBE_FAILED, 10.0)
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.retry_in, snapshot.trips) == (State.OPEN, 10.0, 2)


def test_released_probe_frees_its_slot(backend: Backend, clock: FakeClock) -> None:
    """A cancelled probe gives its slot back at once and judges nothing."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=backend)
    fail(breaker, 4)
    clock.advance(5.0)
    probe = breaker.allow()
    assert isinstance(probe, Permit)
    assert breaker.release(probe) is None
    assert breaker.allow() == Permit(2, probe=True)


def test_isolate_and_reset(backend: Backend, clock: FakeClock) -> None:
    """An isolated circuit refuses everything until reset; reset closes it with no history."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=backend)
    fail(breaker, 2)
    assert breaker.isolate() == Transition(State.CLOSED, State.ISOLATED, Reason.ISOLATED, math.inf)
    clock.advance(3600.0)
    assert breaker.allow() == Rejected(State.ISOLATED, math.inf)
    assert breaker.state is State.ISOLATED
    assert breaker.reset() == Transition(State.ISOLATED, State.CLOSED, Reason.RESET)
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.failures) == (State.CLOSED, 0)


def test_keys_are_independent(backend: Backend) -> None:
    """One target's open circuit does not touch another's."""
    breakers = Breakers(POLICY, backend=backend)
    primary = breakers.for_target("anthropic", "claude-a", "messages")
    other = breakers.for_target("anthropic", "claude-b", "messages")
    fail(primary, 4)
    assert primary.state is State.OPEN
    assert other.allow() == Permit(0, probe=False)
    assert breakers.keys() == ("anthropic:claude-a:messages", "anthropic:claude-b:messages")
    assert breakers.for_target("anthropic", "claude-a", "messages") is primary


def test_rejection_becomes_an_error_that_says_when(backend: Backend, clock: FakeClock) -> None:
    """The error for a refused attempt names the circuit and the time to the next probe."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=backend)
    fail(breaker, 4)
    clock.advance(2.0)
    rejected = breaker.allow()
    assert isinstance(rejected, Rejected)
    error = CircuitOpenError(breaker.key, rejected)
    assert (error.key, error.state, error.retry_in) == (KEY, State.OPEN, 3.0)
    assert str(error) == f"circuit {KEY} is open: next probe in 3s"
    breaker.isolate()
    isolated = breaker.allow()
    assert isinstance(isolated, Rejected)
    assert (
        str(CircuitOpenError(KEY, isolated)) == f"circuit {KEY} is isolated: isolated until reset"
    )


@pytest.mark.anyio
async def test_async_flavour_trips_probes_and_recovers(abackend: Backend, clock: FakeClock) -> None:
    """The async methods run the same rules: trip, refuse, probe, close."""
    breaker = CircuitBreaker(KEY, policy=POLICY, backend=abackend)
    for _ in range(4):
        permit = await breaker.aallow()
        assert isinstance(permit, Permit)
        transition = await breaker.arecord(permit, Kind.SERVER_ERROR)
    assert transition is not None
    assert transition.current is State.OPEN
    assert await breaker.aallow() == Rejected(State.OPEN, 5.0)
    clock.advance(5.0)
    probe = await breaker.aallow()
    assert isinstance(probe, Permit)
    assert probe.probe
    assert await breaker.arelease(probe) is None
    probe = await breaker.aallow()
    assert isinstance(probe, Permit)
    closed = await breaker.arecord(probe, None)
    assert closed is not None
    assert closed.current is State.CLOSED
    assert (await breaker.asnapshot()).state is State.CLOSED
    assert (await breaker.aisolate()) is not None
    assert (await breaker.areset()) is not None

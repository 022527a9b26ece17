"""The pure state machine: exact transitions under given times, and its invariants."""

from __future__ import annotations

import math

import pytest

from riprap import Kind
from riprap.breaker import (
    Breaker,
    Circuit,
    Outcome,
    Permit,
    Reason,
    Rejected,
    State,
    Transition,
    admit,
    isolate,
    outcome_of,
    reset,
    settle,
    view,
)

T0 = 1_000.0
RATIO = Breaker(min_throughput=4, consecutive_failures=None)


def run(
    circuit: Circuit, policy: Breaker, now: float, outcomes: list[Outcome]
) -> tuple[Circuit, list[Transition | None]]:
    """Admit and settle one attempt per outcome, all at `now`."""
    transitions = []
    for outcome in outcomes:
        circuit, permit = admit(circuit, policy, now)
        assert isinstance(permit, Permit)
        circuit, transition = settle(circuit, policy, now, permit.ticket, outcome)
        transitions.append(transition)
    return circuit, transitions


S, F, N = Outcome.SUCCESS, Outcome.FAILURE, Outcome.IGNORED


def tripped(policy: Breaker = RATIO, now: float = T0) -> Circuit:
    """A circuit just opened at `now` by four failures."""
    circuit, transitions = run(Circuit(), policy, now, [F, F, F, F])
    assert transitions[-1] is not None
    assert transitions[-1].current is State.OPEN
    return circuit


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        (None, Outcome.SUCCESS),
        (Kind.OVERLOADED, Outcome.FAILURE),
        (Kind.SERVER_ERROR, Outcome.FAILURE),
        (Kind.TIMEOUT, Outcome.FAILURE),
        (Kind.CONNECTION, Outcome.FAILURE),
        (Kind.RATE_LIMITED, Outcome.IGNORED),
        (Kind.INVALID_REQUEST, Outcome.IGNORED),
        (Kind.AUTHENTICATION, Outcome.IGNORED),
    ],
)
def test_outcome_follows_the_taxonomy(kind: Kind | None, outcome: Outcome) -> None:
    """Overload, 5xx, timeouts and dropped connections count; 4xx and 429 never do."""
    assert outcome_of(kind, 0.1, Breaker()) is outcome


def test_slow_success_counts_as_failure_only_when_asked() -> None:
    """A success slower than `slow_call` is a failure; without `slow_call` it is a success."""
    assert outcome_of(None, 31.0, Breaker(slow_call=30.0)) is Outcome.FAILURE
    assert outcome_of(None, 30.0, Breaker(slow_call=30.0)) is Outcome.SUCCESS
    assert outcome_of(None, 600.0, Breaker()) is Outcome.SUCCESS


def test_ratio_trips_once_min_throughput_is_reached() -> None:
    """Three failures of three stay closed under a minimum of four; the fourth opens it."""
    circuit, transitions = run(Circuit(), RATIO, T0, [F, F, F])
    assert transitions == [None, None, None]
    circuit, transitions = run(circuit, RATIO, T0, [F])
    assert transitions == [Transition(State.CLOSED, State.OPEN, Reason.FAILURE_RATIO, 5.0)]


def test_ratio_below_threshold_stays_closed() -> None:
    """Two failures in five (40 %) stay closed at a 50 % threshold; a third (50 %) opens."""
    circuit, transitions = run(Circuit(), RATIO, T0, [S, S, S, F, F])
    assert transitions == [None] * 5
    _, transitions = run(circuit, RATIO, T0, [F])
    assert transitions[0] is not None
    assert transitions[0].reason is Reason.FAILURE_RATIO


def test_ignored_outcomes_are_not_counted() -> None:
    """429s and 400s neither dilute nor add to the ratio."""
    circuit, _ = run(Circuit(), RATIO, T0, [F, N, N, N, F, N])
    assert view(circuit, RATIO, T0).failures == 2
    assert view(circuit, RATIO, T0).successes == 0


def test_consecutive_failures_trip_below_min_throughput() -> None:
    """Ten failures in a row open the circuit though the minimum throughput is twenty."""
    policy = Breaker()
    circuit, transitions = run(Circuit(), policy, T0, [F] * 9)
    assert transitions == [None] * 9
    _, transitions = run(circuit, policy, T0, [F])
    assert transitions[0] == Transition(State.CLOSED, State.OPEN, Reason.CONSECUTIVE_FAILURES, 5.0)


def test_a_success_breaks_the_run() -> None:
    """Nine failures, a success, nine failures: no run of ten, the circuit stays closed."""
    circuit, transitions = run(Circuit(), Breaker(), T0, [F] * 9 + [S] + [F] * 9)
    assert set(transitions) == {None}
    assert view(circuit, Breaker(), T0).consecutive_failures == 9


def test_window_forgets_old_failures() -> None:
    """Failures older than the window no longer count toward the ratio."""
    circuit, _ = run(Circuit(), RATIO, T0, [F, F, F])
    circuit, transitions = run(circuit, RATIO, T0 + 10.0, [F])
    assert transitions == [None]
    assert view(circuit, RATIO, T0 + 10.0).failures == 1


def test_window_slides_a_tenth_at_a_time() -> None:
    """A failure 9.5 s old is still in a 10 s window (same bucket edge); at 10 s it is gone."""
    circuit, _ = run(Circuit(), RATIO, T0, [F])
    assert view(circuit, RATIO, T0 + 9.5).failures == 1
    assert view(circuit, RATIO, T0 + 10.0).failures == 0


def test_closed_never_rejects() -> None:
    """A closed circuit lets every attempt through, as attempts through a closed circuit."""
    _, permit = admit(Circuit(), Breaker(), T0)
    assert permit == Permit(0, probe=False)


def test_open_rejects_with_the_time_to_the_next_probe() -> None:
    """Two seconds into a five-second break, an attempt is refused with three seconds to go."""
    circuit = tripped()
    _, rejected = admit(circuit, RATIO, T0 + 2.0)
    assert rejected == Rejected(State.OPEN, 3.0)
    assert view(circuit, RATIO, T0 + 2.0).retry_in == 3.0


def test_break_end_admits_exactly_the_configured_probes() -> None:
    """When the break ends, two probe slots admit two attempts and refuse the third."""
    policy = Breaker(min_throughput=4, consecutive_failures=None, probes=2)
    circuit = tripped(policy)
    circuit, first = admit(circuit, policy, T0 + 5.0)
    circuit, second = admit(circuit, policy, T0 + 5.0)
    circuit, third = admit(circuit, policy, T0 + 5.0)
    assert first == Permit(1, probe=True, transition=Transition(
        State.OPEN, State.HALF_OPEN, Reason.BREAK_OVER))  # fmt: skip
    assert second == Permit(2, probe=True)
    assert third == Rejected(State.HALF_OPEN, policy.probe_timeout)


def test_probe_success_closes_and_clears_history() -> None:
    """One successful probe closes the circuit with an empty window and no trips."""
    circuit, probe = admit(tripped(), RATIO, T0 + 5.0)
    assert isinstance(probe, Permit)
    circuit, transition = settle(circuit, RATIO, T0 + 5.5, probe.ticket, S)
    assert transition == Transition(State.HALF_OPEN, State.CLOSED, Reason.PROBES_SUCCEEDED)
    snapshot = view(circuit, RATIO, T0 + 5.5)
    assert (snapshot.state, snapshot.failures, snapshot.trips) == (State.CLOSED, 0, 0)


def test_two_probes_must_both_succeed() -> None:
    """With two probes, one success keeps the circuit half-open; the second closes it."""
    policy = Breaker(min_throughput=4, consecutive_failures=None, probes=2)
    circuit, one = admit(tripped(policy), policy, T0 + 5.0)
    circuit, two = admit(circuit, policy, T0 + 5.0)
    assert isinstance(one, Permit)
    assert isinstance(two, Permit)
    circuit, transition = settle(circuit, policy, T0 + 5.1, one.ticket, S)
    assert transition is None
    assert view(circuit, policy, T0 + 5.1).state is State.HALF_OPEN
    _, transition = settle(circuit, policy, T0 + 5.2, two.ticket, S)
    assert transition is not None
    assert transition.current is State.CLOSED


def test_probe_failure_reopens_for_a_longer_break() -> None:
    """With growth 2 a failed probe opens the circuit for 10 s, the next for 20 s."""
    policy = Breaker(min_throughput=4, consecutive_failures=None, break_growth=2.0)
    circuit, probe = admit(tripped(policy), policy, T0 + 5.0)
    assert isinstance(probe, Permit)
    circuit, transition = settle(circuit, policy, T0 + 6.0, probe.ticket, F)
    assert transition == Transition(State.HALF_OPEN, State.OPEN, Reason.PROBE_FAILED, 10.0)
    _, rejected = admit(circuit, policy, T0 + 15.0)
    assert rejected == Rejected(State.OPEN, 1.0)
    circuit, probe = admit(circuit, policy, T0 + 16.0)
    assert isinstance(probe, Permit)
    _, transition = settle(circuit, policy, T0 + 16.0, probe.ticket, F)
    assert transition is not None
    assert transition.retry_in == 20.0


def test_ignored_probe_frees_its_slot_without_a_verdict() -> None:
    """A probe that got a 429 (or was cancelled) leaves the circuit half-open with a free slot."""
    circuit, probe = admit(tripped(), RATIO, T0 + 5.0)
    assert isinstance(probe, Permit)
    circuit, transition = settle(circuit, RATIO, T0 + 5.1, probe.ticket, N)
    assert transition is None
    _, again = admit(circuit, RATIO, T0 + 5.1)
    assert again == Permit(2, probe=True)


def test_a_probe_that_never_reports_frees_its_slot_after_probe_timeout() -> None:
    """A probe silent for `probe_timeout` no longer holds its slot; its late report is ignored."""
    circuit, lost = admit(tripped(), RATIO, T0 + 5.0)
    assert isinstance(lost, Permit)
    _, rejected = admit(circuit, RATIO, T0 + 5.0 + 119.0)
    assert rejected == Rejected(State.HALF_OPEN, 1.0)
    circuit, fresh = admit(circuit, RATIO, T0 + 5.0 + 120.0)
    assert fresh == Permit(2, probe=True)
    circuit, transition = settle(circuit, RATIO, T0 + 126.0, lost.ticket, F)
    assert transition is None
    assert view(circuit, RATIO, T0 + 126.0).state is State.HALF_OPEN


def test_attempts_let_through_before_the_trip_say_nothing_after_it() -> None:
    """A failure reported by an attempt admitted while closed does not touch an open circuit."""
    circuit = tripped()
    assert settle(circuit, RATIO, T0 + 1.0, 0, F) == (circuit, None)


def test_isolate_holds_open_until_reset() -> None:
    """An isolated circuit rejects forever, even a healthy one; reset closes it."""
    circuit, transition = isolate(Circuit())
    assert transition == Transition(State.CLOSED, State.ISOLATED, Reason.ISOLATED, math.inf)
    _, rejected = admit(circuit, RATIO, T0 + 1e9)
    assert rejected == Rejected(State.ISOLATED, math.inf)
    circuit, transition = reset(circuit)
    assert transition == Transition(State.ISOLATED, State.CLOSED, Reason.RESET)
    assert admit(circuit, RATIO, T0)[1] == Permit(0, probe=False)


def test_reset_of_a_closed_circuit_reports_no_transition() -> None:
    """Resetting a closed circuit clears its counts without a state change."""
    circuit, _ = run(Circuit(), RATIO, T0, [F])
    circuit, transition = reset(circuit)
    assert transition is None
    assert view(circuit, RATIO, T0).failures == 0


def test_view_reads_an_expired_break_as_half_open() -> None:
    """Past its break an open circuit reads half-open, with a probe allowed now."""
    snapshot = view(tripped(), RATIO, T0 + 5.0)
    assert (snapshot.state, snapshot.retry_in, snapshot.trips) == (State.HALF_OPEN, 0.0, 1)

"""Invariants of the pure state machine over random operation sequences."""

from __future__ import annotations

import math

from breaker_ops import Advance, Allow, Manual, Op, Record, ops, policies
from hypothesis import given, settings

from riprap.breaker import (
    Admission,
    Breaker,
    Circuit,
    Outcome,
    Permit,
    Rejected,
    Snapshot,
    State,
    admit,
    isolate,
    reset,
    settle,
    view,
)

T0 = 1_000.0


def check_allow(before: Snapshot, answer: Admission, policy: Breaker) -> None:
    """What an admission must be, given the circuit as it read just before."""
    if before.state is State.CLOSED:
        assert answer == Permit(0, probe=False)
    elif before.state is State.OPEN:
        assert answer == Rejected(State.OPEN, before.retry_in)
        assert 0 < answer.retry_in <= policy.max_break
    elif before.state is State.ISOLATED:
        assert answer == Rejected(State.ISOLATED, math.inf)
    elif isinstance(answer, Rejected):
        assert before.probes_in_flight == policy.probes
        assert 0 < answer.retry_in <= policy.probe_timeout
    else:
        assert answer.probe


def check_after(after: Snapshot, policy: Breaker) -> None:
    """What holds of any circuit at any time."""
    assert after.probes_in_flight <= policy.probes
    if after.state is not State.HALF_OPEN:
        assert after.probes_in_flight == 0
    if after.state is State.OPEN:
        assert 0 < after.retry_in <= policy.max_break


@settings(max_examples=300, deadline=None)
@given(policy=policies, sequence=ops)
def test_invariants_hold_for_any_sequence(policy: Breaker, sequence: list[Op]) -> None:
    """Closed never rejects; open rejects with the time to the next probe; probes stay bounded."""
    circuit, now = Circuit(), T0
    outstanding: list[Permit] = []
    for op in sequence:
        before = view(circuit, policy, now)
        if isinstance(op, Advance):
            now += op.seconds
        elif isinstance(op, Allow):
            circuit, answer = admit(circuit, policy, now)
            check_allow(before, answer, policy)
            if isinstance(answer, Permit):
                outstanding.append(answer)
        elif isinstance(op, Record) and outstanding:
            permit = outstanding.pop(op.pick % len(outstanding))
            circuit, transition = settle(circuit, policy, now, permit.ticket, op.outcome)
            if transition is not None:
                assert transition.previous is before.state
                assert transition.current is view(circuit, policy, now).state
        elif isinstance(op, Manual):
            circuit, _ = isolate(circuit) if op.command == "isolate" else reset(circuit)
        check_after(view(circuit, policy, now), policy)


@settings(max_examples=200, deadline=None)
@given(policy=policies, sequence=ops)
def test_time_alone_never_closes_an_open_circuit(policy: Breaker, sequence: list[Op]) -> None:
    """Only successful probes close a tripped circuit: waiting makes it half-open, never closed."""
    circuit, now = Circuit(), T0
    while circuit.state is State.CLOSED:
        circuit, permit = admit(circuit, policy, now)
        assert isinstance(permit, Permit)
        circuit, _ = settle(circuit, policy, now, permit.ticket, Outcome.FAILURE)
    for op in sequence:
        if isinstance(op, Advance):
            now += op.seconds
            assert view(circuit, policy, now).state in {State.OPEN, State.HALF_OPEN}

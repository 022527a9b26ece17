"""The circuit breaker as a pure state machine: values in, values out, time passed in.

`Circuit` is one target's breaker state, immutable. `admit` says whether an attempt may
go now; `settle` records how a let-through attempt ended. Both return the next state
and never read a clock, so every transition is exact under test. The memory backend
runs these under a lock; the Redis backend runs the same rules as a Lua script
(`_lua.py`), and a differential test holds the two to identical answers.

States::

    closed ──(ratio over the window, or N failures in a row)──► open
    open ──(break over; next admit)──► half_open
    half_open ──(a probe fails)──► open, for break_for(trips + 1)
    half_open ──(`probes` probes succeed)──► closed
    any ──isolate()──► isolated ──reset()──► closed
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from riprap._kinds import RULES

if TYPE_CHECKING:
    from riprap._kinds import Kind
    from riprap.breaker._policy import Breaker

#: Buckets the rolling window is kept in: it forgets old attempts in steps of a tenth of
#: the window, as Polly's rolling health metrics do.
SLOTS = 10

#: The ticket of an attempt let through a closed circuit; probes get positive tickets.
NO_TICKET = 0


class State(enum.StrEnum):
    """Where a circuit is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    #: Held open by hand (`isolate()`) until `reset()`.
    ISOLATED = "isolated"


class Outcome(enum.StrEnum):
    """What one let-through attempt says about the target's health."""

    SUCCESS = "success"
    FAILURE = "failure"
    #: Says nothing about health (a 400, a 429, a cancelled attempt): not counted.
    IGNORED = "ignored"


class Reason(enum.StrEnum):
    """Why a circuit changed state."""

    FAILURE_RATIO = "failure_ratio"
    CONSECUTIVE_FAILURES = "consecutive_failures"
    BREAK_OVER = "break_over"
    PROBE_FAILED = "probe_failed"
    PROBES_SUCCEEDED = "probes_succeeded"
    ISOLATED = "isolated"
    RESET = "reset"


def outcome_of(kind: Kind | None, latency: float, policy: Breaker) -> Outcome:
    """Judge an attempt: `kind` is its failure's kind, `None` when it succeeded."""
    if kind is None:
        slow = policy.slow_call is not None and latency > policy.slow_call
        return Outcome.FAILURE if slow else Outcome.SUCCESS
    return Outcome.FAILURE if RULES[kind].counts_against_breaker else Outcome.IGNORED


@dataclass(frozen=True, slots=True)
class Transition:
    """A circuit changed state."""

    previous: State
    current: State
    reason: Reason
    #: Seconds until the next probe may go, when the circuit is now open.
    retry_in: float = 0.0


@dataclass(frozen=True, slots=True)
class Permit:
    """The attempt may go; hand this back to `record` (or `release`) when it ends."""

    #: `NO_TICKET` for an attempt through a closed circuit; a probe's own number otherwise.
    ticket: int
    #: Whether this attempt is a half-open probe.
    probe: bool
    #: The transition this admission caused (open → half-open), if any.
    transition: Transition | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """The attempt may not go: the circuit is open, isolated, or out of probe slots."""

    state: State
    #: Seconds until a probe may go (`math.inf` while isolated). In half-open with every
    #: probe slot taken, the time until the oldest probe's slot expires: an upper bound.
    retry_in: float


Admission = Permit | Rejected


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A circuit as users read it."""

    state: State
    #: Seconds until a probe may go; 0 when attempts go now; `math.inf` while isolated.
    retry_in: float
    #: Judged attempts in the window.
    successes: int
    failures: int
    #: Counted failures in a row (closed state).
    consecutive_failures: int
    #: Openings in a row without closing in between (drives `break_growth`).
    trips: int
    #: Probes let through and not yet reported (half-open).
    probes_in_flight: int

    @property
    def failure_ratio(self) -> float:
        """Failures over judged attempts in the window (0.0 when none)."""
        total = self.successes + self.failures
        return self.failures / total if total else 0.0


#: One bucket of the window: (slot number, successes, failures). The slot number is
#: `floor(now / (window / SLOTS))`; a bucket whose number is older than `SLOTS` slots
#: holds stale counts and is read as empty.
Bucket = tuple[int, int, int]
_EMPTY_BUCKET: Bucket = (-1, 0, 0)


@dataclass(frozen=True, slots=True)
class Circuit:
    """One target's breaker state. Immutable: every change makes a new one."""

    state: State = State.CLOSED
    #: When the current break ends (open state).
    open_until: float = 0.0
    trips: int = 0
    #: Counted failures in a row while closed.
    run: int = 0
    #: Probes that succeeded in this half-open period.
    probe_successes: int = 0
    #: The last probe ticket handed out.
    last_ticket: int = 0
    buckets: tuple[Bucket, ...] = (_EMPTY_BUCKET,) * SLOTS
    #: Probes in flight: (ticket, expires at).
    leases: tuple[tuple[int, float], ...] = ()


def _slot(now: float, policy: Breaker) -> int:
    return math.floor(now / (policy.window / SLOTS))


def window_counts(circuit: Circuit, policy: Breaker, now: float) -> tuple[int, int]:
    """(successes, failures) judged in the window that ends at `now`."""
    current = _slot(now, policy)
    successes = failures = 0
    for number, ok, bad in circuit.buckets:
        if current - SLOTS < number <= current:
            successes += ok
            failures += bad
    return successes, failures


def _count(circuit: Circuit, policy: Breaker, now: float, outcome: Outcome) -> Circuit:
    number = _slot(now, policy)
    index = number % SLOTS
    held, ok, bad = circuit.buckets[index]
    if held != number:
        ok = bad = 0
    if outcome is Outcome.SUCCESS:
        ok += 1
    else:
        bad += 1
    buckets = (*circuit.buckets[:index], (number, ok, bad), *circuit.buckets[index + 1 :])
    return replace(circuit, buckets=buckets)


def _open(
    circuit: Circuit, policy: Breaker, now: float, reason: Reason
) -> tuple[Circuit, Transition]:
    trips = circuit.trips + 1
    length = policy.break_for(trips)
    opened = Circuit(
        state=State.OPEN,
        open_until=now + length,
        trips=trips,
        last_ticket=circuit.last_ticket,
    )
    return opened, Transition(circuit.state, State.OPEN, reason, retry_in=length)


def _live(leases: tuple[tuple[int, float], ...], now: float) -> tuple[tuple[int, float], ...]:
    return tuple(lease for lease in leases if lease[1] > now)


def admit(circuit: Circuit, policy: Breaker, now: float) -> tuple[Circuit, Admission]:
    """May an attempt go at `now`? Returns the next state and the answer."""
    if circuit.state is State.CLOSED:
        return circuit, Permit(NO_TICKET, probe=False)
    if circuit.state is State.ISOLATED:
        return circuit, Rejected(State.ISOLATED, math.inf)
    transition = None
    if circuit.state is State.OPEN:
        if now < circuit.open_until:
            return circuit, Rejected(State.OPEN, circuit.open_until - now)
        transition = Transition(State.OPEN, State.HALF_OPEN, Reason.BREAK_OVER)
        circuit = replace(circuit, state=State.HALF_OPEN, probe_successes=0, leases=())
    leases = _live(circuit.leases, now)
    if len(leases) >= policy.probes:
        return replace(circuit, leases=leases), Rejected(
            State.HALF_OPEN, min(expiry for _, expiry in leases) - now
        )
    ticket = circuit.last_ticket + 1
    circuit = replace(
        circuit, last_ticket=ticket, leases=(*leases, (ticket, now + policy.probe_timeout))
    )
    return circuit, Permit(ticket, probe=True, transition=transition)


def settle(
    circuit: Circuit, policy: Breaker, now: float, ticket: int, outcome: Outcome
) -> tuple[Circuit, Transition | None]:
    """Record how the attempt admitted with `ticket` ended; returns the next state."""
    if circuit.state is State.CLOSED:
        return _settle_closed(circuit, policy, now, ticket, outcome)
    if circuit.state is State.HALF_OPEN:
        return _settle_probe(circuit, policy, now, ticket, outcome)
    return circuit, None  # open or isolated: attempts let through before say nothing


def _settle_closed(
    circuit: Circuit, policy: Breaker, now: float, ticket: int, outcome: Outcome
) -> tuple[Circuit, Transition | None]:
    # A probe reporting after its circuit closed (its slot had expired) changes nothing.
    if ticket != NO_TICKET or outcome is Outcome.IGNORED:
        return circuit, None
    counted = _count(circuit, policy, now, outcome)
    if outcome is Outcome.SUCCESS:
        return replace(counted, run=0), None
    counted = replace(counted, run=counted.run + 1)
    limit = policy.consecutive_failures
    if limit is not None and counted.run >= limit:
        return _open(counted, policy, now, Reason.CONSECUTIVE_FAILURES)
    successes, failures = window_counts(counted, policy, now)
    total = successes + failures
    if total >= policy.min_throughput and failures >= policy.failure_ratio * total:
        return _open(counted, policy, now, Reason.FAILURE_RATIO)
    return counted, None


def _settle_probe(
    circuit: Circuit, policy: Breaker, now: float, ticket: int, outcome: Outcome
) -> tuple[Circuit, Transition | None]:
    leases = _live(circuit.leases, now)
    if ticket not in {held for held, _ in leases}:
        return circuit, None  # not a live probe: let through before, or its slot expired
    circuit = replace(circuit, leases=tuple(lease for lease in leases if lease[0] != ticket))
    if outcome is Outcome.IGNORED:
        return circuit, None
    if outcome is Outcome.FAILURE:
        return _open(circuit, policy, now, Reason.PROBE_FAILED)
    successes = circuit.probe_successes + 1
    if successes < policy.probes:
        return replace(circuit, probe_successes=successes), None
    closed = Circuit(last_ticket=circuit.last_ticket)
    return closed, Transition(State.HALF_OPEN, State.CLOSED, Reason.PROBES_SUCCEEDED)


def isolate(circuit: Circuit) -> tuple[Circuit, Transition | None]:
    """Hold the circuit open until `reset`, whatever its health."""
    if circuit.state is State.ISOLATED:
        return circuit, None
    isolated = Circuit(state=State.ISOLATED, last_ticket=circuit.last_ticket)
    return isolated, Transition(circuit.state, State.ISOLATED, Reason.ISOLATED, math.inf)


def reset(circuit: Circuit) -> tuple[Circuit, Transition | None]:
    """Close the circuit and forget its history."""
    fresh = Circuit(last_ticket=circuit.last_ticket)
    if circuit == fresh:
        return circuit, None
    changed = circuit.state is not State.CLOSED
    return fresh, Transition(circuit.state, State.CLOSED, Reason.RESET) if changed else None


def view(circuit: Circuit, policy: Breaker, now: float) -> Snapshot:
    """The circuit as users read it at `now`: an open circuit past its break reads half-open."""
    successes, failures = window_counts(circuit, policy, now)
    state, retry_in = circuit.state, 0.0
    leases = _live(circuit.leases, now)
    if state is State.ISOLATED:
        retry_in = math.inf
    elif state is State.OPEN:
        if now < circuit.open_until:
            retry_in = circuit.open_until - now
        else:
            state, leases = State.HALF_OPEN, ()
    if state is State.HALF_OPEN and len(leases) >= policy.probes:
        retry_in = min(expiry for _, expiry in leases) - now
    return Snapshot(
        state=state,
        retry_in=retry_in,
        successes=successes,
        failures=failures,
        consecutive_failures=circuit.run,
        trips=circuit.trips,
        probes_in_flight=len(leases),
    )

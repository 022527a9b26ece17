"""The limiter's arithmetic: token buckets over four dimensions, as pure functions.

Each dimension (requests, input tokens, output tokens, combined tokens) is a token bucket
kept in GCRA form: one number per bucket, `tat`, the time at which the bucket is full
again (`None`: full and never used). With capacity `c` and rate `r` per second the level
at time `t` is `c - max(0, tat - t) * r`.

Waiting is virtual scheduling: an arrival is handed the earliest start time at which
every dimension it needs has room, and that room is reserved at once, so the next arrival
is scheduled after it. Start times are handed out in arrival order (FIFO), so a large
prompt keeps its place however many small ones arrive behind it, and a caller learns at
arrival how long it will wait: if that is past its deadline it is refused at once.

Corrections that arrive after slots were handed out (the provider's headers say another
client used part of the quota; a call used more tokens than it reserved; a 429 pauses
the scope) push each dimension's `tat` and add to its `shift`: a caller waking for its
slot compares the shifts with those it was scheduled under and waits for the difference
(`confirm`), so queued callers move back together and keep their order and spacing.

Every function here and in `_settle.py` (what a call's end and its headers change) takes
the time as an argument and returns a new `State`: no clock, no I/O. The memory backend
calls them under a lock; the Redis backend runs the same steps in Lua (`_lua.py`), and a
differential test holds the two to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, TypeAlias

from riprap.limiter._config import INPUT, MINUTE, OUTPUT, REQUESTS, TOKENS

if TYPE_CHECKING:
    from riprap.limiter._config import Limits

Vec: TypeAlias = tuple[float, float, float, float]
OptVec: TypeAlias = tuple[float | None, float | None, float | None, float | None]

NONE4: Final[OptVec] = (None, None, None, None)
ZERO4: Final[Vec] = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a caller brings to every decision: its configured limits, in units per second."""

    #: Configured rate per dimension, units per second; `None` where not configured.
    rates: OptVec
    #: Configured bucket size per dimension, units; `None` where not configured.
    capacities: OptVec
    headroom: float
    #: Seconds of each rate kept in reserve for requests that reach the provider late.
    jitter: float
    adopt: bool
    #: How long a caller waits before asking again while a cold scope is learning.
    poll: float
    #: How long a cold scope's first call may take before another caller probes instead.
    probe_timeout: float

    @classmethod
    def of(cls, limits: Limits, *, poll: float, probe_timeout: float) -> Plan:
        """The plan of `limits`: per-minute rates as per-second rates and bucket sizes."""
        rates = tuple(None if p is None else p / MINUTE for p in limits.per_minute)
        caps = tuple(None if r is None else r * limits.burst_seconds for r in rates)
        return cls(
            rates=rates,  # type: ignore[arg-type]  # four in, four out
            capacities=caps,  # type: ignore[arg-type]
            headroom=limits.headroom,
            jitter=limits.jitter,
            adopt=limits.adopt,
            poll=poll,
            probe_timeout=probe_timeout,
        )

    @property
    def configured(self) -> bool:
        """Whether any rate is configured."""
        return any(r is not None for r in self.rates)


@dataclass(frozen=True, slots=True)
class Announced:
    """One dimension of a provider's rate-limit headers."""

    #: The limit per minute.
    limit: float | None
    #: Units left in the bucket, after this request was counted.
    remaining: float | None
    #: Seconds until the bucket is full again.
    reset_in: float | None
    #: How precise `reset_in` is, in seconds (1.0 for whole seconds).
    resolution: float = 0.001


#: Per dimension, what the provider announced (`None`: nothing for that dimension).
Observation: TypeAlias = tuple[
    Announced | None, Announced | None, Announced | None, Announced | None
]


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """Everything the limiter knows about one scope."""

    tat: OptVec = NONE4
    shift: Vec = ZERO4
    learned_rate: OptVec = NONE4
    learned_capacity: OptVec = NONE4
    paused_until: float | None = None
    #: While a cold scope's first call is out, until when it may take.
    probe_until: float | None = None
    #: Whether any response was observed (a scope that never saw one is cold).
    warm: bool = False
    #: Units per second others take of each limit, as estimated from the headers.
    foreign: Vec = ZERO4
    #: When each dimension's estimate of `foreign` was last updated.
    observed_at: OptVec = NONE4
    #: When each dimension's books last matched the provider's (its first reading, or a
    #: gap charged): a gap found later built up over the time since.
    aligned_at: OptVec = NONE4


@dataclass(frozen=True, slots=True)
class Slot:
    """One dimension of a reservation, as needed to settle and correct it later."""

    #: Seconds this reservation added to the dimension's `tat` (need / rate).
    cost: float
    rate: float
    capacity: float
    #: The bucket's level right after this reservation, at its start time.
    level: float
    #: The dimension's `shift` the level was computed under.
    shift: float


@dataclass(frozen=True, slots=True)
class Ticket:
    """A reservation: what to give back or correct when the call ends."""

    slots: tuple[Slot | None, Slot | None, Slot | None, Slot | None]
    #: Whether this is the one call a cold scope lets through to learn its limits.
    probe: bool
    #: When the call may go, in the backend's time.
    start: float


@dataclass(frozen=True, slots=True)
class Grant:
    """Go after `wait` seconds (then `confirm`)."""

    wait: float
    ticket: Ticket


@dataclass(frozen=True, slots=True)
class Refused:
    """The wait would be `wait` seconds, more than the caller has."""

    wait: float


@dataclass(frozen=True, slots=True)
class Poll:
    """The scope is learning its limits from a first call: ask again after `wait`."""

    wait: float


Outcome: TypeAlias = Grant | Refused | Poll


def effective(plan: Plan, state: State, d: int) -> tuple[float, float] | None:
    """(rate, capacity) dimension `d` is paced by, after headroom; `None`: not limited.

    A configured limit is used as given, but never above what the provider announced
    (with `adopt`); an unconfigured one is the announced one (with `adopt`). Of the
    bucket, `jitter` seconds of its rate are kept back as well as the headroom's share.
    """
    rate, cap = plan.rates[d], plan.capacities[d]
    learned_rate, learned_cap = state.learned_rate[d], state.learned_capacity[d]
    if plan.adopt and learned_rate is not None and learned_cap is not None:
        if rate is None or cap is None:
            rate, cap = learned_rate, learned_cap
        else:
            rate, cap = min(rate, learned_rate), min(cap, learned_cap)
    if rate is None or cap is None:
        return None
    paced = rate * plan.headroom - state.foreign[d]
    return paced, max(0.0, min(cap * plan.headroom, cap - rate * plan.jitter))


def is_cold(plan: Plan, state: State) -> bool:
    """Whether the scope must learn its limits before it lets more than one call through."""
    return plan.adopt and not plan.configured and not state.warm


def acquire(
    state: State, plan: Plan, need: Vec, now: float, max_wait: float
) -> tuple[Outcome, State]:
    """Reserve `need` at the earliest start every dimension allows, if within `max_wait`."""
    start = now if state.paused_until is None else max(now, state.paused_until)
    if is_cold(plan, state):
        if state.probe_until is not None and state.probe_until > now:
            return Poll(min(plan.poll, state.probe_until - now)), state
        if start - now > max_wait:
            return Refused(start - now), state
        ticket = Ticket((None, None, None, None), probe=True, start=start)
        return Grant(start - now, ticket), replace(state, probe_until=start + plan.probe_timeout)
    limits = [effective(plan, state, d) for d in range(4)]
    for d in range(4):
        limit, tat = limits[d], state.tat[d]
        if limit is None or need[d] <= 0 or tat is None:
            continue
        rate, cap = limit
        # Room for min(need, cap): a need above the bucket's size waits for a full bucket
        # and leaves it in debt, rather than never being admitted at all.
        start = max(start, tat - (cap - min(need[d], cap)) / rate)
    if start - now > max_wait:
        return Refused(start - now), state
    tats = list(state.tat)
    slots: list[Slot | None] = [None, None, None, None]
    for d in range(4):
        limit = limits[d]
        if limit is None or need[d] <= 0:
            continue
        rate, cap = limit
        cost = need[d] / rate
        tat = tats[d]
        new_tat = (start if tat is None or tat < start else tat) + cost
        tats[d] = new_tat
        slots[d] = Slot(cost, rate, cap, cap - (new_tat - start) * rate, state.shift[d])
    ticket = Ticket((slots[0], slots[1], slots[2], slots[3]), probe=False, start=start)
    return Grant(start - now, ticket), replace(state, tat=vec4_opt(tats))


def confirm(state: State, ticket: Ticket, now: float) -> tuple[float, Ticket]:
    """Extra seconds a caller woken for its slot must still wait, and its updated ticket.

    Corrections since the slot was handed out moved the queue back by `shift`; a slot
    moves back with it only by what its own room in the bucket (its level) cannot absorb.
    A pause holds every slot until it ends.
    """
    extra = 0.0 if state.paused_until is None else max(0.0, state.paused_until - now)
    for slot, shift in zip(ticket.slots, state.shift, strict=True):
        if slot is not None and shift > slot.shift:
            extra = max(extra, shift - slot.shift - slot.level / slot.rate)
    slots = tuple(
        None
        if slot is None
        else replace(
            slot,
            level=min(
                slot.capacity - slot.cost * slot.rate,
                slot.level + (extra - (shift - slot.shift)) * slot.rate,
            ),
            shift=shift,
        )
        for slot, shift in zip(ticket.slots, state.shift, strict=True)
    )
    return extra, Ticket(slots, ticket.probe, ticket.start + extra)  # type: ignore[arg-type]  # four in, four out


def pause(state: State, plan: Plan, seconds: float, now: float) -> State:
    """Hold every start until `now + seconds` (a 429's retry-after); queued slots move too."""
    until = now + seconds
    held = now if state.paused_until is None else max(now, state.paused_until)
    delta = until - held
    if delta <= 0:
        return state
    tats, shifts = list(state.tat), list(state.shift)
    for d in range(4):
        tat = tats[d]
        if tat is not None and effective(plan, state, d) is not None:
            tats[d] = max(tat, now) + delta
            shifts[d] += delta
    return replace(state, tat=vec4_opt(tats), shift=vec4(shifts), paused_until=until)


def vec4_opt(values: list[float | None]) -> OptVec:
    """A list of four optional numbers as a vector (lists are how the steps edit them)."""
    return (values[0], values[1], values[2], values[3])


def vec4(values: list[float]) -> Vec:
    """A list of four numbers as a vector."""
    return (values[0], values[1], values[2], values[3])


__all__ = [
    "INPUT",
    "OUTPUT",
    "REQUESTS",
    "TOKENS",
    "Announced",
    "Grant",
    "Observation",
    "Outcome",
    "Plan",
    "Poll",
    "Refused",
    "Slot",
    "State",
    "Ticket",
    "acquire",
    "confirm",
    "effective",
    "is_cold",
    "pause",
]

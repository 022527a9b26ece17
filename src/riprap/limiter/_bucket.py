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

Every function takes the time as an argument and returns a new `State`: no clock, no
I/O. The memory backend calls them under a lock; the Redis backend runs the same steps
in Lua (`_lua.py`), and a differential test holds the two to the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, NamedTuple, TypeAlias

from riprap.limiter._config import INPUT, MINUTE, OUTPUT, REQUESTS, TOKENS

if TYPE_CHECKING:
    from riprap.limiter._config import Limits

Vec: TypeAlias = tuple[float, float, float, float]
OptVec: TypeAlias = tuple[float | None, float | None, float | None, float | None]

#: Seconds over which a neighbour starting to use the key is taken in, at the least: one
#: second, so that a single noisy reading (a request overtaking another on the network)
#: moves the estimate by one unit per second, not more.
FOREIGN_TIME_CONSTANT: Final = 1.0
#: ...and at least this many round trips: a correction takes one round trip to show, and
#: an estimate that moves faster than its own evidence oscillates.
FOREIGN_ROUND_TRIPS: Final = 4.0
#: Seconds over which the estimate of others' use fades when no new gap confirms it: a
#: neighbour who stopped costs riprap at most this long of reduced pace.
FOREIGN_MEMORY: Final = 30.0
#: Others are never believed to take more than 90 % of a limit: riprap keeps going.
FOREIGN_CEILING: Final = 0.9

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


def _margin(plan: Plan, rate: float) -> float:
    """Units the provider's bucket should keep above riprap's once others share the key."""
    return max(1.0, rate * plan.jitter)


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
    return Grant(start - now, ticket), replace(state, tat=_vec(tats))


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


def settle(
    state: State,
    plan: Plan,
    ticket: Ticket,
    *,
    need: Vec,
    used: Vec | None,
    observed: Observation | None,
    now: float,
) -> State:
    """Reconcile a reservation with what the call used (`None`: nothing, give it all back).

    The difference between `used` and `need` is charged or refunded. Then, if the
    response carried rate-limit headers, each dimension is compared with the provider's
    view: when the provider has less room than riprap thought (someone else uses the
    key, or calls reached it later than riprap let them go), the difference is charged
    too. Corrections only ever tighten.
    """
    if ticket.probe:
        state = replace(state, probe_until=None)
    if observed is not None:
        state = learn(state, plan, observed, now)
    # What the provider counted for this call when it arrived: the actual input, and
    # max_tokens of output (corrected only when the call ends). A refused call: nothing.
    if used is None:
        counted = ZERO4
    else:
        counted = (need[REQUESTS], used[INPUT], need[OUTPUT], used[INPUT] + need[OUTPUT])
    tats, shifts = list(state.tat), list(state.shift)
    foreign, observed_at = list(state.foreign), list(state.observed_at)
    for d in range(4):
        slot, tat = ticket.slots[d], tats[d]
        if slot is None or tat is None:
            continue
        announced = None if observed is None else observed[d]
        limit = effective(plan, state, d)
        gap = 0.0
        if announced is not None and limit is not None:
            reading = Reading(tat, shifts[d], foreign[d], observed_at[d])
            reading, gap = _read(
                reading,
                slot,
                announced,
                plan=plan,
                rate=limit[0],
                capacity=limit[1],
                start=ticket.start,
                uncounted=need[d] - counted[d],
                size=state.learned_capacity[d],
                now=now,
            )
            tat, shifts[d], foreign[d], observed_at[d] = reading
        delta = (0.0 if used is None else used[d]) - need[d]
        tats[d], shifts[d] = _adjust(tat, shifts[d], delta / slot.rate, gap, now)
    return replace(
        state,
        tat=_vec(tats),
        shift=_vec4(shifts),
        foreign=_vec4(foreign),
        observed_at=_vec(observed_at),
    )


class Reading(NamedTuple):
    """One dimension's books as a response's headers are read into them."""

    tat: float
    shift: float
    foreign: float
    observed_at: float | None


def _read(
    books: Reading,
    slot: Slot,
    announced: Announced,
    *,
    plan: Plan,
    rate: float,
    capacity: float,
    start: float,
    uncounted: float,
    size: float | None,
    now: float,
) -> tuple[Reading, float]:
    """The books after one dimension's headers, and the seconds still to charge for a gap.

    The headers are compared with the books; a gap is added to the estimate of what
    others take (the pace drops by it, and what is owed is kept in units, not seconds),
    and charged, past a margin.
    """
    tat, shift, foreign, since = books
    units = _gap(
        slot,
        announced,
        start=start,
        moved=shift - slot.shift,
        uncounted=uncounted,
        size=size,
        capacity=capacity,
        now=now,
    )
    if units == -math.inf:
        return books, 0.0
    if since is not None:
        base = rate + foreign
        foreign = _foreign(
            foreign,
            max(0.0, units),
            elapsed=now - since,
            latency=now - start,
            ceiling=FOREIGN_CEILING * base,
        )
        paced = base - foreign
        if tat > now and paced != rate:
            # The same units owed, at the new pace; a slower pace moves the queue too.
            moved_to = now + (tat - now) * rate / paced
            if moved_to > tat:
                shift += moved_to - tat
            tat = moved_to
        rate = paced
    # A gap means someone else takes from the bucket: correct past it by a margin, so
    # that the next round trip's worth of their use is no 429.
    gap = (units + _margin(plan, rate)) / rate if units > 0 else 0.0
    return Reading(tat, shift, foreign, now), gap


def _adjust(tat: float, shift: float, own: float, gap: float, now: float) -> tuple[float, float]:
    """A dimension's `tat` and `shift` after charging (or refunding) `own` and `gap` seconds.

    A refund never fills the bucket past full; a charge also moves the queue back.
    """
    if own < 0:
        tat = max(now, tat + own)
    elif own > 0:
        tat = max(tat, now) + own
        shift += own
    if gap > 0:
        tat = max(tat, now) + gap
        shift += gap
    return tat, shift


def _foreign(rate: float, gap: float, *, elapsed: float, latency: float, ceiling: float) -> float:
    """The estimate of what others take (units per second), after a reading of `gap`.

    A gap that comes back after every correction is traffic riprap does not see;
    correcting only when a response shows it would let a round trip's worth of it
    through each time. So each gap found is added to an estimate of their rate, spread
    over a time constant of several round trips, and riprap's pace drops by it. The
    estimate leaks away over `FOREIGN_MEMORY` when no gap renews it (a neighbour that
    stopped), and stays within zero and `ceiling`.
    """
    rate *= math.exp(-max(0.0, elapsed) / FOREIGN_MEMORY)
    tau = max(FOREIGN_TIME_CONSTANT, FOREIGN_ROUND_TRIPS * max(0.0, latency))
    return min(ceiling, max(0.0, rate + gap / tau))


def _gap(
    slot: Slot,
    announced: Announced,
    *,
    start: float,
    moved: float,
    uncounted: float,
    size: float | None,
    capacity: float,
    now: float,
) -> float:
    """Units the provider has less than riprap's books say, as of this call; <= 0: none.

    Two readings of the provider's level, the larger gap wins. `remaining` against the
    level right after the call at its start: exact in units, but it assumes the call
    reached the provider when it was let go. `reset_in` (when the provider's bucket is
    full again), which gives the provider's level now whenever the call arrived, against
    riprap's level now had nothing been reserved after this call: it also sees refill the
    provider lost while a call was on its way to a bucket that was full. Both leave out
    corrections applied since the call went (they already account for what happened
    before it), and what the provider did not count of this call (`uncounted`).
    """
    # Limits learned since the call was let go may have shrunk the bucket under it.
    level = min(slot.level, capacity)
    gap = -math.inf
    if announced.remaining is not None:
        gap = level - moved * slot.rate + uncounted - announced.remaining
    if announced.reset_in is not None and announced.limit is not None and size is not None:
        # Read conservatively: a reset rounded up to whole seconds may claim a second more.
        owed = announced.limit / MINUTE * max(0.0, announced.reset_in - announced.resolution)
        owed = min(owed, size)  # a reset further out than a full refill is not believed
        full = start + (slot.capacity - slot.level) / slot.rate + moved
        ours = min(slot.capacity, capacity) - max(0.0, full - now) * slot.rate + uncounted
        gap = max(gap, ours - (size - owed))
    return gap


def learn(state: State, plan: Plan, observed: Observation, now: float) -> State:
    """Take in the limits a response announced; start pacing dimensions it made known.

    The rate is the announced limit per minute. The bucket's size is what is left plus
    what refills until it is full (`reset_in`), never more than the limit (the limit
    itself when no reset is given), and never less than the largest such figure seen.
    """
    rates, caps = list(state.learned_rate), list(state.learned_capacity)
    for d, announced in enumerate(observed):
        if announced is None or announced.limit is None or announced.limit <= 0:
            continue
        limit = announced.limit
        rate = limit / MINUTE
        size = limit  # without a reset, Anthropic's documented bucket: a minute's worth
        if announced.remaining is not None and announced.reset_in is not None:
            # Resets come in whole seconds (Anthropic), so a drained bucket can read as
            # "empty, and full already": the bucket held at least one more than is left.
            refill = rate * max(0.0, announced.reset_in)
            size = min(limit, max(announced.remaining + refill, announced.remaining + 1))
        rates[d] = rate
        old = caps[d]
        caps[d] = size if old is None else min(limit, max(old, size))
    learned = replace(state, learned_rate=_vec(rates), learned_capacity=_vec(caps), warm=True)
    tats = list(learned.tat)
    for d, announced in enumerate(observed):
        paced = effective(plan, learned, d)
        if tats[d] is not None or paced is None or announced is None:
            continue
        if announced.remaining is not None:
            # A dimension paced for the first time starts where the provider says it is.
            rate, cap = paced
            tats[d] = now + (cap - min(cap, announced.remaining)) / rate
    return replace(learned, tat=_vec(tats))


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
    return replace(state, tat=_vec(tats), shift=_vec4(shifts), paused_until=until)


def _vec(values: list[float | None]) -> OptVec:
    return (values[0], values[1], values[2], values[3])


def _vec4(values: list[float]) -> Vec:
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
    "learn",
    "pause",
    "settle",
]

"""Settling a reservation: own usage, and what the provider's headers say.

When a call ends, `settle` charges or refunds the difference between what it used and
what it reserved, takes in the limits its response announced (`learn`), and compares
each dimension with the provider's view: a provider with less room than riprap's books
(someone else uses the key; a call reached a full bucket late and its refill was lost)
is charged the difference, past a margin, and the part of it that keeps coming back is
estimated as others' rate of use and taken off riprap's pace. Pure functions, like
`_bucket.py`; the Lua script mirrors them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Final, NamedTuple

from riprap.limiter._bucket import ZERO4, effective, vec4, vec4_opt
from riprap.limiter._config import INPUT, MINUTE, OUTPUT, REQUESTS

if TYPE_CHECKING:
    from riprap.limiter._bucket import Announced, Observation, Plan, Slot, State, Ticket, Vec

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


def _margin(plan: Plan, rate: float) -> float:
    """Units the provider's bucket should keep above riprap's once others share the key."""
    return max(1.0, rate * plan.jitter)


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
    aligned_at = list(state.aligned_at)
    for d in range(4):
        slot, tat = ticket.slots[d], tats[d]
        if slot is None or tat is None:
            continue
        announced = None if observed is None else observed[d]
        limit = effective(plan, state, d)
        gap = 0.0
        if announced is not None and limit is not None:
            reading = Reading(tat, shifts[d], foreign[d], observed_at[d], aligned_at[d])
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
            tat, shifts[d], foreign[d], observed_at[d], aligned_at[d] = reading
        delta = (0.0 if used is None else used[d]) - need[d]
        tats[d], shifts[d] = _adjust(tat, shifts[d], delta / slot.rate, gap, now)
    return replace(
        state,
        tat=vec4_opt(tats),
        shift=vec4(shifts),
        foreign=vec4(foreign),
        observed_at=vec4_opt(observed_at),
        aligned_at=vec4_opt(aligned_at),
    )


class Reading(NamedTuple):
    """One dimension's books as a response's headers are read into them."""

    tat: float
    shift: float
    foreign: float
    observed_at: float | None
    aligned_at: float | None


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

    The headers are compared with the books; a gap is charged, past a margin. Only the
    part of it that others' use explains (the `remaining` reading) is added to the
    estimate of what others take (the pace drops by it, and what is owed is kept in
    units, not seconds): refill lost while calls reached a full bucket late is a one-off
    of the moment (a burst's first calls, a stalled event loop), charged once and not
    taken for a rate that would slow the rest of the run.
    """
    tat, shift, foreign, since, aligned = books
    units, others = _gap(
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
            max(0.0, others),
            elapsed=now - since,
            accrued=now - (since if aligned is None else aligned),
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
    # A gap means the provider has less than the books: correct past it by a margin, so
    # that the next round trip's worth of others' use (or of late arrivals) is no 429.
    # Readings subtract corrections already made, so one deficit pays one margin.
    gap = (units + _margin(plan, rate)) / rate if units > 0 else 0.0
    if since is None or units > 0:
        aligned = now
    return Reading(tat, shift, foreign, now, aligned), gap


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


def _foreign(
    rate: float,
    gap: float,
    *,
    elapsed: float,
    accrued: float,
    latency: float,
    ceiling: float,
) -> float:
    """The estimate of what others take (units per second), after a reading of `gap`.

    A gap that comes back after every correction is traffic riprap does not see;
    correcting only when a response shows it would let a round trip's worth of it
    through each time. So each gap found is added to an estimate of their rate, spread
    over a time constant of several round trips, and riprap's pace drops by it. A gap
    that built up over `accrued` seconds since the books last matched is a rate of at
    most gap / accrued: headers count whole units, so a neighbour taking 0.2 requests a
    second shows as a gap of 1 every five seconds, which is not 1 request a second. The
    estimate leaks away over `FOREIGN_MEMORY` when no gap renews it (a neighbour that
    stopped), and stays within zero and `ceiling`.
    """
    rate *= math.exp(-max(0.0, elapsed) / FOREIGN_MEMORY)
    tau = max(FOREIGN_TIME_CONSTANT, FOREIGN_ROUND_TRIPS * max(0.0, latency), accrued)
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
) -> tuple[float, float]:
    """Units the provider has less than riprap's books say, as of this call; <= 0: none.

    Two readings of the provider's level, the larger gap wins. `remaining` against the
    level right after the call at its start: exact in units, but it assumes the call
    reached the provider when it was let go. `reset_in` (when the provider's bucket is
    full again), which gives the provider's level now whenever the call arrived, against
    riprap's level now had nothing been reserved after this call: it also sees refill the
    provider lost while a call was on its way to a bucket that was full. Both leave out
    corrections applied since the call went (they already account for what happened
    before it), and what the provider did not count of this call (`uncounted`).

    Returns the gap, and the part of it others' use explains: the `remaining` reading
    (refill lost to a late arrival does not show in it), or the `reset_in` one when the
    headers give no `remaining`.
    """
    # Limits learned since the call was let go may have shrunk the bucket under it.
    level = min(slot.level, capacity)
    gap = others = -math.inf
    if announced.remaining is not None:
        gap = others = level - moved * slot.rate + uncounted - announced.remaining
    if announced.reset_in is not None and announced.limit is not None and size is not None:
        # Read conservatively: a reset rounded up to whole seconds may claim a second more.
        owed = announced.limit / MINUTE * max(0.0, announced.reset_in - announced.resolution)
        owed = min(owed, size)  # a reset further out than a full refill is not believed
        # Corrections since the call went are debts the books carry whatever their level:
        # taken off outside the refill, not by moving the time the bucket is full (a
        # bucket full again by now would forget them, and the same lost refill, found
        # by each reading of a burst, would be charged again with each).
        full = start + (slot.capacity - slot.level) / slot.rate
        ours = (
            min(slot.capacity, capacity)
            - max(0.0, full - now) * slot.rate
            - moved * slot.rate
            + uncounted
        )
        lost = ours - (size - owed)
        others = lost if announced.remaining is None else others
        gap = max(gap, lost)
    return gap, others


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
    learned = replace(
        state, learned_rate=vec4_opt(rates), learned_capacity=vec4_opt(caps), warm=True
    )
    tats = list(learned.tat)
    for d, announced in enumerate(observed):
        paced = effective(plan, learned, d)
        if tats[d] is not None or paced is None or announced is None:
            continue
        if announced.remaining is not None:
            # A dimension paced for the first time starts where the provider says it is.
            rate, cap = paced
            tats[d] = now + (cap - min(cap, announced.remaining)) / rate
    return replace(learned, tat=vec4_opt(tats))

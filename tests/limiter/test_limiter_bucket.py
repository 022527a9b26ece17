"""The limiter's pure arithmetic: exact numbers, and properties over random traffic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limiter_support import plan, vec

from riprap.limiter._bucket import (
    Announced,
    Grant,
    Poll,
    Refused,
    State,
    Ticket,
    acquire,
    confirm,
    effective,
    pause,
)
from riprap.limiter._settle import learn, settle

RPM60 = plan(rpm=60, burst_seconds=3)  # 1 request per second, a bucket of 3


def grant(
    state: State, p: object, need: object, now: float, max_wait: float = 1e9
) -> tuple[Grant, State]:
    """`acquire`, asserting it granted."""
    outcome, state = acquire(state, p, need, now, max_wait)  # type: ignore[arg-type]
    assert isinstance(outcome, Grant), outcome
    return outcome, state


def test_burst_then_one_per_interval() -> None:
    """A full bucket lets its size through at once, then one per 1/rate seconds."""
    state, waits = State(), []
    for _ in range(6):
        g, state = grant(state, RPM60, vec(), now=100.0)
        waits.append(g.wait)
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


def test_bucket_refills_continuously() -> None:
    """Half a second after draining a 1/s bucket, the next request waits half a second."""
    state = State()
    for _ in range(3):
        _, state = grant(state, RPM60, vec(), now=100.0)
    g, _ = grant(state, RPM60, vec(), now=100.5)
    assert g.wait == 0.5


def test_all_dimensions_are_admitted_together() -> None:
    """The start is the latest any dimension needs; every dimension reserves at it."""
    p = plan(rpm=600, input_tpm=600, burst_seconds=1)  # 10/s and 10 tokens/s, buckets of 10
    g, state = grant(State(), p, vec(input_tokens=10), now=0.0)
    assert g.wait == 0.0
    g, state = grant(state, p, vec(input_tokens=5), now=0.0)
    assert g.wait == 0.5  # input needs 5 tokens at 10/s; requests had room
    assert state.tat[0] == pytest.approx(0.6)  # the request bucket reserved at 0.5
    assert state.tat[1] == pytest.approx(1.5)


def test_refusal_holds_nothing() -> None:
    """A wait longer than the caller has is refused at once and reserves nothing."""
    state = State()
    for _ in range(3):
        _, state = grant(state, RPM60, vec(), now=0.0)
    outcome, after = acquire(state, RPM60, vec(), 0.0, 0.5)
    assert outcome == Refused(1.0)
    assert after == state


def test_large_need_keeps_its_place() -> None:
    """FIFO: a large prompt arriving first starts first, small ones queue behind it."""
    p = plan(input_tpm=600, burst_seconds=1)  # 10 tokens/s, bucket of 10
    big, state = grant(State(), p, vec(input_tokens=10), now=0.0)
    small, state = grant(state, p, vec(input_tokens=1), now=0.0)
    late_big, state = grant(state, p, vec(input_tokens=10), now=0.0)
    later_small, _ = grant(state, p, vec(input_tokens=1), now=0.0)
    waits = (big.wait, small.wait, late_big.wait, later_small.wait)
    assert waits == pytest.approx((0.0, 0.1, 1.1, 1.2))


def test_need_above_the_bucket_waits_for_a_full_one() -> None:
    """A need larger than the bucket goes when the bucket is full, leaving it in debt."""
    p = plan(input_tpm=600, burst_seconds=1)
    g, state = grant(State(), p, vec(input_tokens=3), now=0.0)
    g, state = grant(state, p, vec(input_tokens=25), now=0.0)
    assert g.wait == pytest.approx(0.3)  # full again at 0.3
    g, _ = grant(state, p, vec(input_tokens=1), now=0.3)
    assert g.wait == pytest.approx(1.6)  # the debt of 15 is repaid by 1.8


def test_settle_refunds_unused_output() -> None:
    """Output reserved as max_tokens and not produced is given back at once."""
    p = plan(output_tpm=600, burst_seconds=1)  # 10/s, bucket of 10
    need = vec(output_tokens=10)
    g, state = grant(State(), p, need, now=0.0)
    state = settle(state, p, g.ticket, need=need, used=vec(output_tokens=2), observed=None, now=0.0)
    assert state.tat[2] == pytest.approx(0.2)
    g, _ = grant(state, p, vec(output_tokens=10), now=0.0)
    assert g.wait == pytest.approx(0.2)


def test_settle_charges_extra_input_and_moves_the_queue() -> None:
    """Input used beyond the estimate is charged, and callers already queued move back."""
    p = plan(input_tpm=600, burst_seconds=1)
    first, state = grant(State(), p, vec(input_tokens=10), now=0.0)
    queued, state = grant(state, p, vec(input_tokens=5), now=0.0)
    assert queued.wait == pytest.approx(0.5)
    state = settle(
        state, p, first.ticket, need=vec(input_tokens=10), used=vec(input_tokens=14),
        observed=None, now=0.0,
    )  # fmt: skip
    assert state.shift[1] == pytest.approx(0.4)
    extra, _ = confirm(state, queued.ticket, now=0.5)
    assert extra == pytest.approx(0.4)


def test_refund_gives_everything_back() -> None:
    """A refused call (429, no connection) returns its request and its tokens."""
    p = plan(rpm=60, input_tpm=600, burst_seconds=1)
    need = vec(input_tokens=5)
    g, state = grant(State(), p, need, now=10.0)
    state = settle(state, p, g.ticket, need=need, used=None, observed=None, now=10.0)
    assert state.tat[0] == 10.0
    assert state.tat[1] == 10.0


def test_refund_never_overfills() -> None:
    """Refunding after the bucket has refilled leaves it full, not above."""
    need = vec()
    g, state = grant(State(), RPM60, need, now=0.0)
    state = settle(state, RPM60, g.ticket, need=need, used=None, observed=None, now=50.0)
    assert state.tat[0] == 50.0


def test_confirm_absorbs_a_shift_the_slot_had_room_for() -> None:
    """A queued slot moves back only by what its own room in the bucket cannot absorb."""
    state = State()
    tickets = []
    for _ in range(3):
        g, state = grant(state, RPM60, vec(), now=0.0)
        tickets.append(g.ticket)
    state = pause(state, RPM60, 0.5, now=0.0)  # shifts every dimension by 0.5 s
    state = State(tat=state.tat, shift=state.shift)  # the pause is over; only the shift stays
    assert confirm(state, tickets[0], now=0.0)[0] == 0.0  # level 2 after it: 2 s of room
    assert confirm(state, tickets[2], now=0.0)[0] == 0.5  # level 0: moves with the queue


def test_pause_holds_every_start() -> None:
    """After a pause, nothing starts before it ends; a slot woken early waits for it."""
    state = State()
    g, state = grant(state, RPM60, vec(), now=0.0)
    state = pause(state, RPM60, 2.0, now=0.0)
    assert state.paused_until == 2.0
    later, state = grant(state, RPM60, vec(), now=0.5)
    assert later.wait >= 1.5
    extra, ticket = confirm(state, g.ticket, now=1.0)
    assert extra == 1.0
    assert ticket.start == g.ticket.start + 1.0


def test_a_shorter_pause_does_not_move_a_longer_one() -> None:
    """A second 429 inside a pause extends it only if it asks for longer."""
    state = pause(State(), RPM60, 5.0, now=0.0)
    assert pause(state, RPM60, 1.0, now=1.0) == state
    assert pause(state, RPM60, 10.0, now=1.0).paused_until == 11.0


def test_cold_scope_lets_one_probe_through_then_polls() -> None:
    """With nothing configured and nothing learned, one call goes; the rest ask again."""
    p = plan()
    first, state = grant(State(), p, vec(), now=0.0)
    assert first.ticket.probe
    outcome, _ = acquire(state, p, vec(), 0.0, 10.0)
    assert outcome == Poll(0.1)


def test_a_failed_probe_lets_the_next_caller_probe() -> None:
    """A probe that ends without a response hands the role on."""
    p = plan()
    first, state = grant(State(), p, vec(), now=0.0)
    state = settle(state, p, first.ticket, need=vec(), used=None, observed=None, now=1.0)
    second, _ = grant(state, p, vec(), now=1.0)
    assert second.ticket.probe


def test_a_probe_that_never_ends_expires() -> None:
    """If the probe's caller vanished, another caller probes after the probe timeout."""
    p = plan()
    _, state = grant(State(), p, vec(), now=0.0)
    again, _ = grant(state, p, vec(), now=60.0)
    assert again.ticket.probe


def test_probe_headers_start_pacing() -> None:
    """The probe's headers give the rate, the bucket size and the level to start from."""
    p = plan()
    probe, state = grant(State(), p, vec(), now=0.0)
    seen = (Announced(limit=60, remaining=2, reset_in=1.0), None, None, None)
    state = settle(state, p, probe.ticket, need=vec(), used=vec(), observed=seen, now=0.0)
    assert state.warm
    assert (state.learned_rate[0], state.learned_capacity[0]) == (1.0, 3.0)
    waits = []
    for _ in range(4):
        g, state = grant(state, p, vec(), now=0.0)
        waits.append(g.wait)
    assert waits == [0.0, 0.0, 1.0, 2.0]


def test_a_response_without_headers_ends_learning() -> None:
    """A provider that sends no rate-limit headers leaves the scope unpaced, not cold."""
    p = plan()
    probe, state = grant(State(), p, vec(), now=0.0)
    nothing = (None, None, None, None)
    state = settle(state, p, probe.ticket, need=vec(), used=vec(), observed=nothing, now=0.0)
    for _ in range(10):
        g, state = grant(state, p, vec(), now=0.0)
        assert g.wait == 0.0


def test_learned_size_is_what_is_left_plus_what_refills() -> None:
    """Bucket size = remaining + rate x time to full, never above the limit, never shrinking."""
    p = plan()
    state = learn(State(), p, (Announced(60, 10, 5.0), None, None, None), now=0.0)
    assert state.learned_capacity[0] == 15.0
    state = learn(state, p, (Announced(60, 0, 1.0), None, None, None), now=0.0)
    assert state.learned_capacity[0] == 15.0
    state = learn(state, p, (Announced(60, 50, 100.0), None, None, None), now=0.0)
    assert state.learned_capacity[0] == 60.0


def test_a_whole_second_reset_never_reads_as_an_empty_bucket() -> None:
    """A reset rounded to the second ("0 left, full already") reads as a bucket of 1."""
    state = learn(State(), plan(), (Announced(60, 0, -0.2), None, None, None), now=0.0)
    assert state.learned_capacity[0] == 1.0


def test_configured_limits_are_never_above_announced_ones() -> None:
    """With adopt, a configured limit higher than the provider's gives way to it."""
    p = plan(rpm=120, burst_seconds=10)
    state = learn(State(), p, (Announced(60, 5, 0.0), None, None, None), now=0.0)
    assert effective(p, state, 0) == (1.0, 6.0)
    assert effective(plan(rpm=120, burst_seconds=10, adopt=False), state, 0) == (2.0, 20.0)


def test_headroom_and_jitter_shrink_rate_and_bucket() -> None:
    """Headroom scales rate and size; jitter keeps seconds of the rate in reserve."""
    p = plan(rpm=600, burst_seconds=10, headroom=0.9, jitter=0.5)
    assert effective(p, State(), 0) == pytest.approx((9.0, 90.0))
    p = plan(rpm=600, burst_seconds=10, headroom=0.99, jitter=0.5)
    assert effective(p, State(), 0) == pytest.approx((9.9, 95.0))
    assert effective(plan(rpm=6000, burst_seconds=1, jitter=0.05), State(), 0) == (100.0, 95.0)


def test_other_traffic_seen_in_remaining_is_charged() -> None:
    """Less left at the provider than in riprap's books is charged, past a margin of one."""
    need = vec()
    g, state = grant(State(), RPM60, need, now=0.0)  # level 2 after it
    seen = (Announced(limit=60, remaining=0, reset_in=None), None, None, None)
    state = settle(state, RPM60, g.ticket, need=need, used=need, observed=seen, now=0.0)
    assert state.shift[0] == pytest.approx(3.0)
    assert state.tat[0] == pytest.approx(4.0)


def test_more_room_at_the_provider_changes_nothing() -> None:
    """Corrections only tighten: a provider with more room than the books is ignored."""
    need = vec()
    g, state = grant(State(), RPM60, need, now=0.0)
    before = state
    seen = (Announced(limit=60, remaining=2, reset_in=None), None, None, None)
    state = settle(state, RPM60, g.ticket, need=need, used=need, observed=seen, now=0.0)
    assert state.tat == before.tat
    assert state.shift == before.shift


def test_input_under_estimate_is_not_charged_twice() -> None:
    """Extra input the provider counted shows in its remaining; it is charged once."""
    p = plan(input_tpm=600, burst_seconds=1)
    g, state = grant(State(), p, vec(input_tokens=4), now=0.0)  # level 6 after it
    seen = (None, Announced(limit=600, remaining=3, reset_in=None), None, None)
    state = settle(
        state, p, g.ticket, need=vec(input_tokens=4), used=vec(input_tokens=7),
        observed=seen, now=0.0,
    )  # fmt: skip
    assert state.tat[1] == pytest.approx(0.7)


def test_refill_lost_on_the_way_is_seen_in_the_reset() -> None:
    """A call that reached a full bucket late left less than riprap counted: charged."""
    p = plan(rpm=60, burst_seconds=3)
    g, state = grant(State(), p, vec(), now=0.0)  # riprap: level 2 at 0, full at 1
    # The call arrived at 0.9: the provider's bucket was full until then, and is full
    # again at 1.9. At 1.0 riprap thinks it full; the provider is 0.9 short.
    seen = (Announced(limit=60, remaining=2, reset_in=0.9, resolution=0.0), None, None, None)
    state = learn(state, p, seen, now=1.0)
    state = settle(state, p, g.ticket, need=vec(), used=vec(), observed=seen, now=1.0)
    assert state.tat[0] == pytest.approx(1.0 + 0.9 + 1.0)  # the gap, and the margin


def test_corrections_since_a_call_went_are_not_counted_again() -> None:
    """A correction applied after a call left is part of what its headers show."""
    need = vec()
    a, state = grant(State(), RPM60, need, now=0.0)
    b, state = grant(state, RPM60, need, now=0.0)  # level 1 after b
    seen_a = (Announced(limit=60, remaining=1, reset_in=None), None, None, None)
    state = settle(state, RPM60, a.ticket, need=need, used=need, observed=seen_a, now=0.0)
    assert state.shift[0] == pytest.approx(2.0)  # a: 2 by the books, 1 there; and a margin
    seen_b = (Announced(limit=60, remaining=0, reset_in=None), None, None, None)
    state = settle(state, RPM60, b.ticket, need=need, used=need, observed=seen_b, now=0.0)
    assert state.shift[0] == pytest.approx(2.0)  # b's headers show the same one unit


# -- properties -------------------------------------------------------------------------

arrivals = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=5.0),  # gap since the previous arrival
        st.integers(min_value=0, max_value=40),  # input tokens
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(arrivals)
def test_the_schedule_never_overdraws_any_bucket(traffic: list[tuple[float, int]]) -> None:
    """Replaying the handed-out starts through an exact token bucket never goes negative."""
    p = plan(rpm=120, input_tpm=600, burst_seconds=2)  # 2 req/s (4), 10 tok/s (20)
    state, now, starts = State(), 0.0, []
    for gap, tokens in traffic:
        now += gap
        g, state = grant(state, p, vec(input_tokens=tokens), now=now)
        starts.append((now + g.wait, tokens))
    for rate, size, index in ((2.0, 4.0, None), (10.0, 20.0, 1)):
        level, last = size, 0.0
        for start, tokens in sorted(starts):
            level = min(size, level + (start - last) * rate)
            last = start
            cost = 1.0 if index is None else float(tokens)
            if cost == 0:
                continue  # a call that needs none of a dimension is not paced by it
            if cost > size:
                assert level >= size - 1e-9  # oversized: only from a full bucket
            else:
                assert level >= cost - 1e-9
            level -= cost


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=5.0), st.integers(1, 40)),
        min_size=1,
        max_size=40,
    )
)
def test_starts_are_in_arrival_order(traffic: list[tuple[float, int]]) -> None:
    """Start times are handed out first come, first served."""
    p = plan(rpm=120, input_tpm=600, burst_seconds=2)
    state, now, starts = State(), 0.0, []
    for gap, tokens in traffic:
        now += gap
        g, state = grant(state, p, vec(input_tokens=tokens), now=now)
        starts.append(now + g.wait)
    assert starts == sorted(starts)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=100, max_value=20_000), min_size=2, max_size=60),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_no_prompt_waits_more_than_its_fair_share(sizes: list[int], spacing: float) -> None:
    """Every wait is at most the time to refill what arrived before it, plus its own need."""
    rate = 40_000 / 60
    p = plan(input_tpm=40_000, burst_seconds=60)
    state, now, queued = State(), 0.0, []
    for size in sizes:
        now += spacing
        g, state = grant(state, p, vec(input_tokens=size), now=now)
        queued.append((now, size))
        ahead = sum(s for t, s in queued if t <= now)  # everything arrived so far, itself too
        fair = max(0.0, ahead - 40_000) / rate + size / rate
        assert g.wait <= 2 * fair + 1e-6


@settings(max_examples=100, deadline=None)
@given(arrivals)
def test_refunding_every_reservation_leaves_a_full_bucket(traffic: list[tuple[float, int]]) -> None:
    """Whatever was reserved, giving it all back leaves nothing owed.

    One dimension: with two, a call waiting for one leaves the other idle meanwhile, and
    a refund does not give back idle time (conservative, never over-admitting).
    """
    p = plan(input_tpm=600, burst_seconds=2)
    state, now, held = State(), 0.0, []
    for gap, tokens in traffic:
        now += gap
        need = vec(input_tokens=tokens)
        g, state = grant(state, p, need, now=now)
        held.append((g.ticket, need))
    for ticket, need in reversed(held):
        state = settle(state, p, ticket, need=need, used=None, observed=None, now=now)
    tat = state.tat[1]
    assert tat is None or tat <= now + 1e-9


def test_ticket_of_an_unlimited_scope_has_no_slots() -> None:
    """With nothing configured and learning off, nothing is paced or held."""
    p = plan(adopt=False)
    g, state = grant(State(), p, vec(input_tokens=10**6), now=0.0)
    assert g.wait == 0.0
    assert g.ticket == Ticket((None, None, None, None), probe=False, start=0.0)
    assert math.isinf(max([0.0, *[t or -math.inf for t in state.tat]])) is False

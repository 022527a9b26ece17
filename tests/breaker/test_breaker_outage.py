"""Simulator outage windows per model, and a breaker riding one out with a fallback model."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from riprap import Kind
from riprap.breaker import Breaker, CircuitBreaker, MemoryBackend, Permit
from riprap.sim import Outage, Reply, Simulator
from riprap.testing import FakeClock
from support import make_client

PRIMARY, FALLBACK = "claude-primary", "claude-fallback"
WINDOW = Outage(model=PRIMARY, start=5.0, end=25.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": -1}, "start"),
        ({"start": float("nan")}, "start"),
        ({"start": 5, "end": 5}, "end"),
        ({"start": 0, "model": ""}, "model"),
        ({"start": 0, "fault_rate": 1.5}, "fault_rate"),
        ({"start": 0, "faults": {}}, "faults"),
        ({"start": 0, "faults": {200: 1}}, "faults key"),
        ({"start": 0, "faults": {"stream_cut": 1}}, "faults key"),
        ({"start": 0, "faults": {529: -1}}, "faults"),
        ({"start": 0, "faults": {529: 0}}, "positive"),
        ({"start": 0, "retry_after": -2}, "retry_after"),
        ({"start": 0, "seed": 1.0}, "seed"),
    ],
)
def test_outage_rejects_bad_values(kwargs: dict[str, Any], field: str) -> None:
    """A bad Outage field raises ValueError naming it, where the outage is written."""
    with pytest.raises(ValueError, match=field):
        Outage(**kwargs)


def test_window_covers_its_model_from_start_until_end() -> None:
    """The window is [start, end) for its model only; None end never recovers."""
    assert not WINDOW.covers(4.999, PRIMARY)
    assert WINDOW.covers(5.0, PRIMARY)
    assert WINDOW.covers(24.999, PRIMARY)
    assert not WINDOW.covers(25.0, PRIMARY)
    assert not WINDOW.covers(10.0, FALLBACK)
    assert Outage(start=1.0).covers(1e9, "any-model")


def test_full_outage_answers_529_to_every_request() -> None:
    """Inside a full outage every request gets a 529 overloaded; outside, none does."""
    inside = {WINDOW.decide(i, 10.0, PRIMARY) for i in range(50)}
    assert {r.status for r in inside if r is not None} == {529}
    assert None not in inside
    assert {WINDOW.decide(i, 30.0, PRIMARY) for i in range(50)} == {None}


def test_partial_degradation_is_a_pure_function_of_seed_and_index() -> None:
    """A 30 % degradation fails about 30 % of requests, the same ones every time."""
    degraded = Outage(start=0.0, fault_rate=0.3, faults={503: 1.0, "reset": 1.0}, seed=7)
    first = [degraded.decide(i, 1.0, "m") for i in range(1000)]
    again = [degraded.decide(i, 2.0, "m") for i in range(1000)]
    assert first == again
    failed = [r for r in first if r is not None]
    assert 250 <= len(failed) <= 350
    assert {r.status for r in failed if r.disconnect is None} == {503}
    assert {r.disconnect for r in failed} == {None, "reset"}


def test_outage_sets_retry_after_when_asked() -> None:
    """With retry_after, the outage's 529s carry the header."""
    reply = Outage(start=0.0, retry_after=3.0).decide(0, 1.0, "m")
    assert reply is not None
    assert dict(reply.headers) == {"retry-after": "3"}


def test_simulator_outage_by_its_clock() -> None:
    """On the simulator's clock from the first request: fine, 529 (that model only), fine."""
    clock = FakeClock()
    with Simulator(clock=clock.now, outages=[WINDOW]) as sim:
        client = make_client("anthropic", sim, is_async=False, max_retries=0)

        def ask(model: str) -> int:
            try:
                client.messages.create(
                    model=model, max_tokens=8, messages=[{"role": "user", "content": "hi"}]
                )
            except anthropic.OverloadedError:
                return 529
            return 200

        assert ask(PRIMARY) == 200
        clock.advance(5.0)
        assert (ask(PRIMARY), ask(FALLBACK)) == (529, 200)
        clock.advance(19.9)
        assert ask(PRIMARY) == 529
        clock.advance(0.1)
        assert ask(PRIMARY) == 200
        assert sim.elapsed == 25.0
        sim.reset()
        assert sim.elapsed == 0.0
        clock.advance(60.0)
        assert ask(PRIMARY) == 200, "outage time restarts with the first request after reset()"
        clock.advance(5.0)
        assert ask(PRIMARY) == 529
        sim.script(Reply())
        assert ask(PRIMARY) == 200, "a scripted reply wins over the outage"
        sim.outages = ()
        assert ask(PRIMARY) == 200


def test_breaker_rides_out_an_outage_with_a_fallback_model() -> None:
    """16 calls/s, primary down from 5 s to 25 s: few attempts reach it, and it comes back.

    The breaker's default policy; a call whose attempt fails or is refused is served by
    the fallback model at once (the fallback layer's job, played here by the loop, which
    only counts those calls: they are not the subject).
    """
    clock = FakeClock()
    breaker = CircuitBreaker(PRIMARY, policy=Breaker(), backend=MemoryBackend(clock=clock))
    served: list[tuple[float, str]] = []
    with Simulator(clock=clock.now, outages=[WINDOW]) as sim:
        client = make_client("anthropic", sim, is_async=False, max_retries=0)
        while sim.elapsed < 32.0:
            model = FALLBACK
            admission = breaker.allow()
            if isinstance(admission, Permit):
                try:
                    client.messages.create(model=PRIMARY, max_tokens=8, messages=[
                        {"role": "user", "content": "hi"}])  # fmt: skip
                    breaker.record(admission, None)
                    model = PRIMARY
                except anthropic.OverloadedError:
                    breaker.record(admission, Kind.OVERLOADED)
            served.append((sim.elapsed, model))
            clock.advance(1 / 16)  # exact in binary: every time below is exact
        origin = clock.now() - sim.elapsed
        during = [r for r in sim.requests if 5.0 <= r.time - origin < 25.0]
    bare_sdk = 16 * 20 * 3  # 320 calls in the outage, 3 attempts each with default retries
    assert len(during) <= 0.1 * bare_sdk
    # Ten in a row open it at 5.5625 s; probes at 10.5625, 15.5625, 20.5625 s fail; then back.
    assert len(during) == 10 + 3
    back = min(t for t, model in served if t >= 25.0 and model == PRIMARY)
    assert back == 25.5625
    assert back <= 25.0 + Breaker().break_duration + 1.0


def test_partial_degradation_on_the_wire_then_recovery() -> None:
    """A 30 % window on the simulator: exactly the requests the pure draw picks fail, then none."""
    clock = FakeClock()
    window = Outage(model=PRIMARY, start=0.0, end=10.0, fault_rate=0.3, seed=3)
    with Simulator(clock=clock.now, outages=[window]) as sim:
        client = make_client("anthropic", sim, is_async=False, max_retries=0)
        statuses = []
        for _ in range(60):
            try:
                client.messages.create(model=PRIMARY, max_tokens=8, messages=[
                    {"role": "user", "content": "hi"}])  # fmt: skip
                statuses.append(200)
            except anthropic.OverloadedError:
                statuses.append(529)
            clock.advance(0.25)  # 40 requests inside the window, 20 after it
        expected = [529 if window.decide(i, 0.25 * i, PRIMARY) else 200 for i in range(60)]
    assert statuses == expected
    assert 6 <= statuses[:40].count(529) <= 18
    assert statuses[40:] == [200] * 20

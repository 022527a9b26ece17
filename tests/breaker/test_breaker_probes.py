"""When a break ends under a crowd, only the configured probes reach the target."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from riprap import Kind
from riprap.breaker import Backend, Breaker, CircuitBreaker, Permit, Rejected, State
from riprap.sim import Scenario
from support import create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

CALLERS = 50
POLICY = Breaker(min_throughput=4, consecutive_failures=None, probes=2)
#: Long enough that every caller asks while the probes are still in flight.
PROBE_LATENCY = 0.3


def trip(breaker: CircuitBreaker) -> None:
    """Open the circuit with four failures."""
    for _ in range(4):
        permit = breaker.allow()
        assert isinstance(permit, Permit)
        breaker.record(permit, Kind.OVERLOADED)
    assert breaker.state is State.OPEN


def test_fifty_threads_at_break_end_send_two_probes(
    backend: Backend, clock: FakeClock, sim: Simulator
) -> None:
    """50 threads asking at once when the break ends: 2 calls reach the simulator, 48 refused."""
    breaker = CircuitBreaker("openai:gpt-sim:chat", policy=POLICY, backend=backend)
    trip(breaker)
    clock.advance(POLICY.break_duration)
    sim.scenario = Scenario(latency=(PROBE_LATENCY, PROBE_LATENCY))
    client = make_client("openai", sim, is_async=False, max_retries=0)
    start = threading.Barrier(CALLERS)

    def caller() -> bool:
        start.wait()
        admission = breaker.allow()
        if isinstance(admission, Rejected):
            return False
        create("openai", client)
        breaker.record(admission, None)
        return True

    with ThreadPoolExecutor(CALLERS) as pool:
        sent = list(pool.map(lambda _: caller(), range(CALLERS)))
    assert sent.count(True) == POLICY.probes
    assert len(sim.requests) == POLICY.probes
    assert breaker.state is State.CLOSED


@pytest.mark.anyio
async def test_fifty_tasks_at_break_end_send_two_probes(
    abackend: Backend, clock: FakeClock, sim: Simulator
) -> None:
    """50 asyncio tasks asking at once when the break ends: 2 calls reach the simulator."""
    breaker = CircuitBreaker("openai:gpt-sim:chat", policy=POLICY, backend=abackend)
    for _ in range(4):
        permit = await breaker.aallow()
        assert isinstance(permit, Permit)
        await breaker.arecord(permit, Kind.OVERLOADED)
    clock.advance(POLICY.break_duration)
    sim.scenario = Scenario(latency=(PROBE_LATENCY, PROBE_LATENCY))
    client = make_client("openai", sim, is_async=True, max_retries=0)

    async def caller() -> bool:
        admission = await breaker.aallow()
        if isinstance(admission, Rejected):
            return False
        await create("openai", client)
        await breaker.arecord(admission, None)
        return True

    try:
        sent = await asyncio.gather(*(caller() for _ in range(CALLERS)))
    finally:
        await client.close()
    assert sent.count(True) == POLICY.probes
    assert len(sim.requests) == POLICY.probes
    assert (await breaker.asnapshot()).state is State.CLOSED

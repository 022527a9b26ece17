"""50 callers through `riprap.wrap` when a break ends: only the configured probes are sent.

Real SDK clients on the simulator; the breaker in memory or in a real Redis, on the fake
clock. Each probe takes 0.3 s at the simulator, so every caller asks while they are out.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import openai
import pytest

import riprap
from riprap.breaker import Backend, Breakers, State
from riprap.sim import Outage, Scenario
from support import create, make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

CALLERS = 50
POLICY = riprap.Breaker(min_throughput=4, consecutive_failures=None, probes=2)
PROBE_LATENCY = 0.3


def options(backend: Backend, clock: FakeClock) -> dict[str, Any]:
    """One attempt per call, the breaker in `backend`, on the fake clock."""
    return {
        "breaker": Breakers(POLICY, backend=backend),
        "retry": riprap.Retry(max_attempts=1),
        "clock": clock,
        "validate": False,
    }


def test_fifty_threads_through_wrap_send_only_the_probes(
    backend: Backend, clock: FakeClock, sim: Simulator
) -> None:
    """Trip with four 529s; after the break, 50 threads at once: 2 requests, 48 refused."""
    client = riprap.wrap(make_client("openai", sim, is_async=False), **options(backend, clock))
    sim.outages = [Outage(start=0, faults={529: 1.0})]
    for _ in range(4):
        with pytest.raises(openai.InternalServerError):
            create("openai", client)
    sim.outages = []
    sim.scenario = Scenario(latency=(PROBE_LATENCY, PROBE_LATENCY))
    clock.advance(POLICY.break_duration)
    start = threading.Barrier(CALLERS)

    def caller() -> bool:
        start.wait()
        try:
            create("openai", client)
        except riprap.CircuitOpenError:
            return False
        return True

    with ThreadPoolExecutor(CALLERS) as pool:
        served = list(pool.map(lambda _: caller(), range(CALLERS)))
    assert served.count(True) == POLICY.probes
    assert len(sim.requests) == 4 + POLICY.probes
    key = "openai:gpt-sim:chat.completions.create"
    assert Breakers(POLICY, backend=backend).get(key).state is State.CLOSED


@pytest.mark.anyio
async def test_fifty_tasks_through_wrap_send_only_the_probes(
    abackend: Backend, clock: FakeClock, sim: Simulator
) -> None:
    """The same with 50 asyncio tasks on the async client (redis.asyncio for Redis)."""
    client = riprap.wrap(make_client("openai", sim, is_async=True), **options(abackend, clock))
    async with client:
        sim.outages = [Outage(start=0, faults={529: 1.0})]
        for _ in range(4):
            with pytest.raises(openai.InternalServerError):
                await create("openai", client)
        sim.outages = []
        sim.scenario = Scenario(latency=(PROBE_LATENCY, PROBE_LATENCY))
        clock.advance(POLICY.break_duration)

        async def caller() -> bool:
            try:
                await create("openai", client)
            except riprap.CircuitOpenError:
                return False
            return True

        served = await asyncio.gather(*(caller() for _ in range(CALLERS)))
    assert served.count(True) == POLICY.probes
    assert len(sim.requests) == 4 + POLICY.probes

"""A fleet on one Redis key trips together and recovers together."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from typing import TYPE_CHECKING, Any

import breaker_fleet_worker
import breaker_wrap_worker
import redis

from riprap import Kind
from riprap.breaker import Breaker, CircuitBreaker, Permit, RedisBackend, Rejected, State
from riprap.sim import Scenario

if TYPE_CHECKING:
    from types import ModuleType

    from riprap.sim import Simulator

PROCESSES = 4


def fleet(
    worker: ModuleType, redis_url: str, sim: Simulator
) -> tuple[dict[str, Any], dict[int, int]]:
    """Four processes of `worker` on one breaker: the tripper, and what each other sent after.

    The target answers 529 to everything. A request counts as "after the trip" when the
    simulator finished receiving it after the tripping attempt's answer came back.
    """
    sim.scenario = Scenario(fault_rate=1.0, faults={529: 1.0}, latency=(0.01, 0.01))
    context = multiprocessing.get_context("spawn")  # no fork of a threaded test process
    start = context.Barrier(PROCESSES)
    out = context.Queue()
    namespace = f"fleet-{uuid.uuid4().hex[:8]}"
    workers = [
        context.Process(
            target=worker.main,
            kwargs={
                "index": i,
                "redis_url": redis_url,
                "base_url": sim.base_url,
                "namespace": namespace,
                "start": start,
                "out": out,
            },
        )
        for i in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    try:
        results: list[dict[str, Any]] = [out.get(timeout=60) for _ in workers]
    finally:
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()
    out.close()
    out.join_thread()
    trippers = [r for r in results if r["tripped_at"] is not None]
    assert len(trippers) == 1, results
    tripper = trippers[0]
    after = {
        r["index"]: sum(
            1
            for q in sim.requests
            if q.headers.get("x-fleet-worker") == str(r["index"]) and q.time > tripper["tripped_at"]
        )
        for r in results
        if r is not tripper
    }
    # The breaker, not luck, stopped them: every worker sent before the trip.
    assert sum(r["sent"] for r in results) <= worker.POLICY.min_throughput + 3
    return tripper, after


def test_four_processes_each_send_at_most_one_more_call_after_the_trip(
    redis_url: str, sim: Simulator
) -> None:
    """Four real processes on one Redis breaker: once one trips it, each other sends ≤ 1 more."""
    _, after = fleet(breaker_fleet_worker, redis_url, sim)
    assert all(count <= 1 for count in after.values()), after


def test_four_processes_through_wrap_send_at_most_one_more_call_each(
    redis_url: str, sim: Simulator
) -> None:
    """The same through `riprap.wrap` and the OpenAI SDK in each process."""
    _, after = fleet(breaker_wrap_worker, redis_url, sim)
    assert all(count <= 1 for count in after.values()), after


def test_independent_clients_recover_together(redis_url: str) -> None:
    """Four clients on one key: one probe after the break, and its success closes it for all."""
    policy = Breaker(min_throughput=4, consecutive_failures=None, break_duration=0.2)
    namespace = f"fleet-{uuid.uuid4().hex[:8]}"
    clients = [redis.Redis.from_url(redis_url) for _ in range(PROCESSES)]
    try:
        fleet = [
            CircuitBreaker("k", policy=policy, backend=RedisBackend(c, namespace=namespace))
            for c in clients
        ]
        for breaker in fleet:
            permit = breaker.allow()
            assert isinstance(permit, Permit)
            breaker.record(permit, Kind.SERVER_ERROR)
        assert [b.state for b in fleet] == [State.OPEN] * PROCESSES
        time.sleep(fleet[0].snapshot().retry_in + 0.01)
        admissions = [b.allow() for b in fleet]
        probes = [a for a in admissions if isinstance(a, Permit)]
        assert len(probes) == 1
        assert sum(isinstance(a, Rejected) for a in admissions) == PROCESSES - 1
        prober = fleet[admissions.index(probes[0])]
        prober.record(probes[0], None)
        assert [b.state for b in fleet] == [State.CLOSED] * PROCESSES
    finally:
        for c in clients:
            c.close()

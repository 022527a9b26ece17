"""What only the Redis backend does: the server's clock, namespaced keys, expiry, no pickle."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import redis
import redis.asyncio
from breaker_ops import Advance, Allow, Manual, Op, Record, ops, policies
from hypothesis import HealthCheck, given, settings

from riprap import Kind
from riprap.breaker import (
    Breaker,
    CircuitBreaker,
    MemoryBackend,
    Permit,
    RedisBackend,
    State,
)
from riprap.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Iterator

    from riprap.breaker import Backend


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A blocking redis-py client on the test server."""
    connection = redis.Redis.from_url(redis_url)
    try:
        yield connection
    finally:
        connection.close()


def test_server_clock_times_the_break(client: redis.Redis) -> None:
    """Without a test clock the break is measured on the Redis server's TIME."""
    policy = Breaker(min_throughput=1, consecutive_failures=None, break_duration=0.2)
    breaker = CircuitBreaker("k", policy=policy, backend=RedisBackend(client, namespace="t-time"))
    breaker.reset()
    permit = breaker.allow()
    assert isinstance(permit, Permit)
    breaker.record(permit, Kind.OVERLOADED)
    refused = breaker.snapshot()
    assert refused.state is State.OPEN
    assert 0.0 < refused.retry_in <= 0.2
    time.sleep(refused.retry_in + 0.01)
    probe = breaker.allow()
    assert isinstance(probe, Permit)
    assert probe.probe


def test_keys_are_namespaced_and_expire(redis_url: str) -> None:
    """State lives under `{namespace}:breaker:{key}` as plain strings, with a TTL."""
    space = f"t-{uuid.uuid4().hex[:8]}"
    policy = Breaker(min_throughput=1, consecutive_failures=None)
    text: Any = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        backend = RedisBackend(text, namespace=space)
        breaker = CircuitBreaker("openai:gpt:chat", policy=policy, backend=backend)
        permit = breaker.allow()
        assert isinstance(permit, Permit)
        breaker.record(permit, Kind.SERVER_ERROR)
        keys = sorted(text.scan_iter(f"{space}:*"))
        assert keys == [f"{space}:breaker:{{openai:gpt:chat}}"]
        stored = text.hgetall(keys[0])
        assert stored["st"] == "open"
        assert float(stored["ou"]) > 0
        expected_ttl = policy.window + policy.max_break + policy.probe_timeout + 60
        assert 0 < text.pttl(keys[0]) <= expected_ttl * 1000
    finally:
        text.close()


def test_isolated_circuit_does_not_expire(client: redis.Redis) -> None:
    """A circuit isolated by hand stays isolated however long nobody touches it."""
    backend = RedisBackend(client, namespace=f"t-{uuid.uuid4().hex[:8]}")
    breaker = CircuitBreaker("k", policy=Breaker(), backend=backend)
    breaker.isolate()
    assert client.pttl(backend._keys("k")[0]) == -1


def test_blocking_client_refuses_async_calls(client: redis.Redis) -> None:
    """A blocking client used from async code fails clearly instead of blocking the loop."""
    import asyncio  # noqa: PLC0415 - only this test drives a loop by hand

    breaker = CircuitBreaker("k", policy=Breaker(), backend=RedisBackend(client))
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        asyncio.run(breaker.aallow())


@pytest.mark.anyio
async def test_async_client_refuses_blocking_calls(redis_url: str) -> None:
    """An asyncio client used from blocking code fails clearly."""
    client: Any = redis.asyncio.Redis.from_url(redis_url)
    try:
        breaker = CircuitBreaker("k", policy=Breaker(), backend=RedisBackend(client))
        with pytest.raises(TypeError, match=r"redis\.Redis"):
            breaker.allow()
    finally:
        await client.aclose()


def apply(backend: Backend, clock: FakeClock, policy: Breaker, sequence: list[Op]) -> list[object]:
    """Run `sequence` on a fresh circuit of `backend`; return every answer, in order."""
    breaker = CircuitBreaker("diff", policy=policy, backend=backend)
    outstanding: list[Permit] = []
    answers: list[object] = []
    for op in sequence:
        if isinstance(op, Advance):
            clock.advance(op.seconds)
        elif isinstance(op, Allow):
            answer = breaker.allow()
            if isinstance(answer, Permit):
                outstanding.append(answer)
            answers.append(answer)
        elif isinstance(op, Record) and outstanding:
            permit = outstanding.pop(op.pick % len(outstanding))
            answers.append(breaker.backend.settle("diff", policy, permit.ticket, op.outcome))
        elif isinstance(op, Manual):
            answers.append(breaker.isolate() if op.command == "isolate" else breaker.reset())
        answers.append(breaker.snapshot())
    return answers


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(policy=policies, sequence=ops)
def test_redis_script_matches_the_pure_machine(
    client: redis.Redis, policy: Breaker, sequence: list[Op]
) -> None:
    """For any sequence of operations at the same times, Lua and Python answer identically."""
    memory_clock, redis_clock = FakeClock(), FakeClock()
    space = f"t-{uuid.uuid4().hex[:8]}"
    expected = apply(MemoryBackend(clock=memory_clock), memory_clock, policy, sequence)
    backend = RedisBackend(client, namespace=space, clock=redis_clock)
    assert apply(backend, redis_clock, policy, sequence) == expected

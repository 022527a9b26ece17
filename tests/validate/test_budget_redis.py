"""Running budgets in Redis: one budget shared by every process, never overshot."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
import redis
import redis.asyncio

from riprap.budget import AsyncRedisLedger, Budget, BudgetExceededError, RedisLedger, to_units

if TYPE_CHECKING:
    from collections.abc import Iterator

CALL = to_units(0.05)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A sync client on the test server, closed after the test."""
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def namespace() -> str:
    """A fresh namespace: tests share one server but never each other's keys."""
    return f"test-{uuid.uuid4().hex[:8]}"


def test_fifty_concurrent_calls_against_a_budget_of_twenty(
    client: redis.Redis, namespace: str
) -> None:
    """50 threads reserve at once against room for 20: exactly 20 admitted."""
    ledger = RedisLedger(client, namespace=namespace)
    budget = Budget(limit=1.00, period=3600, key="tenant")
    start = threading.Barrier(50)

    def one(_: int) -> bool:
        start.wait()
        try:
            ledger.reserve([budget], CALL)
        except BudgetExceededError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=50) as pool:
        admitted = list(pool.map(one, range(50)))
    assert admitted.count(True) == 20
    keys = client.keys(f"{{{namespace}}}:budget:*")
    assert len(keys) == 1
    assert int(client.hget(keys[0], "reserved") or 0) == 20 * CALL
    assert int(client.hget(keys[0], "spent") or 0) == 0


def test_async_ledger_admits_exactly_twenty(redis_url: str, namespace: str) -> None:
    """50 concurrent tasks through the asyncio client: exactly 20 admitted."""

    async def go() -> list[bool]:
        connection = redis.asyncio.Redis.from_url(redis_url)
        ledger = AsyncRedisLedger(connection, namespace=namespace)
        budget = Budget(limit=1.00, key="tenant")

        async def one() -> bool:
            try:
                await ledger.reserve([budget], CALL)
            except BudgetExceededError:
                return False
            return True

        try:
            return await asyncio.gather(*(one() for _ in range(50)))
        finally:
            await connection.aclose()

    assert asyncio.run(go()).count(True) == 20


def test_settle_moves_the_reservation_to_spent(client: redis.Redis, namespace: str) -> None:
    """Settling releases the reservation and counts the actual amount."""
    ledger = RedisLedger(client, namespace=namespace)
    budget = Budget(limit=0.10, key="k")
    held = ledger.reserve([budget], to_units(0.06))
    with pytest.raises(BudgetExceededError) as caught:
        ledger.reserve([budget], to_units(0.06))
    assert caught.value.reserved == pytest.approx(0.06)
    ledger.settle(held, to_units(0.01))
    ledger.reserve([budget], to_units(0.06))
    with pytest.raises(BudgetExceededError) as again:
        ledger.reserve([budget], to_units(0.06))
    assert again.value.spent == pytest.approx(0.01)
    assert again.value.reserved == pytest.approx(0.06)


def test_periodic_windows_expire(client: redis.Redis, namespace: str) -> None:
    """A period's key expires two periods after it is used, so old windows clean up."""
    ledger = RedisLedger(client, namespace=namespace)
    ledger.reserve([Budget(limit=1.0, period=60, key="k")], CALL)
    ledger.reserve([Budget(limit=1.0, key="forever")], CALL)
    ttls = {
        (key.decode() if isinstance(key, bytes) else key).split(":")[2]: client.ttl(key)
        for key in client.keys(f"{{{namespace}}}:*")
    }
    assert 0 < ttls["k"] <= 120
    assert ttls["forever"] == -1


def test_all_or_nothing_across_budgets(client: redis.Redis, namespace: str) -> None:
    """One refusing budget leaves every other budget of the call untouched."""
    ledger = RedisLedger(client, namespace=namespace)
    with pytest.raises(BudgetExceededError) as caught:
        ledger.reserve([Budget(limit=10, key="wide"), Budget(limit=0.01, key="narrow")], CALL)
    assert caught.value.key == "narrow"
    assert client.keys(f"{{{namespace}}}:*") == []


def test_namespaces_do_not_share(client: redis.Redis, namespace: str) -> None:
    """Two namespaces keep separate budgets under the same key."""
    budget = Budget(limit=0.05, key="k")
    RedisLedger(client, namespace=namespace).reserve([budget], CALL)
    RedisLedger(client, namespace=namespace + "-other").reserve([budget], CALL)

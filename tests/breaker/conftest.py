"""Fixtures: the same breaker tests on the memory backend and on a real redis-server."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
import redis
import redis.asyncio

from riprap.breaker import Backend, MemoryBackend, RedisBackend

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from riprap.testing import FakeClock


def namespace() -> str:
    """A namespace no other test uses, so tests sharing the session's Redis never collide."""
    return f"riprap-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Backend]:
    """A blocking backend on the fake clock: in memory, or in Redis with `now` passed in."""
    if request.param == "memory":
        yield MemoryBackend(clock=clock)
        return
    url: str = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    try:
        yield RedisBackend(client, namespace=namespace(), clock=clock)
    finally:
        client.close()


@pytest.fixture(params=["memory", "redis"])
async def abackend(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Backend]:
    """An async backend on the fake clock: in memory, or redis.asyncio with `now` passed in."""
    if request.param == "memory":
        yield MemoryBackend(clock=clock)
        return
    url: str = request.getfixturevalue("redis_url")
    client: Any = redis.asyncio.Redis.from_url(url)
    try:
        yield RedisBackend(client, namespace=namespace(), clock=clock)
    finally:
        await client.aclose()

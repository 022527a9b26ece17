"""The Redis backend's async client with several event loops: one client per loop, per thread.

A process may run event loops in several threads at once (a thread pool whose workers
each call `asyncio.run`). A client made on one loop must never be used from another:
its connections' futures belong to the loop that made them.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
import redis

from riprap.limiter import Limiter, Limits, Need, RedisBackend, Scope

SCOPE = Scope.of("anthropic", "claude-sim", api_key="sk-ant-test")
ONE = Need(input_tokens=1, output_tokens=1)


def _limiter(redis_url: str) -> Limiter:
    backend = RedisBackend(redis_url, namespace=f"loops{uuid.uuid4().hex}")
    return Limiter(limits=Limits(rpm=6_000_000), backend=backend)


async def _step(limiter: Limiter) -> None:
    """One acquire and its refund: two round trips to Redis."""
    permit = await limiter.aacquire(SCOPE, ONE, deadline_at=limiter.clock.now() + 30)
    await permit.arefund()


def _connections(redis_url: str) -> int:
    """Connections the Redis server has accepted so far (this question's own included)."""
    with redis.Redis.from_url(redis_url) as admin:
        info: dict[str, Any] = admin.info("stats")
    return int(info["total_connections_received"])


class _LoopThread:
    """An event loop running in its own thread, to submit coroutines to."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


def test_two_live_loops_keep_one_client_each(redis_url: str) -> None:
    """Steps on two loops in turn: two connections in all, not a new client per switch.

    A single "current loop" slot dropped the other loop's client at every switch, leaving
    its connection open until the garbage collector found it.
    """
    limiter = _limiter(redis_url)
    other = _LoopThread()
    try:
        before = _connections(redis_url)
        other.run(_step(limiter))

        async def here() -> None:
            await _step(limiter)
            other.run(_step(limiter))  # the other loop again, while this one still runs
            await _step(limiter)
            await limiter.aclose()

        asyncio.run(here())
        other.run(_step(limiter))
        other.run(limiter.aclose())
        made = _connections(redis_url) - before - 1  # less the question's own
        assert made == 2  # one per loop
    finally:
        other.stop()


def test_threads_running_their_own_loops_never_hang(redis_url: str) -> None:
    """Four threads, each calling `asyncio.run` in turn: every step finishes.

    With one client slot shared by all threads, a thread could await a connection that
    another thread's loop had made, and wait forever.
    """
    limiter = _limiter(redis_url)
    errors: list[BaseException] = []

    async def session() -> None:
        for _ in range(3):
            await _step(limiter)
        await limiter.aclose()

    def worker() -> None:
        try:
            for _ in range(15):
                asyncio.run(session())
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not [t for t in threads if t.is_alive()], "a thread hung on another loop's client"
    assert errors == []


@pytest.mark.parametrize("reuse", [False, True])
def test_a_given_async_client_is_used_as_given(redis_url: str, *, reuse: bool) -> None:
    """`async_client=` is the caller's: used on its loop, never replaced or closed."""

    async def go() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        backend = RedisBackend(async_client=client, namespace=f"given{uuid.uuid4().hex}")
        limiter = Limiter(limits=Limits(rpm=6_000_000), backend=backend)
        await _step(limiter)
        if reuse:
            await _step(limiter)
        await limiter.aclose()
        assert await client.ping()  # still open: the caller closes it
        await client.aclose()

    asyncio.run(go())

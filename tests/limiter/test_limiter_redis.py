"""The Redis backend: the pure functions' numbers, the server's clock, atomicity, outages."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limiter_support import plan, vec

from riprap.limiter import (
    Limiter,
    LimiterUnavailableError,
    Limits,
    MemoryBackend,
    Need,
    RateLimitWaitBeyondDeadlineError,
    RedisBackend,
    Scope,
)
from riprap.limiter._bucket import Announced, Grant, State, Ticket
from riprap.testing import FakeClock

SCOPE = Scope.of("openai", "gpt-sim", api_key="sk-test")
ONE = Need(input_tokens=10, output_tokens=20)


def _state(client: Any, key: str) -> State:
    raw = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}

    def num(name: str) -> float | None:
        return float(raw[name]) if name in raw else None

    def four(prefix: str) -> Any:
        return tuple(num(f"{prefix}{d}") for d in range(1, 5))

    return State(
        tat=four("t"),
        shift=tuple(num(f"s{d}") or 0.0 for d in range(1, 5)),  # type: ignore[arg-type]
        learned_rate=four("lr"),
        learned_capacity=four("lc"),
        paused_until=num("pause"),
        probe_until=num("probe"),
        warm=raw.get("warm") == "1",
        foreign=tuple(num(f"f{d}") or 0.0 for d in range(1, 5)),  # type: ignore[arg-type]
        observed_at=four("o"),
        aligned_at=four("a"),
    )


def _close(a: State, b: State) -> bool:
    def same(x: object, y: object) -> bool:
        if isinstance(x, tuple) and isinstance(y, tuple):
            return all(same(p, q) for p, q in zip(x, y, strict=True))
        if isinstance(x, float) and isinstance(y, float):
            return abs(x - y) <= 1e-9 * max(1.0, abs(x))
        return x == y

    return all(same(getattr(a, f), getattr(b, f)) for f in State.__dataclass_fields__)


announced = st.one_of(
    st.none(),
    st.builds(
        Announced,
        limit=st.sampled_from([None, 60.0, 600.0, 6000.0]),
        remaining=st.one_of(st.none(), st.integers(0, 100).map(float)),
        reset_in=st.one_of(st.none(), st.floats(-1.0, 30.0)),
        resolution=st.sampled_from([0.001, 1.0]),
    ).filter(lambda a: a.limit is not None or a.remaining is not None),
)
observations = st.one_of(st.none(), st.tuples(announced, announced, announced, announced))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.floats(0, 2), st.integers(0, 30), st.integers(0, 30),
                  st.sampled_from([0.0, 1.0, 1e6])),
        st.tuples(st.just("settle"), st.integers(0, 50), st.booleans(), st.integers(0, 40),
                  observations),
        st.tuples(st.just("confirm"), st.integers(0, 50), st.floats(0, 2)),
        st.tuples(st.just("pause"), st.floats(0, 3)),
        st.tuples(st.just("observe"), observations),
    ),
    max_size=25,
)  # fmt: skip
plans = st.sampled_from(
    [
        plan(rpm=60, input_tpm=600, burst_seconds=2),
        plan(output_tpm=600, tpm=1200, headroom=0.9, jitter=0.05),
        plan(),  # learns from headers, starts cold
        plan(rpm=120, adopt=False),
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plans, ops)
def test_lua_and_python_agree(redis_url: str, p: Any, steps: list[tuple[Any, ...]]) -> None:
    """Any sequence of steps leaves Redis and the pure functions with the same numbers."""
    memory = MemoryBackend()
    shared = RedisBackend(redis_url, namespace="differential", use_server_time=False)
    client = redis.Redis.from_url(redis_url)
    client.delete(shared.key("scope"))
    world: dict[str, Any] = {"now": 1000.0, "tickets": []}
    try:
        for step in steps:
            _apply(step, p, memory, shared, world)
            assert _close(memory.state("scope"), _state(client, shared.key("scope")))
    finally:
        client.delete(shared.key("scope"))
        client.close()
        shared.close()


def _apply(step: tuple[Any, ...], p: Any, memory: Any, shared: Any, world: dict[str, Any]) -> None:
    """Apply one generated step to both backends, checking what each returns."""
    kind, key, tickets = step[0], "scope", world["tickets"]
    if kind == "acquire":
        _, dt, tokens_in, tokens_out, max_wait = step
        world["now"] += dt
        need = vec(input_tokens=tokens_in, output_tokens=tokens_out)
        a = memory.acquire(key, p, need, world["now"], max_wait)
        b = shared.acquire(key, p, need, world["now"], max_wait)
        assert type(a) is type(b)
        assert a.wait == pytest.approx(b.wait, abs=1e-9)
        if isinstance(a, Grant) and isinstance(b, Grant):
            assert _tickets_close(a.ticket, b.ticket)
            tickets.append((a.ticket, need))
    elif kind == "settle" and tickets:
        _, index, ok, used_in, seen = step
        ticket, need = tickets[index % len(tickets)]
        used = vec(input_tokens=used_in, output_tokens=need[2] // 2) if ok else None
        for backend in (memory, shared):
            backend.settle(key, p, ticket, need=need, used=used, observed=seen, now=world["now"])
    elif kind == "confirm" and tickets:
        _, index, dt = step
        world["now"] += dt
        ticket, _ = tickets[index % len(tickets)]
        a_extra, a_ticket = memory.confirm(key, p, ticket, world["now"])
        b_extra, b_ticket = shared.confirm(key, p, ticket, world["now"])
        assert a_extra == pytest.approx(b_extra, abs=1e-9)
        assert _tickets_close(a_ticket, b_ticket)
    elif kind == "pause":
        for backend in (memory, shared):
            backend.pause(key, p, step[1], world["now"])
    elif kind == "observe" and step[1] is not None:
        for backend in (memory, shared):
            backend.observe(key, p, step[1], world["now"])


def _tickets_close(a: Ticket, b: Ticket) -> bool:
    if a.probe != b.probe or abs(a.start - b.start) > 1e-9:
        return False
    for x, y in zip(a.slots, b.slots, strict=True):
        if (x is None) != (y is None):
            return False
        if x is not None and y is not None:
            pairs = zip(
                (x.cost, x.rate, x.capacity, x.level, x.shift),
                (y.cost, y.rate, y.capacity, y.level, y.shift),
                strict=True,
            )
            if any(abs(p - q) > 1e-9 * max(1.0, abs(p)) for p, q in pairs):
                return False
    return True


def test_the_fleet_shares_the_servers_clock(redis_url: str) -> None:
    """Two hosts whose clocks disagree by an hour still share one bucket, on Redis's time."""
    limiters = [
        Limiter(
            limits=Limits(rpm=60, burst_seconds=2, headroom=1.0, jitter=0.0),
            backend=RedisBackend(redis_url, namespace="fleet-clock"),
            clock=FakeClock(start=start),
        )
        for start in (1_000.0, 4_600.0)
    ]
    try:
        limiters[0].acquire(SCOPE, ONE, deadline_at=1e9)
        limiters[1].acquire(SCOPE, ONE, deadline_at=1e9)
        with pytest.raises(RateLimitWaitBeyondDeadlineError) as caught:
            limiters[0].acquire(SCOPE, ONE, deadline_at=limiters[0].clock.now() + 0.5)
        assert 0.9 < caught.value.wait <= 1.0
    finally:
        for limiter in limiters:
            limiter.close()
        client = redis.Redis.from_url(redis_url)
        client.delete(f"fleet-clock:limiter:{SCOPE.key()}")
        client.close()


def test_sixteen_clients_admit_exactly_the_capacity(redis_url: str) -> None:
    """Sixteen connections racing for one scope get exactly its size in all, none over."""
    namespace = "hammer"
    limits = Limits(rpm=0.001, burst_seconds=3_000_000, headroom=1.0, jitter=0.0)  # 50, no refill
    admitted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def worker() -> None:
        limiter = Limiter(limits=limits, backend=RedisBackend(redis_url, namespace=namespace))
        count = 0
        try:
            start.wait()
            for _ in range(20):
                try:
                    limiter.acquire(SCOPE, ONE, deadline_at=limiter.clock.now() + 0.5)
                    count += 1
                except RateLimitWaitBeyondDeadlineError:
                    pass
        finally:
            limiter.close()
            with lock:
                admitted.append(count)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = redis.Redis.from_url(redis_url)
    client.delete(f"{namespace}:limiter:{SCOPE.key()}")
    client.close()
    assert sum(admitted) == 50


def test_state_is_a_namespaced_hash_of_numbers(redis_url: str) -> None:
    """One hash per scope under the namespace, holding plain numbers (no pickle)."""
    backend = RedisBackend(redis_url, namespace="inspect")
    limiter = Limiter(limits=Limits(rpm=60), backend=backend)
    client = redis.Redis.from_url(redis_url)
    try:
        limiter.acquire(SCOPE, ONE, deadline_at=1e9)
        key = f"inspect:limiter:{SCOPE.key()}"
        assert client.type(key) == b"hash"
        for value in client.hgetall(key).values():
            float(value)
        assert 0 < client.pttl(key) <= 24 * 3600 * 1000
    finally:
        client.delete(f"inspect:limiter:{SCOPE.key()}")
        client.close()
        limiter.close()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


def test_unreachable_redis_fails_open_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """By default calls go ahead unpaced, with one warning per outage."""
    backend = RedisBackend(f"redis://127.0.0.1:{_dead_port()}/0", socket_timeout=0.2)
    limiter = Limiter(limits=Limits(rpm=1), backend=backend, clock=FakeClock())
    caplog.set_level(logging.WARNING, logger="riprap.limiter")
    try:
        for _ in range(3):
            permit = limiter.acquire(SCOPE, ONE, deadline_at=1e9)
            permit.settle(input_tokens=1, output_tokens=1)
    finally:
        limiter.close()
    events = [
        r for r in caplog.records if getattr(r, "event", "") == "riprap.limiter.backend_unavailable"
    ]
    assert len(events) == 1
    assert "failing=open" in events[0].getMessage()


def test_unreachable_redis_can_fail_closed() -> None:
    """Closed: acquiring raises LimiterUnavailableError; settling never raises."""
    backend = RedisBackend(
        f"redis://127.0.0.1:{_dead_port()}/0", on_unavailable="closed", socket_timeout=0.2
    )
    limiter = Limiter(limits=Limits(rpm=1), backend=backend, clock=FakeClock())
    try:
        with pytest.raises(LimiterUnavailableError, match="fails closed"):
            limiter.acquire(SCOPE, ONE, deadline_at=1e9)
        with pytest.raises(LimiterUnavailableError):  # still down: no new connection attempt
            limiter.acquire(SCOPE, ONE, deadline_at=1e9)
        limiter.pause(SCOPE, until=limiter.clock.now() + 1)  # bookkeeping does not raise
    finally:
        limiter.close()


def test_redis_coming_back_is_used_again(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """After the retry interval, a backend that answers again paces again, and says so."""
    clock = FakeClock()
    backend = RedisBackend(redis_url, namespace="recover", retry_interval=1.0)
    limiter = Limiter(limits=Limits(rpm=60, burst_seconds=1, headroom=1.0, jitter=0.0),
                      backend=backend, clock=clock)  # fmt: skip
    caplog.set_level(logging.INFO, logger="riprap.limiter")
    try:
        backend._down_until = clock.now() + 1.0  # as if a step had just failed
        limiter.acquire(SCOPE, ONE, deadline_at=1e9)  # skipped: Redis is considered down
        clock.advance(1.0)
        limiter.acquire(SCOPE, ONE, deadline_at=1e9)
        with pytest.raises(RateLimitWaitBeyondDeadlineError):
            limiter.acquire(SCOPE, ONE, deadline_at=clock.now())
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(f"recover:limiter:{SCOPE.key()}")
        client.close()
        limiter.close()
    assert any(
        getattr(r, "event", "") == "riprap.limiter.backend_recovered" for r in caplog.records
    )


@pytest.mark.anyio
async def test_async_clients(redis_url: str) -> None:
    """The asyncio client runs the same script; closing the limiter closes it."""
    limiter = Limiter(
        limits=Limits(rpm=60, burst_seconds=1, headroom=1.0, jitter=0.0),
        backend=RedisBackend(redis_url, namespace="async"),
        clock=FakeClock(),
    )
    try:
        permit = await limiter.aacquire(SCOPE, ONE, deadline_at=1e9)
        await permit.asettle(input_tokens=3, output_tokens=4)
        with pytest.raises(RateLimitWaitBeyondDeadlineError):
            await limiter.aacquire(SCOPE, ONE, deadline_at=limiter.clock.now() + 0.5)
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(f"async:limiter:{SCOPE.key()}")
        client.close()
        await limiter.aclose()


def test_given_clients_stay_open(redis_url: str) -> None:
    """A backend built on the caller's client leaves it open on close."""
    client = redis.Redis.from_url(redis_url)
    backend = RedisBackend(client=client, namespace="given")
    limiter = Limiter(limits=Limits(rpm=60), backend=backend)
    limiter.acquire(SCOPE, ONE, deadline_at=1e9)
    limiter.close()
    assert client.ping()
    client.delete(f"given:limiter:{SCOPE.key()}")
    client.close()

"""The limiter inside `riprap.wrap`: every attempt waits for room, and its end is settled.

Real SDK clients against the simulator; the waits run on a fake clock, so every number
is exact.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import pytest

import riprap
from riprap import Limiter, Limits, RateLimitWaitBeyondDeadlineError, Retry
from riprap._report import Stop
from riprap.errors import ConfigError
from riprap.limiter import (
    LimiterUnavailableError,
    MemoryBackend,
    RedisBackend,
    Scope,
    async_anthropic_token_counter,
)
from riprap.observe import LimiterWaited
from riprap.sim import Bucket, RateLimits, Reply, Scenario, Simulator
from riprap.testing import EventLog, FakeClock
from support import ANTHROPIC_KEY, OPENAI_KEY, create, make_client

PROVIDERS = ("anthropic", "openai")
MODEL = {"anthropic": "claude-sim", "openai": "gpt-sim"}
KEY = {"anthropic": ANTHROPIC_KEY, "openai": OPENAI_KEY}


def exact(**limits: Any) -> Limits:
    """Limits with no headroom and no jitter reserve: the waits are the arithmetic's."""
    return Limits(headroom=1.0, jitter=0.0, **limits)


def scope_of(provider: str) -> str:
    """The limiter scope of the test client's calls."""
    return Scope.of(provider, MODEL[provider], api_key=KEY[provider]).key()


def calls(provider: str, sim: Simulator, count: int, *, is_async: bool, **wrap: Any) -> list[Any]:
    """Make `count` calls one after another through one wrapped client."""
    if not is_async:
        client = riprap.wrap(make_client(provider, sim, is_async=False), **wrap)
        return [create(provider, client) for _ in range(count)]

    async def go() -> list[Any]:
        client = riprap.wrap(make_client(provider, sim, is_async=True), **wrap)
        try:
            return [await create(provider, client) for _ in range(count)]
        finally:
            await client.close()

    return asyncio.run(go())


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_configured_limits_pace_every_call(
    provider: str, sim: Simulator, clock: FakeClock, *, is_async: bool
) -> None:
    """60 requests a minute with room for one: the 2nd and 3rd call wait a second each."""
    log = EventLog()
    start = clock.now()
    calls(
        provider,
        sim,
        3,
        is_async=is_async,
        limits=exact(rpm=60, burst_seconds=1),
        clock=clock,
        hooks=[log],
    )
    waits = log.of(LimiterWaited)
    assert [w.wait for w in waits] == pytest.approx([1.0, 1.0])
    assert [w.attempt for w in waits] == [1, 1]
    assert {w.scope for w in waits} == {scope_of(provider)}
    assert clock.now() - start == pytest.approx(2.0)
    assert len(sim.requests) == 3


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wait_past_the_deadline_fails_at_once_and_sends_nothing(
    provider: str, sim: Simulator, clock: FakeClock, *, is_async: bool
) -> None:
    """One request a minute and a 10 s deadline: the second call is refused without waiting."""
    options: dict[str, Any] = {
        "limits": exact(rpm=1),
        "clock": clock,
        "retry": Retry(deadline=10.0),
    }
    calls(provider, sim, 1, is_async=is_async, **options)  # takes the only request
    start = clock.now()
    with pytest.raises(RateLimitWaitBeyondDeadlineError) as caught:
        calls(provider, sim, 2, is_async=is_async, **options)
    report = riprap.report_of(caught.value)
    assert report is not None
    assert report.stop is Stop.LIMITER_WAIT_BEYOND_DEADLINE
    assert report.attempts == ()
    assert caught.value.kind is riprap.Kind.RATE_LIMITED
    assert clock.now() == start
    assert len(sim.requests) == 2  # the first client's call, then the second client's first


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_success_settles_the_output_it_really_used(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """`max_tokens` is reserved, the answer's output tokens charged: the rest comes back.

    100 output tokens a second with room for 100: a call reserving 100 empties the bucket,
    but its answer used only a few, so the next call waits for those few, not for 100.
    """
    log = EventLog()
    client = riprap.wrap(
        make_client(provider, sim, is_async=False),
        limits=exact(output_tpm=6000, burst_seconds=1),
        clock=clock,
        hooks=[log],
    )
    first = create(provider, client, max_tokens=100)
    create(provider, client, max_tokens=100)
    used = first.usage.output_tokens if provider == "anthropic" else first.usage.completion_tokens
    assert 0 < used < 100
    [wait] = log.of(LimiterWaited)
    assert wait.wait == pytest.approx(used / 100)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_streams_wait_and_settle_like_plain_calls(
    provider: str, sim: Simulator, clock: FakeClock, *, is_async: bool
) -> None:
    """A stream reserves before it opens and settles its real usage when it ends."""
    log = EventLog()
    limits = exact(rpm=60, output_tpm=6000, burst_seconds=1)

    def consume(stream: Any) -> None:
        for _ in stream:
            pass

    if not is_async:
        client = riprap.wrap(
            make_client(provider, sim, is_async=False), limits=limits, clock=clock, hooks=[log]
        )
        for _ in range(2):
            consume(create(provider, client, stream=True, max_tokens=100))
    else:

        async def go() -> None:
            client = riprap.wrap(
                make_client(provider, sim, is_async=True), limits=limits, clock=clock, hooks=[log]
            )
            try:
                for _ in range(2):
                    async for _event in await create(provider, client, stream=True, max_tokens=100):
                        pass
            finally:
                await client.close()

        asyncio.run(go())
    # The second stream waits for its request (1 s), not for 100 output tokens (1 s as
    # well, but only if the first stream's unused reservation had never come back).
    [wait] = log.of(LimiterWaited)
    assert wait.wait == pytest.approx(1.0)
    reports = [r for r in (riprap.last_report(),) if r is not None]
    assert reports
    assert reports[0].ok


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_429_hands_its_room_back_and_pauses_the_scope(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """A 429 whose headers name no exhausted limit pauses the scope for its retry-after."""
    limiter = Limiter(limits=exact(rpm=6000), clock=clock)
    sim.script(Reply(status=429, headers={"retry-after": "3"}), Reply())
    start = clock.now()
    client = riprap.wrap(make_client(provider, sim, is_async=False), limiter=limiter, clock=clock)
    create(provider, client)
    assert isinstance(limiter.backend, MemoryBackend)
    state = limiter.backend.state(scope_of(provider))
    assert state.paused_until == pytest.approx(start + 3.0)
    assert clock.now() - start >= 3.0  # the retry went after the pause
    assert len(sim.requests) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_default_limiter_learns_the_limits_a_success_announces(provider: str) -> None:
    """No limits configured: the first answer's rate-limit headers become the plan."""
    scenario = Scenario(rate_limits=RateLimits(requests=Bucket(per_minute=120)))
    limiter = Limiter()
    with Simulator(scenario=scenario) as sim:
        client = riprap.wrap(make_client(provider, sim, is_async=False), limiter=limiter)
        create(provider, client)
    assert isinstance(limiter.backend, MemoryBackend)
    state = limiter.backend.state(scope_of(provider))
    assert state.warm
    assert state.learned_capacity[0] == pytest.approx(120)
    assert state.learned_rate[0] == pytest.approx(2.0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_success_without_headers_warms_the_scope_and_limits_nothing(
    provider: str, sim: Simulator
) -> None:
    """A provider (or proxy) that announces no limits is not paced at all."""
    limiter = Limiter()
    client = riprap.wrap(make_client(provider, sim, is_async=False), limiter=limiter)
    for _ in range(3):
        create(provider, client)
    assert isinstance(limiter.backend, MemoryBackend)
    state = limiter.backend.state(scope_of(provider))
    assert state.warm
    assert state.learned_rate == (None, None, None, None)


def test_limiter_false_turns_it_off(sim: Simulator, clock: FakeClock) -> None:
    """With `limiter=False` nothing waits, however tight the limits would have been."""
    log = EventLog()
    calls("anthropic", sim, 3, is_async=False, limiter=False, clock=clock, hooks=[log])
    assert log.of(LimiterWaited) == []
    assert len(sim.requests) == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limits": {"rpm": 5}}, "wrap.limits: {'rpm': 5} is not a riprap.Limits"),
        ({"limiter": "redis"}, "wrap.limiter: 'redis' is not a riprap.Limiter or False"),
        ({"limiter": False, "limits": Limits(rpm=5)}, "limits= was given with limiter=False"),
        ({"limiter": Limiter(), "limits": Limits(rpm=5)}, "give limits= or limiter=, not both"),
    ],
)
def test_bad_limiter_arguments_name_what_is_wrong(
    sim: Simulator, options: dict[str, Any], message: str
) -> None:
    """Refused when wrapping, before any call."""
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        riprap.wrap(make_client("anthropic", sim, is_async=False), **options)
    assert not sim.requests


@pytest.fixture
def namespace() -> str:
    """A fresh Redis namespace: no state from another test."""
    return f"wiring{uuid.uuid4().hex}"


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_clients_sharing_a_redis_limiter_share_its_room(
    sim: Simulator, clock: FakeClock, redis_url: str, namespace: str, *, is_async: bool
) -> None:
    """Two wrapped clients on one Redis limiter: the second client waits for the first."""
    backend = RedisBackend(redis_url, namespace=namespace, use_server_time=False)
    limiter = Limiter(limits=exact(rpm=60, burst_seconds=1), backend=backend, clock=clock)
    log = EventLog()
    options: dict[str, Any] = {"limiter": limiter, "clock": clock, "hooks": [log]}
    if not is_async:
        for _ in range(2):
            create(
                "anthropic", riprap.wrap(make_client("anthropic", sim, is_async=False), **options)
            )
        limiter.close()
    else:

        async def go() -> None:
            client = riprap.wrap(make_client("anthropic", sim, is_async=True), **options)
            await create("anthropic", client)
            await client.close()
            await limiter.aclose()  # its async Redis client belongs to this event loop

        # Two event loops, as two `asyncio.run` in a script: the second gets its own.
        asyncio.run(go())
        asyncio.run(go())
    assert [w.wait for w in log.of(LimiterWaited)] == pytest.approx([1.0])


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_unreachable_redis_fails_closed_when_told_to(
    sim: Simulator, clock: FakeClock, closed_port: int, *, is_async: bool
) -> None:
    """`on_unavailable="closed"`: the call ends with `LimiterUnavailableError`, unsent."""
    backend = RedisBackend(
        f"redis://127.0.0.1:{closed_port}/0", on_unavailable="closed", socket_timeout=1.0
    )
    limiter = Limiter(limits=exact(rpm=60), backend=backend, clock=clock)
    with pytest.raises(LimiterUnavailableError) as caught:
        calls("anthropic", sim, 1, is_async=is_async, limiter=limiter, clock=clock)
    report = riprap.report_of(caught.value)
    assert report is not None
    assert report.stop is Stop.LIMITER_UNAVAILABLE
    assert not sim.requests


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_unreachable_redis_fails_open_by_default(
    sim: Simulator, clock: FakeClock, closed_port: int, *, is_async: bool
) -> None:
    """The default: calls go on unlimited while the shared store is away."""
    backend = RedisBackend(f"redis://127.0.0.1:{closed_port}/0", socket_timeout=1.0)
    limiter = Limiter(limits=exact(rpm=60), backend=backend, clock=clock)
    [value] = calls("anthropic", sim, 1, is_async=is_async, limiter=limiter, clock=clock)
    assert value.content
    assert len(sim.requests) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_limiter_refusal_moves_the_call_to_a_fallback_model(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """The primary's scope has no room before the deadline; the fallback's scope has."""
    log = EventLog()
    fallback = "claude-sim-2" if provider == "anthropic" else "gpt-sim-2"
    client = riprap.wrap(
        make_client(provider, sim, is_async=False),
        limiter=Limiter(limits=exact(rpm=1), clock=clock),
        fallbacks=[fallback],
        retry=Retry(deadline=10.0),
        clock=clock,
        hooks=[log],
    )
    create(provider, client)  # the primary's only request this minute
    with pytest.warns(riprap.UnknownModelWarning):
        create(provider, client)
    assert [r.body["model"] for r in sim.requests] == [MODEL[provider], fallback]  # type: ignore[index]
    [moved] = log.of(riprap.FallbackUsed)
    assert moved.reason == "rate_limited"


def test_an_async_client_can_count_tokens_with_the_providers_endpoint(sim: Simulator) -> None:
    """`async_anthropic_token_counter`: one count per call (not per attempt), then the call."""
    sim.script(Reply(), Reply(status=529), Reply())  # the count, then the call's two attempts

    async def go() -> None:
        counter_client = make_client("anthropic", sim, is_async=True)
        limiter = Limiter(estimator=async_anthropic_token_counter(counter_client))
        client = riprap.wrap(
            make_client("anthropic", sim, is_async=True), limiter=limiter, random=lambda: 0.0
        )
        try:
            await create("anthropic", client)
        finally:
            await client.close()
            await counter_client.close()

    asyncio.run(go())
    paths = [r.path for r in sim.requests]
    assert paths == ["/v1/messages/count_tokens", "/v1/messages", "/v1/messages"]


def test_a_sync_client_with_an_async_estimator_is_refused_before_sending(
    sim: Simulator,
) -> None:
    """The error names the estimator and what to use instead; nothing reaches the API."""

    async def count(_request: Any) -> int:
        return 1

    client = riprap.wrap(
        make_client("anthropic", sim, is_async=False), limiter=Limiter(estimator=count)
    )
    with pytest.raises(ConfigError, match=r"Limiter\.estimator: .* is asynchronous"):
        create("anthropic", client)
    assert not sim.requests

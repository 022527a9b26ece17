"""The limiter driving the real async Anthropic SDK against the simulator's rate limits.

Real time and real sockets on 127.0.0.1: rates are high and runs short (well under a
second each), and the bounds leave room for a loaded machine; bench/limiter.py measures
the same runs at full size.
"""

from __future__ import annotations

import time
from typing import Any

import anthropic
import anyio
import pytest

from riprap.limiter import Limiter, Limits, Scope
from riprap.sim import Bucket, RateLimits, Scenario, Simulator

SCOPE = Scope.of("anthropic", "claude-sim", api_key="sk-ant-test")


async def drive(
    limiter: Limiter,
    client: anthropic.AsyncAnthropic,
    *,
    calls: int,
    concurrency: int,
    words: Any = None,
) -> tuple[float, int]:
    """Make `calls` calls through `limiter`, `concurrency` at a time: (seconds, 429s)."""
    rejected = 0
    limit = anyio.Semaphore(concurrency)

    async def one(i: int) -> None:
        nonlocal rejected
        async with limit:
            count = 1 if words is None else words(i)
            messages: Any = [{"role": "user", "content": " ".join(["word"] * count)}]
            request = {"model": "claude-sim", "max_tokens": 16, "messages": messages}
            while True:
                need = limiter.need(request, output_tokens=16)
                permit = await limiter.aacquire(SCOPE, need, deadline_at=limiter.clock.now() + 30)
                try:
                    raw = await client.messages.with_raw_response.create(**request)
                except anthropic.RateLimitError as error:
                    rejected += 1
                    headers = error.response.headers
                    retry_after = float(headers.get("retry-after", "1"))
                    await permit.arate_limited(retry_after=retry_after, headers=headers)
                    continue
                usage = (await raw.parse()).usage
                await permit.asettle(
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    headers=raw.headers,
                )
                return

    started = time.monotonic()
    async with anyio.create_task_group() as group:
        for i in range(calls):
            group.start_soon(one, i)
    return time.monotonic() - started, rejected


async def run(
    limits: RateLimits, limiter_limits: Limits, *, calls: int, concurrency: int, **options: Any
) -> tuple[float, int, Simulator]:
    """Start a limited simulator and drive `calls` calls at it."""
    with Simulator(
        scenario=Scenario(rate_limits=limits, latency=options.pop("latency", (0, 0)))
    ) as sim:
        async with anthropic.AsyncAnthropic(
            api_key="sk-ant-test", base_url=sim.base_url, max_retries=0
        ) as client:
            # The SDK's first call is slow (it builds its machinery); not the limiter's doing.
            await client.messages.count_tokens(
                model="claude-sim", messages=[{"role": "user", "content": "x"}]
            )
            limiter = Limiter(limits=limiter_limits)
            seconds, rejected = await drive(
                limiter, client, calls=calls, concurrency=concurrency, **options
            )
    return seconds, rejected, sim


@pytest.mark.anyio
async def test_configured_pace_keeps_under_the_limit() -> None:
    """Paced by configured limits, a burst of callers stays under the provider's limit."""
    rate, burst, calls = 100.0, 10, 50
    limits = RateLimits(requests=Bucket(per_minute=60 * rate, burst=burst))
    seconds, rejected, _ = await run(
        limits, Limits(rpm=60 * rate, burst_seconds=burst / rate), calls=calls, concurrency=16
    )
    assert rejected <= 3
    assert seconds >= 0.9 * (calls - burst) / rate  # it never outran the limit


@pytest.mark.anyio
async def test_a_cold_scope_learns_before_the_crowd_goes() -> None:
    """With nothing configured, the first call's headers pace the rest: no 429 storm."""
    rate, burst, calls = 100.0, 5, 40
    limits = RateLimits(requests=Bucket(per_minute=60 * rate, burst=burst))
    seconds, rejected, sim = await run(
        limits, Limits(), calls=calls, concurrency=32, latency=(0.05, 0.05)
    )
    first, second = [r for r in sim.requests if r.path == "/v1/messages"][:2]
    assert second.time - first.time >= 0.05  # nobody went before the first call answered
    assert rejected <= 3
    assert seconds >= 0.9 * (calls - burst) / rate


@pytest.mark.anyio
async def test_foreign_traffic_is_seen_in_the_headers() -> None:
    """When others use 30 % of the key, the headers slow riprap to the rest: few 429s."""
    rate, burst, calls = 100.0, 10, 50
    limits = RateLimits(requests=Bucket(per_minute=60 * rate, burst=burst), foreign=0.3)
    seconds, rejected, _ = await run(
        limits, Limits(rpm=60 * rate, burst_seconds=burst / rate), calls=calls, concurrency=16
    )
    assert rejected <= 5
    assert seconds >= 0.9 * (calls - burst) / (0.7 * rate)


@pytest.mark.anyio
async def test_input_token_limit_with_mixed_prompt_sizes() -> None:
    """An input-token limit with prompts of very different sizes: paced, none starved."""
    tokens_per_second, calls = 20_000.0, 30
    limits = RateLimits(input_tokens=Bucket(per_minute=60 * tokens_per_second, burst=4000))
    seconds, rejected, _ = await run(
        limits,
        Limits(input_tpm=60 * tokens_per_second, burst_seconds=0.2),
        calls=calls,
        concurrency=16,
        words=lambda i: 2000 if i % 5 == 0 else 20,
    )
    assert rejected <= 3
    assert seconds < 10

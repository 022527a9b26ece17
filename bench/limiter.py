"""The rate limiter: per-call overhead, and paced runs against the simulator's limits.

Run: `.venv/bin/python bench/limiter.py [--calls 300] [--rate 75] [--burst 30]`

1. Side by side, N calls at concurrency 32 against a simulator limit of R requests/s
   with burst B, all callers starting together: `riprap.wrap` with configured limits,
   with none (its default: the provider's headers alone pace it, after one call to
   learn them), and with the limiter off, beside the bare SDK with its default retries.
   Makespan against the physical minimum (N - B)/R, and the 429s the simulator sent.
2. The same with 30 % of the quota taken by foreign traffic (minimum (N - B)/(0.7 R)):
   configured limits do not know about it; the headers show it.
3. An input-token limit with prompts of 100 to 20,000 tokens: each large prompt's wait
   against its fair share (what arrived before it and was still waiting, plus itself,
   at the limit's rate).
4. Four processes, each `riprap.wrap` on one shared Redis limiter, against the same
   limit (makespan from the first call the simulator saw to the last); sixteen
   processes racing for one scope of 50 with no refill (admitted must be exactly 50).
5. Overhead: one acquire + settle (with rate-limit headers) on a scope with room, for
   the in-process backend and for Redis (a throwaway redis-server on a free port).

Takes about a minute; the numbers move with the machine's load (client, simulator and
Redis share its cores), so run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import anthropic

import riprap
from riprap.limiter import (
    Limiter,
    Limits,
    MemoryBackend,
    Need,
    RateLimitWaitBeyondDeadlineError,
    RedisBackend,
    Scope,
    estimate_input_tokens,
)
from riprap.observe import LimiterWaited
from riprap.sim import Bucket, RateLimits, Scenario, Simulator

#: A real model name: the registry knows it, so no unknown-model warning.
MODEL = "claude-haiku-4-5-20251001"
SCOPE = Scope.of("anthropic", MODEL, api_key="sk-bench")
HEADERS = {
    "anthropic-ratelimit-requests-limit": "1000000",
    "anthropic-ratelimit-requests-remaining": "999999",
    "anthropic-ratelimit-requests-reset": "2025-01-01T00:00:00Z",  # past: full
}


# -- redis-server for the shared runs --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_redis() -> tuple[subprocess.Popen[bytes], str, tempfile.TemporaryDirectory[str]] | None:
    """A throwaway redis-server on a free loopback port, or None if none is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = _free_port()
    workdir = tempfile.TemporaryDirectory()
    process = subprocess.Popen(  # noqa: S603 - a fixed binary with fixed arguments
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", workdir.name],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return process, f"redis://127.0.0.1:{port}/0", workdir
        except OSError:
            time.sleep(0.02)
    process.terminate()
    return None


# -- 1. overhead ---------------------------------------------------------------------------


def overhead(backend: Any, rounds: int) -> tuple[float, float]:
    """Median and p99 microseconds of acquire + settle with headers, never waiting."""
    limiter = Limiter(limits=Limits(rpm=1e9, input_tpm=1e12, output_tpm=1e12), backend=backend)
    need = Need(input_tokens=500, output_tokens=200)
    times = []
    for i in range(rounds + 100):
        started = time.perf_counter()
        permit = limiter.acquire(SCOPE, need, deadline_at=limiter.clock.now() + 60)
        permit.settle(input_tokens=480, output_tokens=150, headers=HEADERS)
        if i >= 100:  # warm-up: connections, script loading
            times.append(time.perf_counter() - started)
    limiter.close()
    times.sort()
    return 1e6 * statistics.median(times), 1e6 * times[int(0.99 * len(times))]


# -- 2-4. runs against the simulator ------------------------------------------------------


@dataclass
class Run:
    """What one run measured."""

    seconds: float
    rejected: int  # 429s the simulator sent
    failed: int  # calls that raised in the end
    waits: list[tuple[float, float, int]]  # (arrival, waited, input tokens) per call


async def drive_wrapped(
    base_url: str,
    *,
    calls: int,
    concurrency: int,
    words: Any = None,
    barrier: Any = None,
    **options: Any,
) -> Run:
    """`riprap.wrap(AsyncAnthropic(...), **options)`: the limiter as users get it."""
    waits: list[tuple[float, float, int]] = []
    waited: dict[str, float] = {}
    failed = 0

    def hook(event: Any) -> None:
        if isinstance(event, LimiterWaited):
            waited[event.call_id] = waited.get(event.call_id, 0.0) + event.wait

    raw = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=base_url)
    client = riprap.wrap(raw, hooks=[hook], **options)
    # The SDK's first call builds its machinery (tens of ms); not the limiter's cost.
    await raw.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x"}])
    limiter = options.get("limiter")
    if isinstance(limiter, Limiter):
        await warm_up(limiter, concurrency)
    if barrier is not None:  # a fleet's processes start calling together
        await asyncio.to_thread(barrier.wait)
    gate = asyncio.Semaphore(concurrency)
    started = time.monotonic()

    async def one(i: int) -> None:
        nonlocal failed
        async with gate:
            text = " ".join(["word"] * (1 if words is None else words(i)))
            arrived = time.monotonic() - started
            try:
                await client.messages.create(
                    model=MODEL, max_tokens=16, messages=[{"role": "user", "content": text}]
                )
            except (anthropic.APIError, riprap.RiprapError):
                failed += 1
                return
            report = riprap.last_report()
            assert report is not None  # noqa: S101 - set by the call just made
            tokens = estimate_input_tokens({"messages": [{"role": "user", "content": text}]})
            waits.append((arrived, waited.get(report.call_id, 0.0), tokens))

    await asyncio.gather(*(one(i) for i in range(calls)))
    seconds = time.monotonic() - started
    await raw.close()
    if isinstance(limiter, Limiter):
        await limiter.aclose()
    return Run(seconds, 0, failed, waits)


async def warm_up(limiter: Limiter, concurrency: int) -> None:
    """Open the backend's connections (one per concurrent caller) before the clock starts.

    Like the SDK's first call, a process's first Redis connections are a one-time cost
    (tens of ms each, more on a loaded machine), not pacing: measured with them, a fleet
    started together trickles its first burst out over ~0.4 s while the provider's full
    bucket loses that refill. A throwaway scope with room for everything.
    """
    scope = Scope.of("warm-up", "-", api_key=f"warm-up-{os.getpid()}")
    need = Need(input_tokens=1, output_tokens=1)
    roomy = Limiter(limits=Limits(rpm=1e9), backend=limiter.backend, clock=limiter.clock)

    async def one() -> None:
        permit = await roomy.aacquire(scope, need, deadline_at=roomy.clock.now() + 60)
        await permit.arefund()

    await asyncio.gather(*(one() for _ in range(concurrency)))


async def drive_bare(base_url: str, *, calls: int, concurrency: int) -> Run:
    """The bare async SDK with its default retries (2, honouring retry-after)."""
    failed = 0
    async with anthropic.AsyncAnthropic(api_key="sk-bench", base_url=base_url) as client:
        await client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "x"}])
        gate = asyncio.Semaphore(concurrency)
        started = time.monotonic()

        async def one(i: int) -> None:
            nonlocal failed
            async with gate:
                try:
                    await client.messages.create(
                        model=MODEL,
                        max_tokens=16,
                        messages=[{"role": "user", "content": f"call {i}"}],
                    )
                except anthropic.APIError:
                    failed += 1

        await asyncio.gather(*(one(i) for i in range(calls)))
        seconds = time.monotonic() - started
    return Run(seconds, 0, failed, [])


def simulate(limits: RateLimits, make_run: Any) -> Run:
    """Run `make_run(base_url)` against a fresh simulator with `limits`; count its 429s."""
    with Simulator(scenario=Scenario(rate_limits=limits)) as sim:
        run: Run = asyncio.run(make_run(sim.base_url))
        run.rejected = sum(1 for r in sim.requests if r.reply.status == 429)
    return run


def report(name: str, run: Run, minimum: float, calls: int) -> None:
    """One row of the side-by-side table."""
    share = 100 * run.rejected / calls
    print(
        f"  {name:<34} {run.seconds:7.2f} s  {run.seconds / minimum:6.3f}x  "
        f"{run.rejected:5d} 429s ({share:4.1f} %)  {run.failed:3d} failed"
    )


def fairness(run: Run, rate: float, *, large: int) -> tuple[float, float]:
    """Largest wait / fair share among prompts of at least `large` tokens, and its wait."""
    worst, worst_wait = 0.0, 0.0
    starts = [(a, a + w, n) for a, w, n in run.waits]
    for arrived, waited, tokens in run.waits:
        if tokens < large:
            continue
        ahead = sum(n for a, s, n in starts if a < arrived and s > arrived)
        fair = (ahead + tokens) / rate
        if fair > 0 and waited / fair > worst:
            worst, worst_wait = waited / fair, waited
    return worst, worst_wait


# -- 5. processes sharing Redis ------------------------------------------------------------


def _child(  # noqa: PLR0917 - multiprocessing passes arguments by position
    base_url: str, redis_url: str, calls: int, concurrency: int, limits: Limits, barrier: Any
) -> None:
    limiter = Limiter(limits=limits, backend=RedisBackend(redis_url, namespace="bench-fleet"))
    run = asyncio.run(
        drive_wrapped(
            base_url, calls=calls, concurrency=concurrency, limiter=limiter, barrier=barrier
        )
    )
    if run.failed:
        sys.exit(1)


def fleet(
    limits: RateLimits, redis_url: str, *, processes: int, calls: int, limiter_limits: Limits
) -> Run:
    """`processes` processes, `calls` calls in all, one Redis limiter scope."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    with Simulator(scenario=Scenario(rate_limits=limits)) as sim:
        workers = [
            context.Process(
                target=_child,
                args=(
                    sim.base_url,
                    redis_url,
                    calls // processes,
                    max(1, 32 // processes),
                    limiter_limits,
                    barrier,
                ),
            )
            for _ in range(processes)
        ]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.monotonic() - started
        # Subtract the children's start-up (interpreter, imports): from the first call.
        calls_seen = [r.time for r in sim.requests if r.path == "/v1/messages"]
        if calls_seen:
            seconds = max(calls_seen) - min(calls_seen)
        rejected = sum(1 for r in sim.requests if r.reply.status == 429)
        failed = sum(1 for w in workers if w.exitcode)
    return Run(seconds, rejected, failed, [])


def _hammer(redis_url: str, barrier: Any, admitted: Any) -> None:
    limits = Limits(rpm=0.001, burst_seconds=3_000_000, headroom=1.0, jitter=0.0)
    limiter = Limiter(
        limits=limits, backend=RedisBackend(redis_url, namespace=f"hammer{os.getppid()}")
    )
    barrier.wait()
    for _ in range(20):
        try:
            limiter.acquire(
                SCOPE, Need(input_tokens=1, output_tokens=1), deadline_at=limiter.clock.now() + 0.1
            )
            with admitted.get_lock():
                admitted.value += 1
        except RateLimitWaitBeyondDeadlineError:
            pass
    limiter.close()


def hammer(redis_url: str, processes: int = 16) -> int:
    """Processes racing for a scope of 50 that never refills: how many were admitted."""
    # Forked (nothing else runs in this process by now): no re-import per process.
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    admitted = context.Value("i", 0)
    workers = [
        context.Process(target=_hammer, args=(redis_url, barrier, admitted))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if any(worker.exitcode for worker in workers):
        raise RuntimeError("a hammering process failed; see its traceback above")
    return int(admitted.value)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rate", type=float, default=75.0, help="requests per second")
    parser.add_argument("--burst", type=int, default=30)
    args = parser.parse_args()
    n, rate, burst = args.calls, args.rate, args.burst
    redis = start_redis()
    try:
        limits = RateLimits(requests=Bucket(per_minute=60 * rate, burst=burst))
        configured = Limits(rpm=60 * rate, burst_seconds=burst / rate)
        minimum = (n - burst) / rate
        print(
            f"1. {n} calls, concurrency 32, simulator limit {rate:g} requests/s, burst {burst}: "
            f"physical minimum {minimum:.2f} s"
        )
        runs = {
            "riprap.wrap, configured limits": lambda url: drive_wrapped(
                url, calls=n, concurrency=32, limits=configured
            ),
            "riprap.wrap, headers only (default)": lambda url: drive_wrapped(
                url, calls=n, concurrency=32
            ),
            "riprap.wrap, limiter off": lambda url: drive_wrapped(
                url, calls=n, concurrency=32, limiter=False
            ),
            "bare SDK, default retries": lambda url: drive_bare(url, calls=n, concurrency=32),
        }
        for name, make in runs.items():
            report(name, simulate(limits, make), minimum, n)

        foreign = RateLimits(requests=Bucket(per_minute=60 * rate, burst=burst), foreign=0.3)
        minimum = (n - burst) / (0.7 * rate)
        print(f"\n2. the same, 30 % of the quota taken by foreign traffic: minimum {minimum:.2f} s")
        for name, make in runs.items():
            report(name, simulate(foreign, make), minimum, n)

        tokens_per_second = 20_000.0
        token_limits = RateLimits(
            input_tokens=Bucket(per_minute=60 * tokens_per_second, burst=20_000)
        )
        sizes = (100, 500, 2_000, 20_000, 300, 1_000, 100, 5_000)
        words = lambda i: max(1, int(sizes[i % len(sizes)] / 1.3))  # noqa: E731
        calls = 24
        print(
            f"\n3. input-token limit {tokens_per_second:g}/s (burst 20,000), {calls} calls of "
            "100 to 20,000 tokens"
        )
        run = simulate(
            token_limits,
            lambda url: drive_wrapped(
                url,
                calls=calls,
                concurrency=32,
                words=words,
                limits=Limits(input_tpm=60 * tokens_per_second, burst_seconds=1.0),
            ),
        )
        worst, wait = fairness(run, tokens_per_second, large=10_000)
        print(
            f"  {run.seconds:.2f} s, {run.rejected} 429s; largest prompts: longest wait "
            f"{wait:.2f} s = {worst:.2f} x fair share"
        )

        if redis is not None:
            print("\n4. four processes, one Redis limiter (a short run, and one 4x as long:")
            print("   start-up costs, new connections on a shared machine, amortize)")
            for calls in (n, 4 * n):
                minimum = (calls - burst) / rate
                run = fleet(limits, redis[1], processes=4, calls=calls, limiter_limits=configured)
                report(f"{calls} calls, minimum {minimum:.2f} s", run, minimum, calls)
            print(f"  16 processes racing for a scope of 50: {hammer(redis[1])} admitted")
        print("\n5. limiter overhead per call (acquire + settle with headers, no wait)")
        median, p99 = overhead(MemoryBackend(), 5000)
        print(f"  memory backend        median {median:7.1f} us   p99 {p99:7.1f} us")
        if redis is not None:
            median, p99 = overhead(RedisBackend(redis[1], namespace="bench-overhead"), 1000)
            print(f"  redis backend (local) median {median:7.1f} us   p99 {p99:7.1f} us")
        else:
            print("  redis backend         skipped: redis-server is not installed")
    finally:
        if redis is not None:
            redis[0].terminate()
            redis[0].wait()
            redis[2].cleanup()


if __name__ == "__main__":
    main()

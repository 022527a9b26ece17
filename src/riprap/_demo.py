"""`riprap demo`: the same flaky workload through riprap and through the bare SDK.

Each contender gets its own simulator with the same seed and scenario, so both face the
same kind and rate of faults; the table shows what each made of them.
"""

from __future__ import annotations

import asyncio
import importlib
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import riprap
from riprap.providers import adapter_for

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from riprap.providers._base import SdkAdapter

#: Real model names, so riprap checks requests against the registry as it would in
#: production (the simulator answers for any model).
ANTHROPIC_MODEL = "claude-haiku-4-5-20251001"
OPENAI_MODEL = "gpt-4o-mini"

#: The transient faults of the demo: design §2's commonest retryable failures.
FAULTS: dict[int | str, float] = {529: 1.0, 500: 1.0, 503: 1.0, "reset": 1.0}


@dataclass
class Tally:
    """What one contender achieved."""

    name: str
    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)


def _import_sdk(provider: str) -> Any:
    try:
        return importlib.import_module(provider)
    except ImportError:
        raise ImportError(
            f"the demo drives the {provider} SDK: pip install 'riprap[{provider}]'"
        ) from None


def _client(sdk: Any, provider: str, base_url: str, *, max_retries: int) -> Any:
    # Loopback only, and a key that is obviously not one.
    if provider == "anthropic":
        return sdk.AsyncAnthropic(api_key="sk-demo", base_url=base_url, max_retries=max_retries)
    return sdk.AsyncOpenAI(api_key="sk-demo", base_url=f"{base_url}/v1", max_retries=max_retries)


def _request(provider: str, i: int) -> Callable[[Any], Awaitable[Any]]:
    messages = [{"role": "user", "content": f"Say something short about the number {i}."}]
    if provider == "anthropic":
        return lambda c: c.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=messages)
    return lambda c: c.chat.completions.create(model=OPENAI_MODEL, max_tokens=64, messages=messages)


async def _drive(
    *, tally: Tally, client: Any, adapter: SdkAdapter, provider: str, calls: int, concurrency: int
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            began = time.monotonic()
            try:
                await _request(provider, i)(client)
            except Exception as error:  # noqa: BLE001 - every failure is tallied by kind
                failure = adapter.classify(error, now_epoch=time.time())
                if isinstance(error, riprap.DeadlineExceededError):
                    tally.failed["deadline"] += 1
                else:
                    tally.failed["unknown" if failure is None else str(failure.kind)] += 1
            else:
                tally.ok += 1
            finally:
                tally.latencies.append(time.monotonic() - began)

    start = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for i in range(calls):
            group.create_task(one(i))
    tally.wall = time.monotonic() - start


async def _run(
    *, calls: int, fault_rate: float, seed: int, concurrency: int, provider: str
) -> list[Tally]:
    from riprap.sim import Scenario, Simulator  # noqa: PLC0415 - needs the sim extra

    sdk = _import_sdk(provider)
    scenario = Scenario(seed=seed, fault_rate=fault_rate, faults=FAULTS, latency=(0.001, 0.005))
    tallies = []

    contenders = [
        (f"riprap.wrap ({provider} SDK)", 2, True),
        (f"bare {provider} SDK, default retries", 2, False),
        (f"bare {provider} SDK, no retries", 0, False),
    ]
    for name, sdk_retries, wrapped in contenders:
        tally = Tally(name)
        with Simulator(scenario=scenario) as sim:
            client = _client(sdk, provider, sim.base_url, max_retries=sdk_retries)
            adapter = adapter_for(client)
            if wrapped:
                client = riprap.wrap(client)
            await _drive(
                tally=tally, client=client, adapter=adapter, provider=provider, calls=calls,
                concurrency=concurrency,
            )  # fmt: skip
            tally.attempts = len(sim.requests)
            await client.close()
        tallies.append(tally)
    return tallies


def _table(tallies: list[Tally], calls: int) -> str:
    header = ("contender", "success", "attempts", "att/success", "p50 s", "max s", "wall s",
              "failures")  # fmt: skip
    rows = [header]
    for t in tallies:
        per = f"{t.attempts / t.ok:.2f}" if t.ok else "-"
        failures = ", ".join(f"{k} {n}" for k, n in t.failed.most_common()) or "none"
        p50 = statistics.median(t.latencies) if t.latencies else 0.0
        worst = max(t.latencies, default=0.0)
        rows.append(
            (t.name, f"{t.ok}/{calls} ({100 * t.ok / calls:.1f}%)", str(t.attempts), per,
             f"{p50:.2f}", f"{worst:.1f}", f"{t.wall:.1f}", failures)
        )  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_demo(*, calls: int, fault_rate: float, seed: int, concurrency: int, provider: str) -> int:
    """Run the demo and print the comparison; returns the exit status."""
    print(  # noqa: T201
        f"riprap demo: {calls} calls per contender, {concurrency} at a time, against the "
        f"embedded simulator on 127.0.0.1\nscenario: {fault_rate:.0%} of replies fail with "
        f"529, 500, 503 or a connection reset (seed {seed})\n"
    )
    tallies = asyncio.run(
        _run(calls=calls, fault_rate=fault_rate, seed=seed, concurrency=concurrency,
             provider=provider)
    )  # fmt: skip
    print(_table(tallies, calls))  # noqa: T201
    print(  # noqa: T201
        "\nattempts = requests the simulator received; p50/max = per-call latency, waits "
        "included; riprap backs off longer from overload (529) on purpose: see docs/decisions.md"
    )
    return 0

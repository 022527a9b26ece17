"""A primary model down for 20 s under open-loop traffic: riprap's breaker and fallback vs the SDK.

Run: `.venv/bin/python bench/outage.py` (the reported run: 20 calls/s for 40 s, the
primary answering 529 to everything from 5 s to 25 s). A quick look:
`.venv/bin/python bench/outage.py --duration 12 --outage 3 8`.

Each contender gets its own simulator and the same schedule: a call starts every
1/rate seconds whatever the earlier ones are doing (open loop), on one event loop.
Contenders run one after the other, so none slows another down.

- `riprap`: `riprap.wrap(client, fallbacks=[FALLBACK])`, defaults otherwise (with
  fallbacks the breaker is on by default, `riprap.Breaker()`).
- `riprap, no breaker`: the same with `breaker=False` (each call retries, then moves on).
- `bare SDK`: `AsyncAnthropic()` with its default retries (2), primary only.

Reported per contender: calls that succeeded; attempts the primary received during the
outage (and that count over the bare SDK's); p50 / p99 latency of the calls started
during the outage; how long after the recovery the primary served a call again.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

import anthropic

import riprap
from _common import quantile
from riprap.sim import Outage, Scenario, Simulator

PRIMARY = "claude-sonnet-4-5-20250929"
FALLBACK = "claude-haiku-4-5-20251001"


@dataclass(frozen=True, slots=True)
class Call:
    """One call's outcome: when it was due (seconds on the simulator's outage clock)."""

    due: float
    latency: float
    model: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One contender's run."""

    name: str
    calls: list[Call]
    #: (time on the outage clock, model) of every request the simulator received.
    requests: list[tuple[float, str]]


def contender(name: str, base_url: str) -> Any:
    """The async client of contender `name`, on the simulator at `base_url`."""
    bare = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=base_url)
    if name == "bare SDK":
        return bare
    if name == "riprap":
        return riprap.wrap(bare, fallbacks=[FALLBACK])
    return riprap.wrap(bare, breaker=False, fallbacks=[FALLBACK])


async def drive(client: Any, *, rate: float, duration: float, origin: list[float]) -> list[Call]:
    """Start a call every 1/rate s for `duration` s; wait for all; each call's outcome."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    calls: list[Call] = []

    async def one(index: int, due: float) -> None:
        model = None
        try:
            message = await client.messages.create(
                model=PRIMARY,
                max_tokens=16,
                messages=[{"role": "user", "content": f"call {index}"}],
            )
            model = message.model
        except Exception:  # noqa: BLE001, S110 - a failed call is counted, not raised
            pass
        calls.append(Call(due, loop.time() - due, model))

    tasks = []
    for index in range(round(rate * duration)):
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    # The simulator's outage clock starts at its first request: shift to it.
    shift = origin[0] - start
    return [Call(c.due - start - shift, c.latency, c.model) for c in calls]


def run(name: str, *, rate: float, duration: float, outage: tuple[float, float]) -> Outcome:
    """Run one contender against a fresh simulator."""
    window = Outage(model=PRIMARY, start=outage[0], end=outage[1])
    # A small answer latency, so a call is not free (loopback answers in a millisecond).
    with Simulator(outages=[window], scenario=Scenario(latency=(0.02, 0.05))) as sim:
        client = contender(name, sim.base_url)
        origin: list[float] = []

        async def go() -> list[Call]:
            async with client:
                first = asyncio.create_task(
                    drive(client, rate=rate, duration=duration, origin=origin)
                )
                while not sim.requests:  # noqa: ASYNC110 - polls a server thread's record
                    await asyncio.sleep(0.001)  # learn where the outage clock starts
                origin.append(asyncio.get_running_loop().time() - sim.elapsed)
                return await first

        calls = asyncio.run(go())
        zero = time.monotonic() - sim.elapsed
        requests = [
            (r.time - zero, str(r.body.get("model")))
            for r in sim.requests
            if isinstance(r.body, dict)
        ]
    return Outcome(name, calls, requests)


def report(outcomes: list[Outcome], outage: tuple[float, float]) -> None:
    """Print the contenders side by side."""
    start, end = outage
    bare = next(o for o in outcomes if o.name == "bare SDK")

    def to_primary(o: Outcome) -> int:
        return sum(1 for t, m in o.requests if m == PRIMARY and start <= t < end)

    rows: list[tuple[str, ...]] = []
    for o in outcomes:
        ok = sum(c.model is not None for c in o.calls)
        during = [c.latency for c in o.calls if start <= c.due < end]
        done = [(c.due + c.latency, c.model) for c in o.calls]
        back = [t for t, model in done if model == PRIMARY and t > end]
        sent = to_primary(o)
        rows.append(
            (
                o.name,
                f"{100 * ok / len(o.calls):.1f} % ({ok}/{len(o.calls)})",
                str(sent),
                f"{100 * sent / max(1, to_primary(bare)):.1f} %",
                f"{quantile(during, 0.5):.3f}",
                f"{quantile(during, 0.99):.3f}",
                f"{min(back) - end:.2f}" if back else "never",
            )
        )
    header = ("contender", "success", "to primary", "vs bare", "p50 s", "p99 s", "back after s")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main() -> None:
    """Run every contender and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of traffic")
    parser.add_argument(
        "--outage", type=float, nargs=2, default=(5.0, 25.0), metavar=("START", "END")
    )
    parser.add_argument(
        "--contenders",
        nargs="+",
        default=["riprap", "riprap, no breaker", "bare SDK"],
        choices=["riprap", "riprap, no breaker", "bare SDK"],
    )
    args = parser.parse_args()
    outage = (args.outage[0], args.outage[1])
    if "bare SDK" not in args.contenders:
        parser.error("--contenders: the bare SDK is the baseline of the ratio; keep it")
    print(
        f"{args.rate:g} calls/s for {args.duration:g} s; {PRIMARY} answers 529 from "
        f"{outage[0]:g} s to {outage[1]:g} s; fallback {FALLBACK} healthy"
    )
    outcomes = [
        run(name, rate=args.rate, duration=args.duration, outage=outage) for name in args.contenders
    ]
    report(outcomes, outage)
    print(f"break duration {riprap.Breaker().break_duration:g} s (target: back within it + 1 s)")


if __name__ == "__main__":
    main()

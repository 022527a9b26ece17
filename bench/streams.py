"""Per-event overhead of riprap's streams against the bare SDK's, on a fault-free simulator.

Run: `.venv/bin/python bench/streams.py [--streams 300] [--words 200] [--provider anthropic]`

Both clients read the same streams (each `--words` deltas long) from one simulator on
127.0.0.1, interleaved stream by stream. The difference of the median time per stream,
divided by the events in it, is riprap's cost per streamed event.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import riprap
from _common import sdk_client
from riprap.sim import Reply, Simulator


def _read(provider: str, client: Any, words: int) -> int:
    messages = [{"role": "user", "content": "stream"}]
    if provider == "anthropic":
        stream = client.messages.create(
            model="claude-haiku-4-5-20251001", max_tokens=words + 10, messages=messages, stream=True
        )
    else:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=words + 10, messages=messages, stream=True
        )
    return sum(1 for _ in stream)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--provider", choices=("anthropic", "openai"), default="anthropic")
    args = parser.parse_args()
    text = " ".join(f"w{i}" for i in range(args.words))
    times: dict[str, list[float]] = {"bare SDK": [], "riprap.wrap": []}
    events = 0
    with Simulator() as sim:
        bare = sdk_client(args.provider, sim.base_url)
        wrapped = riprap.wrap(sdk_client(args.provider, sim.base_url))
        sim.script(*[Reply(text=text)] * (2 * (args.streams + 20)))
        for _ in range(20):  # warm up
            _read(args.provider, bare, args.words)
            _read(args.provider, wrapped, args.words)
        for i in range(args.streams):
            order = [("bare SDK", bare), ("riprap.wrap", wrapped)]
            if i % 2:
                order.reverse()
            for name, client in order:
                started = time.perf_counter()
                events = _read(args.provider, client, args.words)
                times[name].append(time.perf_counter() - started)
        bare.close()
        wrapped.close()
    print(
        f"{args.streams} streams each, {events} events per stream, {args.provider} SDK, interleaved"
    )
    print(f"{'contender':<12}  {'median ms/stream':>16}  {'µs/event':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<12}  {1e3 * median:16.3f}  {1e6 * median / events:8.2f}")
    extra = statistics.median(times["riprap.wrap"]) - statistics.median(times["bare SDK"])
    ratio = statistics.median(times["riprap.wrap"]) / statistics.median(times["bare SDK"])
    print(f"overhead: {1e6 * extra / events:+.2f} µs per event, ratio {ratio:.3f}x")


if __name__ == "__main__":
    main()

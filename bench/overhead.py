"""Per-call overhead of `riprap.wrap` against the bare SDK, on a fault-free simulator.

Run: `.venv/bin/python bench/overhead.py [--calls 2000] [--provider anthropic|openai]`

Both clients call the same simulator on 127.0.0.1, interleaved call by call (bare,
wrapped, wrapped, bare, …) so that drift in the machine's load hits both alike. The
difference of the medians is riprap's cost per call; p99 is reported beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import riprap
from _common import quantile, sdk_client
from riprap.sim import Simulator


def _call(provider: str, client: Any) -> None:
    messages = [{"role": "user", "content": "ping"}]
    if provider == "anthropic":
        client.messages.create(model="claude-haiku-4-5-20251001", max_tokens=8, messages=messages)
    else:
        client.chat.completions.create(model="gpt-4o-mini", max_tokens=8, messages=messages)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--provider", choices=("anthropic", "openai"), default="anthropic")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"bare SDK": [], "riprap.wrap": []}
    with Simulator() as sim:
        bare = sdk_client(args.provider, sim.base_url)
        wrapped = riprap.wrap(sdk_client(args.provider, sim.base_url))
        for _ in range(50):  # warm up: connections, imports, caches
            _call(args.provider, bare)
            _call(args.provider, wrapped)
        for i in range(args.calls):
            order = [("bare SDK", bare), ("riprap.wrap", wrapped)]
            if i % 2:
                order.reverse()
            for name, client in order:
                started = time.perf_counter()
                _call(args.provider, client)
                times[name].append(time.perf_counter() - started)
    print(f"{args.calls} calls each, {args.provider} SDK, fault-free simulator, interleaved")
    print(f"{'contender':<12}  {'median ms':>9}  {'p99 ms':>7}")
    for name, values in times.items():
        median, p99 = statistics.median(values), quantile(values, 0.99)
        print(f"{name:<12}  {1e3 * median:9.3f}  {1e3 * p99:7.3f}")
    overhead = statistics.median(times["riprap.wrap"]) - statistics.median(times["bare SDK"])
    p99 = quantile(times["riprap.wrap"], 0.99) - quantile(times["bare SDK"], 0.99)
    ratio = statistics.median(times["riprap.wrap"]) / statistics.median(times["bare SDK"])
    print(f"overhead: median {1e3 * overhead:+.3f} ms, p99 {1e3 * p99:+.3f} ms, ratio {ratio:.3f}x")


if __name__ == "__main__":
    main()

"""Attempts per success under 25 % transient faults, per seed (the core issue's acceptance).

Run: `.venv/bin/python bench/flaky.py [--calls 400] [--seeds 7 11 2026]`

Sequential calls through `riprap.wrap` with a fake clock (backoff is decided, not slept),
against the simulator injecting 529, 500, 503 and connection resets on 25 % of requests.
"""

from __future__ import annotations

import argparse

import riprap
from _common import sdk_client
from riprap.sim import Scenario, Simulator
from riprap.testing import FakeClock

FAULTS: dict[int | str, float] = {529: 1, 500: 1, 503: 1, "reset": 1}


def main() -> None:
    """Run each seed and print successes and attempts per success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 2026])
    args = parser.parse_args()
    print(f"{'seed':>6}  {'success':>9}  {'attempts':>8}  {'per success':>11}")
    for seed in args.seeds:
        scenario = Scenario(seed=seed, fault_rate=0.25, faults=FAULTS)
        with Simulator(scenario=scenario) as sim:
            client = riprap.wrap(sdk_client("anthropic", sim.base_url), clock=FakeClock())
            ok = 0
            for i in range(args.calls):
                client.messages.create(
                    model="claude-haiku-4-5-20251001",
                    max_tokens=16,
                    messages=[{"role": "user", "content": f"n{i}"}],
                )
                ok += 1
            attempts = len(sim.requests)
            client.close()
        print(f"{seed:>6}  {ok:>5}/{args.calls:<3}  {attempts:>8}  {attempts / ok:>11.3f}")


if __name__ == "__main__":
    main()

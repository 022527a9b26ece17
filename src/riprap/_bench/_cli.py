"""`riprap bench`: riprap beside the bare SDK, tenacity and LiteLLM on the shipped scenarios."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from riprap._cli_args import positive_int

if TYPE_CHECKING:
    import argparse

    from riprap._bench._run import Named

#: The contenders' keys, for `--contender` (kept here so `--help` imports nothing heavy).
CONTENDER_KEYS = ("riprap", "riprap-fallback", "sdk", "sdk-no-retries", "tenacity", "litellm")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `bench` subcommand."""
    bench = commands.add_parser(
        "bench",
        help="riprap vs the bare SDK, tenacity and LiteLLM on the simulator's scenarios",
        description="Run each scenario against every contender, each on a fresh "
        "simulator on 127.0.0.1 with the same seed, and print a table per scenario: "
        "success rate, makespan against the physical minimum, attempts per success, "
        "429s, p50/p99 latency, attempts wasted on a model while it was down. Needs no "
        "API key and no network. See docs/benchmarks.md for how to read it.",
    )
    bench.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="a shipped scenario's name or a scenario file's path; repeat for several "
        "(default: every shipped scenario)",
    )
    bench.add_argument(
        "--provider", choices=("anthropic", "openai"), default="anthropic", help="SDK to drive"
    )
    bench.add_argument(
        "--calls", type=positive_int, help="calls per contender (default: fitted per scenario)"
    )
    bench.add_argument(
        "--seed", type=int, help="the simulator's seed (default: each scenario's own)"
    )
    bench.add_argument(
        "--contender",
        action="append",
        choices=CONTENDER_KEYS,
        help="run only these contenders; repeat for several (default: all)",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: small workloads, outage windows compressed, everything at "
        "once; its numbers are not for comparison",
    )
    bench.set_defaults(run=run)


def load(sources: list[str] | None) -> list[Named] | str:
    """The scenarios to run, or the message saying which one could not be read."""
    from riprap._bench._run import Named  # noqa: PLC0415 - needs the sim extra
    from riprap.sim import ScenarioFileError, load_scenario, scenario_names  # noqa: PLC0415

    found = []
    for source in sources or scenario_names():
        try:
            loaded = load_scenario(source)
        except ScenarioFileError as error:
            return f"--scenario {source!r}: {error}"
        found.append(Named(loaded.name, loaded.description, loaded.scenario, loaded.outages))
    return found


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; returns the exit status."""
    from riprap._bench._contenders import CONTENDERS  # noqa: PLC0415 - needs the SDKs
    from riprap._bench._run import run_bench  # noqa: PLC0415
    from riprap._bench._sdk import import_sdk  # noqa: PLC0415

    import_sdk(args.provider)  # fails with the install hint before anything runs
    scenarios = load(args.scenario)
    if isinstance(scenarios, str):
        print(f"riprap bench: error: {scenarios}", file=sys.stderr)  # noqa: T201
        return 2
    chosen = args.contender or CONTENDER_KEYS
    contenders = [c for c in CONTENDERS if c.key in chosen]
    names = ", ".join(s.name for s in scenarios)
    print(  # noqa: T201
        f"riprap bench{' --quick' if args.quick else ''}: {args.provider} SDK against the "
        f"embedded simulator on 127.0.0.1; scenarios: {names}\n",
        flush=True,
    )
    run_bench(
        scenarios, contenders=contenders, provider=args.provider, calls=args.calls,
        seed=args.seed, quick=args.quick,
    )  # fmt: skip
    return 0

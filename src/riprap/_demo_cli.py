"""`riprap demo`: riprap against the bare SDK on a flaky simulated provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from riprap._cli_args import fraction, positive_int

if TYPE_CHECKING:
    import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` subcommand."""
    demo = commands.add_parser(
        "demo",
        help="riprap vs the bare SDK against the embedded simulator under a flaky scenario",
        description="Run the same workload through riprap and through the bare SDK (its "
        "default retries) against riprap's simulator injecting transient faults, and "
        "compare. Needs no API key and no network.",
    )
    demo.add_argument("--calls", type=positive_int, default=300, help="calls per contender")
    demo.add_argument("--fault-rate", type=fraction, default=0.25, help="share of faulty replies")
    demo.add_argument("--seed", type=int, default=7, help="the simulator's seed")
    demo.add_argument("--concurrency", type=positive_int, default=50, help="calls in flight")
    demo.add_argument(
        "--provider", choices=("anthropic", "openai"), default="anthropic", help="SDK to drive"
    )
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status."""
    from riprap._demo import run_demo  # noqa: PLC0415 - only the demo needs the SDKs

    return run_demo(
        calls=args.calls,
        fault_rate=args.fault_rate,
        seed=args.seed,
        concurrency=args.concurrency,
        provider=args.provider,
    )

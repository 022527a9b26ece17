"""The `riprap` command: a thin layer over the library.

No raw traceback reaches a user: expected failures print one line naming what to fix,
and exit non-zero.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from riprap import __version__
from riprap.errors import RiprapError

if TYPE_CHECKING:
    from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riprap", description="Production-grade calls to LLM APIs."
    )
    parser.add_argument("--version", action="version", version=f"riprap {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="riprap vs the bare SDK against the embedded simulator under a flaky scenario",
        description="Run the same workload through riprap and through the bare SDK (its "
        "default retries) against riprap's simulator injecting transient faults, and "
        "compare. Needs no API key and no network.",
    )
    demo.add_argument("--calls", type=_positive_int, default=300, help="calls per contender")
    demo.add_argument("--fault-rate", type=_fraction, default=0.25, help="share of faulty replies")
    demo.add_argument("--seed", type=int, default=7, help="the simulator's seed")
    demo.add_argument("--concurrency", type=_positive_int, default=50, help="calls in flight")
    demo.add_argument(
        "--provider", choices=("anthropic", "openai"), default="anthropic", help="SDK to drive"
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not >= 1")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from riprap._demo import run_demo  # noqa: PLC0415 - only the demo needs the SDKs

            return run_demo(
                calls=args.calls,
                fault_rate=args.fault_rate,
                seed=args.seed,
                concurrency=args.concurrency,
                provider=args.provider,
            )
    except KeyboardInterrupt:
        print("riprap: interrupted", file=sys.stderr)  # noqa: T201
        return 130
    except (RiprapError, ImportError, OSError) as error:
        print(f"riprap: error: {error}", file=sys.stderr)  # noqa: T201
        return 2
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

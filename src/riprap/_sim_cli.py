"""`riprap sim`: the arguments; the command itself is `riprap.sim._cli`.

This module stays outside `riprap.sim` so that `riprap --help` neither imports the
simulator nor fails when the `sim` extra (h11) is not installed.
"""

from __future__ import annotations

import argparse

_HOSTS = ("127.0.0.1", "localhost")


def port(text: str) -> int:
    """A TCP port, 0..65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value <= 65535:  # noqa: PLR2004 -- the TCP port range
        raise argparse.ArgumentTypeError(f"{text!r} is not a port in 0..65535")
    return value


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `sim` subcommand."""
    sim = commands.add_parser(
        "sim",
        help="run the fault-injecting simulator of the Anthropic and OpenAI APIs",
        description="Serve a fake Anthropic and OpenAI API on 127.0.0.1 that injects the "
        "faults a scenario describes (statuses, resets, broken streams, rate limits, "
        "outages), until Ctrl-C. Point any client's base URL at it.",
    )
    sim.add_argument(
        "--scenario",
        metavar="FILE_OR_NAME",
        help="a scenario TOML file, or the name of a shipped one (see --list); "
        "default: every request succeeds",
    )
    sim.add_argument("--port", type=port, default=0, help="TCP port; 0 (default) picks a free one")
    sim.add_argument(
        "--host", choices=_HOSTS, default="127.0.0.1", help="loopback only (default 127.0.0.1)"
    )
    sim.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")
    sim.add_argument("-v", "--verbose", action="store_true", help="print one line per request")
    sim.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run `riprap sim`; returns the exit status."""
    from riprap.sim._cli import run as run_sim  # noqa: PLC0415 - needs the sim extra

    return run_sim(args)

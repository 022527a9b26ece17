"""The `riprap` command: a thin layer over the library.

Each subcommand lives in its own module, which exposes `register(commands)` (adds its
parser, with `run` set as a default) and keeps its heavy imports inside `run`, so
`riprap --help` stays fast and works without the optional extras.

No raw traceback reaches a user: expected failures print one line naming what to fix,
and exit non-zero.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING

from riprap import __version__
from riprap.errors import RiprapError

if TYPE_CHECKING:
    from collections.abc import Sequence

#: The modules that define subcommands, in the order `riprap --help` lists them.
COMMAND_MODULES = ("riprap._demo_cli", "riprap._sim_cli", "riprap.batch._cli", "riprap._bench._cli")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riprap", description="Production-grade calls to LLM APIs."
    )
    parser.add_argument("--version", action="version", version=f"riprap {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("riprap: interrupted", file=sys.stderr)  # noqa: T201
        return 130
    except (RiprapError, ImportError, OSError) as error:
        print(f"riprap: error: {error}", file=sys.stderr)  # noqa: T201
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

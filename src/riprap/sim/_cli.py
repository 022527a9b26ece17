"""`riprap sim`: the simulator in the foreground, for programs in any language.

It prints what the scenario does, then one line a program can parse to learn the port
(``riprap sim: listening on http://127.0.0.1:PORT``), and serves until Ctrl-C or SIGTERM,
which stop it cleanly (exit status 0, no traceback).
"""

from __future__ import annotations

import signal
import sys
import textwrap
import threading
from typing import TYPE_CHECKING, Final, TextIO

from riprap.sim._describe import describe
from riprap.sim._scenario_file import ScenarioFile, load_scenario, scenario_names
from riprap.sim._script import Scenario
from riprap.sim._toml_check import ScenarioFileError

if TYPE_CHECKING:
    import argparse
    from types import FrameType

    from riprap.sim._server import RecordedRequest, Simulator

#: A long-running simulator keeps this many recorded requests (bounded memory).
MAX_RECORDS: Final = 10_000
#: How often the foreground loop wakes to print new requests (with --verbose).
_POLL_SECONDS: Final = 0.2


def list_scenarios(out: TextIO) -> int:
    """Print each shipped scenario's name and description."""
    for name in scenario_names():
        loaded = load_scenario(name)
        print(name, file=out)
        print(
            textwrap.fill(loaded.description, 88, initial_indent="    ", subsequent_indent="    "),
            file=out,
        )
    return 0


def _log_line(record: RecordedRequest) -> str:
    """One request as `--verbose` prints it."""
    reply = record.reply
    model = record.body.get("model") if isinstance(record.body, dict) else None
    if reply.hang:
        outcome = "hang"
    elif reply.disconnect is not None:
        outcome = f"connection {reply.disconnect}"
    else:
        outcome = str(reply.status)
        for name in (
            "stream_error_after",
            "stream_cut_after",
            "stream_truncate_after",
            "stream_stall_after",
        ):
            if getattr(reply, name) is not None:
                outcome += f" {name.removesuffix('_after')} after {getattr(reply, name)} deltas"
    return f"#{record.index} {record.method} {record.path} model={model or '-'} -> {outcome}"


def serve(loaded: ScenarioFile, *, host: str, port: int, verbose: bool, out: TextIO) -> int:
    """Serve `loaded` until Ctrl-C or SIGTERM; returns the exit status."""
    sim = loaded.simulator(host=host, port=port, max_records=MAX_RECORDS)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    # Both signals just end the wait below, so neither can land as a KeyboardInterrupt in
    # the middle of start() or close(); installed explicitly, Ctrl-C works even where the
    # shell started us with SIGINT ignored.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        sim.start()
        _announce(loaded, sim, out)
        _wait(sim, stop, verbose=verbose, out=out)
    finally:
        sim.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(f"riprap sim: stopped after {_count(sim)} requests", file=out, flush=True)
    return 0


def _count(sim: Simulator) -> int:
    records = sim.requests
    return records[-1].index + 1 if records else 0


def _announce(loaded: ScenarioFile, sim: Simulator, out: TextIO) -> None:
    print(f"riprap sim: scenario {loaded.name!r} ({loaded.source})", file=out)
    if loaded.description:
        print(
            textwrap.fill(loaded.description, 88, initial_indent="  ", subsequent_indent="  "),
            file=out,
        )
    for line in describe(loaded):
        print(f"  - {line}", file=out)
    print(f"riprap sim: listening on {sim.base_url}", file=out)
    print(f"  Anthropic SDK: base_url={sim.base_url}", file=out)
    print(f"  OpenAI SDK:    base_url={sim.base_url}/v1", file=out)
    print("  Any API key is accepted. Ctrl-C stops.", file=out, flush=True)


def _wait(sim: Simulator, stop: threading.Event, *, verbose: bool, out: TextIO) -> None:
    """Block until `stop` is set (SIGTERM) or Ctrl-C; print new requests when verbose."""
    printed = 0
    while not stop.wait(_POLL_SECONDS):
        if not verbose:
            continue
        fresh = [r for r in sim.requests if r.index >= printed]
        for record in fresh:
            print(_log_line(record), file=out)
        if fresh:
            printed = fresh[-1].index + 1
            out.flush()


def run(args: argparse.Namespace) -> int:
    """Run `riprap sim` from parsed arguments; returns the exit status."""
    if args.list:
        return list_scenarios(sys.stdout)
    try:
        if args.scenario is None:
            loaded = ScenarioFile(
                name="healthy",
                description="No scenario given: every request succeeds.",
                scenario=Scenario(),
                source="(no --scenario)",
            )
        else:
            loaded = load_scenario(args.scenario)
    except ScenarioFileError as error:
        sys.stderr.write(f"riprap sim: error: {error}\n")
        return 2
    try:
        return serve(loaded, host=args.host, port=args.port, verbose=args.verbose, out=sys.stdout)
    except OSError as error:  # the port is taken, or not ours to bind
        sys.stderr.write(f"riprap sim: error: cannot listen on {args.host}:{args.port}: ")
        sys.stderr.write(f"{error.strerror or error}\n")
        return 2

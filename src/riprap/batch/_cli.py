"""`riprap batch`: the durable batch runner's command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from riprap._cli_args import fraction, positive_float, positive_int

if TYPE_CHECKING:
    import argparse

    from riprap.batch._settings import Settings

_DESCRIPTION = """\
Send every request of IN.jsonl (one {"id": ..., "request": {...}} per line, Anthropic
Messages or OpenAI Chat Completions shape) and append one result line per id to
OUT.jsonl. Input errors are reported with their line numbers before anything is sent.
A journal (SQLite, next to the output) records each item; re-running the same command
resumes a run that was stopped or killed, and every id appears in the output exactly
once. Ctrl-C stops taking items and lets those in flight finish. Exit status: 0 all
succeeded, 1 some failed (their errors are in the output), 2 bad input or settings,
130 interrupted. See docs/batch.md."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `batch` subcommand."""
    batch = commands.add_parser(
        "batch",
        help="run a JSONL file of requests durably, at the rate limit",
        description=_DESCRIPTION,
    )
    batch.add_argument("input", type=Path, metavar="IN.jsonl", help="the requests")
    batch.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT.jsonl",
        help="where results are appended",
    )
    batch.add_argument("--journal", type=Path, help="journal path (default: OUT.jsonl.journal)")
    batch.add_argument(
        "--resume",
        action="store_true",
        help="accepted for clarity: re-running the same command always resumes",
    )
    where = batch.add_argument_group("provider")
    where.add_argument(
        "--provider",
        choices=("auto", "anthropic", "openai", "sim"),
        default="auto",
        help="auto: the API the requests are written for; "
        "sim: the embedded simulator, no key needed",
    )
    where.add_argument(
        "--format",
        choices=("auto", "anthropic", "openai"),
        default="auto",
        help="the requests' shape (default: the provider's, or detected)",
    )
    where.add_argument("--scenario", help="--provider sim: a shipped scenario name or a TOML file")
    where.add_argument("--base-url", help="send to this base URL instead of the SDK's default")
    where.add_argument("--model", help="use this model for every request")
    where.add_argument(
        "--fallback",
        action="append",
        default=[],
        metavar="MODEL",
        help="a model to fall back to (repeatable, in order)",
    )
    pace = batch.add_argument_group("pace")
    pace.add_argument(
        "--concurrency", type=positive_int, default=64, help="calls in flight at most"
    )
    for flag, what in (
        ("--rpm", "requests"),
        ("--input-tpm", "input tokens"),
        ("--output-tpm", "output tokens"),
        ("--tpm", "input+output tokens"),
    ):
        pace.add_argument(
            flag,
            type=positive_float,
            help=f"{what} per minute (default: learnt from the provider's rate-limit headers)",
        )
    pace.add_argument(
        "--burst-seconds",
        type=positive_float,
        help="seconds of each rate that may be spent at once (default 60)",
    )
    pace.add_argument("--headroom", type=fraction, help="share of each limit to use (default 0.98)")
    policy = batch.add_argument_group("retries and cost")
    policy.add_argument("--max-attempts", type=positive_int, help="attempts per item (default 8)")
    policy.add_argument("--deadline", type=positive_float, help="seconds per item, all attempts")
    policy.add_argument(
        "--budget",
        type=positive_float,
        metavar="DOLLARS",
        help="stop taking items once this run has spent this much",
    )
    policy.add_argument(
        "--max-call-cost",
        type=positive_float,
        metavar="DOLLARS",
        help="fail an item whose worst-case cost is above this",
    )
    shared = batch.add_argument_group("shared mode")
    shared.add_argument(
        "--redis",
        metavar="URL",
        help="share the job with other processes through Redis (same input "
        "and output; items are claimed atomically, the limiter is shared)",
    )
    shared.add_argument("--job", help="shared job name (default: the input's SHA-256 prefix)")
    shared.add_argument(
        "--lease",
        type=positive_float,
        default=60.0,
        help="seconds before a dead worker's items are taken over",
    )
    run = batch.add_argument_group("running")
    run.add_argument(
        "--skip-invalid",
        action="store_true",
        help="record bad input lines in the output as invalid and run the rest",
    )
    run.add_argument(
        "--grace",
        type=positive_float,
        default=30.0,
        help="seconds in-flight items get after Ctrl-C",
    )
    run.add_argument(
        "--progress",
        choices=("auto", "live", "plain", "off"),
        default="auto",
        help="live line on a terminal, log lines otherwise (auto)",
    )
    run.add_argument(
        "--progress-interval",
        type=positive_float,
        default=10.0,
        help="seconds between plain progress lines",
    )
    batch.set_defaults(run=run_command)


def run_command(args: argparse.Namespace) -> int:
    """Build the settings and run the job; returns the exit status."""
    from riprap.batch._errors import explain  # noqa: PLC0415 - keeps --help fast
    from riprap.batch._main import run_batch  # noqa: PLC0415

    try:
        return run_batch(_settings(args))
    except Exception as error:  # noqa: BLE001 - no traceback reaches the user; explain() names it
        print(f"riprap batch: error: {explain(error)}", file=sys.stderr)  # noqa: T201
        return 2


def _settings(args: argparse.Namespace) -> Settings:
    import dataclasses  # noqa: PLC0415

    from riprap.batch._settings import BATCH_RETRY, Settings  # noqa: PLC0415
    from riprap.limiter import Limits  # noqa: PLC0415

    limits = None
    pace = {
        "rpm": args.rpm,
        "input_tpm": args.input_tpm,
        "output_tpm": args.output_tpm,
        "tpm": args.tpm,
        "burst_seconds": args.burst_seconds,
        "headroom": args.headroom,
    }
    given = {k: v for k, v in pace.items() if v is not None}
    if given:
        limits = Limits(**given)
    retry = {"max_attempts": args.max_attempts, "deadline": args.deadline}
    return Settings(
        input=args.input,
        output=args.output,
        journal=args.journal,
        provider=args.provider,
        shape=None if args.format == "auto" else args.format,
        model=args.model,
        concurrency=args.concurrency,
        skip_invalid=args.skip_invalid,
        limits=limits,
        retry=dataclasses.replace(BATCH_RETRY, **{k: v for k, v in retry.items() if v is not None}),
        fallbacks=tuple(args.fallback),
        budget=args.budget,
        max_call_cost=args.max_call_cost,
        scenario=args.scenario,
        base_url=args.base_url,
        redis_url=args.redis,
        job=args.job,
        lease=args.lease,
        grace=args.grace,
        progress=args.progress,
        interval=args.progress_interval,
    )

"""`run_batch`: a whole job, from checking the input to the summary and the exit status."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import warnings
from typing import TYPE_CHECKING, Final, TextIO

from riprap.batch._client import check_key, endpoint
from riprap.batch._journal import FINISHED
from riprap.batch._output import Output
from riprap.batch._prepare import job_lock, open_journal, reconcile
from riprap.batch._progress import Display, Stats, summary
from riprap.batch._runner import Run
from riprap.errors import ConfigError

if TYPE_CHECKING:
    from riprap.batch._client import Endpoint, ProviderName
    from riprap.batch._input import Shape
    from riprap.batch._journal import Journal, Reconciled
    from riprap.batch._settings import Settings

#: Exit statuses: every item finished and none failed; some failed (see the output);
#: stopped by a signal (as a shell reports SIGINT, 128 + 2).
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_INTERRUPTED: Final = 130


def run_batch(settings: Settings, *, stream: TextIO | None = None) -> int:
    """Run (or resume) the job; returns the exit status. Raises on bad input or settings."""
    err = sys.stderr if stream is None else stream
    if settings.provider != "auto":
        check_key(settings.provider)
    if not settings.input.is_file():
        raise ConfigError(f"the input {settings.input} is not a file")
    with job_lock(settings):
        journal, fingerprint, shape, created = open_journal(settings)
        with contextlib.closing(journal):
            provider: ProviderName = shape if settings.provider == "auto" else settings.provider
            check_key(provider)
            return _run(settings, journal, fingerprint, shape, provider, created=created, err=err)


def _run(
    settings: Settings,
    journal: Journal,
    fingerprint: str,
    shape: Shape,
    provider: ProviderName,
    *,
    created: bool,
    err: TextIO,
) -> int:
    output = Output(settings.output)
    with contextlib.closing(output):
        stats = Stats(total=journal.total())
        display = Display(stats, stream=err, mode=settings.progress)
        if settings.redis_url is None:
            reconciled, repaired = reconcile(journal, output)
            _tell_resume(display, created=created, reconciled=reconciled, repaired=repaired)
        else:
            with output.locked():
                repaired = output.repair()
            if repaired:
                display.log(f"cut a torn last line ({repaired} bytes) off {settings.output}")
        counts = journal.counts()
        stats.earlier = sum(counts.get(s, 0) for s in FINISHED)
        started = time.monotonic()
        if settings.redis_url is None and stats.earlier == stats.total:
            display.log(f"all {stats.total} items are already finished in {settings.output}")
        else:
            with (
                warnings.catch_warnings(),
                endpoint(provider, scenario=settings.scenario, base_url=settings.base_url) as ep,
            ):
                _quiet_warnings(display, sim=provider == "sim")
                asyncio.run(
                    _async_run(settings, journal, output, stats, display, shape, ep, fingerprint)
                )
        display.end()
        err.write(summary(stats, output=str(settings.output), elapsed=time.monotonic() - started))
        err.write("\n")
        err.flush()
        if stats.interrupted:
            return EXIT_INTERRUPTED
        failed = (
            sum(stats.failed.values()) if settings.redis_url else journal.counts().get("failed", 0)
        )
        return EXIT_FAILED if failed else EXIT_OK


async def _async_run(  # noqa: PLR0917 - one private call site, every argument named there
    settings: Settings,
    journal: Journal,
    output: Output,
    stats: Stats,
    display: Display,
    shape: Shape,
    ep: Endpoint,
    fingerprint: str,
) -> None:
    claims = None
    if settings.redis_url is not None:
        from riprap.batch._shared import Claims  # noqa: PLC0415 - needs redis-py

        claims = Claims(settings.redis_url, job=settings.job or fingerprint[:16],
                        lease=settings.lease)  # fmt: skip
        stats.earlier = await claims.join(stats.total)
        display.log(f"shared job {claims.prefix} as worker {claims.worker}")
    try:
        run = Run(
            settings=settings, journal=journal, output=output, stats=stats, display=display,
            shape=shape, endpoint=ep, claims=claims, log=display.log,
        )  # fmt: skip
        await run.main()
    finally:
        if claims is not None:
            await claims.close()


def _quiet_warnings(display: Display, *, sim: bool) -> None:
    """Warnings as one plain line each (no source line); none for the simulator's models."""
    from riprap.models import UnknownModelWarning  # noqa: PLC0415

    if sim:
        # The simulator's model names are not real models; the registry would warn.
        warnings.simplefilter("ignore", UnknownModelWarning)

    def show(message: Warning | str, *_: object, **__: object) -> None:
        display.log(f"warning: {message}")

    warnings.showwarning = show


def _tell_resume(
    display: Display,
    *,
    created: bool,
    reconciled: Reconciled,
    repaired: int,
) -> None:
    if created:
        return
    parts = []
    if repaired:
        parts.append(f"cut a torn last output line ({repaired} bytes)")
    if reconciled.recovered:
        parts.append(f"{reconciled.recovered} item(s) found finished in the output")
    if reconciled.lost:
        parts.append(f"{reconciled.lost} item(s) missing from the output will run again")
    if reconciled.released:
        parts.append(f"{reconciled.released} item(s) cut off by the last run will run again")
    display.log("resuming" + (": " + "; ".join(parts) if parts else ""))

"""What a batch has done so far, shown while it runs and summed up at the end.

Counters fed by the runner and riprap's events; a live line for a terminal, plain log
lines otherwise; the final summary table.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TextIO

from riprap._kinds import Kind
from riprap.observe import AttemptEnded, LimiterWaited, RetryScheduled

if TYPE_CHECKING:
    from riprap.batch._records import Outcome
    from riprap.observe import Event

#: Seconds over which the live rate is measured: long enough to smooth bursts of a
#: paced run, short enough to follow a change of pace.
RATE_WINDOW: Final = 30.0


@dataclass
class Stats:
    """Counters of one run (this process), updated as items finish and events arrive."""

    total: int
    #: Items finished before this run started (resumed), or by other workers.
    earlier: int = 0
    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    invalid: int = 0
    #: Items whose line another worker had already written (shared mode takeovers).
    adopted: int = 0
    retries: int = 0
    rate_limited: int = 0
    limiter_waits: int = 0
    limiter_wait_seconds: float = 0.0
    cost: float = 0.0
    unpriced: int = 0
    interrupted: bool = False
    not_done: int = 0
    started: float = field(default_factory=time.monotonic)
    _marks: list[tuple[float, int]] = field(default_factory=list)

    @property
    def finished(self) -> int:
        """Items this run finished."""
        return self.ok + sum(self.failed.values()) + self.invalid + self.adopted

    @property
    def done(self) -> int:
        """Items of the job finished, this run's and earlier ones."""
        return self.earlier + self.finished

    def hook(self, event: Event) -> None:
        """A riprap hook: counts retries, 429s and limiter waits."""
        if isinstance(event, RetryScheduled):
            self.retries += 1
        elif isinstance(event, AttemptEnded):
            if event.kind is Kind.RATE_LIMITED:
                self.rate_limited += 1
        elif isinstance(event, LimiterWaited):
            self.limiter_waits += 1
            self.limiter_wait_seconds += event.wait

    def record(self, outcome: Outcome) -> None:
        """Count one finished item."""
        if outcome.status == "ok":
            self.ok += 1
        elif outcome.status == "invalid":
            self.invalid += 1
        else:
            self.failed[outcome.kind or "unknown"] += 1
        report = outcome.report
        if report is not None:
            if report.cost is not None:
                self.cost += report.cost
            elif report.ok:
                self.unpriced += 1

    def rate(self, now: float) -> float:
        """Items per second over the last `RATE_WINDOW` seconds."""
        self._marks.append((now, self.finished))
        while len(self._marks) > 2 and now - self._marks[1][0] >= RATE_WINDOW:  # noqa: PLR2004
            self._marks.pop(0)
        then, count = self._marks[0]
        if now - then <= 0:
            return 0.0
        return (self.finished - count) / (now - then)

    def line(self, now: float) -> str:
        """One line of progress."""
        rate = self.rate(now)
        left = self.total - self.done
        eta = f"{_clock(left / rate)}" if rate > 0 and left > 0 else "-"
        failures = ", ".join(f"{k} {n}" for k, n in self.failed.most_common()) or "0"
        return (
            f"{self.done}/{self.total} done ({_pct(self.done, self.total)}), "
            f"{rate:.1f}/s, ETA {eta}, retries {self.retries}, limiter waits "
            f"{self.limiter_waits} ({self.limiter_wait_seconds:.0f}s), 429s {self.rate_limited}, "
            f"failed {failures}, cost ${self.cost:.4f}, elapsed {_clock(now - self.started)}"
        )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "100%"


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Display:
    """Shows progress: a line rewritten in place on a terminal, log lines otherwise."""

    def __init__(self, stats: Stats, *, stream: TextIO | None = None, mode: str = "auto") -> None:
        self.stats = stats
        self.stream = sys.stderr if stream is None else stream
        self.live = mode == "live" or (mode == "auto" and self.stream.isatty())
        self.off = mode == "off"
        self._width = 0

    def tick(self) -> None:
        """Show the current state once."""
        if self.off:
            return
        text = self.stats.line(time.monotonic())
        if self.live:
            # Pad over the previous line's tail; "\r" returns to its start.
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            stamp = time.strftime("%H:%M:%S")
            self.stream.write(f"[{stamp}] riprap batch: {text}\n")
        self.stream.flush()

    def log(self, message: str) -> None:
        """One message, on its own line (above the live line, which the next tick redraws)."""
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(f"riprap batch: {message}\n")
        self.stream.flush()

    def end(self) -> None:
        """Finish the live line, so the summary starts on its own line."""
        if self.live and self._width:
            self.stream.write("\n")
            self.stream.flush()


def summary(stats: Stats, *, output: str, elapsed: float) -> str:
    """The final table."""
    rows: list[tuple[str, str]] = [
        ("items", str(stats.total)),
        ("finished earlier", str(stats.earlier)),
        ("succeeded", str(stats.ok)),
        ("failed", str(sum(stats.failed.values()))),
    ]
    rows.extend((f"  {kind}", str(n)) for kind, n in stats.failed.most_common())
    rows += [
        ("invalid (not sent)", str(stats.invalid)),
        ("not done", str(stats.total - stats.done)),
        ("retries", str(stats.retries)),
        ("429s received", str(stats.rate_limited)),
        ("limiter waits", f"{stats.limiter_waits} ({stats.limiter_wait_seconds:.1f}s)"),
        (
            "cost",
            f"${stats.cost:.4f}" + (f" (+{stats.unpriced} unpriced)" if stats.unpriced else ""),
        ),
        ("elapsed", f"{elapsed:.1f}s"),
        ("rate", f"{stats.finished / elapsed:.1f} items/s" if elapsed > 0 else "-"),
        ("output", output),
    ]
    if stats.adopted:
        rows.insert(4, ("taken over, already written", str(stats.adopted)))
    width = max(len(name) for name, _ in rows)
    title = "riprap batch: interrupted" if stats.interrupted else "riprap batch: summary"
    lines = [title, "-" * len(title)]
    lines += [f"{name.ljust(width)}  {value}" for name, value in rows]
    if stats.interrupted:
        lines.append("re-run the same command to finish the items not done")
    return "\n".join(lines)

"""One contender's run on one scenario, reduced to a row of numbers (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from riprap._bench._metrics import (
    Sent,
    Window,
    count_status,
    failure_counts,
    makespan,
    quantile,
    successes,
    wasted_in_windows,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from riprap._bench._metrics import Outcome
    from riprap.sim import Outage, RecordedRequest

#: The routes whose requests are attempts at a call (not token counting, say).
_CALL_PATHS = ("/messages", "/chat/completions")


@dataclass(frozen=True, slots=True)
class Row:
    """What one contender achieved on one scenario.

    Attributes:
        label: The contender.
        missing: Why it did not run (not installed); None if it ran.
        calls: Calls made.
        ok: Calls that got the whole, right answer.
        makespan: Seconds from the first call to the last answer or error.
        attempts: Requests the simulator received.
        rate_limited: Of those, answered 429.
        p50: Median seconds a caller waited, answer or error.
        p99: 99th percentile of the same.
        wasted: Failed requests sent to a model inside one of its outage windows; None
            when the scenario has no outage.
        failures: Failed calls per label.
    """

    label: str
    missing: str | None = None
    calls: int = 0
    ok: int = 0
    makespan: float = 0.0
    attempts: int = 0
    rate_limited: int = 0
    p50: float | None = None
    p99: float | None = None
    wasted: int | None = None
    failures: dict[str, int] | None = None


def _failed(record: RecordedRequest) -> bool:
    """Whether the simulator's reply to `record` was anything but a clean answer."""
    reply = record.reply
    if reply.is_error or not reply.sends_response or reply.body is not None:
        # A 200 with an explicit body is the truncated-JSON fault (no scenario scripts one).
        return True
    streamed = isinstance(record.body, dict) and record.body.get("stream") is True
    never_resumes = reply.stream_stall_after is not None and reply.stream_stall_for is None
    broken = (reply.stream_error_after, reply.stream_cut_after, reply.stream_truncate_after)
    return streamed and (never_resumes or any(at is not None for at in broken))


def sent_of(records: Sequence[RecordedRequest]) -> list[Sent]:
    """The call attempts among `records`, timed from the first request (the outage origin)."""
    if not records:
        return []
    origin = records[0].time
    found = []
    for record in records:
        if not record.path.endswith(_CALL_PATHS):
            continue
        model = record.body.get("model") if isinstance(record.body, dict) else None
        found.append(
            Sent(
                since=record.time - origin,
                model=model if isinstance(model, str) else None,
                failed=_failed(record),
                status=record.reply.status if record.reply.sends_response else 0,
            )
        )
    return found


def windows_of(outages: Sequence[Outage]) -> list[Window]:
    """The outage windows, as the metrics read them."""
    return [Window(o.start, o.end, o.model) for o in outages]


def summarize(
    label: str, outcomes: Sequence[Outcome], sent: Sequence[Sent], windows: Sequence[Window]
) -> Row:
    """The row of one contender's run: `outcomes` of its calls, `sent` the requests made."""
    latencies = [o.latency for o in outcomes]
    return Row(
        label=label,
        calls=len(outcomes),
        ok=successes(outcomes),
        makespan=makespan(outcomes),
        attempts=len(sent),
        rate_limited=count_status(sent, 429),
        p50=quantile(latencies, 0.5),
        p99=quantile(latencies, 0.99),
        wasted=wasted_in_windows(sent, windows) if windows else None,
        failures=failure_counts(outcomes),
    )

"""The metrics, defined once: instruments, their labels, and what each event records.

The OpenTelemetry and Prometheus adapters both read `INSTRUMENTS` and `measurements`, so
they export the same numbers under the same names (Prometheus gets the names
OpenTelemetry's Prometheus exporter would give them). Shaped after Polly's telemetry:
one counter for every resilience event (`event.name` says which), a histogram of attempt
durations, and, from the GenAI conventions, the call's duration and token usage.

Cardinality is bounded by construction: labels are the provider, the model, the event's
name, its error kind and its outcome (an enum), never a call id or a request id, and
`LabelGuard` caps the distinct values any label takes (a model name comes from the
caller's arguments, so it is capped too).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from riprap.observe import _semconv as sc
from riprap.observe._catalog import outcome_of
from riprap.observe._events import AttemptEnded, AttemptStarted, CallEnded

if TYPE_CHECKING:
    from riprap.observe._events import Ended, Event
    from riprap.observe._redactor import Redactor


class Kind(enum.Enum):
    """An instrument's type."""

    COUNTER = "counter"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """One metric: its name, type, unit, labels and (for histograms) buckets."""

    name: str
    kind: Kind
    unit: str
    description: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


OPERATION_DURATION = Instrument(
    name=sc.OPERATION_DURATION,
    kind=Kind.HISTOGRAM,
    unit="s",
    description="GenAI operation duration: one riprap call, every attempt and wait included.",
    labels=(
        sc.OPERATION_NAME,
        sc.PROVIDER_NAME,
        sc.REQUEST_MODEL,
        sc.RESPONSE_MODEL,
        sc.ERROR_TYPE,
    ),
    buckets=sc.DURATION_BUCKETS,
)
TOKEN_USAGE = Instrument(
    name=sc.TOKEN_USAGE,
    kind=Kind.HISTOGRAM,
    unit="{token}",
    description="Number of input and output tokens used, per call.",
    labels=(
        sc.OPERATION_NAME,
        sc.PROVIDER_NAME,
        sc.REQUEST_MODEL,
        sc.RESPONSE_MODEL,
        sc.TOKEN_TYPE,
    ),
    buckets=sc.TOKEN_BUCKETS,
)
ATTEMPT_DURATION = Instrument(
    name=sc.ATTEMPT_DURATION,
    kind=Kind.HISTOGRAM,
    unit="s",
    description="Duration of each attempt; error.type is set on attempts that failed.",
    labels=(sc.PROVIDER_NAME, sc.REQUEST_MODEL, sc.ERROR_TYPE),
    buckets=sc.DURATION_BUCKETS,
)
EVENTS = Instrument(
    name=sc.EVENTS,
    kind=Kind.COUNTER,
    unit="{event}",
    description="Resilience events: retries, waits, breaker transitions, fallbacks, ...",
    labels=(sc.EVENT_NAME, sc.PROVIDER_NAME, sc.REQUEST_MODEL, sc.ERROR_TYPE, sc.OUTCOME),
)
WAIT_DURATION = Instrument(
    name=sc.WAIT_DURATION,
    kind=Kind.HISTOGRAM,
    unit="s",
    description="Waits riprap chose (retry backoff, rate-limiter queue), by event.",
    labels=(sc.EVENT_NAME, sc.PROVIDER_NAME, sc.REQUEST_MODEL, sc.ERROR_TYPE),
    buckets=sc.WAIT_BUCKETS,
)

INSTRUMENTS = (OPERATION_DURATION, TOKEN_USAGE, ATTEMPT_DURATION, EVENTS, WAIT_DURATION)

#: Events that have instruments of their own rather than a count in `EVENTS`.
_OWN_INSTRUMENTS = frozenset({AttemptStarted.name, AttemptEnded.name, CallEnded.name})


@dataclass(frozen=True, slots=True)
class Measurement:
    """One value for one instrument; a label missing or `None` is not set."""

    instrument: Instrument
    value: float
    labels: dict[str, str]


class LabelGuard:
    """Bounds and cleans label values: each distinct value is redacted once, and remembered.

    Past `limit` distinct values of one label, new values become `_OTHER`: a caller that
    puts a fresh string into `model=` on every call cannot blow up the metrics backend.
    """

    #: Distinct values per label. A deployment uses a handful of models and providers;
    #: 100 leaves room for many and still bounds a series count at 100x the others.
    DEFAULT_LIMIT = 100

    def __init__(self, redactor: Redactor, *, limit: int = DEFAULT_LIMIT) -> None:
        """Clean values with `redactor`; keep at most `limit` distinct values per label."""
        self._redactor = redactor
        self._limit = limit
        self._seen: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, raw: object) -> str | None:
        """The exported value of `label` for `raw`, or `None` when there is none."""
        if raw is None:
            return None
        text = raw.value if isinstance(raw, enum.Enum) else raw
        text = str(text)
        known = self._seen.get(label)
        if known is not None:
            clean = known.get(text)
            if clean is not None:
                return clean
        with self._lock:
            known = self._seen.setdefault(label, {})
            if text not in known:
                if len(known) >= self._limit:
                    return sc.OTHER
                known[text] = self._redactor.text(text)
            return known[text]


def measurements(event: Event, guard: LabelGuard) -> list[Measurement]:
    """What `event` records, in every metrics backend."""
    provider = guard(sc.PROVIDER_NAME, event.provider)
    model = guard(sc.REQUEST_MODEL, event.model)
    if isinstance(event, AttemptEnded):
        labels = _labels(
            {
                sc.PROVIDER_NAME: provider,
                sc.REQUEST_MODEL: model,
                sc.ERROR_TYPE: guard(sc.ERROR_TYPE, event.kind),
            }
        )
        return [Measurement(ATTEMPT_DURATION, event.latency, labels)]
    if isinstance(event, CallEnded):
        return _call_ended(event, guard, provider, model)
    if event.name in _OWN_INSTRUMENTS:
        return []
    name = guard(sc.EVENT_NAME, event.name)
    error_type = guard(sc.ERROR_TYPE, getattr(event, "kind", None))
    out = [
        Measurement(
            EVENTS,
            1,
            _labels(
                {
                    sc.EVENT_NAME: name,
                    sc.PROVIDER_NAME: provider,
                    sc.REQUEST_MODEL: model,
                    sc.ERROR_TYPE: error_type,
                    sc.OUTCOME: guard(sc.OUTCOME, outcome_of(event)),
                }
            ),
        )
    ]
    wait = getattr(event, "wait", None)
    if isinstance(wait, (int, float)) and not isinstance(wait, bool):
        out.append(
            Measurement(
                WAIT_DURATION,
                float(wait),
                _labels(
                    {
                        sc.EVENT_NAME: name,
                        sc.PROVIDER_NAME: provider,
                        sc.REQUEST_MODEL: model,
                        sc.ERROR_TYPE: error_type,
                    }
                ),
            )
        )
    return out


def _call_ended(
    event: CallEnded, guard: LabelGuard, provider: str | None, model: str | None
) -> list[Measurement]:
    base = {
        sc.OPERATION_NAME: guard(sc.OPERATION_NAME, operation_of(event)),
        sc.PROVIDER_NAME: provider,
        sc.REQUEST_MODEL: model,
        sc.RESPONSE_MODEL: guard(sc.RESPONSE_MODEL, getattr(event, "response_model", None)),
    }
    out = [
        Measurement(
            OPERATION_DURATION,
            event.elapsed,
            _labels({**base, sc.ERROR_TYPE: guard(sc.ERROR_TYPE, error_type_of(event))}),
        )
    ]
    for token_type, count in (
        (sc.TOKEN_TYPE_INPUT, event.input_tokens),
        (sc.TOKEN_TYPE_OUTPUT, event.output_tokens),
    ):
        if count is not None:
            out.append(
                Measurement(TOKEN_USAGE, count, _labels({**base, sc.TOKEN_TYPE: token_type}))
            )
    return out


def operation_of(event: Event) -> str:
    """The GenAI operation an event belongs to: its `operation` field, or "chat"."""
    operation = getattr(event, "operation", None)
    return operation if isinstance(operation, str) and operation else sc.OPERATION_CHAT


def error_type_of(event: Ended) -> str | None:
    """`error.type` of a call: `None` if it succeeded, else its last failure's kind.

    A call that failed without a classified failure (cancelled before any attempt came
    back) reports why it stopped, and `_OTHER` when not even that is known.
    """
    if event.ok:
        return None
    if event.kind is not None:
        return str(event.kind.value)
    if event.stop is not None:
        return str(event.stop.value)
    return sc.OTHER


def _labels(values: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}

"""The OpenTelemetry adapter: a span per call, a child span per attempt, and the metrics.

Needs only `opentelemetry-api`; without an SDK configured every span and instrument is
the API's no-op, so the hook costs next to nothing until the application sets one up.

Trace shape (names from `_semconv`, the one module that follows the GenAI conventions)::

    chat claude-…            CLIENT   the logical call: every attempt, wait and target
    ├── riprap.attempt       INTERNAL attempt 1, error.type=overloaded, status ERROR
    ├── (event) riprap.retry.scheduled   wait, retry_after, …
    └── riprap.attempt       INTERNAL attempt 2

A call with a fallback chain is still one tree, keyed by the events' `operation_id`: the
call span, then one `riprap.target` span per target tried (its provider, model, outcome),
each holding that target's attempts; `riprap.fallback.used` is an event on the call span::

    chat claude-…            CLIENT   riprap.target=openai:gpt-… (the one that served it)
    ├── riprap.target        INTERNAL anthropic claude-…, error.type=overloaded
    │   ├── riprap.attempt   INTERNAL …
    │   └── riprap.attempt   INTERNAL …
    └── riprap.target        INTERNAL openai gpt-…
        └── riprap.attempt   INTERNAL

A streamed call's spans end when the stream does (read out, failed, closed or dropped),
with or without a chain.

The call span takes the context that is current when the call starts as its parent, so
it nests under the application's own spans. Other events (retries, and the limiter,
breaker, budget, fallback and degrade events) become span events on the span of the
target (or call) they belong to; one reported after its call's end is counted in the
metrics only. Events of many calls arrive interleaved, from many threads and tasks;
spans are kept per logical call, dropped when it ends, and at most `max_open_calls` are
kept, so a call whose end is never reported cannot leak memory (its spans are ended,
marked `error.type=_OTHER`, when it is pushed out).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riprap.observe import _semconv as sc
from riprap.observe._bounded import RecentIds
from riprap.observe._catalog import check_positive, fields_of, operation_id_of
from riprap.observe._events import AttemptEnded, AttemptStarted, CallEnded, TargetEnded
from riprap.observe._metrics import (
    INSTRUMENTS,
    Kind,
    LabelGuard,
    error_type_of,
    measurements,
    operation_of,
)
from riprap.observe._redactor import DEFAULT_REDACTOR

if TYPE_CHECKING:
    from riprap.observe._events import Ended, Event
    from riprap.observe._redactor import Redactor

#: Calls whose spans are open at once. Calls end within their deadline (two minutes by
#: default); 10,000 open calls is far beyond any one process's concurrency, and bounds
#: what a call whose end is never reported can hold.
MAX_OPEN_CALLS = 10_000

#: Fields that every event has and the spans already say.
_COMMON = frozenset({"call_id", "operation_id", "provider", "model", "event_time"})


@dataclass(slots=True)
class _Span:
    """A call's or a target's span, and the attempt span open under it."""

    span: Any
    attempt: Any = None
    attempt_number: int = 0


@dataclass(slots=True)
class _Call:
    """One logical call: its root span and, in a fallback chain, a span per target."""

    root: _Span
    #: Open target spans by the target call's id (only calls with a fallback chain).
    targets: dict[str, _Span] = field(default_factory=dict)
    #: Targets whose end was reported: their late events go on the root span.
    ended: set[str] = field(default_factory=set)


class OtelHook:
    """Turns riprap's events into OpenTelemetry spans and metrics.

    `tracer_provider` and `meter_provider` default to the global ones. `traces=False` or
    `metrics=False` turns either half off. Every string attribute, span event attribute,
    status description and metric attribute goes through `redactor`.
    """

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        traces: bool = True,
        metrics: bool = True,
        redactor: Redactor = DEFAULT_REDACTOR,
        max_open_calls: int = MAX_OPEN_CALLS,
        label_limit: int = LabelGuard.DEFAULT_LIMIT,
    ) -> None:
        """Trace and measure through the given providers (default: the global ones)."""
        try:
            from opentelemetry import metrics as otel_metrics  # noqa: PLC0415 - optional
            from opentelemetry import trace  # noqa: PLC0415 - optional dependency
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "riprap.observe.OtelHook needs opentelemetry-api: pip install 'riprap[otel]'"
            ) from exc
        from riprap import __version__  # noqa: PLC0415 - riprap is imported by now

        self._trace = trace
        self.redactor = redactor
        self._guard = LabelGuard(
            redactor, limit=check_positive("OtelHook", "label_limit", label_limit)
        )
        self._max_open_calls = check_positive("OtelHook", "max_open_calls", max_open_calls)
        self._calls: OrderedDict[str, _Call] = OrderedDict()
        self._ended = RecentIds()
        self._lock = threading.Lock()
        self._tracer = (
            trace.get_tracer("riprap", __version__, tracer_provider=tracer_provider)
            if traces
            else None
        )
        self._instruments: dict[str, Any] = {}
        if metrics:
            meter = otel_metrics.get_meter("riprap", __version__, meter_provider=meter_provider)
            for spec in INSTRUMENTS:
                made: Any
                if spec.kind is Kind.COUNTER:
                    made = meter.create_counter(spec.name, spec.unit, spec.description)
                else:
                    made = meter.create_histogram(
                        spec.name,
                        spec.unit,
                        spec.description,
                        explicit_bucket_boundaries_advisory=spec.buckets,
                    )
                self._instruments[spec.name] = made

    def __call__(self, event: Event) -> None:
        """Record one event on the call's spans and in the metrics."""
        if self._tracer is not None:
            self._trace_event(event)
        if self._instruments:
            for m in measurements(event, self._guard):
                instrument = self._instruments[m.instrument.name]
                if m.instrument.kind is Kind.COUNTER:
                    instrument.add(m.value, m.labels)
                else:
                    instrument.record(m.value, m.labels)

    def __repr__(self) -> str:
        return f"OtelHook(traces={self._tracer is not None}, metrics={bool(self._instruments)})"

    # -- traces -----------------------------------------------------------------------

    def _trace_event(self, event: Event) -> None:
        operation = operation_id_of(event)
        call = self._call_of(event, operation)
        if call is None:
            return  # reported after its call's end: the call's span is gone
        if isinstance(event, CallEnded):
            self._call_ended(call, event, operation)
            return
        holder = self._holder(call, event, operation)
        if isinstance(event, AttemptStarted):
            self._end_attempt(holder, event.time, error="superseded")
            holder.attempt = self._start(
                sc.ATTEMPT_SPAN,
                event.time,
                parent=holder.span,
                kind=self._trace.SpanKind.INTERNAL,
                attributes={sc.ATTEMPT_NUMBER: event.attempt, sc.ATTEMPT_TIMEOUT: event.timeout},
            )
            holder.attempt_number = event.attempt
        elif isinstance(event, AttemptEnded):
            self._attempt_ended(holder, event)
        elif isinstance(event, TargetEnded) and holder is not call.root:
            call.targets.pop(event.call_id, None)
            call.ended.add(event.call_id)
            self._ended_span(holder, event)
        else:
            fields = fields_of(event, self.redactor)
            holder.span.add_event(
                event.name,
                attributes=_attributes({k: v for k, v in fields.items() if k not in _COMMON}),
                timestamp=_ns(event.time),
            )

    def _holder(self, call: _Call, event: Event, operation: str) -> _Span:
        """The span an event of `call` belongs under: its target's, or the root."""
        call_id = event.call_id
        if not call_id or call_id == operation or call_id in call.ended:
            return call.root
        target = call.targets.get(call_id)
        if target is None:
            model = None if event.model is None else self.redactor.text(event.model)
            target = call.targets[call_id] = _Span(
                self._start(
                    sc.TARGET_SPAN,
                    event.time,
                    parent=call.root.span,
                    kind=self._trace.SpanKind.INTERNAL,
                    attributes={
                        sc.PROVIDER_NAME: self.redactor.text(event.provider),
                        sc.REQUEST_MODEL: model,
                        sc.CALL_ID: call_id,
                    },
                )
            )
        return target

    def _call_of(self, event: Event, operation: str) -> _Call | None:
        with self._lock:
            call = self._calls.get(operation)
            if call is not None or operation in self._ended:
                return call
        name = operation_of(event)
        model = None if event.model is None else self.redactor.text(event.model)
        # A call reported only by its end (cancelled before any attempt) began `elapsed` ago.
        began = event.time - event.elapsed if isinstance(event, CallEnded) else event.time
        span = self._start(
            sc.span_name(name, model),
            began,
            parent=None,
            kind=self._trace.SpanKind.CLIENT,
            attributes={
                sc.OPERATION_NAME: name,
                sc.PROVIDER_NAME: self.redactor.text(event.provider),
                sc.REQUEST_MODEL: model,
                sc.CALL_ID: operation,
            },
        )
        call = _Call(root=_Span(span))
        with self._lock:
            self._calls[operation] = call
            evicted = []
            while len(self._calls) > self._max_open_calls:
                evicted.append(self._calls.popitem(last=False)[1])
        for old in evicted:
            self._abandon(old, event.time)
        return call

    def _attempt_ended(self, holder: _Span, event: AttemptEnded) -> None:
        span = holder.attempt
        if span is None or holder.attempt_number != event.attempt:
            self._end_attempt(holder, event.time, error="superseded")
            span = self._start(
                sc.ATTEMPT_SPAN,
                event.time - event.latency,
                parent=holder.span,
                kind=self._trace.SpanKind.INTERNAL,
                attributes={sc.ATTEMPT_NUMBER: event.attempt},
            )
        span.set_attributes(
            _attributes(
                {
                    sc.ERROR_TYPE: None if event.kind is None else event.kind.value,
                    sc.HTTP_STATUS_CODE: event.status,
                    sc.REQUEST_ID: self._text(event.request_id),
                    sc.RESPONSE_MODEL: self._text(event.response_model),
                    sc.USAGE_INPUT_TOKENS: event.input_tokens,
                    sc.USAGE_OUTPUT_TOKENS: event.output_tokens,
                }
            )
        )
        if event.kind is not None:
            span.set_status(self._error(self.redactor.text(event.error_message) or event.kind))
        span.end(end_time=_ns(event.time))
        holder.attempt = None

    def _call_ended(self, call: _Call, event: CallEnded, operation: str) -> None:
        with self._lock:
            self._calls.pop(operation, None)
        self._ended.add(operation)
        error = str(event.stop or sc.OTHER)
        for target in call.targets.values():  # a target whose end never came
            self._end_attempt(target, event.time, error=error)
            target.span.set_attribute(sc.ERROR_TYPE, error)
            target.span.end(end_time=_ns(event.time))
        call.targets.clear()
        if event.degraded:
            call.root.span.set_attribute(sc.DEGRADED, value=True)
        self._ended_span(call.root, event)

    def _ended_span(self, holder: _Span, event: Ended) -> None:
        """End a call's or a target's span with what its end reported."""
        self._end_attempt(holder, event.time, error=str(event.stop or sc.OTHER))
        finish = event.finish_reasons
        error_type = error_type_of(event)
        holder.span.set_attributes(
            _attributes(
                {
                    sc.ERROR_TYPE: error_type,
                    sc.RESPONSE_MODEL: self._text(event.response_model),
                    sc.RESPONSE_FINISH_REASONS: None if not finish else self.redactor.value(finish),
                    sc.USAGE_INPUT_TOKENS: event.input_tokens,
                    sc.USAGE_OUTPUT_TOKENS: event.output_tokens,
                    sc.ATTEMPTS: event.attempts,
                    sc.STOP: None if event.stop is None else event.stop.value,
                    sc.REQUEST_IDS: self.redactor.value(event.request_ids) or None,
                    sc.TARGET: self._text(event.target or None),
                }
            )
        )
        if not event.ok:
            holder.span.set_status(self._error(f"riprap: call failed: {error_type or sc.OTHER}"))
        holder.span.end(end_time=_ns(event.time))

    def _end_attempt(self, holder: _Span, at: float, *, error: str) -> None:
        # An attempt still open when the next begins or the call ends was interrupted.
        if holder.attempt is not None:
            holder.attempt.set_attribute(sc.ERROR_TYPE, error)
            holder.attempt.set_status(self._error(f"riprap: attempt interrupted: {error}"))
            holder.attempt.end(end_time=_ns(at))
            holder.attempt = None

    def _abandon(self, call: _Call, at: float) -> None:
        for held in (*call.targets.values(), call.root):
            self._end_attempt(held, at, error=sc.OTHER)
            held.span.set_attribute(sc.ERROR_TYPE, sc.OTHER)
            held.span.set_status(self._error("riprap: the call's end was never reported"))
            held.span.end(end_time=_ns(at))

    def _start(
        self, name: str, at: float, *, parent: Any, kind: Any, attributes: dict[str, Any]
    ) -> Any:
        assert self._tracer is not None  # noqa: S101 - only called when tracing is on
        context = None if parent is None else self._trace.set_span_in_context(parent)
        return self._tracer.start_span(
            name,
            context=context,
            kind=kind,
            attributes=_attributes(attributes),
            start_time=_ns(at),
        )

    def _error(self, description: str) -> Any:
        return self._trace.Status(self._trace.StatusCode.ERROR, description)

    def _text(self, value: object) -> str | None:
        return None if value is None else self.redactor.text(str(value))


def _attributes(values: dict[str, Any]) -> dict[str, Any]:
    """OpenTelemetry attributes: `None` dropped; only str, bool, int, float and tuples of them."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[key] = value
        elif isinstance(value, tuple) and value:
            out[key] = tuple(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)

"""Helpers for the observability tests: an OpenTelemetry SDK in memory, synthetic events."""

from __future__ import annotations

import enum
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import riprap
from riprap.observe import CallEnded, Event, OtelHook
from support import call_once

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from opentelemetry.sdk.trace import ReadableSpan

    from riprap.observe import Hook
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

PROVIDERS = ("anthropic", "openai")
MODELS = {"anthropic": "claude-sim", "openai": "gpt-sim"}


def call(
    provider: str,
    sim: Simulator,
    *,
    is_async: bool,
    hooks: Sequence[Hook],
    clock: FakeClock,
    **options: Any,
) -> tuple[Any, BaseException | None]:
    """One call through a wrapped real SDK client, with `hooks`, jitter fixed at 0."""

    def wrap(client: Any) -> Any:
        return riprap.wrap(client, hooks=hooks, clock=clock, random=lambda: 0.0, **options)

    return call_once(provider, sim, is_async=is_async, wrap=wrap)


@dataclass
class Otel:
    """An OtelHook over an in-memory SDK, and what it exported."""

    hook: OtelHook
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        """Every finished span, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        """The data points of the metric `name` (empty if it recorded nothing)."""
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [
            point
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def metric_names(self) -> set[str]:
        """Names of every metric that recorded something."""
        data = self.reader.get_metrics_data()
        if data is None:
            return set()
        return {
            m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        }


@contextmanager
def otel_sdk(**options: Any) -> Iterator[Otel]:
    """An OtelHook exporting to memory through the real OpenTelemetry SDK."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    hook = OtelHook(tracer_provider=tracer_provider, meter_provider=meter_provider, **options)
    try:
        yield Otel(hook, exporter, reader, tracer_provider)
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


class BreakerState(enum.StrEnum):
    """A stand-in for the breaker layer's states."""

    CLOSED = "closed"
    OPEN = "open"


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerOpened(Event):
    """A stand-in for an event another layer will emit: handled generically."""

    name: ClassVar[str] = "riprap.breaker.transition"
    to_state: BreakerState
    failure_ratio: float
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEndedWithContent(CallEnded):
    """CallEnded as it will be once the call layer fills content for hooks that ask."""

    input_text: str | None = None
    output_text: str | None = None


def base(call_id: str = "c1", *, model: str | None = "claude-sim", at: float = 1e9) -> Any:
    """The fields every synthetic event shares."""
    return {"call_id": call_id, "provider": "anthropic", "model": model, "time": at}

"""Per-call cost of riprap's observability adapters, beside the bare wrapper and the bare SDK.

Run: `.venv/bin/python bench/observe.py [--calls 2000] [--provider anthropic|openai]
[--log-level DEBUG|INFO]`

Three clients call the same fault-free simulator on 127.0.0.1, interleaved call by call
(the order rotates every round) so drift in the machine's load hits all alike:

- bare SDK: the official client;
- riprap.wrap: the default wrapper (its logging hook on, the "riprap" logger silent);
- all adapters: the stdlib logging hook writing JSON lines (`JsonFormatter`), the
  structlog hook (contextvars bound, JSON rendered), the OpenTelemetry hook on the real
  SDK (spans through a `BatchSpanProcessor`, metrics aggregated in memory), the
  Prometheus hook, and a `SuccessRateMonitor`. Output goes to /dev/null: the cost
  measured is riprap's and the libraries', not the disk's.

The table gives each contender's median and p99, and its median as a ratio of the bare
SDK's and of the bare wrapper's.

At `--log-level DEBUG` (the default) every event is formatted, the worst case; at INFO
a successful call's routine events are skipped as a production logger would.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from typing import TYPE_CHECKING, Any

import anthropic
import openai
import structlog
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

import riprap
from riprap.observe import (
    JsonFormatter,
    OtelHook,
    PrometheusHook,
    StructlogHook,
    SuccessRateMonitor,
)
from riprap.sim import Simulator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from opentelemetry.sdk.trace import ReadableSpan

    from riprap.observe import Hook


class _Discard(SpanExporter):
    """Accepts spans and drops them: the export's network cost is not riprap's."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        del spans
        return SpanExportResult.SUCCESS


def _sdk_client(provider: str, base_url: str) -> Any:
    if provider == "anthropic":
        return anthropic.Anthropic(api_key="sk-bench", base_url=base_url)
    return openai.OpenAI(api_key="sk-bench", base_url=f"{base_url}/v1")


def _call(provider: str, client: Any) -> None:
    messages = [{"role": "user", "content": "ping"}]
    if provider == "anthropic":
        client.messages.create(model="claude-haiku-4-5-20251001", max_tokens=8, messages=messages)
    else:
        client.chat.completions.create(model="gpt-sim", max_tokens=8, messages=messages)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Adapters:
    """Every adapter on, writing to /dev/null."""

    def __init__(self, level: int) -> None:
        self.devnull = open(os.devnull, "w")  # noqa: SIM115, PTH123 - closed in close()
        self.logger = logging.getLogger("riprap.bench")
        self.logger.setLevel(level)
        self.logger.propagate = False
        handler = logging.StreamHandler(self.devnull)
        handler.setFormatter(JsonFormatter())
        self.logger.addHandler(handler)
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(level),
            logger_factory=structlog.PrintLoggerFactory(file=self.devnull),
            cache_logger_on_first_use=True,
        )
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(_Discard()))
        self.meter_provider = MeterProvider(
            metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False
        )
        self.alerts: list[object] = []
        self.hooks: list[Hook] = [
            StructlogHook(),
            OtelHook(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider),
            PrometheusHook(registry=CollectorRegistry()),
            SuccessRateMonitor(self.alerts.append),
        ]

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger.handlers.clear()
        self.devnull.close()


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--provider", choices=("anthropic", "openai"), default="anthropic")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO"), default="DEBUG")
    args = parser.parse_args()
    adapters = _Adapters(getattr(logging, args.log_level))
    names = ("bare SDK", "riprap.wrap", "all adapters")
    times: dict[str, list[float]] = {name: [] for name in names}
    with Simulator() as sim:
        clients = {
            "bare SDK": _sdk_client(args.provider, sim.base_url),
            "riprap.wrap": riprap.wrap(_sdk_client(args.provider, sim.base_url)),
            "all adapters": riprap.wrap(
                _sdk_client(args.provider, sim.base_url),
                logger=adapters.logger,
                hooks=adapters.hooks,
            ),
        }
        try:
            for _ in range(50):  # warm up: connections, imports, caches
                for client in clients.values():
                    _call(args.provider, client)
            for i in range(args.calls):
                shift = i % len(names)
                for name in names[shift:] + names[:shift]:
                    started = time.perf_counter()
                    _call(args.provider, clients[name])
                    times[name].append(time.perf_counter() - started)
        finally:
            for client in clients.values():
                client.close()
            adapters.close()
    print(
        f"{args.calls} calls each, {args.provider} SDK, fault-free simulator, interleaved, "
        f"log level {args.log_level}"
    )
    print(
        f"{'contender':<13}  {'median ms':>9}  {'p99 ms':>7}  {'median vs bare':>14}  "
        f"{'x bare SDK':>10}  {'x riprap.wrap':>13}"
    )
    bare = statistics.median(times["bare SDK"])
    wrapped = statistics.median(times["riprap.wrap"])
    for name, values in times.items():
        median, p99 = statistics.median(values), _quantile(values, 0.99)
        print(
            f"{name:<13}  {1e3 * median:9.3f}  {1e3 * p99:7.3f}  {1e3 * (median - bare):+11.3f} ms"
            f"  {median / bare:10.2f}  {median / wrapped:13.2f}"
        )
    extra = statistics.median(times["all adapters"]) - statistics.median(times["riprap.wrap"])
    extra_p99 = _quantile(times["all adapters"], 0.99) - _quantile(times["riprap.wrap"], 0.99)
    print(
        f"adapters over the bare wrapper: median {1e3 * extra:+.3f} ms, "
        f"p99 {1e3 * extra_p99:+.3f} ms"
    )


if __name__ == "__main__":
    main()

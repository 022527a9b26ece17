"""The Prometheus adapter: the same metrics as the OpenTelemetry adapter, in prometheus_client.

Names are the ones OpenTelemetry's Prometheus exporter gives the OpenTelemetry metrics
(dots become underscores, a unit of seconds becomes a `_seconds` suffix, counters get
`_total`), so a dashboard works whichever way the numbers reach Prometheus:

    gen_ai_client_operation_duration_seconds   histogram  per call, retries and waits included
    gen_ai_client_token_usage                  histogram  per call, gen_ai_token_type=input|output
    riprap_attempt_duration_seconds            histogram  per attempt, error_type if it failed
    riprap_events_total                        counter    resilience events, by event_name
    riprap_wait_duration_seconds               histogram  waits riprap chose, by event_name

Labels are bounded: provider, model, event name, error kind and outcome; never a call or
request id, and at most `label_limit` distinct values per label (then `_OTHER`). A label
an event does not have is the empty string.

Multi-process mode (gunicorn, uWSGI, multiprocessing workers): prometheus_client keeps
each process's samples in files when `PROMETHEUS_MULTIPROC_DIR` names a directory.

1. Set `PROMETHEUS_MULTIPROC_DIR` to an empty directory in the environment of every
   worker before Python starts (before `prometheus_client` is imported), and empty it
   when the server restarts.
2. Use `PrometheusHook()` with the default registry in each worker, as usual.
3. Serve the scrape from a fresh registry that reads every process's files::

       from prometheus_client import CollectorRegistry, generate_latest, multiprocess
       registry = CollectorRegistry()
       multiprocess.MultiProcessCollector(registry)
       body = generate_latest(registry)

4. In gunicorn's `child_exit` server hook, call
   `prometheus_client.multiprocess.mark_process_dead(worker.pid)`.

riprap exports only counters and histograms, which sum across processes without any
`multiprocess_mode` choice (gauges would need one). `SuccessRateMonitor` sees one
process's calls; across processes, compute the rate from the histogram's `_count`
series instead (`error_type=""` are the calls that succeeded).
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from riprap.observe._catalog import check_positive
from riprap.observe._metrics import INSTRUMENTS, Instrument, Kind, LabelGuard, measurements
from riprap.observe._redactor import DEFAULT_REDACTOR

if TYPE_CHECKING:
    from riprap.observe._events import Event
    from riprap.observe._redactor import Redactor

#: One set of metric objects per registry: prometheus_client refuses to register a name
#: twice, and every wrapped client with a `PrometheusHook` must share them.
_BY_REGISTRY: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def prometheus_name(instrument: Instrument) -> str:
    """The metric's name in Prometheus, before prometheus_client adds `_total` to counters."""
    name = instrument.name.replace(".", "_")
    return f"{name}_seconds" if instrument.unit == "s" else name


def prometheus_label(label: str) -> str:
    """A label's name in Prometheus."""
    return label.replace(".", "_")


class PrometheusHook:
    """Counts riprap's events in prometheus_client metrics (default: the global registry)."""

    def __init__(
        self,
        *,
        registry: Any = None,
        redactor: Redactor = DEFAULT_REDACTOR,
        label_limit: int = LabelGuard.DEFAULT_LIMIT,
    ) -> None:
        """Register riprap's metrics in `registry`, or reuse them if they are there."""
        try:
            import prometheus_client  # noqa: PLC0415 - an optional dependency, imported when used
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "riprap.observe.PrometheusHook needs prometheus_client: "
                "pip install 'riprap[prometheus]'"
            ) from exc
        registry = prometheus_client.REGISTRY if registry is None else registry
        self.redactor = redactor
        limit = check_positive("PrometheusHook", "label_limit", label_limit)
        self._guard = LabelGuard(redactor, limit=limit)
        with _REGISTRY_LOCK:
            metrics = _BY_REGISTRY.get(registry)
            if metrics is None:
                metrics = {
                    spec.name: _make(prometheus_client, spec, registry) for spec in INSTRUMENTS
                }
                _BY_REGISTRY[registry] = metrics
        self._metrics = metrics

    def __call__(self, event: Event) -> None:
        """Record one event."""
        for m in measurements(event, self._guard):
            spec = m.instrument
            child = self._metrics[spec.name].labels(*(m.labels.get(k, "") for k in spec.labels))
            if spec.kind is Kind.COUNTER:
                child.inc(m.value)
            else:
                child.observe(m.value)

    def __repr__(self) -> str:
        return "PrometheusHook()"


def _make(prometheus_client: Any, spec: Instrument, registry: Any) -> Any:
    labels = [prometheus_label(label) for label in spec.labels]
    if spec.kind is Kind.COUNTER:
        return prometheus_client.Counter(
            prometheus_name(spec), spec.description, labels, registry=registry
        )
    return prometheus_client.Histogram(
        prometheus_name(spec),
        spec.description,
        labels,
        registry=registry,
        buckets=(*spec.buckets, float("inf")),
    )

"""Observability: typed events, and adapters that turn them into logs, traces and metrics.

Every adapter is a hook (`riprap.wrap(client, hooks=[...])`) that takes any `Event`,
by its stable name and its fields, and runs every string it exports through a
`Redactor`. The adapters with dependencies import them when made, never before::

    LoggingHook, JsonFormatter   stdlib logging, one JSON object per line  (no dependency)
    StructlogHook                structlog, per-call context bound          riprap[structlog]
    OtelHook                     OpenTelemetry spans and metrics (GenAI)    riprap[otel]
    PrometheusHook               prometheus_client metrics                  riprap[prometheus]
    SuccessRateMonitor           alerts when a scope's success rate falls   (no dependency)
"""

from __future__ import annotations

from riprap.observe._catalog import Severity
from riprap.observe._events import (
    AttemptEnded,
    AttemptStarted,
    BreakerChanged,
    BudgetReserved,
    BudgetSettled,
    CallDegraded,
    CallEnded,
    Event,
    FallbackUsed,
    Hook,
    LimiterWaited,
    OutputReasked,
    RetryScheduled,
    TargetEnded,
)
from riprap.observe._logging import JsonFormatter, LoggingHook
from riprap.observe._monitor import AlertState, RateAlert, RateSnapshot, SuccessRateMonitor
from riprap.observe._otel import OtelHook
from riprap.observe._prometheus import PrometheusHook
from riprap.observe._redactor import Redactor
from riprap.observe._structlog import StructlogHook

__all__ = [
    "AlertState",
    "AttemptEnded",
    "AttemptStarted",
    "BreakerChanged",
    "BudgetReserved",
    "BudgetSettled",
    "CallDegraded",
    "CallEnded",
    "Event",
    "FallbackUsed",
    "Hook",
    "JsonFormatter",
    "LimiterWaited",
    "LoggingHook",
    "OtelHook",
    "OutputReasked",
    "PrometheusHook",
    "RateAlert",
    "RateSnapshot",
    "Redactor",
    "RetryScheduled",
    "Severity",
    "StructlogHook",
    "SuccessRateMonitor",
    "TargetEnded",
]

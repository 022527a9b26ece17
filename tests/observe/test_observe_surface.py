"""riprap.observe's public surface, and what importing it costs."""

from __future__ import annotations

import subprocess
import sys

import riprap.observe

EXPECTED = {
    "AlertState", "AttemptEnded", "AttemptStarted", "BreakerChanged", "BudgetReserved",
    "BudgetSettled", "CallDegraded", "CallEnded", "Event", "FallbackUsed", "Hook",
    "LimiterWaited", "OutputReasked", "TargetEnded",
    "JsonFormatter", "LoggingHook", "OtelHook", "PrometheusHook", "RateAlert", "RateSnapshot",
    "Redactor", "RetryScheduled", "Severity", "StructlogHook", "SuccessRateMonitor",
}  # fmt: skip


def test_observe_exports_exactly_its_public_surface() -> None:
    """`riprap.observe.__all__` lists exactly the adapters and events, and each exists."""
    assert set(riprap.observe.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(riprap.observe, name), name


def test_importing_riprap_imports_no_adapter_dependency() -> None:
    """The adapters' libraries load only when an adapter is made, never on import."""
    heavy = {"opentelemetry", "prometheus_client", "structlog"}
    code = (
        "import sys, riprap, riprap.observe; "
        f"print(sorted({heavy!r} & {{m.split('.')[0] for m in sys.modules}}))"
    )
    out = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"

"""The canary: a planted API key leaves the process through no adapter, label, error or repr."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from observe_support import BreakerOpened, BreakerState, base, otel_sdk
from prometheus_client import CollectorRegistry, generate_latest
from structlog.testing import capture_logs

import riprap
from riprap.observe import (
    AttemptEnded,
    AttemptStarted,
    CallEnded,
    JsonFormatter,
    LoggingHook,
    PrometheusHook,
    RateAlert,
    Redactor,
    StructlogHook,
    SuccessRateMonitor,
)
from riprap.sim import Reply
from riprap.testing import EventLog
from support import create, make_client

if TYPE_CHECKING:
    from collections.abc import Sequence

    from observe_support import Otel

    from riprap.observe import Hook
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

#: Key-shaped (the builtin patterns know it) and not (only the client's own key list does).
CANARIES = ["sk-ant-CANARY-7f3a9c1e5b2d4f6a8c0e", "CANARY-plain-91c2e7d4b6a8"]


class Outputs:
    """Every adapter, each writing somewhere this test can read back as text."""

    def __init__(self, otel: Otel, redactor: Redactor | None = None) -> None:
        options: Any = {} if redactor is None else {"redactor": redactor}
        self.logger = logging.getLogger("riprap.test.canary")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.plain, self.json = io.StringIO(), io.StringIO()
        for stream, formatter in ((self.plain, None), (self.json, JsonFormatter(**options))):
            handler = logging.StreamHandler(stream)
            if formatter is not None:
                handler.setFormatter(formatter)
            self.logger.addHandler(handler)
        self.registry = CollectorRegistry()
        self.alerts: list[RateAlert] = []
        self.otel = otel
        self.hooks: Sequence[Hook] = [
            LoggingHook(logger=self.logger, **options),
            StructlogHook(**options),
            otel.hook,
            PrometheusHook(registry=self.registry, **options),
            SuccessRateMonitor(self.alerts.append, min_calls=1, **options),
        ]

    def texts(self, structlog_entries: list[Any]) -> dict[str, str]:
        """Everything the adapters exported, by where it went."""
        metrics = self.otel.reader.get_metrics_data()
        return {
            "stdlib log": self.plain.getvalue(),
            "json log": self.json.getvalue(),
            "structlog": repr(structlog_entries),
            "spans": "".join(s.to_json() for s in self.otel.spans()),
            "otel metrics": "" if metrics is None else metrics.to_json(),
            "prometheus": generate_latest(self.registry).decode(),
            "alerts": repr(self.alerts),
            "hook reprs": repr(self.hooks),
        }

    def close(self) -> None:
        """Detach the handlers."""
        self.logger.handlers.clear()


@pytest.mark.parametrize("canary", CANARIES, ids=["key-shaped", "plain"])
@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_a_planted_key_appears_nowhere(
    provider: str, canary: str, sim: Simulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The key, as the client's api_key and echoed in a 401, is in no log, span, label or error."""
    caplog.set_level(logging.DEBUG, logger="riprap")
    sim.script(
        Reply(status=500, message=f"upstream said: bad key {canary}"),
        Reply(status=401, message=f"Incorrect API key provided: {canary}"),
    )
    log = EventLog()
    with otel_sdk() as otel, capture_logs() as entries:
        outputs = Outputs(otel)
        client = riprap.wrap(
            make_client(provider, sim, is_async=False, api_key=canary),
            hooks=[*outputs.hooks, log],
            clock=clock,
            random=lambda: 0.0,
        )
        with pytest.raises(Exception) as info:  # noqa: PT011 - the SDK's AuthenticationError
            create(provider, client)
        places = outputs.texts(entries)
        outputs.close()
    error = info.value
    report = riprap.report_of(error)
    assert report is not None
    places |= {
        "riprap logger": caplog.text + "".join(str(vars(r)) for r in caplog.records),
        "events": repr(log.events),
        "error": str(error) + repr(error) + "".join(getattr(error, "__notes__", [])),
        "error body": repr(getattr(error, "body", None)),
        "report": repr(report) + report.summary(),
        "client repr": repr(client) + str(client),
    }
    leaked = [where for where, text in places.items() if canary in text]
    assert leaked == []
    # The adapters did see the failures: the canary test is not passing vacuously.
    assert "authentication" in places["spans"]
    assert "[redacted]" in places["json log"]
    assert "[redacted]" in places["spans"]


def test_every_adapter_applies_the_users_redactor_to_every_string() -> None:
    """A secret only the user's pattern knows, in any string or label, is removed everywhere."""
    secret = "ACME-7731-5520"  # noqa: S105 - the planted canary
    redactor = Redactor(patterns=(r"ACME-\d{4}-\d{4}",))
    fields = base(model=f"model-{secret}")
    events = [
        AttemptStarted(**fields, attempt=1, timeout=30.0),
        AttemptEnded(
            **fields, attempt=1, kind=riprap.Kind.SERVER_ERROR, status=500,
            request_id=f"req-{secret}", latency=0.2, error_message=f"echo {secret}",
        ),
        BreakerOpened(**fields, to_state=BreakerState.OPEN, failure_ratio=1.0, note=secret),
        CallEnded(
            **fields, ok=False, attempts=1, elapsed=0.2, kind=riprap.Kind.SERVER_ERROR,
            stop=riprap.Stop.NOT_RETRYABLE, request_ids=(f"req-{secret}",),
        ),
    ]  # fmt: skip
    with otel_sdk(redactor=redactor) as otel, capture_logs() as entries:
        outputs = Outputs(otel, redactor)
        for event in events:
            for hook in outputs.hooks:
                hook(event)
        places = outputs.texts(entries)
        outputs.close()
    leaked = [where for where, text in places.items() if secret in text]
    assert leaked == []
    assert "model-[redacted]" in places["prometheus"]
    assert json.loads(places["json log"].splitlines()[1])["error_message"] == "echo [redacted]"


def test_headers_and_user_patterns_echoed_by_a_server_leave_through_no_adapter(
    sim: Simulator, clock: FakeClock
) -> None:
    """A server echoing an Authorization header and a user pattern: no adapter exports either."""
    bearer, secret = "Zq9cT7uYv2Lw8RkP0sXe", "ACME-7731-5520"
    echoed = f"proxy saw Authorization: Bearer {bearer} for account {secret}"
    sim.script(Reply(status=500, message=echoed), Reply(status=400, message=echoed))
    redactor = Redactor(patterns=(r"ACME-\d{4}-\d{4}",))
    with otel_sdk(redactor=redactor) as otel, capture_logs() as entries:
        outputs = Outputs(otel, redactor)
        client = riprap.wrap(
            make_client("anthropic", sim, is_async=False),
            hooks=outputs.hooks,
            clock=clock,
            random=lambda: 0.0,
        )
        with pytest.raises(Exception, match="400"):
            create("anthropic", client)
        places = outputs.texts(entries)
        outputs.close()
    leaked = [where for where, text in places.items() if bearer in text or secret in text]
    assert leaked == []
    # The echoed message did reach the adapters, redacted.
    assert "Authorization: [redacted]" in places["json log"]
    assert "[redacted]" in places["spans"]

"""Prometheus: the same metrics as OpenTelemetry, under the exporter's names, bounded labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from observe_support import MODELS, PROVIDERS, base, call, otel_sdk
from prometheus_client import CollectorRegistry

from riprap.observe import AttemptEnded, PrometheusHook
from riprap.observe._metrics import INSTRUMENTS
from riprap.observe._prometheus import prometheus_name
from riprap.sim import Reply

if TYPE_CHECKING:
    from riprap.observe import Hook
    from riprap.sim import Simulator
    from riprap.testing import FakeClock


def samples(registry: CollectorRegistry) -> list[tuple[str, dict[str, str], float]]:
    """Every sample in `registry`."""
    return [(s.name, s.labels, s.value) for m in registry.collect() for s in m.samples]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_then_success_is_counted(provider: str, sim: Simulator, clock: FakeClock) -> None:
    """One retried call: one retry event, two attempts (one failed), one call, its tokens."""
    sim.script(Reply(status=500), Reply(usage=(11, 7)))
    registry = CollectorRegistry()
    call(provider, sim, is_async=False, hooks=[PrometheusHook(registry=registry)], clock=clock)
    model = MODELS[provider]
    get = registry.get_sample_value
    retry = {
        "event_name": "riprap.retry.scheduled",
        "gen_ai_provider_name": provider,
        "gen_ai_request_model": model,
        "error_type": "server_error",
        "riprap_outcome": "",
    }
    assert get("riprap_events_total", retry) == 1
    call_labels = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": provider,
        "gen_ai_request_model": model,
        "gen_ai_response_model": model,
    }
    assert (
        get("gen_ai_client_operation_duration_seconds_count", {**call_labels, "error_type": ""})
        == 1
    )
    tokens = {**call_labels, "gen_ai_token_type": "input"}
    assert get("gen_ai_client_token_usage_sum", tokens) == 11
    assert get("gen_ai_client_token_usage_sum", {**tokens, "gen_ai_token_type": "output"}) == 7
    attempt = {"gen_ai_provider_name": provider, "gen_ai_request_model": model}
    assert (
        get("riprap_attempt_duration_seconds_count", {**attempt, "error_type": "server_error"}) == 1
    )
    assert get("riprap_attempt_duration_seconds_count", {**attempt, "error_type": ""}) == 1


def test_labels_never_hold_call_or_request_ids(sim: Simulator, clock: FakeClock) -> None:
    """No label value is a call id or a request id: series stay bounded whatever the traffic."""
    sim.script(Reply(status=529), Reply(status=529), Reply())
    registry = CollectorRegistry()
    from riprap.testing import EventLog  # noqa: PLC0415 - only this test looks at the ids

    log = EventLog()
    call(
        "anthropic",
        sim,
        is_async=False,
        hooks=[PrometheusHook(registry=registry), log],
        clock=clock,
    )
    ids = {e.call_id for e in log.events} | {
        e.request_id for e in log.of(AttemptEnded) if e.request_id
    }
    assert len(ids) == 4
    values = {v for _, labels, _ in samples(registry) for v in labels.values()}
    assert ids.isdisjoint(values)


def test_distinct_models_are_capped() -> None:
    """Past the label limit, new model names are counted as `_OTHER`, not as new series."""
    registry = CollectorRegistry()
    hook = PrometheusHook(registry=registry, label_limit=3)
    for i in range(10):
        hook(
            AttemptEnded(
                **base(f"c{i}", model=f"model-{i}"),
                attempt=1,
                kind=None,
                status=None,
                request_id=None,
                latency=0.1,
            )
        )
    models = {
        labels["gen_ai_request_model"]
        for name, labels, _ in samples(registry)
        if name == "riprap_attempt_duration_seconds_count"
    }
    assert models == {"model-0", "model-1", "model-2", "_OTHER"}


def test_hooks_on_one_registry_share_its_metrics() -> None:
    """Two wrapped clients with a PrometheusHook each do not collide in the registry."""
    registry = CollectorRegistry()
    first, second = PrometheusHook(registry=registry), PrometheusHook(registry=registry)
    ended = AttemptEnded(**base(), attempt=1, kind=None, status=None, request_id=None, latency=0.5)
    first(ended)
    second(ended)
    count = registry.get_sample_value(
        "riprap_attempt_duration_seconds_count",
        {
            "gen_ai_provider_name": "anthropic",
            "gen_ai_request_model": "claude-sim",
            "error_type": "",
        },
    )
    assert count == 2


def test_prometheus_and_opentelemetry_export_the_same_metrics(
    sim: Simulator, clock: FakeClock
) -> None:
    """Every instrument exists in both, under the names OTel's Prometheus exporter would use."""
    sim.script(Reply(status=529), Reply())
    registry = CollectorRegistry()
    with otel_sdk() as otel:
        hooks: list[Hook] = [otel.hook, PrometheusHook(registry=registry)]
        call("anthropic", sim, is_async=False, hooks=hooks, clock=clock)
        otel_names = otel.metric_names()
    prom_names = {m.name for m in registry.collect()}
    assert otel_names == {i.name for i in INSTRUMENTS}
    assert prom_names == {prometheus_name(i).removesuffix("_total") for i in INSTRUMENTS}
    assert "gen_ai_client_operation_duration_seconds" in prom_names
    assert "riprap_events" in prom_names  # exposed as riprap_events_total

"""OpenTelemetry: span trees and GenAI attributes of real SDK calls, via in-memory exporters."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from observe_support import (
    MODELS,
    PROVIDERS,
    BreakerOpened,
    BreakerState,
    base,
    call,
    otel_sdk,
)
from opentelemetry.trace import SpanKind, StatusCode

import riprap
from riprap.errors import ConfigError
from riprap.observe import AttemptStarted, CallEnded, LimiterWaited, OtelHook
from riprap.sim import Reply
from support import create, make_client

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

    from riprap.sim import Simulator
    from riprap.testing import FakeClock

BOTH = pytest.mark.parametrize("provider", PROVIDERS)
MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])


def attrs(span: ReadableSpan) -> dict[str, Any]:
    """A span's attributes, as a plain dict."""
    return dict(span.attributes or {})


def tree(spans: list[ReadableSpan]) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The one call span and its attempt children, in attempt order."""
    calls = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert len(calls) == 1
    root = calls[0]
    assert root.context is not None
    children = [
        s for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id
    ]
    assert len(children) == len(spans) - 1
    return root, sorted(children, key=lambda s: attrs(s)["riprap.attempt.number"])


@MODES
@BOTH
def test_success_is_one_call_span_with_one_attempt(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A successful call is a CLIENT span `chat <model>` with GenAI attributes and one child."""
    with otel_sdk() as otel:
        _, error = call(provider, sim, is_async=is_async, hooks=[otel.hook], clock=clock)
        assert error is None
        root, attempts = tree(otel.spans())
    model = MODELS[provider]
    assert root.name == f"chat {model}"
    attributes = attrs(root)
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == provider
    assert attributes["gen_ai.request.model"] == model
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["riprap.attempts"] == 1
    assert "error.type" not in attributes
    assert root.status.status_code is StatusCode.UNSET
    assert [a.name for a in attempts] == ["riprap.attempt"]
    assert attempts[0].kind is SpanKind.INTERNAL
    assert attempts[0].status.status_code is StatusCode.UNSET


@MODES
@BOTH
def test_retry_then_success_has_a_failed_attempt_and_a_retry_event(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A retried call shows the failed attempt (error.type, status code) and the retry's wait."""
    sim.script(Reply(status=529 if provider == "anthropic" else 503), Reply())
    with otel_sdk() as otel:
        _, error = call(provider, sim, is_async=is_async, hooks=[otel.hook], clock=clock)
        assert error is None
        root, attempts = tree(otel.spans())
        events = otel.points("riprap.events")
        waits = otel.points("riprap.wait.duration")
        attempt_durations = otel.points("riprap.attempt.duration")
    kind = "overloaded" if provider == "anthropic" else "server_error"
    assert root.status.status_code is StatusCode.UNSET
    assert root.attributes is not None
    assert root.attributes["riprap.attempts"] == 2
    first, second = attempts
    assert first.status.status_code is StatusCode.ERROR
    assert first.attributes is not None
    assert first.attributes["error.type"] == kind
    assert first.attributes["http.response.status_code"] == (
        529 if provider == "anthropic" else 503
    )
    assert "error.type" not in (second.attributes or {})
    [retry] = root.events
    assert retry.name == "riprap.retry.scheduled"
    assert retry.attributes is not None
    assert retry.attributes["kind"] == kind
    assert retry.attributes["attempt"] == 1
    assert "wait" in retry.attributes
    # The waits are FakeClock jumps: the second attempt starts after the first ends.
    assert second.start_time is not None
    assert first.end_time is not None
    assert second.start_time >= first.end_time
    [count] = events
    assert count.value == 1
    assert dict(count.attributes) == {
        "event.name": "riprap.retry.scheduled",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": MODELS[provider],
        "error.type": kind,
    }
    assert sum(p.count for p in waits) == 1
    assert sorted(p.attributes.get("error.type", "") for p in attempt_durations) == ["", kind]


@MODES
@BOTH
def test_failure_marks_the_call_span_as_an_error(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A call that raised is an ERROR span with error.type, and its duration metric says so too."""
    sim.script(Reply(status=400))
    with otel_sdk() as otel:
        _, error = call(provider, sim, is_async=is_async, hooks=[otel.hook], clock=clock)
        assert error is not None
        root, [attempt] = tree(otel.spans())
        [duration] = otel.points("gen_ai.client.operation.duration")
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes is not None
    assert root.attributes["error.type"] == "invalid_request"
    assert root.attributes["riprap.stop"] == "not_retryable"
    assert attempt.status.status_code is StatusCode.ERROR
    assert duration.attributes["error.type"] == "invalid_request"
    assert duration.count == 1


@BOTH
def test_metrics_follow_the_genai_conventions(
    provider: str, sim: Simulator, clock: FakeClock
) -> None:
    """Duration and token usage carry the GenAI metric names, units, attributes and buckets."""
    with otel_sdk() as otel:
        call(provider, sim, is_async=False, hooks=[otel.hook], clock=clock)
        [duration] = otel.points("gen_ai.client.operation.duration")
        tokens = otel.points("gen_ai.client.token.usage")
        names = otel.metric_names()
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": MODELS[provider],
        # The simulator answers as the model asked for, as the real APIs do.
        "gen_ai.response.model": MODELS[provider],
    }
    assert duration.explicit_bounds[0] == 0.01
    assert duration.explicit_bounds[-1] == 81.92
    assert sorted(p.attributes["gen_ai.token.type"] for p in tokens) == ["input", "output"]
    assert names == {
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "riprap.attempt.duration",
    }


def test_the_call_span_nests_under_the_callers_span(sim: Simulator, clock: FakeClock) -> None:
    """A call made inside the application's own span becomes that span's child."""
    with otel_sdk() as otel:
        tracer = otel.tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("handle request") as outer:
            call("anthropic", sim, is_async=False, hooks=[otel.hook], clock=clock)
        spans = {s.name: s for s in otel.spans()}
    root = spans["chat claude-sim"]
    assert root.parent is not None
    assert root.parent.span_id == outer.get_span_context().span_id


def test_concurrent_calls_get_separate_trees(sim: Simulator, clock: FakeClock) -> None:
    """Interleaved async calls each get their own call span and attempts; no state is left."""
    sim.script(*[Reply(status=529), Reply()] * 3)

    async def many(hook: OtelHook) -> None:
        client = riprap.wrap(
            make_client("anthropic", sim, is_async=True), hooks=[hook], clock=clock
        )
        try:
            await asyncio.gather(*(create("anthropic", client) for _ in range(6)))
        finally:
            await client.close()

    with otel_sdk() as otel:
        asyncio.run(many(otel.hook))
        spans = otel.spans()
        assert otel.hook._calls == {}
    roots = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert len(roots) == 6
    assert len({r.context.trace_id for r in roots if r.context}) == 6
    for root in roots:
        assert root.context is not None
        children = [s for s in spans if s.parent and s.parent.span_id == root.context.span_id]
        assert len(children) == root.attributes["riprap.attempts"]  # type: ignore[index]


def test_open_calls_are_bounded() -> None:
    """Calls whose end never comes are ended and dropped once more than the bound are open."""
    with otel_sdk(max_open_calls=2) as otel:
        for i in range(3):
            otel.hook(AttemptStarted(**base(f"c{i}", at=1e9 + i), attempt=1, timeout=30.0))
        assert list(otel.hook._calls) == ["c1", "c2"]
        ended = otel.spans()
    assert [s.name for s in ended] == ["riprap.attempt", "chat claude-sim"]
    assert all(s.attributes and s.attributes["error.type"] == "_OTHER" for s in ended)
    assert ended[1].attributes is not None
    assert ended[1].attributes["riprap.call_id"] == "c0"


def test_other_layers_events_become_span_events_and_counts() -> None:
    """An event the adapter has never heard of is a span event and a count, its enum an outcome."""
    with otel_sdk() as otel:
        otel.hook(AttemptStarted(**base(), attempt=1, timeout=30.0))
        otel.hook(BreakerOpened(**base(), to_state=BreakerState.OPEN, failure_ratio=0.6))
        otel.hook(LimiterWaited(**base(), attempt=1, wait=1.5, scope="anthropic:claude-sim:k"))
        calls = otel.hook._calls
        [span_events] = [call.root.span.events for call in calls.values()]
        [count_open, count_wait] = sorted(
            otel.points("riprap.events"), key=lambda p: p.attributes["event.name"]
        )
        [wait] = otel.points("riprap.wait.duration")
    assert [e.name for e in span_events] == ["riprap.breaker.transition", "riprap.limiter.waited"]
    assert dict(span_events[0].attributes) == {
        "to_state": "open",
        "failure_ratio": 0.6,
        "note": "",
    }
    assert count_open.attributes["riprap.outcome"] == "open"
    assert count_wait.attributes["event.name"] == "riprap.limiter.waited"
    assert wait.sum == 1.5


def test_without_an_sdk_the_hook_is_a_no_op(sim: Simulator, clock: FakeClock) -> None:
    """With only the API installed (global no-op providers), calls work and nothing is kept."""
    hook = OtelHook()
    value, error = call("anthropic", sim, is_async=False, hooks=[hook], clock=clock)
    assert error is None
    assert value is not None
    assert hook._calls == {}


def test_traces_and_metrics_can_be_turned_off(sim: Simulator, clock: FakeClock) -> None:
    """`traces=False` exports no spans; `metrics=False` records no metric."""
    with otel_sdk(traces=False) as otel:
        call("anthropic", sim, is_async=False, hooks=[otel.hook], clock=clock)
        assert otel.spans() == []
        assert otel.points("gen_ai.client.operation.duration") != []
    with otel_sdk(metrics=False) as otel:
        call("anthropic", sim, is_async=False, hooks=[otel.hook], clock=clock)
        assert otel.spans() != []
        assert otel.metric_names() == set()


def test_otel_hook_is_ready_for_response_model_and_finish_reasons() -> None:
    """Once the call layer reports them, response model and finish reasons reach the span."""
    from dataclasses import dataclass  # noqa: PLC0415 - a one-off event shape for this test
    from typing import ClassVar  # noqa: PLC0415

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Ended(CallEnded):
        name: ClassVar[str] = CallEnded.name
        response_model: str | None = None
        finish_reasons: tuple[str, ...] = ()

    fields: Any = {"ok": True, "attempts": 1, "elapsed": 1.0, "kind": None, "stop": None}
    with otel_sdk() as otel:
        otel.hook(AttemptStarted(**base(), attempt=1, timeout=30.0))
        otel.hook(
            Ended(
                **base(),
                **fields,
                request_ids=(),
                response_model="claude-sim-2025",
                finish_reasons=("end_turn",),
            )
        )
        root = next(s for s in otel.spans() if s.kind is SpanKind.CLIENT)
        [duration] = otel.points("gen_ai.client.operation.duration")
    assert root.attributes is not None
    assert root.attributes["gen_ai.response.model"] == "claude-sim-2025"
    assert root.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert duration.attributes["gen_ai.response.model"] == "claude-sim-2025"


def test_an_event_after_the_calls_end_opens_no_span() -> None:
    """A late event (a budget settled after the call, say) is counted, but opens no new span."""
    fields: Any = {"ok": True, "attempts": 0, "elapsed": 0.5, "kind": None, "stop": None}
    with otel_sdk() as otel:
        otel.hook(CallEnded(**base(), **fields, request_ids=()))
        otel.hook(LimiterWaited(**base(), attempt=1, wait=0.25, scope="anthropic:claude-sim:k"))
        assert otel.hook._calls == {}
        [root] = otel.spans()
        [late] = otel.points("riprap.events")
    assert root.name == "chat claude-sim"
    assert root.end_time is not None
    assert root.start_time is not None
    assert root.end_time - root.start_time == 500_000_000
    assert late.attributes["event.name"] == "riprap.limiter.waited"


@pytest.mark.parametrize("option", ["max_open_calls", "label_limit"])
def test_bounds_must_be_positive(option: str) -> None:
    """A bound that is not a positive int is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=f"OtelHook.{option}: 0 "):
        OtelHook(**{option: 0})  # type: ignore[arg-type]


def stream(
    provider: str, sim: Simulator, *, is_async: bool, hook: OtelHook, clock: FakeClock
) -> int:
    """Stream one call to its end through a wrapped client; the number of events received."""
    kwargs: dict[str, Any] = {
        "model": MODELS[provider],
        "max_tokens": 60,
        "messages": [{"role": "user", "content": "Tell me a story, take 7."}],
        "stream": True,
    }
    if provider == "openai":
        kwargs["stream_options"] = {"include_usage": True}

    def endpoint(client: Any) -> Any:
        return client.messages if provider == "anthropic" else client.chat.completions

    def wrapped() -> Any:
        raw = make_client(provider, sim, is_async=is_async)
        return riprap.wrap(raw, hooks=[hook], clock=clock, random=lambda: 0.0)

    if not is_async:
        return len(list(endpoint(wrapped()).create(**kwargs)))

    async def go() -> int:
        client = wrapped()
        try:
            return len([e async for e in await endpoint(client).create(**kwargs)])
        finally:
            await client.close()

    return asyncio.run(go())


@MODES
@BOTH
def test_a_stream_retried_before_its_first_event_is_one_call(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A stream that failed once before it began: one call span, a failed and a good attempt."""
    sim.script(Reply(status=529), Reply())
    with otel_sdk() as otel:
        assert stream(provider, sim, is_async=is_async, hook=otel.hook, clock=clock) > 0
        root, [first, second] = tree(otel.spans())
    assert root.status.status_code is StatusCode.UNSET
    assert attrs(root)["riprap.attempts"] == 2
    assert attrs(root)["gen_ai.usage.output_tokens"] > 0
    assert attrs(first)["error.type"] == "overloaded"
    assert "error.type" not in attrs(second)


@MODES
def test_a_resumed_anthropic_stream_is_one_call(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A stream broken mid-way and resumed is one call span whose first attempt failed."""
    sim.script(Reply(stream_error_after=5), Reply())
    with otel_sdk() as otel:
        stream("anthropic", sim, is_async=is_async, hook=otel.hook, clock=clock)
        root, [first, second] = tree(otel.spans())
        [duration] = otel.points("gen_ai.client.operation.duration")
    assert first.status.status_code is StatusCode.ERROR
    assert second.status.status_code is StatusCode.UNSET
    assert root.status.status_code is StatusCode.UNSET
    assert "error.type" not in duration.attributes


@MODES
@BOTH
def test_a_stream_that_succeeds_is_one_call_span_with_one_attempt(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A fault-free stream: one CLIENT span with usage, ended when the stream ended."""
    with otel_sdk() as otel:
        assert stream(provider, sim, is_async=is_async, hook=otel.hook, clock=clock) > 0
        root, [attempt] = tree(otel.spans())
        [duration] = otel.points("gen_ai.client.operation.duration")
    assert root.name == f"chat {MODELS[provider]}"
    assert root.status.status_code is StatusCode.UNSET
    assert attrs(root)["riprap.attempts"] == 1
    assert attrs(root)["gen_ai.usage.output_tokens"] > 0
    assert attempt.status.status_code is StatusCode.UNSET
    assert "error.type" not in duration.attributes


@MODES
@BOTH
def test_a_stream_that_fails_is_an_error_span(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A stream refused with 400 before its first event: an ERROR call span, error.type set."""
    sim.script(Reply(status=400))
    with otel_sdk() as otel:
        with pytest.raises(Exception, match="400"):
            stream(provider, sim, is_async=is_async, hook=otel.hook, clock=clock)
        root, [attempt] = tree(otel.spans())
        [duration] = otel.points("gen_ai.client.operation.duration")
    assert root.status.status_code is StatusCode.ERROR
    assert attrs(root)["error.type"] == "invalid_request"
    assert attrs(attempt)["error.type"] == "invalid_request"
    assert duration.attributes["error.type"] == "invalid_request"

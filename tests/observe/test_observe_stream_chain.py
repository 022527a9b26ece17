"""A streamed call through a fallback chain is one logical call, as a plain one is.

Real SDK clients on the simulator, the OpenTelemetry SDK's in-memory exporters: one root
span per stream with a span per target and the attempts beneath, one `CallEnded` when
the stream ends (read to its end, failed everywhere, closed early or dropped), one
operation in the metrics and the monitor.
"""

from __future__ import annotations

import asyncio
import gc
from typing import TYPE_CHECKING, Any

import pytest
from observe_support import otel_sdk
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

import riprap
from riprap.observe import (
    AttemptStarted,
    CallEnded,
    PrometheusHook,
    RateAlert,
    SuccessRateMonitor,
    TargetEnded,
)
from riprap.sim import Outage, Reply
from riprap.testing import EventLog
from support import make_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.sdk.trace import ReadableSpan

    from riprap.sim import Simulator
    from riprap.testing import FakeClock

MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
BOTH = pytest.mark.parametrize("provider", ["anthropic", "openai"])
#: Two attempts per target: a failing target shows a retry before the move.
FAST = riprap.Retry(max_attempts=2)
PRIMARY = {"anthropic": "claude-a", "openai": "gpt-a"}
FALLBACK = {"anthropic": "claude-b", "openai": "gpt-b"}
#: What each provider's outage answers, and the kind riprap makes of it.
OUTAGE = {"anthropic": (529, "overloaded"), "openai": (503, "server_error")}


def down(model: str, status: int) -> Outage:
    """`model` answers `status` to every request."""
    return Outage(start=0, model=model, faults={status: 1.0})


def request(provider: str) -> dict[str, Any]:
    """A streamed request to `provider`'s primary model (OpenAI asked to report usage)."""
    kwargs: dict[str, Any] = {
        "model": PRIMARY[provider],
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": True,
    }
    if provider == "anthropic":
        return {**kwargs, "max_tokens": 32}
    return {**kwargs, "max_completion_tokens": 32, "stream_options": {"include_usage": True}}


def endpoint(provider: str, client: Any) -> Any:
    """The chat endpoint of a wrapped client of `provider`."""
    return client.messages if provider == "anthropic" else client.chat.completions


def stream(
    provider: str,
    sim: Simulator,
    clock: FakeClock,
    *,
    is_async: bool,
    hooks: list[Any],
    read: Callable[[Any], Any] | None = None,
    other: str | None = None,
    **options: Any,
) -> Any:
    """Open a stream on a wrapped `provider` client and `read` it (default: every event).

    The fallback is `provider`'s second model, or with `other` a `Target` of that
    provider. `read` gets the stream and returns what the test wants (awaitable if async).
    """
    kwargs = request(provider)
    settings: dict[str, Any] = {
        "hooks": hooks, "clock": clock, "random": lambda: 0.0, "retry": FAST,
        "validate": False, **options,
    }  # fmt: skip

    def chain(*, is_async: bool) -> tuple[list[Any], Any]:
        if other is None:
            return [FALLBACK[provider]], None
        second = make_client(other, sim, is_async=is_async)
        return [riprap.Target(client=second, model=FALLBACK[other])], second

    if not is_async:
        fallbacks, _ = chain(is_async=False)
        settings.setdefault("fallbacks", fallbacks)
        client = riprap.wrap(make_client(provider, sim, is_async=False), **settings)
        opened = endpoint(provider, client).create(**kwargs)
        return list(opened) if read is None else read(opened)

    async def go() -> Any:
        fallbacks, second = chain(is_async=True)
        settings.setdefault("fallbacks", fallbacks)
        try:
            async with riprap.wrap(make_client(provider, sim, is_async=True), **settings) as c:
                opened = await endpoint(provider, c).create(**kwargs)
                if read is None:
                    return [e async for e in opened]
                return await read(opened)
        finally:
            if second is not None:
                await second.close()

    return asyncio.run(go())


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    """`parent`'s child spans, in start order."""
    assert parent.context is not None
    found = [
        s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]
    return sorted(found, key=lambda s: s.start_time or 0)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    """A span's attributes as a plain dict."""
    return dict(span.attributes or {})


def root_of(spans: list[ReadableSpan]) -> ReadableSpan:
    """The one CLIENT span, which has no parent."""
    [root] = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert root.parent is None
    return root


def one_operation(log: EventLog) -> CallEnded:
    """The one `CallEnded`; asserts every event carries its id as `operation_id`."""
    [ended] = log.of(CallEnded)
    assert ended.operation_id == ended.call_id
    assert {e.operation_id for e in log.events} == {ended.call_id}
    assert log.events[-1] is ended  # nothing of the call is reported after its end
    return ended


@MODES
@BOTH
def test_a_streamed_fallback_is_one_call_span_with_a_span_per_target(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Primary down, fallback streams: one CLIENT root, two target spans, attempts beneath."""
    status, kind = OUTAGE[provider]
    sim.outages = [down(PRIMARY[provider], status)]
    log = EventLog()
    with otel_sdk() as otel:
        events = stream(provider, sim, clock, is_async=is_async, hooks=[otel.hook, log])
        spans = otel.spans()
        [duration] = otel.points("gen_ai.client.operation.duration")
        assert otel.hook._calls == {}  # every span of the call was ended
    assert events
    root = root_of(spans)
    assert root.name == f"chat {PRIMARY[provider]}"
    assert root.status.status_code is StatusCode.UNSET
    assert attrs(root)["riprap.attempts"] == 3
    assert attrs(root)["riprap.target"] == f"{provider}:{FALLBACK[provider]}"
    assert attrs(root)["gen_ai.usage.output_tokens"] > 0
    assert "error.type" not in attrs(root)
    assert [e.name for e in root.events] == ["riprap.fallback.used"]
    first, second = children(spans, root)
    assert (first.name, second.name) == ("riprap.target", "riprap.target")
    assert attrs(first)["gen_ai.request.model"] == PRIMARY[provider]
    assert attrs(first)["error.type"] == kind
    assert first.status.status_code is StatusCode.ERROR
    assert attrs(second)["gen_ai.request.model"] == FALLBACK[provider]
    assert second.status.status_code is StatusCode.UNSET
    assert [s.name for s in children(spans, first)] == ["riprap.attempt"] * 2
    assert [e.name for e in first.events] == ["riprap.retry.scheduled"]
    [served] = children(spans, second)
    assert "error.type" not in attrs(served)
    assert len(spans) == 1 + 2 + 3
    assert duration.count == 1
    assert duration.attributes["gen_ai.request.model"] == PRIMARY[provider]
    assert "error.type" not in duration.attributes
    ended = one_operation(log)
    assert (ended.ok, ended.attempts, ended.stop) == (True, 3, None)
    assert ended.target == f"{provider}:{FALLBACK[provider]}"
    assert [(t.ok, t.model) for t in log.of(TargetEnded)] == [
        (False, PRIMARY[provider]),
        (True, FALLBACK[provider]),
    ]


@MODES
@pytest.mark.parametrize(("provider", "other"), [("anthropic", "openai"), ("openai", "anthropic")])
def test_a_stream_served_by_the_other_provider_is_one_call(
    provider: str, other: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Across providers: the root is the caller's provider, the serving target the other's."""
    status, _ = OUTAGE[provider]
    sim.outages = [down(PRIMARY[provider], status)]
    log = EventLog()
    with otel_sdk() as otel:
        stream(provider, sim, clock, is_async=is_async, hooks=[otel.hook, log], other=other)
        spans = otel.spans()
        [duration] = otel.points("gen_ai.client.operation.duration")
    root = root_of(spans)
    assert attrs(root)["gen_ai.provider.name"] == provider
    assert attrs(root)["riprap.target"] == f"{other}:{FALLBACK[other]}"
    assert root.status.status_code is StatusCode.UNSET
    first, second = children(spans, root)
    assert (attrs(first)["gen_ai.provider.name"], attrs(first)["gen_ai.request.model"]) == (
        provider,
        PRIMARY[provider],
    )
    assert (attrs(second)["gen_ai.provider.name"], attrs(second)["gen_ai.request.model"]) == (
        other,
        FALLBACK[other],
    )
    assert [s.name for s in children(spans, second)] == ["riprap.attempt"]
    assert duration.count == 1
    assert duration.attributes["gen_ai.provider.name"] == provider
    ended = one_operation(log)
    assert (ended.ok, ended.provider, ended.attempts) == (True, provider, 3)
    assert [t.provider for t in log.of(TargetEnded)] == [provider, other]


@MODES
def test_a_stream_no_target_could_open_is_one_failed_call(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Every target down: `create` raises, one ERROR root, each target span failed."""
    sim.outages = [down("claude-a", 529), down("claude-b", 529)]
    log = EventLog()
    alerts: list[RateAlert] = []
    monitor = SuccessRateMonitor(alerts.append, min_calls=1, clock=clock)
    with otel_sdk() as otel:
        with pytest.raises(riprap.AllTargetsFailedError):
            stream("anthropic", sim, clock, is_async=is_async, hooks=[otel.hook, log, monitor])
        spans = otel.spans()
        [duration] = otel.points("gen_ai.client.operation.duration")
        assert otel.hook._calls == {}
    root = root_of(spans)
    assert root.status.status_code is StatusCode.ERROR
    assert attrs(root)["error.type"] == "overloaded"
    assert attrs(root)["riprap.attempts"] == 4
    targets = children(spans, root)
    assert [t.status.status_code for t in targets] == [StatusCode.ERROR] * 2
    assert [len(children(spans, t)) for t in targets] == [2, 2]
    assert duration.attributes["error.type"] == "overloaded"
    ended = one_operation(log)
    assert (ended.ok, ended.kind, ended.stop) == (
        False,
        riprap.Kind.OVERLOADED,
        riprap.Stop.MAX_ATTEMPTS,
    )
    assert [t.ok for t in log.of(TargetEnded)] == [False, False]
    # The monitor counted one failed call, under the model the caller asked for.
    [alert] = alerts
    assert (alert.calls, alert.rate) == (1, 0.0)
    snapshot = monitor.snapshot()
    assert snapshot["anthropic", "claude-a"].calls == 1
    assert snapshot["anthropic", "claude-b"].calls == 0


@MODES
def test_a_stream_that_fails_everywhere_while_read_is_one_failed_call(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Each target's stream breaks before any output: iteration raises, one failed call."""
    sim.script(*[Reply(stream_error_after=0)] * 4)
    log = EventLog()
    with otel_sdk() as otel:
        with pytest.raises(riprap.AllTargetsFailedError):
            stream("anthropic", sim, clock, is_async=is_async, hooks=[otel.hook, log])
        spans = otel.spans()
        assert otel.hook._calls == {}
    root = root_of(spans)
    assert root.status.status_code is StatusCode.ERROR
    assert attrs(root)["error.type"] == "overloaded"
    assert [attrs(t)["gen_ai.request.model"] for t in children(spans, root)] == [
        "claude-a",
        "claude-b",
    ]
    ended = one_operation(log)
    assert (ended.ok, ended.attempts, ended.kind) == (False, 4, riprap.Kind.OVERLOADED)
    assert [t.ok for t in log.of(TargetEnded)] == [False, False]


@MODES
def test_a_stream_broken_after_output_ends_the_call_as_it_failed(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """OpenAI cut mid-answer (no resumption, no moving on): one failed call, one target.

    The cut is a `connection` failure of the attempt; the caller gets it as an interrupted
    stream with the partial text.
    """
    sim.script(Reply(stream_cut_after=2))
    log = EventLog()
    with otel_sdk() as otel:
        with pytest.raises(riprap.StreamInterruptedError):
            stream("openai", sim, clock, is_async=is_async, hooks=[otel.hook, log])
        spans = otel.spans()
    root = root_of(spans)
    assert attrs(root)["error.type"] == "connection"
    [target] = children(spans, root)
    assert attrs(target)["error.type"] == "connection"
    assert [s.name for s in children(spans, target)] == ["riprap.attempt"]
    ended = one_operation(log)
    assert (ended.ok, ended.kind, ended.attempts) == (False, riprap.Kind.CONNECTION, 1)
    [only] = log.of(TargetEnded)
    assert only.model == "gpt-a"


def first_then_close(is_async: bool) -> Callable[[Any], Any]:
    """A reader that takes the first event, then closes the stream."""
    if not is_async:

        def read(opened: Any) -> Any:
            event = next(iter(opened))
            opened.close()
            return event

        return read

    async def aread(opened: Any) -> Any:
        event = await anext(aiter(opened))
        await opened.close()
        return event

    return aread


@MODES
def test_a_stream_closed_early_ends_the_call_once_as_cancelled(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Closed after the fallback's first event: each target's end, then one cancelled call."""
    sim.outages = [down("claude-a", 529)]
    log = EventLog()
    with otel_sdk() as otel:
        stream(
            "anthropic", sim, clock, is_async=is_async, hooks=[otel.hook, log],
            read=first_then_close(is_async),
        )  # fmt: skip
        spans = otel.spans()
        assert otel.hook._calls == {}
    root = root_of(spans)
    assert attrs(root)["riprap.stop"] == "cancelled"
    assert root.status.status_code is StatusCode.ERROR
    ended = one_operation(log)
    # The fallback's attempt never came back, so it is not counted (as without a chain).
    assert (ended.ok, ended.stop, ended.attempts) == (False, riprap.Stop.CANCELLED, 2)
    assert [(t.ok, t.stop) for t in log.of(TargetEnded)] == [
        (False, riprap.Stop.MAX_ATTEMPTS),
        (False, riprap.Stop.CANCELLED),
    ]


def test_a_stream_closed_after_its_end_marker_is_served(sim: Simulator, clock: FakeClock) -> None:
    """Closed once `message_stop` arrived, before the iterator ran out: a success."""
    sim.outages = [down("claude-a", 529)]
    log = EventLog()

    def read(opened: Any) -> None:
        with opened:
            for event in opened:
                if event.type == "message_stop":
                    break

    stream("anthropic", sim, clock, is_async=False, hooks=[log], read=read)
    ended = one_operation(log)
    assert (ended.ok, ended.stop, ended.target) == (True, None, "anthropic:claude-b")


def chained(clock: FakeClock, log: EventLog) -> dict[str, Any]:
    """`wrap` options: `log` as the hook, claude-b as the fallback, no real waits."""
    return {
        "hooks": [log], "clock": clock, "random": lambda: 0.0, "retry": FAST,
        "validate": False, "fallbacks": ["claude-b"],
    }  # fmt: skip


def assert_cancelled_once(log: EventLog) -> None:
    """One cancelled call: the primary's failure, the fallback cancelled, one `CallEnded`."""
    ended = one_operation(log)
    assert (ended.ok, ended.stop) == (False, riprap.Stop.CANCELLED)
    assert [t.stop for t in log.of(TargetEnded)] == [
        riprap.Stop.MAX_ATTEMPTS,
        riprap.Stop.CANCELLED,
    ]


@pytest.mark.parametrize("events_read", [0, 1], ids=["unread", "read-one"])
def test_a_dropped_stream_ends_the_call_once(
    events_read: int, sim: Simulator, clock: FakeClock
) -> None:
    """A stream the caller drops, read or never read, reports its end once it is freed."""
    sim.outages = [down("claude-a", 529)]
    log = EventLog()
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), **chained(clock, log))
    opened = client.messages.create(**request("anthropic"))
    for _ in range(events_read):
        next(opened)
    assert log.of(CallEnded) == []
    # The caller's only reference. The primary's error (kept for the caller) holds frames
    # that hold the stream, so the collector frees it, as it would soon in an application.
    del opened
    gc.collect()
    assert_cancelled_once(log)
    gc.collect()
    assert len(log.of(CallEnded)) == 1


@pytest.mark.parametrize("events_read", [0, 1], ids=["unread", "read-one"])
def test_a_dropped_async_stream_ends_the_call_on_its_loop(
    events_read: int, sim: Simulator, clock: FakeClock
) -> None:
    """An async stream dropped is closed by its event loop soon after, and reported once."""
    sim.outages = [down("claude-a", 529)]
    log = EventLog()

    async def go() -> None:
        raw = make_client("anthropic", sim, is_async=True)
        async with riprap.wrap(raw, **chained(clock, log)) as client:
            opened = await client.messages.create(**request("anthropic"))
            for _ in range(events_read):
                await anext(opened)
            del opened
            gc.collect()
            for _ in range(100):  # the closing runs as a task on this loop: let it run
                if log.of(CallEnded):
                    break
                await asyncio.sleep(0)

    asyncio.run(go())
    assert_cancelled_once(log)


@MODES
def test_a_streamed_fallback_is_one_operation_in_prometheus_and_the_monitor(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Prometheus counts one operation; the monitor one success under the primary."""
    sim.outages = [down("claude-a", 529)]
    registry = CollectorRegistry()
    alerts: list[RateAlert] = []
    monitor = SuccessRateMonitor(alerts.append, min_calls=1, clock=clock)
    hooks = [PrometheusHook(registry=registry), monitor]
    stream("anthropic", sim, clock, is_async=is_async, hooks=hooks)
    labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "anthropic",
              "gen_ai_request_model": "claude-a", "gen_ai_response_model": "",
              "error_type": ""}  # fmt: skip
    count = registry.get_sample_value("gen_ai_client_operation_duration_seconds_count", labels)
    assert count == 1
    assert alerts == []
    snapshot = monitor.snapshot()
    assert snapshot["anthropic", "claude-a"].calls == 1
    assert snapshot["anthropic", "claude-a"].rate == 1.0
    assert snapshot["anthropic", "claude-b"].calls == 0


@MODES
@pytest.mark.parametrize(
    "options",
    [{"fallbacks": []}, {"fallbacks": [], "degrade": riprap.degrade_with_text("later")}],
    ids=["no-fallbacks", "degrade-only"],
)  # fmt: skip
def test_a_stream_without_fallback_targets_is_unchanged(
    options: dict[str, Any], is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """No target to move to: the stream's own call is the operation, attempts under the root."""
    sim.script(Reply(status=529), Reply())
    log = EventLog()
    with otel_sdk() as otel:
        stream("anthropic", sim, clock, is_async=is_async, hooks=[otel.hook, log], **options)
        spans = otel.spans()
    root = root_of(spans)
    assert [s.name for s in children(spans, root)] == ["riprap.attempt"] * 2
    assert log.of(TargetEnded) == []
    ended = one_operation(log)
    [started, _] = log.of(AttemptStarted)
    assert started.call_id == ended.call_id
    assert (ended.ok, ended.attempts) == (True, 2)


@MODES
def test_a_stream_closed_unread_ends_the_call_once(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """`close()` before the first event: the fallback's call and the logical call end once."""
    sim.outages = [down("claude-a", 529)]
    log = EventLog()

    def close(opened: Any) -> Any:
        return opened.close()  # the async stream's close is awaited by `stream`

    stream("anthropic", sim, clock, is_async=is_async, hooks=[log], read=close)
    assert_cancelled_once(log)


@MODES
def test_the_stream_helper_over_a_fallback_is_one_call(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """`messages.stream()` over a chain: the helper's text, one successful logical call."""
    sim.outages = [down("claude-a", 529)]
    log = EventLog()
    ask = {"model": "claude-a", "max_tokens": 32, "messages": [{"role": "user", "content": "Hi"}]}

    def read(client: Any) -> str:
        with client.messages.stream(**ask) as helper:
            return "".join(helper.text_stream)

    async def aread(client: Any) -> str:
        async with client.messages.stream(**ask) as helper:
            return "".join([t async for t in helper.text_stream])

    if is_async:

        async def go() -> str:
            raw = make_client("anthropic", sim, is_async=True)
            async with riprap.wrap(raw, **chained(clock, log)) as client:
                return await aread(client)

        text = asyncio.run(go())
    else:
        client = riprap.wrap(make_client("anthropic", sim, is_async=False), **chained(clock, log))
        text = read(client)
    assert text
    ended = one_operation(log)
    assert (ended.ok, ended.attempts, ended.target) == (True, 3, "anthropic:claude-b")
    assert [t.ok for t in log.of(TargetEnded)] == [False, True]

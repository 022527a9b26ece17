"""Streams through riprap, both SDKs, sync and async, over the simulator's real SSE.

The simulator's text is a deterministic function of the conversation
(`riprap.sim.expected_text`), so every test checks the caller got exactly the right text:
no gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import anthropic
import pytest

import riprap
from riprap import Kind
from riprap.sim import Reply, expected_text
from riprap.testing import EventLog
from support import make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

# A prompt whose simulated answer is the longest the simulator makes (12 words).
MESSAGES = [{"role": "user", "content": "Tell me a story about resilient streams, take 191."}]
MAX_TOKENS = 60
EXPECTED = expected_text(MESSAGES, MAX_TOKENS)
MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
PROVIDERS = pytest.mark.parametrize("provider", ["anthropic", "openai"])


def stream_text(provider: str, sim: Simulator, *, is_async: bool, wrap: Any) -> tuple[str, Any]:
    """Stream one call through `wrap(client)`; the text the caller got, and the last event."""

    def request(client: Any) -> Any:
        if provider == "anthropic":
            return client.messages.create(
                model="claude-sim", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True
            )
        return client.chat.completions.create(
            model="gpt-sim", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True,
            stream_options={"include_usage": True},
        )  # fmt: skip

    def text_of(event: Any) -> str:
        if provider == "anthropic":
            if event.type == "content_block_delta":
                return str(event.delta.text)
            return ""
        if event.choices and event.choices[0].delta.content:
            return str(event.choices[0].delta.content)
        return ""

    if not is_async:
        client = wrap(make_client(provider, sim, is_async=False))
        events = list(request(client))
        return "".join(text_of(e) for e in events), events

    async def go() -> tuple[str, Any]:
        client = wrap(make_client(provider, sim, is_async=True))
        try:
            stream = await request(client)
            events = [e async for e in stream]
        finally:
            await client.close()
        return "".join(text_of(e) for e in events), events

    return asyncio.run(go())


def wrapper(clock: FakeClock, log: EventLog | None = None, **options: Any) -> Any:
    """riprap.wrap with instant backoff."""
    hooks = [] if log is None else [log]
    return lambda c: riprap.wrap(c, clock=clock, random=lambda: 0.0, hooks=hooks, **options)


@MODES
@PROVIDERS
def test_a_clean_stream_passes_through(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Without faults the caller gets the full text, once."""
    text, _ = stream_text(provider, sim, is_async=is_async, wrap=wrapper(clock))
    assert text == EXPECTED
    assert len(sim.requests) == 1


@MODES
@PROVIDERS
def test_failures_before_the_first_event_are_retried(
    provider: str, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A 529 and a reset before the stream starts are retried; the caller sees one stream."""
    sim.script(Reply(status=529), Reply(disconnect="reset"), Reply())
    text, _ = stream_text(provider, sim, is_async=is_async, wrap=wrapper(clock))
    assert text == EXPECTED
    assert len(sim.requests) == 3


@MODES
@pytest.mark.parametrize(
    "fault",
    [
        Reply(stream_error_after=5),
        Reply(stream_cut_after=7),
        Reply(stream_truncate_after=3),
        Reply(stream_error_after=0),
    ],
    ids=["error-event", "cut", "truncated", "error-before-text"],
)
def test_anthropic_streams_resume_seamlessly(
    fault: Reply, is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A break mid-stream is resumed: the caller's text is exactly the full text, once."""
    log = EventLog()
    sim.script(fault, Reply())
    text, events = stream_text("anthropic", sim, is_async=is_async, wrap=wrapper(clock, log))
    assert text == EXPECTED
    assert len(sim.requests) == 2
    kinds = [e.type for e in events]
    assert kinds.count("message_start") == 1
    assert kinds.count("content_block_start") == 1
    assert kinds.count("message_stop") == 1
    resumed = sim.requests[1].body
    assert isinstance(resumed, dict)
    if fault.stream_error_after:
        assert resumed["messages"][-1]["role"] == "assistant"
    (end,) = log.of(riprap.CallEnded)
    assert end.ok
    assert end.attempts == 2
    # The final message_delta reports usage over both attempts.
    delta = next(e for e in events if e.type == "message_delta")
    assert end.output_tokens == delta.usage.output_tokens


def test_anthropic_resume_through_the_stream_helper(sim: Simulator, clock: FakeClock) -> None:
    """`messages.stream()` keeps its events and final message across a resumed break."""
    sim.script(Reply(stream_error_after=4), Reply())
    log = EventLog()
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), clock=clock, hooks=[log])
    with client.messages.stream(model="claude-sim", max_tokens=MAX_TOKENS, messages=MESSAGES) as s:
        streamed = "".join(s.text_stream)
        final = s.get_final_message()
    assert streamed == EXPECTED
    assert isinstance(final, anthropic.types.Message)
    assert final.content[0].text == EXPECTED  # type: ignore[union-attr]
    # Usage is summed over both attempts, as the provider reported it for each.
    (end,) = log.of(riprap.CallEnded)
    assert (final.usage.input_tokens, final.usage.output_tokens) == (
        end.input_tokens,
        end.output_tokens,
    )
    _, second = (r.body for r in sim.requests)
    assert isinstance(second, dict)
    assert second["messages"][-1] == {
        "role": "assistant",
        "content": " ".join(EXPECTED.split()[:4]),
    }


@MODES
def test_openai_breaks_after_output_raise_with_the_partial_text(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """OpenAI cannot resume: the caller gets StreamInterruptedError with what it received."""
    sim.script(Reply(stream_cut_after=4), Reply())
    with pytest.raises(riprap.StreamInterruptedError) as info:
        stream_text("openai", sim, is_async=is_async, wrap=wrapper(clock))
    error = info.value
    assert error.partial_text
    assert EXPECTED.startswith(error.partial_text)
    assert error.partial_text != EXPECTED
    assert len(sim.requests) == 1
    assert error.report is not None
    assert error.report.stop is riprap.Stop.NOT_RESUMABLE
    assert error.kind is Kind.CONNECTION


@MODES
def test_openai_truncated_stream_never_ends_silently(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A stream cut short by a gateway raises; it is never taken for a complete answer."""
    sim.script(Reply(stream_truncate_after=3))
    with pytest.raises(riprap.StreamInterruptedError) as info:
        stream_text("openai", sim, is_async=is_async, wrap=wrapper(clock))
    assert info.value.kind is Kind.STREAM_INTERRUPTED


@MODES
@PROVIDERS
def test_a_stall_is_cut_within_the_silence_limit(
    provider: str, is_async: bool, sim: Simulator
) -> None:
    """A stream silent for longer than `idle` is abandoned within idle + 0.5 s, then recovered."""
    sim.script(Reply(stream_stall_after=0 if provider == "openai" else 3), Reply())
    log = EventLog()
    timeouts = riprap.Timeouts(idle=0.5, first_token=0.5)
    text, _ = stream_text(
        provider, sim, is_async=is_async,
        wrap=lambda c: riprap.wrap(c, timeouts=timeouts, random=lambda: 0.0, hooks=[log]),
    )  # fmt: skip
    assert text == EXPECTED
    assert len(sim.requests) == 2
    stalled, _ok = log.of(riprap.AttemptEnded)
    assert stalled.kind is Kind.TIMEOUT
    assert 0.5 <= stalled.latency < 0.5 + 0.5


@PROVIDERS
def test_slow_first_token_counts_against_first_token(provider: str, sim: Simulator) -> None:
    """No token within `first_token` seconds: abandoned and retried, classified as a timeout."""
    sim.script(Reply(stream_first_token_delay=5.0), Reply())
    log = EventLog()
    timeouts = riprap.Timeouts(first_token=0.4, idle=5.0)
    text, _ = stream_text(
        provider, sim, is_async=False,
        wrap=lambda c: riprap.wrap(c, timeouts=timeouts, random=lambda: 0.0, hooks=[log]),
    )  # fmt: skip
    assert text == EXPECTED
    slow, _ok = log.of(riprap.AttemptEnded)
    assert slow.kind is Kind.TIMEOUT
    assert 0.4 <= slow.latency < 0.4 + 0.5


@MODES
def test_openai_error_event_mid_stream_is_classified(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """A `data: {"error": …}` event after output: interrupted, kind from the error."""
    sim.script(Reply(stream_error_after=3), Reply())
    with pytest.raises(riprap.StreamInterruptedError) as info:
        stream_text("openai", sim, is_async=is_async, wrap=wrapper(clock))
    assert info.value.kind is Kind.SERVER_ERROR
    assert info.value.partial_text == " ".join(EXPECTED.split()[:3])


def test_anthropic_stream_helper_async(sim: Simulator, clock: FakeClock) -> None:
    """The async `messages.stream()` helper is resumed the same way."""
    sim.script(Reply(stream_cut_after=5), Reply())

    async def go() -> tuple[str, Any]:
        client = riprap.wrap(make_client("anthropic", sim, is_async=True), clock=clock)
        try:
            async with client.messages.stream(
                model="claude-sim", max_tokens=MAX_TOKENS, messages=MESSAGES
            ) as s:
                text = "".join([t async for t in s.text_stream])
                return text, await s.get_final_message()
        finally:
            await client.close()

    text, final = asyncio.run(go())
    assert text == EXPECTED
    assert final.content[0].text == EXPECTED
    assert len(sim.requests) == 2


@MODES
def test_openai_stream_helper_retries_before_output(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """`chat.completions.stream()` runs its attempts through riprap: a 503 first is retried."""
    sim.script(Reply(status=503), Reply())
    kwargs: dict[str, Any] = {"model": "gpt-sim", "max_tokens": MAX_TOKENS, "messages": MESSAGES}
    if not is_async:
        client = riprap.wrap(make_client("openai", sim, is_async=False), clock=clock)
        with client.chat.completions.stream(**kwargs) as s:
            final = s.get_final_completion()
    else:

        async def go() -> Any:
            client = riprap.wrap(make_client("openai", sim, is_async=True), clock=clock)
            try:
                async with client.chat.completions.stream(**kwargs) as s:
                    return await s.get_final_completion()
            finally:
                await client.close()

        final = asyncio.run(go())
    assert final.choices[0].message.content == EXPECTED
    assert len(sim.requests) == 2


@PROVIDERS
def test_the_callers_own_pauses_are_not_silence(provider: str, sim: Simulator) -> None:
    """A caller slower than `idle` between events keeps its one healthy stream."""
    timeouts = riprap.Timeouts(idle=0.4, first_token=5.0)
    client = riprap.wrap(make_client(provider, sim, is_async=False), timeouts=timeouts)
    if provider == "anthropic":
        stream = client.messages.create(
            model="claude-sim", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True
        )
    else:
        stream = client.chat.completions.create(
            model="gpt-sim", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True
        )
    for i, _event in enumerate(stream):
        if i < 3:
            time.sleep(0.6)
    assert len(sim.requests) == 1
    report = riprap.last_report()
    assert report is not None
    assert report.ok


def test_closing_early_counts_what_was_spent(sim: Simulator) -> None:
    """A stream closed half-way ends as cancelled, with the tokens already reported counted."""
    log = EventLog()
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), hooks=[log])
    stream = client.messages.create(
        model="claude-sim", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True
    )
    for i, _event in enumerate(stream):
        if i == 3:
            break
    stream.close()
    (end,) = log.of(riprap.CallEnded)
    assert end.stop is riprap.Stop.CANCELLED
    assert end.input_tokens is not None
    assert end.input_tokens > 0


def test_breaking_at_the_end_marker_is_a_success(sim: Simulator) -> None:
    """A caller that stops at `message_stop` has the whole answer: the call succeeded."""
    log = EventLog()
    client = riprap.wrap(make_client("anthropic", sim, is_async=False), hooks=[log])
    with client.messages.create(
        model="claude-sim", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True
    ) as stream:
        for event in stream:
            if event.type == "message_stop":
                break
    (end,) = log.of(riprap.CallEnded)
    assert end.ok


def test_a_model_that_refuses_prefill_is_interrupted_not_resumed(
    sim: Simulator, clock: FakeClock
) -> None:
    """Claude 4.6 and later reject a prefilled turn: no resume attempt, the partial text."""
    sim.script(Reply(stream_error_after=3), Reply())
    client = wrapper(clock)(make_client("anthropic", sim, is_async=False))
    received: list[str] = []

    def read() -> None:
        # Appended one by one: the text so far must survive the exception.
        for event in client.messages.create(
            model="claude-opus-4-6", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True
        ):
            if event.type == "content_block_delta":
                received.append(event.delta.text)  # noqa: PERF401

    with pytest.raises(riprap.StreamInterruptedError) as caught:
        read()
    text = "".join(received)
    assert caught.value.partial_text == text
    assert text
    assert len(sim.requests) == 1  # a prefilled retry would have been refused with a 400
    report = riprap.report_of(caught.value)
    assert report is not None
    assert report.stop is riprap.Stop.NOT_RESUMABLE


def test_a_model_that_refuses_prefill_still_retries_before_output(
    sim: Simulator, clock: FakeClock
) -> None:
    """Before any text reached the caller, a retry repeats the request as sent."""
    sim.script(Reply(stream_error_after=0), Reply())
    client = wrapper(clock)(make_client("anthropic", sim, is_async=False))
    events = list(
        client.messages.create(
            model="claude-opus-4-6", max_tokens=MAX_TOKENS, messages=MESSAGES, stream=True
        )
    )
    assert events[-1].type == "message_stop"
    assert len(sim.requests) == 2
    retried = sim.requests[1].body
    assert isinstance(retried, dict)
    assert retried["messages"] == MESSAGES

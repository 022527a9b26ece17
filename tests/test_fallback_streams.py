"""Streams along a fallback chain: real SDK clients and their stream helpers on the simulator."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import anthropic
import openai
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import riprap
from riprap.sim import Outage, Reply, default_text, estimate_input_tokens
from riprap.testing import EventLog
from support import make_client

if TYPE_CHECKING:
    from riprap.sim import Simulator
    from riprap.testing import FakeClock

MODES = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
FAST = riprap.Retry(max_attempts=2)
ASK = [{"role": "user", "content": "Hello"}]
SYSTEM = "Answer briefly."


def down(model: str, status: int = 529) -> Outage:
    """`model` fails every request with `status`."""
    return Outage(start=0, model=model, faults={status: 1.0})


def sent(sim: Simulator) -> list[tuple[str, str]]:
    """(path, model) of each request the simulator received."""
    return [(r.path, r.body["model"]) for r in sim.requests if isinstance(r.body, dict)]


def through(
    provider: str,
    sim: Simulator,
    clock: FakeClock,
    *,
    is_async: bool,
    read: Any,
    other: str | None = None,
    **options: Any,
) -> Any:
    """`read(client)` on a wrapped `provider` client whose fallback is a model of `other`.

    `other=None`: the fallback is another model of the same provider ("*-b").
    """
    if other is None:
        options.setdefault("fallbacks", ["claude-b" if provider == "anthropic" else "gpt-b"])
    defaults: dict[str, Any] = {"retry": FAST, "clock": clock, "random": lambda: 0.0}
    defaults["validate"] = False

    if not is_async:
        targets: dict[str, Any] = {}
        if other is not None:
            second = make_client(other, sim, is_async=False)
            model = "gpt-b" if other == "openai" else "claude-b"
            targets = {"fallbacks": [riprap.Target(client=second, model=model)]}
        client = riprap.wrap(
            make_client(provider, sim, is_async=False), **defaults, **targets, **options
        )
        return read(client)

    async def go() -> Any:
        targets: dict[str, Any] = {}
        second = make_client(other, sim, is_async=True) if other else None
        if second is not None:
            model = "gpt-b" if other == "openai" else "claude-b"
            targets = {"fallbacks": [riprap.Target(client=second, model=model)]}
        try:
            async with riprap.wrap(
                make_client(provider, sim, is_async=True), **defaults, **targets, **options
            ) as client:
                return await read(client)
        finally:
            if second is not None:
                await second.close()

    return asyncio.run(go())


def anthropic_events(is_async: bool) -> Any:
    """A reader: every raw event of an Anthropic stream call, as a list."""
    request = {"model": "claude-a", "max_tokens": 32, "system": SYSTEM, "messages": ASK}
    if not is_async:
        return lambda client: list(client.messages.create(**request, stream=True))

    async def read(client: Any) -> list[Any]:
        return [e async for e in await client.messages.create(**request, stream=True)]

    return read


def anthropic_helper(is_async: bool) -> Any:
    """A reader: `messages.stream()`'s final message and its text stream, joined."""
    request = {"model": "claude-a", "max_tokens": 32, "system": SYSTEM, "messages": ASK}
    if not is_async:

        def read(client: Any) -> tuple[Message, str]:
            with client.messages.stream(**request) as stream:
                text = "".join(stream.text_stream)
                return stream.get_final_message(), text

        return read

    async def aread(client: Any) -> tuple[Message, str]:
        async with client.messages.stream(**request) as stream:
            text = "".join([t async for t in stream.text_stream])
            return await stream.get_final_message(), text

    return aread


def openai_helper(is_async: bool, **extra: Any) -> Any:
    """A reader: `chat.completions.stream()`'s final completion and its chunks."""
    messages = [{"role": "system", "content": SYSTEM}, *ASK]
    request = {"model": "gpt-a", "max_completion_tokens": 32, "messages": messages, **extra}
    if not is_async:

        def read(client: Any) -> tuple[ChatCompletion, list[Any]]:
            with client.chat.completions.stream(**request) as stream:
                chunks = [e.chunk for e in stream if e.type == "chunk"]
                return stream.get_final_completion(), chunks

        return read

    async def aread(client: Any) -> tuple[ChatCompletion, list[Any]]:
        async with client.chat.completions.stream(**request) as stream:
            chunks = [e.chunk async for e in stream if e.type == "chunk"]
            return await stream.get_final_completion(), chunks

    return aread


@MODES
def test_a_stream_falls_back_to_another_model_when_it_cannot_open(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Primary 529 on every attempt: the stream comes from the fallback, one answer only."""
    sim.outages = [down("claude-a")]
    log = EventLog()
    events = through(
        "anthropic", sim, clock, is_async=is_async, read=anthropic_events(is_async), hooks=[log]
    )
    assert sent(sim) == [("/v1/messages", "claude-a")] * 2 + [("/v1/messages", "claude-b")]
    assert [e.type for e in events].count("message_start") == 1
    assert events[0].message.model == "claude-b"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == default_text(ASK, 32)
    assert [e.reason for e in log.of(riprap.FallbackUsed)] == ["overloaded"]


@MODES
def test_a_failure_after_the_preamble_but_before_output_moves_on(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """An error event before any text: the primary's preamble is dropped, the fallback serves."""
    sim.script(*[Reply(stream_error_after=0)] * 2)
    events = through("anthropic", sim, clock, is_async=is_async, read=anthropic_events(is_async))
    assert [m for _, m in sent(sim)] == ["claude-a", "claude-a", "claude-b"]
    starts = [e for e in events if e.type == "message_start"]
    assert [s.message.model for s in starts] == ["claude-b"]
    assert events[-1].type == "message_stop"


def test_a_stream_that_broke_after_text_does_not_move_on(sim: Simulator, clock: FakeClock) -> None:
    """After text reached the caller, another model would repeat it: the error is raised."""
    sim.script(Reply(stream_cut_after=2))  # OpenAI streams cannot be resumed
    seen: list[str] = []

    def read(client: Any) -> None:
        request = {"model": "gpt-a", "max_completion_tokens": 32, "messages": ASK}
        for chunk in client.chat.completions.create(**request, stream=True):
            seen.extend(c.delta.content or "" for c in chunk.choices)

    with pytest.raises(riprap.StreamInterruptedError):
        through("openai", sim, clock, is_async=False, read=read)
    assert "".join(seen)
    assert [m for _, m in sent(sim)] == ["gpt-a"]


@MODES
def test_anthropic_stream_served_by_openai_reads_as_anthropic_events(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """Anthropic down, OpenAI streams: the caller iterates Anthropic events of the answer."""
    sim.outages = [down("claude-a")]
    events = through(
        "anthropic", sim, clock, is_async=is_async, read=anthropic_events(is_async), other="openai"
    )
    body = sim.requests[-1].body
    assert isinstance(body, dict)
    assert (sim.requests[-1].path, body["stream_options"]) == (
        "/v1/chat/completions",
        {"include_usage": True},
    )
    assert body["messages"][0] == {"role": "system", "content": SYSTEM}
    adapter: Any = __import__("pydantic").TypeAdapter(RawMessageStreamEvent)
    assert all(adapter.validate_python(e) == e for e in events)
    assert [e.type for e in events[:2]] == ["message_start", "content_block_start"]
    assert [e.type for e in events[-3:]] == ["content_block_stop", "message_delta", "message_stop"]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == default_text(body["messages"], 32)
    assert events[-2].delta.stop_reason == "end_turn"
    assert events[-2].usage.output_tokens == len(text.split())
    assert events[-2].usage.input_tokens == estimate_input_tokens(body["messages"])


@MODES
def test_anthropic_stream_helper_over_an_openai_fallback(
    is_async: bool, sim: Simulator, clock: FakeClock
) -> None:
    """`messages.stream()` works unchanged: text stream, final Message, usage, stop reason."""
    sim.outages = [down("claude-a")]
    message, text = through(
        "anthropic", sim, clock, is_async=is_async, read=anthropic_helper(is_async), other="openai"
    )
    body = sim.requests[-1].body
    assert isinstance(body, dict)
    assert isinstance(message, Message)  # the helper's ParsedMessage, as without riprap
    assert message.model == "gpt-b"
    assert [b.type for b in message.content] == ["text"]
    assert text == message.content[0].text == default_text(body["messages"], 32)  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == estimate_input_tokens(body["messages"])
    assert message.usage.output_tokens == len(text.split())


@MODES
@pytest.mark.parametrize("usage", [True, False], ids=["usage", "no-usage"])
def test_openai_stream_helper_over_an_anthropic_fallback(
    is_async: bool, usage: bool, sim: Simulator, clock: FakeClock
) -> None:
    """`chat.completions.stream()` works unchanged over Anthropic: chunks, final completion."""
    sim.outages = [down("gpt-a", 503)]
    extra = {"stream_options": {"include_usage": True}} if usage else {}
    completion, chunks = through(
        "openai",
        sim,
        clock,
        is_async=is_async,
        read=openai_helper(is_async, **extra),
        other="anthropic",
    )
    body = sim.requests[-1].body
    assert isinstance(body, dict)
    assert sim.requests[-1].path == "/v1/messages"
    assert (body["system"], body["max_tokens"], body["stream"]) == (SYSTEM, 32, True)
    assert all(type(c) is ChatCompletionChunk for c in chunks)
    assert isinstance(completion, ChatCompletion)  # the helper's ParsedChatCompletion
    choice = completion.choices[0]
    assert choice.message.content == default_text(body["messages"], 32)
    assert choice.finish_reason == "stop"
    assert completion.model == "claude-b"
    if usage:
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == estimate_input_tokens(body["messages"])
        assert completion.usage.completion_tokens == len(default_text(body["messages"], 32).split())
    else:
        assert completion.usage is None
        assert all(c.usage is None for c in chunks)


def test_a_truncated_answer_says_length_across_providers(sim: Simulator, clock: FakeClock) -> None:
    """An answer cut at max_tokens streams as finish_reason "length" to an OpenAI caller."""
    sim.outages = [down("gpt-a")]

    def read(client: Any) -> list[Any]:
        request = {"model": "gpt-a", "max_completion_tokens": 2, "messages": ASK}
        return list(client.chat.completions.create(**request, stream=True))

    chunks = through("openai", sim, clock, is_async=False, read=read, other="anthropic")
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_a_stream_outside_the_subset_skips_the_other_provider(
    sim: Simulator, clock: FakeClock
) -> None:
    """A stream asking for thinking cannot go to OpenAI: skipped with a reason, errors grouped."""
    sim.outages = [down("claude-a")]

    def read(client: Any) -> Any:
        thinking = {"type": "enabled", "budget_tokens": 1024}
        return client.messages.create(
            model="claude-a", max_tokens=2048, messages=ASK, stream=True, thinking=thinking
        )

    with pytest.raises(riprap.AllTargetsFailedError) as caught:
        through("anthropic", sim, clock, is_async=False, read=read, other="openai")
    [(target, why)] = caught.value.skipped
    assert target == "openai:gpt-b"
    assert "thinking" in why
    assert [type(e) for e in caught.value.exceptions] == [anthropic.OverloadedError]


def test_a_stream_with_every_target_down_raises_one_group(sim: Simulator, clock: FakeClock) -> None:
    """No degraded answer for a stream: every target's error together."""
    sim.outages = [down("gpt-a"), down("gpt-b", 500)]

    def read(client: Any) -> Any:
        return client.chat.completions.create(
            model="gpt-a", max_completion_tokens=8, messages=ASK, stream=True
        )

    with pytest.raises(riprap.AllTargetsFailedError) as caught:
        through("openai", sim, clock, is_async=False, read=read, degrade=lambda _: "later")
    kinds = [type(e) for e in caught.value.exceptions]
    assert kinds == [openai.InternalServerError, openai.InternalServerError]  # 529, 500

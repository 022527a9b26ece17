"""Stream events across providers, exactly: tool calls, refusals, stop reasons, usage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import (
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
)
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from riprap.translate import ToAnthropicEvents, ToOpenAIChunks, TranslationError


def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> Any:
    """An OpenAI stream chunk with one choice (or none, for `delta=None`)."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
            "choices": choices, **extra}  # fmt: skip
    return ChatCompletionChunk.model_validate(body)


def call(index: int, arguments: str, *, name: str | None = None) -> dict[str, Any]:
    """A tool-call delta: the first of a call carries its id and name."""
    function: dict[str, Any] = {"arguments": arguments}
    opening: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
        opening = {"id": f"call_{index}", "type": "function"}
    return {"tool_calls": [{"index": index, **opening, "function": function}]}


def anthropic_of(chunks: list[Any]) -> list[Any]:
    """Every Anthropic event the chunks make, closing events included."""
    translator = ToAnthropicEvents()
    events = [e for c in chunks for e in translator.feed(c)]
    return events + translator.finish()


def test_text_then_two_tool_calls_become_three_blocks() -> None:
    """Text, then two streamed tool calls: three blocks in order, arguments as JSON deltas."""
    usage = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42,
             "prompt_tokens_details": {"cached_tokens": 10}}  # fmt: skip
    events = anthropic_of([
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Let me look."}),
        chunk(call(0, '{"city": ', name="weather")),
        chunk(call(0, '"Oslo"}')),
        chunk(call(1, '{"q": 1}', name="search")),
        chunk({}, "tool_calls"),
        chunk(None, usage=usage),
    ])  # fmt: skip
    assert [type(e) for e in events] == [
        RawMessageStartEvent,
        RawContentBlockStartEvent, RawContentBlockDeltaEvent, RawContentBlockStopEvent,
        RawContentBlockStartEvent, RawContentBlockDeltaEvent, RawContentBlockDeltaEvent,
        RawContentBlockStopEvent,
        RawContentBlockStartEvent, RawContentBlockDeltaEvent, RawContentBlockStopEvent,
        RawMessageDeltaEvent, RawMessageStopEvent,
    ]  # fmt: skip
    starts = [e for e in events if isinstance(e, RawContentBlockStartEvent)]
    assert [(e.index, e.content_block.type) for e in starts] == [
        (0, "text"), (1, "tool_use"), (2, "tool_use")]  # fmt: skip
    assert starts[1].content_block.model_dump(exclude_none=True) == {
        "type": "tool_use", "id": "call_0", "name": "weather", "input": {}}  # fmt: skip
    json_parts: dict[int, str] = {}
    for e in events:
        if isinstance(e, RawContentBlockDeltaEvent) and e.delta.type == "input_json_delta":
            json_parts[e.index] = json_parts.get(e.index, "") + e.delta.partial_json
    assert {i: json.loads(p) for i, p in json_parts.items()} == {1: {"city": "Oslo"}, 2: {"q": 1}}
    closing = events[-2]
    assert isinstance(closing, RawMessageDeltaEvent)
    assert closing.delta.stop_reason == "tool_use"
    assert (closing.usage.input_tokens, closing.usage.output_tokens) == (20, 12)
    assert closing.usage.cache_read_input_tokens == 10


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")],
)
def test_finish_reasons_become_stop_reasons(finish: str, stop: str) -> None:
    """Each OpenAI finish_reason reads as its Anthropic stop_reason."""
    events = anthropic_of([chunk({"content": "Hi"}), chunk({}, finish)])
    assert events[-2].delta.stop_reason == stop


def test_a_refusal_streams_as_text_with_stop_reason_refusal() -> None:
    """A refusal delta is text the caller can read, and the stop reason says refusal."""
    events = anthropic_of([chunk({"refusal": "I can't."}), chunk({}, "stop")])
    texts = [
        e.delta.text
        for e in events
        if isinstance(e, RawContentBlockDeltaEvent) and e.delta.type == "text_delta"
    ]
    assert texts == ["I can't."]
    assert events[-2].delta.stop_reason == "refusal"


def test_text_after_a_tool_call_is_refused() -> None:
    """Anthropic blocks cannot interleave: going back to a closed block is a translation error."""
    translator = ToAnthropicEvents()
    translator.feed(chunk({"content": "a"}))
    translator.feed(chunk(call(0, "{}", name="f")))
    with pytest.raises(TranslationError, match="text output resumed"):
        translator.feed(chunk({"content": "b"}))


def anthropic_stream(*, tool: bool) -> list[Any]:
    """An Anthropic stream's events: text, optionally a tool_use, closing with usage."""
    start = RawMessageStartEvent.model_validate(
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-x",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 25,
                    "output_tokens": 1,
                    "cache_read_input_tokens": 5,
                    "cache_creation_input_tokens": 2,
                },
            },
        }
    )
    events: list[Any] = [
        start,
        RawContentBlockStartEvent.model_validate(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        RawContentBlockDeltaEvent.model_validate(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Checking."},
            }
        ),
        RawContentBlockStopEvent(type="content_block_stop", index=0),
    ]
    if tool:
        events += [
            RawContentBlockStartEvent.model_validate(
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "weather",
                        "input": {},
                    },
                }
            ),
            *(
                RawContentBlockDeltaEvent.model_validate(
                    {
                        "type": "content_block_delta",
                        "index": 1,
                        "delta": {"type": "input_json_delta", "partial_json": part},
                    }
                )
                for part in ('{"city":', ' "Oslo"}')
            ),
            RawContentBlockStopEvent(type="content_block_stop", index=1),
        ]
    events += [
        RawMessageDeltaEvent.model_validate(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "tool_use" if tool else "stop_sequence",
                    "stop_sequence": None if tool else "END",
                },
                "usage": {"output_tokens": 9},
            }
        ),
        RawMessageStopEvent(type="message_stop"),
    ]
    return events


def openai_of(events: list[Any], *, include_usage: bool) -> list[Any]:
    """Every OpenAI chunk the events make."""
    translator = ToOpenAIChunks(include_usage=include_usage, created=7)
    return [c for e in events for c in translator.feed(e)] + translator.finish()


def test_a_tool_use_stream_accumulates_to_tool_calls() -> None:
    """OpenAI's own stream accumulator makes the answer: text, one tool call, usage."""
    state = ChatCompletionStreamState()
    for c in openai_of(anthropic_stream(tool=True), include_usage=True):
        state.handle_chunk(c)
    completion = state.get_final_completion()
    choice = completion.choices[0]
    assert (completion.id, completion.model, completion.created) == ("msg_1", "claude-x", 7)
    assert choice.message.content == "Checking."
    assert choice.finish_reason == "tool_calls"
    [tool] = choice.message.tool_calls or []
    assert (tool.id, tool.function.name) == ("toolu_1", "weather")
    assert json.loads(tool.function.arguments) == {"city": "Oslo"}
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (32, 9)
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 5


def test_usage_chunk_only_when_asked() -> None:
    """Without `include_usage` no chunk carries usage; a stop sequence reads as "stop"."""
    chunks = openai_of(anthropic_stream(tool=False), include_usage=False)
    assert all(c.usage is None for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert chunks[0].choices[0].delta.role == "assistant"


def test_a_thinking_block_cannot_be_translated() -> None:
    """A block type with no counterpart fails as a translation error (response_invalid)."""
    translator = ToOpenAIChunks(include_usage=False)
    translator.feed(anthropic_stream(tool=False)[0])
    block = {"type": "thinking", "thinking": "", "signature": ""}
    thinking = RawContentBlockStartEvent.model_validate(
        {"type": "content_block_start", "index": 0, "content_block": block}
    )
    with pytest.raises(TranslationError, match="'thinking' block"):
        translator.feed(thinking)

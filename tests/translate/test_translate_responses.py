"""Response translation: the caller's own SDK type, field by field, both ways."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

from riprap.translate import TranslationError, to_anthropic_message, to_openai_completion

CREATED = 1_700_000_000


def completion(
    *,
    content: str | None = "Hello there.",
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    refusal: str | None = None,
    usage: dict[str, Any] | None = None,
) -> ChatCompletion:
    """A ChatCompletion as the OpenAI SDK would parse it."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return ChatCompletion.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion", "created": CREATED, "model": "gpt-sim",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason}],
        "usage": usage or {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    })  # fmt: skip


def message(
    *,
    content: list[dict[str, Any]] | None = None,
    stop_reason: str = "end_turn",
    usage: dict[str, Any] | None = None,
) -> Message:
    """An anthropic Message as the Anthropic SDK would parse it."""
    return Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sim",
        "content": [{"type": "text", "text": "Hello there."}] if content is None else content,
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": usage or {"input_tokens": 12, "output_tokens": 3},
    })  # fmt: skip


CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
USE = {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}


def test_text_completion_becomes_a_message() -> None:
    """Text, model, id and usage of a completion arrive as an anthropic Message."""
    result = to_anthropic_message(completion())
    assert type(result) is Message
    assert result.model_dump(exclude_none=True) == {
        "id": "chatcmpl-1", "type": "message", "role": "assistant", "model": "gpt-sim",
        "content": [{"type": "text", "text": "Hello there."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 12, "output_tokens": 3},
    }  # fmt: skip


def test_tool_calls_become_tool_use_blocks() -> None:
    """Function calls become tool_use blocks after the text, with parsed input."""
    result = to_anthropic_message(
        completion(content="Let me look.", tool_calls=[CALL], finish_reason="tool_calls")
    )
    assert [b.type for b in result.content] == ["text", "tool_use"]
    assert result.content[1].model_dump(exclude_none=True) == USE
    assert result.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("finish", "stop"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"),
     ("content_filter", "refusal"), ("function_call", "tool_use")],
)  # fmt: skip
def test_finish_reasons_map_to_stop_reasons(finish: str, stop: str) -> None:
    """Every OpenAI finish reason has its Anthropic stop reason."""
    assert to_anthropic_message(completion(finish_reason=finish)).stop_reason == stop


def test_refusal_becomes_text_with_stop_reason_refusal() -> None:
    """A refusal is shown as text, and the stop reason says so."""
    result = to_anthropic_message(completion(content=None, refusal="I can't help with that."))
    assert [(b.type, getattr(b, "text", None)) for b in result.content] == [
        ("text", "I can't help with that.")
    ]
    assert result.stop_reason == "refusal"


def test_cached_prompt_tokens_are_counted_apart() -> None:
    """OpenAI's cached tokens (inside prompt_tokens) become cache reads beside input tokens."""
    usage = {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105,
             "prompt_tokens_details": {"cached_tokens": 60}}  # fmt: skip
    result = to_anthropic_message(completion(usage=usage)).usage
    assert (result.input_tokens, result.cache_read_input_tokens, result.output_tokens) == (
        40,
        60,
        5,
    )


def test_message_becomes_a_completion() -> None:
    """Text, model, id and usage of a message arrive as an OpenAI ChatCompletion."""
    result = to_openai_completion(message(), created=CREATED)
    assert type(result) is ChatCompletion
    assert result.model_dump(exclude_none=True) == {
        "id": "msg_1", "object": "chat.completion", "created": CREATED, "model": "claude-sim",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Hello there."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }  # fmt: skip


def test_text_blocks_join_and_tool_use_becomes_tool_calls() -> None:
    """Several text blocks make one content string; tool_use blocks make function calls."""
    content: list[dict[str, Any]] = [
        {"type": "text", "text": "One. "},
        {"type": "text", "text": "Two."},
        USE,
    ]
    result = to_openai_completion(message(content=content, stop_reason="tool_use"))
    choice = result.choices[0]
    assert choice.message.content == "One. Two."
    assert [c.model_dump() for c in choice.message.tool_calls or []] == [CALL]
    assert choice.finish_reason == "tool_calls"


def test_tool_use_alone_has_no_content() -> None:
    """A message that only calls a tool has `content` None, as OpenAI sends it."""
    result = to_openai_completion(message(content=[USE], stop_reason="tool_use"))
    assert result.choices[0].message.content is None


@pytest.mark.parametrize(
    ("stop", "finish"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
     ("tool_use", "tool_calls"), ("refusal", "content_filter"),
     ("model_context_window_exceeded", "length")],
)  # fmt: skip
def test_stop_reasons_map_to_finish_reasons(stop: str, finish: str) -> None:
    """Every Anthropic stop reason of the subset has its OpenAI finish reason."""
    assert to_openai_completion(message(stop_reason=stop)).choices[0].finish_reason == finish


def test_every_input_token_is_a_prompt_token() -> None:
    """Cache reads and writes count in prompt_tokens; cache reads also show as cached_tokens."""
    usage = {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 50,
             "cache_creation_input_tokens": 20}  # fmt: skip
    result = to_openai_completion(message(usage=usage)).usage
    assert result is not None
    assert (result.prompt_tokens, result.completion_tokens, result.total_tokens) == (80, 4, 84)
    assert result.prompt_tokens_details is not None
    assert result.prompt_tokens_details.cached_tokens == 50


def test_request_id_travels_with_the_translation() -> None:
    """The serving provider's request id stays readable as `_request_id` on the new object."""
    source = completion()
    source._request_id = "req_openai_1"
    assert to_anthropic_message(source)._request_id == "req_openai_1"
    reply = message()
    reply._request_id = "req_anthropic_1"
    assert to_openai_completion(reply)._request_id == "req_anthropic_1"


def test_round_trip_message_completion_message() -> None:
    """Message → ChatCompletion → Message keeps every field of the subset."""
    original = message(
        content=[{"type": "text", "text": "Looking."}, USE],
        stop_reason="tool_use",
        usage={"input_tokens": 7, "output_tokens": 2, "cache_read_input_tokens": 3},
    )
    assert to_anthropic_message(to_openai_completion(original)) == original


def test_round_trip_completion_message_completion() -> None:
    """ChatCompletion → Message → ChatCompletion keeps every field of the subset."""
    usage = {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11,
             "prompt_tokens_details": {"cached_tokens": 4}}  # fmt: skip
    original = completion(content="Sure.", tool_calls=[CALL], finish_reason="tool_calls",
                          usage=usage)  # fmt: skip
    again = to_openai_completion(to_anthropic_message(original), created=CREATED)
    assert again == original


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: to_anthropic_message(completion(tool_calls=[
            {**CALL, "function": {"name": "f", "arguments": "{oops"}}])), "not JSON"),
        (lambda: to_anthropic_message(completion(tool_calls=[
            {**CALL, "function": {"name": "f", "arguments": "3"}}])), "not a JSON object"),
        (lambda: to_openai_completion(message(content=[
            {"type": "thinking", "thinking": "hm", "signature": "s"}])), "'thinking' block"),
        (lambda: to_openai_completion(message(stop_reason="pause_turn")), "'pause_turn'"),
    ],
)  # fmt: skip
def test_untranslatable_responses_raise(make: Any, match: str) -> None:
    """A response the caller's type cannot hold is a TranslationError (kind response_invalid)."""
    with pytest.raises(TranslationError, match=match) as caught:
        make()
    assert caught.value.kind == "response_invalid"


def test_completion_without_choices_raises() -> None:
    """An empty choices list cannot become a Message."""
    empty = completion().model_copy(update={"choices": []})
    with pytest.raises(TranslationError, match="no choices"):
        to_anthropic_message(empty)

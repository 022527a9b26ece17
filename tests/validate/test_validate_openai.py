"""OpenAI Chat Completions request rules, checked before any network."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from riprap.models import Registry, UnknownModelWarning
from riprap.validate import (
    ContextOverflowError,
    InputRules,
    PromptValidationError,
    validate_request,
)

MODEL = "gpt-4o"  # 128,000-token window, 16,384 output


def request(**overrides: Any) -> dict[str, Any]:
    """A valid request, with `overrides` applied."""
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    kwargs.update(overrides)
    return kwargs


def rejected(kwargs: dict[str, Any], rules: InputRules | None = None) -> PromptValidationError:
    """The error validating `kwargs` raises (the test fails if none)."""
    with pytest.raises(PromptValidationError) as caught:
        validate_request("openai", kwargs, rules=rules)
    assert caught.value.provider == "openai"
    return caught.value


# -- the seed cases ---------------------------------------------------------------------


def test_empty_messages() -> None:
    """An empty messages list is refused, naming `messages`."""
    error = rejected(request(messages=[]))
    assert str(error) == "messages: [] is not a non-empty list of messages"


def test_assistant_first_is_valid_for_openai() -> None:
    """OpenAI accepts a conversation that starts with the assistant: no error."""
    messages = [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Hello"}]
    validate_request("openai", request(messages=messages))


def test_system_in_messages_is_how_openai_takes_it() -> None:
    """A system (or developer) message inside messages is OpenAI's system prompt."""
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": "Hello"},
    ]
    validate_request("openai", request(messages=messages))


def test_system_message_without_content() -> None:
    """A system message needs its content."""
    messages = [{"role": "system"}, {"role": "user", "content": "Hello"}]
    assert rejected(request(messages=messages)).path == "messages[0].content"


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_tokens", 0), ("max_tokens", 16_385), ("max_completion_tokens", -5)],
)
def test_max_tokens_out_of_range(name: str, value: int) -> None:
    """max_tokens / max_completion_tokens must be within 1..the model's output limit."""
    kwargs = request()
    del kwargs["max_tokens"]
    kwargs[name] = value
    error = rejected(kwargs)
    assert error.path == name
    assert str(error) == f"{name}: {value} is not an int in 1..16384"


def test_max_tokens_is_optional() -> None:
    """OpenAI does not require an output limit."""
    kwargs = request()
    del kwargs["max_tokens"]
    assert validate_request("openai", kwargs).max_tokens is None


def test_unknown_model_warns() -> None:
    """An unknown model is a warning by default."""
    with pytest.warns(UnknownModelWarning):
        checked = validate_request("openai", request(model="gpt-7-nova"), rules=InputRules())
    assert checked.model is None


def test_unknown_model_in_strict_mode() -> None:
    """A strict registry turns an unknown model into an error on `model`."""
    rules = InputRules(registry=Registry.default(strict=True))
    error = rejected(request(model="gpt-7-nova"), rules)
    assert (error.path, error.value) == ("model", "gpt-7-nova")


def test_prompt_too_long() -> None:
    """An estimated prompt plus max_tokens over the window is a context overflow."""
    big = [{"role": "user", "content": "word " * 120_000}]  # about 150,000 tokens
    with pytest.raises(ContextOverflowError) as caught:
        validate_request("openai", request(messages=big))
    assert (caught.value.window, caught.value.max_tokens) == (128_000, 256)
    assert caught.value.estimate > 128_000


def test_prompt_over_the_input_limit_without_max_tokens() -> None:
    """GPT-6 takes at most 922,000 prompt tokens even with no output limit set."""
    big = [{"role": "user", "content": "x" * (4 * 930_000)}]
    kwargs = request(model="gpt-6.2-sol", messages=big)
    del kwargs["max_tokens"]
    with pytest.raises(ContextOverflowError) as caught:
        validate_request("openai", kwargs)
    assert caught.value.input_limit == 922_000


# -- roles, content, tools --------------------------------------------------------------


def test_misspelt_role() -> None:
    """A bad role names the path and every allowed role."""
    error = rejected(request(messages=[{"role": "usr", "content": "hi"}]))
    assert error.path == "messages[0].role"
    assert "'user'" in str(error)
    assert "'developer'" in str(error)


def call(call_id: str) -> dict[str, Any]:
    """One function tool call."""
    return {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}


def test_tool_calls_answered_in_any_order() -> None:
    """Each tool call gets a tool message right after the assistant message."""
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [call("a"), call("b")]},
        {"role": "tool", "tool_call_id": "b", "content": "2"},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "assistant", "content": "done"},
    ]
    validate_request("openai", request(messages=messages))


def test_unanswered_tool_call() -> None:
    """A tool call without a tool message is refused, at the call's id."""
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [call("a"), call("b")]},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "user", "content": "and?"},
    ]
    error = rejected(request(messages=messages))
    assert (error.path, error.value) == ("messages[1].tool_calls[1].id", "b")


def test_tool_message_without_a_call() -> None:
    """A tool message must answer a tool call of the message before it."""
    messages = [
        {"role": "user", "content": "go"},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
    ]
    assert rejected(request(messages=messages)).path == "messages[1].role"


def test_tool_message_with_a_wrong_id() -> None:
    """A tool message naming no pending call is refused at its tool_call_id."""
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [call("a")]},
        {"role": "tool", "tool_call_id": "z", "content": "1"},
    ]
    error = rejected(request(messages=messages))
    assert (error.path, error.value) == ("messages[2].tool_call_id", "z")


def test_assistant_message_needs_content_or_tool_calls() -> None:
    """An assistant message with neither content nor tool calls is refused."""
    messages = [{"role": "user", "content": "go"}, {"role": "assistant", "content": None}]
    assert rejected(request(messages=messages)).path == "messages[1].content"


def test_content_parts() -> None:
    """Content parts are checked: text needs text, image_url needs a url."""

    def user(part: object) -> dict[str, Any]:
        return request(messages=[{"role": "user", "content": [part]}])

    validate_request("openai", user({"type": "image_url", "image_url": {"url": "https://x/y.png"}}))
    assert rejected(user({"type": "text", "text": 3})).path == "messages[0].content[0].text"
    assert rejected(user({"type": "image_url"})).path == "messages[0].content[0].image_url.url"


@pytest.mark.parametrize(
    ("name", "value"),
    [("temperature", 2.5), ("temperature", -0.1), ("top_p", 1.5), ("presence_penalty", 3),
     ("frequency_penalty", -2.5), ("temperature", float("nan")), ("n", 0)],
)  # fmt: skip
def test_sampling_ranges(name: str, value: float) -> None:
    """Sampling parameters outside OpenAI's documented ranges are refused."""
    assert rejected(request(**{name: value})).path == name


def test_sampling_edges_pass() -> None:
    """The ends of each range are valid."""
    validate_request("openai", request(temperature=2, top_p=0, presence_penalty=-2, n=1))


def test_not_given_and_none_are_absent() -> None:
    """NOT_GIVEN and None for optional arguments are not bad values."""
    validate_request("openai", request(temperature=None, top_p=openai.NOT_GIVEN, max_tokens=None))

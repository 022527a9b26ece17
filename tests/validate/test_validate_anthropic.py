"""Anthropic request rules, checked before any network, with the field path and value."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from anthropic.types import TextBlock, ToolUseBlock

from riprap.models import Registry, UnknownModelWarning
from riprap.validate import (
    ContextOverflowError,
    InputRules,
    PromptValidationError,
    materialize,
    validate_request,
)

MODEL = "claude-haiku-4-5"  # 200,000-token window, 64,000 output, supports prefill


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
        validate_request("anthropic", kwargs, rules=rules)
    assert caught.value.provider == "anthropic"
    return caught.value


def test_a_plain_request_passes_and_reports_its_estimate() -> None:
    """A well-formed request passes; the result carries the model entry and estimate."""
    checked = validate_request("anthropic", request(system="Be brief."))
    assert checked.model is not None
    assert checked.model.id == "claude-haiku-4-5-20251001"
    assert checked.max_tokens == 256
    assert checked.prompt_tokens > 0


# -- the seed cases ---------------------------------------------------------------------


def test_empty_messages() -> None:
    """An empty messages list is refused, naming `messages`."""
    error = rejected(request(messages=[]))
    assert error.path == "messages"
    assert str(error) == "messages: [] is not a non-empty list of messages"


def test_assistant_first() -> None:
    """A conversation must start with the user (unless explicitly allowed)."""
    messages = [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Hello"}]
    error = rejected(request(messages=messages))
    assert error.path == "messages[0].role"
    assert error.value == "assistant"
    allowed = InputRules(allow_assistant_first=True)
    validate_request("anthropic", request(messages=messages), rules=allowed)


def test_system_in_messages() -> None:
    """A system role inside messages is refused, pointing at the `system` argument."""
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    error = rejected(request(messages=messages))
    assert error.path == "messages[0].role"
    assert "top-level `system`" in str(error)


@pytest.mark.parametrize("max_tokens", [-1, 64_001, 10**9])
def test_max_tokens_out_of_range(max_tokens: int) -> None:
    """max_tokens must be within 0..the model's output limit."""
    error = rejected(request(max_tokens=max_tokens))
    assert error.path == "max_tokens"
    assert str(error) == f"max_tokens: {max_tokens} is not an int in 0..64000"


def test_max_tokens_missing_or_not_an_int() -> None:
    """max_tokens is required by the Messages API, and must be an int."""
    kwargs = request()
    del kwargs["max_tokens"]
    assert rejected(kwargs).path == "max_tokens"
    assert rejected(request(max_tokens="256")).path == "max_tokens"
    assert rejected(request(max_tokens=True)).path == "max_tokens"


def test_max_tokens_zero_warms_the_cache() -> None:
    """max_tokens 0 is documented (it only populates the prompt cache), so it passes."""
    validate_request("anthropic", request(max_tokens=0))


def test_unknown_model_warns_and_skips_limits() -> None:
    """An unknown model is a warning by default: nothing model-specific is checked."""
    with pytest.warns(UnknownModelWarning):
        checked = validate_request(
            "anthropic", request(model="claude-next-1", max_tokens=10**7), rules=InputRules()
        )
    assert checked.model is None


def test_unknown_model_in_strict_mode() -> None:
    """A strict registry turns an unknown model into a validation error on `model`."""
    rules = InputRules(registry=Registry.default(strict=True))
    error = rejected(request(model="claude-next-1"), rules)
    assert error.path == "model"
    assert error.value == "claude-next-1"


def test_model_of_the_other_provider() -> None:
    """An OpenAI model sent to the Anthropic API is refused."""
    assert rejected(request(model="gpt-4o")).path == "model"


def test_prompt_too_long() -> None:
    """An estimated prompt plus max_tokens over the window is a context overflow."""
    big = "word " * 200_000  # about 250,000 tokens by the default estimate
    with pytest.raises(ContextOverflowError) as caught:
        validate_request("anthropic", request(messages=[{"role": "user", "content": big}]))
    error = caught.value
    assert error.window == 200_000
    assert error.max_tokens == 256
    assert error.estimate > 200_000
    assert error.path == "messages"


def test_prompt_that_fits_only_without_the_output() -> None:
    """The output counts against the window too: room for the prompt alone is not enough."""
    prompt = "x" * (4 * 150_000)  # 150,000 tokens + framing
    messages = [{"role": "user", "content": prompt}]
    validate_request("anthropic", request(messages=messages, max_tokens=1_000))
    with pytest.raises(ContextOverflowError) as caught:
        validate_request("anthropic", request(messages=messages, max_tokens=60_000))
    assert caught.value.max_tokens == 60_000


def test_context_check_can_be_switched_off() -> None:
    """check_context=False leaves the window to the API."""
    big = [{"role": "user", "content": "word " * 200_000}]
    validate_request("anthropic", request(messages=big), rules=InputRules(check_context=False))


# -- roles and content ------------------------------------------------------------------


def test_misspelt_role_names_the_path_and_the_choices() -> None:
    """A bad role's message says where, what, and what is allowed."""
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "assitant", "content": "d"},
    ]
    error = rejected(request(messages=messages))
    assert str(error) == "messages[3].role: 'assitant' is not one of 'user', 'assistant'"


def test_consecutive_same_role_turns_are_allowed() -> None:
    """The API combines consecutive same-role turns, so they are not an error."""
    messages = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    validate_request("anthropic", request(messages=messages))


def test_empty_content_only_for_a_final_assistant_message() -> None:
    """Empty content is refused except on the final (prefill) assistant message."""
    assert rejected(request(messages=[{"role": "user", "content": ""}])).path == (
        "messages[0].content"
    )
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]
    validate_request("anthropic", request(messages=messages))


def test_content_blocks_of_known_shapes() -> None:
    """Known block types are checked field by field; unknown types pass through."""

    def with_block(block: object) -> dict[str, Any]:
        return request(messages=[{"role": "user", "content": [block]}])

    assert rejected(with_block({"type": "text", "text": ""})).path == "messages[0].content[0].text"
    assert rejected(with_block({"type": "text"})).path == "messages[0].content[0].text"
    assert rejected(with_block({"text": "x"})).path == "messages[0].content[0].type"
    assert rejected(with_block({"type": "image"})).path == "messages[0].content[0].source"
    assert rejected(with_block("x")).path == "messages[0].content[0]"
    validate_request("anthropic", with_block({"type": "some_future_block", "x": 1}))


def test_tool_use_in_a_user_message_is_refused() -> None:
    """tool_use blocks belong to the assistant, tool_result blocks to the user."""
    block = {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
    error = rejected(request(messages=[{"role": "user", "content": [block]}]))
    assert error.path == "messages[0].content[0].type"


def tool_exchange(result_id: str = "t1") -> list[dict[str, Any]]:
    """A question, a tool call, and a result naming `result_id`."""
    return [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": result_id, "content": "sunny"}],
        },
    ]


def test_tool_use_and_result_pair_up() -> None:
    """A tool_result must answer a tool_use of the previous assistant turn."""
    validate_request("anthropic", request(messages=tool_exchange()))
    error = rejected(request(messages=tool_exchange("t2")))
    assert error.path == "messages[2].content[0].tool_use_id"
    assert error.value == "t2"


def test_tool_use_without_a_result_is_refused() -> None:
    """Every tool_use needs a tool_result in the next user turn."""
    messages = [*tool_exchange()[:2], {"role": "user", "content": "never mind"}]
    error = rejected(request(messages=messages))
    assert error.path == "messages[1].content[0].id"


def test_sdk_objects_are_accepted_as_content() -> None:
    """A response's content blocks (SDK objects) can be sent back as they are."""
    blocks = [
        TextBlock(type="text", text="Let me check."),
        ToolUseBlock(type="tool_use", id="t1", name="weather", input={"city": "Oslo"}),
    ]
    messages = tool_exchange()
    messages[1] = {"role": "assistant", "content": blocks}
    validate_request("anthropic", request(messages=messages))


def test_prefill_refused_by_models_without_it() -> None:
    """Claude 4.6 and later refuse a final assistant message; riprap says so first."""
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "{"}]
    validate_request("anthropic", request(messages=messages))
    error = rejected(request(model="claude-opus-4-6", messages=messages))
    assert error.path == "messages[1].role"
    assert "prefill" in str(error)


def test_prefill_may_not_end_with_whitespace() -> None:
    """A prefill ending in whitespace is an API error, caught before the call."""
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "The "}]
    assert rejected(request(messages=messages)).path == "messages[1].content"


def test_sampling_parameters() -> None:
    """Sampling values are range-checked, and refused for models that take none."""
    assert rejected(request(extra_body={"temperature": 1.5})).path == "extra_body.temperature"
    assert rejected(request(extra_body={"top_k": -1})).path == "extra_body.top_k"
    validate_request("anthropic", request(extra_body={"temperature": 0.2, "top_k": 5}))
    error = rejected(request(model="claude-sonnet-5", extra_body={"temperature": 0.2}))
    assert "no sampling parameters" in str(error)


def test_system_prompt_shapes() -> None:
    """The system prompt is a str or a list of text blocks."""
    validate_request("anthropic", request(system=[{"type": "text", "text": "Be brief."}]))
    assert rejected(request(system=[{"type": "image"}])).path == "system[0].type"
    assert rejected(request(system=42)).path == "system"


def test_sdk_not_given_sentinels_are_absent_values() -> None:
    """NOT_GIVEN / omit for optional arguments read as 'not given', not as bad values."""
    validate_request(
        "anthropic", request(system=anthropic.NOT_GIVEN, stop_sequences=anthropic.omit)
    )


def test_generator_messages_are_materialized_first() -> None:
    """materialize() turns an iterator into a list, so checking it does not consume it."""
    kwargs = materialize(request(messages=(m for m in [{"role": "user", "content": "hi"}])))
    assert kwargs["messages"] == [{"role": "user", "content": "hi"}]
    validate_request("anthropic", kwargs)


def test_long_values_are_clipped_in_messages() -> None:
    """An error quotes at most a short piece of a bad value, never a whole prompt."""
    error = rejected(request(messages=[{"role": "x" * 500, "content": "hi"}]))
    assert len(str(error)) < 200

"""The simulator as the real OpenAI SDK sees it: success and error wire shapes."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from riprap.sim import Reply, Simulator, default_text

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello, sim."}]


def _create(
    client: openai.OpenAI,
    max_tokens: int | openai.Omit = openai.omit,
    max_completion_tokens: int | openai.Omit = openai.omit,
) -> ChatCompletion:
    return client.chat.completions.create(
        model="gpt-test",
        messages=MESSAGES,
        max_tokens=max_tokens,
        max_completion_tokens=max_completion_tokens,
    )


def test_success_parses_to_chat_completion(sim: Simulator, gpt: openai.OpenAI) -> None:
    """A default reply is a valid ChatCompletion with the predictable text."""
    completion = _create(gpt)
    assert isinstance(completion, ChatCompletion)
    choice = completion.choices[0]
    assert choice.message.content == default_text(MESSAGES)
    assert choice.finish_reason == "stop"
    assert completion.model == "gpt-test"
    assert completion.id == "chatcmpl-sim000000"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(default_text(MESSAGES).split())
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert sim.requests[0].provider == "openai"


def test_same_prompt_same_text_across_providers() -> None:
    """The default text depends only on the messages, so both providers can share a fixture."""
    assert default_text(MESSAGES) == default_text([{"role": "user", "content": "Hello, sim."}])


def test_success_carries_request_id(sim: Simulator, gpt: openai.OpenAI) -> None:
    """Successful responses carry x-request-id, which the SDK exposes as _request_id."""
    assert _create(gpt)._request_id == sim.requests[0].request_id == "req_sim_000000"


@pytest.mark.parametrize("legacy", [True, False])
def test_token_limit_truncates(gpt: openai.OpenAI, *, legacy: bool) -> None:
    """Either token limit (max_tokens or max_completion_tokens) cuts the text to length."""
    completion = _create(gpt, max_tokens=3) if legacy else _create(gpt, max_completion_tokens=3)
    choice = completion.choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content == default_text(MESSAGES, max_tokens=3)


ERRORS: list[tuple[int, type[openai.APIStatusError], str, str | None]] = [
    (400, openai.BadRequestError, "invalid_request_error", None),
    (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
    (402, openai.APIStatusError, "invalid_request_error", None),
    (403, openai.PermissionDeniedError, "invalid_request_error", None),
    (404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
    (408, openai.APIStatusError, "invalid_request_error", None),
    (409, openai.ConflictError, "invalid_request_error", None),
    (413, openai.APIStatusError, "invalid_request_error", None),
    (422, openai.UnprocessableEntityError, "invalid_request_error", None),
    (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
    (500, openai.InternalServerError, "server_error", None),
    (502, openai.InternalServerError, "server_error", None),
    (503, openai.InternalServerError, "server_error", None),
    (504, openai.InternalServerError, "server_error", None),
    (529, openai.InternalServerError, "server_error", None),
]


@pytest.mark.parametrize("case", ERRORS, ids=[str(case[0]) for case in ERRORS])
def test_error_status_maps_to_sdk_error(
    sim: Simulator,
    gpt: openai.OpenAI,
    case: tuple[int, type[openai.APIStatusError], str, str | None],
) -> None:
    """Each error status raises the SDK's class for it, with request id, type and code."""
    status, error, error_type, code = case
    sim.script(Reply(status=status))
    with pytest.raises(openai.APIStatusError) as caught:
        _create(gpt)
    err = caught.value
    assert type(err) is error
    assert err.status_code == status
    assert err.request_id == sim.requests[-1].request_id == "req_sim_000000"
    assert err.type == error_type
    assert err.code == code
    assert isinstance(err.body, dict)
    assert set(err.body) == {"message", "type", "param", "code"}


def test_insufficient_quota(sim: Simulator, gpt: openai.OpenAI) -> None:
    """The billing 429 puts insufficient_quota in both error.code and error.type."""
    sim.script(Reply(status=429, error_code="insufficient_quota"))
    with pytest.raises(openai.RateLimitError) as caught:
        _create(gpt)
    assert caught.value.code == "insufficient_quota"
    assert caught.value.type == "insufficient_quota"
    assert "quota" in caught.value.message


def test_context_length_exceeded(sim: Simulator, gpt: openai.OpenAI) -> None:
    """The overflow 400 carries code context_length_exceeded and param messages."""
    sim.script(Reply(status=400, error_code="context_length_exceeded"))
    with pytest.raises(openai.BadRequestError) as caught:
        _create(gpt)
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    assert caught.value.type == "invalid_request_error"


def test_retry_after_header_reaches_sdk(sim: Simulator, gpt: openai.OpenAI) -> None:
    """Scripted retry headers arrive on the SDK's error response."""
    sim.script(Reply(status=503, headers={"retry-after": "2", "retry-after-ms": "1500"}))
    with pytest.raises(openai.InternalServerError) as caught:
        _create(gpt)
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.response.headers["retry-after-ms"] == "1500"


def test_models_list(gpt: openai.OpenAI) -> None:
    """models.list answers in the SDK's shape."""
    assert [m.id for m in gpt.models.list()] == ["gpt-sim-1"]

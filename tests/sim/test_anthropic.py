"""The simulator as the real Anthropic SDK sees it: success and error wire shapes."""

from __future__ import annotations

import anthropic
import pytest
from anthropic.types import Message

from riprap.sim import ANTHROPIC_SPEND_LIMIT_CODES, Reply, Simulator, default_text

MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Hello, sim."}]


def _create(client: anthropic.Anthropic, max_tokens: int = 64) -> Message:
    return client.messages.create(model="claude-test", max_tokens=max_tokens, messages=MESSAGES)


def test_success_parses_to_message(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """A default reply is a valid Message with the predictable text and the request's model."""
    message = _create(claude)
    assert isinstance(message, Message)
    assert message.content[0].type == "text"
    assert message.content[0].text == default_text(MESSAGES)
    assert message.model == "claude-test"
    assert message.stop_reason == "end_turn"
    assert message.id == "msg_sim_000000"
    assert message.usage.output_tokens == len(default_text(MESSAGES).split())
    assert message.usage.input_tokens > 0
    assert sim.requests[0].provider == "anthropic"


def test_success_carries_request_id(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """Successful responses carry the request-id header the SDK exposes."""
    raw = claude.messages.with_raw_response.create(
        model="claude-test", max_tokens=64, messages=MESSAGES
    )
    assert raw.headers["request-id"] == sim.requests[0].request_id == "req_sim_000000"


def test_max_tokens_truncates(claude: anthropic.Anthropic) -> None:
    """A max_tokens below the default length cuts the text and reports max_tokens."""
    message = _create(claude, max_tokens=2)
    assert message.stop_reason == "max_tokens"
    assert message.content[0].type == "text"
    assert message.content[0].text == default_text(MESSAGES, max_tokens=2)
    assert len(message.content[0].text.split()) == 2


def test_text_and_usage_overrides(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """Reply.text and Reply.usage replace the derived values."""
    sim.script(Reply(text="forty two", usage=(100, 7)))
    message = _create(claude)
    assert message.content[0].type == "text"
    assert message.content[0].text == "forty two"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (100, 7)


ERRORS: list[tuple[int, type[anthropic.APIStatusError], str]] = [
    (400, anthropic.BadRequestError, "invalid_request_error"),
    (401, anthropic.AuthenticationError, "authentication_error"),
    (402, anthropic.PaymentRequiredError, "billing_error"),
    (403, anthropic.PermissionDeniedError, "permission_error"),
    (404, anthropic.NotFoundError, "not_found_error"),
    (408, anthropic.RequestTimeoutError, "timeout_error"),
    (409, anthropic.ConflictError, "conflict_error"),
    (413, anthropic.ContentTooLargeError, "request_too_large"),
    (422, anthropic.UnprocessableEntityError, "invalid_request_error"),
    (429, anthropic.RateLimitError, "rate_limit_error"),
    (500, anthropic.InternalServerError, "api_error"),
    (502, anthropic.InternalServerError, "api_error"),
    (503, anthropic.ServiceUnavailableError, "api_error"),
    (504, anthropic.GatewayTimeoutError, "timeout_error"),
    (529, anthropic.OverloadedError, "overloaded_error"),
]


@pytest.mark.parametrize(("status", "error", "error_type"), ERRORS)
def test_error_status_maps_to_sdk_error(
    sim: Simulator,
    claude: anthropic.Anthropic,
    status: int,
    error: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    """Each error status raises the SDK's class for it, with request id and error type."""
    sim.script(Reply(status=status))
    with pytest.raises(anthropic.APIStatusError) as caught:
        _create(claude)
    err = caught.value
    assert type(err) is error
    assert err.status_code == status
    assert err.request_id == sim.requests[-1].request_id == "req_sim_000000"
    assert err.type == error_type
    assert err.error_code is None
    assert isinstance(err.body, dict)
    assert err.body["type"] == "error"
    assert err.body["request_id"] == err.request_id


@pytest.mark.parametrize(
    ("status", "code", "base"),
    [
        (429, "contract_spend_limit_reached", anthropic.RateLimitError),
        (429, "enforced_spend_limit_reached", anthropic.RateLimitError),
        (402, "linked_organization_spend_limit_reached", anthropic.PaymentRequiredError),
    ],
)
def test_spend_limit_codes(
    sim: Simulator,
    claude: anthropic.Anthropic,
    status: int,
    code: str,
    base: type[anthropic.APIStatusError],
) -> None:
    """Spend-limit error codes land in error.details.error_code and pick the SDK subclass."""
    assert code in ANTHROPIC_SPEND_LIMIT_CODES
    sim.script(Reply(status=status, error_code=code))
    with pytest.raises(base) as caught:
        _create(claude)
    assert caught.value.error_code == code
    assert (
        type(caught.value) is not base
    )  # a dedicated subclass, e.g. ContractSpendLimitReachedError
    assert caught.value.details is not None


def test_context_overflow_message(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """Reply.message becomes error.message, which the SDK exposes as api_message."""
    text = "prompt is too long: 210000 tokens > 200000 maximum"
    sim.script(Reply(status=400, message=text))
    with pytest.raises(anthropic.BadRequestError) as caught:
        _create(claude)
    assert caught.value.api_message == text
    assert text in caught.value.message


def test_error_type_override_and_headers(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """error_type overrides the default and extra headers reach the SDK's response."""
    sim.script(Reply(status=500, error_type="overloaded_error", headers={"x-should-retry": "true"}))
    with pytest.raises(anthropic.InternalServerError) as caught:
        _create(claude)
    assert caught.value.type == "overloaded_error"
    assert caught.value.response.headers["x-should-retry"] == "true"


def test_dict_body_is_sent_as_is(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """A dict body replaces the default, so a test can send any shape."""
    sim.script(Reply(status=429, body={"error": "nope"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        _create(claude)
    assert caught.value.body == {"error": "nope"}
    assert caught.value.type is None


def test_count_tokens_and_models(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """count_tokens and models.list answer in the SDK's shapes."""
    count = claude.messages.count_tokens(model="claude-test", messages=MESSAGES)
    assert count.input_tokens == _create(claude).usage.input_tokens
    models = claude.models.list()
    assert [m.id for m in models.data] == ["claude-sim-1"]
    assert [r.path for r in sim.requests] == [
        "/v1/messages/count_tokens",
        "/v1/messages",
        "/v1/models",
    ]

"""Cost from registry prices and actual usage, and the per-call ceiling before the call."""

from __future__ import annotations

import math
from typing import Any

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

from riprap.budget import (
    BudgetExceededError,
    Budgets,
    TokenUsage,
    cost,
    hold,
    settle,
    worst_case_cost,
)
from riprap.errors import ConfigError
from riprap.models import Prices, Registry
from riprap.validate import validate_request

OPUS = Prices(input=5.0, output=25.0, cache_read=0.5, cache_write=6.25, cache_write_1h=10.0)


def test_anthropic_cost_counts_every_class_of_token() -> None:
    """Fresh input, output, cache reads and both cache writes are each priced."""
    usage = TokenUsage(
        input_tokens=1_000,
        output_tokens=2_000,
        cache_read_tokens=10_000,
        cache_write_tokens=4_000,
        cache_write_1h_tokens=1_000,
    )
    # 1000*5 + 2000*25 + 10000*0.5 + 4000*6.25 + 1000*10 = 95,000 per million
    assert cost(OPUS, usage) == pytest.approx(0.095)


def test_long_context_band_prices_the_whole_request() -> None:
    """Over the threshold, every token of the request is priced at the long-context band."""
    prices = Registry.default()["gpt-6.2-sol"].prices
    assert prices is not None
    short = TokenUsage(input_tokens=272_000, output_tokens=1_000)
    long = TokenUsage(input_tokens=272_001, output_tokens=1_000)
    assert cost(prices, short) == pytest.approx((272_000 * 2 + 1_000 * 10) / 1e6)
    assert cost(prices, long) == pytest.approx((272_001 * 4 + 1_000 * 15) / 1e6)


def test_unpublished_cache_prices_err_high() -> None:
    """A missing cache-read price is the input price; a missing write price twice it."""
    prices = Prices(input=8.0, output=40.0)
    usage = TokenUsage(cache_read_tokens=1_000_000, cache_write_tokens=1_000_000)
    assert cost(prices, usage) == pytest.approx(8.0 + 16.0)


def test_usage_of_an_anthropic_message() -> None:
    """Anthropic's usage splits cache reads and 5-minute / 1-hour writes."""
    message = Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-5",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 300,
                  "cache_creation_input_tokens": 50,
                  "cache_creation": {"ephemeral_5m_input_tokens": 30,
                                     "ephemeral_1h_input_tokens": 20}},
    })  # fmt: skip
    assert TokenUsage.of(message) == TokenUsage(
        input_tokens=10,
        output_tokens=20,
        cache_read_tokens=300,
        cache_write_tokens=30,
        cache_write_1h_tokens=20,
    )


def test_usage_of_an_openai_completion() -> None:
    """OpenAI's prompt_tokens include the cached ones; they are moved to cache reads."""
    completion = ChatCompletion.model_validate({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 1_000, "completion_tokens": 50, "total_tokens": 1_050,
                  "prompt_tokens_details": {"cached_tokens": 600}},
    })  # fmt: skip
    usage = TokenUsage.of(completion)
    assert usage == TokenUsage(input_tokens=400, output_tokens=50, cache_read_tokens=600)
    prices = Registry.default()["gpt-4o"].prices
    assert prices is not None
    assert cost(prices, usage) == pytest.approx((400 * 2.5 + 50 * 10 + 600 * 1.25) / 1e6)


def test_usage_of_something_without_usage() -> None:
    """A response that reports no usage has no usage."""
    assert TokenUsage.of(object()) is None


def test_worst_case_is_prompt_at_input_plus_max_tokens_at_output() -> None:
    """The estimate before the call: every prompt token fresh, every output token used."""
    assert worst_case_cost(OPUS, 10_000, 1_000) == pytest.approx((10_000 * 5 + 1_000 * 25) / 1e6)


def checked(**overrides: Any) -> Any:
    """A validated Opus 5 request with a 4,000-character prompt."""
    kwargs = {
        "model": "claude-opus-5",
        "max_tokens": 4_000,
        "messages": [{"role": "user", "content": "x" * 4_000}],
    }
    kwargs.update(overrides)
    return validate_request("anthropic", kwargs)


def test_per_call_ceiling_refuses_before_sending() -> None:
    """A call whose worst case is over the ceiling is refused, with the numbers."""
    request = checked()  # 1,003 prompt tokens, 4,000 output: $0.105015 at worst
    with pytest.raises(BudgetExceededError) as caught:
        hold(Budgets(per_call=0.10), request)
    error = caught.value
    assert error.scope == "call"
    assert error.limit == 0.10
    assert error.estimate == pytest.approx((1_003 * 5 + 4_000 * 25) / 1e6)
    held = hold(Budgets(per_call=0.11), request)
    assert held.estimate == pytest.approx(error.estimate)


def test_settle_returns_the_actual_cost() -> None:
    """After the call the actual usage, not the estimate, is the cost."""
    budgets = Budgets()
    held = hold(budgets, checked())
    assert settle(
        budgets, held, TokenUsage(input_tokens=1_000, output_tokens=100)
    ) == pytest.approx((1_000 * 5 + 100 * 25) / 1e6)


def test_openai_without_max_tokens_assumes_the_models_maximum() -> None:
    """With no output limit the worst case is the model's whole output allowance."""
    request = validate_request(
        "openai", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    )
    held = hold(Budgets(), request)
    assert held.estimate == pytest.approx((request.prompt_tokens * 2.5 + 16_384 * 10) / 1e6)


def test_budgets_config_is_validated() -> None:
    """Bad budget values fail when the config is made."""
    with pytest.raises(ConfigError, match="per_call: -1"):
        Budgets(per_call=-1)
    with pytest.raises(ConfigError, match="per_call: nan"):
        Budgets(per_call=math.nan)

"""Token estimation: the default rule's bounds, request shapes, and the counting endpoint."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anthropic
import pytest

from riprap.limiter import anthropic_token_counter, estimate_input_tokens, estimate_tokens
from riprap.limiter._estimate import PER_ATTACHMENT, PER_MESSAGE, PER_REQUEST
from riprap.sim import Reply, Simulator
from riprap.sim import estimate_input_tokens as sim_tokens

FIXTURES = Path(__file__).parent / "fixtures"

#: Token counts published for these strings: cl100k (OpenAI's tiktoken tests) and the
#: GPT-3 tokenizer (OpenAI's help article "What are tokens and how to count them?").
REFERENCES = [
    ("hello world", 2),
    ("The quick brown fox jumps over the lazy dog", 9),
    ("You miss 100% of the shots you don't take", 11),
]


@pytest.mark.parametrize(("text", "tokens"), REFERENCES)
def test_published_counts_are_not_underestimated_by_much(text: str, tokens: int) -> None:
    """On published reference strings the rule errs high, by at most one token in two."""
    estimate = estimate_tokens(text)
    assert tokens <= estimate <= 1.5 * tokens


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("english.txt", 3.6, 4.0), ("code.py.txt", 2.9, 3.3)],
)
def test_characters_per_token_on_the_fixtures(name: str, low: float, high: float) -> None:
    """English prose reads as ~3.8 characters per token, Python as ~3.1 (documented)."""
    text = (FIXTURES / name).read_text()
    ratio = len(text) / estimate_tokens(text)
    assert low <= ratio <= high


def test_non_ascii_text_counts_a_token_per_character() -> None:
    """CJK text is about one token per character."""
    assert estimate_tokens("東京は日本の首都です") == 10
    assert estimate_tokens("") == 0


def test_estimate_is_fast() -> None:
    """A 100 kB prompt is estimated in a few milliseconds."""
    text = (FIXTURES / "english.txt").read_text() * 70
    started = time.perf_counter()
    estimate_tokens(text)
    assert time.perf_counter() - started < 0.05


def test_request_shapes() -> None:
    """System, messages, blocks, tool calls, tools and attachments all count."""
    text = "x" * 40  # 10 tokens
    anthropic_call = {
        "system": [{"type": "text", "text": text}],
        "messages": [
            {"role": "user", "content": text},
            {"role": "assistant",
             "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t", "content": text},
                {"type": "image", "source": {"type": "base64", "data": "..."}},
            ]},
        ],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
    }  # fmt: skip
    estimate = estimate_input_tokens(anthropic_call)
    fixed = PER_REQUEST + 3 * PER_MESSAGE + 3 * 10 + PER_ATTACHMENT
    assert fixed + 20 < estimate < fixed + 60
    openai_call = {"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    assert estimate_input_tokens(openai_call) == PER_REQUEST + PER_MESSAGE + 10
    assert estimate_input_tokens({"messages": "not a list", "system": 5}) == PER_REQUEST


def test_counting_endpoint_is_exact(sim: Simulator) -> None:
    """The Anthropic counter returns what the provider's count_tokens endpoint says."""
    messages: list[Any] = [{"role": "user", "content": "How many tokens is this?"}]
    with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
        count = anthropic_token_counter(client)
        assert count({"model": "claude-sim", "messages": messages, "max_tokens": 5}) == sim_tokens(
            messages
        )
        assert sim.requests[-1].path == "/v1/messages/count_tokens"
        assert "max_tokens" not in sim.requests[-1].body  # type: ignore[operator]


def test_counting_falls_back_to_the_estimate(sim: Simulator) -> None:
    """When the counting endpoint fails, the call is estimated instead of failing."""
    sim.script(Reply(status=500))
    request = {"model": "claude-sim", "messages": [{"role": "user", "content": "x" * 400}]}
    with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
        assert anthropic_token_counter(client)(request) == estimate_input_tokens(request)

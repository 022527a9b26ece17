"""The sliding window: newest turns kept within the budget, tool exchanges never split."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riprap.context import SlidingWindow, prompt_budget, sliding_window, units
from riprap.models import Registry
from riprap.validate import ContextOverflowError, estimate_tokens, validate_request


def conversation(turns: int, words_per_turn: int = 150) -> list[dict[str, Any]]:
    """`turns` exchanges (a user message and the reply), then the user's next question."""
    messages = []
    for n in range(turns):
        text = ("lorem ipsum " * words_per_turn).strip()
        messages.append({"role": "user", "content": f"question {n}: {text}"})
        messages.append({"role": "assistant", "content": f"answer {n}: {text}"})
    messages.append({"role": "user", "content": f"question {turns}: and now?"})
    return messages


def test_a_500_turn_conversation_fits_the_window_with_the_newest_turns_intact() -> None:
    """500 turns (~900K tokens) are cut to fit a 200K window; the newest stay whole."""
    model = Registry.default()["claude-haiku-4-5"]
    messages = conversation(500)
    system = "You are a patient assistant."
    kwargs = {"model": model.id, "max_tokens": 8_000, "messages": messages, "system": system}
    with pytest.raises(ContextOverflowError):
        validate_request("anthropic", kwargs)
    fitted = SlidingWindow().fit("anthropic", kwargs, model)
    kept = fitted["messages"]
    assert kept == messages[len(messages) - len(kept) :]  # the newest, unchanged, in order
    assert kept[0]["role"] == "user"
    assert fitted["system"] == system
    estimate = estimate_tokens(kept, system)
    assert estimate + 8_000 <= model.context_window
    assert estimate <= prompt_budget(model, 8_000, 0.25)
    assert estimate > prompt_budget(model, 8_000, 0.25) - 2_000  # and not needlessly short
    validate_request("anthropic", fitted)


def anthropic_tool_turn(n: int) -> list[dict[str, Any]]:
    """An Anthropic tool call and its result."""
    return [
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": f"t{n}", "name": "f", "input": {"n": n}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": f"t{n}", "content": "x" * 400}],
        },
    ]


def openai_tool_turn(n: int) -> list[dict[str, Any]]:
    """An OpenAI assistant message with two tool calls, and their answers."""
    calls = [
        {"id": f"c{n}{k}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for k in range(2)
    ]
    return [
        {"role": "assistant", "content": None, "tool_calls": calls},
        *[{"role": "tool", "tool_call_id": c["id"], "content": "y" * 300} for c in calls],
    ]


@st.composite
def tool_conversations(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """A provider and a conversation with tool exchanges in its shape."""
    provider = draw(st.sampled_from(["anthropic", "openai"]))
    messages: list[dict[str, Any]] = []
    if provider == "openai":
        messages.append({"role": "system", "content": "sys " * 20})
    for n in range(draw(st.integers(1, 25))):
        messages.append({"role": "user", "content": "q " * draw(st.integers(1, 300))})
        if draw(st.booleans()):
            messages += anthropic_tool_turn(n) if provider == "anthropic" else openai_tool_turn(n)
        messages.append({"role": "assistant", "content": "a " * draw(st.integers(1, 300)) + "."})
    messages.append({"role": "user", "content": "next?"})
    return provider, messages


@given(tool_conversations(), st.integers(600, 20_000))
def test_tool_pairs_are_never_split(case: tuple[str, list[dict[str, Any]]], budget: int) -> None:
    """Whatever the budget, the kept history is valid: every tool result has its call."""
    provider, messages = case
    try:
        kept = sliding_window(messages, budget=budget, provider=provider)
    except ContextOverflowError:
        return
    assert estimate_tokens(kept) <= budget
    model = "claude-haiku-4-5" if provider == "anthropic" else "gpt-4o"
    validate_request(provider, {"model": model, "max_tokens": 10, "messages": kept})
    if provider == "openai":
        assert kept[0]["role"] == "system"  # the system prompt is pinned


def test_units_keep_tool_exchanges_together() -> None:
    """An assistant tool call and the message(s) answering it form one unit."""
    messages = [{"role": "user", "content": "go"}, *openai_tool_turn(1)]
    assert [len(u) for u in units("openai", messages)] == [1, 3]
    messages = [{"role": "user", "content": "go"}, *anthropic_tool_turn(1)]
    assert [len(u) for u in units("anthropic", messages)] == [1, 2]


def test_nothing_fits() -> None:
    """If the newest turn alone is over the budget, the error says so with the numbers."""
    with pytest.raises(ContextOverflowError) as caught:
        sliding_window(conversation(3, words_per_turn=400)[:-1], budget=100, provider="anthropic")
    assert caught.value.window == 100
    assert caught.value.estimate > 100


def test_everything_fits() -> None:
    """A conversation within the budget is returned whole."""
    messages = conversation(4, words_per_turn=5)
    assert sliding_window(messages, budget=10_000, provider="openai") == messages

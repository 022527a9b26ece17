"""Compressing old history into a summary from a cheaper model, called through riprap."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

import riprap
from riprap.context import (
    SUMMARY_HEADER,
    Summarize,
    acompress_history,
    asummarizer,
    compress_history,
    summarizer,
    transcript,
)
from riprap.errors import ConfigError
from riprap.models import Registry
from riprap.sim import Reply, Simulator
from riprap.validate import estimate_tokens, validate_request
from support import make_client

if TYPE_CHECKING:
    from collections.abc import Sequence


def history(turns: int) -> list[dict[str, Any]]:
    """`turns` long exchanges, then a short question."""
    messages = []
    for n in range(turns):
        messages.append({"role": "user", "content": f"question {n} " + "detail " * 100})
        messages.append({"role": "assistant", "content": f"answer {n} " + "reply " * 100})
    messages.append({"role": "user", "content": "so what now?"})
    return messages


def test_old_turns_become_a_summary_in_the_system_prompt() -> None:
    """Anthropic: the newest turns stay verbatim; the summary joins the system prompt."""
    seen: list[Sequence[object]] = []

    def summarize(old: Sequence[object]) -> str:
        seen.append(old)
        return "They discussed questions 0 to 7."

    messages = history(10)
    kept, system = compress_history(
        messages, summarize=summarize, keep_tokens=1_000, provider="anthropic", system="Be kind."
    )
    assert kept == messages[len(messages) - len(kept) :]
    assert estimate_tokens(kept) <= 1_000
    assert list(seen[0]) == messages[: len(messages) - len(kept)]
    assert system == f"Be kind.\n\n{SUMMARY_HEADER}\nThey discussed questions 0 to 7."


def test_openai_summary_is_a_system_message_after_the_pinned_ones() -> None:
    """OpenAI: the summary is a system message right after the original system prompt."""
    messages = [{"role": "system", "content": "Be kind."}, *history(10)]
    kept, system = compress_history(
        messages, summarize=lambda _old: "earlier: 0-7", keep_tokens=1_000, provider="openai"
    )
    assert system is None
    assert kept[0] == {"role": "system", "content": "Be kind."}
    assert kept[1] == {"role": "system", "content": f"{SUMMARY_HEADER}\nearlier: 0-7"}
    assert kept[2:] == messages[len(messages) - len(kept) + 2 :]


def test_nothing_is_summarized_when_everything_fits() -> None:
    """If the history fits, it is returned as is and the summarizer is not called."""

    def never(_old: Sequence[object]) -> str:
        raise AssertionError("called")

    messages = history(2)
    assert compress_history(
        messages, summarize=never, keep_tokens=100_000, provider="anthropic"
    ) == (
        messages,
        None,
    )


def test_transcript_includes_tool_calls() -> None:
    """The text given to the summarizer shows tool calls and results."""
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "weather", "input": {"c": "Oslo"}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "t", "content": "rain"}],
        },
    ]
    text = transcript(messages)
    assert "user: weather?" in text
    assert "[called weather with {'c': 'Oslo'}]" in text
    assert "[tool result: rain]" in text


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_summarizer_calls_a_cheaper_model_through_riprap(provider: str, sim: Simulator) -> None:
    """The summary comes from a wrapped client's call: one request, to the cheap model."""
    sim.script(Reply(text="A short summary."))
    client = riprap.wrap(make_client(provider, sim, is_async=False))
    create = client.messages.create if provider == "anthropic" else client.chat.completions.create
    summarize = summarizer(
        create,
        provider=provider,
        model="claude-sim" if provider == "anthropic" else "gpt-sim",
        max_tokens=200,
    )
    assert summarize(history(2)) == "A short summary."
    body = sim.requests[0].body
    assert isinstance(body, dict)
    assert body["model"] == ("claude-sim" if provider == "anthropic" else "gpt-sim")
    assert len(body["messages"]) == 1
    assert "question 1" in body["messages"][0]["content"]


def test_summarize_strategy_fits_the_model(sim: Simulator) -> None:
    """The Summarize strategy returns arguments that pass validation for the model."""
    sim.script(Reply(text="Earlier they covered everything."))
    client = riprap.wrap(make_client("anthropic", sim, is_async=False))
    model = Registry.default()["claude-haiku-4-5"]
    strategy = Summarize(
        summarize=summarizer(client.messages.create, provider="anthropic", model="claude-haiku-4-5")
    )
    kwargs: dict[str, Any] = {"model": model.id, "max_tokens": 1_000, "messages": history(400)}
    fitted = strategy.fit("anthropic", kwargs, model)
    validate_request("anthropic", fitted)
    assert isinstance(fitted["system"], str)
    assert SUMMARY_HEADER in fitted["system"]
    assert fitted["messages"][-1] == kwargs["messages"][-1]


def test_async_compression(sim: Simulator) -> None:
    """The async summarizer and compressor work like the sync ones."""
    sim.script(Reply(text="async summary"))

    async def go() -> tuple[list[Any], object]:
        client = riprap.wrap(make_client("openai", sim, is_async=True))
        try:
            summarize = asummarizer(
                client.chat.completions.create, provider="openai", model="gpt-sim"
            )
            return await acompress_history(
                history(10), summarize=summarize, keep_tokens=800, provider="openai"
            )
        finally:
            await client.close()

    kept, _ = asyncio.run(go())
    assert kept[0]["content"].endswith("async summary")
    body = sim.requests[0].body
    assert isinstance(body, dict)
    assert body["max_completion_tokens"] == 1024


def test_summarize_needs_a_summarizer() -> None:
    """A Summarize strategy without a summarize function is a config error."""
    with pytest.raises(ConfigError, match="summarize"):
        Summarize()

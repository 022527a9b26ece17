"""Compressing old history: a summary from a cheaper model stands in for the old turns.

`compress_history` keeps the newest turns that fit `keep_tokens` (the sliding window),
asks `summarize(old_messages)` for a summary of the rest, and puts the summary where a
system prompt goes: appended to Anthropic's `system`, or as a system message after
OpenAI's pinned ones. `summarize` is any callable; `summarizer(create, ...)` makes one
from a riprap-wrapped client's create method, so the summary call gets riprap's
retries, deadline and budgets too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from riprap.context._window import pinned_count, sliding_window
from riprap.validate import answer_text, estimate_tokens
from riprap.validate._estimate import _as_mapping

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from riprap.validate import Estimator

#: How the summary is introduced to the model.
SUMMARY_HEADER = "Summary of the earlier part of this conversation:"
#: The instructions given to the summarizing model.
SUMMARY_INSTRUCTIONS = (
    "Summarize the conversation below for the assistant who will continue it. Keep every "
    "fact, decision, name, number and open question it will need; drop pleasantries. "
    "Write plain prose, no preamble."
)


def transcript(messages: Sequence[object]) -> str:
    """The messages as plain text, one `role: text` paragraph each, tool calls included."""
    lines = []
    for message in messages:
        mapping = _as_mapping(message) or {}
        role = mapping.get("role", "?")
        content = mapping.get("content")
        if isinstance(content, str):
            text = content
        else:
            parts = []
            for raw in content if isinstance(content, Sequence) else ():
                block = _as_mapping(raw) or {}
                kind = block.get("type")
                if kind == "text":
                    parts.append(str(block.get("text", "")))
                elif kind == "tool_use":
                    parts.append(f"[called {block.get('name')} with {block.get('input')}]")
                elif kind == "tool_result":
                    parts.append(f"[tool result: {block.get('content')}]")
                elif kind is not None:
                    parts.append(f"[{kind}]")
            text = " ".join(parts)
        calls = mapping.get("tool_calls")
        for call in calls if isinstance(calls, Sequence) else ():
            function = _as_mapping((_as_mapping(call) or {}).get("function")) or {}
            text += f" [called {function.get('name')} with {function.get('arguments')}]"
        lines.append(f"{role}: {text.strip()}")
    return "\n\n".join(lines)


def summarizer(
    create: Callable[..., Any],
    *,
    provider: str,
    model: str,
    max_tokens: int = 1024,
    instructions: str = SUMMARY_INSTRUCTIONS,
) -> Callable[[Sequence[object]], str]:
    """A `summarize` callable that asks a cheaper `model` through `create`.

    `create` is a wrapped client's `messages.create` or `chat.completions.create`.
    """

    def summarize(old: Sequence[object]) -> str:
        request = summary_request(
            old, provider=provider, model=model, max_tokens=max_tokens, instructions=instructions
        )
        return answer_text(create(**request))

    return summarize


def asummarizer(
    create: Callable[..., Awaitable[Any]],
    *,
    provider: str,
    model: str,
    max_tokens: int = 1024,
    instructions: str = SUMMARY_INSTRUCTIONS,
) -> Callable[[Sequence[object]], Awaitable[str]]:
    """`summarizer` for an async client's create method."""

    async def summarize(old: Sequence[object]) -> str:
        request = summary_request(
            old, provider=provider, model=model, max_tokens=max_tokens, instructions=instructions
        )
        return answer_text(await create(**request))

    return summarize


def summary_request(
    old: Sequence[object], *, provider: str, model: str, max_tokens: int, instructions: str
) -> dict[str, Any]:
    """The create arguments that ask `model` to summarize `old`: one user turn."""
    text = f"{instructions}\n\n<conversation>\n{transcript(old)}\n</conversation>"
    # OpenAI's reasoning models refuse the older `max_tokens`; both names cap the output.
    limit = "max_completion_tokens" if provider == "openai" else "max_tokens"
    return {
        "model": model,
        limit: max_tokens,
        "messages": [{"role": "user", "content": text}],
    }


def split_history(
    messages: Sequence[Any],
    *,
    keep_tokens: int,
    provider: str,
    system: object = None,
    estimator: Estimator = estimate_tokens,
) -> tuple[list[Any], list[Any], list[Any]]:
    """(pinned system messages, old messages to summarize, newest messages kept)."""
    kept = sliding_window(
        messages, budget=keep_tokens, provider=provider, system=system, estimator=estimator
    )
    pinned = list(messages[: pinned_count(provider, messages)])
    recent = kept[len(pinned) :]
    old = list(messages[len(pinned) : len(messages) - len(recent)])
    return pinned, old, recent


def with_summary(
    provider: str, pinned: list[Any], recent: list[Any], system: object, summary: str
) -> tuple[list[Any], object]:
    """(messages, system) with `summary` placed where a system prompt goes."""
    note = f"{SUMMARY_HEADER}\n{summary.strip()}"
    if provider == "openai":
        return [*pinned, {"role": "system", "content": note}, *recent], system
    if system is None or system == "":
        return recent, note
    if isinstance(system, str):
        return recent, f"{system}\n\n{note}"
    return recent, [*system, {"type": "text", "text": note}]  # type: ignore[misc]


def compress_history(
    messages: Sequence[Any],
    *,
    summarize: Callable[[Sequence[object]], str],
    keep_tokens: int,
    provider: str,
    system: object = None,
    estimator: Estimator = estimate_tokens,
) -> tuple[list[Any], object]:
    """(messages, system): the newest turns within `keep_tokens`, the rest summarized.

    Nothing is summarized (and `summarize` is not called) when everything fits.
    """
    pinned, old, recent = split_history(
        messages, keep_tokens=keep_tokens, provider=provider, system=system, estimator=estimator
    )
    if not old:
        return list(messages), system
    return with_summary(provider, pinned, recent, system, summarize(old))


async def acompress_history(
    messages: Sequence[Any],
    *,
    summarize: Callable[[Sequence[object]], Awaitable[str]],
    keep_tokens: int,
    provider: str,
    system: object = None,
    estimator: Estimator = estimate_tokens,
) -> tuple[list[Any], object]:
    """`compress_history` with an async `summarize`."""
    pinned, old, recent = split_history(
        messages, keep_tokens=keep_tokens, provider=provider, system=system, estimator=estimator
    )
    if not old:
        return list(messages), system
    return with_summary(provider, pinned, recent, system, await summarize(old))

"""Keep the latest: the newest turns that fit a token budget, tool exchanges kept whole.

A conversation is cut into units that must stay together: a message, plus the messages
that answer its tool calls (Anthropic: the next user message holding `tool_result`
blocks; OpenAI: the `tool` messages after an assistant's `tool_calls`). The window keeps
the newest units that fit, oldest dropped first, so a `tool_result` never loses its
`tool_use`. The system prompt is always kept: Anthropic's is a separate argument, and
OpenAI's leading system / developer messages are pinned ahead of the window. For
Anthropic the kept part starts with a user message, as a trimmed history must.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from riprap.validate import ContextOverflowError, estimate_tokens
from riprap.validate._estimate import _as_mapping

if TYPE_CHECKING:
    from riprap.validate import Estimator


def _role(message: object) -> object:
    mapping = _as_mapping(message)
    return None if mapping is None else mapping.get("role")


def _answers_tool_call(provider: str, message: object) -> bool:
    """Whether `message` answers the tool calls of the message before it."""
    mapping = _as_mapping(message)
    if mapping is None:
        return False
    if provider == "openai":
        return mapping.get("role") == "tool"
    content = mapping.get("content")
    if (
        mapping.get("role") != "user"
        or isinstance(content, str)
        or not isinstance(content, Sequence)
    ):
        return False
    return any(
        (b := _as_mapping(block)) is not None and b.get("type") == "tool_result"
        for block in content
    )


def pinned_count(provider: str, messages: Sequence[object]) -> int:
    """How many leading messages are the system prompt (OpenAI system / developer)."""
    if provider != "openai":
        return 0
    n = 0
    while n < len(messages) and _role(messages[n]) in {"system", "developer"}:
        n += 1
    return n


def units(provider: str, messages: Sequence[object]) -> list[list[object]]:
    """`messages` cut into the groups the window keeps or drops whole."""
    groups: list[list[object]] = []
    for message in messages:
        if groups and _answers_tool_call(provider, message):
            groups[-1].append(message)
        else:
            groups.append([message])
    return groups


def sliding_window(
    messages: Sequence[Any],
    *,
    budget: int,
    provider: str,
    system: object = None,
    estimator: Estimator = estimate_tokens,
) -> list[Any]:
    """The newest messages whose estimated tokens, with the system prompt, fit `budget`.

    Raises `ContextOverflowError` if not even the system prompt and the newest unit fit.
    """
    pinned = list(messages[: pinned_count(provider, messages)])
    used = estimator(pinned, system)
    kept: list[list[object]] = []
    for unit in reversed(units(provider, messages[len(pinned) :])):
        cost = estimator(unit, None)
        if used + cost > budget:
            break
        kept.append(unit)
        used += cost
    kept.reverse()
    if provider == "anthropic":
        # A trimmed Anthropic history must start with the user (see riprap.validate).
        while kept and _role(kept[0][0]) != "user":
            kept.pop(0)
    if not kept and messages[len(pinned) :]:
        newest = units(provider, messages[len(pinned) :])[-1]
        need = estimator(pinned, system) + estimator(newest, None)
        raise ContextOverflowError(
            f"messages: the system prompt and the newest turn alone are about {need} tokens, "
            f"over the budget of {budget}; nothing can be kept",
            provider=provider,
            estimate=need,
            window=budget,
            max_tokens=0,
            input_limit=budget,
        )
    return pinned + [m for unit in kept for m in unit]

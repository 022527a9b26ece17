"""Opt-in content capture: prompt and answer text, for the adapters that ask for it.

Off by default, in two places. Events carry no text unless some hook asks for it: a hook
asks by having a `content_limit` attribute that is an int (`LoggingHook(content_limit=…)`,
`StructlogHook(content_limit=…)`). The call layer then fills the events' `input_text`
and `output_text` fields, cut to the largest limit asked for (`content_limit_of`), and
each adapter cuts them again to its own; adapters without a limit drop the fields.

The helpers read both SDKs' shapes (Anthropic Messages, OpenAI Chat Completions and
Responses) by duck typing; they never raise on a shape they do not know, they return
`None`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riprap.observe._catalog import clip

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from riprap.observe._events import Hook


def content_limit_of(hooks: Iterable[Hook]) -> int | None:
    """The largest `content_limit` any hook asks for, or `None` when none asks."""
    limits = [getattr(hook, "content_limit", None) for hook in hooks]
    asked = [n for n in limits if isinstance(n, int) and not isinstance(n, bool) and n > 0]
    return max(asked) if asked else None


def request_text(kwargs: Mapping[str, object], limit: int) -> str | None:
    """The prompt of a call, as `role: text` lines, cut to `limit` characters."""
    lines = []
    system = kwargs.get("system")
    if system is not None:
        text = _text_of(system)
        if text:
            lines.append(f"system: {text}")
    for key in ("messages", "input"):
        messages = kwargs.get(key)
        if isinstance(messages, str):
            lines.append(f"user: {messages}")
        elif isinstance(messages, (list, tuple)):
            for message in messages:
                role = _get(message, "role") or "user"
                text = _text_of(_get(message, "content"))
                if text:
                    lines.append(f"{role}: {text}")
    return clip("\n".join(lines), limit) if lines else None


def response_text(value: object, limit: int) -> str | None:
    """The answer text of a response object, cut to `limit` characters."""
    output_text = getattr(value, "output_text", None)  # OpenAI Responses
    if isinstance(output_text, str) and output_text:
        return clip(output_text, limit)
    choices = getattr(value, "choices", None)  # OpenAI Chat Completions
    if isinstance(choices, list):
        texts = [_get(getattr(c, "message", None), "content") for c in choices]
        joined = "\n".join(t for t in texts if isinstance(t, str) and t)
        return clip(joined, limit) if joined else None
    text = _text_of(getattr(value, "content", None))  # Anthropic Messages
    return clip(text, limit) if text else None


def content_fields(
    kwargs: Mapping[str, object], value: object, limit: int | None
) -> dict[str, str | None]:
    """A call's end-event text fields: none unless a hook asked for content (`limit`)."""
    if limit is None:
        return {}
    return {
        "input_text": request_text(kwargs, limit),
        "output_text": None if value is None else response_text(value, limit),
    }


def _text_of(content: object) -> str:
    """Text of a message's content: a string, or a list of blocks with text in them."""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
                continue
            text = _get(block, "text")
            if isinstance(text, str):
                parts.append(text)
        return "\n".join(parts)
    return ""


def _get(item: object, name: str) -> object:
    if isinstance(item, dict):
        return item.get(name)
    return getattr(item, name, None)

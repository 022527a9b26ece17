"""How each provider's stream events are read: text, usage, their proper end, resumption.

A codec is pure: it looks at events and builds requests, never reads a socket. The
stream shells in `riprap._stream` use it to count what reached the caller, to tell a
finished stream from a truncated one, and (Anthropic) to resume after a break.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Protocol

from riprap._report import Usage


class StreamCodec(Protocol):
    """What the stream shells need to know about one provider's events."""

    #: Whether a stream broken after output can be asked again with that output prefilled.
    resumable: ClassVar[bool]

    @staticmethod
    def text(event: Any) -> str | None:
        """The text the event carries, if any."""

    @staticmethod
    def with_text(event: Any, text: str) -> Any:
        """The event carrying `text` instead."""

    @staticmethod
    def blocks_resume(event: Any) -> bool:
        """Whether the event carries content a resumption could not rebuild."""

    @staticmethod
    def is_terminal(event: Any) -> bool:
        """Whether the event proves the stream complete."""

    @staticmethod
    def key(event: Any) -> tuple[str, int] | None:
        """The identity of a structural event a resumed stream repeats."""

    @staticmethod
    def usage(event: Any, current: Usage) -> Usage:
        """This attempt's usage after the event."""

    @staticmethod
    def with_usage(event: Any, total: Usage) -> Any:
        """The event reporting `total` usage where it reports usage."""

    @staticmethod
    def resume_kwargs(kwargs: dict[str, Any], text: str, spent: int) -> dict[str, Any]:
        """The request that continues after `text`, `spent` output tokens into the answer."""


#: Event identities a resumed Anthropic stream repeats and the caller must not see twice.
_STRUCTURAL = frozenset({"message_start", "content_block_start", "content_block_stop"})


class AnthropicStreamCodec:
    """Messages API events (`RawMessageStreamEvent`); text streams can be resumed."""

    resumable: ClassVar[bool] = True

    @staticmethod
    def text(event: Any) -> str | None:
        """The text a `text_delta` carries."""
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            text: str = event.delta.text
            return text
        return None

    @staticmethod
    def with_text(event: Any, text: str) -> Any:
        """The same text delta carrying `text` instead."""
        return event.model_copy(update={"delta": event.delta.model_copy(update={"text": text})})

    @staticmethod
    def blocks_resume(event: Any) -> bool:
        """Content a prefilled assistant turn cannot carry: tool use, thinking, a 2nd block."""
        if event.type == "content_block_start":
            return bool(event.content_block.type != "text" or event.index != 0)
        if event.type == "content_block_delta":
            return bool(event.delta.type != "text_delta")
        return False

    @staticmethod
    def is_terminal(event: Any) -> bool:
        """`message_stop`: the only proof that a stream is complete."""
        return bool(event.type == "message_stop")

    @staticmethod
    def key(event: Any) -> tuple[str, int] | None:
        """The identity of a structural event, for de-duplication on resume."""
        if event.type in _STRUCTURAL:
            return (event.type, getattr(event, "index", 0))
        return None

    @staticmethod
    def usage(event: Any, current: Usage) -> Usage:
        """This attempt's usage after `event` (the API reports running totals)."""
        if event.type == "message_start":
            u = event.message.usage
            return Usage(
                u.input_tokens,
                u.output_tokens,
                u.cache_read_input_tokens or 0,
                u.cache_creation_input_tokens or 0,
            )
        if event.type == "message_delta":
            return dataclasses.replace(current, output_tokens=event.usage.output_tokens)
        return current

    @staticmethod
    def with_usage(event: Any, total: Usage) -> Any:
        """A `message_delta` reporting `total`: usage summed over every attempt."""
        if event.type != "message_delta":
            return event
        usage = event.usage.model_copy(
            update={"output_tokens": total.output_tokens, "input_tokens": total.input_tokens}
        )
        return event.model_copy(update={"usage": usage})

    @staticmethod
    def resume_kwargs(kwargs: dict[str, Any], text: str, spent: int) -> dict[str, Any]:
        """The request again, with `text` (trailing whitespace removed) prefilled.

        The API refuses a prefill that ends in whitespace, so the caller's trailing
        whitespace is left out here and skipped again at the start of the continuation.
        A caller's own prefill is extended, not replaced. `max_tokens` caps only what is
        generated, so the continuation asks for what is left of the caller's cap: `spent`
        counts the text deltas received, each at least one token (a delta may hold more,
        so the whole answer can run a little past the cap, never stop short of it).
        """
        prefix = text.rstrip()
        if not prefix:
            return kwargs
        max_tokens = kwargs.get("max_tokens")
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            kwargs = {**kwargs, "max_tokens": max(1, max_tokens - spent)}
        messages = list(kwargs["messages"])
        last = messages[-1] if messages else None
        if isinstance(last, dict) and last.get("role") == "assistant":
            content = last.get("content")
            if isinstance(content, str):
                messages[-1] = {**last, "content": content + prefix}
            else:
                blocks = list(content or [])
                messages[-1] = {**last, "content": [*blocks, {"type": "text", "text": prefix}]}
        else:
            messages.append({"role": "assistant", "content": prefix})
        return {**kwargs, "messages": messages}


class OpenAIStreamCodec:
    """Chat Completions chunks: no prefill to resume with, so a break after output fails.

    A break after only the opening chunk (the role) is restarted: that chunk is all a
    new attempt repeats, and it is dropped the second time.
    """

    resumable: ClassVar[bool] = False

    @staticmethod
    def text(event: Any) -> str | None:
        """The content a chunk's first choice carries."""
        choices = getattr(event, "choices", None) or []
        if choices and choices[0].delta is not None:
            content = choices[0].delta.content
            return content if isinstance(content, str) else None
        return None

    @staticmethod
    def with_text(event: Any, text: str) -> Any:
        """Unused: OpenAI streams are never resumed."""
        del text
        return event

    @staticmethod
    def blocks_resume(event: Any) -> bool:
        """Every chunk: there is nothing to resume with."""
        del event
        return True

    @staticmethod
    def is_terminal(event: Any) -> bool:
        """A chunk with a `finish_reason` ends the answer (usage and `[DONE]` may follow)."""
        return any(c.finish_reason is not None for c in getattr(event, "choices", None) or [])

    @staticmethod
    def key(event: Any) -> tuple[str, int] | None:
        """The opening chunk (the role, no content): a restarted stream repeats it."""
        choices = getattr(event, "choices", None) or []
        if len(choices) != 1 or choices[0].finish_reason is not None:
            return None
        delta = choices[0].delta
        if delta.role and not delta.content and not delta.tool_calls:
            return ("role", choices[0].index)
        return None

    @staticmethod
    def usage(event: Any, current: Usage) -> Usage:
        """The usage chunk (`stream_options={"include_usage": True}`), when sent."""
        u = getattr(event, "usage", None)
        if u is None:
            return current
        return Usage(u.prompt_tokens, u.completion_tokens)

    @staticmethod
    def with_usage(event: Any, total: Usage) -> Any:
        """Unused: OpenAI streams are never resumed."""
        del total
        return event

    @staticmethod
    def resume_kwargs(kwargs: dict[str, Any], text: str, spent: int) -> dict[str, Any]:
        """Unused: OpenAI streams are never resumed."""
        del text, spent
        return kwargs

"""One provider's stream events as the other's, so a stream that falls back reads the same.

A caller streaming from Anthropic whose call moved to OpenAI iterates
`RawMessageStreamEvent`s made from OpenAI's chunks, and the other way round; the SDKs'
stream helpers (`messages.stream()`, `chat.completions.stream()`) accumulate them
unchanged. Each translator is fed the target's events in order (`feed`) and told when the
target's stream ended (`finish`); both return the caller's events to pass on. Built
through the SDKs' own pydantic models, so every event is the caller's real type.

What has no counterpart, as for whole responses (`_responses.py`): OpenAI does not say
which stop sequence ended an answer, and reports usage only at the end (the Anthropic
caller's `message_start` says 0 input tokens; the closing `message_delta` has both).
"""

from __future__ import annotations

import time
from typing import Any

from riprap.translate._common import TranslationError
from riprap.translate._responses import FINISH_REASONS, STOP_REASONS


class ToAnthropicEvents:
    """OpenAI `ChatCompletionChunk`s → Anthropic `RawMessageStreamEvent`s.

    Text and refusal deltas go to a text block, each tool call to a `tool_use` block with
    its arguments as `input_json_delta`s; a block closes when the next one opens. The
    closing `message_delta` and `message_stop` go out when the chunks end (after the
    usage chunk, which the translated request asks for).
    """

    def __init__(self) -> None:
        """Nothing seen yet."""
        self._started = False
        #: ("text", -1) or ("tool", OpenAI's tool-call index) of the open block.
        self._open: tuple[str, int] | None = None
        self._blocks = -1  # index of the last block opened
        self._closed: set[tuple[str, int]] = set()
        self._stop_reason: str | None = None
        self._usage: dict[str, Any] = {"output_tokens": 0}

    def feed(self, chunk: Any) -> list[Any]:
        """The Anthropic events `chunk` makes (none, or several)."""
        out: list[dict[str, Any]] = []
        if not self._started:
            self._started = True
            out.append(self._message_start(chunk))
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            details = usage.prompt_tokens_details
            cached = details.cached_tokens if details else None
            self._usage = {
                "input_tokens": usage.prompt_tokens - (cached or 0),
                "output_tokens": usage.completion_tokens,
                "cache_read_input_tokens": cached,
            }
        for choice in chunk.choices[:1]:  # the request asks for one answer
            delta = choice.delta
            for text in (delta.content, delta.refusal):
                if text:
                    out.extend(self._block(("text", -1), {"type": "text", "text": ""}))
                    delta_body = {"type": "text_delta", "text": text}
                    out.append(self._delta(delta_body))
            for call in delta.tool_calls or ():
                out.extend(self._tool_call(call, chunk.id))
            if delta.refusal:
                self._stop_reason = "refusal"
            if choice.finish_reason is not None:
                out.extend(self._close())
                if self._stop_reason is None:
                    self._stop_reason = STOP_REASONS.get(choice.finish_reason, "end_turn")
        return [_anthropic_event(e) for e in out]

    def finish(self) -> list[Any]:
        """The closing events, once the chunks ended."""
        out = self._close()
        out.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self._stop_reason or "end_turn", "stop_sequence": None},
                "usage": self._usage,
            }
        )
        out.append({"type": "message_stop"})
        return [_anthropic_event(e) for e in out]

    def _message_start(self, chunk: Any) -> dict[str, Any]:
        message = {
            "id": chunk.id,
            "type": "message",
            "role": "assistant",
            "model": chunk.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return {"type": "message_start", "message": message}

    def _block(self, which: tuple[str, int], start: dict[str, Any]) -> list[dict[str, Any]]:
        if self._open == which:
            return []
        if which in self._closed:
            raise TranslationError(f"stream chunk: {which[0]} output resumed after another began")
        out = self._close()
        self._open = which
        self._blocks += 1
        out.append({"type": "content_block_start", "index": self._blocks, "content_block": start})
        return out

    def _close(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        self._closed.add(self._open)
        self._open = None
        return [{"type": "content_block_stop", "index": self._blocks}]

    def _delta(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": self._blocks, "delta": delta}

    def _tool_call(self, call: Any, where: str) -> list[dict[str, Any]]:
        function = call.function
        which = ("tool", call.index)
        out: list[dict[str, Any]] = []
        if self._open != which:
            if call.type not in (None, "function") or not call.id or function is None:
                raise TranslationError(f"stream chunk {where}: a tool call without id or name")
            start = {"type": "tool_use", "id": call.id, "name": function.name, "input": {}}
            out.extend(self._block(which, start))
        if function is not None and function.arguments:
            partial = {"type": "input_json_delta", "partial_json": function.arguments}
            out.append(self._delta(partial))
        return out


class ToOpenAIChunks:
    """Anthropic `RawMessageStreamEvent`s → OpenAI `ChatCompletionChunk`s.

    `message_start` becomes the role chunk, text deltas content chunks, each `tool_use`
    block a tool call (its `input_json_delta`s the arguments), `message_delta` the chunk
    with the finish reason; with `include_usage` (the caller's `stream_options`) a last
    chunk carries the usage, as OpenAI sends it.
    """

    def __init__(self, *, include_usage: bool, created: int | None = None) -> None:
        """Nothing seen yet; `created` (epoch seconds) defaults to now."""
        self._include_usage = include_usage
        self._created = int(time.time()) if created is None else created
        self._id = ""
        self._model = ""
        self._tools: dict[int, int] = {}  # Anthropic block index → OpenAI tool-call index
        self._input = 0  # every input token: plain, cache read and cache write
        self._cached: int | None = None
        self._output = 0

    def feed(self, event: Any) -> list[Any]:
        """The OpenAI chunks `event` makes (none, or one)."""
        kind = event.type
        if kind == "message_start":
            message = event.message
            self._id, self._model = message.id, message.model
            self._count(message.usage)
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "message_delta":
            self._count(event.usage)
            reason = event.delta.stop_reason or "end_turn"
            if reason not in FINISH_REASONS:
                raise TranslationError(f"stream of {self._id}: stop reason {reason!r}")
            return [self._chunk({}, finish_reason=FINISH_REASONS[reason])]
        return []  # content_block_stop, ping, message_stop: nothing to say in OpenAI's terms

    def finish(self) -> list[Any]:
        """The usage chunk, if the caller asked for it."""
        if not self._include_usage:
            return []
        usage = {
            "prompt_tokens": self._input,
            "completion_tokens": self._output,
            "total_tokens": self._input + self._output,
            "prompt_tokens_details": None
            if self._cached is None
            else {"cached_tokens": self._cached},
        }
        return [self._chunk(None, usage=usage)]

    def _count(self, usage: Any) -> None:
        # Anthropic reports running totals; a field a later event leaves out keeps its value.
        plain = getattr(usage, "input_tokens", None)
        read = getattr(usage, "cache_read_input_tokens", None)
        write = getattr(usage, "cache_creation_input_tokens", None)
        if plain is not None:
            self._input = plain + (read or 0) + (write or 0)
        if read is not None:
            self._cached = read
        self._output = getattr(usage, "output_tokens", None) or self._output

    def _block_start(self, event: Any) -> list[Any]:
        block = event.content_block
        if block.type == "text":
            return [self._chunk({"content": block.text})] if block.text else []
        if block.type != "tool_use":
            raise TranslationError(f"stream of {self._id}: a {block.type!r} block")
        number = self._tools[event.index] = len(self._tools)
        call = {
            "index": number,
            "id": block.id,
            "type": "function",
            "function": {"name": block.name, "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, event: Any) -> list[Any]:
        delta = event.delta
        if delta.type == "text_delta":
            return [self._chunk({"content": delta.text})]
        if delta.type == "input_json_delta" and event.index in self._tools:
            arguments = {"arguments": delta.partial_json}
            call = {"index": self._tools[event.index], "function": arguments}
            return [self._chunk({"tool_calls": [call]})]
        raise TranslationError(f"stream of {self._id}: a {delta.type!r} delta")

    def _chunk(
        self,
        delta: dict[str, Any] | None,
        *,
        finish_reason: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> Any:
        from openai.types.chat import ChatCompletionChunk  # noqa: PLC0415 - only its callers

        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]
        )
        return ChatCompletionChunk.model_validate(
            {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": choices,
                "usage": usage,
            }
        )


def _anthropic_event(body: dict[str, Any]) -> Any:
    from anthropic import types  # noqa: PLC0415 - only callers that fall back to it

    kinds: dict[str, Any] = {
        "message_start": types.RawMessageStartEvent,
        "content_block_start": types.RawContentBlockStartEvent,
        "content_block_delta": types.RawContentBlockDeltaEvent,
        "content_block_stop": types.RawContentBlockStopEvent,
        "message_delta": types.RawMessageDeltaEvent,
        "message_stop": types.RawMessageStopEvent,
    }
    return kinds[body["type"]].model_validate(body)

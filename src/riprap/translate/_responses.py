"""A response of one provider as the other's SDK type, so a fallback returns what was asked.

Built through the SDKs' own pydantic models (`model_validate`), so the result is a real
`anthropic.types.Message` or `openai.types.chat.ChatCompletion`, validated field by field,
carrying the serving provider's request id in `_request_id`.

Two things have no counterpart and are approximated, both documented on the functions:
OpenAI does not say which stop sequence ended an answer (`finish_reason` is "stop"
either way), and it folds prompt-cache writes into its prompt tokens.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Final

from riprap.translate._common import TranslationError

if TYPE_CHECKING:
    from anthropic.types import Message
    from openai.types.chat import ChatCompletion

#: OpenAI finish_reason → Anthropic stop_reason.
STOP_REASONS: Final = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
#: Anthropic stop_reason → OpenAI finish_reason.
FINISH_REASONS: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _keep_request_id(source: object, target: Any) -> None:
    request_id = getattr(source, "_request_id", None)
    if isinstance(request_id, str):
        target._request_id = request_id  # noqa: SLF001 - the SDKs' documented attribute


def to_anthropic_message(completion: ChatCompletion) -> Message:
    """An OpenAI chat completion as the `anthropic.types.Message` an Anthropic caller expects.

    Text becomes a text block, each function call a `tool_use` block, a refusal a text
    block with stop reason "refusal". Usage: cached prompt tokens become
    `cache_read_input_tokens` and leave `input_tokens` (Anthropic counts them apart).
    "stop" reads as "end_turn" even when a stop sequence ended the answer: OpenAI does
    not say which.
    """
    from anthropic.types import Message  # noqa: PLC0415 - only callers that fall back to it

    if not completion.choices:
        raise TranslationError(f"completion {completion.id} has no choices")
    choice = completion.choices[0]
    message = choice.message
    content: list[dict[str, Any]] = []
    if message.content:
        content.append({"type": "text", "text": message.content})
    for call in message.tool_calls or ():
        function = getattr(call, "function", None)
        if call.type != "function" or function is None:
            raise TranslationError(f"completion {completion.id}: a {call.type!r} tool call")
        content.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": function.name,
                "input": _arguments(function.arguments, completion.id),
            }
        )
    stop_reason = STOP_REASONS.get(choice.finish_reason, "end_turn")
    if message.refusal:
        content.append({"type": "text", "text": message.refusal})
        stop_reason = "refusal"
    usage = completion.usage
    prompt = usage.prompt_tokens if usage else 0
    details = usage.prompt_tokens_details if usage else None
    cached = details.cached_tokens if details else None
    body = {
        "id": completion.id,
        "type": "message",
        "role": "assistant",
        "model": completion.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt - (cached or 0),
            "output_tokens": usage.completion_tokens if usage else 0,
            "cache_read_input_tokens": cached,
        },
    }
    result = Message.model_validate(body)
    _keep_request_id(completion, result)
    return result


def _arguments(raw: str, where: str) -> dict[str, Any]:
    try:
        arguments = json.loads(raw or "{}")
    except ValueError as exc:
        raise TranslationError(f"completion {where}: tool call arguments are not JSON") from exc
    if not isinstance(arguments, dict):
        raise TranslationError(f"completion {where}: tool call arguments are not a JSON object")
    return arguments


def to_openai_completion(message: Message, *, created: int | None = None) -> ChatCompletion:
    """An Anthropic message as the `ChatCompletion` an OpenAI caller expects.

    Text blocks join into `content`; `tool_use` blocks become function tool calls.
    `created` (epoch seconds) defaults to now: Anthropic messages carry no timestamp.
    Usage: `prompt_tokens` is every input token (plain, cache read and cache write);
    cache reads also show as `prompt_tokens_details.cached_tokens`.
    """
    from openai.types.chat import ChatCompletion  # noqa: PLC0415 - only when falling back to it

    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            arguments = json.dumps(block.input, ensure_ascii=False)
            function = {"name": block.name, "arguments": arguments}
            calls.append({"id": block.id, "type": "function", "function": function})
        else:
            raise TranslationError(f"message {message.id}: a {block.type!r} block")
    reason = message.stop_reason or "end_turn"
    if reason not in FINISH_REASONS:
        raise TranslationError(f"message {message.id}: stop reason {reason!r}")
    usage = message.usage
    read = usage.cache_read_input_tokens
    prompt = usage.input_tokens + (read or 0) + (usage.cache_creation_input_tokens or 0)
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        reply["tool_calls"] = calls
    body = {
        "id": message.id,
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": message.model,
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": FINISH_REASONS[reason],
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": usage.output_tokens,
            "total_tokens": prompt + usage.output_tokens,
            "prompt_tokens_details": None if read is None else {"cached_tokens": read},
        },
    }
    result = ChatCompletion.model_validate(body)
    _keep_request_id(message, result)
    return result

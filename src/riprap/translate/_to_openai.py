"""An Anthropic Messages request as OpenAI Chat Completions arguments (the common subset).

The subset: system prompt, text and image messages, max_tokens, temperature, top_p,
stop sequences, tools, tool calls and tool results, tool choice, the end user's id.
Anything else makes the translation `Unsupported`, naming it, rather than dropping it.
Only hints with no effect on the answer are dropped: `cache_control` (OpenAI caches
prompts by itself).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from riprap.translate._common import (
    Outside,
    Unsupported,
    given,
    items,
    mapping,
    only,
    outside,
    plain,
    text_of,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

#: OpenAI's limit on stop sequences ("Up to 4 sequences", the `stop` parameter's docs).
MAX_OPENAI_STOP = 4
#: SDK call options that mean the same to either SDK: passed on unchanged. Not
#: `extra_headers`: they are often credentials for one vendor or its gateway (Helicone,
#: Portkey), and must not be sent to the other vendor's host.
PASSED_ON: Final = ("timeout",)
#: Sampling parameters: anthropic 2.x's `messages.create` has no argument for them, so
#: they travel in `extra_body` (or arrive as plain keys from code built for older SDKs).
SAMPLING: Final = ("temperature", "top_p")
_TOP_LEVEL: Final = frozenset(
    {"model", "max_tokens", "messages", "system", "stop_sequences", "tools", "tool_choice"}
    | {"metadata", "stream", "extra_body", "extra_headers", *PASSED_ON, *SAMPLING}
)


def to_openai_request(kwargs: Mapping[str, Any], *, model: str) -> dict[str, Any] | Unsupported:
    """`messages.create` arguments as `chat.completions.create` arguments for `model`.

    Returns the new arguments, or `Unsupported(reason)` when the request uses something
    Chat Completions cannot express (thinking, documents, server tools, …). A stream
    asks for OpenAI's usage chunk, which the translated events need.
    """
    try:
        return _request(kwargs, model)
    except Outside as outside_:
        return Unsupported(outside_.reason)


def _request(kwargs: Mapping[str, Any], model: str) -> dict[str, Any]:
    only(kwargs, _TOP_LEVEL, "request")
    out: dict[str, Any] = {"model": model}
    if kwargs.get("stream") is True:
        # The usage chunk is the only place OpenAI reports a stream's tokens; the caller's
        # closing `message_delta` needs them.
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    messages: list[dict[str, Any]] = []
    if given(kwargs.get("system")):
        messages.append(_system(kwargs["system"], "system"))
    for number, message in enumerate(items(kwargs.get("messages"), "messages")):
        messages.extend(_message(mapping(message, f"messages[{number}]"), f"messages[{number}]"))
    out["messages"] = messages
    if given(kwargs.get("max_tokens")):
        out["max_completion_tokens"] = kwargs["max_tokens"]
    _sampling(kwargs, out)
    _stops(kwargs, out)
    _tools(kwargs, out)
    _metadata(kwargs, out)
    for name in PASSED_ON:
        if given(kwargs.get(name)):
            out[name] = kwargs[name]
    return out


def _stops(kwargs: Mapping[str, Any], out: dict[str, Any]) -> None:
    if given(kwargs.get("stop_sequences")):
        stops = items(kwargs["stop_sequences"], "stop_sequences")
        if len(stops) > MAX_OPENAI_STOP:
            outside(f"stop_sequences: {len(stops)} given, OpenAI accepts at most 4")
        out["stop"] = stops


def _tools(kwargs: Mapping[str, Any], out: dict[str, Any]) -> None:
    if given(kwargs.get("tools")):
        out["tools"] = [
            _tool(mapping(t, "tools"), f"tools[{i}]")
            for i, t in enumerate(items(kwargs["tools"], "tools"))
        ]
    if given(kwargs.get("tool_choice")):
        _tool_choice(mapping(kwargs["tool_choice"], "tool_choice"), out)


def _metadata(kwargs: Mapping[str, Any], out: dict[str, Any]) -> None:
    if given(kwargs.get("metadata")):
        metadata = mapping(kwargs["metadata"], "metadata")
        only(metadata, {"user_id"}, "metadata")
        if given(metadata.get("user_id")):
            out["safety_identifier"] = metadata["user_id"]


def _sampling(kwargs: Mapping[str, Any], out: dict[str, Any]) -> None:
    body = mapping(kwargs["extra_body"], "extra_body") if given(kwargs.get("extra_body")) else {}
    only(body, SAMPLING, "extra_body")
    for name in SAMPLING:
        for source in (kwargs, body):
            if given(source.get(name)):
                out[name] = source[name]


def _system(system: object, where: str) -> dict[str, Any]:
    if isinstance(system, str):
        return {"role": "system", "content": system}
    return {"role": "system", "content": [_text_part(b, where) for b in items(system, where)]}


def _text_part(block: object, where: str) -> dict[str, Any]:
    block = mapping(block, where)
    if block.get("type") != "text":
        outside(f"{where}: a {block.get('type')!r} block where only text is allowed")
    only(block, {"type", "text", "cache_control"}, where)
    return {"type": "text", "text": text_of(block, where)}


def _message(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    only(message, {"role", "content"}, where)
    role, content = message.get("role"), message.get("content")
    if role == "system":
        return [_system(content, where)]
    if role not in {"user", "assistant"}:
        outside(f"{where}: role {role!r}")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = [mapping(b, f"{where}.content[{i}]") for i, b in enumerate(items(content, where))]
    if role == "assistant":
        return [_assistant(blocks, where)]
    return _user(blocks, where)


def _user(blocks: list[Mapping[str, Any]], where: str) -> list[dict[str, Any]]:
    # OpenAI wants each tool result as its own `tool` message right after the assistant's
    # calls; Anthropic puts them first in the next user turn. The rest stays a user turn.
    tools = [_tool_result(b, where) for b in blocks if b.get("type") == "tool_result"]
    parts = [_user_part(b, where) for b in blocks if b.get("type") != "tool_result"]
    return tools + ([{"role": "user", "content": parts}] if parts else [])


def _user_part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        only(block, {"type", "text", "cache_control"}, where)
        return {"type": "text", "text": text_of(block, where)}
    if kind == "image":
        only(block, {"type", "source", "cache_control"}, where)
        return {"type": "image_url", "image_url": {"url": _image_url(block, where)}}
    return outside(f"{where}: content block type {kind!r}")


def _image_url(block: Mapping[str, Any], where: str) -> str:
    source = mapping(block.get("source"), f"{where}.source")
    if source.get("type") == "base64":
        data = source.get("data")
        if not isinstance(data, str):
            outside(f"{where}: image data must be a base64 string")
        return f"data:{source.get('media_type')};base64,{data}"
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    return outside(f"{where}: image source type {source.get('type')!r}")


def _tool_result(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    only(block, {"type", "tool_use_id", "content", "cache_control", "is_error"}, where)
    if block.get("is_error") is True:
        outside(f"{where}: tool_result is_error (OpenAI tool messages cannot flag an error)")
    content = block.get("content", "")
    if not isinstance(content, str):
        content = [_text_part(b, f"{where}.content") for b in items(content, where)]
    return {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": content}


def _assistant(blocks: list[Mapping[str, Any]], where: str) -> dict[str, Any]:
    texts = [b for b in blocks if b.get("type") != "tool_use"]
    calls = [b for b in blocks if b.get("type") == "tool_use"]
    message: dict[str, Any] = {"role": "assistant"}
    if texts or not calls:
        message["content"] = [_text_part(b, where) for b in texts]
    if calls:
        message["tool_calls"] = [_tool_call(b, where) for b in calls]
    return message


def _tool_call(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    only(block, {"type", "id", "name", "input", "cache_control", "caller"}, where)
    caller = plain(block.get("caller"))
    if given(caller) and mapping(caller, where).get("type") != "direct":
        outside(f"{where}: a tool call made by a server tool")
    arguments = json.dumps(plain(block.get("input", {})), ensure_ascii=False)
    function = {"name": block.get("name"), "arguments": arguments}
    return {"id": block.get("id"), "type": "function", "function": function}


def _tool(tool: Mapping[str, Any], where: str) -> dict[str, Any]:
    if tool.get("type", "custom") not in {"custom", None}:
        outside(f"{where}: server tool {tool.get('type')!r}")
    only(tool, {"type", "name", "description", "input_schema", "strict", "cache_control"}, where)
    function: dict[str, Any] = {"name": tool.get("name")}
    if given(tool.get("description")):
        function["description"] = tool["description"]
    function["parameters"] = plain(tool.get("input_schema"))
    if given(tool.get("strict")):
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _tool_choice(choice: Mapping[str, Any], out: dict[str, Any]) -> None:
    only(choice, {"type", "name", "disable_parallel_tool_use"}, "tool_choice")
    kind = choice.get("type")
    named = {"type": "function", "function": {"name": choice.get("name")}}
    simple = {"auto": "auto", "any": "required", "none": "none"}
    if kind == "tool":
        out["tool_choice"] = named
    elif kind in simple:
        out["tool_choice"] = simple[kind]
    else:
        outside(f"tool_choice type {kind!r}")
    if given(choice.get("disable_parallel_tool_use")):
        out["parallel_tool_calls"] = not choice["disable_parallel_tool_use"]

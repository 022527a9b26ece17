"""OpenAI Chat Completions arguments as an Anthropic Messages request (the common subset).

The inverse of `_to_openai`: leading system (or developer) messages become `system`;
later ones stay system messages in place; each run of `tool` messages becomes one user
turn of `tool_result` blocks, joined by the user message that follows it, as Anthropic
expects. Anything outside the subset makes the translation `Unsupported`.
"""

from __future__ import annotations

import json
import re
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
from riprap.translate._to_openai import PASSED_ON, SAMPLING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Output tokens asked for when the OpenAI request sets no limit; Anthropic requires one.
#: The same 4096 riprap assumes for such a call's timeout (`Timeouts.assumed_output_tokens`).
DEFAULT_MAX_TOKENS = 4096
#: Anthropic's sampling temperature is 0..1; OpenAI's goes to 2.
MAX_ANTHROPIC_TEMPERATURE = 1.0
#: Image types Anthropic accepts in a base64 source.
IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_DATA_URL: Final = re.compile(r"data:(?P<type>[\w/+.-]+);base64,(?P<data>.*)", re.DOTALL)
_TOP_LEVEL: Final = frozenset(
    {"model", "messages", "max_completion_tokens", "max_tokens", "stop", "tools"}
    | {"tool_choice", "parallel_tool_calls", "user", "safety_identifier", "n", "stream"}
    | {"stream_options"}
    | {"extra_body", "extra_headers", *PASSED_ON, *SAMPLING}
)
_SYSTEM_ROLES: Final = frozenset({"system", "developer"})


def to_anthropic_request(
    kwargs: Mapping[str, Any], *, model: str, default_max_tokens: int | None = DEFAULT_MAX_TOKENS
) -> dict[str, Any] | Unsupported:
    """`chat.completions.create` arguments as `messages.create` arguments for `model`.

    Anthropic requires `max_tokens`: a request without a limit gets `default_max_tokens`,
    or is `Unsupported` when that is `None`. Temperature and top_p go in `extra_body`
    (anthropic 2.x's `create` has no arguments for them).
    """
    try:
        return _request(kwargs, model, default_max_tokens)
    except Outside as outside_:
        return Unsupported(outside_.reason)


def _request(kwargs: Mapping[str, Any], model: str, default: int | None) -> dict[str, Any]:
    only(kwargs, _TOP_LEVEL, "request")
    if given(kwargs.get("stream_options")):
        only(mapping(kwargs["stream_options"], "stream_options"), ("include_usage",),
             "stream_options")  # fmt: skip
    if given(kwargs.get("n")) and kwargs["n"] != 1:
        outside(f"n={kwargs['n']!r}: Anthropic returns one answer per request")
    if given(kwargs.get("extra_body")):
        only(mapping(kwargs["extra_body"], "extra_body"), (), "extra_body")
    out: dict[str, Any] = {"model": model, "max_tokens": _max_tokens(kwargs, default)}
    if kwargs.get("stream") is True:
        out["stream"] = True
    system, messages = _messages(items(kwargs.get("messages"), "messages"))
    if system is not None:
        out["system"] = system
    out["messages"] = messages
    _sampling(kwargs, out)
    _tools(kwargs, out)
    user = _user_id(kwargs)
    if user is not None:
        out["metadata"] = {"user_id": user}
    for name in PASSED_ON:
        if given(kwargs.get(name)):
            out[name] = kwargs[name]
    return out


def _sampling(kwargs: Mapping[str, Any], out: dict[str, Any]) -> None:
    body = {name: kwargs[name] for name in SAMPLING if given(kwargs.get(name))}
    if body.get("temperature", 0) > MAX_ANTHROPIC_TEMPERATURE:
        outside(f"temperature={body['temperature']!r}: Anthropic's range ends at 1")
    if body:
        out["extra_body"] = body
    if given(kwargs.get("stop")):
        stop = kwargs["stop"]
        out["stop_sequences"] = [stop] if isinstance(stop, str) else items(stop, "stop")


def _tools(kwargs: Mapping[str, Any], out: dict[str, Any]) -> None:
    tools = items(kwargs["tools"], "tools") if given(kwargs.get("tools")) else []
    if tools:
        out["tools"] = [
            _tool(mapping(t, f"tools[{i}]"), f"tools[{i}]") for i, t in enumerate(tools)
        ]
    choice = _tool_choice(kwargs)
    if choice is not None and tools:
        out["tool_choice"] = choice


def _max_tokens(kwargs: Mapping[str, Any], default: int | None) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        if given(kwargs.get(name)):
            value: int = kwargs[name]
            return value
    if default is None:
        outside("max_tokens: Anthropic requires a limit and the request sets none")
    return default


def _user_id(kwargs: Mapping[str, Any]) -> str | None:
    ids = {kwargs[n] for n in ("safety_identifier", "user") if given(kwargs.get(n))}
    if len(ids) > 1:
        outside("user and safety_identifier differ; Anthropic takes one user id")
    return ids.pop() if ids else None


def _messages(messages: list[Any]) -> tuple[Any, list[dict[str, Any]]]:
    system: list[Any] = []  # the content of each leading system message
    out: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []  # tool results waiting for their user turn
    for number, raw in enumerate(messages):
        where = f"messages[{number}]"
        message = mapping(raw, where)
        role = message.get("role")
        if role != "tool" and results:
            joined = _blocks(message, where) if role == "user" else []
            out.append({"role": "user", "content": results + joined})
            results = []
            if role == "user":
                continue
        if role in _SYSTEM_ROLES:
            only(message, {"role", "content"}, where)
            content = _text_content(message.get("content"), where)
            if out:
                out.append({"role": "system", "content": content})
            else:
                system.append(content)
        elif role == "tool":
            results.append(_tool_result(message, where))
        elif role == "user":
            only(message, {"role", "content"}, where)
            content = message.get("content")
            out.append(
                {
                    "role": "user",
                    "content": content if isinstance(content, str) else _blocks(message, where),
                }
            )
        elif role == "assistant":
            out.append(_assistant(message, where))
        else:
            outside(f"{where}: role {role!r}")
    if results:
        out.append({"role": "user", "content": results})
    return _system(system), out


def _system(contents: list[Any]) -> Any:
    """One leading system message keeps its shape; several become one list of blocks."""
    if len(contents) <= 1:
        return contents[0] if contents else None
    blocks: list[dict[str, Any]] = []
    for content in contents:
        blocks.extend([{"type": "text", "text": content}] if isinstance(content, str) else content)
    return blocks


def _text_content(content: object, where: str) -> Any:
    """Text content in its own shape: a string stays a string, parts become text blocks."""
    if isinstance(content, str):
        return content
    return [_text_block(p, where) for p in items(content, where)]


def _text_block(part: object, where: str) -> dict[str, Any]:
    part = mapping(part, where)
    if part.get("type") != "text":
        outside(f"{where}: a {part.get('type')!r} part where only text is allowed")
    only(part, {"type", "text"}, where)
    return {"type": "text", "text": text_of(part, where)}


def _blocks(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    only(message, {"role", "content"}, where)
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [_user_block(mapping(p, where), where) for p in items(content, where)]


def _user_block(part: Mapping[str, Any], where: str) -> dict[str, Any]:
    if part.get("type") == "text":
        return _text_block(part, where)
    if part.get("type") != "image_url":
        outside(f"{where}: content part type {part.get('type')!r}")
    only(part, {"type", "image_url"}, where)
    image = mapping(part.get("image_url"), where)
    only(image, {"url", "detail"}, where)
    if image.get("detail", "auto") != "auto":
        outside(f"{where}: image detail {image['detail']!r} (Anthropic has no such setting)")
    url = image.get("url")
    if not isinstance(url, str):
        outside(f"{where}: image url must be a string")
    found = _DATA_URL.fullmatch(url)
    if found is None:
        if not url.startswith(("https://", "http://")):
            outside(f"{where}: image url scheme {url.split(':', 1)[0]!r}")
        return {"type": "image", "source": {"type": "url", "url": url}}
    if found["type"] not in IMAGE_TYPES:
        outside(f"{where}: image type {found['type']!r}")
    source = {"type": "base64", "media_type": found["type"], "data": found["data"]}
    return {"type": "image", "source": source}


def _tool_result(message: Mapping[str, Any], where: str) -> dict[str, Any]:
    only(message, {"role", "content", "tool_call_id"}, where)
    return {
        "type": "tool_result",
        "tool_use_id": message.get("tool_call_id"),
        "content": _text_content(message.get("content"), where),
    }


def _assistant(message: Mapping[str, Any], where: str) -> dict[str, Any]:
    only(message, {"role", "content", "tool_calls"}, where)
    content = message.get("content")
    calls = items(message["tool_calls"], where) if given(message.get("tool_calls")) else []
    if not calls:
        if not given(content):
            outside(f"{where}: an assistant message with neither content nor tool calls")
        return {"role": "assistant", "content": _text_content(content, where)}
    blocks: list[dict[str, Any]] = []
    if given(content) and content != "":
        text = _text_content(content, where)
        blocks = [{"type": "text", "text": text}] if isinstance(text, str) else text
    blocks += [_tool_use(mapping(c, where), where) for c in calls]
    return {"role": "assistant", "content": blocks}


def _tool_use(call: Mapping[str, Any], where: str) -> dict[str, Any]:
    if call.get("type", "function") != "function":
        outside(f"{where}: tool call type {call.get('type')!r}")
    function = mapping(call.get("function"), where)
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except (TypeError, ValueError):
        outside(f"{where}: tool call arguments are not JSON")
    if not isinstance(arguments, dict):
        outside(f"{where}: tool call arguments are not a JSON object")
    return {
        "type": "tool_use",
        "id": call.get("id"),
        "name": function.get("name"),
        "input": arguments,
    }


def _tool(tool: Mapping[str, Any], where: str) -> dict[str, Any]:
    if tool.get("type") != "function":
        outside(f"{where}: tool type {tool.get('type')!r}")
    only(tool, {"type", "function"}, where)
    function = mapping(tool.get("function"), where)
    only(function, {"name", "description", "parameters", "strict"}, where)
    schema = plain(function.get("parameters")) or {"type": "object", "properties": {}}
    out: dict[str, Any] = {"name": function.get("name")}
    if given(function.get("description")):
        out["description"] = function["description"]
    out["input_schema"] = schema
    if given(function.get("strict")):
        out["strict"] = function["strict"]
    return out


def _tool_choice(kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    choice = plain(kwargs.get("tool_choice"))
    out: dict[str, Any] | None = None
    if isinstance(choice, str):
        simple = {"auto": "auto", "required": "any", "none": "none"}
        if choice not in simple:
            outside(f"tool_choice {choice!r}")
        out = {"type": simple[choice]}
    elif given(choice):
        named = mapping(choice, "tool_choice")
        if named.get("type") != "function":
            outside(f"tool_choice type {named.get('type')!r}")
        out = {"type": "tool", "name": mapping(named.get("function"), "tool_choice").get("name")}
    parallel = kwargs.get("parallel_tool_calls")
    if given(parallel):
        out = out or {"type": "auto"}
        if out["type"] != "none":
            out["disable_parallel_tool_use"] = not parallel
    return out

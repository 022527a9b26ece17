"""The OpenAI Chat Completions API's request rules, checked before the call.

Sources: the parameters of `chat.completions.create` in openai 3.54 and the API's own
400s: `messages` must not be empty; roles are system, developer, user, assistant, tool
and (deprecated) function; "messages with role 'tool' must be a response to a preceding
message with 'tool_calls'"; "an assistant message with 'tool_calls' must be followed by
tool messages responding to each 'tool_call_id'"; `max_tokens` / `max_completion_tokens`
at least 1; temperature 0..2, top_p 0..1, presence and frequency penalties -2..2, `n` at
least 1.

OpenAI does not require alternation, a user message first, or a system prompt in any
position: a system message inside `messages` is how OpenAI takes its system prompt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from riprap.validate._common import CheckedRequest, Checker, present, tools_text

if TYPE_CHECKING:
    from riprap.models import ModelInfo
    from riprap.validate._common import InputRules

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_ROLES_TEXT = "one of " + ", ".join(repr(r) for r in ROLES)
#: Roles whose `content` is required.
_CONTENT_REQUIRED = frozenset({"system", "developer", "user", "tool"})
#: OpenAI's documented ranges.
TEMPERATURE_MAX = 2.0
PENALTY_LIMIT = 2.0


def validate_openai(kwargs: Mapping[str, Any], rules: InputRules) -> CheckedRequest:
    """Check the arguments of `chat.completions.create`; raise `PromptValidationError`."""
    check = Checker("openai")
    kwargs = present(kwargs)
    info = check.model(kwargs, rules)
    max_tokens = _max_tokens(check, kwargs, info)
    messages = check.messages(kwargs.get("messages"))
    for i, raw in enumerate(messages):
        _check_message(check, raw, i)
    _check_tool_calls(check, messages)
    _check_sampling(check, kwargs)
    prompt = rules.estimator(messages, None)
    if kwargs.get("tools"):
        prompt += rules.estimator([], tools_text(kwargs["tools"]))
    check.fits(info, prompt, max_tokens, rules)
    return CheckedRequest(
        provider="openai", model=info, prompt_tokens=prompt, max_tokens=max_tokens
    )


def _max_tokens(check: Checker, kwargs: Mapping[str, Any], info: ModelInfo | None) -> int | None:
    limit = None if info is None else info.max_output_tokens
    found = None
    for name in ("max_completion_tokens", "max_tokens"):
        value = kwargs.get(name)
        if value is not None:
            found = check.integer(value, name, 1, limit) if found is None else found
    return found


def _check_message(check: Checker, raw: object, i: int) -> None:
    path = f"messages[{i}]"
    message = check.mapping(raw, path, "a message (a dict with 'role' and 'content')")
    role = message.get("role")
    if role not in ROLES:
        raise check.fail(f"{path}.role", role, _ROLES_TEXT)
    _check_content(check, message, path, str(role))
    if role == "tool":
        tool_call_id = message.get("tool_call_id")
        if not isinstance(tool_call_id, str) or not tool_call_id:
            raise check.fail(f"{path}.tool_call_id", tool_call_id, "a non-empty str")
    if role == "function" and not isinstance(message.get("name"), str):
        raise check.fail(
            f"{path}.name", message.get("name"), "a str (a function message needs one)"
        )


def _check_content(check: Checker, message: Mapping[str, object], path: str, role: str) -> None:
    content = message.get("content")
    if content is None:
        if role in _CONTENT_REQUIRED:
            raise check.fail(
                f"{path}.content", content, f"a str or a list of parts ({role} needs one)"
            )
        if role == "assistant" and not _has_any(
            message, "tool_calls", "function_call", "refusal", "audio"
        ):
            raise check.fail(
                f"{path}.content", content, "set (an assistant message needs content or tool_calls)"
            )
        return
    if isinstance(content, str):
        return
    if isinstance(content, bytes | Mapping) or not isinstance(content, Sequence):
        raise check.fail(f"{path}.content", content, "a str or a list of content parts")
    for j, part in enumerate(content):
        _check_part(check, part, f"{path}.content[{j}]")


def _has_any(message: Mapping[str, object], *keys: str) -> bool:
    return any(message.get(k) is not None for k in keys)


def _check_part(check: Checker, raw: object, path: str) -> None:
    part = check.mapping(raw, path, "a content part (a dict with a 'type')")
    kind = part.get("type")
    if not isinstance(kind, str) or not kind:
        raise check.fail(f"{path}.type", kind, "a part type (a non-empty str)")
    if kind == "text" and not isinstance(part.get("text"), str):
        raise check.fail(f"{path}.text", part.get("text"), "a str")
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else None
        if not isinstance(url, str) or not url:
            raise check.fail(f"{path}.image_url.url", url, "a non-empty str (a URL or data URL)")


def _tool_call_ids(check: Checker, message: Mapping[str, object], path: str) -> dict[str, str]:
    calls = message.get("tool_calls")
    if calls is None:
        return {}
    if isinstance(calls, str | bytes | Mapping) or not isinstance(calls, Sequence):
        raise check.fail(f"{path}.tool_calls", calls, "a list of tool calls")
    ids: dict[str, str] = {}
    for k, raw in enumerate(calls):
        call = check.mapping(raw, f"{path}.tool_calls[{k}]", "a tool call (a dict with an 'id')")
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            raise check.fail(f"{path}.tool_calls[{k}].id", call_id, "a non-empty str")
        ids[call_id] = f"{path}.tool_calls[{k}].id"
    return ids


def _check_tool_calls(check: Checker, messages: Sequence[object]) -> None:
    """Every tool call answered by the tool messages right after it, and nothing else."""
    pending: dict[str, str] = {}  # tool_call_id → path, of the open assistant message
    open_call = False
    for i, raw in enumerate(messages):
        message = check.mapping(raw, f"messages[{i}]", "a message")
        role = message.get("role")
        if role == "tool":
            tool_call_id = str(message.get("tool_call_id"))
            if not open_call:
                raise check.refuse(
                    f"messages[{i}].role",
                    role,
                    "must answer a tool call: the message before it is not an assistant "
                    "message with tool_calls (or its tool messages)",
                )
            if tool_call_id not in pending:
                raise check.fail(
                    f"messages[{i}].tool_call_id",
                    tool_call_id,
                    "the id of an unanswered tool call of the preceding assistant message",
                )
            del pending[tool_call_id]
            continue
        _unanswered(check, pending)
        pending = _tool_call_ids(check, message, f"messages[{i}]") if role == "assistant" else {}
        open_call = bool(pending)
    _unanswered(check, pending)


def _unanswered(check: Checker, pending: Mapping[str, str]) -> None:
    for call_id, path in pending.items():
        raise check.refuse(
            path, call_id, "has no tool message answering it (each tool call needs one, next)"
        )


def _check_sampling(check: Checker, kwargs: Mapping[str, Any]) -> None:
    ranges = {
        "temperature": (0.0, TEMPERATURE_MAX),
        "top_p": (0.0, 1.0),
        "presence_penalty": (-PENALTY_LIMIT, PENALTY_LIMIT),
        "frequency_penalty": (-PENALTY_LIMIT, PENALTY_LIMIT),
    }
    for name, (low, high) in ranges.items():
        value = kwargs.get(name)
        if value is not None:
            check.number(value, name, low, high)
    if kwargs.get("n") is not None:
        check.integer(kwargs["n"], "n", 1, None)

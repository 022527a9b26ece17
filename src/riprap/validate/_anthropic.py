"""The Anthropic Messages API's request rules, checked before the call.

Sources: the `messages` and `max_tokens` documentation in anthropic 2.12
(`resources/messages/messages.py`): consecutive same-role turns are combined, not
refused; a final assistant message is a prefill, refused by models that do not support
it; at most 100,000 messages; `max_tokens` 0 only warms the prompt cache. The API's own
400s for the rest: the system prompt is a top-level parameter, never a message role;
"text content blocks must be non-empty"; "all messages must have non-empty content except
for the optional final assistant message"; a `tool_result` must answer a `tool_use` of
the previous assistant turn, and every `tool_use` needs its `tool_result` in the next
turn; a prefill "cannot end with trailing whitespace" (prompt-engineering guide).

Only what the API is known to refuse is refused: unknown block types and unknown
parameters pass, so a new API feature never breaks a user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from riprap.validate._common import (
    CheckedRequest,
    Checker,
    present,
    sampling_values,
    tools_text,
)
from riprap.validate._estimate import _as_mapping

if TYPE_CHECKING:
    from riprap.models import ModelInfo
    from riprap.validate._common import InputRules

ROLES = ("user", "assistant")
#: The API's documented ceiling on messages in one request.
MAX_MESSAGES = 100_000
#: Anthropic's sampling ranges: temperature and top_p in 0..1, top_k a count.
TEMPERATURE_MAX = 1.0

_ROLES_TEXT = "one of 'user', 'assistant'"
_USER_ONLY = frozenset({"tool_result"})
_ASSISTANT_ONLY = frozenset({"tool_use", "thinking", "redacted_thinking", "server_tool_use"})


class _Turn:
    """Consecutive messages of one role, which the API combines into one turn."""

    def __init__(self, role: str) -> None:
        self.role = role
        #: tool_use ids offered (assistant turns), with the path of each.
        self.tool_uses: dict[str, str] = {}
        #: tool_result ids answered (user turns), with the path of each.
        self.tool_results: dict[str, str] = {}


def validate_anthropic(kwargs: Mapping[str, Any], rules: InputRules) -> CheckedRequest:
    """Check the arguments of `messages.create`; raise `PromptValidationError` if wrong."""
    check = Checker("anthropic")
    kwargs = present(kwargs)
    info = check.model(kwargs, rules)
    if "max_tokens" not in kwargs:
        raise check.fail("max_tokens", None, "an int >= 0 (it is required)")
    limit = None if info is None else info.max_output_tokens
    max_tokens = check.integer(kwargs["max_tokens"], "max_tokens", 0, limit)
    messages = check.messages(kwargs.get("messages"))
    if len(messages) > MAX_MESSAGES:
        raise check.fail("messages", messages, f"a list of at most {MAX_MESSAGES} messages")
    turns = _check_messages(check, messages, info, rules)
    _check_tool_pairs(check, turns)
    system = kwargs.get("system")
    _check_system(check, system)
    _check_sampling(check, kwargs, info)
    stops = kwargs.get("stop_sequences")
    if stops is not None and (
        isinstance(stops, str)
        or not isinstance(stops, Sequence)
        or not all(isinstance(s, str) for s in stops)
    ):
        raise check.fail("stop_sequences", stops, "a list of str")
    prompt = rules.estimator(messages, system)
    if kwargs.get("tools"):
        prompt += rules.estimator([], tools_text(kwargs["tools"]))
    check.fits(info, prompt, max_tokens, rules)
    return CheckedRequest(
        provider="anthropic", model=info, prompt_tokens=prompt, max_tokens=max_tokens
    )


def _check_messages(
    check: Checker, messages: Sequence[object], info: ModelInfo | None, rules: InputRules
) -> list[_Turn]:
    turns: list[_Turn] = []
    last = len(messages) - 1
    for i, raw in enumerate(messages):
        path = f"messages[{i}]"
        message = check.mapping(raw, path, "a message (a dict with 'role' and 'content')")
        role = message.get("role")
        if role == "system":
            raise check.refuse(
                f"{path}.role",
                role,
                "is not allowed in Anthropic messages: pass the system prompt as the "
                "top-level `system` argument",
            )
        if role not in ROLES:
            raise check.fail(f"{path}.role", role, _ROLES_TEXT)
        if i == 0 and role == "assistant" and not rules.allow_assistant_first:
            raise check.fail(
                f"{path}.role", role, "'user' (the first message must come from the user)"
            )
        if not turns or turns[-1].role != role:
            turns.append(_Turn(str(role)))
        final_assistant = i == last and role == "assistant"
        if final_assistant and info is not None and info.rejects("prefill"):
            raise check.refuse(
                f"{path}.role",
                role,
                f"cannot end the conversation: {info.id} does not support prefill (a final "
                "assistant message); end with a user message",
            )
        _check_content(check, message, path, str(role), turns[-1], final=final_assistant)
    return turns


def _check_content(
    check: Checker,
    message: Mapping[str, object],
    path: str,
    role: str,
    turn: _Turn,
    *,
    final: bool,
) -> None:
    if "content" not in message:
        raise check.fail(f"{path}.content", None, "a str or a list of content blocks (required)")
    content = message["content"]
    if isinstance(content, str):
        if not content and not final:
            raise check.fail(
                f"{path}.content", content, "non-empty (only a final assistant message may be)"
            )
        if final and content != content.rstrip():
            raise check.refuse(
                f"{path}.content", content, "ends with whitespace, which a prefill may not"
            )
        return
    if isinstance(content, bytes | Mapping) or not isinstance(content, Sequence):
        raise check.fail(f"{path}.content", content, "a str or a list of content blocks")
    if not content and not final:
        raise check.fail(
            f"{path}.content", content, "non-empty (only a final assistant message may be)"
        )
    for j, raw in enumerate(content):
        _check_block(check, raw, f"{path}.content[{j}]", role, turn)
    if final and content:
        tail = check.mapping(content[-1], f"{path}.content[{len(content) - 1}]", "a block")
        text = tail.get("text")
        if tail.get("type") == "text" and isinstance(text, str) and text != text.rstrip():
            raise check.refuse(
                f"{path}.content[{len(content) - 1}].text",
                text,
                "ends with whitespace, which a prefill may not",
            )


def _check_block(check: Checker, raw: object, path: str, role: str, turn: _Turn) -> None:
    block = check.mapping(raw, path, "a content block (a dict with a 'type')")
    kind = block.get("type")
    if not isinstance(kind, str) or not kind:
        raise check.fail(f"{path}.type", kind, "a block type (a non-empty str)")
    if kind in _USER_ONLY and role != "user":
        raise check.refuse(f"{path}.type", kind, "is only allowed in user messages")
    if kind in _ASSISTANT_ONLY and role != "assistant":
        raise check.refuse(f"{path}.type", kind, "is only allowed in assistant messages")
    if kind == "text":
        _check_text(check, block.get("text"), f"{path}.text")
    elif kind in {"image", "document"} and _source(block) is None:
        raise check.fail(f"{path}.source", block.get("source"), "a source object")
    elif kind == "tool_use":
        _check_tool_use(check, block, path, turn)
    elif kind == "tool_result":
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str) or not tool_use_id:
            raise check.fail(f"{path}.tool_use_id", tool_use_id, "a non-empty str")
        turn.tool_results[tool_use_id] = f"{path}.tool_use_id"


def _check_text(check: Checker, text: object, path: str) -> None:
    if not isinstance(text, str):
        raise check.fail(path, text, "a str")
    if not text:
        raise check.fail(path, text, "non-empty (text blocks must have text)")


def _check_tool_use(check: Checker, block: Mapping[str, object], path: str, turn: _Turn) -> None:
    for key in ("id", "name"):
        if not isinstance(block.get(key), str) or not block.get(key):
            raise check.fail(f"{path}.{key}", block.get(key), "a non-empty str")
    if _as_mapping(block.get("input")) is None:
        raise check.fail(f"{path}.input", block.get("input"), "an object (a dict)")
    turn.tool_uses[str(block["id"])] = f"{path}.id"


def _source(block: Mapping[str, object]) -> object:
    source = block.get("source")
    return source if _as_mapping(source) is not None else None


def _check_tool_pairs(check: Checker, turns: list[_Turn]) -> None:
    # Results first: a result naming the wrong id also leaves its tool_use unanswered,
    # and the wrong id is the error to report.
    for n, turn in enumerate(turns):
        offered = turns[n - 1].tool_uses if n > 0 and turn.role == "user" else {}
        for tool_use_id, path in turn.tool_results.items():
            if tool_use_id not in offered:
                raise check.fail(
                    path, tool_use_id, "the id of a tool_use block in the previous assistant turn"
                )
    for n, turn in enumerate(turns[:-1]):
        answered = turns[n + 1].tool_results
        for tool_use_id, path in turn.tool_uses.items():
            if tool_use_id not in answered:
                raise check.refuse(
                    path,
                    tool_use_id,
                    "has no tool_result block in the next user turn (every tool_use needs one)",
                )


def _check_system(check: Checker, system: object) -> None:
    if system is None or isinstance(system, str):
        return
    if isinstance(system, bytes | Mapping) or not isinstance(system, Sequence):
        raise check.fail("system", system, "a str or a list of text blocks")
    for j, raw in enumerate(system):
        block = check.mapping(raw, f"system[{j}]", "a text block")
        if block.get("type") != "text":
            raise check.fail(f"system[{j}].type", block.get("type"), "'text'")
        if not isinstance(block.get("text"), str):
            raise check.fail(f"system[{j}].text", block.get("text"), "a str")


def _check_sampling(check: Checker, kwargs: Mapping[str, Any], info: ModelInfo | None) -> None:
    values = sampling_values(kwargs)
    if values and info is not None and info.rejects("sampling"):
        path = next(iter(values))
        raise check.refuse(
            path, values[path], f"is not accepted by {info.id} (it takes no sampling parameters)"
        )
    for path, value in values.items():
        name = path.rsplit(".", 1)[-1]
        if name == "top_k":
            check.integer(value, path, 0, None)
        else:
            check.number(value, path, 0.0, TEMPERATURE_MAX)

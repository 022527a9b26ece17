"""Reading the input file: one JSON object per line, `{"id": ..., "request": {...}}`.

Everything here is a pure function of one line's bytes (plus, for the request's shape,
what the file's earlier lines showed), so every input error is found, with its line
number, before anything is sent. The file is streamed: nothing holds more than one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

if TYPE_CHECKING:
    import hashlib
    from collections.abc import Iterator
    from pathlib import Path

Shape: TypeAlias = Literal["anthropic", "openai"]

#: Request keys only the OpenAI Chat Completions API takes.
OPENAI_KEYS: Final = frozenset(
    {"max_completion_tokens", "n", "response_format", "logprobs", "top_logprobs",
     "frequency_penalty", "presence_penalty", "seed", "logit_bias", "parallel_tool_calls",
     "reasoning_effort", "store", "modalities", "stream_options", "user"}
)  # fmt: skip
#: Message roles only OpenAI has (Anthropic takes the system prompt as a top-level key).
OPENAI_ROLES: Final = frozenset({"system", "developer", "tool", "function"})
#: Request keys only the Anthropic Messages API takes.
ANTHROPIC_KEYS: Final = frozenset(
    {"system", "stop_sequences", "top_k", "thinking", "container", "mcp_servers"}
)

#: Ids are keys in the journal and the output; a longer one is almost surely a mistake.
MAX_ID_LENGTH: Final = 512


class InputError(ValueError):
    """One input line is unusable; the message names the line, the field and the value."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


@dataclass(frozen=True, slots=True)
class Raw:
    """One non-blank line of the input, located so it can be read again later."""

    line: int
    offset: int
    length: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Checked:
    """What the first pass keeps of a line: its id (canonical key), or why it is invalid.

    `id_key` is `None` only when the line has no usable id; `error` is set when the line
    cannot be sent (it is then recorded as invalid, never sent).
    """

    raw: Raw
    id_key: str | None
    error: str | None = None
    shape: Shape | None = None


def lines(path: Path, digest: hashlib._Hash | None = None) -> Iterator[Raw]:
    """Every non-blank line of `path` with its 1-based number and byte offset.

    `digest`, when given, is fed every byte of the file (the journal's fingerprint).
    """
    offset = 0
    with path.open("rb") as handle:
        for number, data in enumerate(handle, start=1):
            if digest is not None:
                digest.update(data)
            if data.strip():
                yield Raw(line=number, offset=offset, length=len(data), data=data)
            offset += len(data)


def read_at(handle: Any, offset: int, length: int) -> bytes:
    """The bytes of one line, read again from an open binary file."""
    handle.seek(offset)
    data: bytes = handle.read(length)
    return data


def id_key(value: object) -> str | None:
    """The canonical key of an id: strings as they are, integers in decimal.

    So `1` and `"1"` are the same id (a duplicate), as they would be to most readers of
    the output. `None` when `value` cannot be an id.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value and len(value) <= MAX_ID_LENGTH:
        return value
    return None


def parse(raw: Raw) -> tuple[object, dict[str, Any]]:
    """The line's id and request; `InputError` naming the field when it has none."""
    try:
        value = json.loads(raw.data)
    except ValueError as error:
        raise InputError(raw.line, f"not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InputError(
            raw.line,
            f'expected a JSON object with "id" and "request", got {type(value).__name__}',
        )
    if "id" not in value:
        raise InputError(raw.line, '"id" is missing')
    if id_key(value["id"]) is None:
        raise InputError(
            raw.line,
            f'"id" must be a non-empty string (at most {MAX_ID_LENGTH} characters) or an '
            f"integer, got {_show(value['id'])}",
        )
    request = value.get("request")
    if not isinstance(request, dict):
        what = "missing" if "request" not in value else f"not an object: {_show(request)}"
        raise InputError(raw.line, f'"request" is {what}')
    return value["id"], request


def shape_of(request: dict[str, Any]) -> Shape | None:
    """Which API the request is written for, when its keys or roles say; `None` if both fit."""
    openai = bool(OPENAI_KEYS & request.keys())
    messages = request.get("messages")
    if isinstance(messages, list):
        openai = openai or any(
            isinstance(m, dict) and m.get("role") in OPENAI_ROLES for m in messages
        )
    anthropic = bool(ANTHROPIC_KEYS & request.keys())
    if openai and not anthropic:
        return "openai"
    if anthropic and not openai:
        return "anthropic"
    return None


def check_request(
    line: int, request: dict[str, Any], *, shape: Shape, model_override: str | None
) -> None:
    """Raise `InputError` if `request` cannot be sent as a `shape` call."""
    if request.get("stream") not in (None, False):
        raise InputError(line, f'"request.stream" is {_show(request["stream"])}: batch '
                         "calls do not stream; remove it")  # fmt: skip
    model = request.get("model")
    if model_override is None and (not isinstance(model, str) or not model):
        raise InputError(
            line, f'"request.model" must be a non-empty string (or give --model), got '
            f"{_show(model)}"
        )  # fmt: skip
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError(
            line, f'"request.messages" must be a non-empty list, got {_show(messages)}'
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InputError(
                line, f'"request.messages[{index}]" must be an object, got {_show(message)}'
            )
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise InputError(
                line, f'"request.messages[{index}].role" must be a string, got {_show(role)}'
            )
        if shape == "anthropic" and role not in ("user", "assistant"):
            raise InputError(
                line,
                f'"request.messages[{index}].role" is {_show(role)}: Anthropic takes "user" or '
                '"assistant" (the system prompt goes in "request.system")',
            )
        if "content" not in message and role != "assistant":
            raise InputError(line, f'"request.messages[{index}].content" is missing')
    _check_max_tokens(line, request, shape=shape)


def _check_max_tokens(line: int, request: dict[str, Any], *, shape: Shape) -> None:
    names = ("max_tokens",) if shape == "anthropic" else ("max_tokens", "max_completion_tokens")
    for name in names:
        value = request.get(name)
        if value is None and name not in request:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(line, f'"request.{name}" must be an integer >= 1, got {_show(value)}')
    if shape == "anthropic" and "max_tokens" not in request:
        raise InputError(line, '"request.max_tokens" is missing (Anthropic requires it)')


def _show(value: object) -> str:
    """A short rendering of a bad value for an error message."""
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."  # noqa: PLR2004 - one line's worth


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class Checker:
    """The first pass over the input, line by line: ids, shapes and request checks.

    It remembers only the file's shape (Anthropic or OpenAI, from the first line that
    shows one); duplicate ids are found by the journal, which holds every id anyway.
    """

    def __init__(self, *, shape: Shape | None, model_override: str | None) -> None:
        #: The file's shape: given, or learnt from the first line that shows one.
        self.shape: Shape | None = shape
        self._fixed = shape is not None
        self._shape_line: int | None = None
        self._model_override = model_override

    def check(self, raw: Raw) -> Checked:
        """Check one line; never raises for bad input (the result says why)."""
        try:
            ident, request = parse(raw)
        except InputError as error:
            return Checked(raw=raw, id_key=None, error=error.reason)
        key = id_key(ident)
        try:
            shape = self._shape(raw.line, request)
            check_request(raw.line, request, shape=shape, model_override=self._model_override)
        except InputError as error:
            return Checked(raw=raw, id_key=key, error=error.reason)
        return Checked(raw=raw, id_key=key, shape=shape)

    def _shape(self, line: int, request: dict[str, Any]) -> Shape:
        seen = shape_of(request)
        if seen is None:
            return self.shape or "anthropic"
        if self.shape is None:
            self.shape, self._shape_line = seen, line
            return seen
        if seen != self.shape:
            source = (
                "--provider/--format says"
                if self._fixed
                else f"line {self._shape_line} made the file"
            )
            raise InputError(
                line,
                f"the request is {_title(seen)}-shaped, but {source} {_title(self.shape)}; "
                "one file holds one API's requests",
            )
        return seen


def _title(shape: Shape) -> str:
    return "Anthropic" if shape == "anthropic" else "OpenAI"

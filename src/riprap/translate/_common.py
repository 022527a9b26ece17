"""What both directions of translation share: the verdicts, and reading SDK arguments.

A request outside the common subset is not an error: the fallback layer skips that
target and records why. Translation code raises `Outside` deep inside and the public
functions turn it into an `Unsupported` value, so every rule reads as one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn

from riprap._kinds import Kind
from riprap.errors import RiprapError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A request the other provider's API cannot express; `reason` names what and why."""

    reason: str


class TranslationError(RiprapError):
    """A response that cannot become the caller's type (kind `response_invalid`).

    For example tool-call arguments that are not a JSON object: the other provider's
    answer was malformed for this caller, so the fallback layer treats it as a failed
    attempt of that target.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, kind=Kind.RESPONSE_INVALID)


class Outside(Exception):  # noqa: N818 - a control-flow signal inside this package, not an error
    """Raised inside a translation when the request leaves the common subset."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def outside(reason: str) -> NoReturn:
    """Stop translating: `reason` is outside the common subset."""
    raise Outside(reason)


#: Both SDKs' "argument not given" sentinels (`NOT_GIVEN`, `omit`), by class name: riprap
#: must not import an SDK the user does not have to recognise them.
_SENTINELS: Final = frozenset({"NotGiven", "Omit"})


def given(value: object) -> bool:
    """Whether an SDK argument was given: not None, and not an SDK sentinel."""
    if value is None:
        return False
    kind = type(value)
    return not (kind.__name__ in _SENTINELS and kind.__module__.split(".")[0] in _SDKS)


_SDKS: Final = frozenset({"anthropic", "openai"})


def plain(value: object) -> Any:
    """An SDK pydantic object (`msg.to_param()` holds them) as the dict it serialises to."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    return value


def mapping(value: object, where: str) -> Mapping[str, Any]:
    """`value` as a mapping (a TypedDict or an SDK object), or outside the subset."""
    value = plain(value)
    if not isinstance(value, dict):
        outside(f"{where}: expected an object, got {type(value).__name__}")
    return value


def items(value: object, where: str) -> list[Any]:
    """`value` (any iterable but a string or a mapping) as a list."""
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
        outside(f"{where}: expected a list, got {type(value).__name__}")
    return list(value)


def only(block: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Every key of `block` that is set must be one this translation knows."""
    extra = sorted(k for k, v in block.items() if k not in allowed and given(v))
    if extra:
        outside(f"{where}: {', '.join(map(repr, extra))} has no counterpart in the other API")


def text_of(block: Mapping[str, Any], where: str) -> str:
    """The `text` of a text block or part, checked to be a string."""
    text = block.get("text")
    if not isinstance(text, str):
        outside(f"{where}: text must be a string")
    return text

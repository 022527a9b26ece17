"""Input validation's entry point: one call per request, dispatched by provider."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from riprap.errors import ConfigError
from riprap.validate._anthropic import validate_anthropic
from riprap.validate._common import CheckedRequest, InputRules
from riprap.validate._openai import validate_openai

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_VALIDATORS: dict[str, Callable[[Mapping[str, Any], InputRules], CheckedRequest]] = {
    "anthropic": validate_anthropic,
    "openai": validate_openai,
}


@cache
def default_rules() -> InputRules:
    """The rules used when none are given: the shipped registry, non-strict."""
    return InputRules()


def validate_request(
    provider: str, kwargs: Mapping[str, Any], *, rules: InputRules | None = None
) -> CheckedRequest:
    """Check a request's arguments against `provider`'s rules, before any network.

    For Anthropic's `messages.create` and OpenAI's `chat.completions.create` (other
    endpoints take other shapes). `kwargs` are the keyword arguments of the SDK call;
    `messages` must be a sequence (`materialize` turns a generator into a list first, so
    that checking it does not consume what the SDK would send).

    Returns what was learned (the model's registry entry, the prompt estimate) for the
    budget layer; raises `PromptValidationError` (or `ContextOverflowError`) naming the
    field, and warns `UnknownModelWarning` for a model the registry does not know.
    """
    validator = _VALIDATORS.get(provider)
    if validator is None:
        raise ConfigError(
            f"validate_request: provider {provider!r} is not one of {sorted(_VALIDATORS)}"
        )
    return validator(kwargs, default_rules() if rules is None else rules)


def materialize(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """`kwargs` with `messages` (and `system`, `tools`) as lists if they were iterators.

    The SDKs accept any iterable; a generator can be read once only, so riprap reads it
    into a list before validating and sends that list.
    """
    out = dict(kwargs)
    for key in ("messages", "system", "tools"):
        value = out.get(key)
        if (
            value is not None
            and not isinstance(value, str | bytes | list | tuple | dict)
            and hasattr(value, "__iter__")
            and not hasattr(value, "model_dump")
        ):
            out[key] = list(value)
    return out

"""Shared pieces of the per-provider request checks: paths, values, numbers, config."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riprap.errors import ConfigError
from riprap.models import Registry
from riprap.validate._errors import ContextOverflowError, PromptValidationError
from riprap.validate._estimate import Estimator, _as_mapping, estimate_tokens

if TYPE_CHECKING:
    from riprap.models import ModelInfo

#: Class names of the SDKs' "argument not given" sentinels (`NOT_GIVEN`, `omit`).
_SENTINELS = frozenset({"NotGiven", "Omit"})
#: Longest piece of a bad value quoted in an error: enough to recognise it, too short to
#: copy a prompt into logs.
MAX_SHOWN = 40


@dataclass(frozen=True, kw_only=True, slots=True)
class InputRules:
    """How requests are checked before the call."""

    #: Where limits and capabilities come from; a strict registry makes an unknown model
    #: an error (`PromptValidationError` on `model`), otherwise it is a warning.
    registry: Registry = field(default_factory=Registry.default)
    #: Counts the prompt's tokens for the context-window check.
    estimator: Estimator = estimate_tokens
    #: Check estimated prompt + max_tokens against the model's window.
    check_context: bool = True
    #: Anthropic: let a conversation start with an assistant message. The first-party API
    #: accepts it (anthropic-sdk-typescript#622), Amazon Bedrock refuses it ("first message
    #: must use the user role"), and a history that starts with the assistant is nearly
    #: always one trimmed in the wrong place; so it is refused unless allowed here.
    allow_assistant_first: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.registry, Registry):
            raise ConfigError(f"InputRules.registry: {self.registry!r} is not a Registry")
        if not callable(self.estimator):
            raise ConfigError(f"InputRules.estimator: {self.estimator!r} is not callable")
        for name in ("check_context", "allow_assistant_first"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"InputRules.{name}: {getattr(self, name)!r} is not a bool")


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckedRequest:
    """What validation learned about a request; the budget layer reuses it."""

    provider: str
    #: `None` when the model is not in the registry (nothing was checked against limits).
    model: ModelInfo | None
    #: The estimated prompt tokens (messages, system prompt and tools).
    prompt_tokens: int
    #: The output ceiling the request asks for, `None` if it sets none (OpenAI).
    max_tokens: int | None


def show(value: object) -> str:
    """A short, recognisable rendering of a bad value for an error message."""
    if isinstance(value, str):
        return repr(value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 3] + "...")
    if isinstance(value, Mapping):
        keys = ", ".join(sorted(str(k) for k in value)[:6])
        return f"<{type(value).__name__} with keys [{keys}]>"
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return "[]" if not value else f"<{type(value).__name__} of {len(value)}>"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"<{type(value).__name__}>"


class Checker:
    """Raises `PromptValidationError`s for one provider, with path and value."""

    def __init__(self, provider: str) -> None:
        """Check requests to `provider` ("anthropic" or "openai")."""
        self.provider = provider

    def fail(self, path: str, value: object, want: str) -> PromptValidationError:
        """The error for `value` at `path`, which is not `want`."""
        return PromptValidationError(
            f"{path}: {show(value)} is not {want}", path=path, value=value, provider=self.provider
        )

    def refuse(self, path: str, value: object, why: str) -> PromptValidationError:
        """The error for `value` at `path`, which is of the right kind but not allowed."""
        return PromptValidationError(
            f"{path}: {show(value)} {why}", path=path, value=value, provider=self.provider
        )

    def mapping(self, value: object, path: str, want: str) -> Mapping[str, object]:
        """`value` as a mapping (a dict or an SDK model object), or raise."""
        mapping = _as_mapping(value)
        if mapping is None:
            raise self.fail(path, value, want)
        return mapping

    def integer(self, value: object, path: str, low: int, high: int | None) -> int:
        """`value` if it is an int in [low, high] (no upper bound when `high` is None)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, value, "an int")
        if value < low or (high is not None and value > high):
            want = f"an int >= {low}" if high is None else f"an int in {low}..{high}"
            raise self.fail(path, value, want)
        return value

    def number(self, value: object, path: str, low: float, high: float) -> None:
        """Raise unless `value` is a finite number in [low, high]."""
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not low <= value <= high
        ):
            raise self.fail(path, value, f"a number in {low:g}..{high:g}")

    def messages(self, value: object) -> Sequence[object]:
        """The messages list: present, a sequence, not empty."""
        if value is None:
            raise self.fail("messages", value, "a non-empty list of messages (it is required)")
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise self.fail("messages", value, "a list of messages")
        if not value:
            raise self.fail("messages", value, "a non-empty list of messages")
        return value

    def model(self, kwargs: Mapping[str, Any], rules: InputRules) -> ModelInfo | None:
        """The registry's entry for the request's model; unknown → warning or error."""
        name = kwargs.get("model")
        if not isinstance(name, str) or not name:
            raise self.fail("model", name, "a model name (a non-empty str)")
        if rules.registry.strict and name not in rules.registry:
            raise self.fail(
                "model", name, "a model in the registry (strict mode; add it with with_models)"
            )
        info = rules.registry.get(name)
        if info is not None and info.provider != self.provider:
            raise self.fail("model", name, f"a {self.provider} model (it is {info.provider}'s)")
        return info

    def fits(
        self, info: ModelInfo | None, prompt_tokens: int, max_tokens: int | None, rules: InputRules
    ) -> None:
        """Raise `ContextOverflowError` if the prompt and output cannot fit the model."""
        if info is None or not rules.check_context:
            return
        output = max_tokens or 0
        if prompt_tokens + output <= info.context_window and prompt_tokens <= info.input_limit:
            return
        raise ContextOverflowError(
            f"messages: the estimated prompt of {prompt_tokens} tokens plus max_tokens "
            f"{output} is {prompt_tokens + output}, over {info.id}'s context window of "
            f"{info.context_window} tokens (at most {info.input_limit} of them prompt)",
            provider=self.provider,
            estimate=prompt_tokens,
            window=info.context_window,
            max_tokens=output,
            input_limit=info.input_limit,
        )


def tools_text(tools: object) -> str:
    """The tool definitions as the text the model is shown, for estimating their tokens."""
    if tools is None:
        return ""
    try:
        return json.dumps(tools, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(tools)


def present(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments actually given: the SDKs' "not given" sentinels removed.

    Both SDKs accept `NOT_GIVEN` / `omit` for any optional argument and send nothing for
    it; validation must read those as absent, not as bad values.
    """
    return {k: v for k, v in kwargs.items() if type(v).__name__ not in _SENTINELS}


def sampling_values(kwargs: Mapping[str, Any]) -> dict[str, object]:
    """Sampling parameters given (not `None`) at the top level or through `extra_body`."""
    names = ("temperature", "top_p", "top_k")
    found = {k: kwargs[k] for k in names if kwargs.get(k) is not None}
    extra = kwargs.get("extra_body")
    if isinstance(extra, Mapping):
        for key in names:
            if extra.get(key) is not None:
                found.setdefault(f"extra_body.{key}", extra[key])
    return found

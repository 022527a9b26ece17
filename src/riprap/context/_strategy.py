"""Context strategies as objects the call layer applies when a prompt does not fit.

Each has `fit(provider, kwargs, model)` (and `afit` for async callers) returning new
call arguments whose estimated prompt fits the model's window with room for `max_tokens`:

    SlidingWindow()                      drop the oldest turns
    Summarize(summarize=..., ...)        summarize the oldest turns with a cheaper model

riprap applies a chosen strategy once when a call fails on context overflow, before the
call (riprap's own estimate) or after it (the provider's `context_overflow`), and retries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from riprap.context._compress import acompress_history, compress_history
from riprap.context._window import sliding_window
from riprap.errors import ConfigError
from riprap.validate import estimate_tokens

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from riprap.models import ModelInfo
    from riprap.validate import Estimator

#: Share of the window left unused, for the estimate's error. chars/4 is calibrated on
#: older tokenizers; Anthropic's for Claude 4.7 and later counts about 30 % more tokens
#: for the same text, so an estimate may be 1/1.3 = 77 % of the truth: 25 % headroom
#: keeps such a prompt inside the window.
DEFAULT_HEADROOM = 0.25
#: Share of the prompt budget kept as verbatim recent turns when summarizing; the rest of
#: the budget is left for the summary and the next turns.
DEFAULT_KEEP_FRACTION = 0.5


def _fraction(owner: str, name: str, value: float, *, closed: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (0 <= value < 1 if not closed else 0 < value <= 1):
        want = "a number in (0, 1]" if closed else "a number in [0, 1)"
        raise ConfigError(f"{owner}.{name}: {value!r} is not {want}")


def prompt_budget(model: ModelInfo, max_tokens: int | None, headroom: float) -> int:
    """Prompt tokens a call may use: the window less the output, less the headroom."""
    room = min(model.input_limit, model.context_window - (max_tokens or 0))
    return max(0, math.floor(room * (1 - headroom)))


def max_tokens_of(kwargs: Mapping[str, Any]) -> int | None:
    for key in ("max_tokens", "max_completion_tokens"):
        value = kwargs.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


class ContextStrategy(Protocol):
    """What the call layer needs of a strategy."""

    def fit(self, provider: str, kwargs: Mapping[str, Any], model: ModelInfo) -> dict[str, Any]:
        """Arguments whose prompt fits `model`; raises `ContextOverflowError` if impossible."""
        ...

    async def afit(
        self, provider: str, kwargs: Mapping[str, Any], model: ModelInfo
    ) -> dict[str, Any]:
        """`fit` for async callers."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class SlidingWindow:
    """Keep the system prompt and the newest turns that fit; drop the oldest."""

    headroom: float = DEFAULT_HEADROOM
    estimator: Estimator = estimate_tokens

    def __post_init__(self) -> None:
        _fraction("SlidingWindow", "headroom", self.headroom, closed=False)

    def fit(self, provider: str, kwargs: Mapping[str, Any], model: ModelInfo) -> dict[str, Any]:
        """The arguments with `messages` cut to the window."""
        budget = prompt_budget(model, max_tokens_of(kwargs), self.headroom)
        system = kwargs.get("system")
        messages = sliding_window(
            list(kwargs.get("messages") or ()),
            budget=budget,
            provider=provider,
            system=system,
            estimator=self.estimator,
        )
        return {**kwargs, "messages": messages}

    async def afit(
        self, provider: str, kwargs: Mapping[str, Any], model: ModelInfo
    ) -> dict[str, Any]:
        """`fit`; nothing to await."""
        return self.fit(provider, kwargs, model)


@dataclass(frozen=True, kw_only=True, slots=True)
class Summarize:
    """Summarize the oldest turns (by a cheaper model) and keep the newest verbatim."""

    #: `summarize(old_messages) -> str` for sync callers (see `riprap.context.summarizer`).
    summarize: Callable[[Sequence[object]], str] | None = None
    #: The same for async callers (see `riprap.context.asummarizer`).
    asummarize: Callable[[Sequence[object]], Awaitable[str]] | None = None
    keep_fraction: float = DEFAULT_KEEP_FRACTION
    headroom: float = DEFAULT_HEADROOM
    estimator: Estimator = estimate_tokens

    def __post_init__(self) -> None:
        if self.summarize is None and self.asummarize is None:
            raise ConfigError("Summarize: give summarize= or asummarize= (or both)")
        _fraction("Summarize", "keep_fraction", self.keep_fraction, closed=True)
        _fraction("Summarize", "headroom", self.headroom, closed=False)

    def _keep(self, kwargs: Mapping[str, Any], model: ModelInfo) -> int:
        budget = prompt_budget(model, max_tokens_of(kwargs), self.headroom)
        return math.floor(budget * self.keep_fraction)

    def fit(self, provider: str, kwargs: Mapping[str, Any], model: ModelInfo) -> dict[str, Any]:
        """The arguments with old turns replaced by their summary."""
        if self.summarize is None:
            raise ConfigError("Summarize.fit: no sync summarize= was given; use afit")
        messages, system = compress_history(
            list(kwargs.get("messages") or ()),
            summarize=self.summarize,
            keep_tokens=self._keep(kwargs, model),
            provider=provider,
            system=kwargs.get("system"),
            estimator=self.estimator,
        )
        return _with(kwargs, messages, system)

    async def afit(
        self, provider: str, kwargs: Mapping[str, Any], model: ModelInfo
    ) -> dict[str, Any]:
        """`fit`, awaiting `asummarize` (or calling `summarize` if only that was given)."""
        if self.asummarize is None:
            return self.fit(provider, kwargs, model)
        messages, system = await acompress_history(
            list(kwargs.get("messages") or ()),
            summarize=self.asummarize,
            keep_tokens=self._keep(kwargs, model),
            provider=provider,
            system=kwargs.get("system"),
            estimator=self.estimator,
        )
        return _with(kwargs, messages, system)


def _with(kwargs: Mapping[str, Any], messages: list[Any], system: object) -> dict[str, Any]:
    out = {**kwargs, "messages": messages}
    if system is not None:
        out["system"] = system
    return out

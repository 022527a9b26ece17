"""The outer layers of a call (design §3, layers 1 and 2): check the request, hold budget.

Both run once per request, before any network and outside the retry loop (a fallback
target, a refit and a re-ask are each a request of their own): a request that breaks the
API's rules fails the same way on every attempt, and a budget reservation covers the
request, not each attempt. `Guard` is one call's pass through them; the sync and
async endpoints differ only in awaiting the ledger.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riprap.budget import Budgets, TokenUsage, ahold, asettle, cost, hold, settle
from riprap.context import prompt_budget
from riprap.context._strategy import max_tokens_of
from riprap.validate import (
    ContextOverflowError,
    InputRules,
    default_rules,
    materialize,
    validate_request,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from riprap._report import CallReport, Usage
    from riprap.budget._guard import Hold
    from riprap.context import SlidingWindow, Summarize
    from riprap.models import ModelInfo
    from riprap.validate import CheckedRequest

#: How far over its window a prompt is taken to be when the provider's message gives no
#: numbers: a quarter, a generous error for a character-count estimate.
UNKNOWN_OVERSHOOT = 1.25
#: What the refit keeps below the provider's own numbers, for the estimate's noise.
REFIT_MARGIN = 0.95

#: The endpoints whose arguments riprap knows how to check, per provider.
VALIDATED = {
    "anthropic": frozenset({("messages", "create")}),
    "openai": frozenset({("chat", "completions", "create")}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outer:
    """What a wrapped client checks before its calls."""

    #: `None` turns request validation off.
    rules: InputRules | None
    budgets: Budgets | None
    #: Applied once when the request's estimate is over the model's window.
    context: SlidingWindow | Summarize | None

    def refit(
        self, provider: str, kwargs: dict[str, Any], message: str = ""
    ) -> dict[str, Any] | None:
        """The request fitted tighter, after the provider said it is too long.

        riprap's estimate had said it fits, so fitting it again to the same budget would
        send the same prompt: the budget shrinks by the provider's own numbers when its
        `message` has them ("210344 tokens > 200000 maximum"), by `UNKNOWN_OVERSHOOT`
        otherwise. `None` when no strategy is set, the model is unknown, or nothing could
        be cut.
        """
        fitting = self._refitting(kwargs, message)
        if fitting is None:
            return None
        strategy, model = fitting
        fitted = strategy.fit(provider, materialize(kwargs), model)
        return None if fitted.get("messages") == kwargs.get("messages") else fitted

    async def arefit(
        self, provider: str, kwargs: dict[str, Any], message: str = ""
    ) -> dict[str, Any] | None:
        """`refit`, awaiting an async summarizer."""
        fitting = self._refitting(kwargs, message)
        if fitting is None:
            return None
        strategy, model = fitting
        fitted = await strategy.afit(provider, materialize(kwargs), model)
        return None if fitted.get("messages") == kwargs.get("messages") else fitted

    def _refitting(
        self, kwargs: dict[str, Any], message: str
    ) -> tuple[SlidingWindow | Summarize, ModelInfo] | None:
        strategy = self.context
        if strategy is None:
            return None
        model = (self.rules or default_rules()).registry.find(str(kwargs.get("model")))
        if model is None:
            return None
        # The prompt as riprap estimated it, scaled to what the provider counted: the
        # new budget is that estimate shrunk by the provider's overshoot, less a margin.
        sent = strategy.estimator(list(kwargs.get("messages") or ()), kwargs.get("system"))
        budget = sent / overshoot(message) * REFIT_MARGIN
        room = prompt_budget(model, max_tokens_of(kwargs), 0.0)
        if room <= 0 or budget <= 0:
            return None
        headroom = min(max(1.0 - budget / room, strategy.headroom), 0.999)
        return dataclasses.replace(strategy, headroom=headroom), model

    def cost(self, model: str | None, usage: Usage | None) -> float | None:
        """Dollars `usage` cost on `model` at the registry's prices; `None` if unknown."""
        if model is None or usage is None:
            return None
        info = (self.rules or default_rules()).registry.find(model)
        if info is None or info.prices is None:
            return None
        return cost(info.prices, tokens_of(usage))


def overshoot(message: str) -> float:
    """How many times its limit the prompt was, from the provider's error message.

    Both providers name the two counts: Anthropic "prompt is too long: 210344 tokens >
    200000 maximum", OpenAI "maximum context length is 128000 tokens. However, your
    messages resulted in 130563 tokens".
    """
    counts = [int(n) for n in re.findall(r"\b\d{4,}\b", message.replace(",", ""))]
    if len(counts) >= 2 and min(counts) > 0:  # noqa: PLR2004 - the limit and the count
        return max(max(counts) / min(counts), 1.0)
    return UNKNOWN_OVERSHOOT


class Guard:
    """One call's pass through the outer layers."""

    def __init__(
        self,
        outer: Outer,
        provider: str,
        path: tuple[str, ...],
        kwargs: dict[str, Any],
        *,
        fit: bool = True,
    ) -> None:
        """Check the request (fitting it to the window once, if a strategy is set).

        Raises `PromptValidationError` naming the field, before anything is sent.
        `fit=False` raises `ContextOverflowError` instead of fitting (see `acreate`).
        """
        self.outer = outer
        self.kwargs = kwargs
        self.checked: CheckedRequest | None = None
        self._held: Hold | None = None
        #: Told of the settlement (the hold, dollars spent) when it happens: observability.
        self.on_settle: Callable[[Hold, float | None], None] | None = None
        if outer.rules is None or path not in VALIDATED.get(provider, ()):
            return
        kwargs = materialize(kwargs)
        try:
            self.checked = validate_request(provider, kwargs, rules=outer.rules)
        except ContextOverflowError:
            model = outer.rules.registry.find(str(kwargs.get("model")))
            if not fit or outer.context is None or model is None:
                raise
            kwargs = outer.context.fit(provider, kwargs, model)
            self.checked = validate_request(provider, kwargs, rules=outer.rules)
        self.kwargs = kwargs

    @classmethod
    async def acreate(
        cls, outer: Outer, provider: str, path: tuple[str, ...], kwargs: dict[str, Any]
    ) -> Guard:
        """`Guard(...)` for async callers: a strategy's async summarizer is awaited."""
        try:
            return cls(outer, provider, path, kwargs, fit=False)
        except ContextOverflowError:
            rules = outer.rules
            model = None if rules is None else rules.registry.find(str(kwargs.get("model")))
            if outer.context is None or model is None:
                raise
            fitted = await outer.context.afit(provider, materialize(kwargs), model)
            return cls(outer, provider, path, fitted, fit=False)

    @property
    def held(self) -> Hold | None:
        """What is held for the call until it is settled; `None`: nothing (yet)."""
        return self._held

    def hold(self) -> None:
        """Reserve the call's worst-case cost; `BudgetExceededError` if it does not fit."""
        budgets = self.outer.budgets
        if budgets is not None and self.checked is not None:
            self._held = hold(budgets, self.checked)

    async def ahold(self) -> None:
        """`hold`, for a ledger whose methods are coroutines."""
        budgets = self.outer.budgets
        if budgets is not None and self.checked is not None:
            self._held = await ahold(budgets, self.checked)

    def settle(self, usage: TokenUsage | None) -> None:
        """Replace the reservation by what the call cost (`None`: it failed, nothing used)."""
        held, self._held = self._held, None
        if held is not None and self.outer.budgets is not None:
            spent = settle(self.outer.budgets, held, usage)
            if self.on_settle is not None:
                self.on_settle(held, spent)

    async def asettle(self, usage: TokenUsage | None) -> None:
        """`settle`, for a ledger whose methods are coroutines."""
        held, self._held = self._held, None
        if held is not None and self.outer.budgets is not None:
            spent = await asettle(self.outer.budgets, held, usage)
            if self.on_settle is not None:
                self.on_settle(held, spent)

    def settle_at_end(self, report: CallReport) -> Coroutine[Any, Any, None] | None:
        """Settle a stream when its call ends; a coroutine to await for an async ledger."""
        usage = report.usage
        tokens = None if usage is None else tokens_of(usage)
        budgets = self.outer.budgets
        if budgets is not None and inspect.iscoroutinefunction(budgets.ledger.settle):
            return self.asettle(tokens)
        self.settle(tokens)
        return None


def tokens_of(usage: Usage) -> TokenUsage:
    """A call's usage in the budget's terms (the same split of cached tokens)."""
    return TokenUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )

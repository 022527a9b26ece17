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
        given = materialize(kwargs)
        return _changed(strategy.fit(provider, given, model), given)

    async def arefit(
        self, provider: str, kwargs: dict[str, Any], message: str = ""
    ) -> dict[str, Any] | None:
        """`refit`, awaiting an async summarizer."""
        fitting = self._refitting(kwargs, message)
        if fitting is None:
            return None
        strategy, model = fitting
        given = materialize(kwargs)
        return _changed(await strategy.afit(provider, given, model), given)

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


def _changed(fitted: dict[str, Any], given: dict[str, Any]) -> dict[str, Any] | None:
    """`fitted`, or `None` if it would send the same prompt again.

    Compared with the arguments as given to the strategy (iterables read into lists), so
    that a tuple of messages cut to nothing new is not mistaken for a change.
    """
    same = fitted.get("messages") == list(given.get("messages") or ())
    return None if same and fitted.get("system") == given.get("system") else fitted


#: Anthropic: "prompt is too long: 210344 tokens > 200000 maximum".
_ANTHROPIC_COUNTS = re.compile(r"(\d+) tokens > (\d+) maximum")
#: Anthropic, when prompt + `max_tokens` overflow: "input length and `max_tokens` exceed
#: context limit: 195000 + 8192 > 200000".
_ANTHROPIC_SUM = re.compile(r"(\d+) \+ (\d+) > (\d+)")
#: OpenAI: "maximum context length is 128000 tokens. However, you requested 130563
#: tokens" (or "your messages resulted in 130563 tokens").
_OPENAI_WINDOW = re.compile(r"context length is (\d+) tokens", re.IGNORECASE)
_OPENAI_COUNT = re.compile(r"(?:requested|resulted in) (\d+) tokens")
#: ...followed, when `max_tokens` was set, by "(122942 in the messages, 8192 in the
#: completion)": the prompt's own count, and the output that the window must also hold.
_OPENAI_SPLIT = re.compile(
    r"(\d+) in (?:the messages|your prompt)[,;] (\d+) (?:in|for) the completion"
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3})")


def overshoot(message: str) -> float:
    """How many times what it may have the prompt was, from the provider's error message.

    Anthropic "prompt is too long: 210344 tokens > 200000 maximum"; OpenAI "maximum
    context length is 128000 tokens. However, your messages resulted in 130563 tokens",
    or, with `max_tokens`, "you requested 131134 tokens (122942 in the messages, 8192 in
    the completion)": the prompt's 122942 against the 131072 - 8192 left for it, not the
    completion's share against anything. `UNKNOWN_OVERSHOOT` when the numbers are not
    found.
    """
    text = _THOUSANDS.sub("", message)
    count = limit = 0
    if found := _ANTHROPIC_COUNTS.search(text):
        count, limit = int(found[1]), int(found[2])
    elif summed := _ANTHROPIC_SUM.search(text):
        count, limit = int(summed[1]), int(summed[3]) - int(summed[2])
    elif window := _OPENAI_WINDOW.search(text):
        if split := _OPENAI_SPLIT.search(text):
            count, limit = int(split[1]), int(window[1]) - int(split[2])
        elif asked := _OPENAI_COUNT.search(text):
            count, limit = int(asked[1]), int(window[1])
    if count <= 0 or limit <= 0:
        return UNKNOWN_OVERSHOOT
    return max(count / limit, 1.0)


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

"""The outer layers of a call (design §3, layers 1 and 2): check the request, hold budget.

Both run once per request, before any network and outside the retry loop (a fallback
target, a refit and a re-ask are each a request of their own): a request that breaks the
API's rules fails the same way on every attempt, and a budget reservation covers the
request, not each attempt. `Guard` is one call's pass through them; the sync and
async endpoints differ only in awaiting the ledger.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from riprap.budget import Budgets, TokenUsage, ahold, asettle, cost, hold, settle
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
    from riprap.validate import CheckedRequest

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

    def refit(self, provider: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The request fitted to its model's window, after the provider said it is too long.

        `None` when no strategy is set or the model is unknown.
        """
        if self.context is None:
            return None
        registry = (self.rules or default_rules()).registry
        model = registry.find(str(kwargs.get("model")))
        if model is None:
            return None
        return self.context.fit(provider, materialize(kwargs), model)

    def cost(self, model: str | None, usage: Usage | None) -> float | None:
        """Dollars `usage` cost on `model` at the registry's prices; `None` if unknown."""
        if model is None or usage is None:
            return None
        info = (self.rules or default_rules()).registry.find(model)
        if info is None or info.prices is None:
            return None
        return cost(info.prices, tokens_of(usage))


class Guard:
    """One call's pass through the outer layers."""

    def __init__(
        self, outer: Outer, provider: str, path: tuple[str, ...], kwargs: dict[str, Any]
    ) -> None:
        """Check the request (fitting it to the window once, if a strategy is set).

        Raises `PromptValidationError` naming the field, before anything is sent.
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
            if outer.context is None or model is None:
                raise
            kwargs = outer.context.fit(provider, kwargs, model)
            self.checked = validate_request(provider, kwargs, rules=outer.rules)
        self.kwargs = kwargs

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

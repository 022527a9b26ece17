"""The budget layer of a call: refuse what would overspend, then account for what was spent.

    held = hold(budgets, checked)          # before sending: ceiling, then reservation
    ...call...
    spent = settle(budgets, held, usage)   # after: the actual cost replaces the estimate

`ahold` / `asettle` are the same for a ledger with async methods (`AsyncRedisLedger`).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riprap.budget._cost import cost, worst_case_cost
from riprap.budget._errors import BudgetExceededError
from riprap.budget._ledger import Budget, MemoryLedger, Reservation, to_units
from riprap.errors import ConfigError

if TYPE_CHECKING:
    from riprap.budget._usage import TokenUsage
    from riprap.models import ModelInfo, Prices
    from riprap.validate import CheckedRequest


@dataclass(frozen=True, kw_only=True, slots=True)
class Budgets:
    """A client's cost limits: a ceiling per call, and running budgets over periods."""

    #: Dollars one call may cost at worst (prompt estimate + max_tokens at output price);
    #: `None`: no ceiling.
    per_call: float | None = None
    running: tuple[Budget, ...] = ()
    #: Where running budgets are kept; share one ledger between clients to share budgets.
    ledger: Any = field(default_factory=MemoryLedger)
    #: Prices for a model the registry does not know; `None`: such calls are not counted
    #: against any budget (the registry already warned that the model is unknown).
    fallback_prices: Prices | None = None

    def __post_init__(self) -> None:
        if self.per_call is not None and (
            isinstance(self.per_call, bool)
            or not isinstance(self.per_call, int | float)
            or not (math.isfinite(self.per_call) and self.per_call >= 0)
        ):
            raise ConfigError(f"Budgets.per_call: {self.per_call!r} is not None or dollars >= 0")
        object.__setattr__(self, "running", tuple(self.running))
        for budget in self.running:
            if not isinstance(budget, Budget):
                raise ConfigError(f"Budgets.running: {budget!r} is not a riprap.budget.Budget")
        if not (hasattr(self.ledger, "reserve") and hasattr(self.ledger, "settle")):
            raise ConfigError(f"Budgets.ledger: {self.ledger!r} is not a ledger")


@dataclass(frozen=True, kw_only=True, slots=True)
class Hold:
    """What the budget layer holds for one call until it is settled."""

    #: The call's worst case in dollars; `None` when its price is unknown.
    estimate: float | None
    prices: Prices | None
    reservation: Reservation | None


def _prices(budgets: Budgets, model: ModelInfo | None) -> Prices | None:
    if model is not None and model.prices is not None:
        return model.prices
    return budgets.fallback_prices


def worst_case(budgets: Budgets, checked: CheckedRequest) -> tuple[Prices | None, float | None]:
    """The prices of the call's model and its worst-case cost (`None`s when unknown).

    A call without `max_tokens` (optional for OpenAI) may produce the model's maximum.
    """
    prices = _prices(budgets, checked.model)
    if prices is None:
        return None, None
    output = checked.max_tokens
    if output is None:
        output = checked.model.max_output_tokens if checked.model is not None else 0
    return prices, worst_case_cost(prices, checked.prompt_tokens, output)


def _ceiling(budgets: Budgets, estimate: float) -> None:
    if budgets.per_call is not None and estimate > budgets.per_call:
        raise BudgetExceededError(
            f"this call's worst case ${estimate:.6f} (prompt estimate + max_tokens at the "
            f"output price) is over the per-call ceiling of ${budgets.per_call:.6f}",
            scope="call",
            limit=budgets.per_call,
            estimate=estimate,
        )


def hold(budgets: Budgets, checked: CheckedRequest) -> Hold:
    """Check the per-call ceiling and reserve the worst case; raise `BudgetExceededError`."""
    prices, estimate = worst_case(budgets, checked)
    if estimate is None:
        return Hold(estimate=None, prices=None, reservation=None)
    _ceiling(budgets, estimate)
    reservation = None
    if budgets.running:
        reservation = budgets.ledger.reserve(budgets.running, to_units(estimate))
    return Hold(estimate=estimate, prices=prices, reservation=reservation)


async def ahold(budgets: Budgets, checked: CheckedRequest) -> Hold:
    """`hold`, awaiting a ledger whose methods are coroutines."""
    prices, estimate = worst_case(budgets, checked)
    if estimate is None:
        return Hold(estimate=None, prices=None, reservation=None)
    _ceiling(budgets, estimate)
    reservation = None
    if budgets.running:
        outcome = budgets.ledger.reserve(budgets.running, to_units(estimate))
        reservation = await outcome if inspect.isawaitable(outcome) else outcome
    return Hold(estimate=estimate, prices=prices, reservation=reservation)


def actual_cost(held: Hold, usage: TokenUsage | None) -> float:
    """The call's cost from its usage; with no usage (it failed), nothing was billed."""
    if held.prices is None or usage is None:
        return 0.0
    return cost(held.prices, usage)


def settle(budgets: Budgets, held: Hold, usage: TokenUsage | None) -> float | None:
    """Replace the reservation by the actual cost; returns it (`None`: price unknown)."""
    spent = actual_cost(held, usage)
    if held.reservation is not None:
        budgets.ledger.settle(held.reservation, to_units(spent))
    return None if held.prices is None else spent


async def asettle(budgets: Budgets, held: Hold, usage: TokenUsage | None) -> float | None:
    """`settle`, awaiting a ledger whose methods are coroutines."""
    spent = actual_cost(held, usage)
    if held.reservation is not None:
        outcome = budgets.ledger.settle(held.reservation, to_units(spent))
        if inspect.isawaitable(outcome):
            await outcome
    return None if held.prices is None else spent

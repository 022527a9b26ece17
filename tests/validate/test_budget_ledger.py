"""Running budgets in memory: atomic reservations, settlement, periods."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from riprap.budget import (
    Budget,
    BudgetExceededError,
    Budgets,
    MemoryLedger,
    TokenUsage,
    hold,
    settle,
    to_units,
)
from riprap.errors import ConfigError
from riprap.testing import FakeClock
from riprap.validate import validate_request

CALL = to_units(0.05)


def race(ledger: MemoryLedger, budget: Budget, calls: int) -> list[bool]:
    """`calls` threads reserve CALL at the same moment; which were admitted."""
    start = threading.Barrier(calls)

    def one() -> bool:
        start.wait()
        try:
            ledger.reserve([budget], CALL)
        except BudgetExceededError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(lambda _: one(), range(calls)))


def test_fifty_concurrent_calls_against_a_budget_of_twenty() -> None:
    """50 concurrent reservations, room for 20: exactly 20 admitted, no overshoot."""
    ledger = MemoryLedger()
    budget = Budget(limit=1.00, key="tenant")
    admitted = race(ledger, budget, 50)
    assert admitted.count(True) == 20
    spent, reserved = ledger.state(budget)
    assert spent == 0
    assert reserved == pytest.approx(1.00)


def test_settling_refunds_the_difference() -> None:
    """Settling at the actual amount frees the rest of the reservation for other calls."""
    clock = FakeClock()
    ledger = MemoryLedger(clock=clock)
    budget = Budget(limit=0.10)
    first = ledger.reserve([budget], to_units(0.06))
    with pytest.raises(BudgetExceededError):
        ledger.reserve([budget], to_units(0.06))
    ledger.settle(first, to_units(0.01))
    assert ledger.state(budget) == (0.01, 0)
    ledger.reserve([budget], to_units(0.06))
    assert ledger.state(budget) == (0.01, 0.06)


def test_settling_charges_an_underestimate() -> None:
    """If the call cost more than reserved, the overrun is spent and counts from then on."""
    ledger = MemoryLedger()
    budget = Budget(limit=0.10)
    ledger.settle(ledger.reserve([budget], to_units(0.02)), to_units(0.09))
    assert ledger.state(budget)[0] == pytest.approx(0.09)
    with pytest.raises(BudgetExceededError):
        ledger.reserve([budget], to_units(0.02))


def test_the_error_carries_the_numbers() -> None:
    """BudgetExceededError says what was spent, reserved, the limit and this estimate."""
    ledger = MemoryLedger()
    budget = Budget(limit=1.0, period=3600, key="team-a")
    ledger.settle(ledger.reserve([budget], to_units(0.5)), to_units(0.4))
    ledger.reserve([budget], to_units(0.3))
    with pytest.raises(BudgetExceededError) as caught:
        ledger.reserve([budget], to_units(0.35))
    error = caught.value
    assert (error.scope, error.key, error.period) == ("running", "team-a", 3600)
    assert (error.spent, error.reserved, error.estimate, error.limit) == (0.4, 0.3, 0.35, 1.0)
    assert "team-a" in str(error)
    assert "$0.400000 spent" in str(error)


def test_periods_reset_the_budget() -> None:
    """A new period starts empty; the clock decides the period."""
    clock = FakeClock(wall_start=7_200.0)
    ledger = MemoryLedger(clock=clock)
    hourly = Budget(limit=0.10, period=3600)
    ledger.settle(ledger.reserve([hourly], to_units(0.10)), to_units(0.10))
    with pytest.raises(BudgetExceededError):
        ledger.reserve([hourly], to_units(0.01))
    clock.advance(3600)
    ledger.reserve([hourly], to_units(0.10))


def test_several_budgets_reserve_all_or_nothing() -> None:
    """A call is reserved against every budget or none: one refusal leaves the others untouched."""
    ledger = MemoryLedger()
    daily = Budget(limit=10.0, period=86_400, key="acme")
    tight = Budget(limit=0.01, key="acme-test")
    with pytest.raises(BudgetExceededError) as caught:
        ledger.reserve([daily, tight], to_units(0.02))
    assert caught.value.key == "acme-test"
    assert ledger.state(daily) == (0, 0)


def test_hold_and_settle_through_budgets() -> None:
    """The budget layer reserves the worst case and settles the actual cost."""
    budget = Budget(limit=1.0)
    budgets = Budgets(running=(budget,))
    request = validate_request(
        "anthropic",
        {
            "model": "claude-opus-5",
            "max_tokens": 1_000,
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    held = hold(budgets, request)
    assert held.reservation is not None
    assert budgets.ledger.state(budget)[1] == pytest.approx(held.estimate)
    spent = settle(budgets, held, TokenUsage(input_tokens=10, output_tokens=100))
    assert budgets.ledger.state(budget) == (pytest.approx(spent), 0)


def test_unknown_prices_are_not_counted() -> None:
    """A model without prices (unknown to the registry) is not held against budgets."""
    budgets = Budgets(running=(Budget(limit=0.0),))
    request = validate_request(
        "openai",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    unknown = type(request)(provider="openai", model=None, prompt_tokens=5, max_tokens=10)
    assert hold(budgets, unknown).reservation is None


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("limit", {"limit": -1}),
        ("period", {"limit": 1, "period": 0}),
        ("key", {"limit": 1, "key": "a:b"}),
    ],
)
def test_budget_config_is_validated(field: str, kwargs: dict[str, object]) -> None:
    """Bad budget values fail when the budget is made, naming the field."""
    with pytest.raises(ConfigError, match=f"Budget.{field}"):
        Budget(**kwargs)  # type: ignore[arg-type]

"""Running budgets: reserve a call's worst case atomically, settle its actual cost after.

Every budget has, per period, `spent` (settled) and `reserved` (held by calls in flight).
A reservation is admitted only if `spent + reserved + amount <= limit` for every budget
it touches, checked and applied in one atomic step, so concurrent calls cannot overshoot:
the worst case of every admitted call fits. Settling moves the reservation to `spent` at
the actual amount (a refund of the difference, or a charge if the estimate was low).

Amounts are integer nano-dollars inside ledgers (exact sums, and Redis's integer
increments); the public numbers are dollars.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from riprap._clock import SystemClock
from riprap.budget._errors import BudgetExceededError
from riprap.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from riprap._clock import Clock

#: Ledger units per dollar: nano-dollars. The cheapest published price, $0.01 per million
#: tokens, is 10 units per token; a double holds integers exactly up to 2**53 units, $9M.
UNITS_PER_DOLLAR = 1_000_000_000


def to_units(dollars: float) -> int:
    """Dollars as ledger units (nano-dollars), rounded to the nearest."""
    return round(dollars * UNITS_PER_DOLLAR)


def to_dollars(units: int) -> float:
    """Ledger units as dollars."""
    return units / UNITS_PER_DOLLAR


@dataclass(frozen=True, kw_only=True, slots=True)
class Budget:
    """A running budget: at most `limit` dollars per `period` for the spender `key`."""

    limit: float
    #: Seconds; periods are fixed windows aligned to the epoch (86,400: UTC days).
    #: `None`: the budget never resets.
    period: float | None = None
    #: Who spends: a client, an API key, a tenant. Budgets with the same key and period
    #: share their spending, across clients and (with Redis) processes.
    key: str = "default"

    def __post_init__(self) -> None:
        limit = self.limit
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not (math.isfinite(limit) and limit >= 0)
        ):
            raise ConfigError(f"Budget.limit: {limit!r} is not a finite number of dollars >= 0")
        period = self.period
        if period is not None and (
            isinstance(period, bool)
            or not isinstance(period, int | float)
            or not (math.isfinite(period) and period > 0)
        ):
            raise ConfigError(
                f"Budget.period: {period!r} is not None or a positive number of seconds"
            )
        if not isinstance(self.key, str) or not self.key or ":" in self.key:
            raise ConfigError(f"Budget.key: {self.key!r} is not a non-empty str without ':'")

    def window(self, now_epoch: float) -> int:
        """The number of the period `now_epoch` falls in (0 for a budget that never resets)."""
        return 0 if self.period is None else math.floor(now_epoch / self.period)

    @property
    def name(self) -> str:
        """The budget's identity in a ledger: key and period."""
        return f"{self.key}:{'all' if self.period is None else f'{self.period:g}'}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Reservation:
    """What one admitted call holds: `amount` units in each budget's current window."""

    id: int
    amount: int
    #: (budget name, window) of every budget the call was reserved against.
    slots: tuple[tuple[str, int], ...]


def exceeded(budget: Budget, *, spent: int, reserved: int, amount: int) -> BudgetExceededError:
    """The error for a reservation of `amount` units refused by `budget`."""
    period = "in total" if budget.period is None else f"per {budget.period:g}s"
    return BudgetExceededError(
        f"budget {budget.key!r} ({period}): this call's worst case ${to_dollars(amount):.6f} "
        f"plus ${to_dollars(spent):.6f} spent and ${to_dollars(reserved):.6f} reserved by "
        f"calls in flight would exceed the limit of ${budget.limit:.6f}",
        scope="running",
        key=budget.key,
        period=budget.period,
        limit=budget.limit,
        spent=to_dollars(spent),
        reserved=to_dollars(reserved),
        estimate=to_dollars(amount),
    )


class Ledger(Protocol):
    """Where running budgets are kept: in memory, or in Redis for many processes."""

    def reserve(self, budgets: Sequence[Budget], amount: int) -> Reservation:
        """Hold `amount` units in every budget at once, or raise `BudgetExceededError`."""
        ...

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Replace the held amount by `actual` units spent (0: nothing was spent)."""
        ...


class MemoryLedger:
    """Budgets in this process's memory; thread-safe, and cheap enough for async code.

    Windows older than the previous period are forgotten when their budget is next used;
    a call settled after its window was forgotten is not counted in any window.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        """Read periods off `clock.wall()` (default: the system clock)."""
        self._clock: Clock = SystemClock() if clock is None else clock
        self._lock = threading.Lock()
        #: (budget name, window) → [spent, reserved]
        self._slots: dict[tuple[str, int], list[int]] = {}
        self._ids = itertools.count(1)

    def reserve(self, budgets: Sequence[Budget], amount: int) -> Reservation:
        """Hold `amount` in every budget's current window, atomically, or raise."""
        if amount < 0:
            raise ValueError(f"MemoryLedger.reserve: amount {amount} is negative")
        now = self._clock.wall()
        with self._lock:
            slots = [(b.name, b.window(now)) for b in budgets]
            for budget, slot in zip(budgets, slots, strict=True):
                self._forget_before(budget.name, slot[1] - 1)
                spent, reserved = self._slots.get(slot, (0, 0))
                if spent + reserved + amount > to_units(budget.limit):
                    raise exceeded(budget, spent=spent, reserved=reserved, amount=amount)
            for slot in slots:
                self._slots.setdefault(slot, [0, 0])[1] += amount
            return Reservation(id=next(self._ids), amount=amount, slots=tuple(slots))

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Release the reservation and count `actual` as spent in its windows."""
        with self._lock:
            for slot in reservation.slots:
                entry = self._slots.get(slot)
                if entry is not None:
                    entry[0] += actual
                    entry[1] -= reservation.amount

    def state(self, budget: Budget) -> tuple[float, float]:
        """(spent, reserved) dollars in `budget`'s current window."""
        slot = (budget.name, budget.window(self._clock.wall()))
        with self._lock:
            spent, reserved = self._slots.get(slot, (0, 0))
        return to_dollars(spent), to_dollars(reserved)

    def _forget_before(self, name: str, window: int) -> None:
        stale = [s for s in self._slots if s[0] == name and s[1] < window]
        for slot in stale:
            del self._slots[slot]

"""Cost and budgets: dollars from the registry's prices and actual usage, and limits on them.

A per-call ceiling refuses a call whose worst case (prompt estimate + `max_tokens` at the
output price) is over it. Running budgets (per key and period) reserve that worst case
atomically before the call and settle the actual cost after it, in memory
(`MemoryLedger`) or in Redis (`RedisLedger`, `AsyncRedisLedger`), so concurrent calls
never overshoot. `BudgetExceededError` carries every number that decided.
"""

from riprap.budget._cost import cost, worst_case_cost
from riprap.budget._errors import BudgetExceededError
from riprap.budget._guard import (
    Budgets,
    Hold,
    actual_cost,
    ahold,
    asettle,
    hold,
    settle,
    worst_case,
)
from riprap.budget._ledger import (
    UNITS_PER_DOLLAR,
    Budget,
    Ledger,
    MemoryLedger,
    Reservation,
    to_dollars,
    to_units,
)
from riprap.budget._redis import AsyncRedisLedger, RedisLedger
from riprap.budget._usage import TokenUsage

__all__ = [
    "UNITS_PER_DOLLAR",
    "AsyncRedisLedger",
    "Budget",
    "BudgetExceededError",
    "Budgets",
    "Hold",
    "Ledger",
    "MemoryLedger",
    "RedisLedger",
    "Reservation",
    "TokenUsage",
    "actual_cost",
    "ahold",
    "asettle",
    "cost",
    "hold",
    "settle",
    "to_dollars",
    "to_units",
    "worst_case",
    "worst_case_cost",
]

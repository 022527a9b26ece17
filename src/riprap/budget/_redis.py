"""Running budgets in Redis: one budget for every process and host that shares a key.

Each reservation is one Lua script: it reads the server's clock (`TIME`), finds each
budget's current window, checks all of them and increments all of them, atomically (a
script runs alone on the server). Keys are `{namespace}:budget:<key>:<period>:<window>`
hashes with `spent` and `reserved` fields; the namespace in braces is a Redis Cluster
hash tag, so a script's keys always share one slot. A periodic window's key expires two
periods after it starts, so finished windows clean themselves up.

`redis` (redis-py) is an optional dependency: `pip install 'riprap[redis]'`.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from riprap.budget._ledger import Budget, Reservation, exceeded, to_units
from riprap.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

#: ARGV: amount, then (limit units, period seconds or 0) per budget; KEYS: one base key per
#: budget. Returns {1, window key...} when admitted, {0, index, spent, reserved} when not.
RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local amount = tonumber(ARGV[1])
local keys = {}
for i = 1, #KEYS do
  local period = tonumber(ARGV[2 * i + 1])
  local window = 0
  if period > 0 then window = math.floor(now / period) end
  local key = KEYS[i] .. ':' .. string.format('%d', window)
  keys[i] = key
  local spent = tonumber(redis.call('HGET', key, 'spent') or '0')
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
  if spent + reserved + amount > tonumber(ARGV[2 * i]) then
    return {0, i, string.format('%d', spent), string.format('%d', reserved)}
  end
end
for i = 1, #KEYS do
  redis.call('HINCRBY', keys[i], 'reserved', amount)
  local period = tonumber(ARGV[2 * i + 1])
  if period > 0 then redis.call('EXPIRE', keys[i], math.ceil(2 * period)) end
end
table.insert(keys, 1, 1)
return keys
"""

#: KEYS: the window keys of a reservation; ARGV: reserved amount, actual amount. A window
#: key that expired meanwhile is left alone (its period is over).
SETTLE_LUA = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('HINCRBY', KEYS[i], 'reserved', -tonumber(ARGV[1]))
    redis.call('HINCRBY', KEYS[i], 'spent', tonumber(ARGV[2]))
  end
end
return 1
"""

_INSTALL_HINT = "the Redis budget ledger needs redis-py: pip install 'riprap[redis]'"


def _check_client(client: object) -> None:
    try:
        import redis  # noqa: F401, PLC0415 - optional dependency, checked when used
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from error
    if not hasattr(client, "register_script"):
        raise ConfigError(f"RedisLedger: {client!r} is not a redis-py client")


class _Base:
    def __init__(self, client: Any, *, namespace: str = "riprap") -> None:
        _check_client(client)
        if not isinstance(namespace, str) or not namespace or "}" in namespace:
            raise ConfigError(
                f"RedisLedger.namespace: {namespace!r} is not a non-empty str without '}}'"
            )
        self._client = client
        self._namespace = namespace
        self._reserve = client.register_script(RESERVE_LUA)
        self._settle = client.register_script(SETTLE_LUA)
        self._ids = itertools.count(1)

    def _base_key(self, budget: Budget) -> str:
        return f"{{{self._namespace}}}:budget:{budget.name}"

    def _args(self, budgets: Sequence[Budget], amount: int) -> tuple[list[str], list[float]]:
        keys = [self._base_key(b) for b in budgets]
        argv: list[float] = [amount]
        for budget in budgets:
            argv += [
                to_units(budget.limit),
                0 if budget.period is None else _seconds(budget.period),
            ]
        return keys, argv

    def _outcome(self, budgets: Sequence[Budget], amount: int, reply: list[Any]) -> Reservation:
        if int(reply[0]) == 1:
            windows = [_text(k).rsplit(":", 1)[1] for k in reply[1:]]
            slots = tuple((b.name, int(w)) for b, w in zip(budgets, windows, strict=True))
            return Reservation(id=next(self._ids), amount=amount, slots=slots)
        budget = budgets[int(reply[1]) - 1]
        raise exceeded(budget, spent=int(reply[2]), reserved=int(reply[3]), amount=amount)

    def _window_keys(self, reservation: Reservation) -> list[str]:
        return [
            f"{{{self._namespace}}}:budget:{name}:{window}" for name, window in reservation.slots
        ]


def _seconds(period: float) -> float:
    # Whole seconds go to Lua as "3600", not "3600.0": the same number either way, but
    # the keys and logs read better.
    return int(period) if float(period).is_integer() else period


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisLedger(_Base):
    """Budgets in Redis, through a sync `redis.Redis` client."""

    def reserve(self, budgets: Sequence[Budget], amount: int) -> Reservation:
        """Hold `amount` units in every budget's current window, atomically, or raise."""
        if not budgets:
            return Reservation(id=next(self._ids), amount=amount, slots=())
        keys, argv = self._args(budgets, amount)
        return self._outcome(budgets, amount, self._reserve(keys=keys, args=argv))

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Release the reservation and count `actual` units as spent."""
        if reservation.slots:
            self._settle(keys=self._window_keys(reservation), args=[reservation.amount, actual])


class AsyncRedisLedger(_Base):
    """Budgets in Redis, through a `redis.asyncio.Redis` client."""

    async def reserve(self, budgets: Sequence[Budget], amount: int) -> Reservation:
        """Hold `amount` units in every budget's current window, atomically, or raise."""
        if not budgets:
            return Reservation(id=next(self._ids), amount=amount, slots=())
        keys, argv = self._args(budgets, amount)
        return self._outcome(budgets, amount, await self._reserve(keys=keys, args=argv))

    async def settle(self, reservation: Reservation, actual: int) -> None:
        """Release the reservation and count `actual` units as spent."""
        if reservation.slots:
            await self._settle(
                keys=self._window_keys(reservation), args=[reservation.amount, actual]
            )

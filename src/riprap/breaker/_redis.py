"""Breaker state in Redis, shared by every process on one key: a fleet trips and recovers together.

Each operation is one call of one Lua script (`_lua.py`): atomic, and timed by the
Redis server's clock, so processes on different hosts agree on when a break ends. Keys
are namespaced (`{namespace}:breaker:{key}`) and expire when idle; nothing is pickled.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import TYPE_CHECKING, Any

from riprap.breaker._lua import SCRIPT
from riprap.breaker._machine import (
    NO_TICKET,
    Permit,
    Reason,
    Rejected,
    Snapshot,
    State,
    Transition,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from riprap._clock import Clock
    from riprap.breaker._machine import Admission, Outcome
    from riprap.breaker._memory import Command
    from riprap.breaker._policy import Breaker

#: Idle seconds a key outlives everything it remembers (window, break, probe leases).
TTL_MARGIN = 60.0


@functools.lru_cache(maxsize=64)
def _policy_args(policy: Breaker) -> tuple[str, ...]:
    # repr() of a float is the shortest string that reads back as the same double.
    ttl = policy.window + policy.max_break + policy.probe_timeout + TTL_MARGIN
    return (
        repr(float(policy.failure_ratio)),
        repr(float(policy.window)),
        str(policy.min_throughput),
        str(policy.consecutive_failures or 0),
        repr(float(policy.break_duration)),
        repr(float(policy.break_growth)),
        repr(float(policy.max_break)),
        str(policy.probes),
        repr(float(policy.probe_timeout)),
        str(math.ceil(ttl * 1000)),
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _admission(reply: Sequence[object]) -> Admission:
    fields = [_text(v) for v in reply]
    if fields[0] == "rejected":
        return Rejected(State(fields[1]), float(fields[2]))
    ticket = int(fields[1])
    transition = None
    if len(fields) > 3 and fields[3] == State.OPEN:  # noqa: PLR2004 - the reply's layout
        transition = Transition(State.OPEN, State.HALF_OPEN, Reason.BREAK_OVER)
    return Permit(ticket, probe=ticket != NO_TICKET, transition=transition)


def _transition(reply: Sequence[object]) -> Transition | None:
    if not reply:
        return None
    previous, current, reason, retry_in = (_text(v) for v in reply)
    return Transition(State(previous), State(current), Reason(reason), float(retry_in))


def _snapshot(reply: Sequence[object]) -> Snapshot:
    state, retry_in, ok, bad, run, trips, in_flight = (_text(v) for v in reply)
    return Snapshot(
        state=State(state),
        retry_in=float(retry_in),
        successes=int(ok),
        failures=int(bad),
        consecutive_failures=int(run),
        trips=int(trips),
        probes_in_flight=int(in_flight),
    )


class RedisBackend:
    """Circuits in Redis, for a client of redis-py: `redis.Redis` or `redis.asyncio.Redis`.

    A blocking client serves the blocking methods (sync wrapped clients), an asyncio
    client the `a`-prefixed ones (async wrapped clients).
    """

    def __init__(
        self, client: Any, *, namespace: str = "riprap", clock: Clock | None = None
    ) -> None:
        """Keep circuits under `namespace` in the Redis that `client` talks to.

        `clock` is for tests: read time from it instead of the Redis server's `TIME`, so
        that the same exact-number tests run on both backends.
        """
        try:
            import redis  # noqa: F401, PLC0415 - the optional dependency, probed when used
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "riprap's Redis breaker needs redis-py: pip install 'riprap[redis]'"
            ) from exc
        if not isinstance(namespace, str) or not namespace:
            raise TypeError(f"RedisBackend.namespace: {namespace!r} is not a non-empty str")
        self._client = client
        self._async = inspect.iscoroutinefunction(getattr(client, "execute_command", None))
        self._script = client.register_script(SCRIPT)
        self._namespace = namespace
        self._clock = clock

    def _keys(self, key: str) -> list[str]:
        # One hash tag for both keys: in a Redis Cluster they live on the same node.
        base = f"{self._namespace}:breaker:{{{key}}}"
        return [base, f"{base}:probes"]

    def _args(
        self, policy: Breaker, command: str, ticket: int = NO_TICKET, outcome: str = ""
    ) -> list[str]:
        now = "" if self._clock is None else repr(float(self._clock.now()))
        return [command, now, *_policy_args(policy), str(ticket), outcome]

    def _run(self, key: str, args: list[str]) -> Sequence[object]:
        if self._async:
            raise TypeError(
                "this RedisBackend holds a redis.asyncio client: a blocking call needs "
                "redis.Redis (or use the async methods)"
            )
        reply: Sequence[object] = self._script(keys=self._keys(key), args=args)
        return reply

    async def _arun(self, key: str, args: list[str]) -> Sequence[object]:
        if not self._async:
            raise TypeError(
                "this RedisBackend holds a blocking redis.Redis client: an async call needs "
                "redis.asyncio.Redis (blocking the event loop on the network is not an option)"
            )
        reply: Sequence[object] = await self._script(keys=self._keys(key), args=args)
        return reply

    def admit(self, key: str, policy: Breaker) -> Admission:
        """May an attempt to `key`'s target go now?"""
        return _admission(self._run(key, self._args(policy, "admit")))

    def settle(self, key: str, policy: Breaker, ticket: int, outcome: Outcome) -> Transition | None:
        """Record how the attempt admitted with `ticket` ended."""
        return _transition(self._run(key, self._args(policy, "settle", ticket, outcome)))

    def view(self, key: str, policy: Breaker) -> Snapshot:
        """The circuit as it stands now."""
        return _snapshot(self._run(key, self._args(policy, "view")))

    def command(self, key: str, policy: Breaker, command: Command) -> Transition | None:
        """Isolate or reset the circuit by hand."""
        return _transition(self._run(key, self._args(policy, command)))

    async def aadmit(self, key: str, policy: Breaker) -> Admission:
        """`admit`, for async callers."""
        return _admission(await self._arun(key, self._args(policy, "admit")))

    async def asettle(
        self, key: str, policy: Breaker, ticket: int, outcome: Outcome
    ) -> Transition | None:
        """`settle`, for async callers."""
        return _transition(await self._arun(key, self._args(policy, "settle", ticket, outcome)))

    async def aview(self, key: str, policy: Breaker) -> Snapshot:
        """`view`, for async callers."""
        return _snapshot(await self._arun(key, self._args(policy, "view")))

    async def acommand(self, key: str, policy: Breaker, command: Command) -> Transition | None:
        """`command`, for async callers."""
        return _transition(await self._arun(key, self._args(policy, command)))

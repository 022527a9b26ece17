"""The shared backend: each scope's state in Redis, every step one atomic Lua script.

Processes and hosts that use the same Redis and namespace share one budget per scope.
Time is the Redis server's clock, so the fleet agrees on it whatever the hosts' clocks
say; callers only ever exchange durations with it (how long to wait, how long to pause).

When Redis cannot be reached the limiter fails open (calls go ahead unpaced; the
provider's 429s and riprap's retries still protect them) or closed
(`LimiterUnavailableError`), as configured, and logs `riprap.limiter.backend_unavailable`
once per outage. While Redis is known to be down, calls do not wait on it: it is tried
again after `retry_interval`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from typing import TYPE_CHECKING, Any, Final, Literal

from riprap.errors import ConfigError
from riprap.limiter._bucket import Grant, Poll, Refused, Slot, Ticket
from riprap.limiter._errors import LimiterUnavailableError
from riprap.limiter._lua import SCRIPT

if TYPE_CHECKING:
    from collections.abc import Sequence

    from riprap.limiter._bucket import Observation, Outcome, Plan, Vec

_log = logging.getLogger("riprap.limiter")

#: Seconds a limiter step may wait for Redis. A step is one round trip, well under a
#: millisecond on a LAN; a second without an answer means Redis is not there, and the
#: call's own deadline is better spent on the call.
DEFAULT_SOCKET_TIMEOUT: Final = 1.0
#: Seconds after a failed step before Redis is tried again: long enough that an outage
#: costs each call nothing, short enough that pacing resumes soon after Redis returns.
DEFAULT_RETRY_INTERVAL: Final = 1.0
#: A scope untouched for a day is forgotten; what it learned is relearned in one call.
STATE_TTL_MS: Final = 24 * 3600 * 1000

#: What a step returns when Redis is down and the backend fails open: go, nothing held.
DETACHED: Final = Grant(0.0, Ticket((None, None, None, None), probe=False, start=0.0))


def _redis_module() -> Any:
    try:
        import redis  # noqa: PLC0415 - optional dependency, imported when a backend is made
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("RedisBackend needs redis-py: pip install 'riprap[redis]'") from exc
    return redis


def _f(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _num(value: bytes | str) -> float | None:
    text = value.decode() if isinstance(value, bytes) else value
    return float(text) if text else None


class RedisBackend:
    """Limiter state shared through Redis, for sync and async callers alike.

    Give it a URL (it makes its own sync and asyncio clients, on first use of each) or
    ready clients (`client`, `async_client`; they stay the caller's to close). Keys are
    `{namespace}:limiter:{scope}`, one hash per scope.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        async_client: Any = None,
        namespace: str = "riprap",
        on_unavailable: Literal["open", "closed"] = "open",
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        use_server_time: bool = True,
    ) -> None:
        """Configure the backend; nothing connects until the first step.

        `use_server_time=False` uses the limiter's clock instead of Redis `TIME`: for
        tests with a fake clock, never for a fleet (hosts' clocks disagree).
        """
        if url is None and client is None and async_client is None:
            raise ConfigError("RedisBackend: give a url, or a client / async_client")
        if not namespace or not isinstance(namespace, str):
            raise ConfigError(f"RedisBackend.namespace: {namespace!r} is not a non-empty str")
        if on_unavailable not in ("open", "closed"):
            raise ConfigError(
                f"RedisBackend.on_unavailable: {on_unavailable!r} is not 'open' or 'closed'"
            )
        for name, value in (("socket_timeout", socket_timeout), ("retry_interval", retry_interval)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(f"RedisBackend.{name}: {value!r} is not a positive number")
        self._redis = _redis_module()
        self._url = url
        self._client = client
        self._async_client = async_client
        self._own_sync = client is None
        self._own_async = async_client is None
        self.namespace = namespace
        self.on_unavailable = on_unavailable
        self._socket_timeout = float(socket_timeout)
        self._retry_interval = float(retry_interval)
        self._use_server_time = use_server_time
        self._script: Any = None
        self._async_script: Any = None  # of a given `async_client`
        #: Per thread, the event loop it runs and the async client made for that loop.
        self._per_loop = threading.local()
        self._down_until: float | None = None

    # -- plumbing ---------------------------------------------------------------------

    def key(self, scope_key: str) -> str:
        """The Redis key of a scope."""
        return f"{self.namespace}:limiter:{scope_key}"

    def _where(self) -> str:
        if self._url is None:
            return "the given client"
        # Never log credentials: keep only the host part of the URL.
        rest = self._url.split("://", 1)[-1]
        return rest.rsplit("@", 1)[-1]

    def _sync(self) -> Any:
        if self._script is None:
            if self._client is None:
                if self._url is None:
                    raise ConfigError("RedisBackend: sync use needs a url or a client")
                self._client = self._redis.Redis.from_url(
                    self._url,
                    socket_timeout=self._socket_timeout,
                    socket_connect_timeout=self._socket_timeout,
                )
            self._script = self._client.register_script(SCRIPT)
        return self._script

    def _async(self) -> Any:
        if not self._own_async:
            if self._async_script is None:
                self._async_script = self._async_client.register_script(SCRIPT)
            return self._async_script
        # A client we make belongs to the event loop it was made on: its connections'
        # futures are that loop's. Loops run one per thread at a time, so each thread
        # keeps the client of the loop it runs; a later `asyncio.run` in the thread gets
        # a new one (the old loop is closed: its connections go with the garbage).
        loop = asyncio.get_running_loop()
        bound: tuple[asyncio.AbstractEventLoop, Any, Any] | None = getattr(
            self._per_loop, "bound", None
        )
        if bound is None or bound[0] is not loop:
            if self._url is None:
                raise ConfigError("RedisBackend: async use needs a url or an async_client")
            client = self._redis.asyncio.Redis.from_url(
                self._url,
                socket_timeout=self._socket_timeout,
                socket_connect_timeout=self._socket_timeout,
            )
            bound = (loop, client, client.register_script(SCRIPT))
            self._per_loop.bound = bound
        return bound[2]

    def _errors(self) -> tuple[type[BaseException], ...]:
        exceptions = self._redis.exceptions
        return (exceptions.ConnectionError, exceptions.TimeoutError, OSError)

    def _args(self, op: str, plan: Plan, now: float, extra: Sequence[str]) -> list[str]:
        return [
            op,
            "" if self._use_server_time else _f(now),
            str(STATE_TTL_MS),
            _f(plan.headroom),
            "1" if plan.adopt else "0",
            _f(plan.poll),
            _f(plan.probe_timeout),
            _f(plan.jitter),
            *(_f(r) for r in plan.rates),
            *(_f(c) for c in plan.capacities),
            *extra,
        ]

    def _skip(self, now: float) -> bool:
        """Whether Redis is known to be down (then the step takes the configured way out)."""
        return self._down_until is not None and now < self._down_until

    def _down(self, error: BaseException | None, now: float, *, strict: bool) -> None:
        if self._down_until is None and error is not None:
            _log.warning(
                "riprap.limiter.backend_unavailable backend=redis at=%s error=%r failing=%s",
                self._where(),
                error,
                self.on_unavailable,
                extra={
                    "event": "riprap.limiter.backend_unavailable",
                    "failing": self.on_unavailable,
                },
            )
        if error is not None:
            self._down_until = now + self._retry_interval
        if strict and self.on_unavailable == "closed":
            raise LimiterUnavailableError(
                f"riprap limiter: Redis at {self._where()} is unreachable and the limiter "
                "fails closed (RedisBackend(on_unavailable='closed'))"
            ) from error

    def _up(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            _log.info(
                "riprap.limiter.backend_recovered backend=redis at=%s",
                self._where(),
                extra={"event": "riprap.limiter.backend_recovered"},
            )

    def _run(
        self, key: str, args: list[str], now: float, *, strict: bool = False
    ) -> list[bytes] | None:
        """Run one step; `None` if Redis is down.

        Only a `strict` step (acquiring) may raise for it: bookkeeping after a call must
        never fail the call.
        """
        if self._skip(now):
            self._down(None, now, strict=strict)
            return None
        try:
            reply: list[bytes] = self._sync()(keys=[self.key(key)], args=args)
        except self._errors() as error:
            self._down(error, now, strict=strict)
            return None
        self._up()
        return reply

    async def _arun(
        self, key: str, args: list[str], now: float, *, strict: bool = False
    ) -> list[bytes] | None:
        """`_run`, awaitable."""
        if self._skip(now):
            self._down(None, now, strict=strict)
            return None
        try:
            reply: list[bytes] = await self._async()(keys=[self.key(key)], args=args)
        except self._errors() as error:
            self._down(error, now, strict=strict)
            return None
        self._up()
        return reply

    # -- the steps --------------------------------------------------------------------

    def acquire(self, key: str, plan: Plan, need: Vec, now: float, max_wait: float) -> Outcome:
        """Reserve `need` (see `_bucket.acquire`)."""
        args = self._args("acquire", plan, now, _acquire_args(need, max_wait))
        reply = self._run(key, args, now, strict=True)
        return DETACHED if reply is None else _outcome(reply)

    async def aacquire(
        self, key: str, plan: Plan, need: Vec, now: float, max_wait: float
    ) -> Outcome:
        """`acquire`, awaitable."""
        args = self._args("acquire", plan, now, _acquire_args(need, max_wait))
        reply = await self._arun(key, args, now, strict=True)
        return DETACHED if reply is None else _outcome(reply)

    def confirm(self, key: str, plan: Plan, ticket: Ticket, now: float) -> tuple[float, Ticket]:
        """Extra wait for a woken slot (see `_bucket.confirm`)."""
        reply = self._run(key, self._args("confirm", plan, now, _ticket_args(ticket)), now)
        return (0.0, ticket) if reply is None else _confirmed(reply)

    async def aconfirm(
        self, key: str, plan: Plan, ticket: Ticket, now: float
    ) -> tuple[float, Ticket]:
        """`confirm`, awaitable."""
        reply = await self._arun(key, self._args("confirm", plan, now, _ticket_args(ticket)), now)
        return (0.0, ticket) if reply is None else _confirmed(reply)

    def settle(
        self,
        key: str,
        plan: Plan,
        ticket: Ticket,
        *,
        need: Vec,
        used: Vec | None,
        observed: Observation | None,
        now: float,
    ) -> None:
        """Reconcile a reservation (see `_settle.settle`)."""
        args = self._args("settle", plan, now, _settle_args(ticket, need, used, observed))
        self._run(key, args, now)

    async def asettle(
        self,
        key: str,
        plan: Plan,
        ticket: Ticket,
        *,
        need: Vec,
        used: Vec | None,
        observed: Observation | None,
        now: float,
    ) -> None:
        """`settle`, awaitable."""
        args = self._args("settle", plan, now, _settle_args(ticket, need, used, observed))
        await self._arun(key, args, now)

    def pause(self, key: str, plan: Plan, seconds: float, now: float) -> None:
        """Hold the scope for `seconds` (see `_bucket.pause`)."""
        self._run(key, self._args("pause", plan, now, [_f(seconds)]), now)

    async def apause(self, key: str, plan: Plan, seconds: float, now: float) -> None:
        """`pause`, awaitable."""
        await self._arun(key, self._args("pause", plan, now, [_f(seconds)]), now)

    def observe(self, key: str, plan: Plan, observed: Observation, now: float) -> None:
        """Learn from headers seen outside a reservation (see `_settle.learn`)."""
        self._run(key, self._args("observe", plan, now, _observed_args(observed)), now)

    async def aobserve(self, key: str, plan: Plan, observed: Observation, now: float) -> None:
        """`observe`, awaitable."""
        await self._arun(key, self._args("observe", plan, now, _observed_args(observed)), now)

    def close(self) -> None:
        """Close the sync client this backend made (a given client stays open)."""
        if self._own_sync and self._client is not None:
            self._client.close()
            self._client = self._script = None

    async def aclose(self) -> None:
        """Close the clients this backend made: the sync one, and the running loop's.

        Given clients stay open. Another thread's loop has its own async client, closed
        by `aclose` on that loop.
        """
        bound = getattr(self._per_loop, "bound", None)
        if bound is not None and bound[0] is asyncio.get_running_loop():
            self._per_loop.bound = None
            await bound[1].aclose()
        self.close()


# -- encoding ---------------------------------------------------------------------------


def _acquire_args(need: Vec, max_wait: float) -> list[str]:
    # Lua cannot read "inf" back; a wait longer than a year is as good as unbounded.
    return [*(_f(n) for n in need), _f(min(max_wait, 3.2e7))]


def _ticket_args(ticket: Ticket) -> list[str]:
    out = ["1" if ticket.probe else "0", _f(ticket.start)]
    for slot in ticket.slots:
        if slot is None:
            out.extend([""] * 5)
        else:
            out.extend(_f(v) for v in (slot.cost, slot.rate, slot.capacity, slot.level, slot.shift))
    return out


def _observed_args(observed: Observation | None) -> list[str]:
    if observed is None:
        return ["0"] + [""] * 16
    out = ["1"]
    for announced in observed:
        if announced is None:
            out.extend(["", "", "", ""])
        else:
            values = (announced.limit, announced.remaining, announced.reset_in)
            out.extend(_f(v) for v in (*values, announced.resolution))
    return out


def _settle_args(
    ticket: Ticket, need: Vec, used: Vec | None, observed: Observation | None
) -> list[str]:
    used_args = [""] * 4 if used is None else [_f(u) for u in used]
    return [*_ticket_args(ticket), *(_f(n) for n in need), *used_args, *_observed_args(observed)]


def _ticket(values: Sequence[bytes]) -> Ticket:
    slots: list[Slot | None] = []
    for d in range(4):
        part = [_num(v) for v in values[2 + 5 * d : 7 + 5 * d]]
        cost, rate, cap, level, shift = part
        if cost is None or rate is None or cap is None or level is None or shift is None:
            slots.append(None)
        else:
            slots.append(Slot(cost, rate, cap, level, shift))
    start = _num(values[1]) or 0.0
    return Ticket((slots[0], slots[1], slots[2], slots[3]), probe=values[0] == b"1", start=start)


def _outcome(reply: Sequence[bytes]) -> Outcome:
    kind, wait = reply[0], _num(reply[1]) or 0.0
    if kind == b"grant":
        return Grant(wait, _ticket(reply[2:]))
    if kind == b"poll":
        return Poll(wait)
    return Refused(wait)


def _confirmed(reply: Sequence[bytes]) -> tuple[float, Ticket]:
    return _num(reply[0]) or 0.0, _ticket(reply[1:])

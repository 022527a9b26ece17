"""Shared mode: several processes on one job, handing out items through Redis.

Each item (by its rank in the input, `seq`) is handed to one process at a time under a
lease, by one atomic script. The keys of job J, under `{namespace}:batch:J`::

    :total     items in the job (set by the first process; the others must agree)
    :cursor    next never-handed-out seq
    :leases    sorted set seq → lease expiry (Redis server time, ms)
    :owner     hash seq → worker holding it
    :writing:W output offset from which worker W may have written lines it has not
               committed yet (set before the write, removed by the commit)
    :finished  count of committed items

Exactly once in the shared output comes from fencing: a worker writes an item's line
only after `prepare` confirmed it still owns the item (and recorded `:writing:W`), all
while holding the output's lock; a worker that takes over an expired lease reads the
previous owner's `:writing` mark and, under the same lock, looks for the item's line
after it before running the item again. Time is the Redis server's, so hosts' clocks
never matter.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Final

from riprap.errors import ConfigError

#: Hand out up to `count` items: expired leases first (with their previous owner and its
#: writing mark), then new ones. Returns a flat list of (seq, previous owner, mark)
#: triples; seq -1 means "nothing now, ask again in <mark> ms", -2 "the job is done".
_NEXT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local worker, lease, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, count)
for _, seq in ipairs(expired) do
  local prev = redis.call('HGET', KEYS[4], seq) or ''
  local mark = ''
  if prev ~= '' then mark = redis.call('GET', ARGV[4] .. prev) or '' end
  redis.call('ZADD', KEYS[3], now + lease, seq)
  redis.call('HSET', KEYS[4], seq, worker)
  table.insert(out, tonumber(seq)); table.insert(out, prev); table.insert(out, mark)
end
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
local cursor = tonumber(redis.call('GET', KEYS[2]) or '0')
while #out < 3 * count and cursor < total do
  redis.call('ZADD', KEYS[3], now + lease, cursor)
  redis.call('HSET', KEYS[4], cursor, worker)
  table.insert(out, cursor); table.insert(out, ''); table.insert(out, '')
  cursor = cursor + 1
end
redis.call('SET', KEYS[2], cursor)
if #out > 0 then return out end
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if #first > 0 then return {-1, '', tostring(math.max(0, tonumber(first[2]) - now))} end
return {-2, '', ''}
"""

#: Before writing lines: which of these seqs does the worker still own? Extends their
#: leases and records the writing mark (the offset the lines will start at or after).
_PREPARE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local worker, lease = ARGV[1], tonumber(ARGV[2])
local out = {}
for i = 4, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == worker then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
    table.insert(out, 1)
  else
    table.insert(out, 0)
  end
end
-- NX: an earlier line not yet committed keeps the mark where it is.
redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', 86400000)
return out
"""

#: After the lines are durable: the owned seqs are finished; the writing mark goes, or
#: moves to the first line appended since (ARGV[2], "" for none).
_COMMIT: Final = """
local worker, n = ARGV[1], 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == worker then
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[3])
else
  redis.call('SET', KEYS[3], ARGV[2], 'PX', 86400000)
end
return redis.call('INCRBY', KEYS[4], n)
"""

#: Keep the leases of items still in flight.
_RENEW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local worker, lease = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == worker then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
  end
end
return 1
"""

#: Hand back items not finished (a graceful stop): claimable at once by anyone.
_RELEASE: Final = """
local worker = ARGV[1]
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == worker then
    redis.call('ZADD', KEYS[1], 0, ARGV[i])
  end
end
return 1
"""

#: Record the job's size, or check it against the recorded one.
_INIT: Final = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return {tonumber(redis.call('GET', KEYS[1])), tonumber(redis.call('GET', KEYS[2]) or '0')}
"""


@dataclass(frozen=True, slots=True)
class Handed:
    """One item handed to this worker.

    `mark` is set when it was taken over from a worker that may have written its line
    without committing it: the output offset to look for that line from.
    """

    seq: int
    previous: str
    mark: int | None


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to hand out now; leases held elsewhere expire within `seconds`."""

    seconds: float


def worker_name() -> str:
    """A name no other process of the fleet has: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Claims:
    """One worker's side of a shared job (async redis-py client)."""

    def __init__(self, url: str, *, job: str, lease: float, namespace: str = "riprap") -> None:
        try:
            import redis.asyncio  # noqa: PLC0415 - optional dependency
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("--redis needs redis-py: pip install 'riprap[redis]'") from error
        self.worker = worker_name()
        self.lease_ms = round(lease * 1000)
        self._redis: Any = redis.asyncio.Redis.from_url(url)
        prefix = f"{namespace}:batch:{job}"
        self.prefix = prefix
        self._keys = {name: f"{prefix}:{name}" for name in
                      ("total", "cursor", "leases", "owner", "finished")}  # fmt: skip
        self._writing = f"{prefix}:writing:"
        self._scripts = {name: self._redis.register_script(text) for name, text in
                         (("next", _NEXT), ("prepare", _PREPARE), ("commit", _COMMIT),
                          ("renew", _RENEW), ("release", _RELEASE), ("init", _INIT))}  # fmt: skip

    async def close(self) -> None:
        """Close the connections."""
        await self._redis.aclose()

    async def join(self, total: int) -> int:
        """Join the job (recording its size if first); returns items already finished."""
        recorded, finished = await self._scripts["init"](
            keys=[self._keys["total"], self._keys["finished"]], args=[total]
        )
        if int(recorded) != total:
            raise ConfigError(
                f"the shared job {self.prefix} has {recorded} items in Redis but this input "
                f"has {total}: every process must read the same input (or use another --job)"
            )
        return int(finished)

    async def next(self, count: int) -> list[Handed] | Wait | None:
        """Up to `count` items for this worker; `Wait` if none now; `None` if the job is done."""
        k = self._keys
        flat = await self._scripts["next"](
            keys=[k["total"], k["cursor"], k["leases"], k["owner"]],
            args=[self.worker, self.lease_ms, count, self._writing],
        )
        first = int(flat[0])
        if first == -2:  # noqa: PLR2004 - the script's "done" signal
            return None
        if first == -1:
            return Wait(seconds=int(flat[2]) / 1000)
        handed = []
        for i in range(0, len(flat), 3):
            previous = _text(flat[i + 1])
            mark = _text(flat[i + 2])
            handed.append(Handed(seq=int(flat[i]), previous=previous,
                                 mark=int(mark) if mark else None))  # fmt: skip
        return handed

    async def prepare(self, seqs: list[int], offset: int) -> list[bool]:
        """Which of `seqs` this worker still owns (their lines may be written now)."""
        k = self._keys
        owned = await self._scripts["prepare"](
            keys=[k["leases"], k["owner"], self._writing + self.worker],
            args=[self.worker, self.lease_ms, offset, *seqs],
        )
        return [bool(int(x)) for x in owned]

    async def commit(self, seqs: list[int], *, mark: int | None) -> int:
        """Mark `seqs` finished (their lines are durable); returns the job's finished count.

        `mark`: the offset of the first line appended but not yet durable, if any.
        """
        k = self._keys
        return int(
            await self._scripts["commit"](
                keys=[k["leases"], k["owner"], self._writing + self.worker, k["finished"]],
                args=[self.worker, "" if mark is None else mark, *seqs],
            )
        )

    async def renew(self, seqs: list[int]) -> None:
        """Extend the leases of items in flight."""
        if seqs:
            k = self._keys
            await self._scripts["renew"](
                keys=[k["leases"], k["owner"]], args=[self.worker, self.lease_ms, *seqs]
            )

    async def release(self, seqs: list[int]) -> None:
        """Hand back items this worker will not finish."""
        if seqs:
            k = self._keys
            await self._scripts["release"](
                keys=[k["leases"], k["owner"]], args=[self.worker, *seqs]
            )


def _text(value: bytes | str | int) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)

"""The breaker's rules as one Redis Lua script: `_machine`'s transitions, run atomically.

The script mirrors `_machine.admit`, `settle`, `view`, `isolate` and `reset` line for
line, with the same floating-point arithmetic (IEEE doubles in both), so the same
operations at the same times give the same answers; a differential test holds them to
it. Time is the Redis server's `TIME`, so every process of a fleet reads one clock,
unless a test passes `now`.

KEYS: the circuit's hash, the sorted set of probe leases (ticket → expiry).
ARGV: command, now ('' for the server's TIME), failure_ratio, window, min_throughput,
consecutive_failures (0: off), break_duration, break_growth, max_break, probes,
probe_timeout, key TTL in ms, ticket, outcome.

Hash fields: st (state), ou (open until), tr (trips), rn (failures in a row), ps (probe
successes), lt (last ticket), b0..b9 (buckets, "slot number:successes:failures").
Every number crosses into and out of Lua as a "%.17g" string, which round-trips a
double exactly (a Lua number returned as a reply would be cut to an integer).
"""

from __future__ import annotations

from typing import Final

SCRIPT: Final = r"""
local key, leases_key = KEYS[1], KEYS[2]
local cmd = ARGV[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[2])
end
local ratio = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local min_throughput = tonumber(ARGV[5])
local consecutive = tonumber(ARGV[6])
local break_duration = tonumber(ARGV[7])
local growth = tonumber(ARGV[8])
local max_break = tonumber(ARGV[9])
local probes = tonumber(ARGV[10])
local probe_timeout = tonumber(ARGV[11])
local ttl_ms = tonumber(ARGV[12])
local ticket = tonumber(ARGV[13])
local outcome = ARGV[14]
local SLOTS = 10

local function fmt(x) return string.format('%.17g', x) end

local state = redis.call('HGET', key, 'st') or 'closed'
if cmd == 'admit' and state == 'closed' then
  return {'permit', '0', '0'}
end

local c = {}
local flat = redis.call('HGETALL', key)
for i = 1, #flat, 2 do c[flat[i]] = flat[i + 1] end
local open_until = tonumber(c.ou or '0')
local trips = tonumber(c.tr or '0')
local run = tonumber(c.rn or '0')
local probe_successes = tonumber(c.ps or '0')
local last_ticket = tonumber(c.lt or '0')
local current = math.floor(now / (window / SLOTS))

local function bucket(i)
  local raw = c['b' .. i]
  if not raw then return -1, 0, 0 end
  local n, s, f = string.match(raw, '^([^:]+):([^:]+):([^:]+)$')
  return tonumber(n), tonumber(s), tonumber(f)
end

local function counts()
  local ok, bad = 0, 0
  for i = 0, SLOTS - 1 do
    local n, s, f = bucket(i)
    if current - SLOTS < n and n <= current then ok = ok + s; bad = bad + f end
  end
  return ok, bad
end

local function keep()
  if state == 'isolated' then
    redis.call('PERSIST', key)
  else
    redis.call('PEXPIRE', key, ttl_ms)
    if redis.call('EXISTS', leases_key) == 1 then redis.call('PEXPIRE', leases_key, ttl_ms) end
  end
end

-- A fresh state: closed and empty, or open/isolated with nothing else; tickets go on.
local function fresh(new_state, fields)
  redis.call('DEL', key, leases_key)
  state = new_state
  redis.call('HSET', key, 'st', new_state, 'lt', fmt(last_ticket), unpack(fields))
  keep()
end

local function open_circuit(previous, reason)
  local t = trips + 1
  local exponent = math.min(math.max(t - 1, 0), 1000)
  local length = math.min(max_break, break_duration * growth ^ exponent)
  fresh('open', {'ou', fmt(now + length), 'tr', fmt(t)})
  return {previous, 'open', reason, fmt(length)}
end

local function live_leases()
  redis.call('ZREMRANGEBYSCORE', leases_key, '-inf', fmt(now))
  return redis.call('ZCARD', leases_key)
end

local function oldest_lease()
  local first = redis.call('ZRANGE', leases_key, 0, 0, 'WITHSCORES')
  return tonumber(first[2])
end

if cmd == 'admit' then
  if state == 'isolated' then return {'rejected', 'isolated', 'inf'} end
  local transition = ''
  if state == 'open' then
    if now < open_until then return {'rejected', 'open', fmt(open_until - now)} end
    transition = 'open'
    state = 'half_open'
    redis.call('DEL', leases_key)
    redis.call('HSET', key, 'st', 'half_open', 'ps', '0')
  end
  local in_flight = live_leases()
  if in_flight >= probes then
    keep()
    return {'rejected', 'half_open', fmt(oldest_lease() - now)}
  end
  last_ticket = last_ticket + 1
  redis.call('HSET', key, 'lt', fmt(last_ticket))
  redis.call('ZADD', leases_key, fmt(now + probe_timeout), fmt(last_ticket))
  keep()
  return {'permit', fmt(last_ticket), '1', transition}
end

if cmd == 'settle' then
  if state == 'closed' then
    if ticket ~= 0 or outcome == 'ignored' then return {} end
    local index = current % SLOTS
    local n, s, f = bucket(index)
    if n ~= current then s, f = 0, 0 end
    if outcome == 'success' then s = s + 1 else f = f + 1 end
    c['b' .. index] = fmt(current) .. ':' .. fmt(s) .. ':' .. fmt(f)
    redis.call('HSET', key, 'b' .. index, c['b' .. index])
    if outcome == 'success' then
      redis.call('HSET', key, 'rn', '0')
      keep()
      return {}
    end
    run = run + 1
    if consecutive > 0 and run >= consecutive then
      return open_circuit('closed', 'consecutive_failures')
    end
    local ok, bad = counts()
    local total = ok + bad
    if total >= min_throughput and bad >= ratio * total then
      return open_circuit('closed', 'failure_ratio')
    end
    redis.call('HSET', key, 'rn', fmt(run))
    keep()
    return {}
  end
  if state ~= 'half_open' then return {} end
  live_leases()
  if redis.call('ZREM', leases_key, fmt(ticket)) == 0 then return {} end
  if outcome == 'ignored' then keep(); return {} end
  if outcome == 'failure' then return open_circuit('half_open', 'probe_failed') end
  probe_successes = probe_successes + 1
  if probe_successes < probes then
    redis.call('HSET', key, 'ps', fmt(probe_successes))
    keep()
    return {}
  end
  fresh('closed', {})
  return {'half_open', 'closed', 'probes_succeeded', '0'}
end

if cmd == 'view' then
  local ok, bad = counts()
  local retry_in = 0
  local in_flight = 0
  if state == 'isolated' then
    retry_in = 1 / 0
  elseif state == 'open' then
    if now < open_until then retry_in = open_until - now else state = 'half_open' end
  elseif state == 'half_open' then
    -- Read-only: count and find the live leases without pruning the expired ones.
    local after = '(' .. fmt(now)
    in_flight = redis.call('ZCOUNT', leases_key, after, '+inf')
    if in_flight >= probes then
      local first = redis.call(
        'ZRANGEBYSCORE', leases_key, after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      retry_in = tonumber(first[2]) - now
    end
  end
  return {state, fmt(retry_in), fmt(ok), fmt(bad), fmt(run), fmt(trips), fmt(in_flight)}
end

if cmd == 'isolate' then
  if state == 'isolated' then return {} end
  local previous = state
  fresh('isolated', {})
  return {previous, 'isolated', 'isolated', 'inf'}
end

if cmd == 'reset' then
  local previous = state
  if redis.call('EXISTS', key) == 0 then return {} end
  fresh('closed', {})
  if previous == 'closed' then return {} end
  return {previous, 'closed', 'reset', '0'}
end

return redis.error_reply('riprap breaker: unknown command ' .. tostring(cmd))
"""

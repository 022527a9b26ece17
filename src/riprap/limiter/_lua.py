"""The limiter's steps as one Redis Lua script: `_bucket.py` and `_settle.py`, atomically.

Redis runs a script without interleaving any other command, so every process sharing a
scope sees one sequence of steps, exactly as the memory backend's lock gives one process.
Time is the Redis server's `TIME` (one clock for the whole fleet) unless the caller
passes one (tests). State is one hash per scope holding plain numbers; nothing is
pickled. Floats travel as `%.17g` strings, which round-trip a double exactly.

ARGV: 1 op, 2 now ("" = server TIME), 3 ttl ms, 4 headroom, 5 adopt (1/0), 6 poll,
7 probe_timeout, 8 jitter, 9-12 configured rates, 13-16 configured capacities
("" = none), then the op's own arguments from 17 (see `_redis.py`, which builds them).
"""

from __future__ import annotations

from typing import Final

SCRIPT: Final = r"""
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local ttl = tonumber(ARGV[3])
local headroom = tonumber(ARGV[4])
local adopt = ARGV[5] == '1'
local poll = tonumber(ARGV[6])
local probe_timeout = tonumber(ARGV[7])
local jitter = tonumber(ARGV[8])
local cfg_rate, cfg_cap = {}, {}
local configured = false
for d = 1, 4 do
  cfg_rate[d] = tonumber(ARGV[8 + d])
  cfg_cap[d] = tonumber(ARGV[12 + d])
  if cfg_rate[d] then configured = true end
end

-- The op's own arguments start after the common ones.
local A = 16

local FIELDS = {'t1', 't2', 't3', 't4', 's1', 's2', 's3', 's4', 'lr1', 'lr2', 'lr3', 'lr4',
                'lc1', 'lc2', 'lc3', 'lc4', 'pause', 'probe', 'f1', 'f2', 'f3', 'f4',
                'o1', 'o2', 'o3', 'o4', 'warm', 'a1', 'a2', 'a3', 'a4'}
local raw = redis.call('HMGET', key, unpack(FIELDS))
local tat, shift, lrate, lcap, foreign, observed_at = {}, {}, {}, {}, {}, {}
local aligned_at = {}
for d = 1, 4 do
  tat[d] = tonumber(raw[d])
  shift[d] = tonumber(raw[4 + d]) or 0
  lrate[d] = tonumber(raw[8 + d])
  lcap[d] = tonumber(raw[12 + d])
  foreign[d] = tonumber(raw[18 + d]) or 0
  observed_at[d] = tonumber(raw[22 + d])
  aligned_at[d] = tonumber(raw[27 + d])
end
local paused = tonumber(raw[17])
local probe = tonumber(raw[18])
local warm = raw[27] == '1'

local function fmt(x)
  if x == nil then return '' end
  return string.format('%.17g', x)
end

local function save()
  local set, del = {}, {}
  local values = {}
  for d = 1, 4 do
    values[d] = tat[d]
    values[4 + d] = shift[d]
    values[8 + d] = lrate[d]
    values[12 + d] = lcap[d]
  end
  values[17] = paused
  values[18] = probe
  for d = 1, 4 do
    values[18 + d] = foreign[d]
    values[22 + d] = observed_at[d]
    values[27 + d] = aligned_at[d]
  end
  for i = 1, 31 do
    if i == 27 then
      -- 'warm' is written below
    elseif values[i] == nil then
      del[#del + 1] = FIELDS[i]
    else
      set[#set + 1] = FIELDS[i]
      set[#set + 1] = fmt(values[i])
    end
  end
  set[#set + 1] = 'warm'
  set[#set + 1] = warm and '1' or '0'
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  redis.call('HSET', key, unpack(set))
  redis.call('PEXPIRE', key, ttl)
end

local function effective(d)
  local r, c = cfg_rate[d], cfg_cap[d]
  if adopt and lrate[d] and lcap[d] then
    if not r or not c then
      r, c = lrate[d], lcap[d]
    else
      r, c = math.min(r, lrate[d]), math.min(c, lcap[d])
    end
  end
  if not r or not c then return nil, nil end
  return r * headroom - foreign[d], math.max(0, math.min(c * headroom, c - r * jitter))
end

local function margin(rate)
  return math.max(1.0, rate * jitter)
end

-- Mirrors _settle._foreign: FOREIGN_MEMORY 30 s, FOREIGN_TIME_CONSTANT 1 s, 4 round trips,
-- and never faster than the gap's own build-up (`accrued`).
local function update_foreign(rate, gap, elapsed, accrued, latency, ceiling)
  rate = rate * math.exp(-math.max(0, elapsed) / 30.0)
  local tau = math.max(1.0, 4.0 * math.max(0, latency), accrued)
  return math.min(ceiling, math.max(0, rate + gap / tau))
end

-- A ticket: probe flag, start, then per dimension cost, rate, capacity, level, shift
-- ('' = none): 22 values.
local function read_ticket(at)
  local t = {probe = ARGV[at] == '1', start = tonumber(ARGV[at + 1]), slots = {}}
  for d = 1, 4 do
    local base = at + 2 + (d - 1) * 5
    local cost = tonumber(ARGV[base])
    if cost then
      t.slots[d] = {cost = cost, rate = tonumber(ARGV[base + 1]), cap = tonumber(ARGV[base + 2]),
                    level = tonumber(ARGV[base + 3]), shift = tonumber(ARGV[base + 4])}
    end
  end
  return t
end

local function write_ticket(out, t)
  out[#out + 1] = t.probe and '1' or '0'
  out[#out + 1] = fmt(t.start)
  for d = 1, 4 do
    local s = t.slots[d]
    if s then
      out[#out + 1] = fmt(s.cost)
      out[#out + 1] = fmt(s.rate)
      out[#out + 1] = fmt(s.cap)
      out[#out + 1] = fmt(s.level)
      out[#out + 1] = fmt(s.shift)
    else
      for _ = 1, 5 do out[#out + 1] = '' end
    end
  end
  return out
end

local function read_vec(at)
  return {tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]),
          tonumber(ARGV[at + 3])}
end

-- An observation: a flag, then per dimension limit, remaining, reset_in, resolution
-- ('' = none): 17 values.
local function read_observed(at)
  if ARGV[at] ~= '1' then return nil end
  local obs = {}
  for d = 1, 4 do
    local base = at + 1 + (d - 1) * 4
    local limit, remaining = tonumber(ARGV[base]), tonumber(ARGV[base + 1])
    if limit or remaining then
      obs[d] = {limit = limit, remaining = remaining, reset_in = tonumber(ARGV[base + 2]),
                resolution = tonumber(ARGV[base + 3])}
    end
  end
  return obs
end

local function learn(obs)
  for d = 1, 4 do
    local a = obs[d]
    if a and a.limit and a.limit > 0 then
      local limit = a.limit
      local rate = limit / 60
      local size = limit
      if a.remaining and a.reset_in then
        local refill = rate * math.max(0, a.reset_in)
        size = math.min(limit, math.max(a.remaining + refill, a.remaining + 1))
      end
      lrate[d] = rate
      if lcap[d] == nil then
        lcap[d] = size
      else
        lcap[d] = math.min(limit, math.max(lcap[d], size))
      end
    end
  end
  warm = true
  for d = 1, 4 do
    local r, c = effective(d)
    local a = obs[d]
    if tat[d] == nil and r and a and a.remaining then
      tat[d] = now + (c - math.min(c, a.remaining)) / r
    end
  end
end

if op == 'acquire' then
  local need = read_vec(A + 1)
  local max_wait = tonumber(ARGV[A + 5])
  local start = now
  if paused then start = math.max(now, paused) end
  if adopt and not configured and not warm then
    if probe and probe > now then
      return {'poll', fmt(math.min(poll, probe - now))}
    end
    if start - now > max_wait then return {'refused', fmt(start - now)} end
    probe = start + probe_timeout
    save()
    return write_ticket({'grant', fmt(start - now)}, {probe = true, start = start, slots = {}})
  end
  local rates, caps = {}, {}
  for d = 1, 4 do
    rates[d], caps[d] = effective(d)
    if rates[d] and need[d] > 0 and tat[d] then
      start = math.max(start, tat[d] - (caps[d] - math.min(need[d], caps[d])) / rates[d])
    end
  end
  if start - now > max_wait then return {'refused', fmt(start - now)} end
  local ticket = {probe = false, start = start, slots = {}}
  for d = 1, 4 do
    if rates[d] and need[d] > 0 then
      local r, c = rates[d], caps[d]
      local cost = need[d] / r
      local base = tat[d]
      if base == nil or base < start then base = start end
      local new_tat = base + cost
      tat[d] = new_tat
      ticket.slots[d] = {cost = cost, rate = r, cap = c, level = c - (new_tat - start) * r,
                         shift = shift[d]}
    end
  end
  save()
  return write_ticket({'grant', fmt(start - now)}, ticket)

elseif op == 'confirm' then
  local t = read_ticket(A + 1)
  local extra = 0
  if paused then extra = math.max(0, paused - now) end
  for d = 1, 4 do
    local s = t.slots[d]
    if s and shift[d] > s.shift then
      extra = math.max(extra, shift[d] - s.shift - s.level / s.rate)
    end
  end
  for d = 1, 4 do
    local s = t.slots[d]
    if s then
      s.level = math.min(s.cap - s.cost * s.rate, s.level + (extra - (shift[d] - s.shift)) * s.rate)
      s.shift = shift[d]
    end
  end
  t.start = t.start + extra
  return write_ticket({fmt(extra)}, t)

elseif op == 'settle' then
  local t = read_ticket(A + 1)
  local need = read_vec(A + 23)
  local used = nil
  if ARGV[A + 27] ~= '' then used = read_vec(A + 27) end
  local obs = read_observed(A + 31)
  if t.probe then probe = nil end
  if obs then learn(obs) end
  local counted = {0, 0, 0, 0}
  if used then counted = {need[1], used[2], need[3], used[2] + need[3]} end
  for d = 1, 4 do
    local s = t.slots[d]
    local cur = tat[d]
    if s and cur then
      local gap = 0
      local a = obs and obs[d]
      local r, c = effective(d)
      if a and r then
        local since = observed_at[d]
        local moved = shift[d] - s.shift
        local uncounted = need[d] - counted[d]
        local level = math.min(s.level, c)
        local units = -math.huge
        local others = -math.huge
        if a.remaining then
          units = level - moved * s.rate + uncounted - a.remaining
          others = units
        end
        if a.reset_in and a.limit and lcap[d] then
          local owed = a.limit / 60 * math.max(0, a.reset_in - a.resolution)
          owed = math.min(owed, lcap[d])
          local full = t.start + (s.cap - s.level) / s.rate
          local ours = math.min(s.cap, c) - math.max(0, full - now) * s.rate
                       - moved * s.rate + uncounted
          local lost = ours - (lcap[d] - owed)
          if not a.remaining then others = lost end
          units = math.max(units, lost)
        end
        if units > -math.huge then
          if since ~= nil then
            local base = r + foreign[d]
            foreign[d] = update_foreign(foreign[d], math.max(0, others), now - since,
                                        now - (aligned_at[d] or since), now - t.start,
                                        0.9 * base)
            local paced = base - foreign[d]
            if cur > now and paced ~= r then
              local moved_to = now + (cur - now) * r / paced
              if moved_to > cur then
                shift[d] = shift[d] + (moved_to - cur)
              end
              cur = moved_to
            end
            r = paced
          end
          if since == nil or units > 0 then
            aligned_at[d] = now
          end
          observed_at[d] = now
          if units > 0 then
            gap = (units + margin(r)) / r
          end
        end
      end
      local delta = -need[d]
      if used then delta = used[d] - need[d] end
      if delta < 0 then
        cur = math.max(now, cur + delta / s.rate)
      elseif delta > 0 then
        cur = math.max(cur, now) + delta / s.rate
        shift[d] = shift[d] + delta / s.rate
      end
      if gap > 0 then
        cur = math.max(cur, now) + gap
        shift[d] = shift[d] + gap
      end
      tat[d] = cur
    end
  end
  save()
  return {'ok'}

elseif op == 'pause' then
  local seconds = tonumber(ARGV[A + 1])
  local untl = now + seconds
  local held = now
  if paused then held = math.max(now, paused) end
  local delta = untl - held
  if delta <= 0 then return {'ok'} end
  local shifted = {}
  for d = 1, 4 do
    shifted[d] = tat[d] ~= nil and effective(d) ~= nil
  end
  for d = 1, 4 do
    if shifted[d] then
      tat[d] = math.max(tat[d], now) + delta
      shift[d] = shift[d] + delta
    end
  end
  paused = untl
  save()
  return {'ok'}

elseif op == 'observe' then
  local obs = read_observed(A + 1)
  if obs then
    learn(obs)
    save()
  end
  return {'ok'}
end
return redis.error_reply('riprap limiter: unknown op ' .. tostring(op))
"""

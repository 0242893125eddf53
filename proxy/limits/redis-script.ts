/**
 * BUCKET_SCRIPT is token-bucket.ts in Lua, run by Redis as one atomic script: `refill`, `takeAll`
 * (mode `take`) and `charge` (mode `charge`, a negative amount giving back up to the capacity) over every bucket of one request, with the same
 * constants, the same order of floating-point operations and the same rounding, so a replica
 * sharing Redis decides exactly as the in-memory store would (a test compares them bit for bit).
 *
 * KEYS are the buckets. ARGV[1] is the caller's clock in ms, ARGV[2] the mode, then five values per
 * key: capacity, refill per ms, amount, minimum, expireAtMs (0 for none). A bucket is a hash
 * `{ l = level, t = updatedAtMs }`, written with 17 significant digits so doubles round-trip exactly,
 * and deleted when full (absent is full), else expiring when it will be full again or at its
 * window's end, whichever is first, plus a minute's grace: Redis expires keys by its own clock, and
a bucket read after it is full is still full, so a late expiry changes nothing. The reply is four strings per key: allowed (1 or 0), level,
 * retry-after ms and reset ms (`inf` for a budget that never refills).
 */
export const BUCKET_SCRIPT = `
local EPSILON = 1e-6
local GRACE_MS = 60000
local now = tonumber(ARGV[1])
local charging = ARGV[2] == 'charge'

local function untilRefilled(deficit, rate)
  if deficit <= EPSILON then return 0 end
  if rate == 0 then return math.huge end
  return math.ceil((deficit - EPSILON / 2) / rate)
end

local function num(x)
  return string.format('%.17g', x)
end

local buckets = {}
local all = true
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 5
  local b = {
    capacity = tonumber(ARGV[base + 1]), rate = tonumber(ARGV[base + 2]),
    amount = tonumber(ARGV[base + 3]), minimum = tonumber(ARGV[base + 4]), expireAt = tonumber(ARGV[base + 5]),
  }
  local stored = redis.call('HMGET', KEYS[i], 'l', 't')
  if stored[1] then
    local level, at = tonumber(stored[1]), tonumber(stored[2])
    b.level = math.min(b.capacity, level + math.max(0, now - at) * b.rate)
    b.at = math.max(now, at)
  else
    b.level = b.capacity
    b.at = now
  end
  b.passes = charging or b.level >= b.minimum - EPSILON
  if not b.passes then all = false end
  buckets[i] = b
end

local reply = {}
for i, b in ipairs(buckets) do
  local level, allowed, retry = b.level, 1, 0
  if not b.passes then
    allowed = 0
    retry = untilRefilled(b.minimum - b.level, b.rate)
  elseif charging then
    level = math.min(b.capacity, b.level - b.amount)
  elseif all then
    level = b.level - b.amount
  end
  local reset = untilRefilled(b.capacity - level, b.rate)
  local ttl = reset
  if b.expireAt > 0 then ttl = math.min(ttl, b.expireAt - b.at) end
  if reset > 0 and ttl > 0 then
    redis.call('HSET', KEYS[i], 'l', num(level), 't', num(b.at))
    redis.call('PEXPIRE', KEYS[i], math.ceil(ttl) + GRACE_MS)
  else
    redis.call('DEL', KEYS[i])
  end
  table.insert(reply, allowed)
  table.insert(reply, num(level))
  table.insert(reply, num(retry))
  table.insert(reply, num(reset))
end
return reply
`;

package redis

import (
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ptu-dev/ptu/leaky"
)

// The scripts keep one hash per bucket:
//
//	l  the level in tokens, printed with 17 significant digits so it reads back bit for bit
//	t  the time of the level, whole microseconds of Redis's clock since the Unix epoch
//	h  the end of the last retry slot, in nanoseconds after t (absent when it is not after t)
//	w  the minute of t (Unix microseconds ÷ 60,000,000, rounded down)
//	c  the tokens counted in minute w, printed like l
//	p  the tokens counted in the minute before w, printed like l
//
// Lua numbers are float64, like Go's, and every step below is the same
// IEEE 754 operation leaky.Bucket performs in the same order, so a bucket
// evolves identically in both (redis_test.go checks it bit for bit). Times
// are kept relative to t in nanoseconds: whole numbers well inside 2^53, so
// the doubles count every nanosecond, where nanoseconds since the epoch
// (about 2^60) would not.
//
// ARGV[1] is the capacity in tokens per minute, ARGV[2] the estimate (admit)
// or the delta (settle), ARGV[3] the idle TTL in milliseconds. ARGV[4], set
// only by this package's tests, replaces Redis's clock with a given time in
// microseconds.
const prelude = `
local NS_PER_MIN = 60000000000
local MAX_LEVEL = 1.7976931348623157e308
local SPREAD = %d
local MAX_RETRY_NS = 4611686018427387904
local EXACT_NS = 4503599627370496
local MAX_TTL_MS = 1000000000000000
local US_PER_MIN = 60000000

local key = KEYS[1]
local c = tonumber(ARGV[1])
local x = tonumber(ARGV[2])
local idle_ms = tonumber(ARGV[3])
local now
if ARGV[4] then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function fmt(v) return string.format('%%.17g', v) end

local function clamp(l)
  if not (l > 0) then return 0 end
  if l > MAX_LEVEL then return MAX_LEVEL end
  return l
end

-- The minute counters (Bucket.Window, Cur, Prev) of the loaded bucket.
local win, cur, prev = 0, 0, 0

-- load returns level, last, horizon and whether the key and a horizon exist.
-- A missing key is the zero bucket: empty, so its last update does not matter.
local function load()
  local v = redis.call('HMGET', key, 'l', 't', 'h', 'w', 'c', 'p')
  if not v[1] then return 0, now, nil, false, false end
  local h = nil
  if v[3] then h = tonumber(v[3]) end
  if v[4] then win, cur, prev = tonumber(v[4]), tonumber(v[5]), tonumber(v[6]) end
  return tonumber(v[1]), tonumber(v[2]), h, true, h ~= nil
end

-- roll is Bucket.roll: the counters move to the minute holding last.
local function roll(last)
  local w = math.floor(last / US_PER_MIN)
  if w <= win then return end
  if w == win + 1 then prev, cur = cur, 0 else prev, cur = 0, 0 end
  win = w
end

-- count is Bucket.count.
local function count(x)
  cur = cur + x
  if cur < 0 then
    prev = prev + cur
    cur = 0
    if not (prev > 0) then prev = 0 end
  end
  if not (cur > 0) then cur = 0 end
end

-- recent is Bucket.recentNow: the use over the last minute, in tokens.
local function recent(last)
  local frac = (last - win * US_PER_MIN) / US_PER_MIN
  return clamp(prev * (1 - frac) + cur)
end

-- advance drains the level to now and moves last forward (never back), as
-- Bucket.advance does; the horizon is re-based on the new last.
local function advance(level, last, h)
  if now > last then
    local elapsed = (now - last) * 1000
    if level ~= 0 then level = clamp(level - c * (elapsed / NS_PER_MIN)) end
    if h then h = h - elapsed end
    last = now
  end
  roll(last)
  return level, last, h
end

-- store writes the bucket and gives the key a TTL that outlasts both the
-- drain of the level and the last retry slot, plus the idle time.
local function store(level, last, h, had_h)
  local until_ns = level / c * NS_PER_MIN
  local w, c_, p_ = string.format('%%d', win), fmt(cur), fmt(prev)
  if h and h > 0 then
    if h > until_ns then until_ns = h end
    redis.call('HSET', key, 'l', fmt(level), 't', string.format('%%d', last), 'h', fmt(h), 'w', w, 'c', c_, 'p', p_)
  else
    redis.call('HSET', key, 'l', fmt(level), 't', string.format('%%d', last), 'w', w, 'c', c_, 'p', p_)
    if had_h then redis.call('HDEL', key, 'h') end
  end
  local ms = math.ceil((until_ns + (last - now) * 1000) / 1000000) + idle_ms
  if not (ms < MAX_TTL_MS) then ms = MAX_TTL_MS end
  redis.call('PEXPIRE', key, string.format('%%d', ms))
end
`

// admitSource is Bucket.Admit. It replies {allowed, level, retry-after in
// nanoseconds or "inf", the use over the last minute in tokens}.
var admitSource = fmt.Sprintf(prelude, int64(leaky.MaxRetrySpread)) + `
-- exact_retry is leaky's exactRetry: the smallest whole nanosecond count at
-- which level l drains below c. Past 2^52 ns (52 days) doubles stop counting
-- single nanoseconds, and the closed form is used as it is.
local function exact_retry(l)
  local ns = (l - c) / c * NS_PER_MIN
  if not (ns < MAX_RETRY_NS) then return nil end
  local hi = math.ceil(ns)
  if hi < 1 then hi = 1 end
  if hi >= EXACT_NS then return hi end
  local function open(d) return l - c * (d / NS_PER_MIN) < c end
  local step = 1
  while not open(hi) do
    hi = hi + step
    step = step * 2
  end
  local lo = hi - 1
  step = 2
  while lo > 0 and open(lo) do
    hi = lo
    lo = lo - step
    if lo < 0 then lo = 0 end
    step = step * 2
  end
  while hi - lo > 1 do
    local mid = lo + math.floor((hi - lo) / 2)
    if open(mid) then hi = mid else lo = mid end
  end
  return hi
end

local level, last, h, _, had_h = load()
level, last, h = advance(level, last, h)
-- now_rel is now after last, in ns: zero, or negative if the clock stepped back.
local now_rel = (now - last) * 1000

if level < c then
  if x > 0 then
    level = clamp(level + x)
    count(x)
  end
  store(level, last, h, had_h)
  return {1, fmt(level), '0', fmt(recent(last))}
end

local open = exact_retry(level)
if not open then
  store(level, last, h, had_h)
  return {0, fmt(level), 'inf', fmt(recent(last))}
end
-- open is relative to last: the bucket opens open ns after its last update.
local slot = open
if h and h > slot then
  slot = h
  if slot > open + SPREAD then slot = open + SPREAD end
end
local length = 0
if x > 0 then
  length = SPREAD
  local ns = x / c * NS_PER_MIN
  if ns < SPREAD then length = math.ceil(ns) end
end
h = slot + length
store(level, last, h, had_h)
return {0, fmt(level), fmt(slot - now_rel), fmt(recent(last))}
`

// settleSource is Bucket.Settle. Like inmem, it creates no bucket for a
// refund: a missing key is already empty.
var settleSource = fmt.Sprintf(prelude, int64(leaky.MaxRetrySpread)) + `
local level, last, h, found, had_h = load()
if not found and not (x > 0) then return 0 end
level, last, h = advance(level, last, h)
level = clamp(level + x)
count(x)
store(level, last, h, had_h)
return 0
`

// readSource writes nothing: it replies {now, level, last} (now and last in
// microseconds, level and last false for a missing key) and Go applies
// Bucket.Utilization to them. ARGV[1], set only by tests, replaces the clock.
const readSource = `
local v = redis.call('HMGET', KEYS[1], 'l', 't')
local now
if ARGV[1] then
  now = ARGV[1]
else
  local t = redis.call('TIME')
  now = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
return {now, v[1] or false, v[2] or false}
`

var (
	admitScript  = goredis.NewScript(admitSource)
	settleScript = goredis.NewScript(settleSource)
	readScript   = goredis.NewScript(readSource)
)

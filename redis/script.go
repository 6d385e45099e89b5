package redis

import (
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ptu-dev/ptu/leaky"
)

// The scripts keep one string per bucket, six little-endian IEEE 754
// doubles (48 bytes, struct.pack('<dddddd')):
//
//	l  the level in tokens
//	t  the time of the level, whole microseconds of Redis's clock since the Unix epoch
//	h  the end of the last retry slot, in nanoseconds after t (0 when it is not after t)
//	w  the minute of t (Unix microseconds ÷ 60,000,000, rounded down)
//	c  the tokens counted in minute w
//	p  the tokens counted in the minute before w
//
// Lua numbers are float64, like Go's, and every step below is the same
// IEEE 754 operation leaky.Bucket performs in the same order, so a bucket
// evolves identically in both (redis_test.go checks it bit for bit). The
// doubles are stored as their bits, so they read back exactly. Times are
// kept relative to t in nanoseconds: whole numbers well inside 2^53, so the
// doubles count every nanosecond, where nanoseconds since the epoch (about
// 2^60) would not.
//
// Every script takes ARGV[1], the idle TTL in milliseconds, and ARGV[2],
// the time in microseconds, or "" to read Redis's clock (only this
// package's tests set it).
const prelude = `
local NS_PER_MIN = 60000000000
local MAX_LEVEL = 1.7976931348623157e308
local SPREAD = %d
local MAX_RETRY_NS = 4611686018427387904
local EXACT_NS = 4503599627370496
local MAX_TTL_MS = 1000000000000000
local US_PER_MIN = 60000000
local STATE = '<dddddd'
local STATE_LEN = 48

local idle_ms = tonumber(ARGV[1])
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
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

-- load returns the bucket at key, or nil if there is none (a key holding
-- anything else, such as an earlier version's hash, counts as none). A bucket
-- is Bucket's fields: l level, t last, h horizon (nil if none), and the
-- minute counters w Window, c Cur, p Prev.
local function load(key)
  local v = redis.pcall('GET', key)
  if type(v) ~= 'string' or #v ~= STATE_LEN then return nil end
  local l, t, h, w, c, p = struct.unpack(STATE, v)
  if not (h > 0) then h = nil end
  return {l = l, t = t, h = h, w = w, c = c, p = p}
end

-- empty is a missing key's bucket: empty, so its last update does not matter.
local function empty() return {l = 0, t = now, w = 0, c = 0, p = 0} end

-- roll is Bucket.roll: the counters move to the minute holding b.t.
local function roll(b)
  local w = math.floor(b.t / US_PER_MIN)
  if w <= b.w then return end
  if w == b.w + 1 then b.p, b.c = b.c, 0 else b.p, b.c = 0, 0 end
  b.w = w
end

-- count is Bucket.count.
local function count(b, x)
  local cur = b.c + x
  if cur < 0 then
    local prev = b.p + cur
    cur = 0
    if not (prev > 0) then prev = 0 end
    b.p = prev
  end
  if not (cur > 0) then cur = 0 end
  b.c = cur
end

-- recent is Bucket.recentNow: the use over the last minute, in tokens.
local function recent(b)
  local frac = (b.t - b.w * US_PER_MIN) / US_PER_MIN
  return clamp(b.p * (1 - frac) + b.c)
end

-- advance drains the level to now at capacity c and moves t forward (never
-- back), as Bucket.advance does; the horizon is re-based on the new t.
local function advance(b, c)
  if now > b.t then
    local elapsed = (now - b.t) * 1000
    if b.l ~= 0 then b.l = clamp(b.l - c * (elapsed / NS_PER_MIN)) end
    if b.h then b.h = b.h - elapsed end
    b.t = now
  end
  roll(b)
end

-- settle is Bucket.Settle.
local function settle(b, c, x)
  advance(b, c)
  b.l = clamp(b.l + x)
  count(b, x)
end

-- store writes the bucket and gives the key a TTL that outlasts both the
-- drain of the level and the last retry slot, plus the idle time.
local function store(key, b, c)
  local until_ns = b.l / c * NS_PER_MIN
  local h = 0
  if b.h and b.h > 0 then
    h = b.h
    if h > until_ns then until_ns = h end
  end
  local ms = math.ceil((until_ns + (b.t - now) * 1000) / 1000000) + idle_ms
  if not (ms < MAX_TTL_MS) then ms = MAX_TTL_MS end
  redis.call('SET', key, struct.pack(STATE, b.l, b.t, h, b.w, b.c, b.p), 'PX', string.format('%%d', ms))
end
`

// admitSource is Bucket.Settle by a queued correction, if any, then
// Bucket.AdmitRule, both at one instant. ARGV[3] is the capacity in tokens
// per minute, ARGV[4] the estimate, ARGV[5] the correction ("0" for none),
// ARGV[6] the retry-after rule ("slots" for leaky.RetrySlots, anything else
// leaky.RetryExact). It replies {allowed, level, retry-after in nanoseconds
// or "inf", the use over the last minute in tokens}.
var admitSource = fmt.Sprintf(prelude, int64(leaky.MaxRetrySpread)) + `
local key = KEYS[1]
local c = tonumber(ARGV[3])
local x = tonumber(ARGV[4])
local correction = tonumber(ARGV[5])
local slots = ARGV[6] == 'slots'

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

local b = load(key) or empty()
-- A refund on an empty bucket changes nothing, as a correction of a missing key.
if correction ~= 0 then settle(b, c, correction) end
advance(b, c)
-- now_rel is now after b.t, in ns: zero, or negative if the clock stepped back.
local now_rel = (now - b.t) * 1000

if b.l < c then
  if x > 0 then
    b.l = clamp(b.l + x)
    count(b, x)
  end
  store(key, b, c)
  return {1, fmt(b.l), '0', fmt(recent(b))}
end

local open = exact_retry(b.l)
if not open then
  store(key, b, c)
  return {0, fmt(b.l), 'inf', fmt(recent(b))}
end
-- open is relative to b.t: the bucket opens open ns after its last update.
if not slots then
  store(key, b, c)
  return {0, fmt(b.l), fmt(open - now_rel), fmt(recent(b))}
end
local slot = open
if b.h and b.h > slot then
  slot = b.h
  if slot > open + SPREAD then slot = open + SPREAD end
end
local length = 0
if x > 0 then
  length = SPREAD
  local ns = x / c * NS_PER_MIN
  if ns < SPREAD then length = math.ceil(ns) end
end
b.h = slot + length
store(key, b, c)
return {0, fmt(b.l), fmt(slot - now_rel), fmt(recent(b))}
`

// settleSource is Bucket.Settle on every key of KEYS, at one instant:
// ARGV[1 + 2i] is the capacity of KEYS[i] in tokens per minute and
// ARGV[2 + 2i] its correction. Like inmem, it creates no bucket for a
// refund: a missing key is already empty. It replies with the number of keys.
var settleSource = fmt.Sprintf(prelude, int64(leaky.MaxRetrySpread)) + `
for i, key in ipairs(KEYS) do
  local c, x = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local b = load(key)
  if b or x > 0 then
    b = b or empty()
    settle(b, c, x)
    store(key, b, c)
  end
end
return #KEYS
`

// readSource writes nothing: it replies {now, state} (now in microseconds,
// state the stored string or false for a missing key) and Go applies
// Bucket.Utilization to them. ARGV[1] is the time in microseconds, or "" to
// read Redis's clock, as in the other scripts.
const readSource = `
local v = redis.pcall('GET', KEYS[1])
if type(v) ~= 'string' then v = false end
local now
if ARGV[1] ~= '' then
  now = ARGV[1]
else
  local t = redis.call('TIME')
  now = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
return {now, v}
`

var (
	admitScript  = goredis.NewScript(admitSource)
	settleScript = goredis.NewScript(settleSource)
	readScript   = goredis.NewScript(readSource)
)

package tokens

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"
)

// Prompt caching as OpenAI documents it: prompts of MinCachedPrefix tokens or
// more are cacheable, and a hit covers the longest previously seen prefix in
// whole blocks of CacheBlockSize tokens, so cached_tokens is 0 or
// 1024 + 128·k.
const (
	CacheBlockSize  = 128
	MinCachedPrefix = 1024

	// DefaultPrefixCacheTTL is how long a prefix stays cached without use.
	// OpenAI keeps prefixes for 5–10 minutes of inactivity (up to an hour off-peak).
	DefaultPrefixCacheTTL = 10 * time.Minute

	// DefaultPrefixCacheEntries bounds the blocks a cache holds when
	// NewPrefixCache is given no bound. An entry takes about 60 bytes, so the
	// default is about 16 MB and covers 33M prompt tokens.
	DefaultPrefixCacheEntries = 1 << 18
)

// PrefixCache remembers the prompt prefixes recently sent to deployments, so
// that the cached share of a new prompt can be discounted from its cost and
// reported as usage.prompt_tokens_details.cached_tokens.
//
// Like vLLM's automatic prefix caching, it keys each full block of
// CacheBlockSize tokens by a hash chained over the blocks before it:
// hash(block i) = H(hash(block i−1), tokens of block i), with the chain rooted
// in the scope (the deployment). One entry therefore stands for a whole
// prefix, and a lookup needs one map probe per block. Hashes are 64 bits,
// randomly seeded per cache; a collision can only make a prompt look cached.
//
// Entries are evicted least recently used first, when they have gone unused
// for the TTL or when the cache holds maxEntries blocks. A lookup uses a
// prompt's blocks from the deepest to the first, so a prefix's first blocks
// are the last of it to go. It is safe for concurrent use.
type PrefixCache struct {
	now  func() time.Time
	ttl  time.Duration
	max  int
	seed maphash.Seed

	mu    sync.Mutex
	index map[uint64]int32 // block hash → nodes index
	nodes []cacheNode      // LRU list, linked by index; grows to max, then reused
	head  int32            // most recently used, or -1
	tail  int32            // least recently used, or -1
	free  int32            // first free node, or -1
}

type cacheNode struct {
	key        uint64
	used       int64 // unix nanoseconds of last use
	prev, next int32 // towards head, towards tail; -1 at the ends
}

// NewPrefixCache returns a cache of at most maxEntries blocks (a non-positive
// value means DefaultPrefixCacheEntries) that forgets a block after ttl without
// use (non-positive: DefaultPrefixCacheTTL). now is the clock (nil: time.Now).
func NewPrefixCache(maxEntries int, ttl time.Duration, now func() time.Time) *PrefixCache {
	if maxEntries <= 0 {
		maxEntries = DefaultPrefixCacheEntries
	}
	maxEntries = min(maxEntries, 1<<31-1)
	if ttl <= 0 {
		ttl = DefaultPrefixCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &PrefixCache{
		now:   now,
		ttl:   ttl,
		max:   maxEntries,
		seed:  maphash.MakeSeed(),
		index: make(map[uint64]int32),
		head:  -1,
		tail:  -1,
		free:  -1,
	}
}

// Lookup returns how many leading tokens of toks are cached in scope: 0, or
// MinCachedPrefix + CacheBlockSize·k ≤ len(toks), the longest prefix of whole
// blocks seen within the TTL. It then records toks' blocks, so a later prompt
// that shares them hits. Prompts shorter than MinCachedPrefix are neither
// cached nor recorded. Scopes never share entries: pass the deployment's
// identity.
func (c *PrefixCache) Lookup(scope string, toks []int) int {
	if len(toks) < MinCachedPrefix {
		return 0
	}
	var buf [64]uint64
	hashes := c.chain(buf[:0], scope, toks)

	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now().UnixNano()
	c.expire(now)

	hit := 0
	for _, h := range hashes {
		i, ok := c.index[h]
		if !ok || c.expired(i, now) {
			break
		}
		hit++
	}
	for i := len(hashes) - 1; i >= 0; i-- {
		c.use(hashes[i], now)
	}

	if hit*CacheBlockSize < MinCachedPrefix {
		return 0
	}
	return hit * CacheBlockSize
}

// Len returns the number of blocks held, counting expired blocks not yet removed.
func (c *PrefixCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}

// chain appends the chained hash of each full block of toks to dst.
func (c *PrefixCache) chain(dst []uint64, scope string, toks []int) []uint64 {
	var block [8 + 4*CacheBlockSize]byte
	h := maphash.String(c.seed, scope)
	for start := 0; start+CacheBlockSize <= len(toks); start += CacheBlockSize {
		binary.LittleEndian.PutUint64(block[:8], h)
		for j, t := range toks[start : start+CacheBlockSize] {
			// Token ids are below 2^32 in every encoding.
			binary.LittleEndian.PutUint32(block[8+4*j:], uint32(t))
		}
		h = maphash.Bytes(c.seed, block[:])
		dst = append(dst, h)
	}
	return dst
}

func (c *PrefixCache) expired(i int32, now int64) bool {
	return now-c.nodes[i].used >= int64(c.ttl)
}

// expire removes blocks unused for the TTL. The list is ordered by last use,
// so they are at the tail.
func (c *PrefixCache) expire(now int64) {
	for c.tail >= 0 && c.expired(c.tail, now) {
		c.remove(c.tail)
	}
}

// use marks the block h used now, adding it if absent, at the head of the list.
func (c *PrefixCache) use(h uint64, now int64) {
	if i, ok := c.index[h]; ok {
		c.nodes[i].used = now
		c.unlink(i)
		c.pushFront(i)
		return
	}
	if len(c.index) >= c.max {
		c.remove(c.tail)
	}
	var i int32
	if c.free >= 0 {
		i = c.free
		c.free = c.nodes[i].next
	} else {
		c.nodes = append(c.nodes, cacheNode{})
		i = int32(len(c.nodes) - 1)
	}
	c.nodes[i] = cacheNode{key: h, used: now}
	c.index[h] = i
	c.pushFront(i)
}

func (c *PrefixCache) remove(i int32) {
	c.unlink(i)
	delete(c.index, c.nodes[i].key)
	c.nodes[i] = cacheNode{next: c.free}
	c.free = i
}

func (c *PrefixCache) unlink(i int32) {
	n := &c.nodes[i]
	if n.prev >= 0 {
		c.nodes[n.prev].next = n.next
	} else {
		c.head = n.next
	}
	if n.next >= 0 {
		c.nodes[n.next].prev = n.prev
	} else {
		c.tail = n.prev
	}
	n.prev, n.next = -1, -1
}

func (c *PrefixCache) pushFront(i int32) {
	n := &c.nodes[i]
	n.prev, n.next = -1, c.head
	if c.head >= 0 {
		c.nodes[c.head].prev = i
	} else {
		c.tail = i
	}
	c.head = i
}

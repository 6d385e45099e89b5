package tokens

import (
	"fmt"
	"math/bits"
	"strings"
	"sync/atomic"
)

// vocab is one encoding's byte-level BPE vocabulary, in a compact form made
// for lookups: every token's bytes end to end in one string, indexed by
// token id, and an open-addressing hash table of ids. In tiktoken a token's
// id is also its merge rank.
type vocab struct {
	blob string   // the bytes of every token, by id
	off  []uint32 // token id's bytes are blob[off[id]:off[id+1]]; empty if no such id
	// table holds, at the slot of each token's hash (linear probing), the
	// hash's top 32 bits above 1 + the token's id; 0 is an empty slot.
	table []uint64
	mask  uint64
	bytes [256]uint32 // the token of each single byte
	// pairs holds, for two bytes a and b, 1 + the id of the token "ab", or 0:
	// the lookups that byte-pair merging starts with.
	pairs []uint32
	cache pieceCache
}

const noRank = ^uint32(0)

// loadVocab reads an encoding's vocabulary from its embedded rank file.
func loadVocab(name string) (*vocab, error) {
	blob, off, err := readRanks(name)
	if err != nil {
		return nil, err
	}
	return newVocab(blob, off)
}

// newVocab builds the lookup tables over the tokens blob[off[id]:off[id+1]].
func newVocab(blob string, off []uint32) (*vocab, error) {
	v := &vocab{blob: blob, off: off, pairs: make([]uint32, 1<<16)}
	n := len(off) - 1
	size := 1 << bits.Len(uint(2*n))
	v.table = make([]uint64, size)
	v.mask = uint64(size - 1)
	for i := range v.bytes {
		v.bytes[i] = noRank
	}
	for id := range n {
		tok := v.token(uint32(id))
		switch len(tok) {
		case 0:
			continue
		case 1:
			v.bytes[tok[0]] = uint32(id)
		case 2:
			v.pairs[uint16(tok[0])<<8|uint16(tok[1])] = uint32(id) + 1
		}
		h := hashString(tok)
		i := h & v.mask
		for v.table[i] != 0 {
			i = (i + 1) & v.mask
		}
		v.table[i] = h&^0xffffffff | uint64(id+1)
	}
	for b, id := range v.bytes {
		if id == noRank {
			return nil, fmt.Errorf("no token for byte %#x", b)
		}
	}
	return v, nil
}

// token returns the bytes of token id, "" if there is none.
func (v *vocab) token(id uint32) string {
	if int(id)+1 >= len(v.off) {
		return ""
	}
	return v.blob[v.off[id]:v.off[id+1]]
}

// lookup returns the id of the token whose bytes are s, with s's hash h.
func (v *vocab) lookup(s string, h uint64) (uint32, bool) {
	tag := h &^ 0xffffffff
	for i := h & v.mask; ; i = (i + 1) & v.mask {
		e := v.table[i]
		if e == 0 {
			return 0, false
		}
		if e&^0xffffffff == tag {
			if id := uint32(e) - 1; v.token(id) == s {
				return id, true
			}
		}
	}
}

// hashString hashes a token's bytes for the vocabulary table and the piece
// cache: 8 bytes at a time, multiply and xor-shift. The vocabulary is fixed,
// so text cannot lengthen its probe sequences.
func hashString(s string) uint64 {
	const m1, m2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9
	h := uint64(len(s)) * m1
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = (h ^ w) * m2
		h ^= h >> 31
		s = s[8:]
	}
	var w uint64
	for i := range len(s) {
		w |= uint64(s[i]) << (8 * i)
	}
	h = (h ^ w) * m1
	h ^= h >> 29
	h *= m2
	return h ^ h>>32
}

// rank returns the id of the token s, noRank if s is not one.
func (v *vocab) rank(s string) uint32 {
	switch len(s) {
	case 1:
		return v.bytes[s[0]]
	case 2:
		return v.pairs[uint16(s[0])<<8|uint16(s[1])] - 1 // 0 - 1 is noRank
	}
	if id, ok := v.lookup(s, hashString(s)); ok {
		return id
	}
	return noRank
}

// smallPiece is the longest piece merged with a linear scan on the stack; a
// longer one (a run of CJK text, a long word of code) uses a heap.
const smallPiece = 64

// merge returns the tokens of piece, which is not itself a token, by
// tiktoken's byte-pair merging: repeatedly join the adjacent pair of parts
// that forms the token of lowest rank, the leftmost of equals, until no pair
// forms a token. buf's capacity is used if it holds len(piece) ids.
func (v *vocab) merge(piece string, buf []uint32) []uint32 {
	n := len(piece)
	if n > smallPiece {
		return v.mergeHeap(piece, buf)
	}
	// Part i is piece[start[i]:start[i+1]], its token tok[i]; rank[i] is
	// the rank of part i joined with part i+1.
	var startA [smallPiece + 1]uint8
	var rankA, tokA [smallPiece]uint32
	start, rank, tok := startA[:n+1], rankA[:n], tokA[:n]
	for i := range n {
		start[i] = uint8(i)
		tok[i] = v.bytes[piece[i]]
		rank[i] = noRank
		if i+1 < n {
			rank[i] = v.pairs[uint16(piece[i])<<8|uint16(piece[i+1])] - 1
		}
	}
	start[n] = uint8(n)
	parts := n
	pairRank := func(i int) uint32 { // part i joined with part i+1
		if i+2 > parts {
			return noRank
		}
		return v.rank(piece[start[i]:start[i+2]])
	}
	for parts > 1 {
		best, at := noRank, -1
		for i, r := range rank[:parts-1] {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		tok[at] = best
		copy(start[at+1:], start[at+2:parts+1])
		copy(tok[at+1:], tok[at+2:parts])
		copy(rank[at+1:], rank[at+2:parts])
		parts--
		rank[at] = pairRank(at)
		if at > 0 {
			rank[at-1] = pairRank(at - 1)
		}
	}
	return append(buf[:0], tok[:parts]...)
}

// mergeHeap is merge in O(n log n) for long pieces: the parts are a linked
// list and the candidate pairs a min-heap on (rank, offset).
func (v *vocab) mergeHeap(piece string, buf []uint32) []uint32 {
	type node struct {
		prev, next int32
		rank, tok  uint32
	}
	n := int32(len(piece))
	nodes := make([]node, n+1)
	for i := range nodes {
		nodes[i] = node{prev: int32(i) - 1, next: int32(i) + 1, rank: noRank}
		if int32(i) < n {
			nodes[i].tok = v.bytes[piece[i]]
		}
	}
	nodes[n].next = -1
	rankOf := func(i int32) uint32 {
		j := nodes[i].next
		if j < 0 || j == n {
			return noRank
		}
		k := nodes[j].next
		return v.rank(piece[i:k])
	}
	h := make(candHeap, 0, n)
	for i := int32(0); i+1 < n; i++ {
		if r := rankOf(i); r != noRank {
			nodes[i].rank = r
			h = append(h, cand{r, i})
		}
	}
	h.init()
	for len(h) > 0 {
		top := h.pop()
		i := top.off
		if nodes[i].rank != top.rank || nodes[i].next < 0 {
			continue
		}
		j := nodes[i].next
		k := nodes[j].next
		nodes[j].rank = noRank
		nodes[j].next = -2 // removed
		nodes[i].next = k
		nodes[i].tok = top.rank
		if k >= 0 {
			nodes[k].prev = i
		}
		for _, b := range [2]int32{i, nodes[i].prev} {
			if b < 0 {
				continue
			}
			nodes[b].rank = rankOf(b)
			if nodes[b].rank != noRank {
				h.push(cand{nodes[b].rank, b})
			}
		}
	}
	out := buf[:0]
	for i := int32(0); i != n; i = nodes[i].next {
		out = append(out, nodes[i].tok)
	}
	return out
}

type cand struct {
	rank uint32
	off  int32
}

// candHeap is a binary min-heap of merge candidates by rank, then offset, so
// that the leftmost of equal ranks merges first.
type candHeap []cand

func (h candHeap) less(a, b int) bool {
	if h[a].rank != h[b].rank {
		return h[a].rank < h[b].rank
	}
	return h[a].off < h[b].off
}

func (h candHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *candHeap) push(c cand) {
	*h = append(*h, c)
	h.up(len(*h) - 1)
}

func (h *candHeap) pop() cand {
	old := *h
	top := old[0]
	last := len(old) - 1
	old[0] = old[last]
	*h = old[:last]
	h.down(0)
	return top
}

func (h candHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (h candHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// pieceCache remembers the merged tokens of recent pieces that are not
// tokens themselves (rare words, identifiers, runs of CJK text), so that text
// seen again, such as a system prompt repeated in every call, skips the
// merging. It is direct-mapped by the piece's hash and lock-free: a slot holds
// one immutable entry, replaced whole. Its size is fixed.
type pieceCache struct {
	slots [pieceCacheSlots]atomic.Pointer[cacheEntry]
}

const (
	pieceCacheSlots = 4096
	// maxCachedPiece bounds what a slot keeps, so the cache stays within a
	// few megabytes whatever the text.
	maxCachedPiece = 256
)

type cacheEntry struct {
	piece string
	toks  []uint32
}

func (c *pieceCache) get(piece string, h uint64) []uint32 {
	if e := c.slots[h%pieceCacheSlots].Load(); e != nil && e.piece == piece {
		return e.toks
	}
	return nil
}

func (c *pieceCache) put(piece string, h uint64, toks []uint32) {
	if len(piece) > maxCachedPiece {
		return
	}
	c.slots[h%pieceCacheSlots].Store(&cacheEntry{piece: strings.Clone(piece), toks: append([]uint32(nil), toks...)})
}

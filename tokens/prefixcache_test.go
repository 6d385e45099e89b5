package tokens

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ptu-dev/ptu/internal/clock"
)

func newTestCache(maxEntries int) (*PrefixCache, *clock.Fake) {
	clk := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	return NewPrefixCache(maxEntries, 5*time.Minute, clk.Now), clk
}

// prompt returns n token ids, 0..n-1 offset by seed, so prompts with different
// seeds share no block.
func prompt(seed, n int) []int {
	toks := make([]int, n)
	for i := range toks {
		toks[i] = seed*1_000_000 + i
	}
	return toks
}

// withPrefix returns n tokens whose first shared tokens are base's.
func withPrefix(base []int, shared, n int) []int {
	toks := prompt(99, n)
	copy(toks, base[:shared])
	return toks
}

func TestPrefixCacheHits(t *testing.T) {
	c, _ := newTestCache(0)
	base := prompt(1, 2000)
	steps := []struct {
		name string
		toks []int
		want int
	}{
		{"first sight", base, 0},
		{"identical repeat: 15 whole blocks", base, 1920},
		{"shares the first 1,100 tokens", withPrefix(base, 1100, 1500), 1024},
		{"shares the first 1,500 tokens", withPrefix(base, 1500, 3000), 1408},
		{"shares 1,023 tokens", withPrefix(base, 1023, 2000), 0},
		{"a prefix of the first prompt", base[:1300], 1280},
		{"exactly 1,024 tokens, seen", base[:1024], 1024},
		{"longer than seen", append(base[:2000:2000], prompt(2, 500)...), 1920},
		{"the longer one again", append(base[:2000:2000], prompt(2, 500)...), 2432},
	}
	for _, s := range steps {
		if got := c.Lookup("dep", s.toks); got != s.want {
			t.Errorf("%s: Lookup(%d tokens) = %d, want %d", s.name, len(s.toks), got, s.want)
		}
	}
}

func TestPrefixCacheShortPrompts(t *testing.T) {
	c, _ := newTestCache(0)
	short := prompt(1, 1000)
	for range 3 {
		if got := c.Lookup("dep", short); got != 0 {
			t.Fatalf("Lookup(1,000 tokens) = %d, want 0", got)
		}
	}
	if c.Len() != 0 {
		t.Errorf("a prompt under 1,024 tokens was recorded: Len = %d", c.Len())
	}
	// Its blocks were not recorded, so a longer prompt starting with it misses.
	if got := c.Lookup("dep", withPrefix(short, 1000, 2000)); got != 0 {
		t.Errorf("Lookup after a short prompt = %d, want 0", got)
	}
	exact := prompt(3, 1024)
	if got := c.Lookup("dep", exact); got != 0 {
		t.Errorf("first Lookup(1,024 tokens) = %d, want 0", got)
	}
	if got := c.Lookup("dep", exact); got != 1024 {
		t.Errorf("repeat Lookup(1,024 tokens) = %d, want 1024", got)
	}
}

func TestPrefixCacheExpiry(t *testing.T) {
	c, clock := newTestCache(0)
	toks := prompt(1, 2000)
	c.Lookup("dep", toks)

	// Use within the TTL keeps the prefix alive.
	for range 3 {
		clock.Advance(5*time.Minute - time.Second)
		if got := c.Lookup("dep", toks); got != 1920 {
			t.Fatalf("Lookup within TTL of last use = %d, want 1920", got)
		}
	}
	clock.Advance(5 * time.Minute)
	if got := c.Lookup("dep", toks); got != 0 {
		t.Errorf("Lookup after TTL of inactivity = %d, want 0", got)
	}
	if c.Len() != 15 {
		t.Errorf("Len = %d after expiry and re-recording, want 15", c.Len())
	}

	// Expired blocks are removed even when another prompt does the lookup.
	clock.Advance(5 * time.Minute)
	c.Lookup("dep", prompt(2, 1024))
	if c.Len() != 8 {
		t.Errorf("Len = %d, want 8 (the expired 15 removed)", c.Len())
	}
}

func TestPrefixCacheScopes(t *testing.T) {
	c, _ := newTestCache(0)
	toks := prompt(1, 2000)
	c.Lookup("deployment-a", toks)
	if got := c.Lookup("deployment-b", toks); got != 0 {
		t.Errorf("Lookup in another scope = %d, want 0", got)
	}
	if got := c.Lookup("deployment-a", toks); got != 1920 {
		t.Errorf("Lookup in the same scope = %d, want 1920", got)
	}
	if got := c.Lookup("", toks); got != 0 {
		t.Errorf("Lookup in the empty scope = %d, want 0", got)
	}
}

func TestPrefixCacheEviction(t *testing.T) {
	c, _ := newTestCache(20)
	a, b := prompt(1, 2048), prompt(2, 2048) // 16 blocks each
	c.Lookup("dep", a)
	c.Lookup("dep", b)
	if c.Len() != 20 {
		t.Fatalf("Len = %d, want the bound 20", c.Len())
	}
	// b is whole; of a only its first 4 blocks are left (the deepest go first).
	if got := c.Lookup("dep", b[:2048]); got != 2048 {
		t.Errorf("Lookup(b) = %d, want 2048", got)
	}
	c2, _ := newTestCache(20)
	c2.Lookup("dep", a)
	c2.Lookup("dep", b)
	if got := c2.Lookup("dep", a); got != 0 {
		t.Errorf("Lookup(a) after eviction = %d, want 0 (4 blocks = 512 tokens left)", got)
	}
	if c2.Len() > 20 {
		t.Errorf("Len = %d over the bound 20", c2.Len())
	}
}

func TestPrefixCacheLongPromptKeepsItsStart(t *testing.T) {
	c, _ := newTestCache(10)
	toks := prompt(1, 2048)
	c.Lookup("dep", toks)
	if got := c.Lookup("dep", toks); got != 1280 {
		t.Errorf("Lookup = %d, want 1280 (the first 10 blocks fit)", got)
	}
}

func TestPrefixCacheLRU(t *testing.T) {
	c, _ := newTestCache(16)
	a, b, d := prompt(1, 1024), prompt(2, 1024), prompt(3, 1024) // 8 blocks each
	c.Lookup("dep", a)
	c.Lookup("dep", b)
	c.Lookup("dep", a) // a is now more recent than b
	c.Lookup("dep", d) // full: evicts b
	if got := c.Lookup("dep", a); got != 1024 {
		t.Errorf("Lookup(a) = %d, want 1024", got)
	}
	if got := c.Lookup("dep", d); got != 1024 {
		t.Errorf("Lookup(d) = %d, want 1024", got)
	}
	if got := c.Lookup("dep", b); got != 0 {
		t.Errorf("Lookup(b) = %d, want 0 (least recently used)", got)
	}
}

func TestPrefixCacheChatTokens(t *testing.T) {
	e := MustGet(O200kBase)
	c, _ := newTestCache(0)
	system := Message{Role: "system", Content: englishText(8 << 10)}
	first := e.ChatTokens([]Message{system, {Role: "user", Content: "What is the first word?"}})
	second := e.ChatTokens([]Message{system, {Role: "user", Content: "And the last one?"}})
	c.Lookup("dep", first)
	got := c.Lookup("dep", second)
	shared := 0
	for shared < min(len(first), len(second)) && first[shared] == second[shared] {
		shared++
	}
	if want := shared / CacheBlockSize * CacheBlockSize; got != want || got < MinCachedPrefix {
		t.Errorf("Lookup(second turn) = %d, want %d (shared prefix %d tokens)", got, want, shared)
	}
}

func TestPrefixCacheConcurrent(t *testing.T) {
	c, clock := newTestCache(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				toks := prompt(g*1000+i%5, 1024+128*(i%4))
				if got := c.Lookup(fmt.Sprint("dep", g%2), toks); got != 0 && (got < MinCachedPrefix || got > len(toks) || got%CacheBlockSize != 0) {
					t.Errorf("Lookup = %d for %d tokens", got, len(toks))
				}
				if i%50 == 0 {
					clock.Advance(time.Minute)
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Errorf("Len = %d over the bound 64", c.Len())
	}
}

package tokens

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCountUpTo: below the limit the count is Count's, whatever the cuts;
// far past it the count stops early, having read only a part of the text.
func TestCountUpTo(t *testing.T) {
	e := MustGet("o200k_base")
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"the", "token", "count", "of", "a", "prompt,", "déjà", "vu.", "12345", "\n", "  ", "\t", "日本語", "émoji 🎉", "x\x7fy", "\xff"}
	for i := range 4 {
		var b strings.Builder
		for b.Len() < 40<<10+i*7919 {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		text := b.String()
		want := e.Count(text)
		if n, over := e.CountUpTo(text, want); over || n != want {
			t.Fatalf("text %d: CountUpTo at its own count = %d, over %v; Count = %d", i, n, over, want)
		}
		if n, over := e.CountUpTo(text, want-1); !over || n <= want-1 {
			t.Fatalf("text %d: one below its count: %d, over %v; want over", i, n, over)
		}
	}
	// 15 MiB of prose with a limit of 1,000 tokens: over after the first pieces.
	big := strings.Repeat("All work and no play makes Jack a dull boy. ", 15<<20/44)
	n, over := e.CountUpTo(big, 1000)
	if !over || n <= 1000 {
		t.Fatalf("15 MiB against 1,000 tokens: %d, over %v", n, over)
	}
	// One long word: cut anywhere, and still refused far past the limit.
	run := strings.Repeat("a", 1<<20)
	if n, over := e.CountUpTo(run, 500); !over || n <= 500 {
		t.Fatalf("a 1 MiB word against 500 tokens: %d, over %v", n, over)
	}
	if n, over := e.CountUpTo("", 0); n != 0 || over {
		t.Fatalf("empty text: %d, %v", n, over)
	}
}

package tokens

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkEncode(b *testing.B) {
	text := englishText(10 << 10)
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				e.Encode(text)
			}
		})
	}
}

func BenchmarkCount(b *testing.B) {
	text := englishText(10 << 10)
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				e.Count(text)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	text := englishText(10 << 10)
	e := MustGet(O200kBase)
	ids := e.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		e.Decode(ids)
	}
}

// A chat request of typical shape: a system prompt, a few turns, ~2 KB.
func BenchmarkCountChat(b *testing.B) {
	text := englishText(2 << 10)
	msgs := []Message{
		{Role: "system", Content: text[:800]},
		{Role: "user", Content: text[800:1200]},
		{Role: "assistant", Content: text[1200:1700]},
		{Role: "user", Name: "alice", Content: text[1700:]},
	}
	e := MustGet(O200kBase)
	b.Run("CountChat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.CountChat(msgs)
		}
	})
	b.Run("ChatTokens", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.ChatTokens(msgs)
		}
	})
}

func BenchmarkPrefixCacheLookup(b *testing.B) {
	for _, n := range []int{2000, 32000} {
		b.Run(fmt.Sprintf("hit/%d_tokens", n), func(b *testing.B) {
			c := NewPrefixCache(0, time.Hour, nil)
			toks := prompt(1, n)
			c.Lookup("dep", toks)
			b.ReportAllocs()
			for b.Loop() {
				c.Lookup("dep", toks)
			}
		})
	}
	// Distinct prompts into a full cache: every lookup misses and evicts.
	b.Run("miss_evict/2000_tokens", func(b *testing.B) {
		c := NewPrefixCache(1<<12, time.Hour, nil)
		toks := prompt(1, 2000)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			toks[0] = i
			c.Lookup("dep", toks)
		}
	})
	b.Run("parallel_hit/2000_tokens", func(b *testing.B) {
		c := NewPrefixCache(0, time.Hour, nil)
		toks := prompt(1, 2000)
		c.Lookup("dep", toks)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Lookup("dep", toks)
			}
		})
	})
}

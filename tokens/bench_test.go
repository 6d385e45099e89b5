package tokens

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuSeconds is the CPU time this process has used, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// benchText runs f over text, reporting MB/s of wall time (b.SetBytes) and
// MB per CPU-second ("MB/cpu-s"), which a machine busy with other work
// does not lower.
func benchText(b *testing.B, text string, f func(string)) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	start := cpuSeconds()
	for b.Loop() {
		f(text)
	}
	if cpu := cpuSeconds() - start; cpu > 0 {
		b.ReportMetric(float64(b.N)*float64(len(text))/1e6/cpu, "MB/cpu-s")
	}
}

// The tokenizer on ordinary English text, 10 KiB at a time. The piece cache
// holds few entries for such text: most English words with their leading
// space are tokens.
func BenchmarkEncode(b *testing.B) {
	text := englishText(10 << 10)
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		b.Run(name, func(b *testing.B) { benchText(b, text, func(s string) { e.Encode(s) }) })
	}
}

func BenchmarkCount(b *testing.B) {
	text := englishText(10 << 10)
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		b.Run(name, func(b *testing.B) { benchText(b, text, func(s string) { e.Count(s) }) })
	}
}

// The mixed corpus of the equality tests: code, CJK, emoji, whitespace runs,
// invalid UTF-8.
func BenchmarkCountMixed(b *testing.B) {
	text := strings.Join(mixedCorpus(400), "")
	for _, name := range []string{O200kBase, Cl100kBase} {
		e := MustGet(name)
		b.Run(name, func(b *testing.B) { benchText(b, text, func(s string) { e.Count(s) }) })
	}
}

// The previous tokenizer (the library's, regexp2 pre-tokenizer) on the same
// text, for comparison.
func BenchmarkCountLibrary(b *testing.B) {
	text := englishText(10 << 10)
	for _, name := range []string{O200kBase, Cl100kBase} {
		ref := getRef(b, name)
		b.Run(name, func(b *testing.B) { benchText(b, text, func(s string) { _, _ = ref.lib.Count(s) }) })
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

// heapBeforeLoad is the live heap before the first vocabulary is loaded.
var heapBeforeLoad = sync.OnceValue(liveHeap)

// firstLoad is the time the first build of the encoders took, with whatever
// one-time work it does.
var firstLoad = sync.OnceValue(func() time.Duration {
	start := time.Now()
	for _, name := range []string{O200kBase, Cl100kBase} {
		if _, err := newEncoder(name); err != nil {
			panic(err)
		}
	}
	return time.Since(start)
})

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Building the o200k_base and cl100k_base encoders, as a gateway serving
// current models does at start: "ms/first-load" for the process's first build,
// "ms/load" per build after it, and "MB-live", the heap that stays live once
// they are built over the heap before any was. Run it on its own
// (-run '^$' -bench LoadVocab) so that nothing was loaded before.
func BenchmarkLoadVocab(b *testing.B) {
	before := heapBeforeLoad()
	first := firstLoad()
	var encs []*Encoder
	b.ReportAllocs()
	for b.Loop() {
		encs = encs[:0]
		for _, name := range []string{O200kBase, Cl100kBase} {
			e, err := newEncoder(name)
			if err != nil {
				b.Fatal(err)
			}
			encs = append(encs, e)
		}
	}
	b.ReportMetric(float64(first.Microseconds())/1e3, "ms/first-load")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/load")
	b.ReportMetric(float64(liveHeap()-before)/1e6, "MB-live")
	runtime.KeepAlive(encs)
}

// Package tokens counts tokens the way OpenAI models do, estimates the
// admission cost of a call, and tracks which prompt prefixes a deployment has
// seen recently so that cached prompt tokens can be discounted.
//
// The BPE ranks are embedded in the package (ranks/, ranks.go): OpenAI's
// published tiktoken rank files, gzip-compressed, so no encoding is ever
// downloaded. Each is read once, on first use, into the encoder's own tables.
// The pre-tokenizer (split.go) and the byte-pair merging (bpe.go) are this
// package's too: they give tiktoken's ids at about fifteen times the speed of
// github.com/tiktoken-go/tokenizer, which the tests keep as a reference
// (docs/benchmarks.md).
package tokens

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Encoding names, as tiktoken spells them.
const (
	O200kBase  = "o200k_base"
	Cl100kBase = "cl100k_base"
	P50kBase   = "p50k_base"
	R50kBase   = "r50k_base"
)

// chatMarkers are the special tokens that frame a chat message. They lie
// outside each encoding's ordinary vocabulary, so a rendered chat never
// collides with the tokens of any text.
type chatMarkers struct {
	start, sep, end       int
	startS, sepS, endS    string
	nameSep, assistantTok []int
}

type encodingSpec struct {
	chat chatMarkers
	// split cuts text into the pieces of tiktoken's pre-tokenization
	// pattern for the encoding (split.go).
	split func(s string, i int) int
}

// specs gives each encoding's chat special tokens: the harmony ids for
// o200k_base (<|start|>role<|message|>content<|end|>, the shape OpenAI's
// token-counting guide describes for gpt-4o), ChatML ids for cl100k_base (the
// ids Phi-4 uses over the same vocabulary), and the first free ids past the
// vocabulary for the GPT-2/3 encodings, which never had chat models.
var specs = map[string]encodingSpec{
	O200kBase: {
		chat:  chatMarkers{start: 200006, sep: 200008, end: 200007, startS: "<|start|>", sepS: "<|message|>", endS: "<|end|>"},
		split: splitO200k,
	},
	Cl100kBase: {
		chat:  chatMarkers{start: 100264, sep: 100266, end: 100265, startS: "<|im_start|>", sepS: "<|im_sep|>", endS: "<|im_end|>"},
		split: splitCl100k,
	},
	P50kBase: {
		chat:  chatMarkers{start: 50281, sep: 50283, end: 50282, startS: "<|im_start|>", sepS: "<|im_sep|>", endS: "<|im_end|>"},
		split: splitGPT2,
	},
	R50kBase: {
		chat:  chatMarkers{start: 50257, sep: 50259, end: 50258, startS: "<|im_start|>", sepS: "<|im_sep|>", endS: "<|im_end|>"},
		split: splitGPT2,
	},
}

// encoders builds each encoder once, on first use: building one loads a
// vocabulary of up to 200k entries, which takes tens of milliseconds.
var encoders = func() map[string]func() (*Encoder, error) {
	m := make(map[string]func() (*Encoder, error), len(specs))
	for name := range specs {
		m[name] = sync.OnceValues(func() (*Encoder, error) { return newEncoder(name) })
	}
	return m
}()

// Encodings lists the encoding names Get accepts, sorted.
func Encodings() []string {
	names := make([]string, 0, len(encoders))
	for name := range encoders {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Encoder turns text into the token ids of one BPE encoding and back.
// It is safe for concurrent use.
type Encoder struct {
	name     string
	vocab    *vocab
	split    func(s string, i int) int
	chat     chatMarkers
	specials map[int]string
}

// Get returns the encoder for an encoding name (o200k_base, cl100k_base,
// p50k_base, r50k_base). Encoders are built once and shared.
func Get(encoding string) (*Encoder, error) {
	build, ok := encoders[encoding]
	if !ok {
		return nil, fmt.Errorf("tokens: unknown encoding %q (known: %s)", encoding, strings.Join(Encodings(), ", "))
	}
	return build()
}

// MustGet is Get for encoding names fixed in the program; it panics on an unknown name.
func MustGet(encoding string) *Encoder {
	e, err := Get(encoding)
	if err != nil {
		panic(err)
	}
	return e
}

func newEncoder(name string) (*Encoder, error) {
	v, err := loadVocab(name)
	if err != nil {
		return nil, fmt.Errorf("tokens: encoding %s: %w", name, err)
	}
	spec := specs[name]
	e := &Encoder{name: name, vocab: v, split: spec.split, chat: spec.chat}
	e.specials = map[int]string{e.chat.start: e.chat.startS, e.chat.sep: e.chat.sepS, e.chat.end: e.chat.endS}
	e.chat.nameSep = e.Encode(":")
	e.chat.assistantTok = e.Encode("assistant")
	return e, nil
}

// Name returns the encoding name, e.g. "o200k_base".
func (e *Encoder) Name() string { return e.name }

// Encode returns the token ids of text. Special-token text such as
// "<|endoftext|>" is encoded as ordinary text, as the OpenAI API does with
// user content. Invalid UTF-8 is replaced with U+FFFD first, one per maximal
// ill-formed subsequence, as Python's errors="replace" does.
func (e *Encoder) Encode(text string) []int {
	if text == "" {
		return nil
	}
	out := make([]int, 0, len(text)/4+4)
	e.run(text, &out, -1)
	return out
}

// Count returns len(Encode(text)) without building the token slice.
func (e *Encoder) Count(text string) int {
	if text == "" {
		return 0
	}
	return e.run(text, nil, -1)
}

// countUpTo counts the tokens of text as Count does but stops as soon as
// the count exceeds limit, returning a number above limit: the work is then
// bounded by limit's worth of text rather than by the whole text. A
// non-negative limit is required.
func (e *Encoder) countUpTo(text string, limit int) int {
	if text == "" {
		return 0
	}
	return e.run(text, nil, limit)
}

// run cuts text into the encoding's pieces and appends the tokens of each to
// *out, or only counts them when out is nil; it returns their number. With a
// limit of 0 or more it stops once the number exceeds limit. A
// piece that is a token (most English words with their leading space) is one
// hash lookup; any other is looked up in the piece cache, then merged.
func (e *Encoder) run(text string, out *[]int, limit int) int {
	text = toValidUTF8(text)
	v := e.vocab
	n := 0
	var bufA [smallPiece]uint32
	buf := bufA[:0]
	for i := 0; i < len(text) && (limit < 0 || n <= limit); {
		j := e.split(text, i)
		piece := text[i:j]
		i = j
		var h uint64
		id := noRank
		if len(piece) <= 2 {
			id = v.rank(piece)
		} else {
			h = hashString(piece)
			if t, ok := v.lookup(piece, h); ok {
				id = t
			}
		}
		if id != noRank {
			n++
			if out != nil {
				*out = append(*out, int(id))
			}
			continue
		}
		if len(piece) <= 2 {
			h = hashString(piece)
		}
		toks := v.cache.get(piece, h)
		if toks == nil {
			buf = v.merge(piece, buf)
			toks = buf
			v.cache.put(piece, h, toks)
		}
		n += len(toks)
		if out != nil {
			for _, t := range toks {
				*out = append(*out, int(t))
			}
		}
	}
	return n
}

// toValidUTF8 replaces each maximal ill-formed subsequence of s (Unicode
// §3.9) with U+FFFD, as the library's replace mode and Python's
// errors="replace" do. strings.ToValidUTF8 would merge adjacent ones.
func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s) + 8)
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r != utf8.RuneError || n > 1 {
			sb.WriteString(s[:n])
			s = s[n:]
			continue
		}
		// The subsequence runs on while it is a proper prefix of some
		// well-formed sequence: FullRune reports false only for those.
		n = 1
		for k := min(len(s), utf8.UTFMax-1); k > 1; k-- {
			if !utf8.FullRuneInString(s[:k]) {
				n = k
				break
			}
		}
		sb.WriteRune(utf8.RuneError)
		s = s[n:]
	}
	return sb.String()
}

// Decode returns the text of ids. The chat special tokens render as their
// names ("<|im_start|>"); an id the encoding does not know renders as U+FFFD.
// The bytes are returned as decoded, so decoding a run of ids that ends inside
// a multi-byte character gives a string that is not valid UTF-8 on its own;
// concatenating the decodings of consecutive runs gives the full text.
func (e *Encoder) Decode(ids []int) string {
	var sb strings.Builder
	sb.Grow(len(ids) * 4)
	for _, id := range ids {
		if s, ok := e.specials[id]; ok {
			sb.WriteString(s)
			continue
		}
		var tok string
		if id >= 0 && id <= math.MaxUint32 {
			tok = e.vocab.token(uint32(id))
		}
		if tok == "" {
			tok = "\uFFFD"
		}
		sb.WriteString(tok)
	}
	return sb.String()
}

// EncodingForModel returns the encoding of an OpenAI model name, in Azure's
// spelling (gpt-35-turbo) or OpenAI's (gpt-3.5-turbo), with or without a
// version suffix. known is false for a model not trained on an OpenAI encoding
// (Llama, DeepSeek, ...); o200k_base is then returned as a close stand-in,
// since these tokenizers have vocabularies of similar size.
func EncodingForModel(model string) (encoding string, known bool) {
	m := strings.ToLower(strings.TrimSpace(model))
	for _, r := range modelPrefixes {
		if strings.HasPrefix(m, r.prefix) {
			return r.encoding, true
		}
	}
	return O200kBase, false
}

// modelPrefixes is checked in order, so longer prefixes come first
// (gpt-4o before gpt-4).
var modelPrefixes = []struct{ prefix, encoding string }{
	{"gpt-4o", O200kBase},
	{"chatgpt-4o", O200kBase},
	{"gpt-4.1", O200kBase},
	{"gpt-4.5", O200kBase},
	{"gpt-5", O200kBase},
	{"gpt-oss", O200kBase},
	{"gpt-realtime", O200kBase},
	{"gpt-image", O200kBase},
	{"codex", O200kBase},
	{"o1", O200kBase},
	{"o3", O200kBase},
	{"o4", O200kBase},
	{"gpt-4", Cl100kBase},
	{"gpt-35", Cl100kBase},
	{"gpt-3.5", Cl100kBase},
	{"text-embedding-", Cl100kBase},
	{"davinci-002", Cl100kBase},
	{"babbage-002", Cl100kBase},
	{"text-davinci-002", P50kBase},
	{"text-davinci-003", P50kBase},
	{"code-search-", R50kBase},
	{"code-", P50kBase},
	{"text-", R50kBase},
	{"davinci", R50kBase},
	{"curie", R50kBase},
	{"babbage", R50kBase},
	{"ada", R50kBase},
}

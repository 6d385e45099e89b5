// Package tokens counts tokens the way OpenAI models do, estimates the
// admission cost of a call, and tracks which prompt prefixes a deployment has
// seen recently so that cached prompt tokens can be discounted.
//
// The BPE ranks are embedded by github.com/tiktoken-go/tokenizer, so no
// encoding is ever downloaded.
package tokens

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/tiktoken-go/tokenizer"
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
	// split is tiktoken's pre-tokenization pattern for the encoding.
	split string
}

const (
	gpt2Split   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	cl100kSplit = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	o200kSplit  = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// specs gives each encoding's chat special tokens: the harmony ids for
// o200k_base (<|start|>role<|message|>content<|end|>, the shape OpenAI's
// token-counting guide describes for gpt-4o), ChatML ids for cl100k_base (the
// ids Phi-4 uses over the same vocabulary), and the first free ids past the
// vocabulary for the GPT-2/3 encodings, which never had chat models.
var specs = map[string]encodingSpec{
	O200kBase: {
		chat:  chatMarkers{start: 200006, sep: 200008, end: 200007, startS: "<|start|>", sepS: "<|message|>", endS: "<|end|>"},
		split: o200kSplit,
	},
	Cl100kBase: {
		chat:  chatMarkers{start: 100264, sep: 100266, end: 100265, startS: "<|im_start|>", sepS: "<|im_sep|>", endS: "<|im_end|>"},
		split: cl100kSplit,
	},
	P50kBase: {
		chat:  chatMarkers{start: 50281, sep: 50283, end: 50282, startS: "<|im_start|>", sepS: "<|im_sep|>", endS: "<|im_end|>"},
		split: gpt2Split,
	},
	R50kBase: {
		chat:  chatMarkers{start: 50257, sep: 50259, end: 50258, startS: "<|im_start|>", sepS: "<|im_sep|>", endS: "<|im_end|>"},
		split: gpt2Split,
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
	name string
	// enc replaces invalid UTF-8 in its input with U+FFFD before encoding,
	// as tiktoken does; dec returns decoded bytes as they are, so that the
	// decodings of consecutive token runs concatenate into the right text
	// even when a character spans two runs.
	enc, dec tokenizer.Codec
	chat     chatMarkers
	specials map[int]string
	// split is the encoding's pre-tokenization regexp, interpreted. The
	// library's compiled-to-Go copy never matches U+007F (DEL) and so drops
	// it from the tokens; text holding a DEL is split here instead.
	split *regexp2.Regexp
	del   int // the token of the byte 0x7F
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
	enc, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		return nil, fmt.Errorf("tokens: encoding %s: %w", name, err)
	}
	enc.SetErrorMode(tokenizer.ErrorModeReplace)
	dec, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		return nil, fmt.Errorf("tokens: encoding %s: %w", name, err)
	}
	dec.SetErrorMode(tokenizer.ErrorModeNone)

	spec := specs[name]
	// Wrapping the pattern in a group keeps regexp2 from substituting the
	// library's generated matcher, which is looked up by pattern text.
	split, err := regexp2.Compile(`(?:`+spec.split+`)`, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("tokens: encoding %s: split pattern: %w", name, err)
	}
	e := &Encoder{name: name, enc: enc, dec: dec, chat: spec.chat, split: split, del: -1}
	for id := range 256 {
		if s, err := dec.Decode([]uint{uint(id)}); err == nil && s == "\x7f" {
			e.del = id
			break
		}
	}
	if e.del < 0 {
		return nil, fmt.Errorf("tokens: encoding %s has no token for byte 0x7F", name)
	}
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
	if strings.IndexByte(text, 0x7f) >= 0 {
		return e.encodeWithDEL(text)
	}
	return e.encodeOrdinary(text)
}

// encodeOrdinary encodes text that holds no DEL with the library.
func (e *Encoder) encodeOrdinary(text string) []int {
	if text == "" {
		return nil
	}
	ids, _, err := e.enc.Encode(text)
	if err != nil {
		// Only a regexp timeout can fail here, and the codec sets none.
		panic(fmt.Sprintf("tokens: encode with %s: %v", e.name, err))
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// Count returns len(Encode(text)) without building the token slice.
func (e *Encoder) Count(text string) int {
	if text == "" {
		return 0
	}
	if strings.IndexByte(text, 0x7f) >= 0 {
		return len(e.encodeWithDEL(text))
	}
	n, err := e.enc.Count(text)
	if err != nil {
		panic(fmt.Sprintf("tokens: count with %s: %v", e.name, err))
	}
	return n
}

// encodeWithDEL splits text into tiktoken's pieces and encodes each. No
// multi-byte token holds 0x7F, so BPE never merges across a DEL: a piece's
// tokens are those of its DEL-free parts with the DEL token between them.
func (e *Encoder) encodeWithDEL(text string) []int {
	text = toValidUTF8(text)
	out := make([]int, 0, len(text)/3)
	m, err := e.split.FindStringMatch(text)
	for ; m != nil && err == nil; m, err = e.split.FindNextMatch(m) {
		for i, part := range strings.Split(m.String(), "\x7f") {
			if i > 0 {
				out = append(out, e.del)
			}
			out = append(out, e.encodeOrdinary(part)...)
		}
	}
	if err != nil {
		panic(fmt.Sprintf("tokens: split with %s: %v", e.name, err))
	}
	return out
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
	run := make([]uint, 0, len(ids))
	flush := func() {
		if len(run) > 0 {
			e.decodeRun(&sb, run)
			run = run[:0]
		}
	}
	for _, id := range ids {
		if s, ok := e.specials[id]; ok {
			flush()
			sb.WriteString(s)
			continue
		}
		if id < 0 {
			flush()
			sb.WriteRune('\uFFFD')
			continue
		}
		run = append(run, uint(id))
	}
	flush()
	return sb.String()
}

// decodeRun decodes ordinary ids, falling back to one id at a time when the
// run holds an id outside the vocabulary.
func (e *Encoder) decodeRun(sb *strings.Builder, run []uint) {
	if s, err := e.dec.Decode(run); err == nil {
		sb.WriteString(s)
		return
	}
	for _, id := range run {
		s, err := e.dec.Decode([]uint{id})
		if err != nil {
			s = "\uFFFD"
		}
		sb.WriteString(s)
	}
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

package gguf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Llama describes a random-weight model of llama.cpp's `llama`
// architecture with a SentencePiece-style vocabulary.
type Llama struct {
	Name          string // general.name
	Layers        int    // block_count
	Hidden        int    // embedding_length
	Heads         int    // attention.head_count (and head_count_kv)
	FeedForward   int    // feed_forward_length
	ContextLength int    // context_length; default 2048
	Seed          uint64 // the weights' random seed
}

// Tiny is the small fast model of the test suite: 2 layers, 64 wide, 4
// heads, feed-forward 128 (about 0.5 MB in F32).
var Tiny = Llama{Name: "ptu-tiny", Layers: 2, Hidden: 64, Heads: 4, FeedForward: 128, Seed: 1}

// Slow is a model a CPU generates from at tens of tokens per second: 8
// layers, 512 wide, 8 heads, feed-forward 1408 (about 100 MB in F32).
var Slow = Llama{Name: "ptu-slow", Layers: 8, Hidden: 512, Heads: 8, FeedForward: 1408, Seed: 2}

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	tokenNormal  = 1
	tokenUnknown = 2
	tokenControl = 3
	tokenByte    = 6
)

// Words of the vocabulary beyond single characters. Each is reachable by
// SentencePiece merges: every prefix of "▁word" is in the vocabulary too.
var words = strings.Fields(`the of and to in is it that for on with as was at by be this are from or
an but not have all can one more time will which their about would there what out up so into
token tokens model server stream call calls speed queue admission capacity deployment throughput
latency hello world answer story`)

// Vocabulary returns the model's tokens, scores and types: <unk>, <s>,
// </s>, the 256 byte tokens <0x00>…<0xFF>, "▁" and the printable ASCII
// characters, then the words and their prefixes (longer pieces score higher,
// so SentencePiece merges them first).
func Vocabulary() (tokens []string, scores []float32, types []int32) {
	add := func(t string, score float32, typ int32) {
		tokens = append(tokens, t)
		scores = append(scores, score)
		types = append(types, typ)
	}
	add("<unk>", 0, tokenUnknown)
	add("<s>", 0, tokenControl)
	add("</s>", 0, tokenControl)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, tokenByte)
	}
	add("▁", -1, tokenNormal)
	for c := byte('!'); c <= '~'; c++ {
		add(string(c), -1, tokenNormal)
	}
	seen := map[string]bool{}
	for _, w := range words {
		p := []rune("▁" + w)
		for n := 2; n <= len(p); n++ {
			if s := string(p[:n]); !seen[s] {
				seen[s] = true
				add(s, float32(n), tokenNormal)
			}
		}
	}
	return tokens, scores, types
}

// FirstTextToken is the id of the first token that is text ("▁"): every
// token before it is special or a byte token.
const FirstTextToken = 3 + 256

// File returns the model as a GGUF file. The weights are uniform random
// (deterministic with Seed), the norms one. The output rows of the special
// and byte tokens are zero, so their logits sit in the middle of the
// distribution while the text tokens' spread wide: a sampler's top-k never
// reaches them, the text stays printable and no end-of-sequence token stops
// generation before max_tokens.
func (l Llama) File() (*File, error) {
	if l.Layers < 1 || l.Hidden < 1 || l.Heads < 1 || l.FeedForward < 1 || l.Hidden%l.Heads != 0 {
		return nil, fmt.Errorf("gguf: llama %+v: layers, hidden, heads and feed-forward must be positive, hidden a multiple of heads", l)
	}
	ctxLen := l.ContextLength
	if ctxLen == 0 {
		ctxLen = 2048
	}
	tokens, scores, types := Vocabulary()
	nv, h, ff := uint64(len(tokens)), uint64(l.Hidden), uint64(l.FeedForward)
	headDim := uint32(l.Hidden / l.Heads)

	f := &File{}
	f.Set("general.architecture", "llama")
	f.Set("general.name", l.Name)
	f.Set("general.file_type", uint32(0)) // all F32
	f.Set("general.alignment", uint32(Alignment))
	f.Set("llama.context_length", uint32(ctxLen))
	f.Set("llama.embedding_length", uint32(l.Hidden))
	f.Set("llama.block_count", uint32(l.Layers))
	f.Set("llama.feed_forward_length", uint32(l.FeedForward))
	f.Set("llama.attention.head_count", uint32(l.Heads))
	f.Set("llama.attention.head_count_kv", uint32(l.Heads))
	f.Set("llama.attention.key_length", headDim)
	f.Set("llama.attention.value_length", headDim)
	f.Set("llama.rope.dimension_count", headDim)
	f.Set("llama.rope.freq_base", float32(10000))
	f.Set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	f.Set("llama.vocab_size", uint32(nv))
	f.Set("tokenizer.ggml.model", "llama")
	f.Set("tokenizer.ggml.tokens", tokens)
	f.Set("tokenizer.ggml.scores", scores)
	f.Set("tokenizer.ggml.token_type", types)
	f.Set("tokenizer.ggml.unknown_token_id", uint32(0))
	f.Set("tokenizer.ggml.bos_token_id", uint32(1))
	f.Set("tokenizer.ggml.eos_token_id", uint32(2))
	f.Set("tokenizer.ggml.add_bos_token", true)
	f.Set("tokenizer.ggml.add_eos_token", false)

	rng := rand.New(rand.NewPCG(l.Seed, 0x9e3779b97f4a7c15))
	// uniform returns n values uniform in ±scale.
	uniform := func(n uint64, scale float64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32((2*rng.Float64() - 1) * scale)
		}
		return out
	}
	ones := func(n uint64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = 1
		}
		return out
	}
	// A linear layer of width in: ±1/sqrt(in) keeps activations near unit size.
	linear := func(name string, in, out uint64) Tensor {
		return Tensor{Name: name, Dims: []uint64{in, out}, Data: uniform(in*out, 1/math.Sqrt(float64(in)))}
	}

	f.Add(Tensor{Name: "token_embd.weight", Dims: []uint64{h, nv}, Data: uniform(h*nv, 1)})
	for i := range l.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		f.Add(Tensor{Name: p + "attn_norm.weight", Dims: []uint64{h}, Data: ones(h)})
		f.Add(linear(p+"attn_q.weight", h, h))
		f.Add(linear(p+"attn_k.weight", h, h))
		f.Add(linear(p+"attn_v.weight", h, h))
		f.Add(linear(p+"attn_output.weight", h, h))
		f.Add(Tensor{Name: p + "ffn_norm.weight", Dims: []uint64{h}, Data: ones(h)})
		f.Add(linear(p+"ffn_gate.weight", h, ff))
		f.Add(linear(p+"ffn_up.weight", h, ff))
		f.Add(linear(p+"ffn_down.weight", ff, h))
	}
	f.Add(Tensor{Name: "output_norm.weight", Dims: []uint64{h}, Data: ones(h)})
	// The normed hidden state has about unit entries, so a row of ±scale
	// gives logits of about sqrt(h)·scale/sqrt(3): several units apart.
	out := uniform(h*nv, 8/math.Sqrt(float64(h)))
	clear(out[:FirstTextToken*h])
	f.Add(Tensor{Name: "output.weight", Dims: []uint64{h, nv}, Data: out})
	return f, nil
}

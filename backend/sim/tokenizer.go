package sim

import (
	"fmt"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// Tokenizer is the part of a model's tokenizer the simulator needs: it
// counts prompts and decodes the token ids it generates.
type Tokenizer interface {
	Encode(text string) []int
	Decode(ids []int) string
}

// DefaultEncoding is the tokenizer used when a Config names none (GPT-4o and later).
const DefaultEncoding = "o200k_base"

var encodings sync.Map // encoding name -> Tokenizer

// Tiktoken returns the tiktoken encoding called name (o200k_base,
// cl100k_base, p50k_base, p50k_edit, r50k_base). Encoders are shared: they
// are safe for concurrent use and costly to build.
func Tiktoken(name string) (Tokenizer, error) {
	if t, ok := encodings.Load(name); ok {
		return t.(Tokenizer), nil
	}
	c, err := tokenizer.Get(tokenizer.Encoding(name))
	if err != nil {
		return nil, fmt.Errorf("tokenizer %q: %w", name, err)
	}
	t, _ := encodings.LoadOrStore(name, tiktoken{c})
	return t.(Tokenizer), nil
}

type tiktoken struct{ c tokenizer.Codec }

func (t tiktoken) Encode(text string) []int {
	ids, _, err := t.c.Encode(text)
	if err != nil {
		return nil // only the strict UTF-8 mode fails, and it is not used
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

func (t tiktoken) Decode(ids []int) string {
	u := make([]uint, len(ids))
	for i, id := range ids {
		u[i] = uint(id)
	}
	s, err := t.c.Decode(u)
	if err != nil {
		return ""
	}
	return s
}
